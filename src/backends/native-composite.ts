/**
 * Composite native kernels (issue 17): the embedding neck and the CoReFace objective, each one tfjs kernel forward
 * and one backward that make several addon calls in a row, instead of ~10-20 tfjs kernels with their tape entries,
 * saved-tensor clones and gradient additions. On the quick preset those per-kernel costs were most of CoReFace's extra
 * step time over ArcFace (28 of the 58 extra kernel calls were the second view's neck, 24 the objective's terms).
 *
 * Both run the SAME addon functions on the same inputs in the same order as the single kernels they replace
 * (native-kernels.ts, composed by ops.ts and fused.ts), and do the few remaining elementwise steps (a dropout mask
 * times a gradient, the sum of two views' gradients, the objective's weighted sum) in float32 exactly as the wasm
 * kernels did, so results are bit for bit those of the single-kernel path (test/backends/composite.test.ts). With two
 * or more threads the objective runs view 1's CE on one thread while view 2's CE and the contrastive term run on the
 * other (the addon's twoViewObjective[Grad]: each part is the single kernels' serial code, so the results stay the
 * same): those small kernels are serial, and at 2 threads they were most of CoReFace's extra step time.
 *
 * - CorefaceNeckTrain: inputs {h [B, D], fc [D, E], beta [E], runningMean [E], runningVar [E]}, attrs {p, seeds,
 *   momentum, eps}; per view v (one per seed): d_v = dropout_p(h; seed_v) (h itself when p = 0), z_v = d_v fc,
 *   x_v = BN1d(z_v) with gamma 1, the running statistics updated view after view. Outputs [x (V B x E, the views
 *   stacked), runningMean', runningVar', z, mean (V x E), rstd (V x E), d (V B x D), mask (V B x D)]; d and mask are
 *   empty ([0]) when p = 0.
 * - CorefaceNeckTrainGrad: inputs {dx, h, fc, z, mean, rstd, d, mask}, attr p; outputs [dh, dfc, dbeta] summed over
 *   the views.
 *   With two views and a small neck both go to the addon's neckPair[Grad], which runs the views one per thread when
 *   there are two (each view the single kernels' code, the running statistics and the sums of the views' gradients
 *   after the region in the same order; the matmuls on per-thread oneDNN streams and scratchpads): at 2 threads the
 *   second view's neck was most of CoReFace's extra step time, and a small neck's matmuls gain nothing from a second
 *   thread.
 * - CorefaceTwoViewObjective: inputs {x (x1 and x2 stacked, 2B x E: the neck's output as is), weight}, attrs
 *   {labels, target, weights [w1, w2, wC, wC2], contrast (0/1), protocol, mask, scale, margin}: total = w1 CE(x1) +
 *   w2 CE(x2) + wC L_con(x1 -> x2) + wC2 * 0 (the margin CE of the cosine heads and the contrastive loss of fused.ts,
 *   accumulated as tfjs's addN of the four products). Outputs [total, ce1, ce2, con12, logits1, raw (2B x C)].
 *   CorefaceTwoViewObjectiveGrad: inputs {x, weight, raw, dtotal}, the same attrs; outputs [dx (2B x E), dweight]
 *   of dtotal * total.
 */
import * as tf from '@tensorflow/tfjs';
import { EMPTY, bnRunning, halves, heap, loadAddon, outputs, type Args, type NativeAddon, type WasmHeapBackend } from './native-addon';

/** Reusable scratch arrays by name (kernels run one at a time; the addon accepts any Float32Array). */
const scratch = new Map<string, Float32Array>();

function temp(name: string, size: number, zero = false): Float32Array {
  let a = scratch.get(name);
  if (!a || a.length < size) {
    a = new Float32Array(size);
    scratch.set(name, a);
  } else if (zero) {
    a.fill(0, 0, size);
  }
  return a.subarray(0, size);
}

/** Row block v of a [V * rows, cols] array. */
function block(a: Float32Array, v: number, size: number): Float32Array {
  return a.subarray(v * size, (v + 1) * size);
}

/** The matmul parameters of the addon for op(a) [m, k] @ op(b) [k, n], batch 1 (as tf.matMul on 2-D tensors). */
function mm(m: number, k: number, n: number, ta: boolean, tb: boolean): Int32Array {
  return Int32Array.from([1, 1, m, k, n, ta ? 1 : 0, tb ? 1 : 0]);
}

/** The functions the composite kernels need beyond the single kernels' (absent from addons built before them). */
type CompositeAddon = NativeAddon & Required<Pick<NativeAddon, 'addInPlace' | 'mulMask' | 'twoViewObjective' | 'twoViewObjectiveGrad'>>;

function hasComposite(a: NativeAddon): a is CompositeAddon {
  return typeof a.addInPlace === 'function' && typeof a.mulMask === 'function' && typeof a.twoViewObjective === 'function' &&
    typeof a.twoViewObjectiveGrad === 'function';
}

/** The addon with the composite kernels' functions. */
function compositeAddon(): CompositeAddon {
  const a = loadAddon();
  if (!hasComposite(a)) throw new Error('the native addon predates the composite kernels: rebuild it (node native/build.js --force)');
  return a;
}

/** Whether the loaded addon has what the composite kernels need (an addon built before them does not). */
export function compositeKernelsAvailable(): boolean {
  return hasComposite(loadAddon());
}

type NeckAttrs = { p: number; seeds: number[]; momentum: number; eps: number };

/** Necks up to this many multiply-adds per view's matmul run their two views one per thread (a larger one's matmuls use every thread). */
const PAIR_MAX_MACS = 1 << 24;

/** An addon with the neck's two-view functions (absent from addons built before them). */
type PairAddon = NativeAddon & Required<Pick<NativeAddon, 'neckPair' | 'neckPairGrad'>>;

/**
 * The addon when the neck's two views go to neckPair[Grad] (one per thread with two threads or more, one after the
 * other at one thread: the second thread buys a small neck's matmuls nothing): two views, a small neck, and an addon
 * that has them; else null.
 */
function pairAddon(views: number, b: number, d: number, e: number): PairAddon | null {
  if (views !== 2 || b * d * e > PAIR_MAX_MACS) return null;
  const a = loadAddon();
  return typeof a.neckPair === 'function' && typeof a.neckPairGrad === 'function' ? (a as PairAddon) : null;
}

function neckTrain(args: Args): tf.TensorInfo[] {
  const { h, fc, beta, runningMean, runningVar } = args.inputs as Record<'h' | 'fc' | 'beta' | 'runningMean' | 'runningVar', tf.TensorInfo>;
  const { p, seeds, momentum, eps } = args.attrs as NeckAttrs;
  const b = args.backend as WasmHeapBackend;
  const [B, D] = h.shape;
  const E = fc.shape[1];
  const V = seeds.length;
  const drop = p > 0;
  const { infos, views } = outputs(b, [[V * B, E], [E], [E], [V * B, E], [V, E], [V, E], drop ? [V * B, D] : [0], drop ? [V * B, D] : [0]]);
  const [x, rmOut, rvOut, z, mean, rstd, d, mask] = views;
  const hv = heap(b, h);
  const fcv = heap(b, fc);
  const betav = heap(b, beta);
  const pair = pairAddon(V, B, D, E);
  if (pair) {
    // both views at once, one per thread; the running statistics updated view after view inside
    const running = bnRunning(heap(b, runningMean).slice(), heap(b, runningVar).slice(), momentum, B);
    const runningOut = new Float32Array(2 * E);
    const [d1, d2] = drop ? [block(d, 0, B * D), block(d, 1, B * D)] : [EMPTY, EMPTY];
    const [m1, m2] = drop ? [block(mask, 0, B * D), block(mask, 1, B * D)] : [EMPTY, EMPTY];
    pair.neckPair([hv, fcv, betav, d1, d2, m1, m2, block(z, 0, B * E), block(z, 1, B * E), block(x, 0, B * E), block(x, 1, B * E),
      block(mean, 0, E), block(mean, 1, E), temp('neck/variance', E), temp('neck/variance2', E), block(rstd, 0, E), block(rstd, 1, E),
      running, runningOut], Int32Array.from([B, D, E, drop ? 1 : 0]), p, String(seeds[0]), String(seeds[1]), eps);
    rmOut.set(runningOut.subarray(0, E));
    rvOut.set(runningOut.subarray(E));
    return infos;
  }
  const addon = loadAddon();
  let rm = heap(b, runningMean).slice();
  let rv = heap(b, runningVar).slice();
  const variance = temp('neck/variance', E);
  const runningOut = new Float32Array(2 * E);
  for (let v = 0; v < V; v++) {
    let input = hv;
    if (drop) {
      input = block(d, v, B * D);
      addon.dropout(hv, input, block(mask, v, B * D), p, String(seeds[v]));
    }
    const zv = block(z, v, B * E);
    addon.batchMatMul(input, fcv, zv, mm(B, D, E, false, false));
    addon.batchNormForward(zv, EMPTY, betav, EMPTY, block(x, v, B * E), block(mean, v, E), variance, block(rstd, v, E),
      Int32Array.from([B, E]), eps, bnRunning(rm, rv, momentum, B), runningOut);
    rm = runningOut.slice(0, E);
    rv = runningOut.slice(E);
  }
  rmOut.set(rm);
  rvOut.set(rv);
  return infos;
}

function neckTrainGrad(args: Args): tf.TensorInfo[] {
  const { dx, h, fc, z, mean, rstd, d, mask } = args.inputs as Record<'dx' | 'h' | 'fc' | 'z' | 'mean' | 'rstd' | 'd' | 'mask', tf.TensorInfo>;
  const b = args.backend as WasmHeapBackend;
  const [B, D] = h.shape;
  const E = fc.shape[1];
  const V = mean.shape[0];
  const drop = d.shape[0] > 0;
  const { infos, views } = outputs(b, [[B, D], [D, E], [E]]);
  const [dh, dfc, dbeta] = views;
  const [dxv, hv, fcv, zv, meanv, rstdv, dv, maskv] = [dx, h, fc, z, mean, rstd, d, mask].map((t) => heap(b, t));
  const pair = pairAddon(V, B, D, E);
  if (pair) {
    pair.neckPairGrad([dxv, hv, fcv, zv, meanv, rstdv, drop ? dv : EMPTY, drop ? maskv : EMPTY, dh, dfc, dbeta,
      temp('neck/dz', B * E), temp('neck/dz2', B * E), temp('neck/dgamma', E), temp('neck/dgamma2', E), temp('neck/dd', B * D),
      temp('neck/dd2', B * D), temp('neck/dfc', D * E), temp('neck/dbeta', E)], Int32Array.from([B, D, E, drop ? 1 : 0]));
    return infos;
  }
  const addon = compositeAddon();
  const dz = temp('neck/dz', B * E);
  const dgamma = temp('neck/dgamma', E);
  for (let v = 0; v < V; v++) {
    // the first view writes the outputs, later ones a scratch array added to them (as the tape adds two gradients)
    const first = v === 0;
    const dbv = first ? dbeta : temp('neck/dbeta', E);
    addon.batchNormBackward(block(dxv, v, B * E), block(zv, v, B * E), block(meanv, v, E), block(rstdv, v, E), EMPTY, EMPTY, EMPTY,
      dz, dgamma, dbv, EMPTY, Int32Array.from([B, E]));
    const dfv = first ? dfc : temp('neck/dfc', D * E);
    addon.batchMatMul(drop ? block(dv, v, B * D) : hv, dz, dfv, mm(D, B, E, true, false));
    const dd = first && !drop ? dh : temp('neck/dd', B * D);
    addon.batchMatMul(dz, fcv, dd, mm(B, E, D, false, true));
    if (drop) addon.mulMask(dh, dd, block(maskv, v, B * D), !first);
    else if (!first) addon.addInPlace(dh, dd);
    if (!first) {
      addon.addInPlace(dfc, dfv);
      addon.addInPlace(dbeta, dbv);
    }
  }
  return infos;
}

type ObjectiveAttrs = {
  labels: number[]; target: number[]; weights: number[]; contrast: number; protocol: number; mask: number; scale: number; margin: number;
};

/** The last four arguments of the addon's two-view functions: labels, [B, E, C, contrast (0/1), protocol, mask], target, [s, m]. */
function objectiveArgs(x: tf.TensorInfo, weight: tf.TensorInfo, a: ObjectiveAttrs): [Int32Array, Int32Array, Float32Array, Float32Array] {
  return [Int32Array.from(a.labels), Int32Array.from([x.shape[0] / 2, x.shape[1], weight.shape[1], a.contrast ? 1 : 0, a.protocol, a.mask]),
    Float32Array.from(a.target), Float32Array.of(a.scale, a.margin)];
}

function twoViewObjective(args: Args): tf.TensorInfo[] {
  const { x, weight } = args.inputs as Record<'x' | 'weight', tf.TensorInfo>;
  const a = args.attrs as ObjectiveAttrs;
  const b = args.backend as WasmHeapBackend;
  const B = x.shape[0] / 2;
  const C = weight.shape[1];
  const { infos, views } = outputs(b, [[], [], [], [], [B, C], [2 * B, C]]);
  const [total, ce1, ce2, con12, logits1, raw] = views;
  const terms = Float32Array.of(0, 0, 0);
  // CE on view 1, and CE on view 2 + the contrastive term, on two threads when there are two (same results)
  compositeAddon().twoViewObjective(...halves(heap(b, x)), heap(b, weight), terms, logits1, temp('objective/logits2', B * C),
    ...halves(raw), ...objectiveArgs(x, weight, a));
  [ce1[0], ce2[0], con12[0]] = terms;
  // tfjs: addN([mul(ce1, w1), mul(ce2, w2), mul(con12, wC), mul(0, wC2)]), each product and partial sum in float32
  const w = Float32Array.from(a.weights);
  let t = 0;
  for (let i = 0; i < 4; i++) t = Math.fround(t + Math.fround((i < 3 ? terms[i] : 0) * w[i]));
  total[0] = t;
  return infos;
}

function twoViewObjectiveGrad(args: Args): tf.TensorInfo[] {
  const { x, weight, raw, dtotal } = args.inputs as Record<'x' | 'weight' | 'raw' | 'dtotal', tf.TensorInfo>;
  const a = args.attrs as ObjectiveAttrs;
  const b = args.backend as WasmHeapBackend;
  const E = x.shape[1];
  const B = x.shape[0] / 2;
  const C = weight.shape[1];
  const { infos, views } = outputs(b, [x.shape, [E, C]]);
  const [dx, dw] = views;
  const [raw1, raw2] = halves(heap(b, raw));
  const dt = heap(b, dtotal)[0];
  // the gradient of term i is dtotal * w_i (tfjs's Multiply gradient); the logits carry none (zeros, as tfjs passes)
  const dterms = Float32Array.from(a.weights.slice(0, 3), (wi) => dt * Math.fround(wi));
  compositeAddon().twoViewObjectiveGrad(...halves(heap(b, x)), heap(b, weight), raw1, raw2, dterms,
    temp('objective/zeros', B * C, true), ...halves(dx), dw, ...objectiveArgs(x, weight, a));
  return infos;
}

/** The composite kernels, registered for the wasm backend with the single native kernels. */
export const COMPOSITE_KERNELS: tf.KernelConfig[] = [
  { kernelName: 'CorefaceNeckTrain', backendName: 'wasm', kernelFunc: neckTrain },
  { kernelName: 'CorefaceNeckTrainGrad', backendName: 'wasm', kernelFunc: neckTrainGrad },
  { kernelName: 'CorefaceTwoViewObjective', backendName: 'wasm', kernelFunc: twoViewObjective },
  { kernelName: 'CorefaceTwoViewObjectiveGrad', backendName: 'wasm', kernelFunc: twoViewObjectiveGrad },
];
