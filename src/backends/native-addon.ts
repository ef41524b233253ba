/**
 * The native addon (native/coreface_native.cc, built by `node native/build.js`): its functions, how it is loaded,
 * and the helpers every native kernel uses to work on the wasm heap without copies (native-kernels.ts registers the
 * single kernels, native-composite.ts the fused neck and CoReFace objective built from several addon calls).
 */
import { createRequire } from 'node:module';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { PACKAGE } from '../util/package';

/** The addon's functions (see native/coreface_native.cc for the parameter layouts). */
export interface NativeAddon {
  conv2d(x: Float32Array, w: Float32Array, out: Float32Array, p: Int32Array): void;
  conv2dBackpropInput(dy: Float32Array, w: Float32Array, out: Float32Array, p: Int32Array): void;
  conv2dBackpropFilter(x: Float32Array, dy: Float32Array, out: Float32Array, p: Int32Array): void;
  depthwiseConv2d(x: Float32Array, w: Float32Array, out: Float32Array, p: Int32Array): void;
  depthwiseBackpropInput(dy: Float32Array, w: Float32Array, out: Float32Array, p: Int32Array): void;
  depthwiseBackpropFilter(x: Float32Array, dy: Float32Array, out: Float32Array, p: Int32Array): void;
  maxPool(x: Float32Array, y: Float32Array, p: Int32Array): void;
  maxPoolGrad(dy: Float32Array, x: Float32Array, y: Float32Array, out: Float32Array, p: Int32Array): void;
  sumMiddle(x: Float32Array, out: Float32Array, p: Int32Array): void;
  batchMatMul(a: Float32Array, b: Float32Array, out: Float32Array, p: Int32Array): void;
  batchNormForward(x: Float32Array, gamma: Float32Array, beta: Float32Array, alpha: Float32Array, y: Float32Array, mean: Float32Array, variance: Float32Array, rstd: Float32Array, p: Int32Array, eps: number, running: Float32Array, runningOut: Float32Array): void;
  batchNormBackward(dy: Float32Array, x: Float32Array, mean: Float32Array, rstd: Float32Array, gamma: Float32Array, beta: Float32Array, alpha: Float32Array, dx: Float32Array, dgamma: Float32Array, dbeta: Float32Array, dalpha: Float32Array, p: Int32Array): void;
  channelAffine(x: Float32Array, mean: Float32Array, variance: Float32Array, gamma: Float32Array, beta: Float32Array, alpha: Float32Array, y: Float32Array, p: Int32Array, eps: number): void;
  preluBackward(dy: Float32Array, x: Float32Array, alpha: Float32Array, dx: Float32Array, dalpha: Float32Array, p: Int32Array): void;
  marginCE(x: Float32Array, w: Float32Array, loss: Float32Array, logits: Float32Array, raw: Float32Array, labels: Int32Array, p: Int32Array, target: Float32Array): void;
  marginCEGrad(x: Float32Array, w: Float32Array, raw: Float32Array, dloss: Float32Array, dlogits: Float32Array, dx: Float32Array, dw: Float32Array, labels: Int32Array, p: Int32Array, target: Float32Array): void;
  contrastStats(a: Float32Array, b: Float32Array, pos: Float32Array, neg: Float32Array, labels: Int32Array, p: Int32Array): void;
  contrastLoss(a: Float32Array, b: Float32Array, loss: Float32Array, labels: Int32Array, p: Int32Array, scaleMargin: Float32Array): void;
  contrastGrad(a: Float32Array, b: Float32Array, dloss: Float32Array, da: Float32Array, db: Float32Array, labels: Int32Array, p: Int32Array, scaleMargin: Float32Array): void;
  dropout(x: Float32Array, y: Float32Array, mask: Float32Array, p: number, seed: string): void;
  /** Absent from addons built before the composite kernels (native-composite.ts checks). */
  addInPlace?(out: Float32Array, x: Float32Array): void;
  mulMask?(out: Float32Array, dy: Float32Array, mask: Float32Array, accumulate: boolean): void;
  twoViewObjective?(x1: Float32Array, x2: Float32Array, w: Float32Array, terms: Float32Array, logits1: Float32Array, logits2: Float32Array,
    raw1: Float32Array, raw2: Float32Array, labels: Int32Array, p: Int32Array, target: Float32Array, scaleMargin: Float32Array): void;
  twoViewObjectiveGrad?(x1: Float32Array, x2: Float32Array, w: Float32Array, raw1: Float32Array, raw2: Float32Array, dterms: Float32Array,
    zeros: Float32Array, dx1: Float32Array, dx2: Float32Array, dw: Float32Array, labels: Int32Array, p: Int32Array, target: Float32Array,
    scaleMargin: Float32Array): void;
  /** The composite neck's two views one per thread (absent from addons built before it). */
  neckPair?(arrays: Float32Array[], params: Int32Array, p: number, seed1: string, seed2: string, eps: number): void;
  neckPairGrad?(arrays: Float32Array[], params: Int32Array): void;
  sgdStep(w: Float32Array[], g: Float32Array[], v: Float32Array[], wOut: Float32Array[], vOut: Float32Array[], clip: Int32Array, hyper: Float64Array, norms: Float32Array): void;
  setThreads(n: number): void;
  setConvEngine(engine: number): number;
  setColumnBudget(floats: number): number;
  info(): { blas: string; core: string; threads: number; dnnl: string; convEngine: number; convCalls: [number, number] };
}

/** The part of tfjs-backend-wasm's BackendWasm the kernels use. */
export interface WasmHeapBackend {
  incRef(dataId: tf.DataId): void;
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
  typedArrayFromHeap(info: tf.TensorInfo): tf.backend_util.TypedArray;
}

/** A kernel function's argument. */
export type Args = Parameters<tf.KernelFunc>[0];

/** OpenBLAS variable: worker spin time before sleeping, 2^n cycles (OpenBLAS clamps n to [4, 30]). */
export const BLAS_TIMEOUT_ENV_VAR = 'OPENBLAS_THREAD_TIMEOUT';
/** Our default for {@link BLAS_TIMEOUT_ENV_VAR}: 4, i.e. sleep almost at once (OpenBLAS's default is 28). */
const BLAS_THREAD_TIMEOUT = '4';

/** Where `node native/build.js` writes the addon. */
export const NATIVE_ADDON_PATH = path.join(PACKAGE.root, 'native', 'build', 'coreface_native.node');

let addon: NativeAddon | undefined;

/** The addon, loaded on first use (throws when it is not built). */
export function loadAddon(): NativeAddon {
  if (addon) return addon;
  if (!fs.existsSync(NATIVE_ADDON_PATH)) {
    throw new Error('not built (`npm run setup` installs OpenBLAS and builds them; or `node native/build.js`)');
  }
  // OpenBLAS's worker threads spin after each call (2^28 cycles by default) before sleeping; between our BLAS
  // calls the main thread runs wasm, and on a 2-core machine a spinning worker takes its core. The addon now runs
  // OpenBLAS single-threaded inside its own OpenMP parts, so no such worker should exist; the short timeout stays
  // as a guard. Read once when the library loads; a value the user set wins.
  process.env[BLAS_TIMEOUT_ENV_VAR] ??= BLAS_THREAD_TIMEOUT;
  // The OpenMP threads (oneDNN and the addon's own loops) sleep as soon as a parallel region ends. Spinning first
  // (GOMP_SPINCOUNT 200,000) made 2-thread steps 10-20% faster on an idle machine, but when other processes share
  // the cores a spinning thread holds the core its partner needs: a 2-thread quick-preset step went from 76 ms
  // (sleeping) to 760 ms (spinning) on a loaded host (issue 17). A user's OMP_WAIT_POLICY or GOMP_SPINCOUNT wins.
  if (process.env.OMP_WAIT_POLICY === undefined && process.env.GOMP_SPINCOUNT === undefined) process.env.OMP_WAIT_POLICY = 'PASSIVE';
  const req = createRequire(__filename);
  addon = req(NATIVE_ADDON_PATH) as NativeAddon;
  return addon;
}

/** Whether the addon has been loaded in this process. */
export function addonLoaded(): boolean {
  return addon !== undefined;
}

/** A Float32Array view of a tensor's data on the wasm heap (valid until the next allocation). */
export function heap(backend: WasmHeapBackend, t: tf.TensorInfo): Float32Array {
  return backend.typedArrayFromHeap(t) as Float32Array;
}

/**
 * float32 outputs of these shapes and their heap views: every output allocated first (an allocation may grow the heap
 * and detach the views taken before it), then viewed.
 */
export function outputs(backend: WasmHeapBackend, shapes: number[][]): { infos: tf.TensorInfo[]; views: Float32Array[] } {
  const infos = shapes.map((s) => backend.makeOutput(s, 'float32'));
  return { infos, views: infos.map((t) => heap(backend, t)) };
}

/** The two halves of an array of two stacked views (views into it, no copies). */
export function halves(a: Float32Array): [Float32Array, Float32Array] {
  const n = a.length / 2;
  return [a.subarray(0, n), a.subarray(n)];
}

/** A BatchMatMul's dimensions: op(a) is [..., m, k], op(b) [..., kb, n] (k !== kb is the caller's error to report). */
export interface MatMulDims {
  m: number;
  k: number;
  kb: number;
  n: number;
  /** The batch shapes of a and b (all but the last two axes). */
  outerA: number[];
  outerB: number[];
}

/** The dimensions of tf.matMul(a, b, transposeA, transposeB) for inputs of rank >= 2. */
export function matMulDims(a: tf.TensorInfo, b: tf.TensorInfo, transposeA: boolean, transposeB: boolean): MatMulDims {
  const ra = a.shape.length;
  const rb = b.shape.length;
  return {
    m: transposeA ? a.shape[ra - 1] : a.shape[ra - 2],
    k: transposeA ? a.shape[ra - 2] : a.shape[ra - 1],
    kb: transposeB ? b.shape[rb - 1] : b.shape[rb - 2],
    n: transposeB ? b.shape[rb - 2] : b.shape[rb - 1],
    outerA: a.shape.slice(0, -2),
    outerB: b.shape.slice(0, -2),
  };
}

/** One output allocated first (it may grow the wasm heap), views of all arrays taken after. */
export function run(backend: WasmHeapBackend, shape: number[], inputs: tf.TensorInfo[], call: (views: Float32Array[], out: Float32Array) => void): tf.TensorInfo {
  const { infos, views } = outputs(backend, [shape]);
  call(inputs.map((t) => heap(backend, t)), views[0]);
  return infos[0];
}

/** An empty array: the addon's "absent" optional input. */
export const EMPTY = new Float32Array(0);

/** A view of an optional input, or {@link EMPTY} when it is absent. */
export function optional(b: WasmHeapBackend, t: tf.TensorInfo | undefined): Float32Array {
  return t ? heap(b, t) : EMPTY;
}

/** [rows, channels] of a tensor whose last axis is the channel axis. */
export function rowsChannels(t: tf.TensorInfo): Int32Array {
  const c = t.shape[t.shape.length - 1];
  return Int32Array.from([tf.util.sizeFromShape(t.shape) / c, c]);
}

/**
 * The `running` argument of the addon's batchNormForward: [running mean (c), running variance (c), momentum,
 * 1 - momentum, (1 - momentum) n / (n - 1)] in float32, for a batch of n rows.
 */
export function bnRunning(mean: Float32Array, variance: Float32Array, momentum: number, n: number): Float32Array {
  const c = mean.length;
  const running = new Float32Array(2 * c + 3);
  running.set(mean, 0);
  running.set(variance, c);
  running.set([momentum, 1 - momentum, (1 - momentum) * (n / (n - 1))], 2 * c);
  return running;
}
