/**
 * ROC-based verification metrics: exact ROC curve, AUC, EER and TAR at a given FAR.
 *
 * Conventions (shared by every function here)
 * - Scores are similarities (higher = more similar). At an ROC threshold `t` a pair is accepted iff `score >= t`
 *   (scikit-learn `roc_curve` convention); the thresholds are exactly the distinct scores, so tied scores form a
 *   single ROC point (no arbitrary ordering inside ties).
 * - TPR = accepted genuine / genuine pairs (= TAR); FPR = accepted impostor / impostor pairs (= FAR); FNR = 1 - TPR.
 * - Both classes must be present (otherwise TPR or FPR is undefined) and scores must be finite.
 */
import {
  BinaryLabels, binaryLabels, checkSameLength, countClasses, distinctCounts, finiteScores, levelKey,
} from './validate';

/** Exact ROC curve: parallel arrays, fpr and tpr non-decreasing, thresholds decreasing. */
export interface RocCurve {
  /** False positive rate (FAR) per point; starts at 0 and ends at 1. */
  fpr: Float64Array;
  /** True positive rate (TAR) per point; starts at 0 and ends at 1. */
  tpr: Float64Array;
  /** Threshold per point (accept iff score >= threshold); the first point uses +Infinity (nothing accepted). */
  thresholds: Float64Array;
}

/** Default FAR levels of {@link tarAtFarLevels}. */
export const DEFAULT_FAR_LEVELS: readonly number[] = [1e-1, 1e-2, 1e-3, 1e-4, 1e-5, 1e-6];

/** Integer ROC counts (true/false positives) per distinct threshold, plus the class totals. */
interface RocCounts {
  tp: Float64Array;
  fp: Float64Array;
  thresholds: Float64Array;
  positives: number;
  negatives: number;
}

function rocCounts(scores: ArrayLike<number>, isSame: BinaryLabels, fn: string): RocCounts {
  checkSameLength(scores, isSame, fn);
  const s = finiteScores(scores, fn);
  const y = binaryLabels(isSame, fn);
  const { positives, negatives } = countClasses(y);
  if (positives === 0 || negatives === 0) {
    throw new Error(
      `${fn}: needs at least one genuine and one impostor pair, got ${positives} genuine and ${negatives} impostor`,
    );
  }
  // Distinct values descending: thresholds +Infinity, then each distinct score from the largest down.
  const c = distinctCounts(s, y);
  const u = c.values.length;
  const tp = new Float64Array(u + 1);
  const fp = new Float64Array(u + 1);
  const thresholds = new Float64Array(u + 1);
  thresholds[0] = Infinity;
  for (let i = 1; i <= u; i++) {
    const r = u - i;
    tp[i] = tp[i - 1] + c.positives[r];
    fp[i] = fp[i - 1] + c.negatives[r];
    thresholds[i] = c.values[r];
  }
  return { tp, fp, thresholds, positives, negatives };
}

/**
 * Exact ROC curve over all distinct scores (equivalent to scikit-learn `roc_curve(..., drop_intermediate=False)`),
 * starting at (0, 0) with threshold +Infinity and ending at (1, 1) at the minimum score.
 * @throws on length mismatch, non-finite scores, bad labels, or when one class is absent.
 */
export function rocCurve(scores: ArrayLike<number>, isSame: BinaryLabels): RocCurve {
  const c = rocCounts(scores, isSame, 'rocCurve');
  const m = c.tp.length;
  const fpr = new Float64Array(m);
  const tpr = new Float64Array(m);
  for (let i = 0; i < m; i++) {
    fpr[i] = c.fp[i] / c.negatives;
    tpr[i] = c.tp[i] / c.positives;
  }
  return { fpr, tpr, thresholds: c.thresholds };
}

/**
 * Area under the exact ROC curve by the trapezoid rule. This equals the Mann-Whitney statistic
 * P(genuine score > impostor score) + 0.5 * P(equal); computed with integer counts, so it is exact up to one
 * final division. 1 = perfect separation, 0.5 = chance / all ties, 0 = inverted.
 */
export function rocAuc(scores: ArrayLike<number>, isSame: BinaryLabels): number {
  const c = rocCounts(scores, isSame, 'rocAuc');
  let area2 = 0; // twice the area in count units
  for (let i = 1; i < c.tp.length; i++) area2 += (c.fp[i] - c.fp[i - 1]) * (c.tp[i] + c.tp[i - 1]);
  return area2 / (2 * c.positives * c.negatives);
}

/**
 * Equal error rate: the rate at which FPR = FNR (= 1 - TPR) along the exact ROC curve, linearly interpolated
 * between the two consecutive ROC points where `FPR - FNR` changes sign (it is non-decreasing along the curve, from
 * -1 at (0, 0) to +1 at (1, 1)). If a point has FPR = FNR exactly, that value is returned.
 * 0 = perfect separation, 0.5 = all ties, 1 = inverted.
 */
export function eer(scores: ArrayLike<number>, isSame: BinaryLabels): number {
  const c = rocCounts(scores, isSame, 'eer');
  const fprAt = (i: number): number => c.fp[i] / c.negatives;
  const gap = (i: number): number => fprAt(i) - (1 - c.tp[i] / c.positives);
  for (let i = 1; i < c.tp.length; i++) {
    const g = gap(i);
    if (g < 0) continue;
    if (g === 0) return fprAt(i);
    const g0 = gap(i - 1);
    const alpha = -g0 / (g - g0);
    return fprAt(i - 1) + alpha * (fprAt(i) - fprAt(i - 1));
  }
  return 1; // unreachable: the last point has gap +1
}

/**
 * TAR (TPR) at FAR: the TPR of the last (largest-TPR) exact ROC point whose FPR <= `far`, i.e. the operating point
 * of the smallest threshold that keeps FAR within `far` (scikit-learn `roc_curve` + last point with
 * `fpr <= far`; no interpolation). FPR is computed as `falsePositives / impostors` before comparing.
 * Note: insightface's IJB script instead takes the ROC point NEAREST to the FAR, which can exceed it.
 * @param far FAR level in [0, 1].
 */
export function tarAtFar(scores: ArrayLike<number>, isSame: BinaryLabels, far: number): number {
  if (typeof far !== 'number' || !(far >= 0 && far <= 1)) {
    throw new Error(`tarAtFar: far must be a number in [0, 1], got ${far}`);
  }
  const c = rocCounts(scores, isSame, 'tarAtFar');
  return tarFromCounts(c, far);
}

function tarFromCounts(c: RocCounts, far: number): number {
  let best = 0;
  for (let i = 0; i < c.tp.length; i++) {
    if (c.fp[i] / c.negatives <= far) best = c.tp[i] / c.positives;
    else break;
  }
  return best;
}

/**
 * {@link tarAtFar} at several FAR levels. Keys are `level.toExponential()` (0.001 -> "1e-3"). A level below
 * `1 / numImpostors` is not supported by the number of impostor pairs and maps to `null` (JSON-serialisable).
 * @param levels FAR levels in [0, 1]; default {@link DEFAULT_FAR_LEVELS} (1e-1 ... 1e-6).
 */
export function tarAtFarLevels(
  scores: ArrayLike<number>,
  isSame: BinaryLabels,
  levels: readonly number[] = DEFAULT_FAR_LEVELS,
): Record<string, number | null> {
  for (const far of levels) {
    if (typeof far !== 'number' || !(far >= 0 && far <= 1)) {
      throw new Error(`tarAtFarLevels: levels must be numbers in [0, 1], got ${far}`);
    }
  }
  const c = rocCounts(scores, isSame, 'tarAtFarLevels');
  const out: Record<string, number | null> = {};
  for (const far of levels) out[levelKey(far)] = far < 1 / c.negatives ? null : tarFromCounts(c, far);
  return out;
}
