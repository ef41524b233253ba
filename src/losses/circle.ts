/**
 * Circle loss (Sun, Cheng, Zhang, Zhang, Zheng, Wang, Wei, "Circle Loss: A Unified Perspective of Pair Similarity
 * Optimization", CVPR 2020), pair-label form, one term per anchor, on cosine similarities of L2-normalised
 * embeddings:
 *
 *     alpha_p = max(1 + m - s_p, 0),  alpha_n = max(s_n + m, 0)       (constants: detached, as in the common implementations)
 *     L_i = softplus( logsumexp_{n in N(i)} gamma alpha_n (s_n - m) + logsumexp_{p in P(i)} -gamma alpha_p (s_p - (1 - m)) )
 *         = log(1 + sum_n exp(gamma alpha_n (s_n - m)) sum_p exp(-gamma alpha_p (s_p - 1 + m)))
 *     L   = mean over anchors with at least one positive and one negative (0 if none)
 *
 * P(i) = other samples with i's label, N(i) = samples with another label. Defaults m = 0.25, gamma = 256.
 * Masked entries are set to NEG_INF_LOGIT (-1e9) before the log-sum-exp (finite, no NaN).
 */
import * as tf from '@tensorflow/tfjs';
import { NEG_INF_LOGIT, checkNumber, detached } from '../ops';
import { checkPairInputs, labelMasks, num, similarityMatrix, zeroLoss } from './common';
import { registerPairLoss } from './registry';
import { PairLoss } from './types';

/** Circle-loss defaults (the paper's face-recognition setting). */
export const CIRCLE_DEFAULTS = { margin: 0.25, gamma: 256 } as const;

/** Sun et al.'s circle loss. */
export class CircleLoss implements PairLoss {
  readonly name = 'circle';
  readonly margin: number;
  readonly gamma: number;
  readonly options: Readonly<Record<string, number>>;

  constructor(opts: { margin?: number; gamma?: number } = {}) {
    this.margin = checkNumber('margin', opts.margin ?? CIRCLE_DEFAULTS.margin, (x) => x >= 0 && x <= 1, 'a number in [0, 1]');
    this.gamma = checkNumber('gamma', opts.gamma ?? CIRCLE_DEFAULTS.gamma, (x) => x > 0, 'a positive number');
    this.options = Object.freeze({ margin: this.margin, gamma: this.gamma });
  }

  compute(embeddings: tf.Tensor2D, labels: tf.Tensor1D): tf.Scalar {
    const y = checkPairInputs(this.name, embeddings, labels);
    const { pos, neg } = labelMasks(y);
    const active = pos.map((r, i) => (r.some((v) => v > 0) && neg[i].some((v) => v > 0) ? 1 : 0));
    const count = active.reduce((a: number, v) => a + v, 0);
    if (count === 0) return zeroLoss(embeddings);
    const m = this.margin;
    return tf.tidy(() => {
      const s = similarityMatrix(embeddings);
      const sc = detached(s);
      const P = tf.tensor2d(pos);
      const N = tf.tensor2d(neg);
      const ap = tf.relu(tf.sub(1 + m, sc));
      const an = tf.relu(tf.add(sc, m));
      const masked = (v: tf.Tensor, mask: tf.Tensor): tf.Tensor => tf.add(tf.mul(v, mask), tf.mul(tf.sub(1, mask), NEG_INF_LOGIT));
      const lp = masked(tf.mul(tf.mul(ap, tf.sub(s, 1 - m)), -this.gamma), P);
      const ln = masked(tf.mul(tf.mul(an, tf.sub(s, m)), this.gamma), N);
      const per = tf.softplus(tf.add(tf.logSumExp(ln, 1), tf.logSumExp(lp, 1)));
      return tf.div(tf.sum(tf.mul(per, tf.tensor1d(active))), count) as tf.Scalar;
    });
  }
}

registerPairLoss('circle', {
  description: 'circle loss: self-paced weighting of positive and negative similarities with margin m and scale gamma',
  paper: 'Sun et al. Circle Loss: A Unified Perspective of Pair Similarity Optimization. CVPR 2020',
  defaults: { ...CIRCLE_DEFAULTS },
  create: (o) => new CircleLoss({ margin: num(o, 'margin'), gamma: num(o, 'gamma') }),
});
