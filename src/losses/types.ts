import * as tf from '@tensorflow/tfjs';

/** Values a pair-loss option may take (every option has a number or boolean default). */
export type PairLossOptionValue = number | boolean;

/**
 * A loss over a batch of embeddings and their identity labels (pairs / triplets / batches are formed inside).
 * Embeddings are L2-normalised inside; the labels are read synchronously (B integers) to build the masks.
 */
export interface PairLoss {
  /** Registry name, e.g. 'circle'. */
  readonly name: string;
  /** The resolved options (defaults merged with what was passed). */
  readonly options: Readonly<Record<string, PairLossOptionValue>>;
  /** The loss of embeddings [B, E] with labels [B]; a scalar owned by the caller. */
  compute(embeddings: tf.Tensor2D, labels: tf.Tensor1D): tf.Scalar;
}

/** Options of `createPairLoss(name, opts)`: the loss's own options (see each entry's `defaults`). */
export type PairLossCreateOptions = Record<string, unknown>;

/** What a pair-loss file registers. */
export interface PairLossEntry {
  /** One-line description. */
  description: string;
  /** The paper the loss comes from (authors, title, venue). */
  paper: string;
  /** Every option the loss accepts with its default; the only keys `createPairLoss` lets through. */
  defaults: Record<string, PairLossOptionValue>;
  /** Builds the loss; `opts` has the defaults merged in and types checked. */
  create(opts: Record<string, PairLossOptionValue>): PairLoss;
}
