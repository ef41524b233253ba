/**
 * ArcFace head (Deng, Guo, Xue, Zafeiriou, "ArcFace: Additive Angular Margin Loss for Deep Face Recognition",
 * CVPR 2019): target logit s * cos(t_y + m), others s * cos t_j. Options scale (64), margin (0.5),
 * easyMargin (false: the CoReFace reference applies no correction; true: insightface's
 * cos t_y - sin(pi - m) m when cos t_y <= cos(pi - m)).
 */
import * as tf from '@tensorflow/tfjs';
import { checkBoolean, checkScale, withDefaults } from '../ops';
import { CosineHead, HeadBaseOptions } from './base';
import { arcfaceLogits, arcMarginTarget, checkArcMargin, DEFAULT_ARCFACE_MARGIN, DEFAULT_SCALE } from './functional';
import { registerHead } from './registry';
import type { MarginTarget } from '../backends/fused';

/** Options of the ArcFace head. */
export interface ArcFaceHeadOptions {
  /** Scale s > 0; default 64. */
  scale?: number;
  /** Additive angular margin m in [0, pi) radians; default 0.5. */
  margin?: number;
  /** insightface's correction for cos t_y <= cos(pi - m); default false (CoReFace reference). */
  easyMargin?: boolean;
}

/** Defaults of the ArcFace head: scale 64, margin 0.5, no easy margin (the CoReFace reference applies none). */
export const ARCFACE_DEFAULTS: Readonly<Required<ArcFaceHeadOptions>> = { scale: DEFAULT_SCALE, margin: DEFAULT_ARCFACE_MARGIN, easyMargin: false };

/** Additive angular margin loss. */
export class ArcFaceHead extends CosineHead {
  readonly name = 'arcface';
  readonly scale: number;
  /** The angular margin m (radians). */
  readonly margin: number;
  /** Whether the insightface correction is applied. */
  readonly easyMargin: boolean;

  constructor(base: HeadBaseOptions, opts: ArcFaceHeadOptions = {}) {
    const { scale, margin, easyMargin } = withDefaults(ARCFACE_DEFAULTS, opts);
    checkScale(scale);
    checkArcMargin(margin);
    checkBoolean('easyMargin', easyMargin);
    super(base, { scale, margin, easyMargin });
    this.scale = scale;
    this.margin = margin;
    this.easyMargin = easyMargin;
  }

  protected marginLogits(cosine: tf.Tensor2D, labels: tf.Tensor1D): tf.Tensor2D {
    return arcfaceLogits(cosine, labels, { scale: this.scale, margin: this.margin, easyMargin: this.easyMargin });
  }

  protected override fusedTarget(): MarginTarget {
    return arcMarginTarget(this.scale, this.margin, this.easyMargin);
  }
}

registerHead('arcface', {
  description: 'additive angular margin: s * cos(theta_y + m)',
  paper: 'Deng, Guo, Xue, Zafeiriou. ArcFace: Additive Angular Margin Loss for Deep Face Recognition. CVPR 2019',
  defaults: ARCFACE_DEFAULTS,
  create: (opts) => new ArcFaceHead(opts, opts as ArcFaceHeadOptions),
});
