/**
 * Fused losses on the native kernels (native-kernels.ts, native/coreface_native.cc): the cross-entropy of the
 * cosine margin heads (normalisation, cosine matrix, label-column target, log-softmax) and CoReFace's contrastive
 * term, each one kernel forward and one backward instead of ~50 small tfjs kernels (issue 5: with native
 * convolutions, per-kernel overhead of these small ops was most of CoReFace's extra step time).
 *
 * The heads (heads/base.ts) and the contrastive loss (coreface/contrastive.ts) call these only while
 * {@link nativeKernelsInUse}; on any other backend, or without the addon, they run the same equations as tfjs
 * ops. Tests hold values and gradients to 1e-4 of the cpu backend (test/backends/fused.test.ts).
 *
 * Composite kernels (native-composite.ts) go one step further for CoReFace's two views: the whole training-mode neck
 * (ops.ts neckTrainComposite) and the whole two-view objective ({@link fusedTwoViewObjective}) as one kernel each
 * way, bit for bit the single kernels' results. {@link setCompositeKernels} turns them off to compare both paths.
 */
import * as tf from '@tensorflow/tfjs';
import { nativeKernelsInUse } from './native-kernels';
import { compositeKernelsAvailable } from './native-composite';
import { CONTRASTIVE_MASKS, CONTRASTIVE_PROTOCOLS, type ContrastiveMask, type ContrastiveProtocol } from '../ops/coreface-options';

/**
 * The label column of a cosine margin head as the fused kernel computes it, c = clipped cos t_y:
 * phi(c) = alpha c - beta sqrt(max(1 - c^2, 1e-12)) - gamma; with `easy`, c - fallback where c <= threshold.
 * ArcFace: alpha cos m, beta sin m; CosFace: alpha 1, gamma m; NormFace: alpha 1.
 */
export interface MarginTarget {
  /** Scale s of every logit. */
  scale: number;
  alpha: number;
  beta: number;
  gamma: number;
  /** insightface's ArcFace correction (threshold cos(pi - m), fallback m sin(pi - m)), or none. */
  easy?: { threshold: number; fallback: number };
}

function targetAttr(t: MarginTarget): number[] {
  return [t.scale, t.alpha, t.beta, t.gamma, t.easy ? 1 : 0, t.easy?.threshold ?? 0, t.easy?.fallback ?? 0];
}

let registered = false;

/** Registers the gradients of the two differentiable fused kernels (once; they are global in tfjs). */
function registerGradients(): void {
  if (registered) return;
  registered = true;
  tf.registerGradient({
    kernelName: 'CorefaceMarginCE',
    inputsToSave: ['x', 'weight'],
    outputsToSave: [false, false, true],
    gradFunc: (dys: tf.Tensor | tf.Tensor[], saved: tf.Tensor[], attrs?: tf.NamedAttrMap) => {
      const [dloss, dlogits] = dys as tf.Tensor[];
      const [x, weight, raw] = saved;
      const [dx, dw] = tf.engine().runKernel('CorefaceMarginCEGrad', { x, weight, raw, dloss, dlogits }, attrs) as tf.Tensor[];
      return { x: () => dx, weight: () => dw };
    },
  });
  tf.registerGradient({
    kernelName: 'CorefaceContrastLoss',
    inputsToSave: ['a', 'b'],
    gradFunc: (dloss: tf.Tensor | tf.Tensor[], saved: tf.Tensor[], attrs?: tf.NamedAttrMap) => {
      const [a, b] = saved;
      const [da, db] = tf.engine().runKernel('CorefaceContrastGrad', { a, b, dloss: dloss as tf.Tensor }, attrs) as tf.Tensor[];
      return { a: () => da, b: () => db };
    },
  });
}

/** True when the fused kernels can run now (native kernels registered, wasm backend active). */
export function fusedLossesAvailable(): boolean {
  return nativeKernelsInUse();
}

let composites = true;

/**
 * Turns the composite kernels (the training neck and the two-view objective in one kernel each way) on or off and
 * returns the previous setting. Default on; off, the same equations run as the single fused kernels, with the same
 * results bit for bit (tests and the bench compare both paths).
 */
export function setCompositeKernels(on: boolean): boolean {
  const prev = composites;
  composites = on;
  return prev;
}

/** True when the composite kernels run now: the native kernels are in use and {@link setCompositeKernels} is on. */
export function compositeKernelsInUse(): boolean {
  return composites && nativeKernelsInUse() && compositeKernelsAvailable();
}

/**
 * Mean cross-entropy of the margin logits s * (label column phi(cos t_y), elsewhere cos t_j), cos t =
 * normalize(x) . normalize(weight) clipped to [-1, 1], and the margin-free logits s cos t. `labels` must already be
 * checked to lie in [0, numClasses). Differentiable in x and weight. Only while {@link fusedLossesAvailable}.
 */
export function fusedMarginCE(x: tf.Tensor2D, weight: tf.Tensor2D, labels: Int32Array, target: MarginTarget): { loss: tf.Scalar; logits: tf.Tensor2D } {
  registerGradients();
  const [loss, logits, raw] = tf.engine().runKernel(
    'CorefaceMarginCE', { x, weight }, { labels: Array.from(labels), target: targetAttr(target) },
  ) as tf.Tensor[];
  raw.dispose(); // the tape keeps its own copy for the gradient
  return { loss: loss as tf.Scalar, logits: logits as tf.Tensor2D };
}

/** What the fused contrastive kernels need besides the two views. */
export interface FusedContrastSpec {
  labels: Int32Array;
  protocol: ContrastiveProtocol;
  mask: ContrastiveMask;
}

/** The kernel attributes: protocol and mask as indices into the lists of src/ops/coreface-options.ts. */
function contrastAttrs(spec: FusedContrastSpec, scale = 0, margin = 0): tf.NamedAttrMap {
  return {
    labels: Array.from(spec.labels), protocol: CONTRASTIVE_PROTOCOLS.indexOf(spec.protocol), mask: CONTRASTIVE_MASKS.indexOf(spec.mask), scale, margin,
  };
}

/** Two views as the contrastive kernels take them: a pair of [N, E] tensors, or one [2N, E] with view 1's rows first. */
export type TwoViews = [tf.Tensor2D, tf.Tensor2D] | tf.Tensor2D;

/**
 * The adaptive-margin statistics of contrastive.ts per anchor row: pos = S[r, p(r)], neg = max(0, largest
 * similarity to a negative), read back as arrays (no gradient).
 */
export function fusedContrastStats(views: TwoViews, spec: FusedContrastSpec): { pos: Float32Array; neg: Float32Array } {
  const inputs: tf.NamedTensorMap = Array.isArray(views) ? { a: views[0], b: views[1] } : { x: views };
  const outs = tf.engine().runKernel('CorefaceContrastStats', inputs, contrastAttrs(spec)) as tf.Tensor[];
  const [pos, neg] = outs.map((t) => t.dataSync() as Float32Array);
  tf.dispose(outs);
  return { pos, neg };
}

/** The contrastive loss mean_r CE(s (S[r] - m e_p(r)), p(r)) with the given margin; differentiable in a and b. */
export function fusedContrastLoss(a: tf.Tensor2D, b: tf.Tensor2D, spec: FusedContrastSpec, scale: number, margin: number): tf.Scalar {
  registerGradients();
  return tf.engine().runKernel('CorefaceContrastLoss', { a, b }, contrastAttrs(spec, scale, margin)) as tf.Scalar;
}

/** The contrastive term as {@link fusedTwoViewObjective} takes it: the spec, scale and the margin of this batch. */
export interface FusedContrastTerm {
  spec: FusedContrastSpec;
  scale: number;
  margin: number;
}

/** What {@link fusedTwoViewObjective} returns; every tensor is owned by the caller. */
export interface FusedTwoViewObjective {
  total: tf.Scalar;
  ce1: tf.Scalar;
  ce2: tf.Scalar;
  /** The contrastive term, 0 without one. */
  con12: tf.Scalar;
  /** Margin-free logits of view 1. */
  logits1: tf.Tensor2D;
}

/**
 * CoReFace's objective on two views in one kernel each way: total = w1 CE(x1) + w2 CE(x2) + wC L_con(x1 -> x2), the
 * cosine-margin CE of {@link fusedMarginCE} on each view with the same weight, and the contrastive loss of
 * {@link fusedContrastLoss} (skipped when `contrast` is null), summed in float32 as tfjs's addN of the products.
 * `views` holds x1 and x2 stacked, [2B, E] with x1's rows first (the composite neck's output; the kernel reads both
 * in place). `weights` = [w1, w2, wC, wC2]; wC2 multiplies a constant 0 (the reverse term is not computed here).
 * `total` is differentiable in views and weight; the terms and logits are for logging and accuracy (a gradient
 * through them throws: their kernel has none). Only while {@link compositeKernelsInUse}.
 */
export function fusedTwoViewObjective(
  views: tf.Tensor2D, weight: tf.Tensor2D, labels: Int32Array, target: MarginTarget,
  weights: [number, number, number, number], contrast: FusedContrastTerm | null,
): FusedTwoViewObjective {
  const c = contrast ? contrastAttrs(contrast.spec, contrast.scale, contrast.margin) : { protocol: 0, mask: 0, scale: 0, margin: 0 };
  const attrs: tf.NamedAttrMap = { ...c, labels: Array.from(labels), target: targetAttr(target), weights, contrast: contrast ? 1 : 0 };
  // The kernel's outputs are ordinary tensors of the caller's scope; the differentiable total is a clone of its first
  // output made inside a custom gradient, so the backward pass gets one dy and no zero-filled gradients of the others.
  const [value, ce1, ce2, con12, logits1, raw] = tf.engine().runKernel('CorefaceTwoViewObjective', { x: views, weight }, attrs) as tf.Tensor[];
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [x, w] = args as tf.Tensor[];
    (args[2] as tf.GradSaveFunc)([x, w, raw]);
    return {
      value: tf.clone(value),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [sx, sw, sraw] = saved;
        return tf.engine().runKernel('CorefaceTwoViewObjectiveGrad', { x: sx, weight: sw, raw: sraw, dtotal: dy }, attrs) as tf.Tensor[];
      },
    };
  });
  const total = op(views, weight) as tf.Scalar;
  tf.dispose([value, raw]);
  return { total, ce1: ce1 as tf.Scalar, ce2: ce2 as tf.Scalar, con12: con12 as tf.Scalar, logits1: logits1 as tf.Tensor2D };
}
