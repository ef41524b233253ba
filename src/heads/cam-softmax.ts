/**
 * Cam-Softmax head (Suveges & McKenna, "Cam-softmax for discriminative deep feature learning", ICPR 2020).
 * The target cosine c = cos t_y is transformed by
 *
 *     f(c) = (c + 1)^k / 2^(k-1) - 1,   k = 1 / (1 - log2(1 + cos gamma))
 *
 * (f(-1) = -1, f(1) = 1, f(cos gamma) = 0; gamma = pi/2 gives k = 1, plain normalised softmax); z_y = s f(c),
 * z_j = s cos t_j. gamma follows the authors' code: it starts at gammaStart = pi/2 and every training forward
 * first lowers it by gammaStep = 1e-4 (down to gammaEnd = pi/4), then uses it (the paper's automatic adaptation of
 * gamma is not implemented). State `{ gamma }`. Defaults scale 20, gammaStart pi/2, gammaEnd pi/4, gammaStep 1e-4.
 */
import * as tf from '@tensorflow/tfjs';
import { checkNumber, checkScale, oneHotTargets, withDefaults } from '../ops';
import { CosineHead, HeadBaseOptions } from './base';
import { checkStateKeys, replaceTarget, targetColumn } from './common';
import { registerHead } from './registry';

/** Cam-Softmax defaults. */
export const CAM_SOFTMAX_DEFAULTS: Readonly<Required<CamSoftmaxHeadOptions>> = { scale: 20, gammaStart: Math.PI / 2, gammaEnd: Math.PI / 4, gammaStep: 1e-4 };

/** k(gamma) = 1 / (1 - log2(1 + cos gamma)). */
export function camExponent(gamma: number): number {
  return 1 / (1 - Math.log2(1 + Math.cos(gamma)));
}

/** Options of the Cam-Softmax head. */
export interface CamSoftmaxHeadOptions {
  /** Scale s > 0; default 20. */
  scale?: number;
  /** Initial gamma in (0, pi/2]; default pi/2. */
  gammaStart?: number;
  /** Final gamma in (0, gammaStart]; default pi/4. */
  gammaEnd?: number;
  /** Decrease of gamma per training forward, >= 0; default 1e-4. */
  gammaStep?: number;
}

/** Cam-Softmax with the linear gamma schedule; state `{ gamma }`. */
export class CamSoftmaxHead extends CosineHead {
  readonly name = 'cam-softmax';
  readonly scale: number;
  readonly gammaStart: number;
  readonly gammaEnd: number;
  readonly gammaStep: number;
  /** When false, forward does not move gamma (evaluation). Default true. */
  training = true;
  /** Current gamma (radians). */
  gamma: number;

  constructor(base: HeadBaseOptions, opts: CamSoftmaxHeadOptions = {}) {
    const o = withDefaults(CAM_SOFTMAX_DEFAULTS, opts);
    const scale = checkScale(o.scale);
    const gammaStart = checkNumber('gammaStart', o.gammaStart, (x) => x > 0 && x <= Math.PI / 2, 'a number in (0, pi/2]');
    const gammaEnd = checkNumber('gammaEnd', o.gammaEnd, (x) => x > 0 && x <= gammaStart, `a number in (0, gammaStart (${gammaStart})]`);
    const gammaStep = checkNumber('gammaStep', o.gammaStep, (x) => x >= 0, 'a number >= 0');
    super(base, { scale, gammaStart, gammaEnd, gammaStep });
    this.scale = scale;
    this.gammaStart = gammaStart;
    this.gammaEnd = gammaEnd;
    this.gammaStep = gammaStep;
    this.gamma = gammaStart;
  }

  protected marginLogits(cosine: tf.Tensor2D, labels: tf.Tensor1D): tf.Tensor2D {
    const [b, c] = cosine.shape;
    return tf.tidy(() => {
      const oh = oneHotTargets(labels, b, c);
      if (this.training) this.gamma = Math.max(this.gammaEnd, this.gamma - this.gammaStep);
      const k = camExponent(this.gamma);
      const base = tf.maximum(tf.add(targetColumn(cosine, oh), 1), 0);
      const phi = tf.sub(tf.div(tf.pow(base, k), 2 ** (k - 1)), 1) as tf.Tensor1D;
      return tf.mul(replaceTarget(cosine, oh, phi), this.scale) as tf.Tensor2D;
    });
  }

  override getState(): Record<string, number> {
    return { gamma: this.gamma };
  }

  override setState(s: Record<string, number>): void {
    checkStateKeys(this.name, s, ['gamma']);
    if (!(s.gamma > 0 && s.gamma <= Math.PI / 2)) throw new Error(`${this.name}: state 'gamma' must be in (0, pi/2], got ${s.gamma}`);
    this.gamma = s.gamma;
  }
}

registerHead('cam-softmax', {
  description: 'target cosine transformed by f(c) = (c+1)^k / 2^(k-1) - 1 with k from an annealed angle gamma',
  paper: 'Suveges, McKenna. Cam-softmax for discriminative deep feature learning. ICPR 2020',
  defaults: CAM_SOFTMAX_DEFAULTS,
  create: (opts) => new CamSoftmaxHead(opts, opts as CamSoftmaxHeadOptions),
});
