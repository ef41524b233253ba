/**
 * insightface verification sets (`lfw.bin`, `cfp_fp.bin`, `agedb_30.bin`, `calfw.bin`, `cplfw.bin`, ...).
 *
 * Format: one Python pickle (written by `pickle.dump((bins, issame_list), f, protocol=pickle.HIGHEST_PROTOCOL)` in
 * insightface's `lfw2pack.py` / `agedb2pack2.py` / `cfp2pack.py`) of a 2-tuple:
 * - `bins`: a list of 2N encoded images (JPEG or PNG file contents). Python 3 writers store `bytes`
 *   (SHORT_BINBYTES / BINBYTES / BINBYTES8, protocol 3-5; at protocol 2 `_codecs.encode(str, 'latin1')`);
 *   Python 2 writers store `str` (SHORT_BINSTRING / BINSTRING). All are read as bytes.
 * - `issame_list`: a list of N bools (NEWTRUE / NEWFALSE; ints 0/1 are accepted too).
 * Pair i is images `2i` (left) and `2i + 1` (right); same identity iff `issame_list[i]`.
 * The opcodes are decoded by pickle.ts (see its table); anything else is a {@link DataFormatError}.
 *
 * Output: the 2N images in file order (image `j` of the set is `bins[j]` unless images were skipped), labels
 * {@link UNKNOWN_LABEL} (the file has no identities), and N pairs in `folds` contiguous folds (default 10, the LFW
 * protocol: pair k is in fold `floor(k * folds / N)`, as insightface's `KFold(shuffle=False)` when N is a multiple
 * of `folds`). The pickle is parsed without reading the image bytes (it records their offsets); images are read
 * and decoded while streaming, so memory holds the offsets plus the prefetched batches.
 */
import type { VerificationPairs } from '../types';
import { DataFormatError, DataNotFoundError } from './errors';
import { openForRead, readAt } from './files';
import { describePickleValue, FileByteSource, PickleBytesRef, pickleOffset, PickleTuple, PickleValue, unpickle } from './pickle';
import { ImageStream, ItemSource, StreamOptions } from './stream';
import { contiguousFolds, DEFAULT_VERIFICATION_FOLDS, UNKNOWN_LABEL, VerificationSet, VerificationSource } from './verification-set';

/** Options of {@link openVerificationBin}. */
export interface VerificationBinOptions extends StreamOptions {
  /** Number of contiguous folds, a positive integer <= the number of pairs. Default {@link DEFAULT_VERIFICATION_FOLDS} (10). */
  folds?: number;
}

/** The validated content of a .bin: image byte locations and pair flags. */
export interface VerificationBinContent {
  /** Each image's bytes, read (Uint8Array) or located in the file ({@link PickleBytesRef}). */
  images: (Uint8Array | PickleBytesRef)[];
  /** One flag per pair. */
  isSame: Uint8Array;
}

/**
 * Checks that a decoded pickle is `(bins, issame_list)` as described in the file comment.
 * @throws DataFormatError naming `file`, the byte offset of the offending object and what was found instead.
 */
export function checkVerificationPickle(value: PickleValue, file: string): VerificationBinContent {
  const at = (v: PickleValue): { offset?: number } => {
    const o = pickleOffset(v);
    return o === undefined ? {} : { offset: o };
  };
  const items = value instanceof PickleTuple ? value.items : Array.isArray(value) ? value : null;
  if (items === null || items.length !== 2) {
    throw new DataFormatError(file, `expected a pickled tuple (bins, issame_list), got ${describePickleValue(value)}`, at(value));
  }
  const [bins, issame] = items;
  if (!Array.isArray(bins)) throw new DataFormatError(file, `bins (item 0 of the tuple) is ${describePickleValue(bins)}, expected a list of image bytes`, at(value));
  if (!Array.isArray(issame)) throw new DataFormatError(file, `issame_list (item 1 of the tuple) is ${describePickleValue(issame)}, expected a list of bools`, at(value));
  const images: (Uint8Array | PickleBytesRef)[] = new Array(bins.length);
  for (let i = 0; i < bins.length; i++) {
    const b = bins[i];
    if (!(b instanceof Uint8Array || b instanceof PickleBytesRef)) {
      throw new DataFormatError(file, `bins[${i}] is ${describePickleValue(b)}, expected bytes (an encoded image)`, at(bins));
    }
    images[i] = b;
  }
  const isSame = new Uint8Array(issame.length);
  for (let i = 0; i < issame.length; i++) {
    const s = issame[i];
    if (s === true || s === 1) isSame[i] = 1;
    else if (!(s === false || s === 0)) throw new DataFormatError(file, `issame_list[${i}] is ${describePickleValue(s)}, expected a bool`, at(issame));
  }
  if (isSame.length === 0) throw new DataFormatError(file, 'issame_list is empty: no pairs', at(issame));
  if (images.length !== 2 * isSame.length) {
    throw new DataFormatError(file, `${images.length} images for ${isSame.length} pair${isSame.length === 1 ? '' : 's'}; expected 2 images per pair (${2 * isSame.length})`, at(bins));
  }
  return { images, isSame };
}

/** Parses the pickle of a .bin file without reading the image bytes. */
export function readVerificationBinContent(file: string): VerificationBinContent {
  const src = new FileByteSource(file);
  try {
    if (src.size === 0) throw new DataFormatError(file, 'file is empty', { offset: 0 });
    return checkVerificationPickle(unpickle(src, { file, lazyBytes: 0 }), file);
  } finally {
    src.close();
  }
}

/**
 * Parses a .bin (synchronously; image bytes are not read) and returns its pairs and a stream over its images.
 * @throws DataNotFoundError if the file is missing; DataFormatError if it is not a verification pickle.
 */
export function openVerificationBin(file: string, opts: VerificationBinOptions = {}): VerificationSource {
  const folds = opts.folds ?? DEFAULT_VERIFICATION_FOLDS;
  if (!Number.isInteger(folds) || folds <= 0) throw new RangeError(`folds must be a positive integer, got ${folds}`);
  const content = readVerificationBinContent(file);
  const n = content.isSame.length;
  if (n < folds) throw new DataFormatError(file, `${n} pairs cannot fill ${folds} folds`);
  const pairs: VerificationPairs = {
    left: new Int32Array(n), right: new Int32Array(n), isSame: content.isSame, fold: contiguousFolds(n, folds),
  };
  for (let k = 0; k < n; k++) { pairs.left[k] = 2 * k; pairs.right[k] = 2 * k + 1; }
  const images = content.images;
  const open = async (): Promise<ItemSource> => {
    const { fh, size } = await openForRead(file);
    return {
      count: images.length,
      source: (i) => `${file}#${i}`,
      load: async (i) => {
        const b = images[i];
        if (b instanceof Uint8Array) return { bytes: b, label: UNKNOWN_LABEL };
        if (b.offset + b.length > size) throw new DataNotFoundError(file, `file shrank to ${size} bytes since it was parsed`);
        const bytes = await readAt(fh, b.length, b.offset);
        if (bytes.length < b.length) throw new DataFormatError(file, `file ended inside image ${i}`, { offset: b.offset });
        return { bytes, label: UNKNOWN_LABEL };
      },
      close: () => fh.close(),
    };
  };
  return new VerificationSource(file, pairs, null, new ImageStream(file, images.length, open, opts));
}

/** {@link openVerificationBin} then `load()`: all images decoded into one {@link VerificationSet}. */
export async function readVerificationBin(file: string, opts: VerificationBinOptions = {}): Promise<VerificationSet> {
  return openVerificationBin(file, opts).load();
}
