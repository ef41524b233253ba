/**
 * CosFace / AM-Softmax head (Wang et al., "CosFace: Large Margin Cosine Loss for Deep Face Recognition",
 * CVPR 2018): target logit s * (cos t_y - m), others s * cos t_j. Options scale (64), margin (0.35).
 */
import * as tf from '@tensorflow/tfjs';
import { checkScale, withDefaults } from '../ops';
import { CosineHead, HeadBaseOptions } from './base';
import { checkCosMargin, cosfaceLogits, DEFAULT_COSFACE_MARGIN, DEFAULT_SCALE } from './functional';
import { registerHead } from './registry';
import type { MarginTarget } from '../backends/fused';

/** Options of the CosFace head. */
export interface CosFaceHeadOptions {
  /** Scale s > 0; default 64. */
  scale?: number;
  /** Additive cosine margin m in [0, 2]; default 0.35. */
  margin?: number;
}

/** Defaults of the CosFace head: scale 64, margin 0.35. */
export const COSFACE_DEFAULTS: Readonly<Required<CosFaceHeadOptions>> = { scale: DEFAULT_SCALE, margin: DEFAULT_COSFACE_MARGIN };

/** Large margin cosine loss. */
export class CosFaceHead extends CosineHead {
  readonly name = 'cosface';
  readonly scale: number;
  /** The cosine margin m. */
  readonly margin: number;

  constructor(base: HeadBaseOptions, opts: CosFaceHeadOptions = {}) {
    const { scale, margin } = withDefaults(COSFACE_DEFAULTS, opts);
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
  defaults: COSFACE_DEFAULTS,
  create: (opts) => new CosFaceHead(opts, opts as CosFaceHeadOptions),
});
