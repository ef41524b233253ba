/**
 * ElasticFace-Cos head (Boutros, Damer, Kirchbuchner, Kuijper, "ElasticFace: Elastic Margin Loss for Deep Face
 * Recognition", CVPRW 2022): CosFace with a per-sample margin drawn each training forward,
 * z_y = s (cos t_y - m_b), m_b ~ N(m, sigma^2); z_j = s cos t_j. Defaults scale 64, margin 0.35, sigma 0.0125.
 * State: the margin Rng (`rng0` .. `rng3`).
 */
import * as tf from '@tensorflow/tfjs';
import { oneHotTargets } from '../ops';
import { HeadBaseOptions } from './base';
import { replaceTarget, targetColumn } from './common';
import { checkCosMargin, DEFAULT_COSFACE_MARGIN, DEFAULT_SCALE } from './functional';
import { DEFAULT_ELASTIC_SIGMA, ElasticHead, ElasticHeadOptions } from './elastic';
import { registerHead } from './registry';

/** Defaults of the elasticface-cos head: scale 64, mean margin 0.35 (CosFace's), sigma 0.0125. */
export const ELASTICFACE_COS_DEFAULTS: Readonly<Required<ElasticHeadOptions>> = {
  scale: DEFAULT_SCALE, margin: DEFAULT_COSFACE_MARGIN, sigma: DEFAULT_ELASTIC_SIGMA,
};

/** CosFace with margins ~ N(m, sigma^2). */
export class ElasticCosHead extends ElasticHead {
  readonly name = 'elasticface-cos';

  constructor(base: HeadBaseOptions, opts: ElasticHeadOptions = {}) {
    super('elasticface-cos', base, opts, ELASTICFACE_COS_DEFAULTS, (m) => checkCosMargin(m));
  }

  protected marginLogits(cosine: tf.Tensor2D, labels: tf.Tensor1D): tf.Tensor2D {
    const [b, c] = cosine.shape;
    return tf.tidy(() => {
      const oh = oneHotTargets(labels, b, c);
      const phi = tf.sub(targetColumn(cosine, oh), this.drawMargins(b)) as tf.Tensor1D;
      return tf.mul(replaceTarget(cosine, oh, phi), this.scale) as tf.Tensor2D;
    });
  }
}

registerHead('elasticface-cos', {
  description: 'CosFace with a per-sample margin m ~ N(m, sigma^2)',
  paper: 'Boutros, Damer, Kirchbuchner, Kuijper. ElasticFace: Elastic Margin Loss for Deep Face Recognition. CVPRW 2022',
  defaults: ELASTICFACE_COS_DEFAULTS,
  create: (opts) => new ElasticCosHead(opts, opts as ElasticHeadOptions),
});
