// Gradient kernels added to wasm, checked against tfjs' own cpu kernels on identical random inputs.
//
// Error measure: max |wasm - cpu| / max |cpu| over each gradient tensor (relative to the largest reference
// magnitude, so near-zero entries do not blow up the ratio); every case must stay below TOLERANCE.
import { strict as assert } from 'assert';
import * as tf from '@tensorflow/tfjs';
import { initBackend, registerWasmGradientKernels, WASM_GRADIENT_KERNELS } from '../../src/backends';
import { Rng } from '../../src/util/rng';

const TOLERANCE = 1e-4;

type Shape4 = [number, number, number, number];
type PadArg = 'same' | 'valid' | number;

function randn(rng: Rng, n: number): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = rng.normal();
  return a;
}

const size = (s: readonly number[]): number => s.reduce((a, b) => a * b, 1);

/** Runs `fn` on the given tfjs backend, returning plain arrays; the previously active backend is restored. */
async function onBackend(name: string, fn: () => Float32Array[]): Promise<Float32Array[]> {
  const prev = tf.getBackend();
  assert.ok(await tf.setBackend(name), `could not switch to ${name}`);
  try {
    return fn();
  } finally {
    await tf.setBackend(prev);
  }
}

/** Computes `fn` on wasm and on cpu and asserts every output agrees within TOLERANCE. */
async function compareWasmToCpu(label: string, fn: () => Float32Array[]): Promise<void> {
  assertClose(label, await onBackend('wasm', fn), await onBackend('cpu', fn));
}

/** Asserts max |got - want| / max |want| < TOLERANCE for every output. */
function assertClose(label: string, got: Float32Array[], want: Float32Array[]): void {
  assert.equal(got.length, want.length);
  for (let k = 0; k < want.length; k++) {
    assert.equal(got[k].length, want[k].length, `${label}: output ${k} length`);
    let maxRef = 0;
    let maxDiff = 0;
    for (let i = 0; i < want[k].length; i++) {
      maxRef = Math.max(maxRef, Math.abs(want[k][i]));
      maxDiff = Math.max(maxDiff, Math.abs(got[k][i] - want[k][i]));
    }
    assert.ok(Number.isFinite(maxDiff), `${label}: output ${k} has non-finite values`);
    const rel = maxDiff / Math.max(maxRef, 1e-12);
    assert.ok(rel < TOLERANCE, `${label}: output ${k} relative error ${rel.toExponential(2)} >= ${TOLERANCE}`);
  }
}

/** Gradients of sum(op(x, w) * r) w.r.t. x and w, r a fixed random tensor shaped like the output. */
function gradsOf(
  op: (x: tf.Tensor4D, w: tf.Tensor4D) => tf.Tensor4D,
  xData: Float32Array, xShape: Shape4, wData: Float32Array, wShape: Shape4, rSeed: number,
): () => Float32Array[] {
  return () => tf.tidy(() => {
    const x = tf.tensor4d(xData, xShape);
    const w = tf.tensor4d(wData, wShape);
    const outShape = tf.tidy(() => op(x, w).shape);
    const r = tf.tensor(randn(new Rng(rSeed), size(outShape)), outShape);
    const g = tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(op(a as tf.Tensor4D, b as tf.Tensor4D), r)));
    const [dx, dw] = g([x, w]);
    return [dx.dataSync() as Float32Array, dw.dataSync() as Float32Array];
  });
}

describe('backends/wasm-kernels', () => {
  before(async () => {
    registerWasmGradientKernels();
    assert.ok(await tf.setBackend('wasm'));
  });

  after(async () => {
    // Back to what test/setup.ts selected (wasm unless COREFACE_BACKEND says otherwise).
    await initBackend({ quiet: true });
  });

  describe('registration', () => {
    it('registers the four kernels for wasm and is idempotent', () => {
      registerWasmGradientKernels();
      registerWasmGradientKernels();
      for (const k of WASM_GRADIENT_KERNELS) {
        assert.ok(tf.getKernel(k, 'wasm') != null, `${k} not registered for wasm`);
      }
      assert.deepEqual([...WASM_GRADIENT_KERNELS].sort(), [
        'Conv2DBackpropFilter', 'DepthwiseConv2dNativeBackpropFilter', 'DepthwiseConv2dNativeBackpropInput',
        'UnsortedSegmentSum']);
    });
  });

  const shapes: Array<{ x: Shape4; cout: number }> = [
    { x: [1, 7, 9, 3], cout: 4 },
    { x: [3, 8, 8, 5], cout: 6 },
    { x: [3, 11, 10, 2], cout: 3 },
  ];
  const kernels = [1, 3, 5];
  const strides = [1, 2];
  const pads: PadArg[] = ['same', 'valid', 1];

  describe('conv2d gradients (x and filter) match cpu', () => {
    for (const { x: xShape, cout } of shapes) {
      for (const k of kernels) {
        it(`x [${xShape}] -> ${cout}, ${k}x${k}, strides 1/2 x pads same/valid/1`, async () => {
          const rng = new Rng(`conv-${xShape}-${k}`);
          const wShape: Shape4 = [k, k, xShape[3], cout];
          const xData = randn(rng, size(xShape));
          const wData = randn(rng, size(wShape));
          for (const s of strides) {
            for (const p of pads) {
              const label = `conv2d x[${xShape}] f[${wShape}] s${s} pad ${p}`;
              await compareWasmToCpu(label, gradsOf((a, b) => tf.conv2d(a, b, s, p), xData, xShape, wData, wShape, 11));
            }
          }
        });
      }
    }
    it('explicit padding and dimRoundingMode', async () => {
      const rng = new Rng('conv-explicit');
      const xShape: Shape4 = [2, 9, 7, 3];
      const wShape: Shape4 = [3, 3, 3, 4];
      const xData = randn(rng, size(xShape));
      const wData = randn(rng, size(wShape));
      const explicit: tf.backend_util.ExplicitPadding = [[0, 0], [1, 2], [0, 1], [0, 0]];
      await compareWasmToCpu('conv2d explicit pad s1',
        gradsOf((a, b) => tf.conv2d(a, b, 1, explicit), xData, xShape, wData, wShape, 12));
      await compareWasmToCpu('conv2d explicit pad s2',
        gradsOf((a, b) => tf.conv2d(a, b, 2, explicit), xData, xShape, wData, wShape, 13));
      for (const mode of ['floor', 'round', 'ceil'] as const) {
        await compareWasmToCpu(`conv2d pad 1 s2 ${mode}`,
          gradsOf((a, b) => tf.conv2d(a, b, 2, 1, 'NHWC', 1, mode), xData, xShape, wData, wShape, 14));
      }
    });
  });

  const dwShapes: Shape4[] = [[1, 7, 9, 3], [3, 8, 8, 4], [2, 10, 11, 2]];
  describe('depthwiseConv2d gradients (x and filter) match cpu', () => {
    for (const xShape of dwShapes) {
      for (const k of kernels) {
        it(`x [${xShape}], ${k}x${k}, multiplier 1/2 x strides 1/2 x pads same/valid/1`, async () => {
          const rng = new Rng(`dw-${xShape}-${k}`);
          const xData = randn(rng, size(xShape));
          for (const m of [1, 2]) {
            const wShape: Shape4 = [k, k, xShape[3], m];
            const wData = randn(rng, size(wShape));
            for (const s of strides) {
              for (const p of pads) {
                const label = `depthwiseConv2d x[${xShape}] f[${wShape}] s${s} pad ${p}`;
                await compareWasmToCpu(label,
                  gradsOf((a, b) => tf.depthwiseConv2d(a, b, s, p), xData, xShape, wData, wShape, 21));
              }
            }
          }
        });
      }
    }
    it('explicit padding and dimRoundingMode', async () => {
      const rng = new Rng('dw-explicit');
      const xShape: Shape4 = [2, 9, 7, 3];
      const wShape: Shape4 = [3, 3, 3, 2];
      const xData = randn(rng, size(xShape));
      const wData = randn(rng, size(wShape));
      const explicit: tf.backend_util.ExplicitPadding = [[0, 0], [2, 0], [1, 1], [0, 0]];
      await compareWasmToCpu('depthwise explicit pad s1',
        gradsOf((a, b) => tf.depthwiseConv2d(a, b, 1, explicit), xData, xShape, wData, wShape, 22));
      for (const mode of ['floor', 'round', 'ceil'] as const) {
        await compareWasmToCpu(`depthwise pad 1 s2 ${mode}`,
          gradsOf((a, b) => tf.depthwiseConv2d(a, b, 2, 1, 'NHWC', 1, mode), xData, xShape, wData, wShape, 23));
      }
    });
  });

  describe('kernels invoked directly (attrs tfjs gradients never send)', () => {
    const run = (name: string, inputs: Record<string, tf.Tensor>, attrs: Record<string, unknown>): Float32Array =>
      (tf.engine().runKernel(name, inputs as tf.NamedTensorMap, attrs as tf.NamedAttrMap) as tf.Tensor)
        .dataSync() as Float32Array;

    it('depthwise backprop filter/input with dilation 2 (stride 1 and stride 2)', async () => {
      // tfjs' cpu depthwise backprop kernels ignore dilations, so the reference is the equivalent undilated
      // problem on cpu: the filter spread out to ((k - 1) * d + 1)^2 with zeros, whose filter gradient is then
      // read back at the taps (i * d, j * d).
      const rng = new Rng('dw-dilated');
      const xShape: Shape4 = [2, 11, 9, 3];
      const [k, c, m, d] = [3, 3, 2, 2];
      const kd = (k - 1) * d + 1;
      const filterShape: Shape4 = [k, k, c, m];
      const spreadShape: Shape4 = [kd, kd, c, m];
      const xData = randn(rng, size(xShape));
      const fData = randn(rng, size(filterShape));
      const spread = new Float32Array(size(spreadShape));
      for (let i = 0; i < k; i++) {
        for (let j = 0; j < k; j++) {
          for (let q = 0; q < c * m; q++) spread[((i * d) * kd + j * d) * c * m + q] = fData[(i * k + j) * c * m + q];
        }
      }
      for (const s of [1, 2]) {
        for (const pad of ['same', 'valid', 2] as const) {
          const info = tf.backend_util.computeConv2DInfo(xShape, filterShape, s, d, pad, undefined, true);
          const dyData = randn(rng, size(info.outShape));
          const label = `depthwise backprop s${s} d${d} pad ${pad}`;
          const got = await onBackend('wasm', () => tf.tidy(() => {
            const x = tf.tensor4d(xData, xShape);
            const dy = tf.tensor4d(dyData, info.outShape);
            const attrs = { strides: s, dilations: d, pad };
            return [
              run('DepthwiseConv2dNativeBackpropFilter', { x, dy }, { ...attrs, filterShape }),
              run('DepthwiseConv2dNativeBackpropInput', { dy, filter: tf.tensor4d(fData, filterShape) },
                { ...attrs, inputShape: xShape }),
            ];
          }));
          const want = await onBackend('cpu', () => tf.tidy(() => {
            const x = tf.tensor4d(xData, xShape);
            const dy = tf.tensor4d(dyData, info.outShape);
            const attrs = { strides: s, dilations: 1, pad };
            const gSpread = run('DepthwiseConv2dNativeBackpropFilter', { x, dy }, { ...attrs, filterShape: spreadShape });
            const gFilter = new Float32Array(size(filterShape));
            for (let i = 0; i < k; i++) {
              for (let j = 0; j < k; j++) {
                for (let q = 0; q < c * m; q++) gFilter[(i * k + j) * c * m + q] = gSpread[((i * d) * kd + j * d) * c * m + q];
              }
            }
            return [
              gFilter,
              run('DepthwiseConv2dNativeBackpropInput', { dy, filter: tf.tensor4d(spread, spreadShape) },
                { ...attrs, inputShape: xShape }),
            ];
          }));
          assertClose(label, got, want);
        }
      }
    });

    it('Conv2DBackpropFilter with NCHW data', async () => {
      const rng = new Rng('conv-nchw');
      const xNhwc: Shape4 = [2, 7, 9, 3];
      const filterShape: Shape4 = [3, 3, 3, 4];
      const info = tf.backend_util.computeConv2DInfo(xNhwc, filterShape, 2, 1, 'same');
      const xData = randn(rng, size(xNhwc));
      const dyData = randn(rng, size(info.outShape));
      const attrs = { strides: 2, pad: 'same', dimRoundingMode: undefined, filterShape };
      // The NHWC result on cpu is the reference for the NCHW call on wasm.
      const want = await onBackend('cpu', () => tf.tidy(() => [run('Conv2DBackpropFilter',
        { x: tf.tensor4d(xData, xNhwc), dy: tf.tensor4d(dyData, info.outShape) }, { ...attrs, dataFormat: 'NHWC' })]));
      const got = await onBackend('wasm', () => tf.tidy(() => [run('Conv2DBackpropFilter', {
        x: tf.transpose(tf.tensor4d(xData, xNhwc), [0, 3, 1, 2]),
        dy: tf.transpose(tf.tensor4d(dyData, info.outShape), [0, 3, 1, 2]),
      }, { ...attrs, dataFormat: 'NCHW' })]));
      const maxRef = Math.max(...want[0].map(Math.abs));
      const maxDiff = Math.max(...want[0].map((v, i) => Math.abs(v - got[0][i])));
      assert.ok(maxDiff / maxRef < TOLERANCE, `relative error ${maxDiff / maxRef}`);
    });
  });

  describe('gather / unsortedSegmentSum match cpu', () => {
    it('gradient of tf.gather w.r.t. params (axis 0 and 1, 1-D and 2-D indices, duplicates)', async () => {
      const rng = new Rng('gather');
      const cases: Array<{ params: number[]; indices: number[]; idxShape: number[]; axis: number }> = [
        { params: [10, 4], indices: [3, 1, 3, 9, 0, 3], idxShape: [6], axis: 0 },
        { params: [7, 3, 2], indices: [6, 6, 2, 0], idxShape: [2, 2], axis: 0 },
        { params: [5, 8, 3], indices: [7, 0, 7, 1, 4], idxShape: [5], axis: 1 },
        { params: [1000, 16], indices: Array.from({ length: 64 }, () => rng.int(1000)), idxShape: [64], axis: 0 },
      ];
      for (const c of cases) {
        const pData = randn(rng, size(c.params));
        await compareWasmToCpu(`gather grad params [${c.params}] axis ${c.axis}`, () => tf.tidy(() => {
          const params = tf.tensor(pData, c.params);
          const idx = tf.tensor(c.indices, c.idxShape, 'int32');
          const outShape = tf.tidy(() => tf.gather(params, idx, c.axis).shape);
          const r = tf.tensor(randn(new Rng(31), size(outShape)), outShape);
          const g = tf.grad((p: tf.Tensor) => tf.sum(tf.mul(tf.gather(p, idx, c.axis), r)));
          return [g(params).dataSync() as Float32Array];
        }));
      }
    });

    it('tf.unsortedSegmentSum forward (float, int32, negative ids) and its gradient', async () => {
      const rng = new Rng('segsum');
      const data = randn(rng, 6 * 5 * 2);
      const ids = [2, 0, 2, -1, 3, 0];
      await compareWasmToCpu('unsortedSegmentSum', () => tf.tidy(() => {
        const x = tf.tensor3d(data, [6, 5, 2]);
        const id = tf.tensor1d(ids, 'int32');
        const fwd = tf.unsortedSegmentSum(x, id, 4);
        const xi = tf.tensor2d([1, 2, 3, 4, 5, 6, 7, 8], [4, 2], 'int32');
        const fwdInt = tf.cast(tf.unsortedSegmentSum(xi, tf.tensor1d([1, 1, 0, 1], 'int32'), 2), 'float32');
        const g = tf.grad((a: tf.Tensor) => tf.sum(tf.square(tf.unsortedSegmentSum(a, id, 4))))(x);
        return [fwd, fwdInt, g].map((t) => t.dataSync() as Float32Array);
      }));
    });

    it('UnsortedSegmentSum with 2-D segment ids equals the flattened problem (cpu cannot run it)', () => {
      tf.tidy(() => {
        const x = tf.tensor3d(randn(new Rng('segsum2d'), 2 * 3 * 10), [2, 3, 10]);
        const ids = [4, 0, 2, 4, -1, 0];
        // The op's typing says 1-D ids; the kernel (like TF) accepts any leading shape of x.
        const ids2d = tf.tensor2d(ids, [2, 3], 'int32') as unknown as tf.Tensor1D;
        const got = tf.unsortedSegmentSum(x, ids2d, 5);
        assert.deepEqual(got.shape, [5, 10]);
        const want = tf.unsortedSegmentSum(tf.reshape(x, [6, 10]), tf.tensor1d(ids, 'int32'), 5);
        assert.ok(tf.max(tf.abs(tf.sub(got, want))).dataSync()[0] < 1e-6);
        const row4 = tf.add(tf.slice(x, [0, 0, 0], [1, 1, 10]), tf.slice(x, [1, 0, 0], [1, 1, 10]));
        assert.ok(tf.max(tf.abs(tf.sub(tf.slice(got, [4, 0], [1, 10]), tf.reshape(row4, [1, 10])))).dataSync()[0] < 1e-6);
      });
    });
  });

  describe('training on wasm', () => {
    it('runs a small conv -> BN-like -> depthwise -> mean step with tf.variableGrads, matching cpu, leak-free', async () => {
      const rng = new Rng('train');
      const xData = randn(rng, 4 * 12 * 12 * 3);
      const w1Data = randn(rng, 3 * 3 * 3 * 8).map((v) => v * 0.3);
      const w2Data = randn(rng, 3 * 3 * 8 * 2).map((v) => v * 0.3);
      const emb = randn(rng, 10 * 16);
      const step = (): Float32Array[] => {
        const vars = {
          w1: tf.variable(tf.tensor4d(w1Data, [3, 3, 3, 8]), true, 'test/w1'),
          gamma: tf.variable(tf.ones([8]), true, 'test/gamma'),
          beta: tf.variable(tf.zeros([8]), true, 'test/beta'),
          w2: tf.variable(tf.tensor4d(w2Data, [3, 3, 8, 2]), true, 'test/w2'),
          table: tf.variable(tf.tensor2d(emb, [10, 16]), true, 'test/table'),
        };
        try {
          const before = tf.memory().numTensors;
          const out = tf.tidy(() => {
            const x = tf.tensor4d(xData, [4, 12, 12, 3]);
            const labels = tf.tensor1d([1, 7, 1, 3], 'int32');
            const { value, grads } = tf.variableGrads(() => {
              const h = tf.conv2d(x, vars.w1, 1, 'same');
              const { mean, variance } = tf.moments(h, [0, 1, 2]);
              const hn = tf.add(tf.mul(tf.div(tf.sub(h, mean), tf.sqrt(tf.add(variance, 1e-5))), vars.gamma), vars.beta);
              const d = tf.depthwiseConv2d(tf.relu(hn) as tf.Tensor4D, vars.w2, 2, 'same'); // [4, 6, 6, 16]
              const feat = tf.mean(d, [1, 2]) as tf.Tensor2D; // [4, 16]
              const rows = tf.gather(vars.table, labels); // [4, 16]
              return tf.mean(tf.square(tf.sub(feat, rows))) as tf.Scalar;
            });
            const names = Object.keys(grads).sort();
            assert.deepEqual(names, ['test/beta', 'test/gamma', 'test/table', 'test/w1', 'test/w2']);
            const arrays = [value, ...names.map((n) => grads[n])].map((t) => t.dataSync() as Float32Array);
            for (const a of arrays) assert.ok(a.every(Number.isFinite));
            return arrays;
          });
          assert.equal(tf.memory().numTensors, before, 'training step leaked tensors');
          return out;
        } finally {
          for (const v of Object.values(vars)) v.dispose();
        }
      };
      await compareWasmToCpu('training step', step);
    });
  });

  describe('memory', () => {
    it('kernels and their gradients leave numTensors and data buffers unchanged', () => {
      const x = tf.randomNormal([2, 9, 7, 4], 0, 1, 'float32', 1) as tf.Tensor4D;
      const w = tf.randomNormal([3, 3, 4, 5], 0, 1, 'float32', 2) as tf.Tensor4D;
      const wd = tf.randomNormal([3, 3, 4, 2], 0, 1, 'float32', 3) as tf.Tensor4D;
      const idx = tf.tensor1d([0, 1, 1, 0], 'int32');
      const ids2 = tf.tensor1d([2, 0], 'int32');
      const before = tf.memory();
      for (let rep = 0; rep < 2; rep++) {
        const gs = tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, 2, 'same')))([x, w]);
        const gd = tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.depthwiseConv2d(a as tf.Tensor4D, b as tf.Tensor4D, 2, 'valid')))([x, wd]);
        const gg = tf.grad((p: tf.Tensor) => tf.sum(tf.gather(p, idx)))(x);
        const direct = tf.engine().runKernel('UnsortedSegmentSum', { x, segmentIds: ids2 }, { numSegments: 3 }) as tf.Tensor;
        tf.dispose([...gs, ...gd, gg, direct]);
      }
      const after = tf.memory();
      assert.equal(after.numTensors, before.numTensors);
      assert.equal(after.numDataBuffers, before.numDataBuffers);
      tf.dispose([x, w, wd, idx, ids2]);
    });
  });
});
