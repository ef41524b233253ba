/**
 * NT-Xent, the normalised temperature-scaled cross-entropy of SimCLR (Chen, Kornblith, Norouzi, Hinton, "A Simple
 * Framework for Contrastive Learning of Visual Representations", ICML 2020), on L2-normalised embeddings:
 *
 *     l(i, p) = -log( exp(cos_ip / T) / sum_{k != i} exp(cos_ik / T) )
 *
 * - `computeViews(v1, v2)`: SimCLR proper. The 2N rows are [v1; v2]; the positive of v1_i is v2_i and vice versa;
 *   every other row is a negative. L = mean over the 2N anchors.
 * - `compute(x, labels)`: every ordered pair (i, p), i != p, with the same label is a positive pair;
 *   L = mean of l(i, p) over all such pairs (0 if none). With labels that put each sample with exactly its other
 *   view this equals `computeViews`. (SupCon differs in averaging per anchor first.)
 *
 * Default temperature T = 0.1.
 */
import * as tf from '@tensorflow/tfjs';
import { checkNumber } from '../ops';
import { checkPairInputs, contrastLogProb, labelMasks, num, zeroLoss } from './common';
import { registerPairLoss } from './registry';
import { PairLoss } from './types';

/** Default NT-Xent temperature. */
export const DEFAULT_NTXENT_TEMPERATURE = 0.1;

/** SimCLR's NT-Xent, with a label-driven generalisation in `compute`. */
export class NTXentLoss implements PairLoss {
  readonly name = 'ntxent';
  readonly temperature: number;
  readonly options: Readonly<Record<string, number>>;

  constructor(opts: { temperature?: number } = {}) {
    this.temperature = checkNumber('temperature', opts.temperature ?? DEFAULT_NTXENT_TEMPERATURE, (x) => x > 0, 'a positive number');
    this.options = Object.freeze({ temperature: this.temperature });
  }

  compute(embeddings: tf.Tensor2D, labels: tf.Tensor1D): tf.Scalar {
    const y = checkPairInputs(this.name, embeddings, labels);
    const { pos } = labelMasks(y);
    const count = pos.reduce((s, r) => s + r.reduce((a, v) => a + v, 0), 0);
    if (count === 0) return zeroLoss(embeddings);
    return tf.tidy(() => {
      const lp = contrastLogProb(embeddings, this.temperature);
      return tf.div(tf.neg(tf.sum(tf.mul(tf.tensor2d(pos), lp))), count) as tf.Scalar;
    });
  }

  /** SimCLR: v1 [N, E] and v2 [N, E] are two views of the same N samples (row i of each). */
  computeViews(v1: tf.Tensor2D, v2: tf.Tensor2D): tf.Scalar {
    if (v1.rank !== 2 || v2.rank !== 2 || v1.shape[0] !== v2.shape[0] || v1.shape[1] !== v2.shape[1]) {
      throw new Error(`${this.name}: views must both be [N, E], got [${v1.shape}] and [${v2.shape}]`);
    }
    const n = v1.shape[0];
    return tf.tidy(() => {
      const ids = Array.from({ length: n }, (_, i) => i);
      return this.compute(tf.concat([v1, v2], 0) as tf.Tensor2D, tf.tensor1d([...ids, ...ids], 'int32'));
    });
  }
}

registerPairLoss('ntxent', {
  description: 'SimCLR NT-Xent: temperature-scaled cross-entropy of each positive against all other samples',
  paper: 'Chen, Kornblith, Norouzi, Hinton. A Simple Framework for Contrastive Learning of Visual Representations. ICML 2020',
  defaults: { temperature: DEFAULT_NTXENT_TEMPERATURE },
  create: (o) => new NTXentLoss({ temperature: num(o, 'temperature') }),
});
