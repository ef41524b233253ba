/**
 * Where the images of a user dataset come from: a {@link UserImageSource} lists them by identity and reads their
 * bytes, and a streamed training set re-reads and re-decodes them batch by batch, checked against the checksum of
 * the validation pass (a changed or unreadable source is a {@link StreamedImageError}, never wrong pixels).
 */
import { decodeImage, preprocessInto, type DecodedImage } from '../readers/decode';
import { DataReaderError, errorMessage, type ErrorPosition } from '../readers/errors';
import type { ImageSet } from '../types';
import type { UserDatasetName } from './options';

/**
 * A training image of a streamed set that can no longer be read as it was during the build's validation pass (the
 * file was removed, truncated or rewritten since). `file` is the image file or the .rec; `offset` the record's
 * byte offset (RecordIO). The run cannot continue with wrong pixels: rebuild the dataset (restart the run).
 */
export class StreamedImageError extends DataReaderError {
  constructor(file: string, reason: string, pos: ErrorPosition = {}, readonly index = -1) {
    super(file, reason, pos);
  }
}

/** 32-bit FNV-1a of `bytes`: the validation pass's fingerprint of each streamed training image. */
export function userImageChecksum(bytes: Uint8Array): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < bytes.length; i++) h = Math.imul(h ^ bytes[i], 0x01000193);
  return h >>> 0;
}

/** Reads chosen items of a {@link UserImageSource} after its build, by position `k` in the chosen list. */
export interface UserItemReader {
  /** Encoded bytes of the k-th chosen item (throws when it cannot be read). */
  read(k: number): Uint8Array;
  /** Name of the k-th chosen item (as `UserImageSource.source`). */
  source(k: number): string;
  /** The file holding the k-th item and the byte offset of its record, for error messages. */
  where(k: number): { file: string; offset?: number };
}

/** Encoded images grouped by identity, as listed by a user dataset before decoding. */
export interface UserImageSource {
  /** The folder or .rec, for messages and summaries. */
  name: string;
  /** Identity names, in label order (label i = identities[i]). */
  identities: string[];
  /** Items (image indices) of each identity, each list in input order. */
  groups: number[][];
  /** Number of items. */
  count: number;
  /** Name of item `i` (a path or `"<rec>#<record id>"`). */
  source(i: number): string;
  /** Encoded bytes of item `i`; throws ImageDecodeError to skip it, anything else ends the load. */
  read(i: number): Uint8Array;
  /** Identities found with no image at all (e.g. empty folders); counted as dropped. */
  emptyIdentities?: string[];
  /** Extra description for `meta.source` (format, paths). */
  describe: Record<string, unknown>;
  /**
   * A reader of `items` (item indices) that stays usable after the build returns, holding only what those items
   * need (a streamed training set reads through it). Default: `read` and `source` of this object, with the item's
   * name as its file.
   */
  streamItems?(items: Int32Array): UserItemReader;
}

/**
 * The streamed training set over `items` (source item indices, in training order) with their validation-pass
 * checksums: `fetch` reads, checks, decodes and preprocesses one image as the in-memory path does.
 */
export function streamedSet(dataset: UserDatasetName, src: UserImageSource, items: Int32Array, sums: Uint32Array, labels: Int32Array,
  size: number, channels: 1 | 3): ImageSet {
  const reader: UserItemReader = src.streamItems?.(items) ?? {
    read: (k) => src.read(items[k]), source: (k) => src.source(items[k]), where: (k) => ({ file: src.source(items[k]) }),
  };
  const count = items.length;
  const fail = (k: number, what: string, e?: unknown): never => {
    const w = reader.where(k);
    const pos = e instanceof DataReaderError && e.offset !== undefined && e.file === w.file ? { offset: e.offset } : w.offset === undefined ? {} : { offset: w.offset };
    const name = reader.source(k);
    throw new StreamedImageError(w.file, `training image ${k} of ${dataset}${name !== w.file ? ` (${name})` : ''} ${what}; ` +
      'it was read by the validation pass when the dataset was built, so its source changed since. Streamed training reads ' +
      'each batch from the source: restore the data, or rebuild the dataset by restarting the run (--resume continues from ' +
      'the last checkpoint)', pos, k);
  };
  return {
    images: new Float32Array(0), labels, count, height: size, width: size, channels,
    fetch(index: number, out: Float32Array, offset: number): void {
      if (!Number.isInteger(index) || index < 0 || index >= count) throw new RangeError(`image index ${index} outside [0, ${count})`);
      let bytes: Uint8Array;
      try {
        bytes = reader.read(index);
      } catch (e) {
        return fail(index, `can no longer be read (${errorMessage(e)})`, e);
      }
      if (userImageChecksum(bytes) !== sums[index]) {
        fail(index, `changed: its ${bytes.length} bytes differ from those decoded by the validation pass`);
      }
      let img: DecodedImage;
      try {
        img = decodeImage(bytes, reader.source(index));
      } catch (e) {
        return fail(index, `can no longer be decoded (${errorMessage(e)})`, e);
      }
      preprocessInto(img, out, offset, size, channels, false);
    },
  };
}
