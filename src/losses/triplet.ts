/**
 * Triplet loss with semi-hard negative mining (Schroff, Kalenichenko, Philbin, "FaceNet: A Unified Embedding for
 * Face Recognition and Clustering", CVPR 2015), online over the batch, on L2-normalised embeddings with squared
 * Euclidean distances D = 2 - 2 cos (as FaceNet):
 *
 *     for every ordered anchor-positive pair (a, p), a != p, same label:
 *       n* = argmin { D_an : label n != label a, D_an > D_ap }        (semi-hard)
 *            or, when no such negative exists, argmax { D_an }        (the TF-Addons rule)
 *       loss_ap = max(D_ap - D_an* + margin, 0)
 *     L = mean over the pairs (anchors without a negative are skipped; 0 when no pair is left)
 *
 * Mining reads the distances (no gradient through the choice); the chosen D_an* is picked with a constant one-hot
 * matrix (no gather). Default margin 0.2 (FaceNet's alpha).
 */
import * as tf from '@tensorflow/tfjs';
import { checkNumber } from '../ops';
import { checkPairInputs, num, similarityMatrix, zeroLoss } from './common';
import { registerPairLoss } from './registry';
import { PairLoss } from './types';

/** FaceNet's triplet margin alpha (squared distances on the unit sphere). */
export const DEFAULT_TRIPLET_MARGIN = 0.2;

/** Triplet loss with online semi-hard mining. */
export class TripletSemiHardLoss implements PairLoss {
  readonly name = 'triplet';
  readonly margin: number;
  readonly options: Readonly<Record<string, number>>;

  constructor(opts: { margin?: number } = {}) {
    this.margin = checkNumber('margin', opts.margin ?? DEFAULT_TRIPLET_MARGIN, (x) => x >= 0, 'a number >= 0');
    this.options = Object.freeze({ margin: this.margin });
  }

  compute(embeddings: tf.Tensor2D, labels: tf.Tensor1D): tf.Scalar {
    const y = checkPairInputs(this.name, embeddings, labels);
    const b = y.length;
    return tf.tidy(() => {
      const dist = tf.maximum(tf.sub(2, tf.mul(similarityMatrix(embeddings), 2)), 0) as tf.Tensor2D;
      const D = dist.arraySync();
      const anchors: number[] = [];
      const positives: number[] = [];
      const negatives: number[] = [];
      for (let a = 0; a < b; a++) {
        for (let p = 0; p < b; p++) {
          if (p === a || y[p] !== y[a]) continue;
          let semi = -1, far = -1;
          for (let n = 0; n < b; n++) {
            if (y[n] === y[a]) continue;
            if (D[a][n] > D[a][p] && (semi < 0 || D[a][n] < D[a][semi])) semi = n;
            if (far < 0 || D[a][n] > D[a][far]) far = n;
          }
          if (far < 0) continue;
          anchors.push(a);
          positives.push(p);
          negatives.push(semi >= 0 ? semi : far);
        }
      }
      if (anchors.length === 0) return zeroLoss(embeddings);
      const oneHot = (idx: number[]): tf.Tensor2D => tf.tensor2d(idx.map((i) => Array.from({ length: b }, (_, j) => (j === i ? 1 : 0))));
      const rows = tf.matMul(oneHot(anchors), dist); // [T, B]: the anchors' distance rows
      const dap = tf.sum(tf.mul(rows, oneHot(positives)), 1);
      const dan = tf.sum(tf.mul(rows, oneHot(negatives)), 1);
      return tf.mean(tf.relu(tf.add(tf.sub(dap, dan), this.margin))) as tf.Scalar;
    });
  }
}

registerPairLoss('triplet', {
  description: 'triplet loss with online semi-hard negative mining (squared distances on the unit sphere)',
  paper: 'Schroff, Kalenichenko, Philbin. FaceNet: A Unified Embedding for Face Recognition and Clustering. CVPR 2015',
  defaults: { margin: DEFAULT_TRIPLET_MARGIN },
  create: (o) => new TripletSemiHardLoss({ margin: num(o, 'margin') }),
});
