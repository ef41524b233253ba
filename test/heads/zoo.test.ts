import { strict as assert } from 'assert';
import * as tf from '@tensorflow/tfjs';
import {
  AdaFaceHead,
  CamSoftmaxHead,
  CurricularFaceHead,
  ElasticHead,
  MarginHead,
  SphereFaceHead,
  camExponent,
  createHead,
  getHeadEntry,
  listHeads,
  sparsemax,
  sparsemaxLoss,
} from '../../src/heads';
import { Rng, RngState } from '../../src/util/rng';
import { Mat, TestFactory, arcLogits, assertClose, cosineTable, crossEntropy, flat, fromAngles, normLogits, numericGrad, transpose } from './helpers';
import {
  adafaceStep,
  arcPerSample,
  camLogits,
  combinedLogits,
  cosPerSample,
  curricularStep,
  magfaceLoss,
  sparsemaxLossLoop,
  sparsemaxVec,
  sphereLambda,
  sphereLogits,
  subcenterCos,
} from './zoo-helpers';

const deg = Math.PI / 180;
// class weights (columns, [E=2][C=3]) at 0, 100, 200 degrees with non-unit norms
const W: Mat = transpose(fromAngles([0, 100 * deg, 200 * deg], [0.5, 2, 1.3]));
// embeddings at various angles and norms; t_y = 10, 5, 170, 170, 75 degrees
const X: Mat = fromAngles([10 * deg, 95 * deg, 170 * deg, 30 * deg, 25 * deg], [3, 0.2, 1, 1.5, 0.7]);
const Y = [0, 1, 0, 2, 1];
// a second batch for multi-step state sequences (t_y = 40, 60, 120, 20, 95 degrees)
const X2: Mat = fromAngles([40 * deg, 160 * deg, 320 * deg, 220 * deg, 95 * deg], [12, 30, 80, 0.5, 150]);
const Y2 = [0, 1, 2, 2, 0];
const BATCHES: Array<[Mat, number[]]> = [[X, Y], [X2, Y2], [X, Y]];

function withHead<T>(name: string, opts: Record<string, number | boolean>, fn: (h: MarginHead) => T, w: Mat = W): T {
  const f = new TestFactory(`zoo/${name}`);
  try {
    const h = createHead(name, { store: f, numClasses: 3, embeddingDim: 2, ...opts });
    const v = h.variables.find((x) => x.name.includes('head/weight'));
    if (!v) throw new Error('no weight variable');
    v.assign(tf.tensor2d(w));
    return fn(h);
  } finally {
    f.dispose();
  }
}

/** Runs forward and returns [loss, logits] as plain numbers (disposing the tensors). */
function run(h: MarginHead, x: Mat, y: number[]): [number, number[]] {
  const out = tf.tidy(() => {
    const o = h.forward(tf.tensor2d(x), tf.tensor1d(y, 'int32'));
    return [o.loss.dataSync()[0], Array.from(o.logits.dataSync())] as [number, number[]];
  });
  return out;
}

describe('head zoo: registry metadata and defaults (heads.md)', () => {
  it('registers every zoo head with its paper and defaults', () => {
    const want: Record<string, Record<string, number | boolean>> = {
      sphereface: { margin: 4, lambdaMin: 5, lambdaBase: 1500, lambdaGamma: 0.1 },
      combined: { scale: 64, m1: 1, m2: 0.5, m3: 0 },
      curricularface: { scale: 64, margin: 0.5, easyMargin: false },
      magface: { scale: 64, lowerNorm: 10, upperNorm: 110, lowerMargin: 0.45, upperMargin: 0.8, lambdaG: 20, easyMargin: false },
      adaface: { scale: 64, margin: 0.4, h: 0.333, momentum: 0.01 },
      'elasticface-arc': { scale: 64, margin: 0.5, sigma: 0.0125 },
      'elasticface-cos': { scale: 64, margin: 0.35, sigma: 0.0125 },
      'subcenter-arcface': { scale: 64, margin: 0.5, subcenters: 3, easyMargin: false },
      'cam-softmax': { scale: 20, gammaStart: Math.PI / 2, gammaEnd: Math.PI / 4, gammaStep: 1e-4 },
      'angular-sparsemax': { scale: 16, margin: 0.5 },
    };
    for (const [name, defaults] of Object.entries(want)) {
      assert.ok(listHeads().some((h) => h.name === name), name);
      assert.deepEqual(getHeadEntry(name).defaults, defaults, name);
      assert.match(getHeadEntry(name).paper, /(19|20)\d\d$/, `${name} paper`);
    }
  });
});

describe('head zoo: values against hand loops', () => {
  it('sphereface psi for m = 1..5 over every k (lambda = 0) and the annealed target (defaults)', () => {
    const Xs = fromAngles([5, 30, 50, 80, 100, 130, 150, 175].map((d) => d * deg), [1, 2, 0.5, 3, 1, 0.7, 2, 1.2]);
    const Ws = transpose(fromAngles([0, 90 * deg, 180 * deg], [1, 1, 1]));
    const Ys = [0, 0, 0, 0, 0, 0, 0, 0];
    for (const m of [1, 2, 3, 4, 5]) {
      withHead('sphereface', { margin: m, lambdaMin: 0, lambdaBase: 0 }, (h) => {
        const [loss, logits] = run(h, Xs, Ys);
        assertClose([loss], [crossEntropy(sphereLogits(Xs, Ws, Ys, m, 0), Ys)], 1e-4, 1e-4, `sphereface m=${m} loss`);
        // margin-free logits: ||x|| cos t_j
        const free = cosineTable(Xs, Ws).map((r, b) => r.map((c) => c * Math.hypot(Xs[b][0], Xs[b][1])));
        assertClose(logits, flat(free), 1e-4, 1e-4, 'sphereface logits');
      }, Ws);
    }
  });

  it('sphereface: iter and lambda over three training forwards; training = false freezes them', () => {
    withHead('sphereface', {}, (h) => {
      const sf = h as SphereFaceHead;
      assert.deepEqual(h.getState(), { iter: 0 });
      for (let step = 1; step <= 3; step++) {
        const [x, y] = BATCHES[step - 1];
        const [loss] = run(h, x, y);
        assert.deepEqual(h.getState(), { iter: step });
        const want = crossEntropy(sphereLogits(x, W, y, 4, sphereLambda(step)), y);
        assertClose([loss], [want], 1e-4, 1e-4, `sphereface step ${step}`);
      }
      h.setState({ iter: 20000 });
      assert.equal(sf.lambda, 5);
      sf.training = false;
      const [loss] = run(h, X, Y);
      assert.deepEqual(h.getState(), { iter: 20000 });
      assertClose([loss], [crossEntropy(sphereLogits(X, W, Y, 4, 5), Y)], 1e-4, 1e-4, 'sphereface lambda floor');
    });
  });

  for (const [m1, m2, m3] of [[1, 0.5, 0], [1.35, 0, 0], [1, 0.3, 0.2], [0.9, 0.4, 0.1]]) {
    it(`combined (m1, m2, m3) = (${m1}, ${m2}, ${m3})`, () => {
      withHead('combined', { m1, m2, m3, scale: 30 }, (h) => {
        const [loss, logits] = run(h, X, Y);
        const cos = cosineTable(X, W);
        assertClose([loss], [crossEntropy(combinedLogits(cos, Y, 30, m1, m2, m3), Y)], 1e-4, 1e-3, 'combined loss');
        assertClose(logits, flat(normLogits(cos, 30)), 1e-5, 1e-3, 'combined logits');
      });
    });
  }

  it('combined with defaults equals arcface', () => {
    const a = withHead('combined', {}, (h) => run(h, X, Y)[0]);
    const b = withHead('arcface', {}, (h) => run(h, X, Y)[0]);
    assertClose([a], [b], 1e-5, 1e-5, 'combined = arcface');
  });

  it('curricularface: t and the loss over three training forwards', () => {
    withHead('curricularface', {}, (h) => {
      let t = 0;
      assert.deepEqual(h.getState(), { t: 0 });
      for (const [x, y] of BATCHES) {
        const [loss] = run(h, x, y);
        const ref = curricularStep(cosineTable(x, W), y, 64, 0.5, t);
        t = ref.t;
        assertClose([h.getState().t], [t], 1e-5, 1e-7, 'curricular t');
        assertClose([loss], [crossEntropy(ref.logits, y)], 1e-4, 1e-3, 'curricular loss');
      }
      // a large t makes the hard-negative modulation visible
      h.setState({ t: 0.8 });
      (h as CurricularFaceHead).training = false;
      const [loss] = run(h, X2, Y2);
      const cos = cosineTable(X2, W);
      const want = cos.map((row, b) => {
        const ctm = Math.cos(Math.acos(row[Y2[b]]) + 0.5);
        return row.map((c, j) => 64 * (j === Y2[b] ? ctm : c > ctm ? c * (0.8 + c) : c));
      });
      assertClose([loss], [crossEntropy(want, Y2)], 1e-4, 1e-3, 'curricular frozen');
      assert.deepEqual(h.getState(), { t: 0.8 });
    });
  });

  it('magface: CE with m(a) plus lambda_g g(a) (norms below, inside and above [l_a, u_a])', () => {
    const o = { s: 64, la: 10, ua: 110, lm: 0.45, um: 0.8, lambdaG: 20 };
    for (const [x, y] of [[X, Y], [X2, Y2]] as Array<[Mat, number[]]>) {
      withHead('magface', {}, (h) => {
        const [loss, logits] = run(h, x, y);
        assertClose([loss], [magfaceLoss(x, W, y, o)], 1e-4, 1e-3, 'magface loss');
        assertClose(logits, flat(normLogits(cosineTable(x, W), 64)), 1e-5, 1e-3, 'magface logits');
      });
    }
    const o2 = { s: 16, la: 1, ua: 50, lm: 0.2, um: 0.6, lambdaG: 3 };
    withHead('magface', { scale: 16, lowerNorm: 1, upperNorm: 50, lowerMargin: 0.2, upperMargin: 0.6, lambdaG: 3 }, (h) => {
      assertClose([run(h, X2, Y2)[0]], [magfaceLoss(X2, W, Y2, o2)], 1e-4, 1e-3, 'magface custom');
    });
  });

  it('magface: the norm receives the gradient of m(a) and g(a) inside [l_a, u_a]', () => {
    const o = { s: 16, la: 1, ua: 50, lm: 0.2, um: 0.6, lambdaG: 3 };
    withHead('magface', { scale: 16, lowerNorm: 1, upperNorm: 50, lowerMargin: 0.2, upperMargin: 0.6, lambdaG: 3 }, (h) => {
      const x0 = X2.slice(0, 3).map((r) => r.map((v) => v / 3)); // norms 4, 10, 26.7: inside
      const y0 = Y2.slice(0, 3);
      const g = tf.tidy(() => {
        const y = tf.tensor1d(y0, 'int32');
        return tf.grad((e: tf.Tensor) => h.forward(e as tf.Tensor2D, y).loss)(tf.tensor2d(x0)).dataSync();
      });
      const fd = flat(numericGrad((E) => magfaceLoss(E, W, y0, o), x0, 1e-5));
      assertClose(g, fd, 2e-2, 2e-3 * Math.max(...fd.map(Math.abs)), 'magface dL/dx');
    });
  });

  const adaCases: Array<Record<string, number>> = [{}, { momentum: 0.5, h: 2, margin: 0.3, scale: 30 }];
  for (const opts of adaCases) {
    it(`adaface ${JSON.stringify(opts)}: EMAs and the loss over three training forwards`, () => {
      const o = { s: 64, m: 0.4, h: 0.333, alpha: 0.01 };
      if ('momentum' in opts) Object.assign(o, { s: 30, m: 0.3, h: 2, alpha: 0.5 });
      withHead('adaface', opts, (h) => {
        let st = { mean: 20, std: 100 };
        assert.deepEqual(h.getState(), { batchMean: 20, batchStd: 100 });
        for (const [x, y] of BATCHES) {
          const [loss] = run(h, x, y);
          const ref = adafaceStep(x, W, y, st, o);
          st = ref.state;
          const got = h.getState();
          assertClose([got.batchMean, got.batchStd], [st.mean, st.std], 1e-6, 1e-6, 'adaface state');
          assertClose([loss], [ref.loss], 1e-4, 1e-3, 'adaface loss');
        }
        (h as AdaFaceHead).training = false;
        const before = h.getState();
        run(h, X2, Y2);
        assert.deepEqual(h.getState(), before);
      });
    });
  }

  for (const name of ['elasticface-arc', 'elasticface-cos']) {
    it(`${name}: per-sample margins from the head's Rng over three forwards; state replays them`, () => {
      const m = name === 'elasticface-arc' ? 0.5 : 0.35;
      const logitsOf = name === 'elasticface-arc' ? arcPerSample : cosPerSample;
      withHead(name, {}, (h) => {
        const s0 = h.getState();
        assert.deepEqual(Object.keys(s0), ['rng0', 'rng1', 'rng2', 'rng3']);
        const replay = new Rng(0);
        replay.setState([s0.rng0, s0.rng1, s0.rng2, s0.rng3] as RngState);
        const losses: number[] = [];
        for (const [x, y] of BATCHES) {
          const [loss] = run(h, x, y);
          const margins = x.map(() => replay.normal(m, 0.0125));
          assertClose((h as ElasticHead).lastMargins, margins, 0, 1e-15, 'margins');
          assertClose([loss], [crossEntropy(logitsOf(cosineTable(x, W), y, 64, margins), y)], 1e-4, 1e-3, `${name} loss`);
          const st = h.getState();
          assert.deepEqual([st.rng0, st.rng1, st.rng2, st.rng3], replay.getState());
          losses.push(loss);
        }
        // restoring the initial state reproduces the same draws
        h.setState(s0);
        assertClose([run(h, X, Y)[0]], [losses[0]], 0, 1e-6, 'replayed loss');
        const spread = new Set(losses.map((l) => l.toFixed(6)));
        assert.ok(spread.size >= 2, 'margins vary between steps');
        // evaluation: the mean margin, no draw
        (h as ElasticHead).training = false;
        const before = h.getState();
        const [loss] = run(h, X, Y);
        assert.deepEqual(h.getState(), before);
        assertClose([loss], [crossEntropy(logitsOf(cosineTable(X, W), Y, 64, X.map(() => m)), Y)], 1e-4, 1e-3, 'mean margin');
      });
    });
  }

  it('elasticface heads with an rng fork it: deterministic from the run seed', () => {
    const mk = (seed: string): Record<string, number> => {
      const f = new TestFactory('fork');
      try {
        return createHead('elasticface-arc', { store: f, numClasses: 3, embeddingDim: 2, rng: new Rng(seed) }).getState();
      } finally {
        f.dispose();
      }
    };
    assert.deepEqual(mk('a'), mk('a'));
    assert.notDeepEqual(mk('a'), mk('b'));
  });

  it('subcenter-arcface: max over K centres, then ArcFace (K = 3 and 2)', () => {
    for (const K of [3, 2]) {
      const angles: number[] = [];
      const radii: number[] = [];
      for (let c = 0; c < 3; c++) for (let k = 0; k < K; k++) {
        angles.push((c * 120 + k * 37 - 20) * deg);
        radii.push(0.5 + 0.3 * k + c);
      }
      const Wk = transpose(fromAngles(angles, radii));
      withHead('subcenter-arcface', { subcenters: K, scale: 32 }, (h) => {
        assert.deepEqual(h.variables[0].shape, [2, 3 * K]);
        const [loss, logits] = run(h, X, Y);
        const cos = subcenterCos(X, Wk, 3, K);
        assertClose([loss], [crossEntropy(arcLogits(cos, Y, 32, 0.5, false), Y)], 1e-4, 1e-3, 'subcenter loss');
        assertClose(logits, flat(normLogits(cos, 32)), 1e-5, 1e-3, 'subcenter logits');
      }, Wk);
    }
  });

  it('cam-softmax: k(gamma), gamma over three forwards, and the floor gammaEnd', () => {
    assert.equal(camExponent(Math.PI / 2), 1);
    assertClose([camExponent(Math.PI / 4)], [1 / (1 - Math.log2(1 + Math.SQRT1_2))], 1e-12, 0, 'k(pi/4)');
    withHead('cam-softmax', { gammaStep: 0.05 }, (h) => {
      let gamma = Math.PI / 2;
      assert.deepEqual(h.getState(), { gamma });
      for (const [x, y] of BATCHES) {
        gamma -= 0.05;
        const [loss, logits] = run(h, x, y);
        assertClose([h.getState().gamma], [gamma], 1e-12, 1e-12, 'gamma');
        const cos = cosineTable(x, W);
        assertClose([loss], [crossEntropy(camLogits(cos, y, 20, gamma), y)], 1e-4, 1e-4, 'cam loss');
        assertClose(logits, flat(normLogits(cos, 20)), 1e-5, 1e-4, 'cam logits');
      }
      h.setState({ gamma: Math.PI / 4 + 0.01 });
      run(h, X, Y);
      assert.equal(h.getState().gamma, Math.PI / 4);
      (h as CamSoftmaxHead).training = false;
      run(h, X, Y);
      assert.equal(h.getState().gamma, Math.PI / 4);
    });
  });

  it('cam-softmax with defaults: first forward at gamma = pi/2 - 1e-4 (k ~ 1: close to normface at s = 20)', () => {
    withHead('cam-softmax', {}, (h) => {
      const [loss] = run(h, X, Y);
      assertClose([h.getState().gamma], [Math.PI / 2 - 1e-4], 1e-12, 1e-12, 'gamma');
      assertClose([loss], [crossEntropy(camLogits(cosineTable(X, W), Y, 20, Math.PI / 2 - 1e-4), Y)], 1e-4, 1e-4, 'cam');
    });
  });
});

describe('head zoo: angular sparsemax', () => {
  const Z: Mat = [[1.5, 0.2, -0.3, 1.1], [0, 0, 0, 0], [5, -1, 0.5, 4.2], [-2, 3, 3, -1], [0.1, 0.3, 0.2, 0.25]];
  const YZ = [0, 2, 1, 3, 2];

  it('sparsemax by sorting matches the loop: non-negative, sums to 1, sparse', () => {
    const p = tf.tidy(() => sparsemax(tf.tensor2d(Z)).arraySync());
    for (let b = 0; b < Z.length; b++) {
      assertClose(p[b], sparsemaxVec(Z[b]).p, 1e-5, 1e-6, `sparsemax row ${b}`);
      assertClose([p[b].reduce((a, v) => a + v, 0)], [1], 0, 1e-5, 'sum');
    }
    assert.ok(p[2].filter((v) => v === 0).length >= 2, 'sparse');
  });

  it('Fenchel-Young loss matches the loop; 0 for a winning margin >= 1', () => {
    const got = tf.tidy(() => sparsemaxLoss(tf.tensor2d(Z), YZ).dataSync()[0]);
    assertClose([got], [sparsemaxLossLoop(Z, YZ)], 1e-5, 1e-5, 'FY loss');
    const zero = tf.tidy(() => sparsemaxLoss(tf.tensor2d([[3, 1.9, 0]]), [0]).dataSync()[0]);
    assertClose([zero], [0], 0, 1e-6, 'FY zero');
  });

  it('dL/dz = sparsemax(z) - onehot(y) = finite differences of the loop', () => {
    const g = tf.tidy(() => {
      const y = tf.tensor1d(YZ, 'int32');
      return tf.grad((z: tf.Tensor) => sparsemaxLoss(z as tf.Tensor2D, y))(tf.tensor2d(Z)).arraySync() as Mat;
    });
    const fd = numericGrad((M) => sparsemaxLossLoop(M, YZ), Z, 1e-6);
    assertClose(flat(g), flat(fd), 1e-3, 1e-4, 'dL/dz');
    const want = Z.map((row, b) => sparsemaxVec(row).p.map((p, j) => (p - (j === YZ[b] ? 1 : 0)) / Z.length));
    assertClose(flat(g), flat(want), 1e-4, 1e-5, 'p - y');
  });

  for (const [s, m] of [[64, 0.5], [8, 0.3]]) {
    it(`head loss and dL/dx vs the loop and finite differences (s=${s}, m=${m})`, () => {
      withHead('angular-sparsemax', { scale: s, margin: m }, (h) => {
        const lossOf = (E: Mat): number => sparsemaxLossLoop(arcLogits(cosineTable(E, W), Y, s, m, false), Y);
        const [loss, logits] = run(h, X, Y);
        assertClose([loss], [lossOf(X)], 1e-4, 1e-3, 'sparsemax head loss');
        assertClose(logits, flat(normLogits(cosineTable(X, W), s)), 1e-5, 1e-3, 'logits');
        const g = tf.tidy(() => {
          const y = tf.tensor1d(Y, 'int32');
          return tf.grad((e: tf.Tensor) => h.forward(e as tf.Tensor2D, y).loss)(tf.tensor2d(X)).dataSync();
        });
        const fd = flat(numericGrad(lossOf, X, 1e-6));
        assertClose(g, fd, 2e-2, 2e-3 * Math.max(...fd.map(Math.abs)), 'dL/dx');
      });
    });
  }
});

describe('head zoo: option and state validation', () => {
  const f = new TestFactory('zoo/val');
  after(() => f.dispose());
  const base = { store: f, numClasses: 3, embeddingDim: 2 };
  const cases: Array<[string, Record<string, number | boolean>, RegExp]> = [
    ['sphereface', { margin: 2.5 }, /margin must be a positive integer, got 2.5/],
    ['sphereface', { lambdaMin: -1 }, /lambdaMin must be a number >= 0, got -1/],
    ['combined', { m1: 0 }, /m1 must be a number in \(0, 10\], got 0/],
    ['combined', { m2: 4 }, /m2 must be a number in \[0, pi\), got 4/],
    ['combined', { m3: 3 }, /m3 must be a number in \[0, 2\], got 3/],
    ['curricularface', { margin: -0.1 }, /margin must be a number in \[0, pi\), got -0.1/],
    ['magface', { upperNorm: 5 }, /upperNorm must be a number > lowerNorm \(10\), got 5/],
    ['magface', { upperMargin: 0.1 }, /upperMargin must be a number in \[lowerMargin \(0.45\), pi\), got 0.1/],
    ['magface', { lambdaG: -2 }, /lambdaG must be a number >= 0, got -2/],
    ['adaface', { h: 0 }, /h must be a positive number, got 0/],
    ['adaface', { momentum: 1.5 }, /momentum must be a number in \[0, 1\], got 1.5/],
    ['elasticface-arc', { sigma: -0.1 }, /sigma must be a number >= 0, got -0.1/],
    ['elasticface-cos', { margin: 3 }, /margin must be a number in \[0, 2\], got 3/],
    ['subcenter-arcface', { subcenters: 0 }, /subcenters must be a positive integer, got 0/],
    ['cam-softmax', { gammaStart: 2 }, /gammaStart must be a number in \(0, pi\/2\], got 2/],
    ['cam-softmax', { gammaEnd: 1.6 }, /gammaEnd must be a number in \(0, gammaStart \(1.57\d*\)\], got 1.6/],
    ['angular-sparsemax', { scale: 0 }, /scale must be a positive finite number, got 0/],
  ];
  for (const [name, opts, re] of cases) {
    it(`${name} ${JSON.stringify(opts)}`, () => assert.throws(() => createHead(name, { ...base, ...opts }), re));
  }

  it('setState rejects unknown, missing and non-finite keys of stateful heads', () => {
    const g = new TestFactory('zoo/state');
    try {
      const sf = createHead('sphereface', { store: g, numClasses: 3, embeddingDim: 2 });
      assert.throws(() => sf.setState({ iter: 1, foo: 2 }), /sphereface: unknown state key 'foo'; expected: iter/);
      assert.throws(() => sf.setState({}), /sphereface: state key 'iter' is missing/);
      assert.throws(() => sf.setState({ iter: 1.5 }), /state 'iter' must be an integer, got 1.5/);
      assert.throws(() => sf.setState({ iter: NaN }), /state 'iter' must be a finite number, got NaN/);
    } finally {
      g.dispose();
    }
    const g2 = new TestFactory('zoo/state2');
    try {
      const ada = createHead('adaface', { store: g2, numClasses: 3, embeddingDim: 2 });
      assert.throws(() => ada.setState({ batchMean: 1 }), /adaface: state key 'batchStd' is missing/);
      ada.setState({ batchMean: 3, batchStd: 4 });
      assert.deepEqual(ada.getState(), { batchMean: 3, batchStd: 4 });
    } finally {
      g2.dispose();
    }
  });
});

describe('head zoo: extreme norms at extreme cosines (every registered head)', () => {
  for (const { name } of listHeads()) {
    it(`${name}: finite loss and gradients for norms 0, 1e-4, 1, 1e3 at cos = +-1`, () => {
      withHead(name, {}, (h) => {
        const dirs = transpose(W).map((c) => { const n = Math.hypot(c[0], c[1]); return [c[0] / n, c[1] / n]; });
        const x = [[0, 0], dirs[0].map((v) => v * 1e-4), dirs[1], dirs[2].map((v) => -v * 1e3), dirs[0].map((v) => -v * 1e3), dirs[1].map((v) => v * 1e3)];
        const y = [0, 0, 1, 2, 0, 1];
        tf.tidy(() => {
          const yt = tf.tensor1d(y, 'int32');
          const xt = tf.tensor2d(x);
          const { value, grads } = tf.variableGrads(() => h.forward(xt, yt).loss, h.variables);
          const gx = tf.grad((e: tf.Tensor) => h.forward(e as tf.Tensor2D, yt).loss)(xt);
          for (const t of [value, gx, ...Object.values(grads)]) assert.ok(t.dataSync().every(Number.isFinite), `${name}: non-finite`);
        });
        for (const v of Object.values(h.getState())) assert.ok(Number.isFinite(v));
      }, name === 'subcenter-arcface' ? transpose(fromAngles([0, 5, 10, 100, 105, 110, 200, 205, 210].map((d) => d * deg), Array(9).fill(1))) : W);
    });
  }
});
