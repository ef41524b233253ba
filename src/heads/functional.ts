/**
 * Pure tensor functions of the cosine heads: the clipped cosine matrix, the ArcFace target cos(t + m) (written once
 * here; the fused native kernel has its own, tested against it) and the margin logits of NormFace, CosFace and
 * ArcFace. Generic pieces (normalisation, label checks, cross-entropy) are in src/ops.
 * None of them uses tf.gather, so every differentiated path has gradient kernels on the wasm backend.
 */
import * as tf from '@tensorflow/tfjs';
import type { LabelsLike } from '../util/labels';
import { checkBoolean, checkNumber, checkScale, l2Normalize, oneHotTargets } from '../ops';
import type { MarginTarget } from '../backends/fused';

/** Default scale s of the cosine heads (ArcFace, CosFace, NormFace papers and insightface). */
export const DEFAULT_SCALE = 64;
/** Default additive angular margin of ArcFace (Deng et al., CVPR 2019). */
export const DEFAULT_ARCFACE_MARGIN = 0.5;
/** Default additive cosine margin of CosFace (Wang et al., CVPR 2018). */
export const DEFAULT_COSFACE_MARGIN = 0.35;
/**
 * Floor on 1 - cos^2 inside the square root of ArcFace's sin t. At cos t = +-1 the exact sqrt has an infinite
 * derivative; with the floor the value changes by at most 1e-6 and the gradient through the floored branch is 0.
 */
export const SIN_EPSILON = 1e-12;

/**
 * cos t_j = normalize(x) . normalize(W_j): embeddings [B, E] normalised along E, weight [E, C] normalised along E
 * (per column), result [B, C] clipped to [-1, 1].
 */
export function cosineLogits(embeddings: tf.Tensor2D, weight: tf.Tensor2D): tf.Tensor2D {
  if (embeddings.rank !== 2 || weight.rank !== 2 || embeddings.shape[1] !== weight.shape[0]) {
    throw new Error(
      `embeddings [B, E] and weight [E, C] must agree on E, got [${embeddings.shape}] and [${weight.shape}]`,
    );
  }
  return tf.tidy(() =>
    tf.clipByValue(tf.matMul(l2Normalize(embeddings, 1), l2Normalize(weight, 0)), -1, 1) as tf.Tensor2D,
  );
}

function checkCosine(cosine: tf.Tensor2D): void {
  if (cosine.rank !== 2) throw new Error(`cosine must be a [B, C] matrix, got shape [${cosine.shape}]`);
}

/** Options of `arcfaceLogits`. */
export interface ArcFaceLogitsOptions {
  /** Scale s; default 64 (`DEFAULT_SCALE`). */
  scale?: number;
  /** Additive angular margin m in radians, 0 <= m < pi; default 0.5 (`DEFAULT_ARCFACE_MARGIN`). */
  margin?: number;
  /**
   * Apply the insightface correction where cos(t + m) stops being monotone in t: when cos t_y <= cos(pi - m)
   * the target becomes cos t_y - sin(pi - m) * m (= cos t_y - m sin m) instead of cos(t_y + m). Default false:
   * the CoReFace reference uses plain cos(t_y + m) everywhere.
   */
  easyMargin?: boolean;
}

/** Checks an ArcFace margin: a finite number in [0, pi). */
export function checkArcMargin(margin: unknown, field = 'margin'): number {
  return checkNumber(field, margin, (x) => x >= 0 && x < Math.PI, 'a number in [0, pi)');
}

/** Checks a CosFace margin: a finite number in [0, 2]. */
export function checkCosMargin(margin: unknown, field = 'margin'): number {
  return checkNumber(field, margin, (x) => x >= 0 && x <= 2, 'a number in [0, 2]');
}

/**
 * The ArcFace target cos(t + m) = cos t cos m - sin t sin m for a [B] vector of cosines, sin t =
 * sqrt(max(1 - cos^2 t, 1e-12)) (finite gradient at cos t = +-1). `margin` is a number (cos m and sin m computed in
 * double precision, as {@link arcMarginTarget} gives them to the fused kernel) or a per-sample [B] tensor. With
 * `easyMargin`, rows with cos t <= cos(pi - m) get insightface's cos t - m sin m instead (switched by `tf.step`,
 * which has a zero gradient: comparison ops have no gradient function).
 */
export function arcTarget(cosY: tf.Tensor1D, margin: number | tf.Tensor1D, easyMargin = false): tf.Tensor1D {
  return tf.tidy(() => {
    const cosM = typeof margin === 'number' ? Math.cos(margin) : tf.cos(margin);
    const sinM = typeof margin === 'number' ? Math.sin(margin) : tf.sin(margin);
    const sinY = tf.sqrt(tf.maximum(tf.sub(1, tf.square(cosY)), SIN_EPSILON));
    let phi = tf.sub(tf.mul(cosY, cosM), tf.mul(sinY, sinM));
    if (easyMargin) {
      // keep = 1 where cos t > cos(pi - m) (= -cos m), else 0; fallback cos t - sin(pi - m) m (= cos t - m sin m)
      const keep = tf.step(tf.sub(cosY, typeof margin === 'number' ? Math.cos(Math.PI - margin) : tf.neg(cosM)));
      const fallback = tf.sub(cosY, typeof margin === 'number' ? Math.sin(Math.PI - margin) * margin : tf.mul(sinM, margin));
      phi = tf.add(tf.mul(keep, phi), tf.mul(tf.sub(1, keep), fallback));
    }
    return phi as tf.Tensor1D;
  });
}

/**
 * {@link arcTarget} with scale s as the coefficients of the fused kernel's label column (src/backends/fused.ts:
 * phi = alpha c - beta sin t - gamma): alpha = cos m, beta = sin m, gamma = 0; with `easyMargin`, the fallback
 * c - sin(pi - m) m at and below cos(pi - m).
 */
export function arcMarginTarget(scale: number, margin: number, easyMargin: boolean): MarginTarget {
  const easy = easyMargin ? { threshold: Math.cos(Math.PI - margin), fallback: Math.sin(Math.PI - margin) * margin } : undefined;
  return { scale, alpha: Math.cos(margin), beta: Math.sin(margin), gamma: 0, easy };
}

/**
 * ArcFace logits (Deng et al., "ArcFace: Additive Angular Margin Loss for Deep Face Recognition", CVPR 2019):
 * s * cos(t_y + m) in the label column, s * cos t_j elsewhere. cos(t + m) is computed as
 * cos t cos m - sin t sin m with sin t = sqrt(max(1 - cos^2 t, 1e-12)) (finite gradient at cos t = +-1).
 * With `easyMargin`, targets with cos t_y <= cos(pi - m) use cos t_y - sin(pi - m) m. Defaults s = 64, m = 0.5,
 * easyMargin = false. `cosine` is [B, C] in [-1, 1]; labels one per row.
 */
export function arcfaceLogits(cosine: tf.Tensor2D, labels: LabelsLike, opts: ArcFaceLogitsOptions = {}): tf.Tensor2D {
  const scale = opts.scale ?? DEFAULT_SCALE;
  const margin = opts.margin ?? DEFAULT_ARCFACE_MARGIN;
  const easy = opts.easyMargin ?? false;
  checkScale(scale);
  checkArcMargin(margin);
  checkBoolean('easyMargin', easy);
  checkCosine(cosine);
  const [b, c] = cosine.shape;
  return tf.tidy(() => {
    const oh = oneHotTargets(labels, b, c);
    const cosY = tf.sum(tf.mul(cosine, oh), 1) as tf.Tensor1D; // [B], no gather
    const phi = arcTarget(cosY, margin, easy);
    const delta = tf.reshape(tf.sub(phi, cosY), [b, 1]);
    return tf.mul(tf.add(cosine, tf.mul(oh, delta)), scale) as tf.Tensor2D;
  });
}

/** Options of `cosfaceLogits`. */
export interface CosFaceLogitsOptions {
  /** Scale s; default 64 (`DEFAULT_SCALE`). */
  scale?: number;
  /** Additive cosine margin m, 0 <= m <= 2; default 0.35 (`DEFAULT_COSFACE_MARGIN`). */
  margin?: number;
}

/**
 * CosFace / AM-Softmax logits (Wang et al., "CosFace: Large Margin Cosine Loss for Deep Face Recognition",
 * CVPR 2018): s * (cos t_y - m) in the label column, s * cos t_j elsewhere. Defaults s = 64, m = 0.35.
 */
export function cosfaceLogits(cosine: tf.Tensor2D, labels: LabelsLike, opts: CosFaceLogitsOptions = {}): tf.Tensor2D {
  const scale = opts.scale ?? DEFAULT_SCALE;
  const margin = opts.margin ?? DEFAULT_COSFACE_MARGIN;
  checkScale(scale);
  checkCosMargin(margin);
  checkCosine(cosine);
  const [b, c] = cosine.shape;
  return tf.tidy(() => {
    const oh = oneHotTargets(labels, b, c);
    return tf.mul(tf.sub(cosine, tf.mul(oh, margin)), scale) as tf.Tensor2D;
  });
}

/** Options of `normfaceLogits`. */
export interface NormFaceLogitsOptions {
  /** Scale s; default 64 (`DEFAULT_SCALE`). */
  scale?: number;
}

/**
 * NormFace logits (Wang et al., "NormFace: L2 Hypersphere Embedding for Face Verification", ACM MM 2017):
 * s * cos t_j for every class, no margin. Default s = 64.
 */
export function normfaceLogits(cosine: tf.Tensor2D, opts: NormFaceLogitsOptions = {}): tf.Tensor2D {
  const scale = opts.scale ?? DEFAULT_SCALE;
  checkScale(scale);
  checkCosine(cosine);
  return tf.tidy(() => tf.mul(cosine, scale) as tf.Tensor2D);
}

