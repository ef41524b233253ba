/**
 * Benchmark data contracts (docs/DESIGN.md, "src/data"). Every dataset in the registry produces a
 * `FaceBenchmark`: a labelled training set, a test set, LFW-style verification pairs and an open-set
 * identification split, all as plain typed arrays (no tensors), so they are cheap to hold and to slice (a large
 * user training set may be streamed instead: see {@link ImageSet}).
 */

/**
 * A set of images, NHWC, pixels normalised to [-1, 1] as in insightface: ((x / 255) - 0.5) / 0.5.
 *
 * In memory (every built-in dataset, and every test set) the pixels are in `images`. A streamed set (the
 * training set of a user dataset too large for memory, src/data/user) holds no pixels: `images` is empty and
 * `fetch` decodes an image on demand. Read images through {@link readImageInto}, which serves both.
 */
export interface ImageSet {
  /** count * height * width * channels values, row-major NHWC; empty (length 0) when the set is streamed (`fetch`). */
  images: Float32Array;
  /** One identity label per image. */
  labels: Int32Array;
  count: number;
  height: number;
  width: number;
  channels: number;
  /**
   * Streamed sets only: writes image `index` (height * width * channels values, NHWC) into `out` from `offset`,
   * decoding it from its source. Throws (never returns wrong pixels) when the source can no longer be read.
   */
  fetch?(index: number, out: Float32Array, offset: number): void;
}

/** Whether `set` is streamed (its pixels come from `fetch`, `images` is empty). */
export function isStreamedSet(set: ImageSet): boolean {
  return typeof set.fetch === 'function';
}

/**
 * Writes image `index` of `set` into `out` from `offset`: a copy from `images` for an in-memory set, `fetch` for
 * a streamed one. Every reader of a set that may be streamed (the trainer's batches) goes through this.
 */
export function readImageInto(set: ImageSet, index: number, out: Float32Array, offset: number): void {
  if (set.fetch) {
    set.fetch(index, out, offset);
    return;
  }
  const pix = set.height * set.width * set.channels;
  out.set(set.images.subarray(index * pix, (index + 1) * pix), offset);
}

/**
 * Verification pairs, as indices into the test set. LFW protocol: `folds` contiguous folds, fold k is
 * pairs [k * perFold, (k + 1) * perFold); `fold[i]` repeats the fold number of pair i.
 */
export interface VerificationPairs {
  left: Int32Array;
  right: Int32Array;
  /** 1 for a same-identity pair, 0 for a different-identity pair. */
  isSame: Uint8Array;
  fold: Int32Array;
}

/** Open-set identification split, as indices into the test set. */
export interface IdentificationSplit {
  /** One enrolment image per known identity. */
  gallery: Int32Array;
  /** The remaining images of the known identities. */
  knownProbes: Int32Array;
  /** All images of identities that are not enrolled in the gallery. */
  unknownProbes: Int32Array;
}

/**
 * Held-back images of the training identities: never trained on, labelled with the training labels, with
 * verification pairs over them built as the test pairs are (identity-disjoint folds, P same then P different per
 * fold; P may be smaller than the test set's when few identities fit a fold). Verification on them against
 * verification on the test identities measures how much of what the model learned is specific to the training
 * identities (the train-minus-test gap of issue 15).
 */
export interface HeldOutSet {
  /** The held-back images; labels are training labels (0..numClasses-1). */
  set: ImageSet;
  /** Verification pairs, as indices into `set`. */
  pairs: VerificationPairs;
}

/** A complete benchmark: training data plus verification and identification protocols on the test set. */
export interface FaceBenchmark {
  name: string;
  train: ImageSet;
  /** Number of training identities; train labels are 0..numClasses-1. */
  numClasses: number;
  test: ImageSet;
  pairs: VerificationPairs;
  identification: IdentificationSplit;
  /** Held-back images of the training identities with their pairs (absent when the dataset has none). */
  heldOut?: HeldOutSet;
  /** JSON-serialisable description of how the benchmark was made (options, counts, timings). */
  meta: Record<string, unknown>;
}
