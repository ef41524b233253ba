/**
 * The CoReFace embedding neck (Song & Wang 2024, "CoReFace: Sample-Guided Contrastive
 * Regularization for Deep Face Recognition"; the insightface ArcFace output layer of Deng et al.
 * 2019 with the dropout moved in front of the fc):
 *
 *   x = BN1d_{gamma = 1}(FC(dropout_p(h)))       FC: D -> E without bias, BN beta trainable
 *
 * Two views of each image are two independent inverted-dropout masks on the SAME trunk output h,
 * followed by the SAME fc and BN, so the trunk runs once per step.
 */
import * as tf from '@tensorflow/tfjs';
import { BatchNormParams, batchNorm, checkDropout, dense, dropout, neckTrainComposite } from './ops';
import { compositeKernelsInUse } from '../backends/fused';
import { ParamStore } from './params';
import { Rng } from '../util/rng';

/** Default embedding size E. */
export const DEFAULT_EMBEDDING_DIM = 128;

/** Options of {@link EmbeddingNeck}. */
export interface EmbeddingNeckOptions {
  /** Where `neck/fc`, `neck/bn_beta` and the BN running statistics are created. */
  store: ParamStore;
  /** Trunk feature size D. */
  inputDim: number;
  /** Embedding size E. Default 128. */
  embeddingDim?: number;
  /** Variable-name prefix. Default `'neck/'`. */
  prefix?: string;
  /** Initialisation stream for the fc; default the store's per-name stream. */
  rng?: Rng;
}

/** Options of {@link EmbeddingNeck.apply}. */
export interface NeckApplyOptions {
  /** Training mode (dropout active, BN batch statistics + running-stat update). Default false. */
  training?: boolean;
  /** Dropout probability in [0, 1), used only when training. Default 0. */
  dropout?: number;
  /** tfjs seed of the dropout mask; required when training with dropout > 0. */
  seed?: number;
}

/** Options of {@link EmbeddingNeck.twoViews}. */
export interface NeckTwoViewOptions {
  /** Dropout probability in [0, 1) of both views. */
  dropout: number;
  /** tfjs seeds of the two masks (should differ). */
  seeds: [number, number];
}

/** dropout -> dense (no bias, `neck/fc`) -> BN1d with gamma frozen at 1 (`neck/bn_beta`, running stats). */
export class EmbeddingNeck {
  readonly inputDim: number;
  readonly embeddingDim: number;
  /** fc weight `[D, E]`. */
  readonly fc: tf.Variable;
  /** BN parameters (gamma null = frozen at 1). */
  readonly bn: BatchNormParams;

  constructor(opts: EmbeddingNeckOptions) {
    const prefix = opts.prefix ?? 'neck/';
    const e = opts.embeddingDim ?? DEFAULT_EMBEDDING_DIM;
    if (!Number.isInteger(opts.inputDim) || opts.inputDim <= 0) throw new Error(`inputDim must be a positive integer, got ${String(opts.inputDim)}`);
    if (!Number.isInteger(e) || e <= 0) throw new Error(`embeddingDim must be a positive integer, got ${String(e)}`);
    this.inputDim = opts.inputDim;
    this.embeddingDim = e;
    this.fc = opts.store.variable(`${prefix}fc`, [opts.inputDim, e], 'he', opts.rng?.fork('fc'));
    this.bn = {
      gamma: null,
      beta: opts.store.variable(`${prefix}bn_beta`, [e], 'zeros'),
      runningMean: opts.store.state(`${prefix}bn_running_mean`, [e], 0),
      runningVar: opts.store.state(`${prefix}bn_running_var`, [e], 1),
    };
  }

  private checkInput(h: tf.Tensor2D): void {
    if (h.rank !== 2 || h.shape[1] !== this.inputDim) {
      throw new Error(`neck expects [B, ${this.inputDim}], got [${h.shape.join(', ')}]`);
    }
  }

  /** One embedding `[B, E]`. Dropout only in training mode. */
  apply(h: tf.Tensor2D, opts: NeckApplyOptions = {}): tf.Tensor2D {
    this.checkInput(h);
    const training = opts.training ?? false;
    const p = opts.dropout ?? 0;
    checkDropout(p);
    if (training && p > 0 && opts.seed === undefined) throw new Error('seed is required when training with dropout > 0');
    if (training && compositeKernelsInUse()) return neckTrainComposite(h, this.fc, this.bn, p, [opts.seed ?? 0]);
    return tf.tidy(() => {
      const d = training && p > 0 ? dropout(h, p, opts.seed as number) : h;
      return batchNorm(dense(d, this.fc), this.bn, { training });
    });
  }

  /**
   * Two training-mode views `[x1, x2]` of the same trunk output: independent dropout masks (seeds
   * `seeds[0]`, `seeds[1]`), shared fc + BN. BN uses each view's own batch statistics and updates
   * the running statistics once per view, exactly like calling {@link apply} twice.
   */
  twoViews(h: tf.Tensor2D, opts: NeckTwoViewOptions): [tf.Tensor2D, tf.Tensor2D] {
    this.checkTwoViews(h, opts);
    if (compositeKernelsInUse()) return tf.tidy(() => tf.split(this.twoViewsStacked(h, opts), 2, 0) as [tf.Tensor2D, tf.Tensor2D]);
    const x1 = this.apply(h, { training: true, dropout: opts.dropout, seed: opts.seeds[0] });
    const x2 = this.apply(h, { training: true, dropout: opts.dropout, seed: opts.seeds[1] });
    return [x1, x2];
  }

  /**
   * {@link twoViews} stacked, `[2B, E]` with x1's rows first: with the composite kernels this is their output as is
   * (what `coreFaceObjectiveStacked` takes without a split); otherwise the two views concatenated.
   */
  twoViewsStacked(h: tf.Tensor2D, opts: NeckTwoViewOptions): tf.Tensor2D {
    this.checkTwoViews(h, opts);
    // both views in one native kernel each way (the same results as two apply calls)
    if (compositeKernelsInUse()) return neckTrainComposite(h, this.fc, this.bn, opts.dropout, opts.seeds);
    return tf.tidy(() => tf.concat(this.twoViews(h, opts), 0) as tf.Tensor2D);
  }

  /** Checked before either view is computed (a bad second seed must not leave the first view behind). */
  private checkTwoViews(h: tf.Tensor2D, opts: NeckTwoViewOptions): void {
    if (!Array.isArray(opts.seeds) || opts.seeds.length !== 2) throw new Error('seeds must be a pair [seed1, seed2]');
    this.checkInput(h);
    checkDropout(opts.dropout);
    if (opts.dropout > 0 && !opts.seeds.every((s) => typeof s === 'number' && Number.isFinite(s))) {
      throw new Error(`dropout seeds must be finite numbers, got [${opts.seeds.map(String).join(', ')}]`);
    }
  }
}
