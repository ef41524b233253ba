/**
 * Plain softmax head: logits = x W + b (W = `head/weight` [embeddingDim, numClasses] Glorot-uniform,
 * b = `head/bias` [numClasses] zeros), loss = mean cross-entropy. No normalisation, no margin, no options.
 */
import * as tf from '@tensorflow/tfjs';
import { softmaxCrossEntropy } from '../ops';
import { checkForwardInputs, HEAD_BIAS_NAME, HEAD_WEIGHT_NAME, HeadBaseOptions, StatelessHead } from './base';
import { registerHead } from './registry';

/** The plain linear + bias softmax baseline (no options). */
export class SoftmaxHead extends StatelessHead {
  readonly name = 'softmax';
  /** W, [embeddingDim, numClasses]. */
  readonly weight: tf.Variable;
  /** b, [numClasses]. */
  readonly bias: tf.Variable;
  readonly variables: tf.Variable[];

  constructor(base: HeadBaseOptions) {
    super(base, {});
    this.weight = base.store.variable(HEAD_WEIGHT_NAME, [base.embeddingDim, base.numClasses], 'glorot', base.rng);
    this.bias = base.store.variable(HEAD_BIAS_NAME, [base.numClasses], 'zeros', base.rng);
    this.variables = [this.weight, this.bias];
  }

  /** Loss = CE(x W + b); logits = x W + b. */
  forward(embeddings: tf.Tensor2D, labels: tf.Tensor1D): { loss: tf.Scalar; logits: tf.Tensor2D } {
    checkForwardInputs(this, embeddings, labels);
    return tf.tidy(() => {
      const logits = tf.add(tf.matMul(embeddings, this.weight as tf.Tensor2D), this.bias) as tf.Tensor2D;
      return { loss: softmaxCrossEntropy(logits, labels), logits };
    });
  }
}

registerHead('softmax', {
  description: 'plain linear classifier with bias and softmax cross-entropy (no normalisation, no margin)',
  paper: '-',
  defaults: {},
  create: (opts) => new SoftmaxHead(opts),
});
