/**
 * Contrastive loss (Hadsell, Chopra, LeCun, "Dimensionality Reduction by Learning an Invariant Mapping",
 * CVPR 2006) over every unordered pair i < j of the batch, on L2-normalised embeddings:
 *
 *     same label:       1/2 d_ij^2
 *     different label:  1/2 max(0, margin - d_ij)^2,      d_ij = ||x^_i - x^_j|| = sqrt(2 - 2 cos_ij)
 *
 * averaged over the B (B - 1) / 2 pairs (0 for B = 1). d uses sqrt(max(d^2, 1e-12)) (finite gradient at d = 0).
 * Default margin 1 (workbench choice: on the unit sphere d is in [0, 2]; orthogonal vectors are at sqrt 2).
 */
import * as tf from '@tensorflow/tfjs';
import { checkNumber } from '../ops';
import { checkPairInputs, labelMasks, num, similarityMatrix, zeroLoss } from './common';
import { registerPairLoss } from './registry';
import { PairLoss } from './types';

/** Default margin of the contrastive loss. */
export const DEFAULT_CONTRASTIVE_MARGIN = 1;

/** Hadsell et al.'s contrastive loss over all pairs. */
export class ContrastiveLoss implements PairLoss {
  readonly name = 'contrastive';
  readonly margin: number;
  readonly options: Readonly<Record<string, number>>;

  constructor(opts: { margin?: number } = {}) {
    this.margin = checkNumber('margin', opts.margin ?? DEFAULT_CONTRASTIVE_MARGIN, (x) => x >= 0 && x <= 2, 'a number in [0, 2]');
    this.options = Object.freeze({ margin: this.margin });
  }

  compute(embeddings: tf.Tensor2D, labels: tf.Tensor1D): tf.Scalar {
    const y = checkPairInputs(this.name, embeddings, labels);
    const b = y.length;
    if (b < 2) return zeroLoss(embeddings);
    const { pos, neg } = labelMasks(y);
    const pairs = (b * (b - 1)) / 2;
    const upper = (m: number[][]): number[][] => m.map((r, i) => r.map((v, j) => (j > i ? v / pairs : 0)));
    return tf.tidy(() => {
      const d2 = tf.maximum(tf.sub(2, tf.mul(similarityMatrix(embeddings), 2)), 0);
      const d = tf.sqrt(tf.maximum(d2, 1e-12));
      const posTerm = tf.mul(tf.tensor2d(upper(pos)), d2);
      const negTerm = tf.mul(tf.tensor2d(upper(neg)), tf.square(tf.relu(tf.sub(this.margin, d))));
      return tf.mul(tf.add(tf.sum(posTerm), tf.sum(negTerm)), 0.5) as tf.Scalar;
    });
  }
}

registerPairLoss('contrastive', {
  description: 'pairwise: pull same-label pairs together, push different-label pairs beyond a margin',
  paper: 'Hadsell, Chopra, LeCun. Dimensionality Reduction by Learning an Invariant Mapping. CVPR 2006',
  defaults: { margin: DEFAULT_CONTRASTIVE_MARGIN },
  create: (o) => new ContrastiveLoss({ margin: num(o, 'margin') }),
});
