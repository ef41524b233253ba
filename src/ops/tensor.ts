/**
 * Generic tensor functions of the losses (heads, pair losses, the CoReFace loss): L2 normalisation, a numerically
 * stable softmax cross-entropy, the logit that takes an entry out of a softmax, and a tape-free copy.
 * None of them uses tf.gather, so every differentiated path has gradient kernels on the wasm backend.
 */
import * as tf from '@tensorflow/tfjs';
import type { LabelsLike } from '../util/labels';
import { oneHotTargets } from './labels';

/** Floor on squared norms in `l2Normalize` (keeps a zero vector finite: it maps to zero). */
export const NORM_EPSILON = 1e-12;

/**
 * The logit of an entry taken out of a softmax (the "-inf" of masked logits): finite, so exp underflows to exactly 0
 * in float32 and neither the value nor the gradient becomes NaN (a real -Infinity gives NaN in (-inf) - (-inf)).
 */
export const NEG_INF_LOGIT = -1e9;

/** x / max(||x||, 1e-6) along `axis` (1 = rows of a [B, E] batch, 0 = columns of an [E, C] weight). */
export function l2Normalize<T extends tf.Tensor>(x: T, axis: number): T {
  return tf.tidy(() => {
    const sq = tf.sum(tf.square(x), axis, true);
    return tf.div(x, tf.sqrt(tf.maximum(sq, NORM_EPSILON))) as T;
  });
}

/**
 * Mean over the batch of -log softmax(logits)[i, y_i], computed as -sum(oneHot * logSoftmax(logits)) / B
 * (stable: logSoftmax subtracts the row max; oneHot instead of gather keeps wasm gradients available).
 * Logits at {@link NEG_INF_LOGIT} contribute exp(.) = 0 and no NaN.
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

/**
 * A tensor with the same values as `t` that is NOT connected to the gradient tape (read back and re-uploaded):
 * the tfjs counterpart of PyTorch's `detach()`, for quantities the reference code computes under `no_grad`.
 */
export function detached<T extends tf.Tensor>(t: T): T {
  return tf.tensor(t.dataSync(), t.shape, t.dtype) as T;
}
