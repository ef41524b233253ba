import { strict as assert } from 'assert';
import * as tf from '@tensorflow/tfjs';
import { NTXentLoss, PairLoss, createPairLoss, getPairLossEntry, listPairLosses, registerPairLoss } from '../../src/losses';
import { Rng } from '../../src/util/rng';
import {
  Mat,
  circleLoop,
  contrastiveLoop,
  npairLoop,
  ntxentLoop,
  simTable,
  simclrLoop,
  supconLoop,
  tripletLoop,
} from './helpers';

const deg = Math.PI / 180;
function fromAngles(angles: number[], radii: number[]): Mat {
  return angles.map((a, i) => [radii[i] * Math.cos(a), radii[i] * Math.sin(a)]);
}
// 2-D embeddings (non-unit norms); labels with 3, 2, 2, 1 members
const X: Mat = fromAngles([0, 20, 90, 110, 207, 230, 300, 47].map((d) => d * deg), [1, 2, 0.5, 1.5, 3, 0.8, 1.2, 0.7]);
const Y = [0, 0, 1, 1, 2, 2, 3, 0];

function compute(loss: PairLoss, x: Mat, y: number[]): number {
  return tf.tidy(() => loss.compute(tf.tensor2d(x), tf.tensor1d(y, 'int32')).dataSync()[0]);
}

function gradOf(loss: PairLoss, x: Mat, y: number[]): number[] {
  return tf.tidy(() => {
    const yt = tf.tensor1d(y, 'int32');
    return Array.from(tf.grad((e: tf.Tensor) => loss.compute(e as tf.Tensor2D, yt))(tf.tensor2d(x)).dataSync());
  });
}

function numericGrad(f: (X: Mat) => number, x: Mat, eps = 1e-6): number[] {
  const out: number[] = [];
  for (let i = 0; i < x.length; i++) for (let j = 0; j < x[i].length; j++) {
    const p = x.map((r) => r.slice());
    const m = x.map((r) => r.slice());
    p[i][j] += eps;
    m[i][j] -= eps;
    out.push((f(p) - f(m)) / (2 * eps));
  }
  return out;
}

function assertClose(a: ArrayLike<number>, e: ArrayLike<number>, rtol: number, atol: number, what: string): void {
  assert.equal(a.length, e.length, `${what}: length`);
  for (let i = 0; i < a.length; i++) {
    if (!(Math.abs(a[i] - e[i]) <= atol + rtol * Math.abs(e[i]))) throw new Error(`${what}[${i}]: got ${a[i]}, expected ${e[i]}`);
  }
}

const REFS: Array<[string, Record<string, number>, (x: Mat, y: number[]) => number]> = [
  ['contrastive', {}, (x, y) => contrastiveLoop(x, y, 1)],
  ['contrastive', { margin: 1.6 }, (x, y) => contrastiveLoop(x, y, 1.6)],
  ['triplet', { margin: 0.5 }, (x, y) => tripletLoop(x, y, 0.5)],
  ['triplet', { margin: 1 }, (x, y) => tripletLoop(x, y, 1)],
  ['npair', {}, (x, y) => npairLoop(x, y, 1)],
  ['npair', { scale: 10 }, (x, y) => npairLoop(x, y, 10)],
  ['ntxent', {}, (x, y) => ntxentLoop(x, y, 0.1)],
  ['ntxent', { temperature: 0.5 }, (x, y) => ntxentLoop(x, y, 0.5)],
  ['supcon', {}, (x, y) => supconLoop(x, y, 0.1)],
  ['supcon', { temperature: 0.3 }, (x, y) => supconLoop(x, y, 0.3)],
  ['circle', {}, (x, y) => circleLoop(x, y, 0.25, 256)],
  ['circle', { margin: 0.4, gamma: 32 }, (x, y) => circleLoop(x, y, 0.4, 32)],
];

describe('pair losses: registry', () => {
  it('lists the six losses with defaults and papers', () => {
    assert.deepEqual(listPairLosses().map((l) => l.name), ['circle', 'contrastive', 'npair', 'ntxent', 'supcon', 'triplet']);
    assert.deepEqual(getPairLossEntry('circle').defaults, { margin: 0.25, gamma: 256 });
    assert.deepEqual(getPairLossEntry('ntxent').defaults, { temperature: 0.1 });
    assert.deepEqual(getPairLossEntry('supcon').defaults, { temperature: 0.1 });
    assert.deepEqual(getPairLossEntry('triplet').defaults, { margin: 0.2 });
    assert.match(getPairLossEntry('contrastive').paper, /Hadsell.*2006/);
    assert.match(getPairLossEntry('triplet').paper, /Schroff.*FaceNet.*2015/);
    assert.match(getPairLossEntry('npair').paper, /Sohn.*2016/);
    assert.match(getPairLossEntry('supcon').paper, /Khosla.*2020/);
    assert.match(getPairLossEntry('circle').paper, /Sun.*2020/);
  });

  it('validation names the field and value', () => {
    assert.throws(() => createPairLoss('arcface'), /unknown pair loss 'arcface'; registered pair losses: circle, contrastive/);
    assert.throws(() => createPairLoss('circle', { tau: 1 }), /unknown option 'tau' for pair loss 'circle'; allowed: margin, gamma/);
    assert.throws(() => createPairLoss('circle', { gamma: '1' }), /gamma must be a number for pair loss 'circle', got 1/);
    assert.throws(() => createPairLoss('circle', { gamma: 0 }), /gamma must be a positive number, got 0/);
    assert.throws(() => createPairLoss('circle', { margin: 2 }), /margin must be a number in \[0, 1\], got 2/);
    assert.throws(() => createPairLoss('ntxent', { temperature: -1 }), /temperature must be a positive number, got -1/);
    assert.throws(() => createPairLoss('contrastive', { margin: 3 }), /margin must be a number in \[0, 2\], got 3/);
    assert.throws(() => createPairLoss('triplet', { margin: -0.1 }), /margin must be a number >= 0, got -0.1/);
    assert.throws(() => registerPairLoss('circle', getPairLossEntry('circle')), /already registered/);
    assert.equal(createPairLoss('circle', { margin: undefined }).options.margin, 0.25);
  });
});

describe('pair losses: values against hand loops', () => {
  for (const [name, opts, ref] of REFS) {
    it(`${name} ${JSON.stringify(opts)}`, () => {
      const loss = createPairLoss(name, opts);
      const want = ref(X, Y);
      assert.ok(want > 0, 'the fixture gives a non-trivial loss');
      assertClose([compute(loss, X, Y)], [want], 1e-4, 1e-5, name);
    });
  }

  it('batches without pairs give 0 (and a zero gradient)', () => {
    for (const { name } of listPairLosses()) {
      const loss = createPairLoss(name);
      assert.equal(compute(loss, X.slice(0, 1), [0]), 0, name);
      if (name !== 'contrastive') assert.equal(compute(loss, X.slice(0, 3), [0, 1, 2]), 0, name);
      assert.ok(gradOf(loss, X.slice(0, 3), [0, 1, 2]).every(Number.isFinite), name);
    }
  });

  it('ntxent computeViews is SimCLR (and compute with pair labels equals it)', () => {
    const V1 = X.slice(0, 4);
    const V2 = fromAngles([10, 60, 100, 250].map((d) => d * deg), [1, 1, 2, 0.3]);
    const l = new NTXentLoss();
    const got = tf.tidy(() => l.computeViews(tf.tensor2d(V1), tf.tensor2d(V2)).dataSync()[0]);
    assertClose([got], [simclrLoop(V1, V2, 0.1)], 1e-4, 1e-5, 'simclr');
    assertClose([compute(l, [...V1, ...V2], [0, 1, 2, 3, 0, 1, 2, 3])], [got], 1e-6, 1e-6, 'labels = views');
    assert.throws(() => l.computeViews(tf.zeros([2, 2]) as tf.Tensor2D, tf.zeros([3, 2]) as tf.Tensor2D), /views must both be \[N, E\]/);
  });

  it('triplet mining picks the semi-hard negative, else the farthest (TF-Addons rule)', () => {
    // anchor 0 and positive 1 at 30 deg apart; negatives at 20 deg (hard), 60 deg (semi-hard), 150 deg
    const x = fromAngles([0, 30, 20, 60, 150].map((d) => d * deg), [1, 1, 1, 1, 1]);
    const y = [0, 0, 1, 1, 2];
    const t = createPairLoss('triplet', { margin: 0.5 });
    const d = (a: number): number => 2 - 2 * Math.cos(a * deg);
    // pairs (0,1) and (1,0): (0,1): D_ap = d(30), semi-hard = 60 deg; (1,0): D_ap = d(30), negatives at 10, 30, 120 deg
    // from sample 1: semi-hard = smallest D > d(30) = 120 deg
    const want = (Math.max(d(30) - d(60) + 0.5, 0) + Math.max(d(30) - d(120) + 0.5, 0)) / 2;
    assertClose([compute(t, x, y)], [want], 1e-4, 1e-6, 'triplet mining');
    assertClose([tripletLoop(x, y, 0.5)], [want], 1e-12, 1e-12, 'loop agrees');
  });
});

describe('pair losses: gradients against finite differences', () => {
  for (const [name, opts, ref] of REFS) {
    it(`${name} ${JSON.stringify(opts)}`, () => {
      const loss = createPairLoss(name, opts);
      const g = gradOf(loss, X, Y);
      let f = (x: Mat): number => ref(x, Y);
      if (name === 'circle') {
        // alpha is a constant in the implementation (and the paper): freeze it at X
        const A = simTable(X);
        f = (x) => circleLoop(x, Y, Number(loss.options.margin), Number(loss.options.gamma), A);
      }
      const fd = numericGrad(f, X);
      const big = Math.max(...fd.map(Math.abs));
      assert.ok(big > 0, 'non-trivial gradient');
      assertClose(g, fd, 2e-2, 2e-3 * big, `${name} dL/dx`);
    });
  }
});

describe('pair losses: registry-driven properties', () => {
  for (const { name } of listPairLosses()) {
    describe(name, () => {
      const B = 8, E = 4;
      const rng = new Rng(`${name}/data`);
      const rows = Array.from({ length: B }, () => Array.from({ length: E }, () => rng.normal()));
      const labels = [0, 0, 1, 1, 2, 2, 3, 3];

      it('scalar output, non-zero finite gradient, no tensor leak', () => {
        const loss = createPairLoss(name);
        assert.equal(loss.name, name);
        const x = tf.tensor2d(rows);
        const y = tf.tensor1d(labels, 'int32');
        const warm = loss.compute(x, y);
        assert.deepEqual(warm.shape, []);
        assert.ok(Number.isFinite(warm.dataSync()[0]));
        warm.dispose();
        const before = tf.memory().numTensors;
        const g = tf.grad((e: tf.Tensor) => loss.compute(e as tf.Tensor2D, y))(x);
        const gd = Array.from(g.dataSync());
        assert.ok(gd.every(Number.isFinite), 'finite gradient');
        assert.ok(Math.max(...gd.map(Math.abs)) > 0, 'non-zero gradient');
        g.dispose();
        loss.compute(x, y).dispose();
        assert.equal(tf.memory().numTensors, before, `${name} leaks tensors`);
        tf.dispose([x, y]);
      });

      it('no NaN/Inf at extreme cosines (+-1: identical, opposite, zero vectors)', () => {
        const loss = createPairLoss(name);
        const a = [1, 2, -1, 0.5];
        const b = [0.3, -1, 2, 1];
        const cases: Mat[] = [
          [a, a, a, a, a, a, a, a],
          [a, a, a.map((v) => -v), a.map((v) => -v), b, b, b.map((v) => -v), b.map((v) => -v)],
          [a, a.map((v) => v * 1e4), a.map((v) => -v), a, [0, 0, 0, 0], a, b, b.map((v) => -v)],
        ];
        for (const c of cases) {
          const y = tf.tensor1d(labels, 'int32');
          const x = tf.tensor2d(c);
          const v = loss.compute(x, y);
          const g = tf.grad((e: tf.Tensor) => loss.compute(e as tf.Tensor2D, y))(x);
          assert.ok(Number.isFinite(v.dataSync()[0]), `${name}: non-finite loss`);
          assert.ok(g.dataSync().every(Number.isFinite), `${name}: non-finite gradient`);
          tf.dispose([x, y, v, g]);
        }
      });

      it('rejects bad inputs', () => {
        const loss = createPairLoss(name);
        assert.throws(() => loss.compute(tf.ones([2, E]) as tf.Tensor2D, tf.tensor1d([0], 'int32')), /labels must be \[2\]/);
        assert.throws(() => loss.compute(tf.ones([2, E]) as tf.Tensor2D, tf.tensor1d([0, -1], 'int32')), /non-negative integers, got -1 at index 1/);
      });
    });
  }
});
