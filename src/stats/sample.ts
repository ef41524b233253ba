/**
 * One-sample summaries for small samples (typically one metric over 2-5 seeds): mean, sample standard deviation,
 * standard error and the Student-t confidence interval of the mean (Student 1908). JSON-friendly: undefined
 * statistics are `null`, never NaN or Infinity.
 */
import { studentTQuantile } from './tdist';

/** Default confidence level of the intervals of {@link summarizeSample} and {@link pairedTTest}: 0.95. */
export const DEFAULT_CONFIDENCE = 0.95;

/** Options of {@link summarizeSample}. */
export interface SampleSummaryOptions {
  /** Confidence level of the interval, strictly between 0 and 1 (default {@link DEFAULT_CONFIDENCE}). */
  confidence?: number;
}

/** Summary of a sample; see {@link summarizeSample}. Statistics that need n >= 2 are `null` for n = 1. */
export interface SampleSummary {
  /** Number of values. */
  n: number;
  /** Arithmetic mean. */
  mean: number;
  /** Sample standard deviation (n - 1 denominator); null for n = 1. */
  std: number | null;
  /** Standard error of the mean, std / √n; null for n = 1. */
  sem: number | null;
  /** Lower end of the Student-t confidence interval of the mean; null for n = 1. */
  ciLow: number | null;
  /** Upper end of the Student-t confidence interval of the mean; null for n = 1. */
  ciHigh: number | null;
  /** Confidence level of [ciLow, ciHigh]. */
  confidence: number;
  /** Smallest value. */
  min: number;
  /** Largest value. */
  max: number;
}

/**
 * Throws unless `confidence` is a number strictly between 0 and 1; returns it.
 * @internal shared by the stats module, not part of the public API.
 */
export function checkConfidence(confidence: number, fn: string): number {
  if (typeof confidence !== 'number' || !(confidence > 0 && confidence < 1)) {
    throw new RangeError(`${fn}: confidence must be a number strictly between 0 and 1 (a fraction such as 0.95), got ${String(confidence)}`);
  }
  return confidence;
}

/**
 * Throws unless `values` is an array of finite numbers, naming the first offending index as `name[i]`.
 * @internal shared by the stats module, not part of the public API.
 */
export function checkFiniteArray(values: readonly number[], name: string, fn: string): void {
  if (!Array.isArray(values)) throw new TypeError(`${fn}: ${name} must be an array of numbers`);
  for (let i = 0; i < values.length; i++) {
    const v: unknown = values[i];
    if (typeof v !== 'number' || !Number.isFinite(v)) {
      throw new RangeError(`${fn}: ${name}[${i}] is not a finite number (got ${typeof v === 'string' ? JSON.stringify(v) : String(v)})`);
    }
  }
}

/**
 * Mean and sample standard deviation of finite values (n >= 1), two-pass with a correction of the mean, so that
 * values with a large common offset (e.g. accuracies near 0.99) keep their digits. All-equal values give exactly
 * that value and std 0 (no rounding residue), which the t-tests rely on.
 * @internal shared by the stats module, not part of the public API.
 */
export function meanAndStd(values: readonly number[]): { mean: number; std: number | null } {
  const n = values.length;
  const first = values[0];
  if (values.every((v) => v === first)) return { mean: first, std: n > 1 ? 0 : null };
  let mean = values.reduce((s, v) => s + v, 0) / n;
  mean += values.reduce((s, v) => s + (v - mean), 0) / n;
  if (n === 1) return { mean, std: null };
  const ss = values.reduce((s, v) => s + (v - mean) * (v - mean), 0);
  return { mean, std: Math.sqrt(ss / (n - 1)) };
}

/**
 * The two-sided Student-t quantile t_{(1+c)/2, df}, computed from the small tail (1 - c) / 2 so that it keeps
 * its precision for confidence levels close to 1.
 * @internal shared by the stats module, not part of the public API.
 */
export function tCritical(confidence: number, df: number): number {
  return -studentTQuantile((1 - confidence) / 2, df);
}

/**
 * Summarises a sample (e.g. one metric over seeds): n, mean, sample standard deviation std (n - 1 denominator),
 * standard error sem = std / √n, min, max, and the Student-t confidence interval of the mean (Student 1908)
 *
 *     mean ± t_{(1+c)/2, n-1} · sem,        c = `opts.confidence` (default {@link DEFAULT_CONFIDENCE} = 0.95),
 *
 * which is exact for normally distributed values and what scipy.stats.t.interval(c, n - 1, loc=mean, scale=sem)
 * gives. With 2-5 seeds the interval is wide (t_{0.975, 1} = 12.71, t_{0.975, 2} = 4.30): that is the honest
 * uncertainty of so few runs, not a defect.
 *
 * JSON-friendly: for n = 1, std, sem, ciLow and ciHigh are `null` (not NaN). All-equal values give std 0 and a
 * zero-width interval. Throws for an empty array, for a value that is not a finite number (naming its index) and
 * for a confidence outside (0, 1).
 */
export function summarizeSample(values: readonly number[], opts: SampleSummaryOptions = {}): SampleSummary {
  const fn = 'summarizeSample';
  const confidence = checkConfidence(opts.confidence ?? DEFAULT_CONFIDENCE, fn);
  checkFiniteArray(values, 'values', fn);
  const n = values.length;
  if (n === 0) throw new RangeError(`${fn}: need at least one value, got an empty array`);
  const { mean, std } = meanAndStd(values);
  let min = values[0];
  let max = values[0];
  for (const v of values) {
    if (v < min) min = v;
    if (v > max) max = v;
  }
  if (std === null) return { n, mean, std: null, sem: null, ciLow: null, ciHigh: null, confidence, min, max };
  const sem = std / Math.sqrt(n);
  const half = tCritical(confidence, n - 1) * sem;
  return { n, mean, std, sem, ciLow: mean - half, ciHigh: mean + half, confidence, min, max };
}
