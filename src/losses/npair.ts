/**
 * Multi-class N-pair loss (Sohn, "Improved Deep Metric Learning with Multi-class N-pair Loss Objective",
 * NeurIPS 2016) on L2-normalised embeddings. Pairs are formed from the batch: for each label, in order of first
 * appearance, its first two samples are (anchor f_i, positive f+_i); other samples and labels seen once are not
 * used. With N pairs,
 *
 *     L = 1/N sum_i log(1 + sum_{j != i} exp(s f_i . f+_j - s f_i . f+_i))
 *
 * i.e. cross-entropy over the N x N matrix s F F+^T with the diagonal as targets (0 when N <= 1).
 * Default scale s = 1 (the paper's formula; the paper's L2 penalty on the embeddings is moot after
 * normalisation). Selection uses constant one-hot matrices (no gather).
 */
import * as tf from '@tensorflow/tfjs';
import { checkNumber, l2Normalize, softmaxCrossEntropy } from '../ops';
import { checkPairInputs, num, zeroLoss } from './common';
import { registerPairLoss } from './registry';
import { PairLoss } from './types';

/** Default scale of the N-pair logits. */
export const DEFAULT_NPAIR_SCALE = 1;

/** The (anchor, positive) indices N-pair uses for these labels. */
export function npairIndices(labels: ArrayLike<number>): { anchors: number[]; positives: number[] } {
  const first = new Map<number, number>();
  const anchors: number[] = [];
  const positives: number[] = [];
  const done = new Set<number>();
  for (let i = 0; i < labels.length; i++) {
    const l = labels[i];
    if (done.has(l)) continue;
    const f = first.get(l);
    if (f === undefined) first.set(l, i);
    else {
      anchors.push(f);
      positives.push(i);
      done.add(l);
    }
  }
  return { anchors, positives };
}

/** Sohn's multi-class N-pair loss. */
export class NPairLoss implements PairLoss {
  readonly name = 'npair';
  readonly scale: number;
  readonly options: Readonly<Record<string, number>>;

  constructor(opts: { scale?: number } = {}) {
    this.scale = checkNumber('scale', opts.scale ?? DEFAULT_NPAIR_SCALE, (x) => x > 0, 'a positive number');
    this.options = Object.freeze({ scale: this.scale });
  }

  compute(embeddings: tf.Tensor2D, labels: tf.Tensor1D): tf.Scalar {
    const y = checkPairInputs(this.name, embeddings, labels);
    const b = y.length;
    const { anchors, positives } = npairIndices(y);
    const n = anchors.length;
    if (n < 2) return zeroLoss(embeddings);
    return tf.tidy(() => {
      const e = l2Normalize(embeddings, 1);
      const oneHot = (idx: number[]): tf.Tensor2D => tf.tensor2d(idx.map((i) => Array.from({ length: b }, (_, j) => (j === i ? 1 : 0))));
      const fa = tf.matMul(oneHot(anchors), e);
      const fp = tf.matMul(oneHot(positives), e);
      const logits = tf.mul(tf.matMul(fa, fp, false, true), this.scale) as tf.Tensor2D;
      return softmaxCrossEntropy(logits, Array.from({ length: n }, (_, i) => i));
    });
  }
}

registerPairLoss('npair', {
  description: 'multi-class N-pair: each anchor against its positive and the other pairs\' positives',
  paper: 'Sohn. Improved Deep Metric Learning with Multi-class N-pair Loss Objective. NeurIPS 2016',
  defaults: { scale: DEFAULT_NPAIR_SCALE },
  create: (o) => new NPairLoss({ scale: num(o, 'scale') }),
});
