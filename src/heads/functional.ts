/**
 * Pure tensor functions shared by the heads and the CoReFace loss: L2 normalisation, the clipped cosine matrix,
 * margin logits (NormFace, CosFace, ArcFace) and a numerically stable softmax cross-entropy.
 * None of them uses tf.gather, so every differentiated path has gradient kernels on the wasm backend.
 */
import * as tf from '@tensorflow/tfjs';
import { LabelsLike, labelsArray } from '../util/labels';

/** Default scale s of the cosine heads (ArcFace, CosFace, NormFace papers and insightface). */
export const DEFAULT_SCALE = 64;
/** Default additive angular margin of ArcFace (Deng et al., CVPR 2019). */
export const DEFAULT_ARCFACE_MARGIN = 0.5;
/** Default additive cosine margin of CosFace (Wang et al., CVPR 2018). */
export const DEFAULT_COSFACE_MARGIN = 0.35;
/** Floor on squared norms in `l2Normalize` (keeps a zero vector finite: it maps to zero). */
export const NORM_EPSILON = 1e-12;
/**
 * Floor on 1 - cos^2 inside the square root of ArcFace's sin t. At cos t = +-1 the exact sqrt has an infinite
 * derivative; with the floor the value changes by at most 1e-6 and the gradient through the floored branch is 0.
 */
export const SIN_EPSILON = 1e-12;

/** x / max(||x||, 1e-6) along `axis` (1 = rows of a [B, E] batch, 0 = columns of an [E, C] weight). */
export function l2Normalize<T extends tf.Tensor>(x: T, axis: number): T {
  return tf.tidy(() => {
    const sq = tf.sum(tf.square(x), axis, true);
    return tf.div(x, tf.sqrt(tf.maximum(sq, NORM_EPSILON))) as T;
  });
}

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

/**
 * Labels as an Int32Array after checking every value is a non-negative integer (before any integer conversion,
 * so 0.5 or -1 are reported rather than truncated). Reads tensor labels synchronously.
 */
export function checkedLabels(labels: LabelsLike): Int32Array {
  const raw: ArrayLike<number> = labels instanceof tf.Tensor ? labels.dataSync() : labels;
  if (labels instanceof tf.Tensor && labels.rank !== 1) throw new Error(`labels must be rank 1, got rank ${labels.rank}`);
  for (let i = 0; i < raw.length; i++) {
    const v = raw[i];
    if (!Number.isInteger(v) || v < 0) throw new Error(`labels must be non-negative integers, got ${v} at index ${i}`);
  }
  return labelsArray(labels);
}

/**
 * Labels as an Int32Array after checking there is one per row and each is an integer in [0, numClasses).
 * Reads tensor labels synchronously (B integers).
 */
export function classLabels(labels: LabelsLike, batch: number, numClasses: number): Int32Array {
  const arr = checkedLabels(labels);
  if (arr.length !== batch) throw new Error(`labels must have one entry per row (${batch}), got ${arr.length}`);
  for (let i = 0; i < arr.length; i++) {
    const v = arr[i];
    if (v >= numClasses) {
      throw new Error(`labels must be integers in [0, ${numClasses}), got ${v} at index ${i}`);
    }
  }
  return arr;
}

/**
 * One-hot float32 [B, C] targets from labels, after checking them with {@link classLabels}.
 */
export function oneHotTargets(labels: LabelsLike, batch: number, numClasses: number): tf.Tensor2D {
  const arr = classLabels(labels, batch, numClasses);
  return tf.tidy(() => tf.cast(tf.oneHot(tf.tensor1d(arr, 'int32'), numClasses), 'float32') as tf.Tensor2D);
}

/** Validation shared by the option checks: a positive finite scale. */
export function checkScale(scale: number, field = 'scale'): void {
  if (typeof scale !== 'number' || !Number.isFinite(scale) || scale <= 0) {
    throw new Error(`${field} must be a positive finite number, got ${String(scale)}`);
  }
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
export function checkArcMargin(margin: number, field = 'margin'): void {
  if (typeof margin !== 'number' || !Number.isFinite(margin) || margin < 0 || margin >= Math.PI) {
    throw new Error(`${field} must be a number in [0, pi), got ${String(margin)}`);
  }
}

/** Checks a CosFace margin: a finite number in [0, 2]. */
export function checkCosMargin(margin: number, field = 'margin'): void {
  if (typeof margin !== 'number' || !Number.isFinite(margin) || margin < 0 || margin > 2) {
    throw new Error(`${field} must be a number in [0, 2], got ${String(margin)}`);
  }
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
  if (typeof easy !== 'boolean') throw new Error(`easyMargin must be a boolean, got ${String(easy)}`);
  checkCosine(cosine);
  const [b, c] = cosine.shape;
  return tf.tidy(() => {
    const oh = oneHotTargets(labels, b, c);
    const cosY = tf.sum(tf.mul(cosine, oh), 1); // [B], no gather
    const sinY = tf.sqrt(tf.maximum(tf.sub(1, tf.square(cosY)), SIN_EPSILON));
    let phi = tf.sub(tf.mul(cosY, Math.cos(margin)), tf.mul(sinY, Math.sin(margin)));
    if (easy) {
      const threshold = Math.cos(Math.PI - margin);
      const fallback = tf.sub(cosY, Math.sin(Math.PI - margin) * margin);
      // step() instead of greater(): comparison ops have no gradient function, step has a zero one
      const keep = tf.step(tf.sub(cosY, threshold)); // 1 where cos t_y > cos(pi - m), else 0
      phi = tf.add(tf.mul(keep, phi), tf.mul(tf.sub(1, keep), fallback));
    }
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

/**
 * Mean over the batch of -log softmax(logits)[i, y_i], computed as -sum(oneHot * logSoftmax(logits)) / B
 * (stable: logSoftmax subtracts the row max; oneHot instead of gather keeps wasm gradients available).
 * Logits at a very negative finite constant (e.g. -1e9) contribute exp(.) = 0 and no NaN.
 */
export function softmaxCrossEntropy(logits: tf.Tensor2D, labels: LabelsLike): tf.Scalar {
  if (logits.rank !== 2) throw new Error(`logits must be a [B, C] matrix, got shape [${logits.shape}]`);
  const [b, c] = logits.shape;
  if (b === 0) throw new Error('logits must have at least one row');
  return tf.tidy(() => {
    const oh = oneHotTargets(labels, b, c);
    return tf.div(tf.neg(tf.sum(tf.mul(oh, tf.logSoftmax(logits, 1)))), b) as tf.Scalar;
  });
}
