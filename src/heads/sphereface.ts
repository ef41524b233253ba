/**
 * SphereFace / A-Softmax head (Liu, Wen, Yu, Li, Raj, Song, "SphereFace: Deep Hypersphere Embedding for Face
 * Recognition", CVPR 2017). Class weights are normalised, features are not:
 *
 *     logit_j = ||x|| cos t_j                      (j != y, and the returned margin-free logits)
 *     psi(t)  = (-1)^k cos(m t) - 2k   for t in [k pi/m, (k+1) pi/m], k = 0 .. m-1
 *     logit_y = ||x|| (lambda cos t_y + psi(t_y)) / (1 + lambda)           (annealing of the original code)
 *     lambda  = max(lambdaMin, lambdaBase / (1 + lambdaGamma * iter))
 *
 * cos(m t) is the Chebyshev polynomial T_m(cos t) (no acos, finite gradients at cos t = +-1); k counts the
 * thresholds cos(i pi / m), i = 1 .. m-1, that cos t lies at or below (`tf.step`, zero gradient).
 * `iter` is the head's state: every training forward first increments it, then computes lambda from the new value
 * (as the Caffe and PyTorch reference code do), so the first forward uses lambda = 1500 / 1.1.
 * Defaults: margin 4, lambdaMin 5, lambdaBase 1500, lambdaGamma 0.1.
 */
import * as tf from '@tensorflow/tfjs';
import { checkNumber, checkPositiveInt, oneHotTargets, softmaxCrossEntropy, withDefaults } from '../ops';
import { checkForwardInputs, HEAD_WEIGHT_NAME, HeadBaseOptions, StatelessHead } from './base';
import { checkStateKeys, replaceTarget, rowNorms, targetColumn } from './common';
import { cosineLogits } from './functional';
import { registerHead } from './registry';

/** Default multiplicative angular margin m of SphereFace. */
export const DEFAULT_SPHEREFACE_MARGIN = 4;
/** Floor of the annealing weight lambda. */
export const DEFAULT_SPHEREFACE_LAMBDA_MIN = 5;
/** lambda at iteration 0 (before the floor). */
export const DEFAULT_SPHEREFACE_LAMBDA_BASE = 1500;
/** Decay rate gamma of lambda = base / (1 + gamma * iter). */
export const DEFAULT_SPHEREFACE_LAMBDA_GAMMA = 0.1;

/** Options of the SphereFace head. */
export interface SphereFaceHeadOptions {
  /** Integer multiplicative angular margin m >= 1; default 4. */
  margin?: number;
  /** Lower bound of lambda, >= 0; default 5. */
  lambdaMin?: number;
  /** Base of lambda, >= 0; default 1500. */
  lambdaBase?: number;
  /** Decay gamma of lambda, >= 0; default 0.1. */
  lambdaGamma?: number;
}

/** Defaults of the SphereFace head: margin 4, lambda = max(5, 1500 / (1 + 0.1 iter)). */
export const SPHEREFACE_DEFAULTS: Readonly<Required<SphereFaceHeadOptions>> = {
  margin: DEFAULT_SPHEREFACE_MARGIN,
  lambdaMin: DEFAULT_SPHEREFACE_LAMBDA_MIN,
  lambdaBase: DEFAULT_SPHEREFACE_LAMBDA_BASE,
  lambdaGamma: DEFAULT_SPHEREFACE_LAMBDA_GAMMA,
};

/** psi(t) of A-Softmax for a [B] vector of cosines and an integer margin m. */
export function spherefacePsi(cosY: tf.Tensor1D, m: number): tf.Tensor1D {
  return tf.tidy(() => {
    // Chebyshev: T_0 = 1, T_1 = c, T_{n+1} = 2 c T_n - T_{n-1}
    let prev: tf.Tensor = tf.onesLike(cosY);
    let cur: tf.Tensor = cosY;
    for (let n = 1; n < m; n++) {
      const next = tf.sub(tf.mul(tf.mul(cosY, 2), cur), prev);
      prev = cur;
      cur = next;
    }
    const cosMt = cur;
    let k: tf.Tensor = tf.zerosLike(cosY);
    let parity: tf.Tensor = tf.zerosLike(cosY);
    for (let i = 1; i < m; i++) {
      // 1 where t >= i pi / m, i.e. cos t <= cos(i pi / m); thresholds are nested, so k = sum and
      // parity = sum of alternating signs (1 when k is odd)
      const past = tf.sub(1, tf.step(tf.sub(cosY, Math.cos((i * Math.PI) / m))));
      k = tf.add(k, past);
      parity = tf.add(parity, tf.mul(past, i % 2 === 1 ? 1 : -1));
    }
    const sign = tf.sub(1, tf.mul(parity, 2));
    return tf.sub(tf.mul(sign, cosMt), tf.mul(k, 2)) as tf.Tensor1D;
  });
}

/** A-Softmax with the original lambda annealing; state `{ iter }`. */
export class SphereFaceHead extends StatelessHead {
  readonly name = 'sphereface';
  /** W, [embeddingDim, numClasses]. */
  readonly weight: tf.Variable;
  readonly variables: tf.Variable[];
  readonly margin: number;
  readonly lambdaMin: number;
  readonly lambdaBase: number;
  readonly lambdaGamma: number;
  /** When false, forward neither increments `iter` nor changes anything (evaluation). Default true. */
  training = true;
  /** Number of training forwards so far (the state). */
  iter = 0;

  constructor(base: HeadBaseOptions, opts: SphereFaceHeadOptions = {}) {
    const o = withDefaults(SPHEREFACE_DEFAULTS, opts);
    const margin = checkPositiveInt('margin', o.margin);
    const nonNeg = (x: number): boolean => x >= 0;
    const lambdaMin = checkNumber('lambdaMin', o.lambdaMin, nonNeg, 'a number >= 0');
    const lambdaBase = checkNumber('lambdaBase', o.lambdaBase, nonNeg, 'a number >= 0');
    const lambdaGamma = checkNumber('lambdaGamma', o.lambdaGamma, nonNeg, 'a number >= 0');
    super(base, { margin, lambdaMin, lambdaBase, lambdaGamma });
    this.margin = margin;
    this.lambdaMin = lambdaMin;
    this.lambdaBase = lambdaBase;
    this.lambdaGamma = lambdaGamma;
    this.weight = base.store.variable(HEAD_WEIGHT_NAME, [base.embeddingDim, base.numClasses], 'normal', base.rng);
    this.variables = [this.weight];
  }

  /** lambda at the current `iter`. */
  get lambda(): number {
    return Math.max(this.lambdaMin, this.lambdaBase / (1 + this.lambdaGamma * this.iter));
  }

  forward(embeddings: tf.Tensor2D, labels: tf.Tensor1D): { loss: tf.Scalar; logits: tf.Tensor2D } {
    checkForwardInputs(this, embeddings, labels);
    const [b, c] = [embeddings.shape[0], this.numClasses];
    return tf.tidy(() => {
      const oh = oneHotTargets(labels, b, c); // validates the labels before the state moves
      if (this.training) this.iter++;
      const lambda = this.lambda;
      const cos = cosineLogits(embeddings, this.weight as tf.Tensor2D);
      const cosY = targetColumn(cos, oh);
      const phi = tf.div(tf.add(tf.mul(cosY, lambda), spherefacePsi(cosY, this.margin)), 1 + lambda) as tf.Tensor1D;
      const norm = tf.reshape(rowNorms(embeddings), [b, 1]);
      const logits = tf.mul(cos, norm) as tf.Tensor2D;
      const loss = softmaxCrossEntropy(tf.mul(replaceTarget(cos, oh, phi), norm) as tf.Tensor2D, labels);
      return { loss, logits };
    });
  }

  override getState(): Record<string, number> {
    return { iter: this.iter };
  }

  override setState(s: Record<string, number>): void {
    checkStateKeys(this.name, s, ['iter'], ['iter']);
    if (s.iter < 0) throw new Error(`${this.name}: state 'iter' must be >= 0, got ${s.iter}`);
    this.iter = s.iter;
  }
}

registerHead('sphereface', {
  description: 'A-Softmax: ||x|| psi(theta_y), multiplicative angular margin with lambda annealing',
  paper: 'Liu, Wen, Yu, Li, Raj, Song. SphereFace: Deep Hypersphere Embedding for Face Recognition. CVPR 2017',
  defaults: SPHEREFACE_DEFAULTS,
  create: (opts) => new SphereFaceHead(opts, opts as SphereFaceHeadOptions),
});
