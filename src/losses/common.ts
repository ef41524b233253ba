/** Shared pieces of the pair losses: input checks, the cosine-similarity matrix, label masks, option readers. */
import * as tf from '@tensorflow/tfjs';
import { checkedLabels, l2Normalize, NEG_INF_LOGIT } from '../ops';

/** Checks embeddings [B, E] with B >= 1 and labels [B] of non-negative integers; returns the labels. */
export function checkPairInputs(name: string, embeddings: tf.Tensor2D, labels: tf.Tensor1D): Int32Array {
  if (embeddings.rank !== 2 || embeddings.shape[0] < 1) {
    throw new Error(`${name}: embeddings must be a [B, E] matrix with B >= 1, got shape [${embeddings.shape}]`);
  }
  if (labels.rank !== 1 || labels.shape[0] !== embeddings.shape[0]) {
    throw new Error(`${name}: labels must be [${embeddings.shape[0]}], got [${labels.shape}]`);
  }
  return checkedLabels(labels);
}

/** S = clip(x^ x^T, -1, 1), [B, B], on L2-normalised rows. */
export function similarityMatrix(embeddings: tf.Tensor2D): tf.Tensor2D {
  return tf.tidy(() => {
    const e = l2Normalize(embeddings, 1);
    return tf.clipByValue(tf.matMul(e, e, false, true), -1, 1) as tf.Tensor2D;
  });
}

/** Positive mask (same label, i != j) and negative mask (different label) as plain arrays [B][B] of 0/1. */
export function labelMasks(labels: Int32Array): { pos: number[][]; neg: number[][] } {
  const b = labels.length;
  const pos: number[][] = [];
  const neg: number[][] = [];
  for (let i = 0; i < b; i++) {
    pos.push([]);
    neg.push([]);
    for (let j = 0; j < b; j++) {
      pos[i].push(i !== j && labels[i] === labels[j] ? 1 : 0);
      neg[i].push(labels[i] !== labels[j] ? 1 : 0);
    }
  }
  return { pos, neg };
}

/** A zero scalar still connected to `embeddings` (so gradients exist and are zero) for batches without pairs. */
export function zeroLoss(embeddings: tf.Tensor2D): tf.Scalar {
  return tf.tidy(() => tf.mul(tf.sum(embeddings), 0) as tf.Scalar);
}

/** Reads a number option from resolved options. */
export function num(opts: Record<string, number | boolean>, key: string): number {
  const v = opts[key];
  if (typeof v !== 'number') throw new Error(`${key} must be a number, got ${String(v)}`);
  return v;
}

/**
 * log p_ij = S_ij / T - log sum_{k != i} exp(S_ik / T) for j != i (the diagonal is masked out of the denominator;
 * its own entry is a large negative finite number and must be multiplied by a zero weight), [B, B].
 */
export function contrastLogProb(embeddings: tf.Tensor2D, temperature: number): tf.Tensor2D {
  return tf.tidy(() => {
    const b = embeddings.shape[0];
    const logits = tf.add(tf.div(similarityMatrix(embeddings), temperature), tf.mul(tf.eye(b), NEG_INF_LOGIT));
    return tf.sub(logits, tf.logSumExp(logits, 1, true)) as tf.Tensor2D;
  });
}
