/**
 * Shared machinery of the ElasticFace heads (Boutros, Damer, Kirchbuchner, Kuijper, "ElasticFace: Elastic Margin
 * Loss for Deep Face Recognition", CVPRW 2022): every training forward draws one margin per sample,
 * m_b ~ N(m, sigma^2), from a seeded `Rng` held by the head. The Rng's four state words are the head's state
 * (`rng0` .. `rng3`), so a checkpoint restores the exact margin stream.
 */
import * as tf from '@tensorflow/tfjs';
import { checkNumber, checkScale, withDefaults } from '../ops';
import { CosineHead, HeadBaseOptions } from './base';
import { checkStateKeys } from './common';
import { Rng, RngState } from '../util/rng';

/** Default sigma of the ElasticFace margin distribution. */
export const DEFAULT_ELASTIC_SIGMA = 0.0125;
/** State keys of the ElasticFace heads: the four words of the margin Rng. */
export const ELASTIC_STATE_KEYS = ['rng0', 'rng1', 'rng2', 'rng3'] as const;

/** Options of the ElasticFace heads. */
export interface ElasticHeadOptions {
  /** Scale s > 0; default 64. */
  scale?: number;
  /** Mean margin m; default 0.5 (Arc) / 0.35 (Cos). */
  margin?: number;
  /** Standard deviation sigma >= 0 of the per-sample margin; default 0.0125. */
  sigma?: number;
}

/**
 * Base of elasticface-arc / elasticface-cos. The margin stream is `rng.fork('<name>/margins')` when the create
 * options carry an `rng` (the trainer passes one derived from the run seed), else `new Rng('<name>/margins')`.
 */
export abstract class ElasticHead extends CosineHead {
  readonly scale: number;
  readonly margin: number;
  readonly sigma: number;
  /** When false, forward uses the mean margin m for every sample and draws nothing (evaluation). Default true. */
  training = true;
  /** The margin stream (its state is the head's state). */
  readonly marginRng: Rng;
  /** The margins drawn by the last training forward (for logging and tests). */
  lastMargins: number[] = [];

  constructor(
    name: string, base: HeadBaseOptions, opts: ElasticHeadOptions, defaults: Readonly<Required<ElasticHeadOptions>>, checkMargin: (m: number) => void,
  ) {
    const o = withDefaults(defaults, opts);
    const scale = checkScale(o.scale);
    const margin = o.margin;
    checkMargin(margin);
    const sigma = checkNumber('sigma', o.sigma, (x) => x >= 0, 'a number >= 0');
    super(base, { scale, margin, sigma });
    this.scale = scale;
    this.margin = margin;
    this.sigma = sigma;
    this.marginRng = base.rng ? base.rng.fork(`${name}/margins`) : new Rng(`${name}/margins`);
  }

  /** Per-sample margins [B]: fresh N(m, sigma^2) draws in training, m otherwise. */
  protected drawMargins(b: number): tf.Tensor1D {
    if (!this.training) return tf.fill([b], this.margin) as tf.Tensor1D;
    const ms: number[] = [];
    for (let i = 0; i < b; i++) ms.push(this.marginRng.normal(this.margin, this.sigma));
    this.lastMargins = ms;
    return tf.tensor1d(ms);
  }

  override getState(): Record<string, number> {
    const [a, b, c, d] = this.marginRng.getState();
    return { rng0: a, rng1: b, rng2: c, rng3: d };
  }

  override setState(s: Record<string, number>): void {
    checkStateKeys(this.name, s, ELASTIC_STATE_KEYS, ELASTIC_STATE_KEYS);
    const st: RngState = [s.rng0 | 0, s.rng1 | 0, s.rng2 | 0, s.rng3 | 0];
    this.marginRng.setState(st);
  }
}
