/**
 * What the two user datasets (`image-folder`, `recordio`) share: their options, the memory guard, and the build of a
 * {@link FaceBenchmark} from a list of encoded images grouped by identity.
 *
 * Why synchronous: a registered dataset's `create` returns its benchmark synchronously (registry.ts) and the Trainer
 * builds it in its constructor, so `coreface eval --checkpoint` and resumed runs rebuild it without an event loop.
 * The streaming readers (src/data/readers) are asynchronous, so these datasets read files with the synchronous
 * `fs` calls and reuse the readers' synchronous parts: the decoders, the preprocessing (short-side bilinear resize,
 * centre crop, insightface normalisation `((x / 255) - 0.5) / 0.5`), the typed errors and the summary format. The
 * tests check that both paths give the same pixels.
 *
 * Build ({@link buildUserBenchmark}), in this order
 * 1. Identities with fewer than `minImagesPerIdentity` listed images are dropped (counted, named in `meta`).
 * 2. Checks before any image is decoded: the memory guard (`maxImages`) and whether the held-out identities can
 *    hold 10 identity-disjoint verification folds (at least 2 identities per fold). The option `stream` decides
 *    where the training images live (see "Streaming" below); the guard counts the images held in memory.
 * 3. `testIdentities` identities (a count, or a fraction of the kept ones, rounded) are chosen with the seed and
 *    held out: training and test identities are disjoint. Training labels are 0..K-1 and test labels 0..T-1, each
 *    in identity order (folder name order; numeric label order for RecordIO); sets are identity-major.
 * 4. Images are decoded in input order; a corrupt, truncated or unreadable image is skipped, counted and listed
 *    (progress lines every `progressEvery` images on long loads, then the readers' summary line). An identity left
 *    with fewer than `minImagesPerIdentity` decodable images is dropped too. When streaming, this is the
 *    validation pass: training images are decoded and their pixels discarded (a checksum of their bytes is kept).
 * 5. Verification pairs (`makeVerificationPairs`, 10 identity-disjoint folds, P same then P different per fold)
 *    and the open-set identification split (`makeIdentificationSplit`) on the held-out identities, from forks of
 *    the seed, as synthfaces does. P is `pairsPerFold`, or by default the largest number <= 300 that every fold
 *    can hold.
 *
 * Streaming (option `stream`: `'auto'` (default), `true`, `false`)
 * - In memory (`false`, and `'auto'` when all listed images fit under `maxImages`): train and test images are
 *   held as float32, and the guard counts all listed images, as before the option existed.
 * - Streamed (`true`, and `'auto'` when the listed images exceed `maxImages`): the training set holds no pixels
 *   (`images` is empty); its `fetch` reads an image's bytes again (the file, or the record at its .idx offset),
 *   checks them against the validation pass's checksum, decodes and preprocesses them exactly as the in-memory
 *   path does (same pixels, bit for bit), and the trainer calls it for each batch (`readImageInto`). The held-out
 *   test images stay in memory (evaluation reads them many times), so the guard counts them only. A source that
 *   can no longer be read, or whose bytes changed since the build, is a {@link StreamedImageError} naming the
 *   file (and byte offset for RecordIO): never wrong pixels. The labels, counts, pairs and split are those of the
 *   in-memory build.
 */
import * as fs from 'fs';
import * as path from 'path';
import { Rng } from '../../util/rng';
import { decodeImage, preprocessInto } from '../readers/decode';
import { DataReaderError, ImageDecodeError, errorMessage } from '../readers/errors';
import type { ErrorPosition } from '../readers/errors';
import { formatReadSummary, stderrLog } from '../readers/stream';
import type { LogFn, ReadSummary } from '../readers/stream';
import { checkOptionNames, displayPath, fmt, intOpt, numOpt } from '../options';
import { makeIdentificationSplit, makeVerificationPairs, minIdentitiesPerFold } from '../splits';
import type { FaceBenchmark, ImageSet, VerificationPairs } from '../types';
import type { DecodedImage } from '../readers/decode';
import { DatasetError } from '../errors';

/** Registered names of the user datasets. */
export const USER_DATASET_NAMES = ['image-folder', 'recordio'] as const;
export type UserDatasetName = (typeof USER_DATASET_NAMES)[number];

/** Default training resolution (height = width) of the user datasets. */
export const DEFAULT_USER_SIZE = 32;
/** Default channels (RGB). */
export const DEFAULT_USER_CHANNELS = 3;
/** Default share of the identities held out for evaluation. */
export const DEFAULT_USER_TEST_IDENTITIES = 0.2;
/** Default minimum number of images an identity needs to be kept. */
export const DEFAULT_USER_MIN_IMAGES = 2;
/** Default memory guard: most images held in memory (train + test; test only when the training set is streamed). */
export const DEFAULT_USER_MAX_IMAGES = 200000;
/** Values of the `stream` option: `'auto'` streams the training images when all listed images exceed `maxImages`. */
export type UserStreamOption = boolean | 'auto';
/** Default `stream`. */
export const DEFAULT_USER_STREAM: UserStreamOption = 'auto';
/** Default fraction of the held-out identities not enrolled in the gallery (as synthfaces). */
export const DEFAULT_USER_UNKNOWN_FRACTION = 0.3;
/** Largest automatic `pairsPerFold` (LFW's 300). */
export const USER_MAX_AUTO_PAIRS_PER_FOLD = 300;
/** Verification folds (LFW protocol). */
export const USER_DATASET_FOLDS = 10;
/** Default number of images between progress lines. */
export const DEFAULT_USER_PROGRESS_EVERY = 1000;
/** At most this many identity names are listed in `meta` per list. */
const META_MAX_NAMES = 100;

/**
 * A problem with the user's data or dataset options that the user must fix (too few identities, the memory guard,
 * a bad option value). The CLI prints its message and exits with code 2.
 */
export class UserDatasetError extends DatasetError {}

/** Options shared by `image-folder` and `recordio` (a type alias, so it is a valid `DatasetOptions` record). */
export type UserDatasetOptions = {
  /** The image folder (`<path>/<identity>/<image>`) or the `.rec` file (its `.idx` beside it). Required. */
  path?: string;
  /** Training resolution: images are resized (short side) and centre-cropped to size x size (default 32). */
  size?: number;
  /** 3 (RGB, default) or 1 (luma). */
  channels?: number;
  /** Identities held out for evaluation, disjoint from training: a count (integer >= 1) or a fraction in (0, 1) (default 0.2). */
  testIdentities?: number;
  /** Identities with fewer images are dropped and counted (default 2, at least 2). */
  minImagesPerIdentity?: number;
  /** Memory guard: refuse to hold more images than this in memory (default 200000; see `stream`). */
  maxImages?: number;
  /**
   * Where the training images live: false = in memory; true = streamed (decoded from the source for each batch;
   * only the held-out test images are held, and counted by `maxImages`); 'auto' (default) = in memory when all
   * listed images fit under `maxImages`, streamed otherwise.
   */
  stream?: UserStreamOption;
  /** Seed of the held-out choice, the pairs and the identification split (default 0). */
  seed?: number;
  /** Same pairs per fold, and as many different pairs (default: as many as every fold holds, at most 300). */
  pairsPerFold?: number;
  /** Fraction of the held-out identities that are unknown (not enrolled) in the open-set split, in [0, 1) (default 0.3). */
  unknownFraction?: number;
};

/** Options with defaults filled in (`pairsPerFold` null = automatic). */
export interface ResolvedUserDatasetOptions {
  path: string;
  size: number;
  channels: 1 | 3;
  testIdentities: number;
  minImagesPerIdentity: number;
  maxImages: number;
  seed: number;
  pairsPerFold: number | null;
  unknownFraction: number;
  /** `stream` as given; absent when not given (= 'auto', {@link DEFAULT_USER_STREAM}). */
  stream?: UserStreamOption;
}

export const USER_DATASET_OPTION_NAMES: readonly (keyof UserDatasetOptions)[] = [
  'path', 'size', 'channels', 'testIdentities', 'minImagesPerIdentity', 'maxImages', 'seed', 'pairsPerFold', 'unknownFraction', 'stream',
];

/** How a build reports (not part of the dataset options, so not part of a config). */
export interface UserLoadOptions {
  /** Sink for the scan line, progress lines and summaries; `null` for silence. Default standard error. */
  log?: LogFn | null;
  /** Images between progress lines (logged when the load has more). Default {@link DEFAULT_USER_PROGRESS_EVERY}. */
  progressEvery?: number;
}

/**
 * Validates and completes the options of `dataset` ('image-folder' or 'recordio'); every message names the field,
 * the value and what is allowed.
 * @throws UserDatasetError
 */
export function resolveUserDatasetOptions(dataset: string, opts: UserDatasetOptions | Record<string, unknown> = {}): ResolvedUserDatasetOptions {
  try {
    const o = checkOptionNames(dataset, opts, USER_DATASET_OPTION_NAMES);
    const p = o.path;
    if (p === undefined) {
      throw new DatasetError(`${dataset} needs options.path (${dataset === 'recordio' ? 'the .rec file; its .idx beside it' : 'the folder of <identity>/<image> files'})`);
    }
    if (typeof p !== 'string' || p.length === 0) throw new DatasetError(`path must be a non-empty string, got ${fmt(p)}`);
    const channels = o.channels === undefined ? DEFAULT_USER_CHANNELS : o.channels;
    if (channels !== 1 && channels !== 3) throw new DatasetError(`channels must be 1 or 3, got ${fmt(channels)}`);
    const testIdentities = numOpt(o, 'testIdentities', DEFAULT_USER_TEST_IDENTITIES, (x) => (x > 0 && x < 1) || (Number.isInteger(x) && x >= 1),
      'a count (an integer >= 1) or a fraction of the identities in (0, 1)');
    let pairsPerFold: number | null = null;
    if (o.pairsPerFold !== undefined && o.pairsPerFold !== null) pairsPerFold = intOpt(o, 'pairsPerFold', 0, 1);
    if (o.stream !== undefined && o.stream !== true && o.stream !== false && o.stream !== 'auto') {
      throw new DatasetError(`stream must be true (stream the training images), false (hold them in memory) or 'auto', got ${fmt(o.stream)}`);
    }
    const stream = o.stream as UserStreamOption | undefined;
    return {
      path: p,
      size: intOpt(o, 'size', DEFAULT_USER_SIZE, 8, 1024),
      channels,
      testIdentities,
      minImagesPerIdentity: intOpt(o, 'minImagesPerIdentity', DEFAULT_USER_MIN_IMAGES, 2),
      maxImages: intOpt(o, 'maxImages', DEFAULT_USER_MAX_IMAGES, 1),
      seed: numOpt(o, 'seed', 0, () => true, 'a finite number'),
      pairsPerFold,
      unknownFraction: numOpt(o, 'unknownFraction', DEFAULT_USER_UNKNOWN_FRACTION, (x) => x >= 0 && x < 1, 'a number in [0, 1)'),
      // only when given, so the resolved options (and meta.options) of configs without it are unchanged
      ...(stream === undefined ? {} : { stream }),
    };
  } catch (e) {
    if (e instanceof UserDatasetError) throw e;
    const msg = (e as Error).message;
    throw new UserDatasetError(msg.includes(dataset) ? msg : `${dataset}: ${msg}`);
  }
}

/**
 * The user dataset for a path: a folder is an `image-folder`, a file whose name ends in `.rec` (any case) a
 * `recordio` set.
 * @throws UserDatasetError for a missing path or anything else.
 */
export function userDatasetForPath(p: string): UserDatasetName {
  let st: fs.Stats;
  try {
    st = fs.statSync(p);
  } catch (e) {
    const code = (e as { code?: unknown }).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') throw new UserDatasetError(`${p}: no such file or folder`);
    throw new UserDatasetError(`${p}: cannot read (${typeof code === 'string' ? code : errorMessage(e)})`);
  }
  if (st.isDirectory()) return 'image-folder';
  if (st.isFile() && path.extname(p).toLowerCase() === '.rec') return 'recordio';
  throw new UserDatasetError(`${p} is neither a folder (<identity>/<image> files) nor an insightface .rec file`);
}

/** `"1.23 GB"`-style size. */
function formatBytes(n: number): string {
  const units = ['bytes', 'KB', 'MB', 'GB', 'TB'];
  let u = 0, v = n;
  while (v >= 1000 && u < units.length - 1) { v /= 1000; u++; }
  return u === 0 ? `${n} bytes` : `${v.toFixed(v >= 100 ? 0 : v >= 10 ? 1 : 2)} ${units[u]}`;
}

/** Bytes of `count` images held as float32: count * size * size * channels * 4. */
export function userDatasetBytes(count: number, size: number, channels: number): number {
  return count * size * size * channels * 4;
}

/** Number of held-out identities for `testIdentities` (a count, or a fraction of `kept`, rounded). */
function heldOutCount(testIdentities: number, kept: number): number {
  return testIdentities < 1 ? Math.round(testIdentities * kept) : testIdentities;
}

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

function listNames(names: string[]): { count: number; names: string[]; truncated: boolean } {
  return { count: names.length, names: names.slice(0, META_MAX_NAMES), truncated: names.length > META_MAX_NAMES };
}

/** The 10-fold capacity check: throws the "too few identities" message. */
function tooFew(dataset: string, r: ResolvedUserDatasetOptions, kept: number, held: number, when: string): never {
  const need = 2 * USER_DATASET_FOLDS;
  const frac = r.testIdentities < 1;
  const needTotal = frac ? Math.max(need + 2, Math.ceil((need - 0.5) / r.testIdentities)) : need + 2;
  const how = kept >= need + 2
    ? frac
      ? `raise testIdentities (e.g. "testIdentities": ${need}, a count) or add identities (${needTotal} are needed with testIdentities=${r.testIdentities})`
      : `set testIdentities to at least ${need}`
    : `add identities: at least ${need + 2} with >= ${r.minImagesPerIdentity} images each are needed (${need} held out + 2 to train)` +
      (frac && needTotal > need + 2 ? `, ${needTotal} with testIdentities=${r.testIdentities}` : '');
  throw new UserDatasetError(`${dataset}: ${kept} identities with >= ${r.minImagesPerIdentity} images ${when}, ${held} held out for evaluation ` +
    `(testIdentities=${r.testIdentities}); ${USER_DATASET_FOLDS} identity-disjoint verification folds need at least ${need} held-out identities ` +
    `(2 per fold) with >= 2 images each: ${how}`);
}

function checkSplit(dataset: string, r: ResolvedUserDatasetOptions, kept: number, held: number, when: string): void {
  if (held < 2 * USER_DATASET_FOLDS) tooFew(dataset, r, kept, held, when);
  if (kept - held < 2) {
    throw new UserDatasetError(`${dataset}: testIdentities=${r.testIdentities} holds out ${held} of the ${kept} identities with ` +
      `>= ${r.minImagesPerIdentity} images ${when}, leaving ${kept - held} to train; at least 2 training identities are needed ` +
      `(lower testIdentities to at most ${kept - 2})`);
  }
  if (held - Math.round(r.unknownFraction * held) < 1) {
    throw new UserDatasetError(`${dataset}: unknownFraction=${r.unknownFraction} leaves no known held-out identity for the gallery`);
  }
}

/**
 * Verification pairs on the held-out set: `pairsPerFold` when given, else the largest P <= 300 that every fold holds
 * (found by bisection; the folds' identities depend only on the rng, not on P).
 */
function buildPairs(dataset: string, labels: Int32Array, T: number, requested: number | null, rng: Rng): { pairs: VerificationPairs; perFold: number } {
  const attempt = (P: number): VerificationPairs | null => {
    try {
      return makeVerificationPairs(labels, T, { folds: USER_DATASET_FOLDS, pairsPerFold: P }, rng.fork('pairs'));
    } catch {
      return null;
    }
  };
  const largest = (hi: number): { P: number; pairs: VerificationPairs } | null => {
    let lo = 0, best: VerificationPairs | null = null;
    const top = attempt(hi);
    if (top) return { P: hi, pairs: top };
    while (hi - lo > 1) {
      const mid = Math.floor((lo + hi) / 2);
      const p = attempt(mid);
      if (p) { lo = mid; best = p; } else hi = mid;
    }
    if (lo === 0) return null;
    return { P: lo, pairs: best ?? (attempt(lo) as VerificationPairs) };
  };
  if (requested !== null) {
    const p = attempt(requested);
    if (p) return { pairs: p, perFold: requested };
    const max = largest(Math.max(1, requested - 1));
    throw new UserDatasetError(`${dataset}: pairsPerFold=${requested} is more than the ${T} held-out identities hold in ` +
      `${USER_DATASET_FOLDS} identity-disjoint folds (at most ${max ? max.P : 0} same and different pairs per fold); lower pairsPerFold, ` +
      `leave it out (automatic), or hold out more identities (testIdentities; about ` +
      `${USER_DATASET_FOLDS * minIdentitiesPerFold(requested, 2)} identities with 2 images each hold ${requested} per fold)`);
  }
  const best = largest(USER_MAX_AUTO_PAIRS_PER_FOLD);
  if (!best) {
    throw new UserDatasetError(`${dataset}: the ${T} held-out identities cannot hold one same and one different pair in each of ` +
      `${USER_DATASET_FOLDS} folds; at least ${2 * USER_DATASET_FOLDS} held-out identities with >= 2 images are needed`);
  }
  return { pairs: best.pairs, perFold: best.P };
}

/**
 * The streamed training set over `items` (source item indices, in training order) with their validation-pass
 * checksums: `fetch` reads, checks, decodes and preprocesses one image as the in-memory path does.
 */
function streamedSet(dataset: UserDatasetName, src: UserImageSource, items: Int32Array, sums: Uint32Array, labels: Int32Array,
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

/** Target of one identity while decoding. */
interface Slot {
  /** 0 = train, 1 = test, -1 = dropped before decoding. */
  set: number;
  /** First image slot of the identity in its set's buffer. */
  base: number;
  /** Images decoded so far. */
  fill: number;
}

/**
 * Builds the benchmark of a user dataset from its listed images (see the file comment).
 * @throws UserDatasetError for too few identities, the memory guard and pair capacity; a reader error from
 *   `src.read` other than ImageDecodeError (a broken container).
 */
export function buildUserBenchmark(dataset: UserDatasetName, src: UserImageSource, r: ResolvedUserDatasetOptions,
  load: UserLoadOptions = {}, timings: Record<string, number> = {}): FaceBenchmark {
  const log = load.log === undefined ? stderrLog : load.log;
  const progressEvery = load.progressEvery ?? DEFAULT_USER_PROGRESS_EVERY;
  if (!Number.isInteger(progressEvery) || progressEvery < 1) throw new RangeError(`progressEvery must be a positive integer, got ${progressEvery}`);
  const t0 = Date.now();
  const K0 = src.identities.length;
  const per = r.size * r.size * r.channels;

  // 1. identities with too few listed images
  const candidates: number[] = [];
  const droppedListed: string[] = [...(src.emptyIdentities ?? [])];
  for (let id = 0; id < K0; id++) {
    if (src.groups[id].length >= r.minImagesPerIdentity) candidates.push(id);
    else droppedListed.push(src.identities[id]);
  }
  let listed = 0;
  for (const id of candidates) listed += src.groups[id].length;

  // 2. memory guard and fold capacity, before decoding anything; where the training images live (file comment)
  const streamOption = r.stream ?? DEFAULT_USER_STREAM;
  const stream = streamOption === true || (streamOption === 'auto' && listed > r.maxImages);
  const guardAll = (): string => `${dataset}: ${src.name} has ${listed} images (of ${candidates.length} identities with >= ` +
    `${r.minImagesPerIdentity} images); held as float32 at ${r.size}x${r.size}x${r.channels} they take about ` +
    `${formatBytes(userDatasetBytes(listed, r.size, r.channels))} (${listed} x ${r.size} x ${r.size} x ${r.channels} x 4 bytes), ` +
    `above the memory guard maxImages=${r.maxImages} (${formatBytes(userDatasetBytes(r.maxImages, r.size, r.channels))}). ` +
    `If the machine has the memory, raise it: "dataset": {"options": {"maxImages": ${listed}}} in the config; or lower size/channels, ` +
    'or train on a subset';
  if (!stream && listed > r.maxImages) {
    throw new UserDatasetError(`${guardAll()}; or stream the training images ("stream": true or "auto": only the held-out test images are then held)`);
  }
  const held0 = heldOutCount(r.testIdentities, candidates.length);
  checkSplit(dataset, r, candidates.length, held0, 'listed');

  // 3. held-out identities (seeded), train/test slots
  const root = new Rng(`${dataset}/${r.seed}`);
  const order = [...candidates];
  root.fork('held-out').shuffle(order);
  const heldSet = new Set(order.slice(0, held0));
  const slots: Slot[] = Array.from({ length: K0 }, () => ({ set: -1, base: 0, fill: 0 }));
  const cap = [0, 0];
  for (const id of candidates) {
    const s = heldSet.has(id) ? 1 : 0;
    slots[id] = { set: s, base: cap[s], fill: 0 };
    cap[s] += src.groups[id].length;
  }
  if (stream && cap[1] > r.maxImages) {
    // streaming holds the test images only: they alone are over the guard
    const testBytes = formatBytes(userDatasetBytes(cap[1], r.size, r.channels));
    const why = `the ${cap[1]} images of the ${held0} held-out identities stay in memory for evaluation (${testBytes} as float32 at ` +
      `${r.size}x${r.size}x${r.channels}) and alone exceed maxImages=${r.maxImages}; lower testIdentities, or raise maxImages to at ` +
      `least ${cap[1]} to stream the training images`;
    throw new UserDatasetError(streamOption === 'auto'
      ? `${guardAll()}. Streaming the training images ("stream": "auto", the default) does not help: ${why}`
      : `${dataset}: "stream": true streams the training images of ${src.name}, but ${why} (or all ${listed}: "stream": false)`);
  }
  if (log) {
    const why = streamOption === 'auto'
      ? `"stream": "auto": ${listed} listed images ${stream ? '>' : '<='} maxImages=${r.maxImages}` : `"stream": ${streamOption}`;
    log(stream
      ? `${dataset}: streaming the ${cap[0]} training images from ${src.name} (${why}): a validation pass decodes each once now, then ` +
        `every batch decodes its images again; the ${cap[1]} held-out test images are held in memory`
      : `${dataset}: all ${listed} images in memory (${why})`);
  }
  const itemId = new Int32Array(src.count).fill(-1);
  for (const id of candidates) for (const i of src.groups[id]) itemId[i] = id;
  const buffers = [new Float32Array(stream ? 0 : cap[0] * per), new Float32Array(cap[1] * per)];
  // streaming: which items decoded (the training set lists them) and the checksum of their bytes
  const decoded = stream ? new Uint8Array(src.count) : null;
  const sums = stream ? new Uint32Array(src.count) : null;

  // 4. decode in input order
  const tDecode = Date.now();
  const summary: ReadSummary = { name: src.name, total: listed, read: 0, skipped: 0, reasons: [], seconds: 0, complete: false };
  let done = 0;
  for (let i = 0; i < src.count; i++) {
    const id = itemId[i];
    if (id < 0) continue;
    const slot = slots[id];
    try {
      const bytes = src.read(i);
      const img = decodeImage(bytes, src.source(i));
      if (decoded && sums && slot.set === 0) {
        decoded[i] = 1;
        sums[i] = userImageChecksum(bytes);
      } else {
        preprocessInto(img, buffers[slot.set], (slot.base + slot.fill) * per, r.size, r.channels, false);
      }
      slot.fill++;
      summary.read++;
    } catch (e) {
      if (!(e instanceof ImageDecodeError)) throw e;
      summary.skipped++;
      summary.reasons.push({ source: src.source(i), reason: errorMessage(e) });
    }
    done++;
    if (log && done % progressEvery === 0 && done < listed) {
      const s = (Date.now() - tDecode) / 1000;
      log(`${src.name}: ${done}/${listed} images (${summary.skipped} skipped${s > 0 ? `, ${Math.round(done / s)} images/s` : ''})`);
    }
  }
  summary.seconds = (Date.now() - tDecode) / 1000;
  summary.complete = true;
  if (log) log(formatReadSummary(summary));
  const decodeMs = Date.now() - tDecode;

  // identities left with too few decodable images are dropped; compact each set (identity-major, name order)
  const droppedAfterSkips: string[] = [];
  const sets: ImageSet[] = [];
  const members: number[][] = [[], []];
  for (let s = 0; s < 2; s++) {
    const buf = buffers[s];
    const labels = new Int32Array(cap[s]);
    const streamed = decoded !== null && s === 0;
    const items = streamed ? new Int32Array(cap[s]) : null; // streamed: the source item of each training image
    let n = 0, label = 0;
    for (const id of candidates) {
      const slot = slots[id];
      if (slot.set !== s) continue;
      if (slot.fill < r.minImagesPerIdentity) { droppedAfterSkips.push(src.identities[id]); continue; }
      if (items && decoded) {
        let k = n;
        for (const i of src.groups[id]) if (decoded[i]) items[k++] = i;
      } else if (n !== slot.base) {
        buf.copyWithin(n * per, slot.base * per, (slot.base + slot.fill) * per);
      }
      labels.fill(label, n, n + slot.fill);
      n += slot.fill;
      label++;
      members[s].push(id);
    }
    const setLabels = n === cap[s] ? labels : labels.subarray(0, n);
    if (items && sums) {
      const chosen = items.slice(0, n);
      sets.push(streamedSet(dataset, src, chosen, Uint32Array.from(chosen, (i) => sums[i]), setLabels, r.size, r.channels));
    } else {
      sets.push({ images: n === cap[s] ? buf : buf.subarray(0, n * per), labels: setLabels, count: n, height: r.size, width: r.size, channels: r.channels });
    }
  }
  const [train, test] = sets;
  const K = members[0].length, T = members[1].length;
  if (droppedAfterSkips.length > 0) checkSplit(dataset, r, K + T, T, 'after skipping unreadable images');

  // 5. protocols on the held-out identities
  const { pairs, perFold } = buildPairs(dataset, test.labels, T, r.pairsPerFold, root);
  const identification = makeIdentificationSplit(test.labels, T, r.unknownFraction, root.fork('identification'));
  const names = (ids: number[]): string[] => ids.map((id) => src.identities[id]);
  let imagesOfDropped = src.count - listed;
  for (const id of candidates) if (slots[id].fill < r.minImagesPerIdentity) imagesOfDropped += slots[id].fill;
  const buildMs = Date.now() - t0 - decodeMs;
  const held = stream ? test.count : train.count + test.count;
  if (log) {
    log(`${dataset}: ${K} training identities (${train.count} images), ${T} held-out identities (${test.count} images), ` +
      `${droppedListed.length + droppedAfterSkips.length} identities dropped (< ${r.minImagesPerIdentity} images), ${summary.skipped} images skipped; ` +
      `${USER_DATASET_FOLDS} folds x ${perFold} same + ${perFold} different pairs; ${formatBytes(userDatasetBytes(held, r.size, r.channels))} in memory` +
      (stream ? ' (test images; training images streamed)' : ''));
  }
  return {
    name: dataset,
    train,
    numClasses: K,
    test,
    pairs,
    identification,
    meta: {
      source: { ...src.describe, path: displayPath(r.path) },
      options: { ...r, path: displayPath(r.path), pairsPerFold: r.pairsPerFold ?? 'auto', stream: streamOption },
      protocol: 'identity-disjoint open set: held-out identities (chosen with the seed) are disjoint from the training identities; ' +
        'train labels 0..K-1 and test labels 0..T-1, each in identity order',
      counts: {
        identitiesFound: K0 + (src.emptyIdentities?.length ?? 0),
        identitiesKept: K + T,
        identitiesDropped: droppedListed.length + droppedAfterSkips.length,
        trainIdentities: K,
        heldOutIdentities: T,
        imagesListed: src.count,
        imagesOfDroppedIdentities: imagesOfDropped,
        imagesRead: summary.read,
        imagesSkipped: summary.skipped,
        train: train.count,
        test: test.count,
        pairs: pairs.left.length,
        pairsPerFold: perFold,
        gallery: identification.gallery.length,
        knownProbes: identification.knownProbes.length,
        unknownProbes: identification.unknownProbes.length,
      },
      droppedIdentities: listNames([...droppedListed, ...droppedAfterSkips]),
      trainIdentities: { ...listNames(names(members[0])), note: 'train label i = names[i]' },
      heldOutIdentities: { ...listNames(names(members[1])), note: 'test label i = names[i]' },
      skipped: { count: summary.skipped, first: summary.reasons.slice(0, 20) },
      memory: {
        bytes: userDatasetBytes(held, r.size, r.channels), maxImages: r.maxImages, stream: streamOption,
        training: stream ? 'streamed' : 'in memory', guardCounts: stream ? 'held-out test images' : 'all images',
      },
      pairLayout: 'fold k = pairs [k*2P, (k+1)*2P): P same then P different; folds are identity-disjoint',
      timings: { ...timings, decodeMs, buildMs, totalMs: (timings.scanMs ?? 0) + Date.now() - t0 },
    },
  };
}
