/**
 * CosFace / AM-Softmax head (Wang et al., "CosFace: Large Margin Cosine Loss for Deep Face Recognition",
 * CVPR 2018): target logit s * (cos t_y - m), others s * cos t_j. Options scale (64), margin (0.35).
 */
import * as tf from '@tensorflow/tfjs';
import { CosineHead, HeadBaseOptions, numberOption } from './base';
import { DEFAULT_COSFACE_MARGIN, DEFAULT_SCALE, checkCosMargin, checkScale, cosfaceLogits } from './functional';
import { registerHead } from './registry';
import type { MarginTarget } from '../backends/fused';

/** Options of the CosFace head. */
export interface CosFaceHeadOptions {
  /** Scale s > 0; default 64. */
  scale?: number;
  /** Additive cosine margin m in [0, 2]; default 0.35. */
  margin?: number;
}

/** Large margin cosine loss. */
export class CosFaceHead extends CosineHead {
  readonly name = 'cosface';
  readonly scale: number;
  /** The cosine margin m. */
  readonly margin: number;

  constructor(base: HeadBaseOptions, opts: CosFaceHeadOptions = {}) {
    const scale = opts.scale ?? DEFAULT_SCALE;
    const margin = opts.margin ?? DEFAULT_COSFACE_MARGIN;
    checkScale(scale);
    checkCosMargin(margin);
    super(base, { scale, margin });
    this.scale = scale;
    this.margin = margin;
  }

  protected marginLogits(cosine: tf.Tensor2D, labels: tf.Tensor1D): tf.Tensor2D {
    return cosfaceLogits(cosine, labels, { scale: this.scale, margin: this.margin });
  }

  protected override fusedTarget(): MarginTarget {
    return { scale: this.scale, alpha: 1, beta: 0, gamma: this.margin };
  }
}

registerHead('cosface', {
  description: 'additive cosine margin: s * (cos(theta_y) - m)',
  paper: 'Wang et al. CosFace: Large Margin Cosine Loss for Deep Face Recognition. CVPR 2018',
  defaults: { scale: DEFAULT_SCALE, margin: DEFAULT_COSFACE_MARGIN },
  create: (opts) =>
    new CosFaceHead(opts, {
      scale: numberOption(opts, 'scale', DEFAULT_SCALE),
      margin: numberOption(opts, 'margin', DEFAULT_COSFACE_MARGIN),
    }),
});
