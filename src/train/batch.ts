/** A training batch as tensors: the images of some indices of a training set, with seeded random flips. */
import * as tf from '@tensorflow/tfjs';
import { readImageInto } from '../data/types';
import type { ImageSet } from '../data/types';
import type { Rng } from '../util/rng';

/** Mirrors left-right the h x w x c image at `offset` of `buf`, in place. */
export function flipInPlace(buf: Float32Array, offset: number, h: number, w: number, c: number): void {
  for (let r = 0; r < h; r++) {
    const row = offset + r * w * c;
    for (let col = 0; col < w >> 1; col++) {
      const a = row + col * c, b = row + (w - 1 - col) * c;
      for (let ch = 0; ch < c; ch++) {
        const t = buf[a + ch];
        buf[a + ch] = buf[b + ch];
        buf[b + ch] = t;
      }
    }
  }
}

/**
 * The images `idx` of `set` as [B, h, w, c] and their labels as int32 [B]; with `flip`, each image is mirrored when
 * `rng.next() < 0.5` (one draw per image, in order). Both tensors are owned by the caller.
 */
export function batchTensors(set: ImageSet, idx: Int32Array, flip: boolean, rng: Rng): { x: tf.Tensor4D; y: tf.Tensor1D } {
  const { height: h, width: w, channels: c } = set;
  const pix = h * w * c;
  const buf = new Float32Array(idx.length * pix);
  const labels = new Int32Array(idx.length);
  for (let i = 0; i < idx.length; i++) {
    // in memory: a copy; a streamed set (large user datasets) decodes the image from its source here
    readImageInto(set, idx[i], buf, i * pix);
    labels[i] = set.labels[idx[i]];
    if (flip && rng.next() < 0.5) flipInPlace(buf, i * pix, h, w, c);
  }
  return { x: tf.tensor4d(buf, [idx.length, h, w, c]), y: tf.tensor1d(labels, 'int32') };
}
