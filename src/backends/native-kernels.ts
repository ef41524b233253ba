/**
 * Optional native kernels for the wasm backend: convolution forward and both gradients, regular and depthwise, on
 * oneDNN (the library PyTorch's CPU convolutions use; when the addon was built with Debian's libdnnl-dev) or else as
 * im2col + OpenBLAS sgemm (multi-threaded; the addon's own loops use OpenMP with the same thread count), max pooling and its gradient, sums over a
 * contiguous block of axes and batched matmul. They are the kernels that dominate a training step on wasm,
 * which runs one thread in Node (issue 5: conv was ~55% of the bench model's step, column sums ~17%, the
 * max-pool gradient ~7%). Also fused training-mode batch norm (forward, backward) and PReLU backward kernels
 * for ops.ts (CorefaceBatchNormTrain, CorefaceBatchNormGrad, CorefacePreluGrad), fused losses for fused.ts (the
 * cosine margin heads' cross-entropy and CoReFace's contrastive term, forward and backward: CorefaceMarginCE,
 * CorefaceContrastLoss and their ...Grad kernels, CorefaceContrastStats), and a copy-free Identity.
 *
 * The addon (native/coreface_native.cc) is built by `node native/build.js` (run by `npm install` and
 * `npm run setup`, which installs Debian's libopenblas-dev first). It works on the wasm heap directly: every
 * kernel allocates its output with the backend, takes Float32Array views of the inputs and the output, and the
 * addon reads and writes through them during the synchronous call, so nothing is copied. Shapes the addon
 * does not cover (other dtypes, NCHW, broadcasts other than a batch of 1) go to the kernel registered before.
 *
 * When the addon is missing or fails to load, nothing is registered and {@link enableNativeKernels} says why;
 * the backend note then says "native kernels off (...)". Results differ from pure wasm in float rounding only
 * (tests hold gradients to 1e-4 of the cpu backend); for a fixed thread count they are deterministic.
 */
import * as os from 'node:os';
import * as tf from '@tensorflow/tfjs';
import { addonLoaded, bnRunning, EMPTY, halves, heap, loadAddon, matMulDims, optional, outputs, rowsChannels, run, type Args, type NativeAddon, type WasmHeapBackend } from './native-addon';
import { COMPOSITE_KERNELS } from './native-composite';

export { NATIVE_ADDON_PATH } from './native-addon';

/** Kernels {@link enableNativeKernels} registers for the wasm backend. */
export const NATIVE_KERNELS: readonly string[] = [
  'Conv2D',
  'Conv2DBackpropInput',
  'Conv2DBackpropFilter',
  'DepthwiseConv2dNative',
  'DepthwiseConv2dNativeBackpropInput',
  'DepthwiseConv2dNativeBackpropFilter',
  'MaxPool',
  'MaxPoolGrad',
  'Sum',
  'BatchMatMul',
  'CorefaceBatchNormTrain',
  'CorefaceBatchNormGrad',
  'CorefaceChannelAffine',
  'CorefacePreluGrad',
  'CorefaceMarginCE',
  'CorefaceMarginCEGrad',
  'CorefaceContrastStats',
  'CorefaceContrastLoss',
  'CorefaceContrastGrad',
  'CorefaceSgdStep',
  'CorefaceDropout',
  'Identity',
  'CorefaceNeckTrain',
  'CorefaceNeckTrainGrad',
  'CorefaceTwoViewObjective',
  'CorefaceTwoViewObjectiveGrad',
];

/** Environment variable: `0` turns the native kernels off (plain wasm). */
export const NATIVE_ENV_VAR = 'COREFACE_NATIVE';
/** Environment variable: number of BLAS threads (default: all cores; the ablation runner divides them). */
export const THREADS_ENV_VAR = 'COREFACE_THREADS';

/**
 * Engines of the addon's convolutions and batched matmuls: oneDNN (direct convolutions, brgemm matmul; when the
 * addon was built with Debian's libdnnl-dev, the default then) or im2col + BLAS sgemm (always available).
 */
export type NativeConvEngine = 'onednn' | 'blas';
const CONV_ENGINES: readonly NativeConvEngine[] = ['blas', 'onednn'];

/** What {@link enableNativeKernels} did. */
export interface NativeKernelsStatus {
  /** True when the kernels are registered for the wasm backend. */
  active: boolean;
  /** BLAS threads in use (active only). */
  threads?: number;
  /** BLAS build, e.g. "OpenBLAS 0.3.21 ... Zen" (active only). */
  blas?: string;
  /** oneDNN version when the addon was built with it, e.g. "oneDNN 2.6.3" (active only). */
  dnnl?: string;
  /** What runs the convolutions (active only): 'onednn' when built with it (the default), else 'blas'. */
  convEngine?: NativeConvEngine;
  /** Why they are off (inactive only). */
  reason?: string;
}

let status: NativeKernelsStatus | undefined;
const previous = new Map<string, tf.KernelConfig>();

/** Threads from {@link THREADS_ENV_VAR}, else the number of cores. */
export function defaultNativeThreads(): number {
  const raw = process.env[THREADS_ENV_VAR]?.trim();
  if (raw) {
    const n = Number(raw);
    if (!Number.isInteger(n) || n < 1) throw new Error(`${THREADS_ENV_VAR} must be a positive integer, got '${raw}'`);
    return n;
  }
  return Math.max(1, os.availableParallelism());
}

/** Options of {@link enableNativeKernels}. */
export interface EnableNativeOptions {
  /** BLAS threads. Default {@link defaultNativeThreads} (the `COREFACE_THREADS` variable, else all cores). */
  threads?: number;
}

/**
 * Registers the native kernels for the wasm backend (idempotent; a later call only changes the thread count).
 * Never throws for a missing or broken addon: the returned status says why the kernels are off. Disabled when
 * the `COREFACE_NATIVE` variable is `0`.
 */
export function enableNativeKernels(opts: EnableNativeOptions = {}): NativeKernelsStatus {
  if (process.env[NATIVE_ENV_VAR]?.trim() === '0') {
    disableNativeKernels();
    status = { active: false, reason: `${NATIVE_ENV_VAR}=0` };
    return status;
  }
  let a: NativeAddon;
  try {
    a = loadAddon();
  } catch (e) {
    status = { active: false, reason: e instanceof Error ? e.message.split('\n')[0] : String(e) };
    return status;
  }
  const threads = opts.threads ?? defaultNativeThreads();
  a.setThreads(threads);
  if (previous.size === 0) {
    for (const k of KERNELS) {
      const old = tf.getKernel(k.kernelName, 'wasm');
      if (old) {
        previous.set(k.kernelName, old);
        tf.unregisterKernel(k.kernelName, 'wasm');
      }
      tf.registerKernel(k);
    }
  }
  return refreshStatus(a);
}

function refreshStatus(a: NativeAddon): NativeKernelsStatus {
  const info = a.info();
  status = { active: true, threads: info.threads, blas: `${info.blas.trim()}`, convEngine: CONV_ENGINES[info.convEngine] };
  if (info.dnnl) status.dnnl = info.dnnl;
  return status;
}

/**
 * How many convolution calls (forward or gradient, regular or depthwise) each engine ran since the addon loaded:
 * 'onednn' counts those oneDNN ran, 'blas' the others (im2col + BLAS and the direct depthwise loops, including
 * geometries oneDNN has no implementation for). For tests and diagnostics; zeros when the addon is not loaded.
 */
export function nativeConvCalls(): Record<NativeConvEngine, number> {
  if (!addonLoaded()) return { blas: 0, onednn: 0 };
  const [blas, onednn] = loadAddon().info().convCalls;
  return { blas, onednn };
}

/**
 * Selects the convolution engine of the native kernels and returns the previous one (tests run both; the default
 * is 'onednn' when the addon was built with it). Throws when the addon is not built, or for 'onednn' when it was
 * built without oneDNN.
 */
export function setNativeConvEngine(engine: NativeConvEngine): NativeConvEngine {
  const i = CONV_ENGINES.indexOf(engine);
  if (i < 0) throw new Error(`conv engine must be one of ${CONV_ENGINES.map((e) => `'${e}'`).join(', ')}, got '${String(engine)}'`);
  const a = loadAddon();
  if (engine === 'onednn' && !a.info().dnnl) throw new Error("conv engine 'onednn': the native kernels were built without oneDNN (apt-get install libdnnl-dev, then node native/build.js --force)");
  const prev = CONV_ENGINES[a.setConvEngine(i)];
  if (status?.active) refreshStatus(a);
  return prev;
}

/**
 * Sets the im2col buffer budget in floats (default 1 Mi = 4 MiB per call; larger convolutions are split into
 * chunks of images) and returns the previous one. For tests and memory-constrained users.
 */
export function setNativeColumnBudget(floats: number): number {
  if (!Number.isInteger(floats) || floats < 1) throw new Error(`the column budget must be a positive integer, got ${floats}`);
  return loadAddon().setColumnBudget(floats);
}

/** Restores the kernels that were registered before {@link enableNativeKernels} (tests compare both paths). */
export function disableNativeKernels(): void {
  if (previous.size === 0 && !status?.active) return;
  for (const k of KERNELS) {
    if (tf.getKernel(k.kernelName, 'wasm')) tf.unregisterKernel(k.kernelName, 'wasm');
    const old = previous.get(k.kernelName);
    if (old) tf.registerKernel(old);
  }
  previous.clear();
  if (status?.active) status = { active: false, reason: 'disabled' };
}

/** True while the native kernels are registered. */
export function nativeKernelsActive(): boolean {
  return status?.active === true && previous.size > 0;
}

/** True when the native kernels are registered and the wasm backend is the active one (the fused ops run). */
export function nativeKernelsInUse(): boolean {
  return nativeKernelsActive() && tf.getBackend() === 'wasm';
}

/** The last {@link enableNativeKernels} result, if any. */
export function nativeKernelsStatus(): NativeKernelsStatus | undefined {
  return status;
}

// ---------------------------------------------------------------------------------------------------------------

type Pad = 'valid' | 'same' | number | tf.backend_util.ExplicitPadding;
type Rounding = 'floor' | 'round' | 'ceil' | undefined;
type Shape4 = [number, number, number, number];

function fallback(name: string, args: Args): tf.TensorInfo | tf.TensorInfo[] {
  const old = previous.get(name);
  if (!old) throw new Error(`${name}: no kernel for these inputs on wasm`);
  return old.kernelFunc(args);
}

function convParams(info: tf.backend_util.Conv2DInfo): Int32Array {
  return Int32Array.from([
    info.batchSize, info.inHeight, info.inWidth, info.inChannels, info.outHeight, info.outWidth, info.outChannels,
    info.filterHeight, info.filterWidth, info.strideHeight, info.strideWidth, info.dilationHeight, info.dilationWidth,
    info.padInfo.top, info.padInfo.left, info.padInfo.bottom, info.padInfo.right,
  ]);
}

function isNhwc(dataFormat: unknown): boolean {
  return dataFormat === undefined || dataFormat === 'NHWC' || dataFormat === 'channelsLast';
}

function allFloat(...ts: tf.TensorInfo[]): boolean {
  return ts.every((t) => t.dtype === 'float32');
}

function conv2D(args: Args): tf.TensorInfo | tf.TensorInfo[] {
  const { x, filter } = args.inputs as { x: tf.TensorInfo; filter: tf.TensorInfo };
  const a = args.attrs as { strides: [number, number] | number; pad: Pad; dataFormat: string; dilations: [number, number] | number; dimRoundingMode: Rounding };
  if (!allFloat(x, filter) || !isNhwc(a.dataFormat)) return fallback('Conv2D', args);
  const info = tf.backend_util.computeConv2DInfo(x.shape as Shape4, filter.shape as Shape4, a.strides, a.dilations, a.pad, a.dimRoundingMode, false, 'channelsLast');
  return run(args.backend as WasmHeapBackend, info.outShape, [x, filter], ([xv, wv], o) => loadAddon().conv2d(xv, wv, o, convParams(info)));
}

function conv2DBackpropInput(args: Args): tf.TensorInfo | tf.TensorInfo[] {
  const { dy, filter } = args.inputs as { dy: tf.TensorInfo; filter: tf.TensorInfo };
  const a = args.attrs as { strides: [number, number] | number; pad: Pad; dataFormat: string; dimRoundingMode: Rounding; inputShape: Shape4 };
  if (!allFloat(dy, filter) || !isNhwc(a.dataFormat)) return fallback('Conv2DBackpropInput', args);
  const info = tf.backend_util.computeConv2DInfo(a.inputShape, filter.shape as Shape4, a.strides, 1, a.pad, a.dimRoundingMode, false, 'channelsLast');
  return run(args.backend as WasmHeapBackend, info.inShape, [dy, filter], ([d, wv], o) => loadAddon().conv2dBackpropInput(d, wv, o, convParams(info)));
}

function conv2DBackpropFilter(args: Args): tf.TensorInfo | tf.TensorInfo[] {
  const { x, dy } = args.inputs as { x: tf.TensorInfo; dy: tf.TensorInfo };
  const a = args.attrs as { strides: [number, number] | number; pad: Pad; dataFormat: string; dimRoundingMode: Rounding; filterShape: Shape4 };
  if (!allFloat(x, dy) || !isNhwc(a.dataFormat)) return fallback('Conv2DBackpropFilter', args);
  const info = tf.backend_util.computeConv2DInfo(x.shape as Shape4, a.filterShape, a.strides, 1, a.pad, a.dimRoundingMode, false, 'channelsLast');
  return run(args.backend as WasmHeapBackend, info.filterShape, [x, dy], ([xv, d], o) => loadAddon().conv2dBackpropFilter(xv, d, o, convParams(info)));
}

type DepthwiseAttrs = tf.NamedAttrMap & { strides: [number, number] | number; pad: Pad; dilations: [number, number] | number; dimRoundingMode: Rounding };

function depthwise(args: Args): tf.TensorInfo | tf.TensorInfo[] {
  const { x, filter } = args.inputs as { x: tf.TensorInfo; filter: tf.TensorInfo };
  const a = args.attrs as DepthwiseAttrs;
  if (!allFloat(x, filter)) return fallback('DepthwiseConv2dNative', args);
  const info = tf.backend_util.computeConv2DInfo(x.shape as Shape4, filter.shape as Shape4, a.strides, a.dilations, a.pad, a.dimRoundingMode, true);
  return run(args.backend as WasmHeapBackend, info.outShape, [x, filter], ([xv, wv], o) => loadAddon().depthwiseConv2d(xv, wv, o, convParams(info)));
}

function depthwiseBackpropInput(args: Args): tf.TensorInfo | tf.TensorInfo[] {
  const { dy, filter } = args.inputs as { dy: tf.TensorInfo; filter: tf.TensorInfo };
  const a = args.attrs as DepthwiseAttrs & { inputShape: Shape4 };
  if (!allFloat(dy, filter)) return fallback('DepthwiseConv2dNativeBackpropInput', args);
  const info = tf.backend_util.computeConv2DInfo(a.inputShape, filter.shape as Shape4, a.strides, a.dilations, a.pad, a.dimRoundingMode, true);
  return run(args.backend as WasmHeapBackend, info.inShape, [dy, filter], ([d, wv], o) => loadAddon().depthwiseBackpropInput(d, wv, o, convParams(info)));
}

function depthwiseBackpropFilter(args: Args): tf.TensorInfo | tf.TensorInfo[] {
  const { x, dy } = args.inputs as { x: tf.TensorInfo; dy: tf.TensorInfo };
  const a = args.attrs as DepthwiseAttrs & { filterShape: Shape4 };
  if (!allFloat(x, dy)) return fallback('DepthwiseConv2dNativeBackpropFilter', args);
  const info = tf.backend_util.computeConv2DInfo(x.shape as Shape4, a.filterShape, a.strides, a.dilations, a.pad, a.dimRoundingMode, true);
  return run(args.backend as WasmHeapBackend, info.filterShape, [x, dy], ([xv, d], o) => loadAddon().depthwiseBackpropFilter(xv, d, o, convParams(info)));
}

function maxPool(args: Args): tf.TensorInfo | tf.TensorInfo[] {
  const { x } = args.inputs as { x: tf.TensorInfo };
  const a = args.attrs as { filterSize: [number, number] | number; strides: [number, number] | number; pad: Pad; dimRoundingMode: Rounding };
  if (!allFloat(x) || x.shape.length !== 4) return fallback('MaxPool', args);
  const info = tf.backend_util.computePool2DInfo(x.shape as Shape4, a.filterSize, a.strides, 1, a.pad, a.dimRoundingMode);
  return run(args.backend as WasmHeapBackend, info.outShape, [x], ([xv], o) => loadAddon().maxPool(xv, o, convParams(info)));
}

function maxPoolGrad(args: Args): tf.TensorInfo | tf.TensorInfo[] {
  const { dy, input, output } = args.inputs as { dy: tf.TensorInfo; input: tf.TensorInfo; output: tf.TensorInfo };
  const a = args.attrs as { filterSize: [number, number] | number; strides: [number, number] | number; pad: Pad; dimRoundingMode: Rounding };
  if (!allFloat(dy, input, output)) return fallback('MaxPoolGrad', args);
  const info = tf.backend_util.computePool2DInfo(input.shape as Shape4, a.filterSize, a.strides, 1, a.pad, a.dimRoundingMode);
  return run(args.backend as WasmHeapBackend, input.shape, [dy, input, output], ([d, xv, yv], o) => loadAddon().maxPoolGrad(d, xv, yv, o, convParams(info)));
}

function sum(args: Args): tf.TensorInfo | tf.TensorInfo[] {
  const { x } = args.inputs as { x: tf.TensorInfo };
  const a = args.attrs as { axis: number | number[]; keepDims: boolean };
  if (x.dtype !== 'float32') return fallback('Sum', args);
  const axes = [...new Set(tf.util.parseAxisParam(a.axis, x.shape))].sort((p, q) => p - q);
  // a contiguous block of axes: out[o, i] = sum_r x[o, r, i]
  if (axes.length === 0 || axes.some((ax, i) => i > 0 && ax !== axes[i - 1] + 1)) return fallback('Sum', args);
  const first = axes[0];
  const last = axes[axes.length - 1];
  const size = (from: number, to: number): number => x.shape.slice(from, to).reduce((p, q) => p * q, 1);
  const outer = size(0, first);
  const reduce = size(first, last + 1);
  const inner = size(last + 1, x.shape.length);
  const outShape = a.keepDims ? x.shape.map((d, i) => (axes.includes(i) ? 1 : d)) : x.shape.filter((_, i) => !axes.includes(i));
  return run(args.backend as WasmHeapBackend, outShape, [x], ([xv], o) => loadAddon().sumMiddle(xv, o, Int32Array.from([outer, reduce, inner])));
}

function batchMatMul(args: Args): tf.TensorInfo | tf.TensorInfo[] {
  const { a, b } = args.inputs as { a: tf.TensorInfo; b: tf.TensorInfo };
  const { transposeA, transposeB } = args.attrs as { transposeA: boolean; transposeB: boolean };
  if (!allFloat(a, b) || a.shape.length < 2 || b.shape.length < 2) return fallback('BatchMatMul', args);
  const { m, k, kb, n, outerA, outerB } = matMulDims(a, b, transposeA, transposeB);
  const batchA = outerA.reduce((p, q) => p * q, 1);
  const batchB = outerB.reduce((p, q) => p * q, 1);
  if (k !== kb || (batchA !== batchB && batchA !== 1 && batchB !== 1)) return fallback('BatchMatMul', args);
  const outer = tf.broadcast_util.assertAndGetBroadcastShape(outerA, outerB);
  // equal batch sizes with different batch shapes (e.g. [2, 3] vs [6]) are not a broadcast tfjs allows
  if (outer.reduce((p, q) => p * q, 1) !== Math.max(batchA, batchB)) return fallback('BatchMatMul', args);
  const p = Int32Array.from([batchA, batchB, m, k, n, transposeA ? 1 : 0, transposeB ? 1 : 0]);
  return run(args.backend as WasmHeapBackend, [...outer, m, n], [a, b], ([av, bv], o) => loadAddon().batchMatMul(av, bv, o, p));
}

/**
 * CorefaceBatchNormTrain: inputs {x, gamma?, beta, alpha?, runningMean?, runningVar?}, attrs {eps, momentum};
 * outputs [y, mean, variance (biased), rstd], the statistics over every axis but the last, and with the running
 * statistics given, their updated values [runningMean', runningVar'] (momentum * running + (1 - momentum) * batch,
 * the variance unbiased); with alpha, y is PReLU(alpha) of the batch-norm output. Used by ops.ts batchNorm and
 * batchNormPrelu in training mode.
 */
function batchNormTrain(args: Args): tf.TensorInfo[] {
  const { x, gamma, beta, alpha, runningMean, runningVar } = args.inputs as Record<'x' | 'beta', tf.TensorInfo> &
    Partial<Record<'gamma' | 'alpha' | 'runningMean' | 'runningVar', tf.TensorInfo>>;
  const { eps, momentum } = args.attrs as { eps: number; momentum: number };
  const b = args.backend as WasmHeapBackend;
  const c = x.shape[x.shape.length - 1];
  const withRunning = runningMean !== undefined && runningVar !== undefined;
  const { infos, views } = outputs(b, [x.shape, [c], [c], [c], ...(withRunning ? [[c], [c]] : [])]);
  const [y, mean, variance, rstd, rmOut, rvOut] = views;
  let running: Float32Array = EMPTY;
  let runningOut: Float32Array = EMPTY;
  if (withRunning) {
    running = bnRunning(heap(b, runningMean), heap(b, runningVar), momentum, tf.util.sizeFromShape(x.shape) / c);
    runningOut = new Float32Array(2 * c);
  }
  loadAddon().batchNormForward(heap(b, x), optional(b, gamma), heap(b, beta), optional(b, alpha), y, mean, variance, rstd, rowsChannels(x), eps, running, runningOut);
  if (withRunning) {
    rmOut.set(runningOut.subarray(0, c));
    rvOut.set(runningOut.subarray(c));
  }
  return infos;
}

/**
 * CorefaceBatchNormGrad: inputs {dy, x, mean, rstd, gamma?, beta?, alpha?}; outputs [dx, dgamma, dbeta] and, with
 * alpha (then beta is needed too: the batch-norm output is recomputed), dalpha.
 */
function batchNormGrad(args: Args): tf.TensorInfo[] {
  const { dy, x, mean, rstd, gamma, beta, alpha } = args.inputs as Record<'dy' | 'x' | 'mean' | 'rstd', tf.TensorInfo> & Partial<Record<'gamma' | 'beta' | 'alpha', tf.TensorInfo>>;
  const b = args.backend as WasmHeapBackend;
  const c = x.shape[x.shape.length - 1];
  const { infos, views } = outputs(b, [x.shape, [c], [c], ...(alpha ? [[c]] : [])]);
  const [dx, dgamma, dbeta, dalpha] = views;
  loadAddon().batchNormBackward(heap(b, dy), heap(b, x), heap(b, mean), heap(b, rstd), optional(b, gamma), optional(b, beta), optional(b, alpha),
    dx, dgamma, dbeta, dalpha ?? EMPTY, rowsChannels(x));
  return infos;
}

/**
 * CorefaceChannelAffine: inputs {x, mean, variance, gamma?, beta, alpha?}, attr eps; output
 * (x - mean) / sqrt(variance + eps) * gamma + beta over the last axis, then PReLU(alpha) when given: inference-mode
 * batch norm (and PReLU) in one pass.
 */
function channelAffine(args: Args): tf.TensorInfo {
  const { x, mean, variance, gamma, beta, alpha } = args.inputs as Record<'x' | 'mean' | 'variance' | 'beta', tf.TensorInfo> & Partial<Record<'gamma' | 'alpha', tf.TensorInfo>>;
  const { eps } = args.attrs as { eps: number };
  const b = args.backend as WasmHeapBackend;
  const out = b.makeOutput(x.shape, 'float32');
  loadAddon().channelAffine(heap(b, x), heap(b, mean), heap(b, variance), optional(b, gamma), heap(b, beta), optional(b, alpha), heap(b, out), rowsChannels(x), eps);
  return out;
}

/** CorefacePreluGrad: inputs {dy, x, alpha}; outputs [dx, dalpha]. */
function preluGrad(args: Args): tf.TensorInfo[] {
  const { dy, x, alpha } = args.inputs as { dy: tf.TensorInfo; x: tf.TensorInfo; alpha: tf.TensorInfo };
  const b = args.backend as WasmHeapBackend;
  const { infos, views: [dx, dalpha] } = outputs(b, [x.shape, alpha.shape]);
  loadAddon().preluBackward(heap(b, dy), heap(b, x), heap(b, alpha), dx, dalpha, rowsChannels(x));
  return infos;
}

/** Attributes of the fused cosine-margin cross-entropy kernels (src/backends/fused.ts). */
type MarginAttrs = { labels: number[]; target: number[] };

/** [B, E, C] of x [B, E] and weight [E, C]. */
function marginSizes(x: tf.TensorInfo, weight: tf.TensorInfo): Int32Array {
  return Int32Array.from([x.shape[0], x.shape[1], weight.shape[1]]);
}

/** CorefaceMarginCE: inputs {x, weight}, attrs {labels, target}; outputs [loss (scalar), logits, raw cosines]. */
function marginCE(args: Args): tf.TensorInfo[] {
  const { x, weight } = args.inputs as { x: tf.TensorInfo; weight: tf.TensorInfo };
  const a = args.attrs as MarginAttrs;
  const b = args.backend as WasmHeapBackend;
  const bc = [x.shape[0], weight.shape[1]];
  const { infos, views: [loss, logits, raw] } = outputs(b, [[], bc, bc]);
  loadAddon().marginCE(heap(b, x), heap(b, weight), loss, logits, raw, Int32Array.from(a.labels), marginSizes(x, weight), Float32Array.from(a.target));
  return infos;
}

/** CorefaceMarginCEGrad: inputs {x, weight, raw, dloss, dlogits}; outputs [dx, dweight]. */
function marginCEGrad(args: Args): tf.TensorInfo[] {
  const { x, weight, raw, dloss, dlogits } = args.inputs as Record<'x' | 'weight' | 'raw' | 'dloss' | 'dlogits', tf.TensorInfo>;
  const a = args.attrs as MarginAttrs;
  const b = args.backend as WasmHeapBackend;
  const { infos, views: [dx, dw] } = outputs(b, [x.shape, weight.shape]);
  loadAddon().marginCEGrad(heap(b, x), heap(b, weight), heap(b, raw), heap(b, dloss), heap(b, dlogits), dx, dw, Int32Array.from(a.labels),
    marginSizes(x, weight), Float32Array.from(a.target));
  return infos;
}

/** Attributes of the fused contrastive kernels: protocol and mask as indices (src/backends/fused.ts). */
type ContrastAttrs = { labels: number[]; protocol: number; mask: number; scale: number; margin: number };

function contrastParams(a: { shape: number[] }, attrs: ContrastAttrs): Int32Array {
  return Int32Array.from([a.shape[0], a.shape[1], attrs.protocol, attrs.mask]);
}

/** Anchor rows of a protocol index: N for one-way-n (0), else 2N. */
function contrastRows(a: { shape: number[] }, attrs: ContrastAttrs): number {
  return attrs.protocol === 0 ? a.shape[0] : 2 * a.shape[0];
}

/** CorefaceContrastStats: inputs {a, b} or {x} (a and b stacked, [2N, E]); outputs [pos, neg] per anchor row. */
function contrastStats(args: Args): tf.TensorInfo[] {
  const { a, b: bv, x } = args.inputs as Partial<Record<'a' | 'b' | 'x', tf.TensorInfo>>;
  const at = args.attrs as ContrastAttrs;
  const b = args.backend as WasmHeapBackend;
  const view = x ? { shape: [x.shape[0] / 2, x.shape[1]] } : a;
  if (!view || (!x && !bv)) throw new Error('CorefaceContrastStats: inputs are {a, b} or {x}');
  const rows = contrastRows(view, at);
  const { infos, views: [pos, neg] } = outputs(b, [[rows], [rows]]);
  const [av, bvv] = x ? halves(heap(b, x)) : [heap(b, a as tf.TensorInfo), heap(b, bv as tf.TensorInfo)];
  loadAddon().contrastStats(av, bvv, pos, neg, Int32Array.from(at.labels), contrastParams(view, at));
  return infos;
}

/** CorefaceContrastLoss: inputs {a, b}; output the scalar loss. */
function contrastLoss(args: Args): tf.TensorInfo {
  const { a, b: bv } = args.inputs as { a: tf.TensorInfo; b: tf.TensorInfo };
  const at = args.attrs as ContrastAttrs;
  const b = args.backend as WasmHeapBackend;
  return run(b, [], [a, bv], ([av, bvv], loss) =>
    loadAddon().contrastLoss(av, bvv, loss, Int32Array.from(at.labels), contrastParams(a, at), Float32Array.from([at.scale, at.margin])));
}

/** CorefaceContrastGrad: inputs {a, b, dloss}; outputs [da, db]. */
function contrastGrad(args: Args): tf.TensorInfo[] {
  const { a, b: bv, dloss } = args.inputs as { a: tf.TensorInfo; b: tf.TensorInfo; dloss: tf.TensorInfo };
  const at = args.attrs as ContrastAttrs;
  const b = args.backend as WasmHeapBackend;
  const { infos, views: [da, db] } = outputs(b, [a.shape, bv.shape]);
  loadAddon().contrastGrad(heap(b, a), heap(b, bv), heap(b, dloss), da, db, Int32Array.from(at.labels), contrastParams(a, at),
    Float32Array.from([at.scale, at.margin]));
  return infos;
}

/**
 * CorefaceDropout: input {x}, attrs {p, seed}; outputs [y, mask] with tfjs's mask for that seed (the same bits as
 * ops.ts dropout's tf.randomUniform on any backend) scaled by 1 / (1 - p), y = x * mask.
 */
function dropoutKernel(args: Args): tf.TensorInfo[] {
  const { x } = args.inputs as { x: tf.TensorInfo };
  const { p, seed } = args.attrs as { p: number; seed: number };
  const b = args.backend as WasmHeapBackend;
  const { infos, views: [y, mask] } = outputs(b, [x.shape, x.shape]);
  loadAddon().dropout(heap(b, x), y, mask, p, String(seed));
  return infos;
}

/**
 * CorefaceSgdStep: inputs {w0, g0, v0, w1, g1, v1, ...}, attrs {count, clip (0/1 per parameter), hyper [clipNorm, lr,
 * momentum, weightDecay]}; outputs [norms [clipped, total], w0', v0', w1', v1', ...] (src/backends/fused-sgd.ts).
 */
function sgdStep(args: Args): tf.TensorInfo[] {
  const { count, clip, hyper } = args.attrs as { count: number; clip: number[]; hyper: number[] };
  const b = args.backend as WasmHeapBackend;
  const ins = args.inputs as Record<string, tf.TensorInfo>;
  const params = Array.from({ length: count }, (_, i) => [ins[`w${i}`], ins[`g${i}`], ins[`v${i}`]]);
  // outputs [norms, w0', v0', w1', v1', ...], all allocated before any view is taken
  const { infos, views: [norms, ...wv] } = outputs(b, [[2], ...params.flatMap(([w]) => [w.shape, w.shape])]);
  const view = (t: tf.TensorInfo): Float32Array => heap(b, t);
  loadAddon().sgdStep(params.map((p) => view(p[0])), params.map((p) => view(p[1])), params.map((p) => view(p[2])),
    wv.filter((_, i) => i % 2 === 0), wv.filter((_, i) => i % 2 === 1), Int32Array.from(clip), Float64Array.from(hyper), norms);
  return infos;
}

/**
 * Identity without a copy: the output shares the input's data (reference-counted), as tfjs's cpu backend does.
 * tfjs clones every tensor a gradient saves through Identity, and wasm's copies it (~10% of a bench step).
 * Safe because tfjs never writes into an existing buffer (variables get new buffers on assign).
 */
function identity(args: Args): tf.TensorInfo | tf.TensorInfo[] {
  const { x } = args.inputs as { x: tf.TensorInfo };
  if (x.dtype === 'string') return fallback('Identity', args);
  (args.backend as WasmHeapBackend).incRef(x.dataId);
  return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
}

const KERNELS: tf.KernelConfig[] = [
  ...COMPOSITE_KERNELS,
  { kernelName: 'Identity', backendName: 'wasm', kernelFunc: identity },
  { kernelName: 'CorefaceSgdStep', backendName: 'wasm', kernelFunc: sgdStep },
  { kernelName: 'CorefaceDropout', backendName: 'wasm', kernelFunc: dropoutKernel },
  { kernelName: 'CorefaceBatchNormTrain', backendName: 'wasm', kernelFunc: batchNormTrain },
  { kernelName: 'CorefaceBatchNormGrad', backendName: 'wasm', kernelFunc: batchNormGrad },
  { kernelName: 'CorefaceChannelAffine', backendName: 'wasm', kernelFunc: channelAffine },
  { kernelName: 'CorefacePreluGrad', backendName: 'wasm', kernelFunc: preluGrad },
  { kernelName: 'CorefaceMarginCE', backendName: 'wasm', kernelFunc: marginCE },
  { kernelName: 'CorefaceMarginCEGrad', backendName: 'wasm', kernelFunc: marginCEGrad },
  { kernelName: 'CorefaceContrastStats', backendName: 'wasm', kernelFunc: contrastStats },
  { kernelName: 'CorefaceContrastLoss', backendName: 'wasm', kernelFunc: contrastLoss },
  { kernelName: 'CorefaceContrastGrad', backendName: 'wasm', kernelFunc: contrastGrad },
  { kernelName: 'Conv2D', backendName: 'wasm', kernelFunc: conv2D },
  { kernelName: 'Conv2DBackpropInput', backendName: 'wasm', kernelFunc: conv2DBackpropInput },
  { kernelName: 'Conv2DBackpropFilter', backendName: 'wasm', kernelFunc: conv2DBackpropFilter },
  { kernelName: 'DepthwiseConv2dNative', backendName: 'wasm', kernelFunc: depthwise },
  { kernelName: 'DepthwiseConv2dNativeBackpropInput', backendName: 'wasm', kernelFunc: depthwiseBackpropInput },
  { kernelName: 'DepthwiseConv2dNativeBackpropFilter', backendName: 'wasm', kernelFunc: depthwiseBackpropFilter },
  { kernelName: 'MaxPool', backendName: 'wasm', kernelFunc: maxPool },
  { kernelName: 'MaxPoolGrad', backendName: 'wasm', kernelFunc: maxPoolGrad },
  { kernelName: 'Sum', backendName: 'wasm', kernelFunc: sum },
  { kernelName: 'BatchMatMul', backendName: 'wasm', kernelFunc: batchMatMul },
];
