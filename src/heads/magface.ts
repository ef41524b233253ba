/**
 * MagFace head (Meng, Zhao, Huang, Zhou, "MagFace: A Universal Representation for Face Recognition and Quality
 * Assessment", CVPR 2021). Uses the UNNORMALISED embedding norm a = clip(||x||, l_a, u_a):
 *
 *     m(a) = (u_m - l_m) / (u_a - l_a) * (a - l_a) + l_m
 *     z_y  = s cos(t_y + m(a)),   z_j = s cos t_j
 *     g(a) = a / u_a^2 + 1 / a
 *     L    = CE(z) + lambda_g * mean_b g(a_b)
 *
 * Gradients flow into ||x|| through m(a) and g(a) (zero outside [l_a, u_a], as with the reference's clamp).
 * Defaults scale 64, lowerNorm (l_a) 10, upperNorm (u_a) 110, lowerMargin (l_m) 0.45, upperMargin (u_m) 0.8,
 * lambdaG 20, easyMargin false (the reference code applies insightface's correction, i.e. `easyMargin: true`).
 */
import * as tf from '@tensorflow/tfjs';
import { checkBoolean, checkNumber, checkScale, oneHotTargets, softmaxCrossEntropy, withDefaults } from '../ops';
import { checkForwardInputs, HEAD_WEIGHT_NAME, HeadBaseOptions, StatelessHead } from './base';
import { replaceTarget, rowNorms, targetColumn } from './common';
import { arcTarget, cosineLogits, DEFAULT_SCALE } from './functional';
import { registerHead } from './registry';

/** MagFace defaults: scale 64 and the reference's l_a, u_a, l_m, u_m, lambda_g; no easy margin. */
export const MAGFACE_DEFAULTS: Readonly<Required<MagFaceHeadOptions>> = {
  scale: DEFAULT_SCALE, lowerNorm: 10, upperNorm: 110, lowerMargin: 0.45, upperMargin: 0.8, lambdaG: 20, easyMargin: false,
};

/** Options of the MagFace head. */
export interface MagFaceHeadOptions {
  /** Scale s > 0; default 64. */
  scale?: number;
  /** l_a > 0; default 10. */
  lowerNorm?: number;
  /** u_a > l_a; default 110. */
  upperNorm?: number;
  /** l_m in [0, pi); default 0.45. */
  lowerMargin?: number;
  /** u_m in [l_m, pi); default 0.8. */
  upperMargin?: number;
  /** Weight lambda_g >= 0 of the norm regulariser g(a); default 20. */
  lambdaG?: number;
  /** insightface's correction for cos t_y <= cos(pi - m(a)); default false. */
  easyMargin?: boolean;
}

/** Magnitude-aware margin head (stateless). */
export class MagFaceHead extends StatelessHead {
  readonly name = 'magface';
  readonly weight: tf.Variable;
  readonly variables: tf.Variable[];
  readonly scale: number;
  readonly lowerNorm: number;
  readonly upperNorm: number;
  readonly lowerMargin: number;
  readonly upperMargin: number;
  readonly lambdaG: number;
  readonly easyMargin: boolean;

  constructor(base: HeadBaseOptions, opts: MagFaceHeadOptions = {}) {
    const o = withDefaults(MAGFACE_DEFAULTS, opts);
    const scale = checkScale(o.scale);
    const lowerNorm = checkNumber('lowerNorm', o.lowerNorm, (x) => x > 0, 'a positive number');
    const upperNorm = checkNumber('upperNorm', o.upperNorm, (x) => x > lowerNorm, `a number > lowerNorm (${lowerNorm})`);
    const lowerMargin = checkNumber('lowerMargin', o.lowerMargin, (x) => x >= 0 && x < Math.PI, 'a number in [0, pi)');
    const upperMargin = checkNumber(
      'upperMargin', o.upperMargin, (x) => x >= lowerMargin && x < Math.PI, `a number in [lowerMargin (${lowerMargin}), pi)`,
    );
    const lambdaG = checkNumber('lambdaG', o.lambdaG, (x) => x >= 0, 'a number >= 0');
    const easyMargin = checkBoolean('easyMargin', o.easyMargin);
    super(base, { scale, lowerNorm, upperNorm, lowerMargin, upperMargin, lambdaG, easyMargin });
    this.scale = scale;
    this.lowerNorm = lowerNorm;
    this.upperNorm = upperNorm;
    this.lowerMargin = lowerMargin;
    this.upperMargin = upperMargin;
    this.lambdaG = lambdaG;
    this.easyMargin = easyMargin;
    this.weight = base.store.variable(HEAD_WEIGHT_NAME, [base.embeddingDim, base.numClasses], 'normal', base.rng);
    this.variables = [this.weight];
  }

  forward(embeddings: tf.Tensor2D, labels: tf.Tensor1D): { loss: tf.Scalar; logits: tf.Tensor2D } {
    checkForwardInputs(this, embeddings, labels);
    const [b, c] = [embeddings.shape[0], this.numClasses];
    return tf.tidy(() => {
      const oh = oneHotTargets(labels, b, c);
      const cos = cosineLogits(embeddings, this.weight as tf.Tensor2D);
      const a = tf.clipByValue(rowNorms(embeddings), this.lowerNorm, this.upperNorm) as tf.Tensor1D;
      const slope = (this.upperMargin - this.lowerMargin) / (this.upperNorm - this.lowerNorm);
      const m = tf.add(tf.mul(tf.sub(a, this.lowerNorm), slope), this.lowerMargin) as tf.Tensor1D;
      const phi = arcTarget(targetColumn(cos, oh), m, this.easyMargin);
      const ce = softmaxCrossEntropy(tf.mul(replaceTarget(cos, oh, phi), this.scale) as tf.Tensor2D, labels);
      const g = tf.add(tf.div(a, this.upperNorm * this.upperNorm), tf.reciprocal(a));
      const loss = tf.add(ce, tf.mul(tf.mean(g), this.lambdaG)) as tf.Scalar;
      return { loss, logits: tf.mul(cos, this.scale) as tf.Tensor2D };
    });
  }
}

registerHead('magface', {
  description: 'magnitude-aware angular margin m(||x||) plus the norm regulariser lambda_g g(||x||)',
  paper: 'Meng, Zhao, Huang, Zhou. MagFace: A Universal Representation for Face Recognition and Quality Assessment. CVPR 2021',
  defaults: MAGFACE_DEFAULTS,
  create: (opts) => new MagFaceHead(opts, opts as MagFaceHeadOptions),
});
