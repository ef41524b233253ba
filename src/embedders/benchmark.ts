/**
 * Evaluation of any {@link Embedder} (a run directory, faceres, face-api) on the test split of a registered
 * dataset (synthfaces, mnist, fashion-mnist, glyphs, ...), with the open-set protocol training runs report:
 * the dataset's verification pairs and identification split, flip-fused L2-normalised embeddings, and
 * `evaluateEmbeddings` (src/eval/report.ts), the very function `Trainer.evaluate` uses: k-fold verification
 * accuracy, AUC, EER, TAR@FAR, closed-set rank-1 / rank-5 and open-set DIR@FPIR.
 *
 * Embedding
 * - A run's own model on images of its input shape: `CheckpointEmbedder.embedSetAsTrainer`, the Trainer's code
 *   path, so `eval --dataset D --model RUN` equals `eval --checkpoint RUN` bit for bit when D is the run's dataset.
 * - Any other case: `embedImages` (verification.ts), which adapts the images to the embedder's input first:
 *   grey -> RGB by repeating the channel (values stay in [-1, 1]; faceres / face-api map [-1, 1] back to 0..255
 *   themselves), then a bilinear resize to `inputSize` (e.g. 32 -> 224 for faceres).
 *
 * Subsets (`maxIdentities` N, for slow pretrained models): the test images of the first N test identities
 * (labels 0..N-1; for synthfaces and glyphs these are exactly the identities a dataset built with
 * `testIdentities: N` would draw). The protocols are rebuilt on the subset the way the built-in datasets build
 * them (src/data/splits.ts), with the dataset's own parameters read off its full protocol:
 * - verification: the dataset's fold count F and pairs per fold P (from the pair layout: fold k = pairs
 *   [k*2P, (k+1)*2P), P same then P different), with the dataset's kind of folds: identity-disjoint
 *   (`makeVerificationPairs`: synthfaces, glyphs, image-folder, recordio) or image-disjoint
 *   (`imageDisjointPairs`: mnist, fashion-mnist, whose few test classes appear in every fold), told apart from the
 *   pairs themselves (an identity in two folds means image-disjoint). When the subset cannot hold P pairs per
 *   fold, P is the largest number it holds (as the user datasets' automatic pairsPerFold); when it cannot hold
 *   one, a {@link BenchmarkSubsetError} says how many identities are needed.
 * - identification: `makeIdentificationSplit` with the dataset's unknownFraction (`meta.options.unknownFraction`,
 *   else the share of unknown identities in its split): one gallery image per known identity.
 * - randomness: forks 'pairs' and 'identification' of `Rng('<name>/<seed>/first-<N>-identities')`, so a subset is
 *   deterministic (the dataset's seed, `meta.options.seed`, default 0).
 * N >= the number of test identities is no subset: the dataset's own pairs and split are used unchanged.
 */
import * as tf from '@tensorflow/tfjs';
import type { FaceBenchmark, IdentificationSplit, ImageSet, VerificationPairs } from '../data/types';
import { makeIdentificationSplit, makeVerificationPairs } from '../data/splits';
import { imageDisjointPairs } from '../data/realbench/class-disjoint';
import type { LogFn } from '../data/readers/stream';
import { evaluateEmbeddings } from '../eval/report';
import type { EvalReport } from '../eval/report';
import { Rng } from '../util/rng';
import { CheckpointEmbedder } from './checkpoint';
import type { Embedder } from './types';
import { embedImages, embedProgressLogger } from './verification';

/**
 * Default images per `Embedder.embed` call of {@link evaluateEmbedderOnBenchmark} (pretrained path): small enough
 * that the first progress line, with an ETA, comes after ~15 s at faceres' ~2 img/s on a loaded core.
 */
export const DEFAULT_BENCHMARK_EMBED_CHUNK = 32;

/** How verification folds split the test set. */
export type FoldLayout = 'identity-disjoint' | 'image-disjoint';

/** The protocol parameters of a benchmark, read off its pairs, split and meta ({@link benchmarkProtocol}). */
export interface BenchmarkProtocol {
  /** Number of verification folds (max fold + 1). */
  folds: number;
  /** Same pairs per fold (and as many different ones), or null when the pairs are not in that layout. */
  pairsPerFold: number | null;
  foldLayout: FoldLayout;
  /** Share of the test identities left out of the gallery. */
  unknownFraction: number;
}

/** The test images and protocols an evaluation runs on ({@link benchmarkTestSplit}). */
export interface BenchmarkTestSplit {
  /** The evaluated test images (labels 0..identities-1). */
  images: ImageSet;
  /** Pairs of indices into `images`. */
  pairs: VerificationPairs;
  /** Gallery and probes, indices into `images`. */
  identification: IdentificationSplit;
  /** Identities evaluated. */
  identities: number;
  /** Test identities of the benchmark. */
  totalIdentities: number;
  /** Test images of the benchmark. */
  totalImages: number;
  /** The `maxIdentities` asked for, or null. */
  maxIdentities: number | null;
  /** Whether pairs and split were rebuilt on a subset (false: the dataset's own). */
  rebuilt: boolean;
  /** The protocol parameters used (for a rebuilt subset: `pairsPerFold` may be lower than the dataset's). */
  protocol: BenchmarkProtocol;
}

/** A subset that cannot hold the protocols (too few identities or images); the CLI exits with code 2. */
export class BenchmarkSubsetError extends Error {
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

/** Number of test identities: max label + 1 (labels must be integers >= 0). */
function testIdentityCount(test: ImageSet): number {
  let max = -1;
  for (let i = 0; i < test.count; i++) {
    const l = test.labels[i];
    if (!Number.isInteger(l) || l < 0) throw new Error(`test label ${l} at index ${i} is not an integer >= 0`);
    if (l > max) max = l;
  }
  return max + 1;
}

function metaOption(b: FaceBenchmark, key: string): unknown {
  const o = b.meta.options;
  return o !== null && typeof o === 'object' && !Array.isArray(o) ? (o as Record<string, unknown>)[key] : undefined;
}

/**
 * Protocol parameters of `b` (see the file comment): folds and pairs per fold from the pair layout, the kind of
 * folds from the pairs, the unknown share from the options or the split.
 */
export function benchmarkProtocol(b: FaceBenchmark): BenchmarkProtocol {
  const { pairs, test } = b;
  const n = pairs.isSame.length;
  let folds = 0;
  for (const f of pairs.fold) folds = Math.max(folds, f + 1);
  if (folds === 0) folds = 1;
  let pairsPerFold: number | null = n % (2 * folds) === 0 && n > 0 ? n / (2 * folds) : null;
  if (pairsPerFold !== null) {
    const P = pairsPerFold;
    for (let k = 0; k < n; k++) {
      const fold = Math.floor(k / (2 * P));
      if (pairs.fold[k] !== fold || pairs.isSame[k] !== (k - fold * 2 * P < P ? 1 : 0)) { pairsPerFold = null; break; }
    }
  }
  // an identity whose images appear in two folds: the folds split images, not identities
  const T = testIdentityCount(test);
  const foldOf = new Int32Array(T).fill(-1);
  let foldLayout: FoldLayout = 'identity-disjoint';
  for (let k = 0; k < n && foldLayout === 'identity-disjoint'; k++) {
    for (const img of [pairs.left[k], pairs.right[k]]) {
      const l = test.labels[img];
      if (foldOf[l] === -1) foldOf[l] = pairs.fold[k];
      else if (foldOf[l] !== pairs.fold[k]) { foldLayout = 'image-disjoint'; break; }
    }
  }
  const given = metaOption(b, 'unknownFraction');
  let unknownFraction: number;
  if (typeof given === 'number' && given >= 0 && given < 1) {
    unknownFraction = given;
  } else {
    const unknown = new Set<number>();
    for (const i of b.identification.unknownProbes) unknown.add(test.labels[i]);
    unknownFraction = T > 0 ? unknown.size / T : 0;
  }
  return { folds, pairsPerFold, foldLayout, unknownFraction };
}

/**
 * The test split to evaluate: the whole test set with the dataset's pairs and identification split, or, with
 * `maxIdentities` N below the number of test identities, the images of identities 0..N-1 with both protocols
 * rebuilt on them (file comment). Pure TypeScript (no tfjs).
 * @throws RangeError for N not an integer >= 2; {@link BenchmarkSubsetError} when the subset cannot hold one
 *   same and one different pair per fold, or leaves no known probe.
 */
export function benchmarkTestSplit(b: FaceBenchmark, maxIdentities?: number): BenchmarkTestSplit {
  if (maxIdentities !== undefined && (!Number.isInteger(maxIdentities) || maxIdentities < 2)) {
    throw new RangeError(`maxIdentities must be an integer >= 2, got ${maxIdentities}`);
  }
  const test = b.test;
  const T = testIdentityCount(test);
  const protocol = benchmarkProtocol(b);
  const base = { totalIdentities: T, totalImages: test.count, maxIdentities: maxIdentities ?? null };
  if (maxIdentities === undefined || maxIdentities >= T) {
    return { ...base, images: test, pairs: b.pairs, identification: b.identification, identities: T, rebuilt: false, protocol };
  }
  const N = maxIdentities;
  const P0 = protocol.pairsPerFold;
  if (P0 === null) {
    throw new BenchmarkSubsetError(`${b.name}'s pairs are not in the layout fold k = P same then P different pairs, ` +
      'so they cannot be rebuilt on a subset of its identities');
  }
  const pix = test.height * test.width * test.channels;
  const keep: number[] = [];
  for (let i = 0; i < test.count; i++) if (test.labels[i] < N) keep.push(i);
  const images = new Float32Array(keep.length * pix);
  const labels = new Int32Array(keep.length);
  keep.forEach((src, i) => {
    images.set(test.images.subarray(src * pix, (src + 1) * pix), i * pix);
    labels[i] = test.labels[src];
  });
  const set: ImageSet = { images, labels, count: keep.length, height: test.height, width: test.width, channels: test.channels };
  const seed = metaOption(b, 'seed');
  const root = new Rng(`${b.name}/${typeof seed === 'number' || typeof seed === 'string' ? seed : 0}/first-${N}-identities`);
  const { folds, foldLayout } = protocol;
  const attempt = (P: number): VerificationPairs | null => {
    try {
      return foldLayout === 'identity-disjoint'
        ? makeVerificationPairs(labels, N, { folds, pairsPerFold: P }, root.fork('pairs'))
        : imageDisjointPairs(labels, N, folds, P, root.fork('pairs'));
    } catch {
      return null;
    }
  };
  // The largest P <= P0 every fold holds (the check is monotone in P: fold membership does not depend on P).
  let pairs = attempt(P0), P = P0;
  if (!pairs) {
    let lo = 0, hi = P0;
    while (hi - lo > 1) {
      const mid = Math.floor((lo + hi) / 2);
      if (attempt(mid)) lo = mid; else hi = mid;
    }
    pairs = lo > 0 ? attempt(lo) : null;
    P = lo;
  }
  if (!pairs) {
    const need = foldLayout === 'identity-disjoint' ? `; use at least ${2 * folds} identities (2 with 2 images per fold)` : '';
    throw new BenchmarkSubsetError(`the first ${N} of the ${T} test identities of ${b.name} (${set.count} images) cannot hold one same ` +
      `and one different pair in each of ${folds} ${foldLayout} folds${need}, or lower the dataset option folds`);
  }
  const identification = makeIdentificationSplit(labels, N, protocol.unknownFraction, root.fork('identification'));
  if (identification.knownProbes.length === 0) {
    throw new BenchmarkSubsetError(`the first ${N} of the ${T} test identities of ${b.name} leave no known probe ` +
      `(unknownFraction ${protocol.unknownFraction}: ${identification.gallery.length} gallery identities, each with one image); use more identities`);
  }
  return { ...base, images: set, pairs, identification, identities: N, rebuilt: true, protocol: { ...protocol, pairsPerFold: P } };
}

/** Options of {@link evaluateEmbedderOnBenchmark}. */
export interface BenchmarkEvalOptions {
  /** Evaluate on the first N test identities only (see the file comment). Default: all. Ignored with `split`. */
  maxIdentities?: number;
  /** A split already made by {@link benchmarkTestSplit} for this benchmark. */
  split?: BenchmarkTestSplit;
  /** The dataset options as given, recorded in the report. Default `{}`. */
  datasetOptions?: Record<string, unknown>;
  /** Backend name recorded in the report. Default `tf.getBackend()`. */
  backend?: string;
  /** Images per `Embedder.embed` call (pretrained path). Default {@link DEFAULT_BENCHMARK_EMBED_CHUNK}. */
  chunkSize?: number;
  /**
   * Sink of the progress lines of the embedding pass (`embedProgressLogger`: after the first chunk, then every
   * `progressEvery` images or `progressSeconds` seconds, with rate and ETA); `null` for silence. Default none.
   */
  log?: LogFn | null;
  /** A progress line after at most this many images... Default 1000 (`DEFAULT_EVAL_PROGRESS_EVERY`). */
  progressEvery?: number;
  /** ...or after at most this many seconds. Default 30 (`DEFAULT_EVAL_PROGRESS_SECONDS`). */
  progressSeconds?: number;
}

/**
 * JSON report of {@link evaluateEmbedderOnBenchmark}: the {@link EvalReport} of training runs and
 * `coreface eval --checkpoint` (`verification`, `identification`, `openSet`, `counts` at the top level), plus what
 * was evaluated, by what, and how fast.
 */
export interface BenchmarkEvalReport extends EvalReport {
  model: { name: string; inputSize: number; channels: number; embeddingDim: number };
  data: {
    /** Registered dataset name. */
    dataset: string;
    /** The options as given (`{}` = the dataset's defaults). */
    options: Record<string, unknown>;
    /** The dataset's resolved options (`meta.options`), or null when it records none. */
    resolvedOptions: unknown;
    /** Test images and identities evaluated, and of the whole test split. */
    images: number;
    identities: number;
    totalImages: number;
    totalIdentities: number;
    maxIdentities: number | null;
    /** Whether pairs and identification split were rebuilt on a subset. */
    rebuilt: boolean;
    /** [height, width, channels] of the test images (before adaptation). */
    imageShape: [number, number, number];
    /** Whether images were resized / channel-converted to the model's input. */
    adapted: boolean;
    folds: number;
    pairsPerFold: number | null;
    foldLayout: FoldLayout;
    unknownFraction: number;
  };
  /** Flip fusion (always on, as the Trainer's evaluation). */
  flip: true;
  backend: string;
  timing: {
    /** Wall time of the whole evaluation. */
    seconds: number;
    /** Wall time of adapting and embedding the images. */
    embedSeconds: number;
    /** Test images per second of embedding (each image is two forward passes: flip fusion). */
    imagesPerSecond: number;
  };
}

/**
 * Embeds the test images of `benchmark` (or of its first `maxIdentities` identities) with `embedder` and evaluates
 * them with the training runs' open-set protocol (file comment). Needs an initialised tfjs backend; frees every
 * tensor it makes.
 */
export async function evaluateEmbedderOnBenchmark(
  embedder: Embedder, benchmark: FaceBenchmark, opts: BenchmarkEvalOptions = {},
): Promise<BenchmarkEvalReport> {
  const t0 = performance.now();
  const split = opts.split ?? benchmarkTestSplit(benchmark, opts.maxIdentities);
  const set = split.images;
  const s = embedder.inputSize, c = embedder.channels;
  const sameShape = set.height === s && set.width === s && set.channels === c;
  const chunk = opts.chunkSize ?? DEFAULT_BENCHMARK_EMBED_CHUNK;
  // a run's own model on its input shape: the Trainer's embedding code (bit-identical to eval --checkpoint)
  const run = embedder instanceof CheckpointEmbedder && sameShape ? embedder : null;
  const tEmbed = performance.now();
  const progress = embedProgressLogger(`${embedder.name} on ${benchmark.name}`, {
    log: opts.log ?? null, every: opts.progressEvery, seconds: opts.progressSeconds, quietUpTo: run ? 0 : chunk, first: !run,
  });
  const { embeddings, dim } = run
    ? run.embedSetAsTrainer(set, { onProgress: progress })
    : await embedImages(embedder, set, { chunkSize: chunk, onProgress: progress });
  const embedSeconds = (performance.now() - tEmbed) / 1000;
  const report = evaluateEmbeddings(embeddings, set.count, dim, set.labels, split.pairs, split.identification);
  return {
    ...report,
    model: { name: embedder.name, inputSize: s, channels: c, embeddingDim: embedder.embeddingDim },
    data: {
      dataset: benchmark.name,
      options: { ...(opts.datasetOptions ?? {}) },
      resolvedOptions: benchmark.meta.options ?? null,
      images: set.count, identities: split.identities, totalImages: split.totalImages, totalIdentities: split.totalIdentities,
      maxIdentities: split.maxIdentities, rebuilt: split.rebuilt,
      imageShape: [set.height, set.width, set.channels], adapted: !sameShape,
      folds: split.protocol.folds, pairsPerFold: split.protocol.pairsPerFold, foldLayout: split.protocol.foldLayout,
      unknownFraction: split.protocol.unknownFraction,
    },
    flip: true,
    backend: opts.backend ?? tf.getBackend(),
    timing: {
      seconds: (performance.now() - t0) / 1000,
      embedSeconds,
      imagesPerSecond: set.count / Math.max(embedSeconds, 1e-9),
    },
  };
}
