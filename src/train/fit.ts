/**
 * How well a model fits its training identities, next to how it generalises (issue 15): the margin-free training
 * accuracy in evaluation mode, verification on held-back images of the training identities, and the gap between
 * that and verification on the (disjoint) test identities. A regulariser such as CoReFace can only show where a
 * model fits its training identities and the gap is open.
 */
import * as tf from '@tensorflow/tfjs';
import type { FaceBenchmark, ImageSet } from '../data/types';
import { readImageInto } from '../data/types';
import { evaluateVerification } from '../eval';
import type { EvalReport } from '../eval';
import type { MarginHead } from '../heads';
import type { EmbedFn } from './embed';
import { embedImageSet } from './embed';

/** Training images scored for `trainAccuracy` at most (an evenly strided subset of larger sets). Default 4096. */
export const DEFAULT_FIT_TRAIN_IMAGES = 4096;

/** Fitting measurements of one evaluation. Accuracies are fractions in [0, 1]. */
export interface FitReport {
  /**
   * Margin-free accuracy of the head's class scores (argmax = label) on the training images, in evaluation mode
   * (no dropout, no flip): how well the model fits its training identities. The `meanAccuracy` of an epoch record
   * is the same accuracy during training (with dropout, on augmented batches).
   */
  trainAccuracy: number;
  /** Number of training images scored (all, or an evenly strided subset of {@link DEFAULT_FIT_TRAIN_IMAGES}). */
  trainImages: number;
  /** Verification on held-back images of the training identities (same protocol as the test pairs); null without. */
  heldOut: (EvalReport['verification'] & { images: number; pairs: number }) | null;
  /** heldOut.accuracy - test verification accuracy: the train-minus-test verification gap; null without held-back images. */
  gap: number | null;
}

/** Indices of at most `max` images of `count`, evenly strided (all of them when count <= max). */
export function fitSubset(count: number, max: number = DEFAULT_FIT_TRAIN_IMAGES): Int32Array {
  if (count <= max) return Int32Array.from({ length: count }, (_, i) => i);
  return Int32Array.from({ length: max }, (_, i) => Math.floor((i * count) / max));
}

/**
 * Margin-free accuracy of `head` on images `indices` of `set` embedded by `embed` (evaluation mode). The head's
 * `forward` gives the margin-free logits; its state (stateful heads: running statistics, random margins) is saved
 * before and restored after, so measuring never changes training.
 */
export function headAccuracy(embed: EmbedFn, head: MarginHead, set: ImageSet, indices: Int32Array, batchSize = 256): number {
  const state = head.getState();
  const pix = set.height * set.width * set.channels;
  let correct = 0;
  try {
    for (let start = 0; start < indices.length; start += batchSize) {
      const b = Math.min(batchSize, indices.length - start);
      const buf = new Float32Array(b * pix);
      const labels = new Int32Array(b);
      for (let i = 0; i < b; i++) {
        readImageInto(set, indices[start + i], buf, i * pix);
        labels[i] = set.labels[indices[start + i]];
      }
      const hits = tf.tidy(() => {
        const y = tf.tensor1d(labels, 'int32');
        const { logits } = head.forward(embed(tf.tensor4d(buf, [b, set.height, set.width, set.channels])), y);
        return tf.sum(tf.cast(tf.equal(tf.argMax(logits, 1), y), 'int32'));
      });
      correct += hits.dataSync()[0];
      hits.dispose();
    }
  } finally {
    head.setState(state);
  }
  return indices.length ? correct / indices.length : NaN;
}

/** The fitting report of a model on `benchmark`, given the test verification accuracy of the same evaluation. */
export function fitReport(embed: EmbedFn, head: MarginHead, benchmark: FaceBenchmark, testAccuracy: number): FitReport {
  const subset = fitSubset(benchmark.train.count);
  const trainAccuracy = headAccuracy(embed, head, benchmark.train, subset);
  let heldOut: FitReport['heldOut'] = null;
  const h = benchmark.heldOut;
  if (h) {
    const { embeddings, dim } = embedImageSet(embed, h.set);
    heldOut = { ...evaluateVerification(embeddings, h.set.count, dim, h.pairs), images: h.set.count, pairs: h.pairs.left.length };
  }
  return { trainAccuracy, trainImages: subset.length, heldOut, gap: heldOut ? heldOut.accuracy - testAccuracy : null };
}
