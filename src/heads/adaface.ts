/**
 * AdaFace head (Kim, Jain, Liu, "AdaFace: Quality Adaptive Margin for Face Recognition", CVPR 2022). The feature
 * norm (a quality proxy) sets the margin. Per training forward, following the authors' code:
 *
 *     n_b    = clip(||x_b||, 0.001, 100)                                   (no gradient)
 *     mu    <- momentum * mean_b n_b + (1 - momentum) * mu                 (state `batchMean`, starts at 20)
 *     sigma <- momentum * std_b n_b  + (1 - momentum) * sigma              (state `batchStd`, starts at 100;
 *                                                                          unbiased std, 0 for a batch of one)
 *     z_b    = clip(h (n_b - mu) / (sigma + eps), -1, 1)
 *     g_angle = -m z,   g_add = m + m z
 *     z_y    = s (cos(clip(acos(c_y) + g_angle, eps, pi - eps)) - g_add),  c_y = clip(cos t_y, -1 + eps, 1 - eps)
 *     z_j    = s cos t_j  (j != y)
 *
 * The EMAs are updated before they are used (as in the reference). eps = 1e-3. Defaults scale 64, margin 0.4,
 * h 0.333, momentum 0.01.
 */
import * as tf from '@tensorflow/tfjs';
import { checkNumber, checkScale, oneHotTargets, softmaxCrossEntropy, withDefaults } from '../ops';
import { checkForwardInputs, CosineHead, HeadBaseOptions } from './base';
import { checkStateKeys, replaceTarget, targetColumn } from './common';
import { DEFAULT_SCALE } from './functional';
import { registerHead } from './registry';

/** AdaFace defaults (authors' code). */
export const ADAFACE_DEFAULTS: Readonly<Required<AdaFaceHeadOptions>> = { scale: DEFAULT_SCALE, margin: 0.4, h: 0.333, momentum: 0.01 };
/** eps of AdaFace (cosine clip, angle clip, std denominator). */
export const ADAFACE_EPSILON = 1e-3;
/** Initial EMA of the batch mean norm (authors' code). */
export const ADAFACE_INITIAL_MEAN = 20;
/** Initial EMA of the batch norm std (authors' code). */
export const ADAFACE_INITIAL_STD = 100;

/** Options of the AdaFace head. */
export interface AdaFaceHeadOptions {
  /** Scale s > 0; default 64. */
  scale?: number;
  /** Margin m in [0, pi/2]; default 0.4. */
  margin?: number;
  /** Concentration h > 0 of the norm score; default 0.333. */
  h?: number;
  /** EMA weight of the current batch's statistics, in [0, 1]; default 0.01. */
  momentum?: number;
}

/** Quality-adaptive margin head; state `{ batchMean, batchStd }`. */
export class AdaFaceHead extends CosineHead {
  readonly name = 'adaface';
  readonly scale: number;
  readonly margin: number;
  readonly h: number;
  readonly momentum: number;
  /** When false, forward does not update the EMAs (evaluation). Default true. */
  training = true;
  /** EMA of the batch mean of the feature norms. */
  batchMean = ADAFACE_INITIAL_MEAN;
  /** EMA of the batch std of the feature norms. */
  batchStd = ADAFACE_INITIAL_STD;

  constructor(base: HeadBaseOptions, opts: AdaFaceHeadOptions = {}) {
    const o = withDefaults(ADAFACE_DEFAULTS, opts);
    const scale = checkScale(o.scale);
    const margin = checkNumber('margin', o.margin, (x) => x >= 0 && x <= Math.PI / 2, 'a number in [0, pi/2]');
    const h = checkNumber('h', o.h, (x) => x > 0, 'a positive number');
    const momentum = checkNumber('momentum', o.momentum, (x) => x >= 0 && x <= 1, 'a number in [0, 1]');
    super(base, { scale, margin, h, momentum });
    this.scale = scale;
    this.margin = margin;
    this.h = h;
    this.momentum = momentum;
  }

  /** Not used: AdaFace needs the embedding norms, see `forward`. */
  protected marginLogits(): tf.Tensor2D {
    throw new Error('adaface: margin logits need the embeddings; call forward');
  }

  override forward(embeddings: tf.Tensor2D, labels: tf.Tensor1D): { loss: tf.Scalar; logits: tf.Tensor2D } {
    checkForwardInputs(this, embeddings, labels);
    const [b, c] = [embeddings.shape[0], this.numClasses];
    const eps = ADAFACE_EPSILON;
    return tf.tidy(() => {
      const oh = oneHotTargets(labels, b, c);
      const sq = tf.sum(tf.square(embeddings), 1).dataSync(); // statistics carry no gradient
      const norms = Array.from(sq, (v) => Math.min(100, Math.max(0.001, Math.sqrt(v))));
      if (this.training) {
        const mean = norms.reduce((p, v) => p + v, 0) / b;
        const std = b > 1 ? Math.sqrt(norms.reduce((p, v) => p + (v - mean) ** 2, 0) / (b - 1)) : 0;
        this.batchMean = this.momentum * mean + (1 - this.momentum) * this.batchMean;
        this.batchStd = this.momentum * std + (1 - this.momentum) * this.batchStd;
      }
      const z = norms.map((n) => Math.min(1, Math.max(-1, (this.h * (n - this.batchMean)) / (this.batchStd + eps))));
      const zT = tf.tensor1d(z);
      const gAngle = tf.mul(zT, -this.margin);
      const gAdd = tf.add(tf.mul(zT, this.margin), this.margin);
      const cos = this.cosine(embeddings);
      const cosY = tf.clipByValue(targetColumn(cos, oh), -1 + eps, 1 - eps);
      const theta = tf.clipByValue(tf.add(tf.acos(cosY), gAngle), eps, Math.PI - eps);
      const phi = tf.sub(tf.cos(theta), gAdd) as tf.Tensor1D;
      const loss = softmaxCrossEntropy(tf.mul(replaceTarget(cos, oh, phi), this.scale) as tf.Tensor2D, labels);
      return { loss, logits: tf.mul(cos, this.scale) as tf.Tensor2D };
    });
  }

  override getState(): Record<string, number> {
    return { batchMean: this.batchMean, batchStd: this.batchStd };
  }

  override setState(s: Record<string, number>): void {
    checkStateKeys(this.name, s, ['batchMean', 'batchStd']);
    if (s.batchStd < 0) throw new Error(`${this.name}: state 'batchStd' must be >= 0, got ${s.batchStd}`);
    this.batchMean = s.batchMean;
    this.batchStd = s.batchStd;
  }
}

registerHead('adaface', {
  description: 'quality-adaptive margin from the feature norm (angular + additive parts), batch-norm statistics as EMAs',
  paper: 'Kim, Jain, Liu. AdaFace: Quality Adaptive Margin for Face Recognition. CVPR 2022',
  defaults: ADAFACE_DEFAULTS,
  create: (opts) => new AdaFaceHead(opts, opts as AdaFaceHeadOptions),
});
