/**
 * A face-recognition embedding model: registered backbone (trunk) + CoReFace embedding neck
 * (Song & Wang 2024), all parameters in one {@link ParamStore} (`backbone/...`, `neck/...`).
 * Margin heads are separate (src/heads) and share the store through `model.store`.
 */
import * as tf from '@tensorflow/tfjs';
import { Backbone, createBackbone } from './registry';
import { DEFAULT_EMBEDDING_DIM, EmbeddingNeck } from './neck';
import { ParamStore } from './params';
import { Rng } from '../util/rng';

/** Options of {@link FaceModel}. */
export interface FaceModelOptions {
  /** Registered backbone name (see `listBackbones()`), e.g. `'iresnet-tiny'`. */
  backbone: string;
  /** Backbone family options overriding the preset defaults (unknown names throw). Default `{}`. */
  backboneOptions?: Record<string, unknown>;
  /** Input shape `[H, W, C]`. */
  inputShape: [number, number, number];
  /** Embedding size E. Default 128. */
  embeddingDim?: number;
  /** Seed of the parameter initialisation and of the default dropout seeds. Default 0. */
  seed?: number;
}

/** Options of {@link FaceModel.embed}. */
export interface EmbedOptions {
  /** Training mode (BN batch statistics, dropout). Default false. */
  training?: boolean;
  /** Neck dropout probability in [0, 1), training only. Default 0. */
  dropout?: number;
  /** tfjs seed of the dropout mask; default drawn from `model.rng`. */
  seed?: number;
}

/** Options of {@link FaceModel.twoViewEmbed}. */
export interface TwoViewEmbedOptions {
  /** Neck dropout probability in [0, 1). */
  dropout: number;
  /** tfjs seeds of the two dropout masks; default two seeds drawn from `model.rng`. */
  seeds?: [number, number];
}

/** Backbone + embedding neck with a shared parameter store. */
export class FaceModel {
  /** All parameters and state (`backbone/...`, `neck/...`; heads add `head/...`). */
  readonly store: ParamStore;
  readonly backbone: Backbone;
  readonly neck: EmbeddingNeck;
  readonly inputShape: [number, number, number];
  readonly embeddingDim: number;
  /** Stream for default dropout seeds (save its state in checkpoints). */
  readonly rng: Rng;

  constructor(opts: FaceModelOptions) {
    const seed = opts.seed ?? 0;
    const root = new Rng(`facemodel/${seed}`);
    this.store = new ParamStore({ rng: root.fork('params') });
    this.rng = root.fork('dropout');
    this.inputShape = opts.inputShape;
    try {
      this.backbone = createBackbone(opts.backbone, { ...(opts.backboneOptions ?? {}), store: this.store, inputShape: opts.inputShape, prefix: 'backbone/' });
      this.neck = new EmbeddingNeck({
        store: this.store,
        inputDim: this.backbone.featureDim,
        embeddingDim: opts.embeddingDim ?? DEFAULT_EMBEDDING_DIM,
        prefix: 'neck/',
      });
    } catch (e) {
      this.store.dispose();
      throw e;
    }
    this.embeddingDim = this.neck.embeddingDim;
  }

  /** Backbone features `[B, D]`. */
  trunk(x: tf.Tensor4D, training: boolean): tf.Tensor2D {
    return this.backbone.apply(x, training);
  }

  /**
   * One embedding `[B, E]` (evaluation: `embed(x)`; plain margin-head training:
   * `embed(x, { training: true, dropout: 0.4 })`). A boolean is accepted as `{ training }`.
   */
  embed(x: tf.Tensor4D, opts: EmbedOptions | boolean = {}): tf.Tensor2D {
    const o: EmbedOptions = typeof opts === 'boolean' ? { training: opts } : opts;
    const training = o.training ?? false;
    const p = o.dropout ?? 0;
    const seed = training && p > 0 ? (o.seed ?? this.rng.tfSeed()) : undefined;
    return tf.tidy(() => this.neck.apply(this.trunk(x, training), { training, dropout: p, seed }));
  }

  /** Two training-mode views `[x1, x2]`; the trunk runs ONCE, the neck twice with independent masks. */
  twoViewEmbed(x: tf.Tensor4D, opts: TwoViewEmbedOptions): [tf.Tensor2D, tf.Tensor2D] {
    const seeds: [number, number] = opts.seeds ?? [this.rng.tfSeed(), this.rng.tfSeed()];
    return tf.tidy(() => this.neck.twoViews(this.trunk(x, true), { dropout: opts.dropout, seeds }));
  }

  /** {@link twoViewEmbed} stacked, `[2B, E]` with x1's rows first (the form `coreFaceObjectiveStacked` takes). */
  twoViewEmbedStacked(x: tf.Tensor4D, opts: TwoViewEmbedOptions): tf.Tensor2D {
    const seeds: [number, number] = opts.seeds ?? [this.rng.tfSeed(), this.rng.tfSeed()];
    return tf.tidy(() => this.neck.twoViewsStacked(this.trunk(x, true), { dropout: opts.dropout, seeds }));
  }

  /** Number of trainable scalars. */
  numParams(): number {
    return this.store.numParams();
  }

  /** Dispose every variable. */
  dispose(): void {
    this.store.dispose();
  }
}
