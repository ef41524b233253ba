/**
 * The streaming engine behind every reader: an indexed list of encoded images -> batches of preprocessed images,
 * with bounded read-ahead, a bounded prefetch of batches, progress reports, and skip-and-count of bad images.
 *
 * How a pass works ({@link ImageStream}; each `for await` over it is a new pass, e.g. one epoch)
 * 1. The reader's {@link ItemSource} is opened (e.g. the .rec file handle); it lists `count` items.
 * 2. Items are loaded in index order with up to `readAhead` loads in flight (file reads overlap decoding), then
 *    decoded and preprocessed one at a time (see decode.ts) straight into the batch's Float32Array. Memory is
 *    bounded by `readAhead` encoded images plus `prefetch + 1` batches, whatever the dataset size; work is linear
 *    in the number of images.
 * 3. An item whose load or decode throws an {@link ImageDecodeError} (corrupt, truncated, unreadable image) is
 *    skipped: counted, listed with its reason in the pass's {@link ReadSummary}, and the batch is filled from the
 *    following items. Any other error (a broken container file) ends the pass: it is thrown from the iterator
 *    after the batches completed before it, and all in-flight reads are settled and the source closed first.
 * 4. Batches hold `batchSize` images (default {@link DEFAULT_BATCH_SIZE}) except the last, which holds the rest.
 *    Up to `prefetch` batches (default {@link DEFAULT_PREFETCH}) are prepared ahead of the consumer.
 * 5. Every `progressEvery` items (default {@link DEFAULT_PROGRESS_EVERY}) `onProgress` is called and, when the pass
 *    has more than `progressEvery` items, a progress line is logged. At the end of a complete pass
 *    `onProgress` is called once more and the summary is logged once (`log`, default standard error; `null` is
 *    silent). Breaking out of the loop early stops the pass cleanly (no summary line).
 *
 * Decoding runs on the main thread; the read-ahead and prefetch only overlap file I/O and the consumer's own
 * asynchronous work (e.g. a training step) with decoding.
 */
import type { ImageSet } from '../types';
import { Rng } from '../../util/rng';
import { DecodeOptions, decodeImage, preprocessInto, PreprocessOptions, ResolvedPreprocess, resolvePreprocess } from './decode';
import { ImageDecodeError, errorMessage } from './errors';

/** Default images per batch. */
export const DEFAULT_BATCH_SIZE = 64;
/** Default number of batches prepared ahead of the consumer. */
export const DEFAULT_PREFETCH = 2;
/** Default number of encoded images being read ahead of the decoder. */
export const DEFAULT_READ_AHEAD = 16;
/** Default number of images between progress reports. */
export const DEFAULT_PROGRESS_EVERY = 1000;
/** At most this many skipped images are listed in a formatted summary (all are kept in `reasons`). */
export const SUMMARY_MAX_LISTED = 20;

/** A line sink for progress and summary lines. */
export type LogFn = (line: string) => void;

/** Default log: one line to standard error. */
export const stderrLog: LogFn = (line) => {
  process.stderr.write(`${line}\n`);
};

/** One skipped image and why. */
export interface SkippedImage {
  /** The image: a file path, or `"<container>#<index>"`. */
  source: string;
  reason: string;
}

/** Outcome of one pass over a reader. Live during the pass; final when `complete` is true. */
export interface ReadSummary {
  /** What was read (a folder, a .rec, a .bin, a pairs.txt). */
  name: string;
  /** Images listed by the input. */
  total: number;
  /** Images decoded and delivered. */
  read: number;
  /** Images skipped (corrupt, truncated, unreadable). */
  skipped: number;
  /** Every skipped image with its reason, in input order. */
  reasons: SkippedImage[];
  /** Wall time of the pass so far, in seconds. */
  seconds: number;
  /** True once every item has been processed. */
  complete: boolean;
}

/** Progress of a pass, as given to `onProgress`. */
export interface ReadProgress {
  name: string;
  /** Items processed so far (read + skipped). */
  done: number;
  total: number;
  read: number;
  skipped: number;
  seconds: number;
}

/** Options of every streaming reader. */
export interface StreamOptions extends PreprocessOptions, DecodeOptions {
  /** Images per batch, a positive integer. Default {@link DEFAULT_BATCH_SIZE} (64). */
  batchSize?: number;
  /** Batches prepared ahead of the consumer; 0 disables prefetching. Default {@link DEFAULT_PREFETCH} (2). */
  prefetch?: number;
  /** Encoded images read ahead of the decoder, a positive integer. Default {@link DEFAULT_READ_AHEAD} (16). */
  readAhead?: number;
  /** Items between progress reports, a positive integer. Default {@link DEFAULT_PROGRESS_EVERY} (1000). */
  progressEvery?: number;
  /** Called every `progressEvery` items and once at the end of a complete pass. */
  onProgress?: (p: ReadProgress) => void;
  /** Sink for progress lines and the end-of-pass summary; `null` for silence. Default {@link stderrLog}. */
  log?: LogFn | null;
  /** Seed of `flip: 'random'` (pass `e` uses the stream `${seed}/${e}`). Default 0. */
  seed?: number | string;
}

/** A batch of preprocessed images: an {@link ImageSet} plus where each image came from. */
export interface ImageBatch extends ImageSet {
  /** Item index of each image in the reader's list (skipped items leave gaps). */
  indices: Int32Array;
  /** Source of each image (a path, or `"<container>#<index>"`). */
  sources: string[];
}

/** An encoded image and its identity label, as loaded by an {@link ItemSource}. */
export interface LoadedImage {
  bytes: Uint8Array;
  label: number;
}

/** An opened list of encoded images (one per reader pass). */
export interface ItemSource {
  /** Number of items. */
  readonly count: number;
  /** Name of item `i` for summaries and errors. */
  source(i: number): string;
  /**
   * Loads item `i`. Throw {@link ImageDecodeError} to skip the item; any other error ends the pass. May be called
   * for several items concurrently.
   */
  load(i: number): Promise<LoadedImage>;
  /** Releases resources; called once after the pass ends, succeeded or not, with no load in flight. */
  close?(): Promise<void>;
}

/** All images of a pass gathered in memory (see {@link ImageStream.collect}). */
export interface CollectedImages {
  set: ImageSet;
  /** Item index of each image. */
  indices: Int32Array;
  sources: string[];
  summary: ReadSummary;
}

interface ResolvedStreamOptions extends ResolvedPreprocess {
  batchSize: number;
  prefetch: number;
  readAhead: number;
  progressEvery: number;
  maxMegapixels?: number;
  onProgress?: (p: ReadProgress) => void;
  log: LogFn | null;
  seed: number | string;
}

function positiveInt(v: number, name: string): number {
  if (!Number.isInteger(v) || v <= 0) throw new RangeError(`${name} must be a positive integer, got ${v}`);
  return v;
}

/** Fills defaults and validates; throws a `RangeError` naming the bad option. */
export function resolveStreamOptions(opts: StreamOptions = {}): ResolvedStreamOptions {
  const prefetch = opts.prefetch ?? DEFAULT_PREFETCH;
  if (!Number.isInteger(prefetch) || prefetch < 0) throw new RangeError(`prefetch must be a non-negative integer, got ${prefetch}`);
  return {
    ...resolvePreprocess(opts),
    batchSize: positiveInt(opts.batchSize ?? DEFAULT_BATCH_SIZE, 'batchSize'),
    prefetch,
    readAhead: positiveInt(opts.readAhead ?? DEFAULT_READ_AHEAD, 'readAhead'),
    progressEvery: positiveInt(opts.progressEvery ?? DEFAULT_PROGRESS_EVERY, 'progressEvery'),
    maxMegapixels: opts.maxMegapixels,
    onProgress: opts.onProgress,
    log: opts.log === undefined ? stderrLog : opts.log,
    seed: opts.seed ?? 0,
  };
}

/** `"<name>: read R of T images, skipped S"` plus one indented line per skipped image (the first 20). */
export function formatReadSummary(s: ReadSummary): string {
  const lines = [`${s.name}: read ${s.read} of ${s.total} images, skipped ${s.skipped} (${s.seconds.toFixed(1)} s)`];
  for (const r of s.reasons.slice(0, SUMMARY_MAX_LISTED)) lines.push(`  skipped ${r.source}: ${r.reason}`);
  if (s.reasons.length > SUMMARY_MAX_LISTED) lines.push(`  ... and ${s.reasons.length - SUMMARY_MAX_LISTED} more`);
  return lines.join('\n');
}

/**
 * Runs `source` up to `depth` items ahead of the consumer (a bounded buffer; the source is pulled by one loop, never
 * concurrently). Items and the end come out in order; an error of the source is thrown after the items before it.
 * Stopping early (`break`) stops the loop, waits for the one pull in flight and closes the source.
 * `depth` 0 returns the source's items unchanged.
 */
export async function* prefetch<T>(source: AsyncIterable<T>, depth: number = DEFAULT_PREFETCH): AsyncGenerator<T, void, undefined> {
  if (!Number.isInteger(depth) || depth < 0) throw new RangeError(`prefetch depth must be a non-negative integer, got ${depth}`);
  if (depth === 0) {
    yield* source;
    return;
  }
  const it = source[Symbol.asyncIterator]();
  const buffer: T[] = [];
  let finished = false;
  let failure: { error: unknown } | null = null;
  let stopped = false;
  let wakeConsumer: (() => void) | null = null;
  let wakeProducer: (() => void) | null = null;
  const signalConsumer = (): void => {
    const w = wakeConsumer;
    wakeConsumer = null;
    w?.();
  };
  const signalProducer = (): void => {
    const w = wakeProducer;
    wakeProducer = null;
    w?.();
  };
  let sourceDone = false;
  const producer = (async (): Promise<void> => {
    try {
      while (!stopped) {
        if (buffer.length >= depth) {
          await new Promise<void>((resolve) => { wakeProducer = resolve; });
          continue;
        }
        const r = await it.next();
        if (r.done) { sourceDone = true; break; }
        buffer.push(r.value);
        signalConsumer();
      }
    } catch (e) {
      sourceDone = true;
      failure = { error: e };
    } finally {
      finished = true;
      signalConsumer();
    }
  })();
  try {
    for (;;) {
      if (buffer.length > 0) {
        const v = buffer.shift() as T;
        signalProducer();
        yield v;
        continue;
      }
      if (failure !== null) throw (failure as { error: unknown }).error;
      if (finished) return;
      await new Promise<void>((resolve) => { wakeConsumer = resolve; });
    }
  } finally {
    stopped = true;
    signalProducer();
    await producer;
    if (!sourceDone && it.return) await it.return();
  }
}

/** Groups the items of `source` into arrays of `size` (the last may be shorter). */
export async function* batchItems<T>(source: AsyncIterable<T>, size: number): AsyncGenerator<T[], void, undefined> {
  positiveInt(size, 'batch size');
  let cur: T[] = [];
  for await (const v of source) {
    cur.push(v);
    if (cur.length === size) {
      yield cur;
      cur = [];
    }
  }
  if (cur.length > 0) yield cur;
}

type Settled = { ok: true; value: LoadedImage } | { ok: false; error: unknown };

function settle(p: Promise<LoadedImage>): Promise<Settled> {
  return p.then((value) => ({ ok: true as const, value }), (error: unknown) => ({ ok: false as const, error }));
}

/**
 * A re-iterable stream of {@link ImageBatch}es over an {@link ItemSource}. Each iteration is one pass (see the file
 * comment); `summary` describes the current or last pass.
 */
export class ImageStream implements AsyncIterable<ImageBatch> {
  /** Resolved options (defaults filled in). */
  readonly options: ResolvedStreamOptions;
  private current: ReadSummary;
  private passes = 0;

  /**
   * @param name what is read, for summaries and progress lines.
   * @param total number of items (for progress before the source is opened).
   * @param open opens the item source for one pass.
   */
  constructor(readonly name: string, readonly total: number, private readonly open: () => Promise<ItemSource>, opts: StreamOptions = {}) {
    this.options = resolveStreamOptions(opts);
    this.current = { name, total, read: 0, skipped: 0, reasons: [], seconds: 0, complete: false };
  }

  /** Summary of the current or last pass. */
  get summary(): ReadSummary {
    return this.current;
  }

  /** Output image height = width. */
  get size(): number {
    return this.options.size;
  }

  /** Output channels. */
  get channels(): 1 | 3 {
    return this.options.channels;
  }

  [Symbol.asyncIterator](): AsyncIterator<ImageBatch> {
    const o = this.options;
    return prefetch(this.pass(), o.prefetch)[Symbol.asyncIterator]();
  }

  /** One pass gathered into a single {@link ImageSet} (for small evaluation sets). */
  async collect(): Promise<CollectedImages> {
    const { size, channels } = this.options;
    const per = size * size * channels;
    let images = new Float32Array(this.total * per);
    let labels = new Int32Array(this.total);
    let indices = new Int32Array(this.total);
    const sources: string[] = [];
    let n = 0;
    for await (const b of this) {
      if (n + b.count > labels.length) {
        const grow = (n + b.count) * 2;
        const im = new Float32Array(grow * per); im.set(images.subarray(0, n * per)); images = im;
        const lb = new Int32Array(grow); lb.set(labels.subarray(0, n)); labels = lb;
        const ix = new Int32Array(grow); ix.set(indices.subarray(0, n)); indices = ix;
      }
      images.set(b.images, n * per);
      labels.set(b.labels, n);
      indices.set(b.indices, n);
      for (const s of b.sources) sources.push(s);
      n += b.count;
    }
    if (n < labels.length) {
      images = images.slice(0, n * per);
      labels = labels.slice(0, n);
      indices = indices.slice(0, n);
    }
    return {
      set: { images, labels, count: n, height: size, width: size, channels },
      indices, sources, summary: this.current,
    };
  }

  private async *pass(): AsyncGenerator<ImageBatch, void, undefined> {
    const o = this.options;
    const epoch = this.passes++;
    const t0 = Date.now();
    const summary: ReadSummary = { name: this.name, total: this.total, read: 0, skipped: 0, reasons: [], seconds: 0, complete: false };
    this.current = summary;
    const src = await this.open();
    const n = src.count;
    summary.total = n;
    const per = o.size * o.size * o.channels;
    const rng = o.flip === 'random' ? new Rng(`${o.seed}/${epoch}`) : null;
    const window: (Promise<Settled> | undefined)[] = new Array(o.readAhead);
    let requested = 0;
    const inFlight = (): Promise<Settled>[] => window.filter((p): p is Promise<Settled> => p !== undefined);
    const report = (): void => {
      summary.seconds = (Date.now() - t0) / 1000;
      const done = summary.read + summary.skipped;
      o.onProgress?.({ name: this.name, done, total: n, read: summary.read, skipped: summary.skipped, seconds: summary.seconds });
      if (o.log && n > o.progressEvery && done < n) {
        const rate = summary.seconds > 0 ? `, ${Math.round(done / summary.seconds)} images/s` : '';
        o.log(`${this.name}: ${done}/${n} images (${summary.skipped} skipped${rate})`);
      }
    };
    let images = new Float32Array(Math.min(o.batchSize, n) * per);
    let labels = new Int32Array(Math.min(o.batchSize, n));
    let indices = new Int32Array(Math.min(o.batchSize, n));
    let sources: string[] = [];
    let fill = 0;
    const makeBatch = (count: number): ImageBatch => ({
      images: count * per === images.length ? images : images.slice(0, count * per),
      labels: count === labels.length ? labels : labels.slice(0, count),
      indices: count === indices.length ? indices : indices.slice(0, count),
      sources, count, height: o.size, width: o.size, channels: o.channels,
    });
    try {
      for (let i = 0; i < n; i++) {
        while (requested < n && requested - i < o.readAhead) {
          const k = requested++;
          let p: Promise<LoadedImage>;
          try {
            p = src.load(k);
          } catch (e) {
            p = Promise.reject(e);
          }
          window[k % o.readAhead] = settle(p);
        }
        const r = await (window[i % o.readAhead] as Promise<Settled>);
        window[i % o.readAhead] = undefined;
        const flip = rng ? rng.next() < 0.5 : o.flip === true;
        let error: unknown = null;
        if (r.ok) {
          try {
            const img = decodeImage(r.value.bytes, src.source(i), { maxMegapixels: o.maxMegapixels });
            preprocessInto(img, images, fill * per, o.size, o.channels, flip);
            labels[fill] = r.value.label;
            indices[fill] = i;
            sources.push(src.source(i));
            fill++;
            summary.read++;
          } catch (e) {
            error = e;
          }
        } else {
          error = r.error;
        }
        if (error !== null) {
          if (!(error instanceof ImageDecodeError)) throw error;
          summary.skipped++;
          summary.reasons.push({ source: src.source(i), reason: errorMessage(error) });
        }
        if ((i + 1) % o.progressEvery === 0 && i + 1 < n) report();
        if (fill === o.batchSize) {
          const b = makeBatch(fill);
          const remaining = Math.min(o.batchSize, n - i - 1);
          images = new Float32Array(remaining * per);
          labels = new Int32Array(remaining);
          indices = new Int32Array(remaining);
          sources = [];
          fill = 0;
          yield b;
        }
      }
      if (fill > 0) yield makeBatch(fill);
      summary.complete = true;
      report();
      if (o.log) o.log(formatReadSummary(summary));
    } finally {
      summary.seconds = (Date.now() - t0) / 1000;
      await Promise.allSettled(inFlight());
      if (src.close) await src.close();
    }
  }
}
