/** Shared machinery of the heads: the base classes (stateless heads, cosine heads) and the forward input check. */
import * as tf from '@tensorflow/tfjs';
import { checkPositiveInt, classLabels, softmaxCrossEntropy } from '../ops';
import { cosineLogits } from './functional';
import { compositeKernelsInUse, fusedLossesAvailable, fusedMarginCE, type MarginTarget } from '../backends/fused';
import { HeadOptionValue, MarginHead, VariableFactory } from './types';
import type { Rng } from '../util/rng';

/** Name of the class-weight variable of every head: [embeddingDim, numClasses]. */
export const HEAD_WEIGHT_NAME = 'head/weight';
/** Name of the bias variable of the softmax head: [numClasses]. */
export const HEAD_BIAS_NAME = 'head/bias';

/** Sizes, store and rng of a head, validated. */
export interface HeadBaseOptions {
  store: VariableFactory;
  numClasses: number;
  embeddingDim: number;
  rng?: Rng;
}

function checkBase(base: HeadBaseOptions): void {
  if (!base.store || typeof base.store.variable !== 'function') {
    throw new Error(`store must implement variable(name, shape, init, rng?), got ${String(base.store)}`);
  }
  checkPositiveInt('numClasses', base.numClasses);
  checkPositiveInt('embeddingDim', base.embeddingDim);
}

/** Checks that embeddings are [B, embeddingDim] and labels hold `rows` entries (default B). */
export function checkForwardInputs(head: MarginHead, embeddings: tf.Tensor2D, labels: tf.Tensor1D, rows = embeddings.shape[0]): void {
  if (embeddings.rank !== 2 || embeddings.shape[1] !== head.embeddingDim) {
    throw new Error(`${head.name}: embeddings must be [B, ${head.embeddingDim}], got [${embeddings.shape}]`);
  }
  if (labels.rank !== 1 || labels.shape[0] !== rows) {
    throw new Error(`${head.name}: labels must be [${rows}], got [${labels.shape}]`);
  }
}

/** Base class for stateless heads ({} state). */
export abstract class StatelessHead implements MarginHead {
  abstract readonly name: string;
  readonly numClasses: number;
  readonly embeddingDim: number;
  abstract readonly variables: tf.Variable[];
  readonly options: Readonly<Record<string, HeadOptionValue>>;

  constructor(base: HeadBaseOptions, options: Record<string, HeadOptionValue>) {
    checkBase(base);
    this.numClasses = base.numClasses;
    this.embeddingDim = base.embeddingDim;
    this.options = Object.freeze({ ...options });
  }

  abstract forward(embeddings: tf.Tensor2D, labels: tf.Tensor1D): { loss: tf.Scalar; logits: tf.Tensor2D };

  getState(): Record<string, number> {
    return {};
  }

  setState(s: Record<string, number>): void {
    const keys = Object.keys(s);
    if (keys.length > 0) throw new Error(`${this.name} has no state, got keys: ${keys.join(', ')}`);
  }
}

/**
 * Base class of the cosine heads: W = `head/weight` [embeddingDim, numClasses] initialised 'normal';
 * cos t = normalize(x) . normalize(W) clipped to [-1, 1]; loss = CE(marginLogits(cos)); returned logits = s cos t.
 */
export abstract class CosineHead extends StatelessHead {
  /** The class weights W, [embeddingDim, numClasses]. */
  readonly weight: tf.Variable;
  readonly variables: tf.Variable[];
  /** The scale s. */
  abstract readonly scale: number;

  constructor(base: HeadBaseOptions, options: Record<string, HeadOptionValue>) {
    super(base, options);
    this.weight = base.store.variable(HEAD_WEIGHT_NAME, [base.embeddingDim, base.numClasses], 'normal', base.rng);
    this.variables = [this.weight];
  }

  /** Logits with the head's margin applied to the label column (scaled). */
  protected abstract marginLogits(cosine: tf.Tensor2D, labels: tf.Tensor1D): tf.Tensor2D;

  /**
   * The label-column target as the fused native kernel computes it (src/backends/fused.ts), or null for heads
   * whose margin it does not express (the default): those always run {@link marginLogits}.
   */
  protected fusedTarget(): MarginTarget | null {
    return null;
  }

  /**
   * This head's label-column target for the composite two-view kernel (src/backends/fused.ts fusedTwoViewObjective)
   * when it can run now (native composite kernels in use and a {@link fusedTarget}), else null.
   */
  compositeTarget(): MarginTarget | null {
    return compositeKernelsInUse() ? this.fusedTarget() : null;
  }

  /** The clipped cosine matrix [B, numClasses] of these embeddings against the class weights. */
  cosine(embeddings: tf.Tensor2D): tf.Tensor2D {
    return cosineLogits(embeddings, this.weight as tf.Tensor2D);
  }

  /**
   * Loss and margin-free logits. With the native kernels in use and a {@link fusedTarget}, one fused kernel
   * (same equations, float rounding only) replaces the ~50 tfjs ops of the path below.
   */
  forward(embeddings: tf.Tensor2D, labels: tf.Tensor1D): { loss: tf.Scalar; logits: tf.Tensor2D } {
    checkForwardInputs(this, embeddings, labels);
    const target = fusedLossesAvailable() ? this.fusedTarget() : null;
    if (target) {
      const lab = classLabels(labels, embeddings.shape[0], this.numClasses);
      return fusedMarginCE(embeddings, this.weight as tf.Tensor2D, lab, target);
    }
    return tf.tidy(() => {
      const cos = this.cosine(embeddings);
      const loss = softmaxCrossEntropy(this.marginLogits(cos, labels), labels);
      const logits = tf.mul(cos, this.scale) as tf.Tensor2D;
      return { loss, logits };
    });
  }
}
