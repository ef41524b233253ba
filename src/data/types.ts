/**
 * Benchmark data contracts (docs/DESIGN.md, "src/data"). Every dataset in the registry produces a
 * `FaceBenchmark`: a labelled training set, a test set, LFW-style verification pairs and an open-set
 * identification split, all as plain typed arrays (no tensors), so they are cheap to hold and to slice.
 */

/** A set of images, NHWC, pixels normalised to [-1, 1] as in insightface: ((x / 255) - 0.5) / 0.5. */
export interface ImageSet {
  /** count * height * width * channels values, row-major NHWC. */
  images: Float32Array;
  /** One identity label per image. */
  labels: Int32Array;
  count: number;
  height: number;
  width: number;
  channels: number;
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

/** A complete benchmark: training data plus verification and identification protocols on the test set. */
export interface FaceBenchmark {
  name: string;
  train: ImageSet;
  /** Number of training identities; train labels are 0..numClasses-1. */
  numClasses: number;
  test: ImageSet;
  pairs: VerificationPairs;
  identification: IdentificationSplit;
  /** JSON-serialisable description of how the benchmark was made (options, counts, timings). */
  meta: Record<string, unknown>;
}
