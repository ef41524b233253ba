import * as tf from '@tensorflow/tfjs';
import type { Rng } from '../util/rng';

/** How a new trainable variable is initialised. */
export type VariableInit = 'glorot' | 'normal' | 'zeros' | 'ones';

/**
 * The minimal parameter-store interface heads need: create (or fetch) a named trainable variable.
 * The models' `ParamStore` implements it; tests use a tiny in-memory factory.
 */
export interface VariableFactory {
  /**
   * A trainable variable called `name` (e.g. `head/weight`) of the given shape, initialised with `init`
   * ('normal' = N(0, 0.01^2) by convention of insightface heads, 'glorot' = Glorot-uniform), drawing from `rng`
   * when given.
   */
  variable(name: string, shape: number[], init: VariableInit, rng?: Rng): tf.Variable;
}

/** Values a head option may take (every option has a number or boolean default). */
export type HeadOptionValue = number | boolean;

/**
 * A classification head that turns embeddings into a loss (DESIGN.md, src/heads).
 * Margin heads hold one weight matrix `head/weight` of shape [embeddingDim, numClasses].
 */
export interface MarginHead {
  /** Registry name, e.g. 'arcface'. */
  readonly name: string;
  /** Number of identities (columns of the weight matrix). */
  readonly numClasses: number;
  /** Embedding width (rows of the weight matrix). */
  readonly embeddingDim: number;
  /** The head's trainable variables (`head/weight`, plus `head/bias` for softmax). */
  readonly variables: tf.Variable[];
  /** The resolved options (defaults merged with what was passed), for logging and configs. */
  readonly options: Readonly<Record<string, HeadOptionValue>>;
  /**
   * Mean cross-entropy over the batch (computed on the margin logits) and, for accuracy, the logits WITHOUT the
   * margin (s * cos t_j for cosine heads, W^T x + b for softmax): argmax of these is the predicted identity.
   * Stateful heads may update internal state here. Both returned tensors are owned by the caller.
   */
  forward(embeddings: tf.Tensor2D, labels: tf.Tensor1D): { loss: tf.Scalar; logits: tf.Tensor2D };
  /** Non-trainable state for checkpoints ({} for stateless heads). */
  getState(): Record<string, number>;
  /** Restores `getState()` output; throws on unknown keys. */
  setState(s: Record<string, number>): void;
}

/**
 * Options of `createHead(name, opts)`: the store, the sizes, an optional Rng for initialisation, and the head's
 * own options spread into the same object (`{ store, numClasses, embeddingDim, scale: 32, margin: 0.4 }`).
 * The registry rejects options the head does not declare and merges its defaults before calling `create`.
 */
export interface HeadCreateOptions {
  /** Where the head's variables are created. */
  store: VariableFactory;
  /** Number of identities, a positive integer. */
  numClasses: number;
  /** Embedding width, a positive integer. */
  embeddingDim: number;
  /** Random stream for initialisation (passed to `store.variable`). */
  rng?: Rng;
  /** Head-specific options (see each head's `defaults`). */
  [option: string]: unknown;
}
