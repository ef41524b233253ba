import { strict as assert } from 'assert';
import * as tf from '@tensorflow/tfjs';
import {
  ArcFaceHead,
  CosFaceHead,
  CosineHead,
  MarginHead,
  NormFaceHead,
  arcfaceLogits,
  cosfaceLogits,
  cosineLogits,
  createHead,
  getHeadEntry,
  listHeads,
  normfaceLogits,
  registerHead,
} from '../../src/heads';
import { softmaxCrossEntropy } from '../../src/ops';
import { Rng } from '../../src/util/rng';
import {
  Mat,
  TestFactory,
  arcLogits,
  assertClose,
  cosLogits,
  cosineTable,
  crossEntropy,
  flat,
  fromAngles,
  normLogits,
  numericGrad,
  randomMat,
  transpose,
} from './helpers';

const deg = Math.PI / 180;
// 2-D class weights (columns of W, [E=2][C=3]) at 0, 100 and 200 degrees, with non-unit norms
const W_ANGLES = [0, 100 * deg, 200 * deg];
const W: Mat = transpose(fromAngles(W_ANGLES, [0.5, 2, 1.3]));
// embeddings: near, mid-way and far (> pi - m from their class), non-unit norms
const X: Mat = fromAngles([10 * deg, 95 * deg, 170 * deg, 30 * deg, 25 * deg], [3, 0.2, 1, 1.5, 0.7]);
const Y = [0, 1, 0, 2, 1]; // sample 2: t_y = 170 deg; sample 3: t_y = 170 deg (30 vs 200); sample 4: 75 deg

function cosTensor(): tf.Tensor2D {
  return tf.tensor2d(cosineTable(X, W));
}

function withHead<T>(name: string, opts: Record<string, number | boolean>, fn: (h: MarginHead, f: TestFactory) => T): T {
  const f = new TestFactory(name);
  try {
    const h = createHead(name, { store: f, numClasses: 3, embeddingDim: 2, ...opts });
    return fn(h, f);
  } finally {
    f.dispose();
  }
}

function setWeight(h: MarginHead, w: Mat): void {
  const v = h.variables.find((x) => x.name.includes('head/weight'));
  if (!v) throw new Error('no weight variable');
  v.assign(tf.tensor2d(w));
}

describe('heads: pure logits functions vs hand loops', () => {
  it('cosineLogits normalises both sides and matches the loop', () => {
    const c = tf.tidy(() => cosineLogits(tf.tensor2d(X), tf.tensor2d(W)).arraySync());
    assertClose(flat(c), flat(cosineTable(X, W)), 1e-5, 1e-6, 'cos');
  });

  it('cosineLogits clips to [-1, 1]', () => {
    const v = tf.tidy(() => cosineLogits(tf.tensor2d([[1e3, 1e3]]), tf.tensor2d([[7], [7]])).dataSync()[0]);
    assert.ok(v <= 1 && v > 0.99999);
  });

  for (const [s, m] of [[64, 0.5], [10, 0.3], [64, 0]] as const) {
    for (const easy of [false, true]) {
      it(`arcfaceLogits s=${s} m=${m} easyMargin=${easy}`, () => {
        const got = tf.tidy(() => arcfaceLogits(cosTensor(), Y, { scale: s, margin: m, easyMargin: easy }).arraySync());
        const want = arcLogits(cosineTable(X, W), Y, s, m, easy);
        assertClose(flat(got), flat(want), 1e-4, 1e-3, 'arcface');
      });
    }
  }

  it('arcfaceLogits defaults are s=64, m=0.5, no easy margin', () => {
    const got = tf.tidy(() => arcfaceLogits(cosTensor(), tf.tensor1d(Y, 'int32')).arraySync());
    assertClose(flat(got), flat(arcLogits(cosineTable(X, W), Y, 64, 0.5, false)), 1e-4, 1e-3, 'arcface');
  });

  it('easyMargin changes exactly the targets with cos t_y <= cos(pi - m)', () => {
    const cos = cosineTable(X, W);
    const plain = tf.tidy(() => arcfaceLogits(cosTensor(), Y).arraySync());
    const easy = tf.tidy(() => arcfaceLogits(cosTensor(), Y, { easyMargin: true }).arraySync());
    let changed = 0;
    for (let b = 0; b < Y.length; b++) {
      for (let j = 0; j < 3; j++) {
        const inRegion = j === Y[b] && cos[b][j] <= Math.cos(Math.PI - 0.5);
        if (inRegion) {
          changed++;
          // fallback: s (cos - m sin m); it keeps the target decreasing in t, so it lies below s cos(t + m),
          // which turns back up once t + m > pi
          assert.ok(Math.abs(easy[b][j] - 64 * (cos[b][j] - Math.sin(0.5) * 0.5)) < 1e-3);
          assert.ok(easy[b][j] < plain[b][j]);
        } else {
          assert.ok(Math.abs(easy[b][j] - plain[b][j]) < 1e-4);
        }
      }
    }
    assert.equal(changed, 2, 'the fixture has two samples in the easy-margin region');
  });

  it('cosfaceLogits (defaults 64, 0.35 and custom)', () => {
    const cos = cosineTable(X, W);
    const d = tf.tidy(() => cosfaceLogits(cosTensor(), Y).arraySync());
    assertClose(flat(d), flat(cosLogits(cos, Y, 64, 0.35)), 1e-5, 1e-4, 'cosface');
    const c = tf.tidy(() => cosfaceLogits(cosTensor(), Y, { scale: 30, margin: 0.2 }).arraySync());
    assertClose(flat(c), flat(cosLogits(cos, Y, 30, 0.2)), 1e-5, 1e-4, 'cosface');
  });

  it('normfaceLogits (default 64 and custom)', () => {
    const cos = cosineTable(X, W);
    const d = tf.tidy(() => normfaceLogits(cosTensor()).arraySync());
    assertClose(flat(d), flat(normLogits(cos, 64)), 1e-5, 1e-4, 'normface');
    const c = tf.tidy(() => normfaceLogits(cosTensor(), { scale: 5 }).arraySync());
    assertClose(flat(c), flat(normLogits(cos, 5)), 1e-5, 1e-4, 'normface');
  });

  it('softmaxCrossEntropy matches log-sum-exp and is stable for huge and -1e9 logits', () => {
    const L: Mat = [[1, 2, 3], [1000, -1000, 0], [-1e9, 5, 4]];
    const y = [2, 0, 1];
    const got = tf.tidy(() => softmaxCrossEntropy(tf.tensor2d(L), y).dataSync()[0]);
    assertClose([got], [crossEntropy(L, y)], 1e-5, 1e-5, 'ce');
    assert.ok(Number.isFinite(got));
  });

  it('label validation', () => {
    assert.throws(() => tf.tidy(() => arcfaceLogits(cosTensor(), [0, 1, 3, 0, 0])), /labels must be integers in \[0, 3\), got 3 at index 2/);
    assert.throws(() => tf.tidy(() => cosfaceLogits(cosTensor(), [0, 1])), /one entry per row \(5\), got 2/);
    assert.throws(() => tf.tidy(() => softmaxCrossEntropy(cosTensor(), [0, 1, -1, 0, 0])), /got -1 at index 2/);
  });

  it('option validation of the logits functions names the field and the value', () => {
    assert.throws(() => tf.tidy(() => arcfaceLogits(cosTensor(), Y, { scale: -1 })), /scale must be a positive finite number, got -1/);
    assert.throws(() => tf.tidy(() => arcfaceLogits(cosTensor(), Y, { margin: 4 })), /margin must be a number in \[0, pi\), got 4/);
    assert.throws(() => tf.tidy(() => cosfaceLogits(cosTensor(), Y, { margin: -0.1 })), /margin must be a number in \[0, 2\], got -0.1/);
    assert.throws(() => tf.tidy(() => normfaceLogits(cosTensor(), { scale: 0 })), /scale must be a positive finite number, got 0/);
    assert.throws(() => tf.tidy(() => normfaceLogits(cosTensor(), { scale: NaN })), /got NaN/);
  });
});

describe('heads: head losses vs hand loops', () => {
  const cases: Array<[string, Record<string, number | boolean>, (cos: Mat) => Mat]> = [
    ['arcface', {}, (c) => arcLogits(c, Y, 64, 0.5, false)],
    ['arcface', { scale: 16, margin: 0.4, easyMargin: true }, (c) => arcLogits(c, Y, 16, 0.4, true)],
    ['cosface', {}, (c) => cosLogits(c, Y, 64, 0.35)],
    ['cosface', { scale: 20, margin: 0.25 }, (c) => cosLogits(c, Y, 20, 0.25)],
    ['normface', {}, (c) => normLogits(c, 64)],
    ['normface', { scale: 3 }, (c) => normLogits(c, 3)],
  ];
  for (const [name, opts, logitsOf] of cases) {
    it(`${name} ${JSON.stringify(opts)}: loss and margin-free logits`, () => {
      withHead(name, opts, (h) => {
        setWeight(h, W);
        const cos = cosineTable(X, W);
        const { loss, logits } = h.forward(tf.tensor2d(X), tf.tensor1d(Y, 'int32'));
        const s = (h as CosineHead).scale;
        assertClose([loss.dataSync()[0]], [crossEntropy(logitsOf(cos), Y)], 1e-4, 1e-4, `${name} loss`);
        assertClose(logits.dataSync(), flat(normLogits(cos, s)), 1e-5, 1e-3, `${name} logits`);
        tf.dispose([loss, logits]);
      });
    });
  }

  it('softmax: loss = CE(x W + b), logits = x W + b', () => {
    withHead('softmax', {}, (h) => {
      setWeight(h, W);
      const bias = h.variables.find((v) => v.name.includes('bias'));
      assert.ok(bias);
      bias.assign(tf.tensor1d([0.1, -0.2, 0.3]));
      const lin = X.map((x) => [0, 1, 2].map((c) => x[0] * W[0][c] + x[1] * W[1][c] + [0.1, -0.2, 0.3][c]));
      const { loss, logits } = h.forward(tf.tensor2d(X), tf.tensor1d(Y, 'int32'));
      assertClose(logits.dataSync(), flat(lin), 1e-5, 1e-5, 'softmax logits');
      assertClose([loss.dataSync()[0]], [crossEntropy(lin, Y)], 1e-5, 1e-5, 'softmax loss');
      tf.dispose([loss, logits]);
    });
  });

  for (const [scale, easy] of [[4, false], [64, false], [64, true]] as const) {
    it(`arcface gradient w.r.t. embeddings = float64 finite differences (s=${scale}, easyMargin=${easy})`, () => {
      withHead('arcface', { scale, easyMargin: easy }, (h) => {
        setWeight(h, W);
        const loss64 = (E: Mat): number => crossEntropy(arcLogits(cosineTable(E, W), Y, scale, 0.5, easy), Y);
        const g = tf.tidy(() => {
          const y = tf.tensor1d(Y, 'int32');
          return tf.grad((e: tf.Tensor) => h.forward(e as tf.Tensor2D, y).loss)(tf.tensor2d(X)).dataSync();
        });
        const fd = flat(numericGrad(loss64, X, 1e-6));
        const scaleRef = Math.max(...fd.map(Math.abs));
        assertClose(g, fd, 2e-2, 2e-3 * scaleRef, 'dL/dx');
      });
    });
  }

  it('arcface gradient w.r.t. the class weight = finite differences', () => {
    withHead('arcface', { scale: 8 }, (h) => {
      setWeight(h, W);
      const loss64 = (Wm: Mat): number => crossEntropy(arcLogits(cosineTable(X, Wm), Y, 8, 0.5, false), Y);
      const g = tf.tidy(() => {
        const y = tf.tensor1d(Y, 'int32');
        const { grads } = tf.variableGrads(() => h.forward(tf.tensor2d(X), y).loss, h.variables);
        return Object.values(grads)[0].dataSync();
      });
      const fd = flat(numericGrad(loss64, W, 1e-6));
      assertClose(g, fd, 2e-2, 2e-3 * Math.max(...fd.map(Math.abs)), 'dL/dW');
    });
  });
});

describe('heads: registry-driven properties', () => {
  it('lists the four built-in heads with metadata', () => {
    for (const n of ['arcface', 'cosface', 'normface', 'softmax']) assert.ok(listHeads().some((h) => h.name === n), n);
    assert.deepEqual(getHeadEntry('arcface').defaults, { scale: 64, margin: 0.5, easyMargin: false });
    assert.deepEqual(getHeadEntry('cosface').defaults, { scale: 64, margin: 0.35 });
    assert.deepEqual(getHeadEntry('normface').defaults, { scale: 64 });
    assert.match(getHeadEntry('arcface').paper, /Deng.*CVPR 2019/);
    assert.match(getHeadEntry('cosface').paper, /Wang.*CVPR 2018/);
    assert.match(getHeadEntry('normface').paper, /Wang.*ACM MM 2017/);
  });

  for (const { name } of listHeads()) {
    describe(name, () => {
      const C = 5, E = 4, B = 6;
      it('variables, names and output shapes', () => {
        withHead2(name, C, E, (h) => {
          assert.equal(h.name, name);
          assert.equal(h.numClasses, C);
          assert.equal(h.embeddingDim, E);
          assert.ok(h.variables.some((v) => v.name.includes('head/weight')));
          const w = h.variables.find((v) => v.name.includes('head/weight'));
          // sub-center ArcFace holds K centres per class: [E, C * K]
          const k = name === 'subcenter-arcface' ? Number(h.options.subcenters) : 1;
          assert.deepEqual(w?.shape, [E, C * k]);
          const x = tf.tensor2d(flat(randomMat(new Rng(2), B, E)), [B, E]);
          const y = tf.tensor1d([0, 1, 2, 3, 4, 0], 'int32');
          const { loss, logits } = h.forward(x, y);
          assert.deepEqual(loss.shape, []);
          assert.deepEqual(logits.shape, [B, C]);
          assert.ok(Number.isFinite(loss.dataSync()[0]));
          const state = h.getState();
          for (const v of Object.values(state)) assert.ok(Number.isFinite(v), `${name}: non-finite state`);
          h.setState(state);
          assert.deepEqual(h.getState(), state);
          if (Object.keys(state).length === 0) {
            assert.throws(() => h.setState({ foo: 1 }), /has no state, got keys: foo/);
          } else {
            assert.throws(() => h.setState({ ...state, foo: 1 }), new RegExp(`${name}: unknown state key 'foo'`));
          }
          tf.dispose([x, y, loss, logits]);
        });
      });

      it('no NaN/Inf at extreme cosines (embedding = a class weight, and its opposite), values and gradients', () => {
        withHead2(name, C, E, (h) => {
          const w = h.variables.find((v) => v.name.includes('head/weight')) as tf.Variable;
          const cols = transpose(w.arraySync() as Mat);
          const rows = [cols[0], cols[1], cols[2].map((v) => -v), cols[3].map((v) => -v), cols[4], cols[0].map((v) => -v)];
          const y = tf.tensor1d([0, 1, 2, 3, 4, 0], 'int32');
          const x = tf.tensor2d(rows);
          const { value, grads } = tf.variableGrads(() => h.forward(x, y).loss, h.variables);
          const gx = tf.grad((e: tf.Tensor) => h.forward(e as tf.Tensor2D, y).loss)(x);
          const out = h.forward(x, y);
          for (const t of [value, gx, out.loss, out.logits, ...Object.values(grads)]) {
            assert.ok(t.dataSync().every(Number.isFinite), `${name}: non-finite values`);
          }
          tf.dispose([x, y, value, gx, out.loss, out.logits, ...Object.values(grads)]);
        });
      });

      it('every trainable variable gets a non-zero gradient; no tensor leak', () => {
        withHead2(name, C, E, (h) => {
          const x = tf.tensor2d(flat(randomMat(new Rng(3), B, E)), [B, E]);
          const y = tf.tensor1d([0, 1, 2, 3, 4, 1], 'int32');
          const warm = h.forward(x, y); // warm-up (lazy kernels)
          tf.dispose([warm.loss, warm.logits]);
          const before = tf.memory().numTensors;
          const { value, grads } = tf.variableGrads(() => h.forward(x, y).loss, h.variables);
          assert.equal(Object.keys(grads).length, h.variables.length);
          for (const [k, g] of Object.entries(grads)) {
            const mx = Math.max(...Array.from(g.dataSync()).map(Math.abs));
            assert.ok(mx > 0, `${name}: zero gradient for ${k}`);
          }
          tf.dispose([value, ...Object.values(grads)]);
          const o = h.forward(x, y);
          tf.dispose([o.loss, o.logits]);
          assert.equal(tf.memory().numTensors, before, `${name} leaks tensors`);
          tf.dispose([x, y]);
        });
      });

      it('rejects unknown options listing the allowed ones, and wrong input shapes', () => {
        const f = new TestFactory();
        try {
          assert.throws(
            () => createHead(name, { store: f, numClasses: C, embeddingDim: E, bogus: 1 }),
            new RegExp(`unknown option 'bogus' for head '${name}'; allowed: `),
          );
          const h = createHead(name, { store: f, numClasses: C, embeddingDim: E });
          assert.throws(() => h.forward(tf.zeros([2, E + 1]) as tf.Tensor2D, tf.tensor1d([0, 1], 'int32')), /embeddings must be \[B, 4\]/);
          assert.throws(() => h.forward(tf.ones([2, E]) as tf.Tensor2D, tf.tensor1d([0], 'int32')), /labels must be \[2\]/);
        } finally {
          f.dispose();
        }
      });
    });
  }
});

function withHead2(name: string, C: number, E: number, fn: (h: MarginHead) => void): void {
  const f = new TestFactory(`${name}/props`);
  try {
    fn(createHead(name, { store: f, numClasses: C, embeddingDim: E, rng: new Rng(`${name}/init`) }));
  } finally {
    f.dispose();
  }
}

describe('heads: createHead / registerHead validation', () => {
  const f = new TestFactory('val');
  after(() => f.dispose());
  const base = { store: f, numClasses: 3, embeddingDim: 2 };

  it('unknown head lists the registered ones', () => {
    assert.throws(() => createHead('sphereface9', base), /unknown head 'sphereface9'; registered heads: .*arcface.*cosface.*normface.*softmax/);
  });
  it('unknown option lists the allowed ones', () => {
    assert.throws(() => createHead('arcface', { ...base, s: 30 }), /unknown option 's' for head 'arcface'; allowed: scale, margin, easyMargin/);
    assert.throws(() => createHead('softmax', { ...base, scale: 30 }), /unknown option 'scale' for head 'softmax'; allowed: \(none\)/);
  });
  it('option types and ranges name the field and value', () => {
    assert.throws(() => createHead('arcface', { ...base, scale: '64' }), /scale must be a number for head 'arcface', got 64/);
    assert.throws(() => createHead('arcface', { ...base, easyMargin: 1 }), /easyMargin must be a boolean for head 'arcface', got 1/);
    assert.throws(() => createHead('arcface', { ...base, scale: -1 }), /scale must be a positive finite number, got -1/);
    assert.throws(() => createHead('arcface', { ...base, margin: 3.5 }), /margin must be a number in \[0, pi\), got 3.5/);
    assert.throws(() => createHead('cosface', { ...base, margin: 2.5 }), /margin must be a number in \[0, 2\], got 2.5/);
    assert.throws(() => createHead('normface', { ...base, scale: 0 }), /scale must be a positive finite number, got 0/);
  });
  it('sizes and store are checked', () => {
    assert.throws(() => createHead('arcface', { ...base, numClasses: 0 }), /numClasses must be a positive integer, got 0/);
    assert.throws(() => createHead('arcface', { ...base, embeddingDim: 2.5 }), /embeddingDim must be a positive integer, got 2.5/);
    assert.throws(() => createHead('arcface', { ...base, store: {} as never }), /store must implement variable/);
    assert.throws(() => new ArcFaceHead({ ...base, numClasses: -2 }), /numClasses must be a positive integer, got -2/);
  });
  it('undefined options take the defaults; resolved options are exposed', () => {
    const g = new TestFactory('defaults');
    try {
      const h = createHead('arcface', { store: g, numClasses: 3, embeddingDim: 2, margin: undefined, scale: 32 });
      assert.deepEqual(h.options, { scale: 32, margin: 0.5, easyMargin: false });
      assert.ok(h instanceof ArcFaceHead);
      assert.equal((h as ArcFaceHead).margin, 0.5);
    } finally {
      g.dispose();
    }
    const g2 = new TestFactory('direct');
    try {
      assert.equal(new CosFaceHead({ store: g2, numClasses: 2, embeddingDim: 2 }).margin, 0.35);
      assert.throws(() => new NormFaceHead({ store: g2, numClasses: 2, embeddingDim: 2 }, { scale: -3 }), /got -3/);
    } finally {
      g2.dispose();
    }
  });
  it('registerHead rejects duplicates and reserved option names', () => {
    const entry = getHeadEntry('normface');
    assert.throws(() => registerHead('normface', entry), /head 'normface' is already registered/);
    assert.throws(() => registerHead('x-test', { ...entry, defaults: { store: 1 } }), /option 'store' is reserved/);
    assert.throws(() => registerHead('Bad Name', entry), /head name must match/);
  });
});
