import * as tf from '@tensorflow/tfjs';
import { readImageInto } from '../data/types';
import type { ImageSet } from '../data/types';

/** Something that maps a batch of images [B, H, W, C] to embeddings [B, E] in inference mode. */
export type EmbedFn = (images: tf.Tensor4D) => tf.Tensor2D;

/**
 * Embeddings of every image of `set` (or of `indices`), in batches. With `flip` (default true, insightface
 * protocol) the embedding of the image and of its horizontal mirror are summed; the result is L2-normalised.
 * Returns a row-major Float32Array [n, E].
 */
export function embedImageSet(
  embed: EmbedFn,
  set: ImageSet,
  opts: { flip?: boolean; batchSize?: number; indices?: Int32Array; onProgress?: (done: number, total: number) => void } = {},
): { embeddings: Float32Array; dim: number; count: number } {
  const flip = opts.flip ?? true;
  const batchSize = opts.batchSize ?? 256;
  const n = opts.indices ? opts.indices.length : set.count;
  const pix = set.height * set.width * set.channels;
  let out: Float32Array | null = null;
  let dim = 0;
  for (let start = 0; start < n; start += batchSize) {
    const b = Math.min(batchSize, n - start);
    const buf = new Float32Array(b * pix);
    for (let i = 0; i < b; i++) {
      const src = opts.indices ? opts.indices[start + i] : start + i;
      readImageInto(set, src, buf, i * pix);
    }
    const emb = tf.tidy(() => {
      const x = tf.tensor4d(buf, [b, set.height, set.width, set.channels]);
      let e = embed(x);
      if (flip) e = tf.add(e, embed(tf.image.flipLeftRight(x) as tf.Tensor4D));
      const norm = tf.maximum(tf.norm(e, 'euclidean', 1, true), 1e-12);
      return tf.div(e, norm) as tf.Tensor2D;
    });
    dim = emb.shape[1];
    if (!out) out = new Float32Array(n * dim);
    out.set(emb.dataSync(), start * dim);
    emb.dispose();
    opts.onProgress?.(start + b, n);
  }
  return { embeddings: out ?? new Float32Array(0), dim, count: n };
}
