/**
 * The training objective with a pair loss (config `pairLoss`, docs/losses.md):
 *
 *     total = headWeight * headLoss + weight * pair(embeddings, labels)
 *
 * `headLoss` is the head's CE (one view) or the CoReFace objective with its CE weights w1, w2 already scaled by
 * headWeight (two views; then headWeight = 1 here and `embeddings` is view 1).
 */
import * as tf from '@tensorflow/tfjs';
import type { PairLoss } from '../losses';

/** Weights of the combined objective (config `pairLoss.weight` and `pairLoss.headWeight`). */
export interface PairObjectiveWeights {
  /** Weight of the pair loss, >= 0. */
  weight: number;
  /** Weight of the head loss, >= 0 (0 = the pair loss alone). */
  headWeight: number;
}

/** Result of `pairObjective`; both tensors are owned by the caller. */
export interface PairObjectiveResult {
  /** headWeight * headLoss + weight * pair. */
  total: tf.Scalar;
  /** The unweighted pair loss (recorded as the `pair` term). */
  pair: tf.Scalar;
}

/** The combined objective of a head loss and a pair loss over `embeddings` [B, E] with `labels` [B]. */
export function pairObjective(
  loss: PairLoss,
  headLoss: tf.Scalar,
  embeddings: tf.Tensor2D,
  labels: tf.Tensor1D,
  w: PairObjectiveWeights,
): PairObjectiveResult {
  for (const k of ['weight', 'headWeight'] as const) {
    const v = w[k];
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) throw new Error(`${k} must be a finite non-negative number, got ${String(v)}`);
  }
  return tf.tidy(() => {
    const pair = loss.compute(embeddings, labels);
    const total = tf.add(tf.mul(headLoss, w.headWeight), tf.mul(pair, w.weight)) as tf.Scalar;
    return { total, pair };
  });
}

/** Whether a batch with these labels holds at least one positive pair (two samples of one identity). */
export function hasPositivePair(labels: ArrayLike<number>): boolean {
  const seen = new Set<number>();
  for (let i = 0; i < labels.length; i++) {
    if (seen.has(labels[i])) return true;
    seen.add(labels[i]);
  }
  return false;
}
