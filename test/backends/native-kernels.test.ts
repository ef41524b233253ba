// Native kernels (native/coreface_native.cc through src/backends/native-kernels.ts) against tfjs' own cpu
// kernels on identical random inputs: forward values and gradients (tf.grads, so the backprop kernels run).
//
// Error measure: max |native - cpu| / max |cpu| per output tensor, below 1e-4 (issue 5: "gradients within 1e-4
// of the reference backend"). Without the addon the suite is skipped, except under CI=true where it must exist
// (`npm run setup` builds it).
import { strict as assert } from 'assert';
import * as tf from '@tensorflow/tfjs';
import {
  disableNativeKernels,
  enableNativeKernels,
  DROPOUT_KERNEL,
  NATIVE_KERNELS,
  nativeConvCalls,
  nativeKernelsActive,
  nativeKernelsStatus,
  setNativeColumnBudget,
  setNativeConvEngine,
} from '../../src/backends';
import type { NativeConvEngine } from '../../src/backends';
import { batchNorm, batchNormPrelu, conv2d as libConv2d, dense, dropout, prelu } from '../../src/models/ops';
import { ParamStore } from '../../src/models/params';
import { Rng } from '../../src/util/rng';
import { compare, maxRelErr, randn, requireNativeKernels, tfjsDropout, TOLERANCE } from './compare';

const size = (s: readonly number[]): number => s.reduce((a, b) => a * b, 1);

/** Value of f(x, w) and the gradients of sum(f(x, w) * r) w.r.t. x and w, r a fixed random tensor. */
function valueAndGrads(f: (x: tf.Tensor, w: tf.Tensor) => tf.Tensor, xs: number[], ws: number[], seed: number): () => Float32Array[] {
  const rng = new Rng(`native/${seed}`);
  const xd = randn(rng, size(xs));
  const wd = randn(rng, size(ws));
  return () => tf.tidy(() => {
    const x = tf.tensor(xd, xs);
    const w = tf.tensor(wd, ws);
    const y = f(x, w);
    const r = tf.tensor(randn(new Rng(`native/r/${seed}`), y.size), y.shape);
    const [dx, dw] = tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(f(a, b), r)))([x, w]);
    return [y.dataSync() as Float32Array, dx.dataSync() as Float32Array, dw.dataSync() as Float32Array];
  });
}

/** The convolution engines this build has: always im2col + BLAS, and oneDNN when built with it. */
function engines(): NativeConvEngine[] {
  return nativeKernelsStatus()?.dnnl ? ['onednn', 'blas'] : ['blas'];
}

/** Runs `fn` with the given convolution engine selected, and checks that it ran `fn`'s convolutions. */
async function withEngine(engine: NativeConvEngine, fn: () => Promise<void>): Promise<void> {
  const prev = setNativeConvEngine(engine);
  const before = nativeConvCalls();
  try {
    await fn();
  } finally {
    setNativeConvEngine(prev);
  }
  const after = nativeConvCalls();
  assert.ok(after[engine] > before[engine], `the ${engine} engine ran the convolutions`);
  if (engine === 'onednn') assert.equal(after.blas, before.blas, 'no convolution fell back to im2col');
}

describe('backends: native kernels (oneDNN / im2col + OpenBLAS) match the cpu backend', function () {
  before(async function () {
    await requireNativeKernels(this);
  });
  afterEach(() => {
    enableNativeKernels(); // a test that turned them off gets them back
  });

  const convCases: { xs: number[]; ws: number[]; stride: number | [number, number]; pad: 'same' | 'valid' | number; dil?: number }[] = [
    { xs: [2, 7, 7, 3], ws: [3, 3, 3, 5], stride: 1, pad: 'same' },
    { xs: [2, 8, 8, 4], ws: [3, 3, 4, 6], stride: 2, pad: 1 },
    { xs: [3, 9, 6, 2], ws: [3, 3, 2, 4], stride: [2, 1], pad: 'valid' },
    { xs: [2, 8, 8, 5], ws: [1, 1, 5, 7], stride: 1, pad: 0 },
    { xs: [2, 8, 8, 5], ws: [1, 1, 5, 3], stride: 2, pad: 0 },
    { xs: [1, 10, 10, 3], ws: [5, 5, 3, 2], stride: 3, pad: 'same' },
    { xs: [2, 6, 6, 2], ws: [4, 2, 2, 3], stride: 1, pad: 'valid' },
  ];
  for (const [i, c] of convCases.entries()) {
    it(`Conv2D and both gradients: x [${c.xs}], w [${c.ws}], stride ${String(c.stride)}, pad ${c.pad} (each engine)`, async () => {
      for (const e of engines()) {
        await withEngine(e, () => compare(`conv ${i} ${e}`, valueAndGrads((x, w) => tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, c.stride, c.pad), c.xs, c.ws, i)));
      }
    });
  }

  it('Conv2D forward with dilation 2 (each engine)', async () => {
    const rng = new Rng('native/dil');
    const xd = randn(rng, 2 * 9 * 9 * 3);
    const wd = randn(rng, 3 * 3 * 3 * 4);
    for (const e of engines()) {
      await withEngine(e, () => compare(`dilated ${e}`, () => tf.tidy(() => [tf.conv2d(tf.tensor4d(xd, [2, 9, 9, 3]), tf.tensor4d(wd, [3, 3, 3, 4]), 1, 'same', 'NHWC', 2).dataSync() as Float32Array])));
    }
  });

  it('oneDNN is the default engine when the addon was built with it; an unknown engine is refused', () => {
    const st = nativeKernelsStatus();
    assert.equal(st?.convEngine, st?.dnnl ? 'onednn' : 'blas');
    assert.throws(() => setNativeConvEngine('mkl' as NativeConvEngine), /conv engine must be one of 'blas', 'onednn', got 'mkl'/);
  });

  it('convolutions split into im2col chunks give the same values and gradients (the filter gradient accumulates)', async () => {
    // 200 floats cannot hold one image's columns (6 * 6 * 27 = 972), so every image is its own chunk
    const prev = setNativeColumnBudget(200);
    const prevEngine = setNativeConvEngine('blas');
    try {
      await compare('chunked', valueAndGrads((x, w) => tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, 1, 'same'), [5, 6, 6, 3], [3, 3, 3, 4], 99));
      setNativeColumnBudget(2000); // two images per chunk, the last chunk holds one
      await compare('chunked by 2', valueAndGrads((x, w) => tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, 2, 1), [5, 6, 6, 3], [3, 3, 3, 4], 98));
    } finally {
      setNativeColumnBudget(prev);
      setNativeConvEngine(prevEngine);
    }
  });

  const dwCases: { xs: number[]; ws: number[]; stride: number; pad: 'same' | 'valid' | number }[] = [
    { xs: [2, 8, 8, 4], ws: [3, 3, 4, 1], stride: 2, pad: 1 },
    { xs: [2, 7, 7, 3], ws: [3, 3, 3, 2], stride: 1, pad: 'same' },
    { xs: [1, 9, 9, 2], ws: [5, 5, 2, 1], stride: 2, pad: 'valid' },
  ];
  for (const [i, c] of dwCases.entries()) {
    it(`DepthwiseConv2dNative and both gradients: x [${c.xs}], w [${c.ws}], stride ${c.stride}, pad ${c.pad} (each engine)`, async () => {
      for (const e of engines()) {
        await withEngine(e, () => compare(`dw ${i} ${e}`, valueAndGrads((x, w) => tf.depthwiseConv2d(x as tf.Tensor4D, w as tf.Tensor4D, c.stride, c.pad), c.xs, c.ws, 10 + i)));
      }
    });
  }

  for (const c of [
    { size: 2, stride: 2, pad: 'valid' as const, xs: [2, 8, 8, 3] },
    { size: 3, stride: 2, pad: 'same' as const, xs: [2, 7, 7, 2] },
    { size: 3, stride: 1, pad: 'valid' as const, xs: [1, 6, 5, 4] },
    { size: 2, stride: 2, pad: 'valid' as const, xs: [2, 9, 7, 5], ties: true },
    { size: 3, stride: 2, pad: 'same' as const, xs: [2, 7, 7, 3], ties: true },
    { size: 2, stride: 2, pad: 'valid' as const, xs: [8, 64, 64, 8], ties: true }, // 4 parallel parts of 2 images
  ]) {
    // with ties (values in {-2, ..., 1}) the gradient must go to the first maximum of each window, and padding never wins
    it(`MaxPool and MaxPoolGrad: ${c.size}x${c.size} stride ${c.stride} ${c.pad} on [${c.xs}]${c.ties ? ', tied maxima' : ''}`, async () => {
      const xd = randn(new Rng(`native/pool/${c.size}/${c.pad}`), size(c.xs)).map((v) => (c.ties ? Math.max(-2, Math.min(1, Math.floor(v))) : v));
      await compare('maxpool', () => tf.tidy(() => {
        const x = tf.tensor4d(xd, c.xs as [number, number, number, number]);
        const y = tf.maxPool(x, c.size, c.stride, c.pad);
        const r = tf.tensor(randn(new Rng('native/pool/r'), y.size), y.shape);
        const dx = tf.grad((a: tf.Tensor) => tf.sum(tf.mul(tf.maxPool(a as tf.Tensor4D, c.size, c.stride, c.pad), r)))(x);
        return [y.dataSync() as Float32Array, Float32Array.from(y.shape), dx.dataSync() as Float32Array];
      }));
    });
  }

  it('Sum over contiguous axes (with keepDims), and the fallback for other axes and dtypes', async () => {
    const xd = randn(new Rng('native/sum'), 4 * 5 * 6 * 7);
    const cases: (number | number[])[] = [0, 1, 2, 3, -1, [0, 1], [1, 2], [1, 2, 3], [0, 1, 2, 3], [0, 2], [0, 3]];
    await compare('sum', () => tf.tidy(() => {
      const x = tf.tensor4d(xd, [4, 5, 6, 7]);
      const out: Float32Array[] = [];
      for (const axis of cases) {
        for (const keepDims of [false, true]) {
          const s = tf.sum(x, axis, keepDims);
          out.push(s.dataSync() as Float32Array, Float32Array.from(s.shape));
        }
      }
      return out;
    }));
    const ints = tf.tensor2d([1, 2, 3, 4, 5, 6], [2, 3], 'int32');
    const s = tf.sum(ints, 0);
    assert.equal(s.dtype, 'int32');
    assert.deepEqual(Array.from(s.dataSync()), [5, 7, 9]);
    tf.dispose([ints, s]);
  });

  it('BatchMatMul with transposes and batch broadcasting (oneDNN matmul and BLAS sgemm)', async () => {
    const rng = new Rng('native/mm');
    const a = randn(rng, 3 * 4 * 5);
    const b = randn(rng, 3 * 5 * 6);
    const b1 = randn(rng, 5 * 6);
    for (const e of engines()) {
      const prev = setNativeConvEngine(e);
      try {
        await compare(`matmul ${e}`, matmuls);
      } finally {
        setNativeConvEngine(prev);
      }
    }
    function matmuls(): Float32Array[] {
      return tf.tidy(() => {
        const A = tf.tensor3d(a, [3, 4, 5]);
        const B = tf.tensor3d(b, [3, 5, 6]);
        const B1 = tf.tensor3d(b1, [1, 5, 6]);
        const A2 = tf.tensor2d(a.subarray(0, 20), [4, 5]);
        const ops = [
          tf.matMul(A, B),
          tf.matMul(A, B1),
          tf.matMul(tf.transpose(A, [0, 2, 1]), B, true, false),
          tf.matMul(A, tf.transpose(B, [0, 2, 1]), false, true),
          tf.matMul(tf.transpose(A, [0, 2, 1]), tf.transpose(B, [0, 2, 1]), true, true),
          tf.matMul(A2, tf.tensor2d(b1, [5, 6])),
          tf.matMul(tf.tensor3d(b1, [1, 5, 6]), B, true, false),
        ];
        return ops.flatMap((t) => [t.dataSync() as Float32Array, Float32Array.from(t.shape)]);
      });
    }
  });

  it('the library dropout draws exactly tfjs\'s mask natively (bit for bit), and its gradient is dy * mask', async () => {
    const xd = randn(new Rng('native/dropout'), 3 * 10000);
    for (const [p, seed] of [[0.4, 12345], [0.6, 2147483646], [0.2, 7], [0.5, 0.25]]) {
      const run = (f: (x: tf.Tensor) => tf.Tensor): Float32Array[] => tf.tidy(() => {
        const x = tf.tensor2d(xd, [3, 10000]);
        const r = tf.tensor2d(xd.map((v) => v * 0.5 + 1), [3, 10000]);
        const { value, grads } = tf.valueAndGrads((a: tf.Tensor) => tf.sum(tf.mul(f(a), r)))([x]);
        return [f(x).dataSync() as Float32Array, value.dataSync() as Float32Array, grads[0].dataSync() as Float32Array];
      });
      const before = tf.memory().numTensors;
      const native = run((x) => dropout(x, p, seed));
      assert.equal(tf.memory().numTensors, before, 'no tensor leak');
      const plain = run((x) => tfjsDropout(x, p, seed));
      const bits = (a: Float32Array): Buffer => Buffer.from(a.buffer, a.byteOffset, a.byteLength);
      assert.ok(bits(native[0]).equals(bits(plain[0])), `dropout(p ${p}, seed ${seed}) equals tfjs's bit for bit`);
      assert.ok(bits(native[2]).equals(bits(plain[2])), 'gradient bit for bit');
      const kept = native[0].filter((v) => v !== 0).length / native[0].length;
      assert.ok(Math.abs(kept - (1 - p)) < 0.05, `kept fraction ${kept} for p ${p}`);
    }
    // outside a tape and a tidy, the mask is not left behind
    const x = tf.tensor2d(xd, [3, 10000]);
    const before = tf.memory().numTensors;
    const y = dropout(x, 0.3, 99);
    assert.equal(tf.memory().numTensors, before + 1, 'only the output is new');
    tf.dispose([x, y]);
  });

  it('the library dense (ops.ts) computes its gradients with transposed native matmuls, as on cpu', async () => {
    await compare('dense', valueAndGrads((x, w) => dense(x as tf.Tensor2D, w as tf.Tensor2D), [6, 9], [9, 4], 77));
  });

  it('the library conv2d (ops.ts) trains through the native gradients with the same numbers as its wasm custom gradient', async () => {
    const rng = new Rng('native/lib');
    const xd = randn(rng, 4 * 12 * 12 * 3);
    const wd = randn(rng, 3 * 3 * 3 * 8);
    const run = (): Float32Array[] => tf.tidy(() => {
      const x = tf.tensor4d(xd, [4, 12, 12, 3]);
      const w = tf.tensor4d(wd, [3, 3, 3, 8]);
      const [dx, dw] = tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.square(libConv2d(a as tf.Tensor4D, b as tf.Tensor4D, 2))))([x, w]);
      return [libConv2d(x, w, 2).dataSync() as Float32Array, dx.dataSync() as Float32Array, dw.dataSync() as Float32Array];
    });
    const native = run();
    disableNativeKernels();
    assert.equal(nativeKernelsActive(), false);
    const plain = run();
    enableNativeKernels();
    native.forEach((n, k) => assert.ok(maxRelErr(n, plain[k]) < TOLERANCE, `output ${k}`));
  });

  /** How the batch-norm test composes its ops: prelu(batchNorm(x)), batchNormPrelu(x), or batchNorm(x) alone. */
  type BnMode = 'separate' | 'fused' | 'bn';

  /**
   * Batch norm (+ PReLU) forward, gradients (x, alpha, beta, gamma) and, in training mode, the updated running
   * statistics, as plain arrays. Inference mode uses non-trivial running statistics.
   */
  function bnPrelu(shape: number[], frozenGamma: boolean, seed: number, mode: BnMode = 'separate', training = true): () => Float32Array[] {
    const rng = new Rng(`native/bn/${seed}`);
    const c = shape[shape.length - 1];
    const xd = randn(rng, size(shape)).map((v, i) => v * (1 + (i % c)) + (i % c) * 0.5); // per-channel scale, offset
    const gd = randn(rng, c).map((v) => 1 + 0.3 * v);
    const bd = randn(rng, c);
    const ad = randn(rng, c).map((v) => 0.25 + 0.1 * v);
    const md = randn(rng, c).map((v, j) => v + j * 0.5);
    const vd = randn(rng, c).map((v, j) => (1 + j) * (1 + 0.2 * Math.abs(v)));
    const rd = randn(new Rng(`native/bn/r/${seed}`), size(shape));
    return () => {
      const store = new ParamStore({ seed });
      const bn = { gamma: frozenGamma ? null : store.variable('g', [c], 'ones'), beta: store.variable('b', [c], 'zeros'), runningMean: store.state('m', [c], 0), runningVar: store.state('v', [c], 1) };
      const alpha = store.variable('a', [c], 'zeros');
      tf.tidy(() => {
        bn.gamma?.assign(tf.tensor1d(gd));
        bn.beta.assign(tf.tensor1d(bd));
        alpha.assign(tf.tensor1d(ad));
        if (!training) {
          bn.runningMean.assign(tf.tensor1d(md));
          bn.runningVar.assign(tf.tensor1d(vd));
        }
      });
      const out = tf.tidy(() => {
        const x = tf.tensor(xd, shape);
        const r = tf.tensor(rd, shape);
        const vars = [x, ...(mode === 'bn' ? [] : [alpha]), bn.beta, ...(bn.gamma ? [bn.gamma] : [])];
        const layer = (a: tf.Tensor): tf.Tensor => {
          if (mode === 'fused') return batchNormPrelu(a, bn, alpha, { training });
          const y = batchNorm(a, bn, { training });
          return mode === 'bn' ? y : prelu(y, alpha);
        };
        const f = (...a: tf.Tensor[]): tf.Tensor => tf.sum(tf.mul(layer(a[0]), r));
        const { value, grads } = tf.valueAndGrads(f)(vars);
        return [layer(x), value, ...grads].map((t) => t.dataSync() as Float32Array);
      });
      if (training) out.push(bn.runningMean.dataSync() as Float32Array, bn.runningVar.dataSync() as Float32Array);
      store.dispose();
      return out;
    };
  }

  // [16, 32, 64, 4] has 32768 rows of 4 channels, twice the addon's smallest parallel part (65536 values): with
  // 2 threads the sums run in 2 parallel ranges
  const bnCases = [{ shape: [4, 5, 5, 6], frozen: false }, { shape: [16, 8], frozen: true }, { shape: [3, 7, 7, 4], frozen: true }, { shape: [16, 32, 64, 4], frozen: false }];
  for (const mode of ['separate', 'fused', 'bn'] as const) {
    for (const training of [true, false]) {
      for (const [i, c] of bnCases.entries()) {
        const what = { separate: 'batch norm + PReLU', fused: 'batchNormPrelu', bn: 'batch norm' }[mode];
        it(`${what}, ${training ? 'training' : 'inference'}: [${c.shape}]${c.frozen ? ', frozen gamma' : ''}: values, gradients${training ? ', running statistics' : ''}`, async () => {
          await compare(`bn ${mode} ${i}`, bnPrelu(c.shape, c.frozen, i, mode, training));
          // and against the unfused tfjs-op path on wasm itself
          const f = bnPrelu(c.shape, c.frozen, i, mode, training);
          const before = tf.memory().numTensors;
          const fused = f();
          assert.equal(tf.memory().numTensors, before, 'no tensor leak');
          disableNativeKernels();
          const plain = f();
          enableNativeKernels();
          assert.equal(fused.length, plain.length);
          fused.forEach((v, k) => assert.ok(maxRelErr(v, plain[k]) < TOLERANCE, `output ${k}`));
        });
      }
    }
  }

  it('is deterministic with several threads (each engine), matches the cpu backend there, and leaks no tensors', async () => {
    enableNativeKernels({ threads: 2 });
    const bits = (x: Float32Array): Buffer => Buffer.from(x.buffer, x.byteOffset, x.byteLength);
    const bn = bnPrelu([16, 32, 64, 4], false, 5, 'fused');
    const [b1, b2] = [bn(), bn()];
    b1.forEach((x, k) => assert.deepEqual(bits(x), bits(b2[k]), `batch norm output ${k} bitwise equal`));
    // 16 images: both threads get a part of the batch (im2col: their own columns and filter-gradient partial sums)
    for (const [stride, ks] of [[1, 3], [1, 1], [2, 3]]) {
      const f = valueAndGrads((x, w) => tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, stride, ks === 1 ? 0 : 'same'), [16, 16, 16, 8], [ks, ks, 8, 16], 7);
      for (const e of engines()) {
        await withEngine(e, async () => {
          const before = tf.memory().numTensors;
          const a = f();
          const b = f();
          assert.equal(tf.memory().numTensors, before, 'tensor count unchanged');
          a.forEach((x, k) => assert.deepEqual(bits(x), bits(b[k]), `${e} stride ${stride} ${ks}x${ks}: output ${k} bitwise equal`));
          await compare(`2 threads ${e} stride ${stride} ${ks}x${ks}`, f);
        });
      }
    }
    const mm = (): Float32Array[] => tf.tidy(() => {
      const a = tf.tensor2d(randn(new Rng('native/mm2'), 64 * 40), [64, 40]);
      const b = tf.tensor2d(randn(new Rng('native/mm3'), 40 * 24), [40, 24]);
      return [tf.matMul(a, b).dataSync() as Float32Array, tf.matMul(a, a, true, false).dataSync() as Float32Array];
    });
    for (const e of engines()) {
      const prev = setNativeConvEngine(e);
      try {
        await compare(`matmul 2 threads ${e}`, mm);
      } finally {
        setNativeConvEngine(prev);
      }
    }
  });

  it('disable restores the previous wasm kernels, enable puts the native ones back; COREFACE_NATIVE=0 keeps them off', () => {
    const nativeFn = tf.getKernel('Conv2D', 'wasm')?.kernelFunc;
    disableNativeKernels();
    for (const k of NATIVE_KERNELS) {
      // tfjs kernels (and the plain wasm dropout kernel) get their wasm versions back; the other fused coreface kernels
      // exist only natively
      if (k.startsWith('Coreface') && k !== DROPOUT_KERNEL) assert.equal(tf.getKernel(k, 'wasm'), undefined, `${k} unregistered`);
      else assert.ok(tf.getKernel(k, 'wasm'), `${k} still has a wasm kernel`);
    }
    assert.notEqual(tf.getKernel('Conv2D', 'wasm')?.kernelFunc, nativeFn);
    const old = process.env.COREFACE_NATIVE;
    process.env.COREFACE_NATIVE = '0';
    try {
      const st = enableNativeKernels();
      assert.equal(st.active, false);
      assert.match(st.reason ?? '', /COREFACE_NATIVE=0/);
      assert.equal(nativeKernelsActive(), false);
    } finally {
      if (old === undefined) delete process.env.COREFACE_NATIVE;
      else process.env.COREFACE_NATIVE = old;
    }
    const st = enableNativeKernels({ threads: 1 });
    assert.equal(st.active, true);
    assert.equal(st.threads, 1);
    assert.equal(tf.getKernel('Conv2D', 'wasm')?.kernelFunc, nativeFn);
  });
});
