/**
 * Class-disjoint open-set protocol for 10-class image datasets (MNIST, Fashion-MNIST): the classes play the
 * role of identities. A `partition` splits the classes into train classes and `testClasses` test classes; the
 * training set holds images of the train classes only (from the dataset's official training file), the test set
 * images of the test classes only (from the official test file), so no class and no image is shared.
 *
 * Partitions: all C(K, T) choices of T test classes, in a fixed greedy balanced order (`classPartitions`):
 * each next partition is the unused T-subset whose classes have been test classes least often so far (sum of
 * counts; ties broken lexicographically). With K = 10, T = 4 this gives
 *   0: test {0,1,2,3}   1: {4,5,6,7}   2: {0,1,8,9}   3: {2,3,4,5}   4: {6,7,8,9}   ...
 * so partitions 0..4 make every class a test class exactly twice. The order depends on nothing but K and T, so
 * partition p means the same classes for every seed and user; repeat over partitions to report a spread.
 *
 * Protocols on the test set, with the same layout as synthfaces: LFW-style verification pairs (`folds` folds,
 * fold k = pairs [k*2P, (k+1)*2P), P same then P different, built by `makeVerificationPairs`) and an open-set
 * identification split (`makeIdentificationSplit`: one gallery image per known class, unknownFraction of the
 * classes as unknown probes).
 *
 * Limitations (honest): with only T (default 4) test classes, folds cannot be class-disjoint as in LFW; they
 * are IMAGE-disjoint instead (each class's test images are dealt into the folds, and a fold's pairs use only
 * that fold's images). Identification is coarse: the gallery holds T - round(unknownFraction * T) images (3 by
 * default) and one class is unknown, so rank-1 / DIR@FPIR numbers have a granularity of whole classes. Use the
 * `glyphs` benchmark for a many-identity open set.
 */
import { Rng } from '../../util/rng';
import { makeIdentificationSplit, makeVerificationPairs } from '../splits';
import type { FaceBenchmark, ImageSet, VerificationPairs } from '../types';
import type { IdxImages } from './idx';
import { channelsOpt, checkOptionNames, fmt, intOpt, numOpt } from '../options';
import { writeNormalised } from '../pixels';
import { DatasetError } from '../errors';

// ---------------------------------------------------------------------------------------------------------
// Partitions

/** Binomial coefficient C(n, k). */
function binomial(n: number, k: number): number {
  if (k < 0 || k > n) return 0;
  let r = 1;
  for (let i = 1; i <= k; i++) r = (r * (n - k + i)) / i;
  return Math.round(r);
}

const partitionMemo = new Map<string, number[][]>();

/**
 * All C(numClasses, testClasses) test-class subsets in the greedy balanced order described above (each subset
 * sorted ascending). Memoised; the returned arrays must not be modified.
 */
export function classPartitions(numClasses: number, testClasses: number): readonly (readonly number[])[] {
  if (!Number.isInteger(numClasses) || numClasses < 2) throw new DatasetError(`numClasses must be an integer >= 2, got ${numClasses}`);
  if (!Number.isInteger(testClasses) || testClasses < 1 || testClasses >= numClasses) {
    throw new DatasetError(`testClasses must be an integer in [1, ${numClasses - 1}], got ${testClasses}`);
  }
  const key = `${numClasses}/${testClasses}`;
  const memo = partitionMemo.get(key);
  if (memo) return memo;
  if (binomial(numClasses, testClasses) > 20000) throw new DatasetError(`C(${numClasses}, ${testClasses}) partitions are too many to enumerate`);
  // all subsets in lexicographic order
  const all: number[][] = [];
  const cur: number[] = [];
  const rec = (from: number): void => {
    if (cur.length === testClasses) { all.push([...cur]); return; }
    for (let c = from; c <= numClasses - (testClasses - cur.length); c++) { cur.push(c); rec(c + 1); cur.pop(); }
  };
  rec(0);
  const used = new Uint8Array(all.length);
  const counts = new Array<number>(numClasses).fill(0);
  const order: number[][] = [];
  for (let step = 0; step < all.length; step++) {
    let best = -1, bestScore = Infinity;
    for (let i = 0; i < all.length; i++) {
      if (used[i]) continue;
      let s = 0;
      for (const c of all[i]) s += counts[c];
      if (s < bestScore) { bestScore = s; best = i; }
    }
    used[best] = 1;
    for (const c of all[best]) counts[c]++;
    order.push(all[best]);
  }
  partitionMemo.set(key, order);
  return order;
}

/** Train and test classes (ascending original class ids) of partition `partition`. */
export function classPartition(numClasses: number, testClasses: number, partition: number): { trainClasses: number[]; testClasses: number[] } {
  const parts = classPartitions(numClasses, testClasses);
  if (!Number.isInteger(partition) || partition < 0 || partition >= parts.length) {
    throw new DatasetError(`partition must be an integer in [0, ${parts.length - 1}] (C(${numClasses}, ${testClasses}) = ${parts.length} ` +
      `choices of ${testClasses} test classes), got ${fmt(partition)}`);
  }
  const test = [...parts[partition]];
  const train: number[] = [];
  for (let c = 0; c < numClasses; c++) if (!test.includes(c)) train.push(c);
  return { trainClasses: train, testClasses: test };
}

// ---------------------------------------------------------------------------------------------------------
// Options

export const DEFAULT_CLASS_DISJOINT_TEST_CLASSES = 4;
export const DEFAULT_CLASS_DISJOINT_TRAIN_PER_CLASS = 1000;
export const DEFAULT_CLASS_DISJOINT_TEST_PER_CLASS = 500;
export const DEFAULT_CLASS_DISJOINT_RESOLUTION = 32;
export const DEFAULT_CLASS_DISJOINT_UNKNOWN_FRACTION = 0.25;

/** Options of the class-disjoint benchmarks ('mnist', 'fashion-mnist'). */
export type ClassDisjointOptions = {
  /** Which train/test class split, an integer in [0, C(10, testClasses)) (default 0; see `classPartitions`). */
  partition?: number;
  /** Number of test classes, in [2, 8] (default 4; the other classes train). */
  testClasses?: number;
  /** Training images per train class, drawn (seeded) from the official training file (default 1000). */
  trainPerClass?: number;
  /** Test images per test class, drawn (seeded) from the official test file (default 500). */
  testPerClass?: number;
  /** Output height and width (default 32: the 28x28 images centred on a 32x32 background, like LeNet-5). */
  resolution?: number;
  /** 'pad' (default): centre the native image on the background, needs resolution >= native size; 'scale': resample to resolution. */
  resize?: 'pad' | 'scale';
  /** 1 (grey, default) or 3 (grey replicated). */
  channels?: number;
  /** Seed of the image subsets, the folds, the pairs and the identification split (default 0). */
  seed?: number;
  /** Fraction of the test classes that are unknown (not enrolled), in [0, 1) (default 0.25: 1 of 4). */
  unknownFraction?: number;
  /** Same pairs per fold, and as many different pairs (default 300). */
  pairsPerFold?: number;
  /** Number of verification folds (default 10). */
  folds?: number;
  /** Folder holding the four IDX files (raw or .gz) instead of the default source. */
  dir?: string;
};

export type ResolvedClassDisjointOptions = Required<Omit<ClassDisjointOptions, 'channels' | 'dir'>> & { channels: 1 | 3; dir: string | null };

export const CLASS_DISJOINT_OPTION_NAMES: readonly (keyof ClassDisjointOptions)[] = [
  'partition', 'testClasses', 'trainPerClass', 'testPerClass', 'resolution', 'resize', 'channels', 'seed', 'unknownFraction',
  'pairsPerFold', 'folds', 'dir',
];

/** Per fold and class: can `n` images per class per fold hold P same and P different pairs with T classes? */
function foldCapacityOk(n: number, T: number, P: number): boolean {
  return T * ((n * (n - 1)) / 2) >= P && ((T * (T - 1)) / 2) * n * n >= P;
}

/** Smallest testPerClass whose image-disjoint folds can hold `pairsPerFold` same + different pairs each. */
export function minTestPerClass(testClasses: number, pairsPerFold: number, folds: number): number {
  let n = 2;
  while (!foldCapacityOk(n, testClasses, pairsPerFold)) n++;
  return n * folds;
}

/**
 * Validate and complete options (independent of the data files; counts are checked against the files in
 * `createClassDisjointBenchmark`). `dataset` names the benchmark in messages.
 */
export function resolveClassDisjointOptions(dataset: string, opts: ClassDisjointOptions | Record<string, unknown> = {},
  numClasses = 10): ResolvedClassDisjointOptions {
  const o = checkOptionNames(dataset, opts, CLASS_DISJOINT_OPTION_NAMES);
  const resize = o.resize === undefined ? 'pad' : o.resize;
  if (resize !== 'pad' && resize !== 'scale') throw new DatasetError(`resize must be 'pad' or 'scale', got ${fmt(resize)}`);
  const dir = o.dir === undefined ? null : o.dir;
  if (dir !== null && (typeof dir !== 'string' || dir.length === 0)) throw new DatasetError(`dir must be a non-empty string (a folder), got ${fmt(dir)}`);
  const testClasses = intOpt(o, 'testClasses', DEFAULT_CLASS_DISJOINT_TEST_CLASSES, 2, numClasses - 2);
  const r: ResolvedClassDisjointOptions = {
    partition: 0,
    testClasses,
    trainPerClass: intOpt(o, 'trainPerClass', DEFAULT_CLASS_DISJOINT_TRAIN_PER_CLASS, 1),
    testPerClass: intOpt(o, 'testPerClass', DEFAULT_CLASS_DISJOINT_TEST_PER_CLASS, 2),
    resolution: intOpt(o, 'resolution', DEFAULT_CLASS_DISJOINT_RESOLUTION, 8, 1024),
    resize,
    channels: channelsOpt(o, 1),
    seed: numOpt(o, 'seed', 0, () => true, 'a finite number'),
    unknownFraction: numOpt(o, 'unknownFraction', DEFAULT_CLASS_DISJOINT_UNKNOWN_FRACTION, (x) => x >= 0 && x < 1, 'a number in [0, 1)'),
    pairsPerFold: intOpt(o, 'pairsPerFold', 300, 1),
    folds: intOpt(o, 'folds', 10, 1),
    dir,
  };
  const nParts = binomial(numClasses, testClasses);
  r.partition = intOpt(o, 'partition', 0, 0, nParts - 1);
  const minPer = minTestPerClass(r.testClasses, r.pairsPerFold, r.folds);
  if (r.testPerClass < minPer) {
    throw new DatasetError(`testPerClass=${r.testPerClass} is too small for ${r.folds} image-disjoint folds x ${r.pairsPerFold} same + ` +
      `${r.pairsPerFold} different pairs over ${r.testClasses} test classes: need testPerClass >= ${minPer}`);
  }
  if (r.testClasses - Math.round(r.unknownFraction * r.testClasses) < 1) {
    throw new DatasetError(`unknownFraction=${r.unknownFraction} leaves no known test class for the gallery (testClasses=${r.testClasses})`);
  }
  return r;
}

// ---------------------------------------------------------------------------------------------------------
// Building

/** A 10-class labelled source: official training and test files. */
export interface ClassDisjointSource {
  /** Dataset name, e.g. 'mnist'. */
  name: string;
  train: IdxImages;
  test: IdxImages;
  /** Class names by original class id. */
  classNames: readonly string[];
  /** JSON-serialisable description of where the data came from. */
  source: Record<string, unknown>;
}

/**
 * Separable resampling of a grey image: area averaging when shrinking (each output pixel averages the input
 * area it covers, like OpenCV's INTER_AREA), bilinear when enlarging. Output bytes, rounded.
 */
export function resampleGrey(src: Uint8Array, sh: number, sw: number, dh: number, dw: number): Uint8Array {
  const weights = (sIn: number, sOut: number): { start: number[]; w: number[][] } => {
    const scale = sIn / sOut;
    const start: number[] = [], w: number[][] = [];
    for (let o = 0; o < sOut; o++) {
      if (scale >= 1) { // area: overlap of input pixel [i, i+1) with [o*scale, (o+1)*scale)
        const a = o * scale, b = (o + 1) * scale;
        const lo = Math.floor(a), hi = Math.min(sIn - 1, Math.ceil(b) - 1);
        const ws: number[] = [];
        for (let i = lo; i <= hi; i++) ws.push((Math.min(b, i + 1) - Math.max(a, i)) / scale);
        start.push(lo); w.push(ws);
      } else { // bilinear between pixel centres, clamped at the borders
        const c = Math.max(0, Math.min(sIn - 1, (o + 0.5) * scale - 0.5));
        const lo = Math.min(Math.floor(c), sIn - 2 < 0 ? 0 : sIn - 2), t = c - lo;
        if (sIn === 1) { start.push(0); w.push([1]); } else { start.push(lo); w.push([1 - t, t]); }
      }
    }
    return { start, w };
  };
  const wx = weights(sw, dw), wy = weights(sh, dh);
  const tmp = new Float64Array(sh * dw);
  for (let y = 0; y < sh; y++) {
    for (let x = 0; x < dw; x++) {
      let s = 0;
      const st = wx.start[x], ws = wx.w[x];
      for (let k = 0; k < ws.length; k++) s += ws[k] * src[y * sw + st + k];
      tmp[y * dw + x] = s;
    }
  }
  const out = new Uint8Array(dh * dw);
  for (let y = 0; y < dh; y++) {
    const st = wy.start[y], ws = wy.w[y];
    for (let x = 0; x < dw; x++) {
      let s = 0;
      for (let k = 0; k < ws.length; k++) s += ws[k] * tmp[(st + k) * dw + x];
      out[y * dw + x] = Math.max(0, Math.min(255, Math.round(s)));
    }
  }
  return out;
}

/** Grey image of the source at `resolution` ('pad': centred on a 0 background; 'scale': resampled). */
function placeGrey(src: Uint8Array, rows: number, cols: number, resolution: number, resize: 'pad' | 'scale', out: Uint8Array): void {
  if (resize === 'scale') {
    out.set(rows === resolution && cols === resolution ? src : resampleGrey(src, rows, cols, resolution, resolution));
    return;
  }
  out.fill(0);
  const oy = Math.floor((resolution - rows) / 2), ox = Math.floor((resolution - cols) / 2);
  for (let y = 0; y < rows; y++) out.set(src.subarray(y * cols, (y + 1) * cols), (oy + y) * resolution + ox);
}

/** Indices of each original class in a labels array. */
function indicesByClass(labels: Uint8Array, numClasses: number, what: string): number[][] {
  const by: number[][] = Array.from({ length: numClasses }, () => []);
  for (let i = 0; i < labels.length; i++) {
    const l = labels[i];
    if (l >= numClasses) throw new DatasetError(`${what}: label ${l} at index ${i} is outside [0, ${numClasses})`);
    by[l].push(i);
  }
  return by;
}

/**
 * Images of `classes` (label i = classes[i]), `perClass` of each drawn with `rng` (a seeded subset, kept in
 * file order), class-major. Returns the set and the file indices used.
 */
function selectSet(src: IdxImages, classes: number[], perClass: number, r: ResolvedClassDisjointOptions, rng: Rng,
  byClass: number[][], what: string, classNames: readonly string[]): { set: ImageSet; fileIndices: Int32Array } {
  const R = r.resolution, C = r.channels, size = R * R * C;
  const count = classes.length * perClass;
  const images = new Float32Array(count * size), labels = new Int32Array(count), fileIndices = new Int32Array(count);
  const grey = new Uint8Array(R * R), px = src.rows * src.cols;
  let k = 0;
  classes.forEach((cls, label) => {
    const pool = [...byClass[cls]];
    if (pool.length < perClass) {
      throw new DatasetError(`${what} has only ${pool.length} images of class ${cls} (${classNames[cls]}); asked for ${perClass} per class`);
    }
    rng.fork(cls).shuffle(pool);
    const chosen = pool.slice(0, perClass).sort((a, b) => a - b);
    for (const idx of chosen) {
      placeGrey(src.pixels.subarray(idx * px, (idx + 1) * px), src.rows, src.cols, R, r.resize, grey);
      writeNormalised(grey, C, images, k * size);
      labels[k] = label;
      fileIndices[k] = idx;
      k++;
    }
  });
  return { set: { images, labels, count, height: R, width: R, channels: C }, fileIndices };
}

/**
 * Verification pairs in image-disjoint folds: each class's test images are shuffled and dealt round-robin into
 * `folds` folds; fold k's pairs come from `makeVerificationPairs` (one fold) on that fold's images only.
 * Layout as in synthfaces: fold k = pairs [k*2P, (k+1)*2P), P same then P different, left < right.
 */
export function imageDisjointPairs(labels: Int32Array, numClasses: number, folds: number, pairsPerFold: number, rng: Rng): VerificationPairs {
  const by: number[][] = Array.from({ length: numClasses }, () => []);
  labels.forEach((l, i) => by[l].push(i));
  const foldImages: number[][] = Array.from({ length: folds }, () => []);
  by.forEach((idx, c) => {
    const s = [...idx];
    rng.fork(`deal/${c}`).shuffle(s);
    s.forEach((i, j) => foldImages[j % folds].push(i));
  });
  const P = pairsPerFold, total = folds * 2 * P;
  const out: VerificationPairs = { left: new Int32Array(total), right: new Int32Array(total), isSame: new Uint8Array(total), fold: new Int32Array(total) };
  for (let k = 0; k < folds; k++) {
    const idx = foldImages[k].sort((a, b) => a - b);
    const sub = Int32Array.from(idx, (i) => labels[i]);
    let p: VerificationPairs;
    try {
      p = makeVerificationPairs(sub, numClasses, { folds: 1, pairsPerFold: P }, rng.fork(`fold/${k}`));
    } catch (e) {
      throw new DatasetError(`image-disjoint fold ${k} (${idx.length} images): ${(e as Error).message}`);
    }
    for (let j = 0; j < 2 * P; j++) {
      const at = k * 2 * P + j;
      out.left[at] = idx[p.left[j]];
      out.right[at] = idx[p.right[j]];
      out.isSame[at] = p.isSame[j];
      out.fold[at] = k;
    }
  }
  return out;
}

/** Build a class-disjoint open-set benchmark from a 10-class source and resolved options. */
export function createClassDisjointBenchmark(src: ClassDisjointSource, r: ResolvedClassDisjointOptions, loadMs = 0): FaceBenchmark {
  const t0 = Date.now();
  const K = src.classNames.length;
  for (const [part, s] of [['training', src.train], ['test', src.test]] as const) {
    if (r.resize === 'pad' && (s.rows > r.resolution || s.cols > r.resolution)) {
      throw new DatasetError(`resolution=${r.resolution} is smaller than the ${s.rows}x${s.cols} ${src.name} ${part} images: use ` +
        `resolution >= ${Math.max(s.rows, s.cols)} or resize: 'scale'`);
    }
  }
  const { trainClasses, testClasses } = classPartition(K, r.testClasses, r.partition);
  const root = new Rng(`${src.name}/${r.seed}`);
  const trainBy = indicesByClass(src.train.labels, K, `${src.name} training file`);
  const testBy = indicesByClass(src.test.labels, K, `${src.name} test file`);
  const train = selectSet(src.train, trainClasses, r.trainPerClass, r, root.fork('train-select'), trainBy, `the ${src.name} training file`, src.classNames);
  const test = selectSet(src.test, testClasses, r.testPerClass, r, root.fork('test-select'), testBy, `the ${src.name} test file`, src.classNames);
  const T = testClasses.length;
  const pairs = imageDisjointPairs(test.set.labels, T, r.folds, r.pairsPerFold, root.fork('pairs'));
  const identification = makeIdentificationSplit(test.set.labels, T, r.unknownFraction, root.fork('identification'));
  const names = (cs: number[]): string[] => cs.map((c) => src.classNames[c]);
  const unknownLabels = new Set(Array.from(identification.unknownProbes, (p) => test.set.labels[p]));
  return {
    name: src.name,
    train: train.set,
    numClasses: trainClasses.length,
    test: test.set,
    pairs,
    identification,
    meta: {
      protocol: 'class-disjoint open set: train classes and test classes are disjoint; train images from the official ' +
        'training file, test images from the official test file',
      source: src.source,
      options: { ...r },
      partition: { index: r.partition, of: binomial(K, r.testClasses), order: 'greedy balanced (see classPartitions)' },
      trainClasses: { ids: trainClasses, names: names(trainClasses), note: 'train label i = trainClasses.ids[i]' },
      testClasses: { ids: testClasses, names: names(testClasses), note: 'test label i = testClasses.ids[i]' },
      unknownTestClasses: testClasses.filter((_, i) => unknownLabels.has(i)),
      counts: {
        train: train.set.count, test: test.set.count, pairs: pairs.left.length, gallery: identification.gallery.length,
        knownProbes: identification.knownProbes.length, unknownProbes: identification.unknownProbes.length,
      },
      pairLayout: 'fold k = pairs [k*2P, (k+1)*2P): P same then P different; folds are IMAGE-disjoint (not class-disjoint: ' +
        `only ${T} test classes)`,
      limitations: `identification is coarse: ${identification.gallery.length} gallery images (one per known class) and ` +
        `${T - identification.gallery.length} unknown class(es); results move in steps of whole classes. Use 'glyphs' for a many-identity open set.`,
      timings: { loadMs, buildMs: Date.now() - t0 },
    },
  };
}
