import { strict as assert } from 'assert';
import * as tf from '@tensorflow/tfjs';
import { batchNorm, BatchNormParams, conv2d, convOutSize, createPrelu, dense, dropout, prelu } from '../../src/models/ops';
import { ParamStore } from '../../src/models/params';
import { assertNoLeak, data, onCpu, relErr, values } from './helpers';

type Grads = { y: Float32Array; gx: Float32Array; gw: Float32Array };

/** Value and gradients of sum(f(x, w) * r) for fixed x, w, r given as plain arrays. */
function lossGrads(
  f: (x: tf.Tensor, w: tf.Tensor) => tf.Tensor,
  x: [Float32Array, number[]],
  w: [Float32Array, number[]],
  rSeed: number,
): Grads {
  return tf.tidy(() => {
    const xt = tf.tensor(x[0], x[1]);
    const wt = tf.tensor(w[0], w[1]);
    const y = f(xt, wt);
    const r = tf.tensor(data(y.size, rSeed), y.shape);
    const g = tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(f(a, b), r)));
    const [gx, gw] = g([xt, wt]);
    return { y: values(y), gx: values(gx), gw: values(gw) };
  });
}

describe('models/ops', () => {
  describe('conv2d (custom gradient)', () => {
    const cases: [number[], number, number, number, number | undefined][] = [
      // [x shape], cout, k, stride, pad
      [[2, 8, 8, 3], 4, 3, 1, undefined],
      [[2, 8, 8, 3], 4, 3, 2, undefined],
      [[2, 7, 9, 3], 5, 3, 2, 1],
      [[3, 6, 6, 4], 2, 1, 2, 0],
      [[2, 9, 7, 2], 3, 1, 2, 0],
      [[1, 5, 5, 2], 3, 3, 1, 0],
      [[2, 10, 10, 3], 2, 5, 2, 2],
    ];
    for (const [xs, cout, k, s, p] of cases) {
      it(`matches tfjs values and gradients: x [${xs}] k${k} s${s} pad ${p ?? 'default'}`, async () => {
        const x: [Float32Array, number[]] = [data(xs.reduce((a, b) => a * b), 1), xs];
        const ws = [k, k, xs[3], cout];
        const w: [Float32Array, number[]] = [data(ws.reduce((a, b) => a * b), 2), ws];
        const pad = p ?? Math.floor((k - 1) / 2);
        const ref = await onCpu(() =>
          lossGrads((a, b) => tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, s, pad), x, w, 3),
        );
        const ours = lossGrads((a, b) => conv2d(a as tf.Tensor4D, b as tf.Tensor4D, s, p), x, w, 3);
        assert.ok(relErr(ours.y, ref.y) < 1e-5, 'forward');
        assert.ok(relErr(ours.gx, ref.gx) < 1e-4, `dx rel err ${relErr(ours.gx, ref.gx)}`);
        assert.ok(relErr(ours.gw, ref.gw) < 1e-4, `dw rel err ${relErr(ours.gw, ref.gw)}`);
      });
    }
    it('computes output sizes like PyTorch padding=k//2', () => {
      assert.equal(convOutSize(32, 3, 2), 16);
      assert.equal(convOutSize(31, 3, 2), 16);
      assert.equal(convOutSize(32, 1, 2, 0), 16);
      assert.equal(convOutSize(7, 3, 1), 7);
    });
    it('rejects bad strides and pads', () => {
      const x = tf.zeros([1, 4, 4, 1]) as tf.Tensor4D;
      const w = tf.zeros([3, 3, 1, 1]) as tf.Tensor4D;
      assert.throws(() => conv2d(x, w, 0), /stride must be a positive integer, got 0/);
      assert.throws(() => conv2d(x, w, 1, 3), /pad must be an integer in \[0, 2\], got 3/);
      tf.dispose([x, w]);
    });
  });

  describe('batchNorm', () => {
    function params(c: number, frozenGamma = false): BatchNormParams {
      return {
        gamma: frozenGamma ? null : tf.variable(tf.tensor1d(data(c, 11).map((v) => 1 + 0.5 * v))),
        beta: tf.variable(tf.tensor1d(data(c, 12))),
        runningMean: tf.variable(tf.zeros([c]), false),
        runningVar: tf.variable(tf.ones([c]), false),
      };
    }
    const disposeParams = (p: BatchNormParams): void => tf.dispose([p.gamma, p.beta, p.runningMean, p.runningVar].filter((v): v is tf.Variable => v !== null));

    for (const shape of [[6, 5], [3, 4, 4, 3]]) {
      for (const frozen of [false, true]) {
        it(`training: normalises and matches autodiff gradients (shape [${shape}], frozen gamma ${frozen})`, async () => {
          const c = shape[shape.length - 1];
          const n = shape.reduce((a, b) => a * b) / c;
          const xData = data(n * c, 5).map((v, i) => 3 * v + (i % c));
          const r = data(n * c, 6);
          const gammaData = data(c, 11).map((v) => 1 + 0.5 * v);
          // reference: plain ops through tf.moments, differentiated by tfjs (cpu)
          const ref = await onCpu(() =>
            tf.tidy(() => {
              const x = tf.tensor(xData, shape);
              const g = tf.tensor1d(frozen ? new Float32Array(c).fill(1) : gammaData);
              const b = tf.tensor1d(data(c, 12));
              const f = (a: tf.Tensor, gg: tf.Tensor, bb: tf.Tensor): tf.Tensor => {
                const m = tf.moments(a, shape.map((_, i) => i).slice(0, -1));
                return tf.add(tf.mul(tf.div(tf.sub(a, m.mean), tf.sqrt(tf.add(m.variance, 1e-5))), gg), bb);
              };
              const y = f(x, g, b);
              const [gx, gg, gb] = tf.grads((a: tf.Tensor, gg2: tf.Tensor, bb: tf.Tensor) =>
                tf.sum(tf.mul(f(a, gg2, bb), tf.tensor(r, shape))),
              )([x, g, b]);
              return { y: values(y), gx: values(gx), gg: values(gg), gb: values(gb) };
            }),
          );
          const p = params(c, frozen);
          const x = tf.tensor(xData, shape);
          const rt = tf.tensor(r, shape);
          const vars = [p.gamma, p.beta].filter((v): v is tf.Variable => v !== null);
          const out = tf.tidy(() => {
            const y = values(batchNorm(x, p, { training: true }));
            const { grads } = tf.variableGrads(() => tf.sum(tf.mul(batchNorm(x, p, { training: true }), rt)) as tf.Scalar, vars);
            const gx = values(tf.grad((a: tf.Tensor) => tf.sum(tf.mul(batchNorm(a, p, { training: true }), rt)))(x));
            return { y, gx, gg: p.gamma ? values(grads[p.gamma.name]) : new Float32Array(0), gb: values(grads[p.beta.name]) };
          });
          assert.ok(relErr(out.y, ref.y) < 1e-5, 'forward');
          assert.ok(relErr(out.gx, ref.gx) < 1e-4, `dx rel err ${relErr(out.gx, ref.gx)}`);
          assert.ok(relErr(out.gb, ref.gb) < 1e-5, 'dbeta');
          if (!frozen) assert.ok(relErr(out.gg, ref.gg) < 1e-4, `dgamma rel err ${relErr(out.gg, ref.gg)}`);
          tf.dispose([x, rt]);
          disposeParams(p);
        });
      }
    }

    it('updates running statistics like PyTorch (momentum 0.1, unbiased variance) only in training', () => {
      const p = params(2);
      const x = tf.tensor2d([[1, 10], [3, 20], [5, 60]]);
      tf.tidy(() => { batchNorm(x, p, { training: false }); });
      assert.deepEqual(values(p.runningMean), new Float32Array([0, 0]));
      tf.tidy(() => { batchNorm(x, p, { training: true }); });
      const mean = [3, 30];
      const unbiasedVar = [4, ((20 * 20) + (10 * 10) + (30 * 30)) / 2];
      assert.ok(relErr(values(p.runningMean), mean.map((m) => 0.1 * m)) < 1e-6);
      assert.ok(relErr(values(p.runningVar), unbiasedVar.map((v) => 0.9 + 0.1 * v)) < 1e-6);
      // inference uses the running statistics
      const y = tf.tidy(() => values(batchNorm(x, p, { training: false })));
      const g = values(p.gamma as tf.Variable);
      const b = values(p.beta);
      const rm = values(p.runningMean);
      const rv = values(p.runningVar);
      const expect = [1, 10, 3, 20, 5, 60].map((v, i) => ((v - rm[i % 2]) / Math.sqrt(rv[i % 2] + 1e-5)) * g[i % 2] + b[i % 2]);
      assert.ok(relErr(y, expect) < 1e-5);
      x.dispose();
      disposeParams(p);
    });

    it('does not leak tensors (forward and gradient, both modes)', () => {
      const p = params(3);
      const x = tf.tensor(data(2 * 3 * 3 * 3, 9), [2, 3, 3, 3]);
      assertNoLeak('batchNorm', () => {
        for (const training of [true, false]) {
          tf.tidy(() => { batchNorm(x, p, { training }); });
          const { value, grads } = tf.variableGrads(() => tf.sum(tf.square(batchNorm(x, p, { training }))) as tf.Scalar, [p.beta, p.gamma as tf.Variable]);
          tf.dispose([value, ...Object.values(grads)]);
        }
      });
      x.dispose();
      disposeParams(p);
    });

    it('rejects a single value per channel in training mode', () => {
      const p = params(2);
      const x = tf.zeros([1, 2]);
      assert.throws(() => batchNorm(x, p, { training: true }), /more than one value per channel/);
      x.dispose();
      disposeParams(p);
    });
  });

  describe('prelu and dense (custom gradients)', () => {
    it('prelu matches tfjs values and gradients', async () => {
      const xs = [2, 3, 3, 4];
      const x: [Float32Array, number[]] = [data(72, 21), xs];
      const a: [Float32Array, number[]] = [Float32Array.from([0.25, -0.5, 1.5, 0]), [4]];
      const ref = await onCpu(() => lossGrads((u, v) => tf.prelu(u, v), x, a, 22));
      const ours = lossGrads((u, v) => prelu(u, v), x, a, 22);
      assert.ok(relErr(ours.y, ref.y) < 1e-6);
      assert.ok(relErr(ours.gx, ref.gx) < 1e-5);
      assert.ok(relErr(ours.gw, ref.gw) < 1e-5);
    });
    it('createPrelu initialises the slopes to 0.25 (trainable)', () => {
      const store = new ParamStore();
      const a = createPrelu(store, 'p', 3);
      assert.deepEqual(values(a), new Float32Array([0.25, 0.25, 0.25]));
      assert.ok(store.trainable().has('p'));
      store.dispose();
    });
    it('dense matches tfjs values and gradients', async () => {
      const x: [Float32Array, number[]] = [data(15, 31), [3, 5]];
      const w: [Float32Array, number[]] = [data(10, 32), [5, 2]];
      const ref = await onCpu(() => lossGrads((u, v) => tf.matMul(u as tf.Tensor2D, v as tf.Tensor2D), x, w, 33));
      const ours = lossGrads((u, v) => dense(u as tf.Tensor2D, v as tf.Tensor2D), x, w, 33);
      assert.ok(relErr(ours.y, ref.y) < 1e-6);
      assert.ok(relErr(ours.gx, ref.gx) < 1e-5);
      assert.ok(relErr(ours.gw, ref.gw) < 1e-5);
    });
  });

  describe('dropout', () => {
    it('p = 0 is the identity', () => {
      const x = tf.ones([4, 4]);
      assert.equal(dropout(x, 0, 1), x);
      x.dispose();
    });
    it('is inverted dropout: kept entries scaled by 1/(1-p), mean preserved, seeded', () => {
      const x = tf.ones([200, 100]);
      const p = 0.6;
      const a = tf.tidy(() => values(dropout(x, p, 42)));
      const b = tf.tidy(() => values(dropout(x, p, 42)));
      const c = tf.tidy(() => values(dropout(x, p, 43)));
      assert.deepEqual(a, b, 'same seed -> same mask');
      assert.notDeepEqual(a, c, 'different seed -> different mask');
      let kept = 0;
      let sum = 0;
      for (const v of a) {
        assert.ok(v === 0 || Math.abs(v - 1 / (1 - p)) < 1e-6, `value ${v}`);
        if (v !== 0) kept++;
        sum += v;
      }
      assert.ok(Math.abs(kept / a.length - (1 - p)) < 0.02, `keep rate ${kept / a.length}`);
      assert.ok(Math.abs(sum / a.length - 1) < 0.05, `mean ${sum / a.length}`);
      x.dispose();
    });
    it('rejects bad probabilities', () => {
      const x = tf.ones([2]);
      assert.throws(() => dropout(x, 1, 1), /dropout must be a number in \[0, 1\), got 1/);
      assert.throws(() => dropout(x, -0.1, 1), /got -0.1/);
      x.dispose();
    });
  });
});
