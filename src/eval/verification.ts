/**
 * K-fold verification accuracy (LFW / insightface protocol).
 *
 * Conventions
 * - Scores are similarities: a higher score means "more likely the same identity" (use `-distance` for distances;
 *   for L2-normalised embeddings squared L2 distance = 2 - 2 * cosine, so both give identical accuracies).
 * - A pair is predicted "same" iff `score > threshold` (strictly greater).
 * - Folds are contiguous: pair `k` of `n` belongs to fold `floor(k * folds / n)`. With 6,000 pairs and 10 folds this
 *   is exactly the LFW layout (pairs 0-599 are fold 0, 600-1199 fold 1, ...), identical to insightface's
 *   `KFold(n_splits=10, shuffle=False)`. When `n` is not a multiple of `folds` the fold sizes still differ by at most
 *   one, but the larger folds are spread out instead of all coming first as in scikit-learn's KFold.
 * - For each fold the threshold is chosen on the other `folds - 1` folds, exactly: the training scores are sorted and
 *   every cut point is tried: below the minimum (`min - max(1, |min|)`, everything "same"), the midpoint between each
 *   pair of consecutive distinct training scores, and above the maximum (`max + max(1, |max|)`, everything
 *   "different"). Among thresholds with the best training accuracy the SMALLEST is taken (deterministic). Midpoints
 *   matter for test scores falling between two training scores. (insightface sweeps a fixed grid of distance
 *   thresholds `arange(0, 4, 0.01)` instead, so its numbers can differ slightly.)
 * - `accuracy` is the mean of the fold accuracies; `std` is their population standard deviation (divides by
 *   `folds`, like `numpy.std`, as insightface reports it).
 */
import { BinaryLabels, binaryLabels, checkSameLength, distinctCounts, finiteScores } from './validate';

/** Default number of contiguous folds (LFW protocol). */
export const DEFAULT_FOLDS = 10;

/** Options of {@link verificationAccuracy}. */
export interface VerificationOptions {
  /** Number of contiguous folds, an integer >= 2. Default {@link DEFAULT_FOLDS} (10). */
  folds?: number;
}

/** Result of {@link verificationAccuracy}. */
export interface VerificationResult {
  /** Mean of the fold accuracies, in [0, 1]. */
  accuracy: number;
  /** Population standard deviation of the fold accuracies (numpy `np.std` default, ddof = 0). */
  std: number;
  /** Threshold used to score each fold (chosen on the other folds); predicted same iff score > threshold. */
  thresholds: number[];
  /** Accuracy on each test fold, in fold order. */
  foldAccuracies: number[];
}

/**
 * Threshold strictly below `v`: `v - max(1, |v|)`. Used as the "below the minimum" cut (everything predicted same).
 */
function belowMin(v: number): number {
  const t = v - Math.max(1, Math.abs(v));
  return t < v ? t : -Infinity;
}

/** Threshold strictly above `v`: `v + max(1, |v|)` (everything predicted different). */
function aboveMax(v: number): number {
  const t = v + Math.max(1, Math.abs(v));
  return t > v ? t : Infinity;
}

/**
 * Cut between consecutive distinct scores `a < b`: the midpoint, or `a` itself when the midpoint rounds up to `b`
 * (adjacent floats); with the strict `score > t` rule both give the same partition.
 */
function midpoint(a: number, b: number): number {
  const m = a + (b - a) / 2;
  return m < b && m >= a ? m : a;
}

/**
 * Exact best threshold from per-distinct-value counts (values ascending). Values with zero count are skipped
 * (they are absent from this training set). Returns the smallest threshold among those with the most correct
 * predictions, and that count.
 */
function sweepCounts(
  values: Float64Array,
  positives: Float64Array,
  negatives: Float64Array,
): { threshold: number; correct: number } {
  const u = values.length;
  let totalPositives = 0;
  let first = -1;
  for (let r = 0; r < u; r++) {
    totalPositives += positives[r];
    if (first < 0 && positives[r] + negatives[r] > 0) first = r;
  }
  if (first < 0) throw new Error('internal: empty training set');
  // Cut below the minimum: everything predicted same -> the genuine pairs are correct.
  let correct = totalPositives;
  let best = correct;
  let bestThreshold = belowMin(values[first]);
  let r = first;
  while (r < u) {
    // Move the cut just above values[r]: every pair scoring exactly values[r] becomes "different".
    correct += negatives[r] - positives[r];
    let next = r + 1;
    while (next < u && positives[next] + negatives[next] === 0) next++;
    if (correct > best) {
      best = correct;
      bestThreshold = next < u ? midpoint(values[r], values[next]) : aboveMax(values[r]);
    }
    r = next;
  }
  return { threshold: bestThreshold, correct: best };
}

/**
 * Exact best threshold over all given pairs (no folds): the smallest threshold maximising the number of correct
 * predictions with the rule "same iff score > threshold", and the accuracy it reaches.
 * @throws on empty input, length mismatch, non-finite scores or labels other than booleans / 0 / 1.
 */
export function bestThreshold(
  scores: ArrayLike<number>,
  isSame: BinaryLabels,
): { threshold: number; accuracy: number } {
  const fn = 'bestThreshold';
  checkSameLength(scores, isSame, fn);
  if (scores.length === 0) throw new Error(`${fn}: needs at least one pair, got 0`);
  const s = finiteScores(scores, fn);
  const y = binaryLabels(isSame, fn);
  const c = distinctCounts(s, y);
  const r = sweepCounts(c.values, c.positives, c.negatives);
  return { threshold: r.threshold, accuracy: r.correct / s.length };
}

/**
 * K-fold verification accuracy with per-fold thresholds chosen on the remaining folds (see the module doc for all
 * conventions). Runs in O(n log n + folds * (n + distinct scores)); 6,000 pairs take a few milliseconds.
 *
 * @param scores similarity per pair (higher = more similar), finite.
 * @param isSame `true`/`1` for genuine pairs, `false`/`0` for impostor pairs.
 * @throws on length mismatch, fewer pairs than folds, a non-integer or < 2 `folds`, NaN / infinite scores, or
 *   labels other than booleans / 0 / 1.
 */
export function verificationAccuracy(
  scores: ArrayLike<number>,
  isSame: BinaryLabels,
  opts: VerificationOptions = {},
): VerificationResult {
  const fn = 'verificationAccuracy';
  const folds = opts.folds ?? DEFAULT_FOLDS;
  if (!Number.isInteger(folds) || folds < 2) {
    throw new Error(`${fn}: folds must be an integer >= 2, got ${folds}`);
  }
  checkSameLength(scores, isSame, fn);
  const n = scores.length;
  if (n < folds) throw new Error(`${fn}: needs at least as many pairs as folds (${folds}), got ${n} pairs`);
  const s = finiteScores(scores, fn);
  const y = binaryLabels(isSame, fn);

  // Fold f = pairs [start[f], start[f + 1]); fold(k) = floor(k * folds / n) is non-decreasing in k.
  const start = new Int32Array(folds + 1);
  start[folds] = n;
  for (let k = n - 1; k >= 0; k--) start[Math.floor((k * folds) / n)] = k;
  const c = distinctCounts(s, y);

  const thresholds: number[] = [];
  const foldAccuracies: number[] = [];
  const trainPositives = new Float64Array(c.values.length);
  const trainNegatives = new Float64Array(c.values.length);
  for (let f = 0; f < folds; f++) {
    // Training counts = all counts minus the test fold's contributions.
    trainPositives.set(c.positives);
    trainNegatives.set(c.negatives);
    for (let k = start[f]; k < start[f + 1]; k++) {
      if (y[k] === 1) trainPositives[c.rank[k]]--;
      else trainNegatives[c.rank[k]]--;
    }
    const { threshold } = sweepCounts(c.values, trainPositives, trainNegatives);
    let correct = 0;
    let total = 0;
    for (let k = start[f]; k < start[f + 1]; k++) {
      total++;
      if ((s[k] > threshold ? 1 : 0) === y[k]) correct++;
    }
    thresholds.push(threshold);
    foldAccuracies.push(correct / total);
  }
  let mean = 0;
  for (const a of foldAccuracies) mean += a;
  mean /= folds;
  let variance = 0;
  for (const a of foldAccuracies) variance += (a - mean) * (a - mean);
  variance /= folds;
  return { accuracy: mean, std: Math.sqrt(variance), thresholds, foldAccuracies };
}
