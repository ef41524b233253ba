/**
 * NormFace head (Wang, Xiang, Cheng, Yuille, "NormFace: L2 Hypersphere Embedding for Face Verification",
 * ACM MM 2017): logits s * cos t_j, no margin. Option scale (default 64).
 */
import * as tf from '@tensorflow/tfjs';
import { checkScale, withDefaults } from '../ops';
import { CosineHead, HeadBaseOptions } from './base';
import { DEFAULT_SCALE, normfaceLogits } from './functional';
import { registerHead } from './registry';
import type { MarginTarget } from '../backends/fused';

/** Options of the NormFace head. */
export interface NormFaceHeadOptions {
  /** Scale s > 0; default 64. */
  scale?: number;
}

/** Defaults of the NormFace head: scale 64. */
export const NORMFACE_DEFAULTS: Readonly<Required<NormFaceHeadOptions>> = { scale: DEFAULT_SCALE };

/** Normalised softmax: CE over s * cos t_j. */
export class NormFaceHead extends CosineHead {
  readonly name = 'normface';
  readonly scale: number;

  constructor(base: HeadBaseOptions, opts: NormFaceHeadOptions = {}) {
    const { scale } = withDefaults(NORMFACE_DEFAULTS, opts);
    checkScale(scale);
    super(base, { scale });
    this.scale = scale;
  }

  protected marginLogits(cosine: tf.Tensor2D): tf.Tensor2D {
    return normfaceLogits(cosine, { scale: this.scale });
  }

  protected override fusedTarget(): MarginTarget {
    return { scale: this.scale, alpha: 1, beta: 0, gamma: 0 };
  }
}

registerHead('normface', {
  description: 'normalised softmax: s * cos(theta_j), no margin',
  paper: 'Wang, Xiang, Cheng, Yuille. NormFace: L2 Hypersphere Embedding for Face Verification. ACM MM 2017',
  defaults: NORMFACE_DEFAULTS,
  create: (opts) => new NormFaceHead(opts, opts as NormFaceHeadOptions),
});
