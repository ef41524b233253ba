/**
 * CurricularFace head (Huang, Wang, Tai, Liu, Shen, Li, Li, Huang, "CurricularFace: Adaptive Curriculum Learning
 * Loss for Deep Face Recognition", CVPR 2020). Per training forward, following the authors' code:
 *
 *     t <- 0.01 * mean_b cos t_y + 0.99 * t                    (state; starts at 0; updated first, no gradient)
 *     target:   cos(t_y + m)                                   (ArcFace; `easyMargin` as the ArcFace head)
 *     negative: cos t_j (t + cos t_j)   if cos t_j > cos(t_y + m)   (hard negative; mask has no gradient)
 *               cos t_j                 otherwise
 *
 * all times s. Defaults scale 64, margin 0.5, easyMargin false (the authors' code applies insightface's
 * correction, i.e. `easyMargin: true`; the default follows heads.md's "target as ArcFace").
 */
import * as tf from '@tensorflow/tfjs';
import { checkBoolean, checkScale, oneHotTargets, withDefaults } from '../ops';
import { CosineHead, HeadBaseOptions } from './base';
import { checkStateKeys, replaceTarget, targetColumn } from './common';
import { arcTarget, checkArcMargin, DEFAULT_ARCFACE_MARGIN, DEFAULT_SCALE } from './functional';
import { registerHead } from './registry';

/** EMA weight of the batch mean target cosine in CurricularFace's t update. */
export const CURRICULAR_MOMENTUM = 0.01;

/** Options of the CurricularFace head. */
export interface CurricularFaceHeadOptions {
  /** Scale s > 0; default 64. */
  scale?: number;
  /** Additive angular margin m in [0, pi); default 0.5. */
  margin?: number;
  /** insightface's correction for cos t_y <= cos(pi - m); default false. */
  easyMargin?: boolean;
}

/** Defaults of the CurricularFace head: scale 64, margin 0.5, no easy margin. */
export const CURRICULARFACE_DEFAULTS: Readonly<Required<CurricularFaceHeadOptions>> = {
  scale: DEFAULT_SCALE, margin: DEFAULT_ARCFACE_MARGIN, easyMargin: false,
};

/** Adaptive curriculum margin head; state `{ t }`. */
export class CurricularFaceHead extends CosineHead {
  readonly name = 'curricularface';
  readonly scale: number;
  readonly margin: number;
  readonly easyMargin: boolean;
  /** When false, forward does not update `t` (evaluation). Default true. */
  training = true;
  /** The curriculum parameter t (EMA of the mean target cosine). */
  t = 0;

  constructor(base: HeadBaseOptions, opts: CurricularFaceHeadOptions = {}) {
    const o = withDefaults(CURRICULARFACE_DEFAULTS, opts);
    const scale = checkScale(o.scale);
    const margin = checkArcMargin(o.margin);
    const easyMargin = checkBoolean('easyMargin', o.easyMargin);
    super(base, { scale, margin, easyMargin });
    this.scale = scale;
    this.margin = margin;
    this.easyMargin = easyMargin;
  }

  protected marginLogits(cosine: tf.Tensor2D, labels: tf.Tensor1D): tf.Tensor2D {
    const [b, c] = cosine.shape;
    return tf.tidy(() => {
      const oh = oneHotTargets(labels, b, c);
      const cosY = targetColumn(cosine, oh);
      if (this.training) {
        const meanCos = tf.mean(cosY).dataSync()[0];
        this.t = CURRICULAR_MOMENTUM * meanCos + (1 - CURRICULAR_MOMENTUM) * this.t;
      }
      const cosYm = arcTarget(cosY, this.margin); // mask threshold: plain cos(t_y + m) as the authors' code
      const phi = this.easyMargin ? arcTarget(cosY, this.margin, true) : cosYm;
      const hard = tf.step(tf.sub(cosine, tf.reshape(cosYm, [b, 1]))); // 1 where cos t_j > cos(t_y + m)
      const modulated = tf.mul(cosine, tf.add(cosine, this.t));
      const mixed = tf.add(tf.mul(hard, modulated), tf.mul(tf.sub(1, hard), cosine)) as tf.Tensor2D;
      return tf.mul(replaceTarget(mixed, oh, phi), this.scale) as tf.Tensor2D;
    });
  }

  override getState(): Record<string, number> {
    return { t: this.t };
  }

  override setState(s: Record<string, number>): void {
    checkStateKeys(this.name, s, ['t']);
    this.t = s.t;
  }
}

registerHead('curricularface', {
  description: 'ArcFace target, hard negatives re-weighted by cos(theta_j) (t + cos(theta_j)) with an EMA t',
  paper: 'Huang et al. CurricularFace: Adaptive Curriculum Learning Loss for Deep Face Recognition. CVPR 2020',
  defaults: CURRICULARFACE_DEFAULTS,
  create: (opts) => new CurricularFaceHead(opts, opts as CurricularFaceHeadOptions),
});
