/**
 * Angular Sparsemax head (Chan & Kittler, "Angular Sparsemax for Face Recognition", ICPR 2020): sparsemax
 * (Martins & Astudillo, ICML 2016) in place of softmax, on ArcFace-style scores
 *
 *     z_j = s cos t_j,   z_y = s cos(t_y + m)
 *
 * trained with the Fenchel-Young sparsemax loss
 *
 *     L(z, y) = -z_y + 1/2 sum_{j in S(z)} (z_j^2 - tau(z)^2) + 1/2
 *
 * where sparsemax(z)_j = max(z_j - tau, 0), S(z) = { j : z_j > tau } and tau is found by sorting:
 * with z_(1) >= z_(2) >= ..., k(z) = max{ k : 1 + k z_(k) > sum_{i<=k} z_(i) } and
 * tau = (sum_{i<=k(z)} z_(i) - 1) / k(z). L >= 0, L = 0 iff sparsemax(z) is one-hot on y, and dL/dz = p - onehot(y).
 *
 * The paper's exact s and m are not known here; defaults are this workbench's choice, from a sweep on the quick
 * synthfaces scale (README, "The heads"): scale 16 and margin 0.5. At ArcFace's s = 64 the head does not train
 * (59.8% verification, ~2% training accuracy over 500 classes) while s = 32, 16 and 8 all reach ~92%, as ArcFace;
 * 16 sits well inside the range that trains. The loss reaches 0 once s (cos(t_y + m) - cos t_j) >= 1 for every
 * j != y. No easy-margin correction.
 */
import * as tf from '@tensorflow/tfjs';
import { checkScale, oneHotTargets, withDefaults } from '../ops';
import { checkForwardInputs, CosineHead, HeadBaseOptions } from './base';
import { arcfaceLogits, checkArcMargin, DEFAULT_ARCFACE_MARGIN } from './functional';
import { registerHead } from './registry';

/** Default scale of the Angular Sparsemax head (workbench choice from a sweep: s = 64, ArcFace's, does not train). */
export const DEFAULT_SPARSEMAX_SCALE = 16;
/** Default angular margin of the Angular Sparsemax head (workbench choice, = ArcFace). */
export const DEFAULT_SPARSEMAX_MARGIN = DEFAULT_ARCFACE_MARGIN;

/**
 * The sparsemax threshold tau(z) per row, [B], and the support mask S(z) (1 where z_j > tau), [B, C], both
 * computed by sorting (`tf.topk`) on a copy of z that is not on the gradient tape (they are piecewise constant /
 * handled by the caller).
 */
export function sparsemaxThreshold(z: tf.Tensor2D): { tau: tf.Tensor1D; support: tf.Tensor2D } {
  if (z.rank !== 2) throw new Error(`z must be a [B, C] matrix, got shape [${z.shape}]`);
  const [b, c] = z.shape;
  return tf.tidy(() => {
    const zc = tf.tensor2d(z.dataSync(), [b, c]); // detached copy
    const sorted = tf.topk(zc, c, true).values; // descending
    const cums = tf.cumsum(sorted, 1);
    const ks = tf.range(1, c + 1, 1, 'float32');
    // 1 + k z_(k) > sum_{i<=k} z_(i) holds exactly for k = 1 .. k(z)
    const ok = tf.step(tf.sub(tf.add(tf.mul(ks, sorted), 1), cums));
    const kz = tf.maximum(tf.sum(ok, 1), 1);
    const tau = tf.div(tf.sub(tf.sum(tf.mul(sorted, ok), 1), 1), kz) as tf.Tensor1D;
    const support = tf.step(tf.sub(zc, tf.reshape(tau, [b, 1]))) as tf.Tensor2D;
    return { tau, support };
  });
}

/** sparsemax(z) = max(z - tau, 0) row-wise, [B, C] (no gradient path through tau; for inspection). */
export function sparsemax(z: tf.Tensor2D): tf.Tensor2D {
  return tf.tidy(() => {
    const { tau } = sparsemaxThreshold(z);
    return tf.relu(tf.sub(z, tf.reshape(tau, [z.shape[0], 1]))) as tf.Tensor2D;
  });
}

/**
 * Mean over the batch of the Fenchel-Young sparsemax loss -z_y + 1/2 sum_{j in S}(z_j^2 - tau^2) + 1/2.
 * Differentiable through tfjs ops: with the support S held constant, tau = (sum_S z_j - 1) / |S| is recomputed
 * from z with tensor ops, which gives exactly dL/dz = sparsemax(z) - onehot(y).
 */
export function sparsemaxLoss(z: tf.Tensor2D, labels: tf.Tensor1D | number[] | Int32Array): tf.Scalar {
  if (z.rank !== 2) throw new Error(`z must be a [B, C] matrix, got shape [${z.shape}]`);
  const [b, c] = z.shape;
  if (b === 0) throw new Error('z must have at least one row');
  return tf.tidy(() => {
    const oh = oneHotTargets(labels, b, c);
    const { support } = sparsemaxThreshold(z);
    const size = tf.sum(support, 1);
    const tau = tf.div(tf.sub(tf.sum(tf.mul(support, z), 1), 1), size);
    const zy = tf.sum(tf.mul(z, oh), 1);
    const quad = tf.sub(tf.sum(tf.mul(support, tf.square(z)), 1), tf.mul(size, tf.square(tau)));
    const per = tf.add(tf.sub(tf.mul(quad, 0.5), zy), 0.5);
    return tf.mean(per) as tf.Scalar;
  });
}

/** Options of the Angular Sparsemax head. */
export interface AngularSparsemaxHeadOptions {
  /** Scale s > 0; default 16 (workbench choice; 64 does not train, see the file comment). */
  scale?: number;
  /** Additive angular margin m in [0, pi); default 0.5 (workbench choice). */
  margin?: number;
}

/** Defaults of the Angular Sparsemax head: scale 16, margin 0.5 (workbench choices, see the file comment). */
export const ANGULAR_SPARSEMAX_DEFAULTS: Readonly<Required<AngularSparsemaxHeadOptions>> = {
  scale: DEFAULT_SPARSEMAX_SCALE, margin: DEFAULT_SPARSEMAX_MARGIN,
};

/** Sparsemax with an additive angular margin; `loss` is the Fenchel-Young sparsemax loss, not CE. */
export class AngularSparsemaxHead extends CosineHead {
  readonly name = 'angular-sparsemax';
  readonly scale: number;
  readonly margin: number;

  constructor(base: HeadBaseOptions, opts: AngularSparsemaxHeadOptions = {}) {
    const { scale, margin } = withDefaults(ANGULAR_SPARSEMAX_DEFAULTS, opts);
    checkScale(scale);
    checkArcMargin(margin);
    super(base, { scale, margin });
    this.scale = scale;
    this.margin = margin;
  }

  protected marginLogits(cosine: tf.Tensor2D, labels: tf.Tensor1D): tf.Tensor2D {
    return arcfaceLogits(cosine, labels, { scale: this.scale, margin: this.margin });
  }

  override forward(embeddings: tf.Tensor2D, labels: tf.Tensor1D): { loss: tf.Scalar; logits: tf.Tensor2D } {
    checkForwardInputs(this, embeddings, labels);
    return tf.tidy(() => {
      const cos = this.cosine(embeddings);
      const loss = sparsemaxLoss(this.marginLogits(cos, labels), labels);
      return { loss, logits: tf.mul(cos, this.scale) as tf.Tensor2D };
    });
  }
}

registerHead('angular-sparsemax', {
  description: 'sparsemax (Fenchel-Young loss) over s cos(theta_j) with an additive angular margin on the target',
  paper: 'Chan, Kittler. Angular Sparsemax for Face Recognition. ICPR 2020',
  defaults: ANGULAR_SPARSEMAX_DEFAULTS,
  create: (opts) => new AngularSparsemaxHead(opts, opts as AngularSparsemaxHeadOptions),
});
