import * as tf from '@tensorflow/tfjs';

/** Class labels as accepted by public APIs. */
export type LabelsLike = number[] | Int32Array | tf.Tensor1D;

/** Labels as an int32 tensor (a new tensor, owned by the caller; tidy-safe). */
export function labelsTensor(labels: LabelsLike): tf.Tensor1D {
  if (labels instanceof tf.Tensor) {
    if (labels.rank !== 1) throw new Error(`labels must be rank 1, got rank ${labels.rank}`);
    return labels.dtype === 'int32' ? labels.clone() : tf.cast(labels, 'int32');
  }
  for (let i = 0; i < labels.length; i++) {
    const v = labels[i];
    if (!Number.isInteger(v) || v < 0) throw new Error(`labels must be non-negative integers, got ${v} at index ${i}`);
  }
  return tf.tensor1d(Array.from(labels), 'int32');
}

/** Labels as a plain Int32Array (reads the tensor synchronously). */
export function labelsArray(labels: LabelsLike): Int32Array {
  if (labels instanceof tf.Tensor) return Int32Array.from(labels.dataSync());
  return Int32Array.from(labels);
}
