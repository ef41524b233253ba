/**
 * Label checks of the tensor code (heads, pair losses, the CoReFace loss): integer class labels, one per row, in
 * [0, numClasses), reported before any integer conversion (so 0.5 or -1 are named rather than truncated).
 */
import * as tf from '@tensorflow/tfjs';
import { LabelsLike, labelsArray } from '../util/labels';

/**
 * Labels as an Int32Array after checking every value is a non-negative integer (before any integer conversion,
 * so 0.5 or -1 are reported rather than truncated). Reads tensor labels synchronously.
 */
export function checkedLabels(labels: LabelsLike): Int32Array {
  const raw: ArrayLike<number> = labels instanceof tf.Tensor ? labels.dataSync() : labels;
  if (labels instanceof tf.Tensor && labels.rank !== 1) throw new Error(`labels must be rank 1, got rank ${labels.rank}`);
  for (let i = 0; i < raw.length; i++) {
    const v = raw[i];
    if (!Number.isInteger(v) || v < 0) throw new Error(`labels must be non-negative integers, got ${v} at index ${i}`);
  }
  return labelsArray(labels);
}

/**
 * Labels as an Int32Array after checking there is one per row and each is an integer in [0, numClasses).
 * Reads tensor labels synchronously (B integers).
 */
export function classLabels(labels: LabelsLike, batch: number, numClasses: number): Int32Array {
  const arr = checkedLabels(labels);
  if (arr.length !== batch) throw new Error(`labels must have one entry per row (${batch}), got ${arr.length}`);
  for (let i = 0; i < arr.length; i++) {
    const v = arr[i];
    if (v >= numClasses) {
      throw new Error(`labels must be integers in [0, ${numClasses}), got ${v} at index ${i}`);
    }
  }
  return arr;
}

/**
 * One-hot float32 [B, C] targets from labels, after checking them with {@link classLabels}.
 */
export function oneHotTargets(labels: LabelsLike, batch: number, numClasses: number): tf.Tensor2D {
  const arr = classLabels(labels, batch, numClasses);
  return tf.tidy(() => tf.cast(tf.oneHot(tf.tensor1d(arr, 'int32'), numClasses), 'float32') as tf.Tensor2D);
}
