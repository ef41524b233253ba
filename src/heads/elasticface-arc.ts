/**
 * ElasticFace-Arc head (Boutros, Damer, Kirchbuchner, Kuijper, "ElasticFace: Elastic Margin Loss for Deep Face
 * Recognition", CVPRW 2022): ArcFace with a per-sample margin drawn each training forward,
 * z_y = s cos(t_y + m_b), m_b ~ N(m, sigma^2); z_j = s cos t_j. Plain cos(t + m_b) (no easy-margin correction,
 * as the authors' code). Defaults scale 64, margin 0.5, sigma 0.0125. State: the margin Rng (`rng0` .. `rng3`).
 */
import * as tf from '@tensorflow/tfjs';
import { oneHotTargets } from '../ops';
import { HeadBaseOptions } from './base';
import { replaceTarget, targetColumn } from './common';
import { arcTarget, checkArcMargin, DEFAULT_ARCFACE_MARGIN, DEFAULT_SCALE } from './functional';
import { DEFAULT_ELASTIC_SIGMA, ElasticHead, ElasticHeadOptions } from './elastic';
import { registerHead } from './registry';

/** Defaults of the elasticface-arc head: scale 64, mean margin 0.5 (ArcFace's), sigma 0.0125. */
export const ELASTICFACE_ARC_DEFAULTS: Readonly<Required<ElasticHeadOptions>> = {
  scale: DEFAULT_SCALE, margin: DEFAULT_ARCFACE_MARGIN, sigma: DEFAULT_ELASTIC_SIGMA,
};

/** ArcFace with margins ~ N(m, sigma^2). */
export class ElasticArcHead extends ElasticHead {
  readonly name = 'elasticface-arc';

  constructor(base: HeadBaseOptions, opts: ElasticHeadOptions = {}) {
    super('elasticface-arc', base, opts, ELASTICFACE_ARC_DEFAULTS, (m) => checkArcMargin(m));
  }

  protected marginLogits(cosine: tf.Tensor2D, labels: tf.Tensor1D): tf.Tensor2D {
    const [b, c] = cosine.shape;
    return tf.tidy(() => {
      const oh = oneHotTargets(labels, b, c);
      const phi = arcTarget(targetColumn(cosine, oh), this.drawMargins(b));
      return tf.mul(replaceTarget(cosine, oh, phi), this.scale) as tf.Tensor2D;
    });
  }
}

registerHead('elasticface-arc', {
  description: 'ArcFace with a per-sample margin m ~ N(m, sigma^2)',
  paper: 'Boutros, Damer, Kirchbuchner, Kuijper. ElasticFace: Elastic Margin Loss for Deep Face Recognition. CVPRW 2022',
  defaults: ELASTICFACE_ARC_DEFAULTS,
  create: (opts) => new ElasticArcHead(opts, opts as ElasticHeadOptions),
});
