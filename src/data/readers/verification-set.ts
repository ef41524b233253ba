/**
 * What the verification readers (insightface `.bin`, LFW `pairs.txt`) produce: the images of the pairs, decoded
 * into an {@link ImageSet}, and {@link VerificationPairs} indexing into it, ready for `evaluateEmbeddings`.
 *
 * - {@link VerificationSource}: the parsed pair list plus an {@link ImageStream} over the images, before any image
 *   is decoded (stream it for large sets, or `load()` it).
 * - {@link VerificationSet}: the loaded result. When images are skipped (corrupt), the image set holds only the
 *   decoded ones, every pair that uses a skipped image is dropped (`droppedPairs`), and the remaining pairs keep
 *   their original fold numbers in `pairs.fold`. (`evaluateEmbeddings` splits folds by position; with dropped pairs
 *   its folds can shift slightly from the file's.)
 */
import type { ImageSet, VerificationPairs } from '../types';
import type { ImageStream, ReadSummary } from './stream';

/** Default number of verification folds (LFW protocol). */
export const DEFAULT_VERIFICATION_FOLDS = 10;
/** Label of images whose identity the file does not give (insightface `.bin`). */
export const UNKNOWN_LABEL = -1;

/** A loaded verification set. */
export interface VerificationSet {
  /** The file read. */
  name: string;
  /** Decoded images; labels are identity indices into `identities`, or {@link UNKNOWN_LABEL}. */
  images: ImageSet;
  /** Pairs of indices into `images`. */
  pairs: VerificationPairs;
  /** Source of each image (a path, or `"<file>#<index>"`). */
  sources: string[];
  /** Identity names, sorted, when the format names them (pairs.txt); null otherwise. */
  identities: string[] | null;
  /** Images read and skipped. */
  summary: ReadSummary;
  /** Pairs dropped because one of their images was skipped. */
  droppedPairs: number;
}

/** Fold of each of `n` pairs in `folds` contiguous folds: pair `k` is in fold `floor(k * folds / n)`. */
export function contiguousFolds(n: number, folds: number): Int32Array {
  const out = new Int32Array(n);
  for (let k = 0; k < n; k++) out[k] = Math.floor((k * folds) / n);
  return out;
}

/** A parsed verification file: pairs over a list of images that are not decoded yet. */
export class VerificationSource {
  constructor(
    /** The file read. */
    readonly name: string,
    /** Pairs of indices into the image list of `stream` (0 .. imageCount-1). */
    readonly pairs: VerificationPairs,
    /** Identity names when known (pairs.txt); null for .bin. */
    readonly identities: string[] | null,
    /** Stream over the images, in image-list order; `ImageBatch.indices` are image-list indices. */
    readonly stream: ImageStream,
  ) {}

  /** Number of images listed (before decoding). */
  get imageCount(): number {
    return this.stream.total;
  }

  /** Decodes every image (one pass of `stream`) and builds the {@link VerificationSet}. */
  async load(): Promise<VerificationSet> {
    const { set, indices, sources, summary } = await this.stream.collect();
    const where = new Int32Array(this.imageCount).fill(-1);
    for (let i = 0; i < indices.length; i++) where[indices[i]] = i;
    const p = this.pairs;
    const n = p.left.length;
    let kept = 0;
    for (let k = 0; k < n; k++) if (where[p.left[k]] >= 0 && where[p.right[k]] >= 0) kept++;
    const pairs: VerificationPairs = {
      left: new Int32Array(kept), right: new Int32Array(kept), isSame: new Uint8Array(kept), fold: new Int32Array(kept),
    };
    let j = 0;
    for (let k = 0; k < n; k++) {
      const l = where[p.left[k]], r = where[p.right[k]];
      if (l < 0 || r < 0) continue;
      pairs.left[j] = l; pairs.right[j] = r; pairs.isSame[j] = p.isSame[k]; pairs.fold[j] = p.fold[k];
      j++;
    }
    return { name: this.name, images: set, pairs, sources, identities: this.identities, summary, droppedPairs: n - kept };
  }
}
