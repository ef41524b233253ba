/**
 * Options of the user datasets (`image-folder`, `recordio`): names, defaults, validation, which dataset a path is,
 * and the bytes the memory guard counts. The build of the benchmark: build.ts.
 */
import * as fs from 'fs';
import * as path from 'path';
import { errorMessage } from '../readers/errors';
import type { LogFn } from '../readers/stream';
import { checkOptionNames, fmt, intOpt, numOpt } from '../options';
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

/** Bytes of `count` images held as float32: count * size * size * channels * 4. */
export function userDatasetBytes(count: number, size: number, channels: number): number {
  return count * size * size * channels * 4;
}
