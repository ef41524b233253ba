/**
 * Face embedders: anything that maps a batch of face crops to embedding vectors, whether a model trained here
 * (`coreface train`, see checkpoint.ts) or a pretrained reference network from npm (faceres.ts, face-api.ts).
 *
 * Input contract of {@link Embedder.embed} (the project's image convention, as every reader and dataset produces):
 * - `images` holds `count` images, row-major NHWC, `inputSize x inputSize x channels` each;
 * - pixels normalised as insightface: `((x / 255) - 0.5) / 0.5`, i.e. [0, 255] -> [-1, 1];
 * - channel order R, G, B for 3 channels; luma for 1 channel.
 * Each embedder converts to its network's own convention (e.g. back to 0..255) internally.
 *
 * Output: `count x embeddingDim` raw embeddings, row-major. They are NOT normalised: flip fusion (sum of the
 * embedding of an image and of its mirror, as insightface) happens before the L2 normalisation, in
 * `embedImages` / `evaluateVerificationSet` (verification.ts).
 */
import * as tf from '@tensorflow/tfjs';
import type { RegistryListing } from '../util/listing';

/** A loaded face-embedding model. */
export interface Embedder {
  /** Registered name (`faceres`, `face-api`) or `checkpoint:<run dir>`. */
  readonly name: string;
  /** Input height = width in pixels. */
  readonly inputSize: number;
  /** Input channels: 3 (RGB) or 1 (grey). */
  readonly channels: 1 | 3;
  /** Length of one embedding. */
  readonly embeddingDim: number;
  /**
   * Embeds `count` images (NHWC, normalised to [-1, 1]; see the file comment). Resolves to `count * embeddingDim`
   * raw (not normalised) values, row-major.
   * @throws if `images.length !== count * inputSize * inputSize * channels`.
   */
  embed(images: Float32Array, count: number): Promise<Float32Array>;
  /** Frees the model's tensors. The embedder must not be used afterwards. */
  dispose(): void;
}

/** Options of `createEmbedder` (each embedder reads the ones it understands). */
export interface EmbedderCreateOptions {
  /** Images per forward pass. Default: the embedder's own (16 for the npm models). */
  batchSize?: number;
  /** Folder holding the model files instead of the npm package's own folder (e.g. a copy for offline use). */
  modelDir?: string;
}

/** What `listEmbedders` reports about a registered embedder. */
export interface EmbedderInfo extends RegistryListing {
  /** npm package providing the code/weights, or null when built in. */
  package: string | null;
  /** Whether that package can be resolved from here (always true when `package` is null). */
  available: boolean;
  inputSize: number;
  channels: 1 | 3;
  embeddingDim: number;
}

/** Checks the length of an {@link Embedder.embed} input; throws naming the embedder and the expected shape. */
/**
 * The batching loop every embedder shares: checks the input, cuts `count` NHWC images into batches of `batchSize`,
 * maps each batch tensor [b, s, s, c] (our normalisation) through `forward` inside a tidy, checks that it gives
 * [b, embeddingDim], and gathers the rows. `what` names the output in the shape error (default 'output').
 */
export async function embedInBatches(
  e: Pick<Embedder, 'name' | 'inputSize' | 'channels' | 'embeddingDim'>,
  images: Float32Array,
  count: number,
  batchSize: number,
  forward: (x: tf.Tensor4D) => tf.Tensor,
  what = 'output',
): Promise<Float32Array> {
  checkEmbedInput(e, images, count);
  const { inputSize: s, channels: c, embeddingDim: d } = e;
  const pix = s * s * c;
  const out = new Float32Array(count * d);
  for (let start = 0; start < count; start += batchSize) {
    const b = Math.min(batchSize, count - start);
    const y = tf.tidy(() => forward(tf.tensor4d(images.subarray(start * pix, (start + b) * pix), [b, s, s, c])));
    if (y.shape.length !== 2 || y.shape[0] !== b || y.shape[1] !== d) {
      y.dispose();
      throw new Error(`${e.name}: ${what} has shape [${y.shape}], expected [${b}, ${d}]`);
    }
    out.set(await y.data(), start * d);
    y.dispose();
  }
  return out;
}

export function checkEmbedInput(e: Pick<Embedder, 'name' | 'inputSize' | 'channels'>, images: Float32Array, count: number): void {
  if (!Number.isInteger(count) || count < 0) throw new RangeError(`${e.name}: count must be a non-negative integer, got ${count}`);
  const want = count * e.inputSize * e.inputSize * e.channels;
  if (images.length !== want) {
    throw new RangeError(
      `${e.name}: expected ${count} images of ${e.inputSize}x${e.inputSize}x${e.channels} (${want} values), got ${images.length} values`,
    );
  }
}
