/**
 * Supervised contrastive loss SupCon, L_out variant (Khosla, Teterwak, Wang, Sarna, Tian, Isola, Maschinot, Liu,
 * Krishnan, "Supervised Contrastive Learning", NeurIPS 2020), on L2-normalised embeddings:
 *
 *     L = mean over anchors i with P(i) != {} of  -1/|P(i)| sum_{p in P(i)} log( exp(cos_ip / T) / sum_{a != i} exp(cos_ia / T) )
 *
 * P(i) = the other samples with i's label (0 when no anchor has one). Default temperature T = 0.1. The paper's
 * formula is used as is: the reference code's extra factor T / 0.07 (`base_temperature`) is not applied.
 */
import * as tf from '@tensorflow/tfjs';
import { checkNumber } from '../ops';
import { checkPairInputs, contrastLogProb, labelMasks, num, zeroLoss } from './common';
import { registerPairLoss } from './registry';
import { PairLoss } from './types';

/** Default SupCon temperature. */
export const DEFAULT_SUPCON_TEMPERATURE = 0.1;

/** Khosla et al.'s supervised contrastive loss (L_out). */
export class SupConLoss implements PairLoss {
  readonly name = 'supcon';
  readonly temperature: number;
  readonly options: Readonly<Record<string, number>>;

  constructor(opts: { temperature?: number } = {}) {
    this.temperature = checkNumber('temperature', opts.temperature ?? DEFAULT_SUPCON_TEMPERATURE, (x) => x > 0, 'a positive number');
    this.options = Object.freeze({ temperature: this.temperature });
  }

  compute(embeddings: tf.Tensor2D, labels: tf.Tensor1D): tf.Scalar {
    const y = checkPairInputs(this.name, embeddings, labels);
    const { pos } = labelMasks(y);
    const sizes = pos.map((r) => r.reduce((a, v) => a + v, 0));
    const anchors = sizes.filter((s) => s > 0).length;
    if (anchors === 0) return zeroLoss(embeddings);
    const weights = pos.map((r, i) => r.map((v) => (sizes[i] > 0 ? v / sizes[i] / anchors : 0)));
    return tf.tidy(() => {
      const lp = contrastLogProb(embeddings, this.temperature);
      return tf.neg(tf.sum(tf.mul(tf.tensor2d(weights), lp))) as tf.Scalar;
    });
  }
}

registerPairLoss('supcon', {
  description: 'supervised contrastive (L_out): every same-label sample is a positive, averaged per anchor',
  paper: 'Khosla et al. Supervised Contrastive Learning. NeurIPS 2020',
  defaults: { temperature: DEFAULT_SUPCON_TEMPERATURE },
  create: (o) => new SupConLoss({ temperature: num(o, 'temperature') }),
});
