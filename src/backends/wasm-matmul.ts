/**
 * A faster BatchMatMul for the plain wasm backend, with tfjs's own results bit for bit (issue 17).
 *
 * `@tensorflow/tfjs-backend-wasm` 4.22 runs a matrix product through XNNPACK only when neither operand is
 * transposed and there is one batch; every other product (among them both gradients of a dense layer or of a
 * margin head's logits) goes to a scalar loop that adds one product at a time into one accumulator, ~1 ns per
 * multiply-add. On the quick preset those loops were ~3% of an ArcFace step and ~6% of a CoReFace step (its second
 * view doubles them). {@link registerWasmMatMul} puts a kernel in front of tfjs's BatchMatMul that sends exactly
 * those products to `wasm-matmul.wat`: the same sums in the same order (blocks of 48 along the shared dimension,
 * each block summed from +0 in order, block sums added in order), 32 outputs at a time in SIMD lanes. Everything
 * else goes to tfjs's kernel unchanged, so every plain wasm result stays what it was.
 *
 * The kernel has its own WebAssembly memory: operands are copied in (transposed and padded to the kernel's layout)
 * and the result copied out. The memory grows to the largest product seen (at most 1 GiB; larger products stay
 * with tfjs) and is kept.
 */
import * as tf from '@tensorflow/tfjs';
import { WASM_MATMUL_BASE64 } from './wasm-matmul-binary';
import type { Args, WasmHeapBackend } from './native-addon';
import { heap, matMulDims, outputs } from './native-addon';

/** Columns the kernel computes at once (8 f32x4 accumulators); the right operand is padded to a multiple. */
const LANES = 32;
/** Products needing more kernel memory than this go to tfjs's own kernel. */
const MAX_BYTES = 1 << 30;
const PAGE = 65536;

/** The parts of the WebAssembly API used here (the project's TypeScript libs do not declare it). */
interface WasmApi {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: unknown };
}

interface MatMulExports {
  memory: { buffer: ArrayBuffer; grow(pages: number): number };
  matmul(a: number, b: number, out: number, m: number, k: number, np: number): void;
}

let kernel: MatMulExports | undefined;
/** tfjs's own BatchMatMul, while ours is registered in front of it. */
let original: tf.KernelConfig | undefined;
let calls = 0;

function instance(): MatMulExports {
  if (kernel === undefined) {
    const wasm = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;
    const module = new wasm.Module(Buffer.from(WASM_MATMUL_BASE64, 'base64'));
    kernel = new wasm.Instance(module, {}).exports as MatMulExports;
  }
  return kernel;
}

/** Byte offset rounded up to the kernel's 16-byte alignment. */
const align = (bytes: number): number => Math.ceil(bytes / 16) * 16;

/** Where a product's operands and result sit in the kernel's memory (byte offsets) and how much it needs. */
function layout(m: number, k: number, n: number): { np: number; bOff: number; oOff: number; bytes: number } {
  const np = Math.ceil(n / LANES) * LANES;
  const bOff = align(m * k * 4);
  const oOff = bOff + align(k * np * 4);
  return { np, bOff, oOff, bytes: oOff + m * np * 4 };
}

/** Grows the kernel's memory to at least `bytes` (at most {@link MAX_BYTES}); false when it cannot. */
function reserve(bytes: number): boolean {
  const mem = instance().memory;
  if (bytes <= mem.buffer.byteLength) return true;
  if (bytes > MAX_BYTES) return false;
  try {
    mem.grow(Math.ceil((bytes - mem.buffer.byteLength) / PAGE));
    return true;
  } catch {
    return false; // the engine refused the pages: tfjs's kernel takes the product
  }
}

/**
 * One float32 product out[m, n] = a[m, k] b[k, n] with tfjs's slow-loop arithmetic. `a` is read as [m, k] or, with
 * `ta`, as [k, m]; `b` as [k, n] or, with `tb`, as [n, k]. Exported for the tests; the kernel calls it per batch.
 */
export function simdMatMul(a: Float32Array, b: Float32Array, out: Float32Array, m: number, k: number, n: number, ta: boolean, tb: boolean): void {
  const ex = instance();
  const { np, bOff, oOff, bytes } = layout(m, k, n);
  if (!reserve(bytes)) throw new Error(`simdMatMul: [${m}, ${k}] x [${k}, ${n}] needs ${bytes} bytes of kernel memory, more than it can have`);
  const mem = new Float32Array(ex.memory.buffer);
  if (ta) {
    for (let i = 0; i < m; i++) for (let p = 0, r = i * k; p < k; p++) mem[r + p] = a[p * m + i];
  } else {
    mem.set(a.subarray(0, m * k), 0);
  }
  const bv = bOff / 4;
  for (let p = 0; p < k; p++) {
    const r = bv + p * np;
    if (tb) {
      for (let j = 0; j < n; j++) mem[r + j] = b[j * k + p];
    } else {
      mem.set(b.subarray(p * n, p * n + n), r);
    }
    mem.fill(0, r + n, r + np);
  }
  ex.matmul(0, bOff, oOff, m, k, np);
  const ov = oOff / 4;
  if (np === n) {
    out.set(mem.subarray(ov, ov + m * n));
  } else {
    for (let i = 0; i < m; i++) out.set(mem.subarray(ov + i * np, ov + i * np + n), i * n);
  }
}

function batchMatMul(args: Args): tf.TensorInfo | tf.TensorInfo[] {
  const tfjs = original;
  if (tfjs === undefined) throw new Error('BatchMatMul: the wasm kernel is not registered');
  const { a, b } = args.inputs as { a: tf.TensorInfo; b: tf.TensorInfo };
  const { transposeA, transposeB } = args.attrs as { transposeA: boolean; transposeB: boolean };
  if (a.dtype !== 'float32' || b.dtype !== 'float32' || a.shape.length < 2 || b.shape.length < 2) return tfjs.kernelFunc(args);
  const { m, k, kb, n, outerA, outerB } = matMulDims(a, b, transposeA, transposeB);
  const batch = outerA.reduce((p, q) => p * q, 1);
  // XNNPACK's products (no transpose, one batch) keep their own arithmetic; broadcast batches are tfjs's business.
  const slowLoop = transposeA || transposeB || batch !== 1;
  const sameBatch = outerA.length === outerB.length && outerA.every((d, i) => d === outerB[i]);
  if (!slowLoop || !sameBatch || k !== kb || !reserve(layout(m, k, n).bytes)) return tfjs.kernelFunc(args);
  const backend = args.backend as WasmHeapBackend;
  const { infos, views } = outputs(backend, [[...outerA, m, n]]);
  const av = heap(backend, a);
  const bv = heap(backend, b);
  for (let t = 0; t < batch; t++) {
    simdMatMul(av.subarray(t * m * k, (t + 1) * m * k), bv.subarray(t * k * n, (t + 1) * k * n), views[0].subarray(t * m * n, (t + 1) * m * n),
      m, k, n, transposeA, transposeB);
  }
  calls++;
  return infos[0];
}

/**
 * Puts the SIMD BatchMatMul in front of the wasm backend's own (idempotent) and returns whether it is in place
 * (false when this runtime cannot compile WebAssembly SIMD; tfjs's kernel then stays). Called by `initBackend`
 * whenever it selects wasm; the native kernels, when they load, register theirs over it and fall back to it.
 */
export function registerWasmMatMul(): boolean {
  if (original !== undefined) return true;
  const current = tf.getKernel('BatchMatMul', 'wasm');
  if (current === undefined) throw new Error('registerWasmMatMul: tfjs-backend-wasm has no BatchMatMul kernel (is it imported?)');
  try {
    instance();
  } catch {
    return false;
  }
  original = current;
  tf.unregisterKernel('BatchMatMul', 'wasm');
  // tfjs's setup (binding its wasm function) still has to run when the backend initialises: ours falls back to it
  tf.registerKernel({ ...current, kernelFunc: batchMatMul });
  return true;
}

/** Restores tfjs's own BatchMatMul (tests and benchmarks compare both; same results, slower). */
export function unregisterWasmMatMul(): void {
  if (original === undefined) return;
  if (tf.getKernel('BatchMatMul', 'wasm')?.kernelFunc === batchMatMul) {
    tf.unregisterKernel('BatchMatMul', 'wasm');
    tf.registerKernel(original);
    original = undefined;
  }
}

/** How many products the SIMD kernel computed since the process started (tests check it ran). */
export function wasmMatMulCalls(): number {
  return calls;
}
