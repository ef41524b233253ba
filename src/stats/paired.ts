/**
 * Paired comparisons of two runs on the same seeds (a variant against its baseline): the paired t-test
 * (Student 1908) and the exact sign-flip permutation test (Fisher 1935), both on the differences a_i - b_i.
 */
import { checkConfidence, checkFiniteArray, DEFAULT_CONFIDENCE, meanAndStd, tCritical } from './sample';
import { studentTTwoSidedPValue } from './tdist';

/** Options of {@link pairedTTest}. */
export interface PairedTestOptions {
  /** Confidence level of the interval of the mean difference, strictly between 0 and 1 (default {@link DEFAULT_CONFIDENCE}). */
  confidence?: number;
}

/** Result of {@link pairedTTest}. Statistic fields are `null` when they are undefined (n < 2, see there). */
export interface PairedTest {
  /** Number of pairs. */
  n: number;
  /** Mean of the differences a_i - b_i. */
  meanDiff: number;
  /** Sample standard deviation of the differences (n - 1 denominator); null for n < 2. */
  stdDiff: number | null;
  /** t statistic meanDiff / (stdDiff / √n); null for n < 2 and when stdDiff is 0. */
  t: number | null;
  /** Degrees of freedom n - 1; null for n < 2. */
  df: number | null;
  /** Two-sided p-value; null for n < 2; 0 or 1 when stdDiff is 0 (see {@link pairedTTest}). */
  pValue: number | null;
  /** Lower end of the Student-t confidence interval of the mean difference; null for n < 2. */
  ciLow: number | null;
  /** Upper end of that interval; null for n < 2. */
  ciHigh: number | null;
  /** Confidence level of [ciLow, ciHigh]. */
  confidence: number;
}

/** Result of {@link pairedPermutationTest}. */
export interface PairedPermutationTest {
  /** Number of pairs. */
  n: number;
  /** Mean of the differences a_i - b_i. */
  meanDiff: number;
  /** Exact two-sided p-value (a multiple of 1 / 2^n). */
  pValue: number;
}

/** Largest number of pairs {@link pairedPermutationTest} enumerates (2^20 = 1,048,576 sign patterns). */
export const MAX_PERMUTATION_PAIRS = 20;

/**
 * Patterns whose |sum| is within this fraction of Σ|d_i| below the observed |sum| count as ties (>=), so that
 * sums that are equal in exact arithmetic but differ by rounding are not split. Rounding errors are below
 * 2 n ε Σ|d_i| ≈ 1e-14 Σ|d_i| for n <= 20.
 */
const TIE_TOLERANCE = 1e-12;

function differences(a: readonly number[], b: readonly number[], fn: string): number[] {
  checkFiniteArray(a, 'a', fn);
  checkFiniteArray(b, 'b', fn);
  if (a.length !== b.length) throw new RangeError(`${fn}: a has ${a.length} values but b has ${b.length}; paired samples need the same length`);
  if (a.length === 0) throw new RangeError(`${fn}: need at least one pair, got empty arrays`);
  return a.map((v, i) => v - b[i]);
}

/**
 * Paired (dependent-samples) t-test of a against b (Student 1908), on the differences d_i = a_i - b_i:
 *
 *     meanDiff = mean(d),  stdDiff = sample std of d (n - 1),  t = meanDiff / (stdDiff / √n),  df = n - 1,
 *     pValue = P(|T_df| >= |t|) (two-sided),  interval = meanDiff ± t_{(1+c)/2, df} · stdDiff / √n,
 *
 * with c = `opts.confidence` (default {@link DEFAULT_CONFIDENCE} = 0.95). t and pValue equal
 * scipy.stats.ttest_rel(a, b); the interval equals scipy.stats.t.interval(c, df, loc=meanDiff, scale=stdDiff/√n).
 * It assumes the differences are roughly normal; with 2-5 seeds also look at {@link pairedPermutationTest}.
 *
 * JSON-friendly special cases (no NaN or ±Infinity in the result):
 * - n = 1: stdDiff, t, df, pValue, ciLow and ciHigh are `null` (meanDiff is the single difference).
 * - all differences equal (stdDiff = 0), where t would be ±Infinity or NaN: `t` is `null`, and `pValue` is 0 when
 *   meanDiff != 0 (the limit of the test as the spread goes to 0; scipy reports t = ±inf, p = 0) and 1 when
 *   meanDiff = 0 (no difference at all; scipy reports NaN); the interval is [meanDiff, meanDiff].
 *
 * Throws when the lengths differ (naming both), for empty arrays, for a value that is not a finite number (naming
 * `a[i]` or `b[i]`) and for a confidence outside (0, 1).
 */
export function pairedTTest(a: readonly number[], b: readonly number[], opts: PairedTestOptions = {}): PairedTest {
  const fn = 'pairedTTest';
  const confidence = checkConfidence(opts.confidence ?? DEFAULT_CONFIDENCE, fn);
  const d = differences(a, b, fn);
  const n = d.length;
  const { mean: meanDiff, std: stdDiff } = meanAndStd(d);
  if (stdDiff === null) return { n, meanDiff, stdDiff: null, t: null, df: null, pValue: null, ciLow: null, ciHigh: null, confidence };
  const df = n - 1;
  if (stdDiff === 0) return { n, meanDiff, stdDiff, t: null, df, pValue: meanDiff === 0 ? 1 : 0, ciLow: meanDiff, ciHigh: meanDiff, confidence };
  const sem = stdDiff / Math.sqrt(n);
  const t = meanDiff / sem;
  const half = tCritical(confidence, df) * sem;
  return { n, meanDiff, stdDiff, t, df, pValue: studentTTwoSidedPValue(t, df), ciLow: meanDiff - half, ciHigh: meanDiff + half, confidence };
}

/**
 * Exact two-sided paired permutation test (sign-flip test; Fisher 1935, "The Design of Experiments", on Darwin's paired data):
 * under the null hypothesis that a and b are exchangeable within each pair, every difference d_i = a_i - b_i is
 * equally likely to have either sign. All 2^n sign patterns are enumerated and
 *
 *     pValue = #{ patterns s : |Σ s_i d_i| >= |Σ d_i| } / 2^n
 *
 * (the mean is the sum over n, so this is the test of the mean difference). Sums within 1e-12 · Σ|d_i| of the
 * observed one count as ties (>=), so rounding cannot split sums that are equal in exact arithmetic. It matches
 * scipy.stats.permutation_test(..., permutation_type='samples', n_resamples=inf) with the mean difference.
 *
 * No normality assumption, but the p-value is discrete: the observed pattern and its mirror image always count,
 * so unless all differences are 0 (p = 1) the smallest possible p-value is 2 / 2^n — 0.5 for n = 2, 0.25 for n = 3,
 * 0.125 for n = 4, 0.0625 for n = 5 and 0.03125 for n = 6. With 3 seeds no difference, however large and
 * consistent, can reach p < 0.05: report that honestly rather than only the (parametric) t-test p-value.
 *
 * Throws when the lengths differ (naming both), for empty arrays, for non-finite values (naming `a[i]` or `b[i]`)
 * and above {@link MAX_PERMUTATION_PAIRS} = 20 pairs (2^n patterns; use a Monte Carlo test there).
 */
export function pairedPermutationTest(a: readonly number[], b: readonly number[]): PairedPermutationTest {
  const fn = 'pairedPermutationTest';
  const d = differences(a, b, fn);
  const n = d.length;
  if (n > MAX_PERMUTATION_PAIRS) {
    throw new RangeError(`${fn}: the exact test enumerates all 2^n sign patterns and is limited to n <= ${MAX_PERMUTATION_PAIRS} pairs, got n = ${n}`);
  }
  const { mean: meanDiff } = meanAndStd(d);
  const observed = d.reduce((s, v) => s + v, 0);
  const threshold = Math.abs(observed) - TIE_TOLERANCE * d.reduce((s, v) => s + Math.abs(v), 0);
  // sums[mask] = Σ d_i - 2 Σ_{i in mask} d_i: the sum with the signs in `mask` flipped, built from the mask
  // without its lowest bit, so every sum is at most n additions away from the observed one.
  const total = 2 ** n;
  const sums = new Float64Array(total);
  sums[0] = observed;
  let count = Math.abs(observed) >= threshold ? 1 : 0;
  for (let mask = 1; mask < total; mask++) {
    const low = mask & -mask;
    const s = sums[mask ^ low] - 2 * d[31 - Math.clz32(low)];
    sums[mask] = s;
    if (Math.abs(s) >= threshold) count++;
  }
  return { n, meanDiff, pValue: count / total };
}
