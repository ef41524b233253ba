/**
 * Verification evaluation of any {@link Embedder} on a verification set (insightface `.bin`, LFW `pairs.txt`, or
 * any images + pairs), with the project's metrics.
 *
 * Protocol
 * 1. Images whose size or channels differ from the embedder's input are adapted first: grey -> RGB by repeating
 *    the channel, RGB -> grey by BT.601 luma, then a bilinear resize with half-pixel centres (no antialiasing) to
 *    `inputSize x inputSize`. (The readers can decode straight to the embedder's size: pass them
 *    `{ size: embedder.inputSize, channels: embedder.channels }`, as `coreface eval` does.)
 * 2. Flip fusion as insightface: each image and its horizontal mirror are embedded, the two raw embeddings are
 *    summed and the sum is L2-normalised (`flipFuse`). `flip: false` normalises the plain embedding.
 * 3. Cosine score per pair; k-fold accuracy with thresholds chosen on the other folds (`verificationAccuracy`:
 *    contiguous folds by pair position, k = the set's own fold count, 10 for LFW / insightface sets), AUC, EER and
 *    TAR@FAR (src/eval). When a reader dropped pairs (corrupt images), positional folds can shift slightly from
 *    the file's folds; the report counts the dropped pairs.
 * The report is plain JSON (no NaN / Infinity; TAR at a FAR the impostor count cannot support is null).
 */
import type { EvalReport } from '../eval';
import * as tf from '@tensorflow/tfjs';
import type { ImageSet, VerificationPairs } from '../data/types';
import type { LogFn } from '../data/readers/stream';
import { flipFuse, l2Normalize, pairCosineScores } from '../eval/embeddings';
import { DEFAULT_FOLDS, verificationAccuracy } from '../eval/verification';
import { DEFAULT_FAR_LEVELS, eer, rocAuc, tarAtFarLevels } from '../eval/roc';
import { formatDuration } from '../util/progress';
import type { Embedder } from './types';

/** Default number of images handed to `Embedder.embed` at once (the embedder batches further inside). */
export const DEFAULT_EMBED_CHUNK = 64;
/** Default maximum number of images between progress lines. */
export const DEFAULT_EVAL_PROGRESS_EVERY = 1000;
/** Default maximum number of seconds between progress lines. */
export const DEFAULT_EVAL_PROGRESS_SECONDS = 30;

/** Mirrors `count` NHWC images left-right into a new array. */
export function flipImagesHorizontal(images: Float32Array, count: number, height: number, width: number, channels: number): Float32Array {
  const out = new Float32Array(count * height * width * channels);
  const row = width * channels;
  for (let n = 0; n < count; n++) {
    for (let y = 0; y < height; y++) {
      const base = (n * height + y) * row;
      for (let x = 0; x < width; x++) {
        const from = base + (width - 1 - x) * channels, to = base + x * channels;
        for (let c = 0; c < channels; c++) out[to + c] = images[from + c];
      }
    }
  }
  return out;
}

/**
 * `count` NHWC images of `height x width x channels` as `size x size x outChannels` (see step 1 of the file
 * comment). Returns the input itself when nothing changes.
 */
export function adaptImages(
  images: Float32Array, count: number, height: number, width: number, channels: number, size: number, outChannels: 1 | 3,
): Float32Array {
  if (height === size && width === size && channels === outChannels) return images;
  if (channels !== 1 && channels !== 3) throw new RangeError(`images must have 1 or 3 channels, got ${channels}`);
  if (count === 0) return new Float32Array(0);
  return tf.tidy(() => {
    let x: tf.Tensor4D = tf.tensor4d(images, [count, height, width, channels]);
    if (channels === 1 && outChannels === 3) x = tf.tile(x, [1, 1, 1, 3]);
    else if (channels === 3 && outChannels === 1) x = tf.sum(tf.mul(x, tf.tensor1d([0.299, 0.587, 0.114])), 3, true) as tf.Tensor4D;
    if (height !== size || width !== size) x = tf.image.resizeBilinear(x, [size, size], false, true);
    return x.dataSync() as Float32Array;
  });
}

/** Options of {@link embedImages}. */
export interface EmbedImagesOptions {
  /** Flip fusion (default true). */
  flip?: boolean;
  /** Images per `Embedder.embed` call. Default {@link DEFAULT_EMBED_CHUNK}. */
  chunkSize?: number;
  /** Called after every chunk with images done / total. */
  onProgress?: (done: number, total: number) => void;
}

/**
 * L2-normalised (flip-fused by default) embeddings of every image of `set`, row-major `count x dim`, with the
 * images adapted to the embedder's input first (file comment, steps 1-2).
 */
export async function embedImages(
  embedder: Embedder, set: ImageSet, opts: EmbedImagesOptions = {},
): Promise<{ embeddings: Float32Array; dim: number; count: number }> {
  const flip = opts.flip ?? true;
  const chunk = opts.chunkSize ?? DEFAULT_EMBED_CHUNK;
  if (!Number.isInteger(chunk) || chunk <= 0) throw new RangeError(`chunkSize must be a positive integer, got ${chunk}`);
  const { count, height: h, width: w, channels: c } = set;
  if (set.images.length !== count * h * w * c) {
    throw new RangeError(`image set holds ${set.images.length} values, expected ${count} x ${h} x ${w} x ${c}`);
  }
  const d = embedder.embeddingDim, s = embedder.inputSize, oc = embedder.channels;
  const pix = h * w * c;
  const out = new Float32Array(count * d);
  for (let start = 0; start < count; start += chunk) {
    const b = Math.min(chunk, count - start);
    const x = adaptImages(set.images.subarray(start * pix, (start + b) * pix), b, h, w, c, s, oc);
    const e = await embedder.embed(x, b);
    const fused = flip ? flipFuse(e, await embedder.embed(flipImagesHorizontal(x, b, s, s, oc), b), b, d) : l2Normalize(e, b, d);
    out.set(fused, start * d);
    opts.onProgress?.(start + b, count);
  }
  return { embeddings: out, dim: d, count };
}

/** Options of {@link embedProgressLogger}. */
export interface EmbedProgressOptions {
  /** Sink of the lines; `null` for none. */
  log: LogFn | null;
  /** A line after at most this many images... Default {@link DEFAULT_EVAL_PROGRESS_EVERY}. */
  every?: number;
  /** ...or after at most this many seconds, whichever comes first. Default {@link DEFAULT_EVAL_PROGRESS_SECONDS}. */
  seconds?: number;
  /** Sets of at most this many images (one chunk) get no lines. Default 0. */
  quietUpTo?: number;
  /** Also write a line after the first call (an early ETA for slow models). Default false. */
  first?: boolean;
}

/**
 * An `onProgress(done, total)` callback for an embedding pass that writes
 * `[eval] <what>: <done>/<total> images, <r> img/s, ETA <t>` lines to `opts.log`: every `every` images or `seconds`
 * seconds, whichever comes first (and after the first call with `first`), plus a last `done in <t>` line when an
 * earlier line was written. The clock starts when the callback is made.
 */
export function embedProgressLogger(what: string, opts: EmbedProgressOptions): (done: number, total: number) => void {
  const log = opts.log;
  const every = opts.every ?? DEFAULT_EVAL_PROGRESS_EVERY;
  const ms = 1000 * (opts.seconds ?? DEFAULT_EVAL_PROGRESS_SECONDS);
  const quietUpTo = opts.quietUpTo ?? 0;
  const t0 = performance.now();
  let lastDone = 0, lastTime = t0, logged = false;
  return (done, total) => {
    if (!log || total <= quietUpTo) return;
    const now = performance.now();
    const due = done === total ? logged : (opts.first && !logged) || done - lastDone >= every || now - lastTime >= ms;
    if (!due) return;
    const sec = (now - t0) / 1000;
    const rate = done / Math.max(sec, 1e-9);
    log(`[eval] ${what}: ${done}/${total} images, ${rate.toFixed(1)} img/s, ` +
      `${done === total ? `done in ${formatDuration(sec)}` : `ETA ${formatDuration((total - done) / rate)}`}`);
    lastDone = done;
    lastTime = now;
    logged = true;
  };
}

/** A verification set: what `readVerificationBin` / `readLfwPairs` return, or just images + pairs. */
export interface VerificationSetLike {
  /** Shown in the report and progress lines. Default `'verification set'`. */
  name?: string;
  images: ImageSet;
  /** Pairs of indices into `images`; `fold` gives the fold count (max + 1). */
  pairs: VerificationPairs | { left: Int32Array; right: Int32Array; isSame: Uint8Array; fold?: Int32Array };
  /** Pairs a reader dropped (skipped images). */
  droppedPairs?: number;
  /** A reader's summary (skipped images). */
  summary?: { skipped: number };
}

/** Options of {@link evaluateVerificationSet}. */
export interface VerificationEvalOptions extends EmbedImagesOptions {
  /** Number of folds. Default: the set's (max fold + 1), else {@link DEFAULT_FOLDS} (10). */
  folds?: number;
  /** FAR levels of TAR@FAR. Default {@link DEFAULT_FAR_LEVELS}. */
  farLevels?: readonly number[];
  /**
   * Sink of progress lines, written while embedding sets of more than one chunk (every `progressEvery` images or
   * `progressSeconds` seconds, whichever first, plus a last line); `null` for silence. Default none.
   */
  log?: LogFn | null;
  /** A progress line after at most this many images... Default {@link DEFAULT_EVAL_PROGRESS_EVERY}. */
  progressEvery?: number;
  /** ...or after at most this many seconds, whichever comes first. Default {@link DEFAULT_EVAL_PROGRESS_SECONDS}. */
  progressSeconds?: number;
}

/** JSON report of {@link evaluateVerificationSet}. */
export interface VerificationEvalReport {
  model: { name: string; inputSize: number; channels: number; embeddingDim: number };
  data: {
    name: string;
    images: number;
    /** [height, width, channels] of the set's images (before adaptation). */
    imageShape: [number, number, number];
    /** Whether images were resized / channel-converted to the model's input. */
    adapted: boolean;
    pairs: number;
    genuinePairs: number;
    impostorPairs: number;
    folds: number;
    droppedPairs: number;
    skippedImages: number;
  };
  flip: boolean;
  /** The same fields as the `verification` part of the project's EvalReport. */
  verification: EvalReport['verification'];
  /** Mean cosine score of genuine and of impostor pairs (null when there are none). */
  scores: { genuineMean: number | null; impostorMean: number | null };
  timing: {
    /** Wall time of the whole evaluation. */
    seconds: number;
    /** Wall time of adapting and embedding the images. */
    embedSeconds: number;
    /** Set images per second of embedding (with flip fusion each image is two forward passes). */
    imagesPerSecond: number;
  };
}

/**
 * Embeds the images of `set` with `embedder` (flip fusion by default) and computes the verification metrics over
 * its pairs (file comment). Logs a progress line every `progressEvery` images on long sets.
 * @throws on an empty pair list, fewer pairs than folds, pair indices out of range, non-finite embeddings.
 */
export async function evaluateVerificationSet(
  embedder: Embedder, set: VerificationSetLike, opts: VerificationEvalOptions = {},
): Promise<VerificationEvalReport> {
  const t0 = performance.now();
  const name = set.name ?? 'verification set';
  const img = set.images;
  const { left, right, isSame } = set.pairs;
  const n = isSame.length;
  if (n === 0) throw new Error(`${name}: no pairs to evaluate`);
  if (left.length !== n || right.length !== n) throw new Error(`${name}: pairs have ${left.length} left, ${right.length} right and ${n} isSame entries`);
  for (let k = 0; k < n; k++) {
    if (left[k] < 0 || left[k] >= img.count || right[k] < 0 || right[k] >= img.count) {
      throw new Error(`${name}: pair ${k} (${left[k]}, ${right[k]}) indexes outside the ${img.count} images`);
    }
  }
  const fold = set.pairs.fold;
  let folds = opts.folds;
  if (folds === undefined) {
    let maxFold = -1;
    if (fold) for (const f of fold) maxFold = Math.max(maxFold, f);
    folds = maxFold >= 1 ? maxFold + 1 : DEFAULT_FOLDS;
  }
  const chunk = opts.chunkSize ?? DEFAULT_EMBED_CHUNK;
  const tEmbed = performance.now();
  const progress = embedProgressLogger(`${embedder.name} on ${name}`, {
    log: opts.log ?? null, every: opts.progressEvery, seconds: opts.progressSeconds, quietUpTo: chunk,
  });
  const { embeddings, dim } = await embedImages(embedder, img, {
    flip: opts.flip, chunkSize: chunk,
    onProgress: (done, total) => {
      opts.onProgress?.(done, total);
      progress(done, total);
    },
  });
  const embedSeconds = (performance.now() - tEmbed) / 1000;
  const scores = pairCosineScores(embeddings, img.count, dim, left, right);
  const acc = verificationAccuracy(scores, isSame, { folds });
  let genuine = 0, sumG = 0, sumI = 0;
  for (let k = 0; k < n; k++) {
    if (isSame[k]) { genuine++; sumG += scores[k]; } else sumI += scores[k];
  }
  return {
    model: { name: embedder.name, inputSize: embedder.inputSize, channels: embedder.channels, embeddingDim: embedder.embeddingDim },
    data: {
      name, images: img.count, imageShape: [img.height, img.width, img.channels],
      adapted: img.height !== embedder.inputSize || img.width !== embedder.inputSize || img.channels !== embedder.channels,
      pairs: n, genuinePairs: genuine, impostorPairs: n - genuine, folds,
      droppedPairs: set.droppedPairs ?? 0, skippedImages: set.summary?.skipped ?? 0,
    },
    flip: opts.flip ?? true,
    verification: {
      accuracy: acc.accuracy, std: acc.std, foldAccuracies: acc.foldAccuracies, thresholds: acc.thresholds,
      auc: rocAuc(scores, isSame), eer: eer(scores, isSame),
      tarAtFar: tarAtFarLevels(scores, isSame, opts.farLevels ?? DEFAULT_FAR_LEVELS),
    },
    scores: { genuineMean: genuine > 0 ? sumG / genuine : null, impostorMean: n - genuine > 0 ? sumI / (n - genuine) : null },
    timing: {
      seconds: (performance.now() - t0) / 1000,
      embedSeconds,
      imagesPerSecond: img.count / Math.max(embedSeconds, 1e-9),
    },
  };
}
