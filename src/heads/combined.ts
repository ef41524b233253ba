/**
 * Combined margin head (insightface, "ArcFace: Additive Angular Margin Loss for Deep Face Recognition",
 * Deng et al., CVPR 2019, Sec. 3 / Fig. 5): target logit s * (cos(m1 t_y + m2) - m3), others s * cos t_j.
 * (m1, m2, m3) = (1, 0.5, 0) is ArcFace, (1, 0, 0.35) CosFace, (1.35, 0, 0) a SphereFace-like multiplicative
 * margin. Defaults scale 64, m1 1, m2 0.5, m3 0.
 *
 * With m1 = 1 the target is computed as cos t cos m2 - sin t sin m2 (exactly the ArcFace head). Otherwise
 * t = acos(clip(cos t_y, -1 + 1e-6, 1 - 1e-6)): the clip keeps acos's derivative finite at cos t = +-1 (it changes
 * the value there by at most ~1.4e-3 * m1 in angle). No easy-margin correction (as insightface's CombinedMarginLoss
 * for m1 != 1).
 */
import * as tf from '@tensorflow/tfjs';
import { checkNumber, checkScale, oneHotTargets, withDefaults } from '../ops';
import { CosineHead, HeadBaseOptions } from './base';
import { replaceTarget, targetColumn } from './common';
import { arcTarget, checkArcMargin, DEFAULT_SCALE } from './functional';
import { registerHead } from './registry';

/** Clip of cos t before acos when m1 != 1. */
export const COMBINED_ACOS_EPSILON = 1e-6;

/** Options of the combined margin head. */
export interface CombinedHeadOptions {
  /** Scale s > 0; default 64. */
  scale?: number;
  /** Multiplicative angular margin m1 in (0, 10]; default 1. */
  m1?: number;
  /** Additive angular margin m2 in [0, pi); default 0.5. */
  m2?: number;
  /** Additive cosine margin m3 in [0, 2]; default 0. */
  m3?: number;
}

/** Defaults of the combined head: scale 64, m1 1, m2 0.5, m3 0 (= ArcFace). */
export const COMBINED_DEFAULTS: Readonly<Required<CombinedHeadOptions>> = { scale: DEFAULT_SCALE, m1: 1, m2: 0.5, m3: 0 };

/** cos(m1 t + m2) - m3. */
export class CombinedHead extends CosineHead {
  readonly name = 'combined';
  readonly scale: number;
  readonly m1: number;
  readonly m2: number;
  readonly m3: number;

  constructor(base: HeadBaseOptions, opts: CombinedHeadOptions = {}) {
    const o = withDefaults(COMBINED_DEFAULTS, opts);
    const scale = checkScale(o.scale);
    const m1 = checkNumber('m1', o.m1, (x) => x > 0 && x <= 10, 'a number in (0, 10]');
    const m2 = checkArcMargin(o.m2, 'm2');
    const m3 = checkNumber('m3', o.m3, (x) => x >= 0 && x <= 2, 'a number in [0, 2]');
    super(base, { scale, m1, m2, m3 });
    this.scale = scale;
    this.m1 = m1;
    this.m2 = m2;
    this.m3 = m3;
  }

  protected marginLogits(cosine: tf.Tensor2D, labels: tf.Tensor1D): tf.Tensor2D {
    const [b, c] = cosine.shape;
    return tf.tidy(() => {
      const oh = oneHotTargets(labels, b, c);
      const cosY = targetColumn(cosine, oh);
      let phi: tf.Tensor1D;
      if (this.m1 === 1) {
        phi = arcTarget(cosY, this.m2);
      } else {
        const t = tf.acos(tf.clipByValue(cosY, -1 + COMBINED_ACOS_EPSILON, 1 - COMBINED_ACOS_EPSILON));
        phi = tf.cos(tf.add(tf.mul(t, this.m1), this.m2)) as tf.Tensor1D;
      }
      phi = tf.sub(phi, this.m3) as tf.Tensor1D;
      return tf.mul(replaceTarget(cosine, oh, phi), this.scale) as tf.Tensor2D;
    });
  }
}

registerHead('combined', {
  description: 'combined margin: s * (cos(m1 theta_y + m2) - m3)',
  paper: 'Deng, Guo, Xue, Zafeiriou. ArcFace: Additive Angular Margin Loss for Deep Face Recognition (combined margin, insightface). CVPR 2019',
  defaults: COMBINED_DEFAULTS,
  create: (opts) => new CombinedHead(opts, opts as CombinedHeadOptions),
});
