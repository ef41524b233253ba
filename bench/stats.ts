/** Summary statistics of repeated timings (bench only). */

/** Median and spread of a sample. */
export interface Summary {
  n: number;
  median: number;
  min: number;
  max: number;
  q1: number;
  q3: number;
}

function quantile(sorted: number[], q: number): number {
  if (sorted.length === 0) return NaN;
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
}

/** Median, min, max and quartiles (linear interpolation, like numpy's default). */
export function summarize(values: number[]): Summary {
  const s = [...values].sort((a, b) => a - b);
  return { n: s.length, median: quantile(s, 0.5), min: s[0] ?? NaN, max: s[s.length - 1] ?? NaN, q1: quantile(s, 0.25), q3: quantile(s, 0.75) };
}

/** Summary of a throughput `count / seconds` for each timing (seconds). */
export function rateSummary(count: number, seconds: number[]): Summary {
  return summarize(seconds.map((t) => count / t));
}

/** Milliseconds elapsed since `t0` (from `process.hrtime.bigint()`). */
export function msSince(t0: bigint): number {
  return Number(process.hrtime.bigint() - t0) / 1e6;
}

/** log C(n, k). */
function logChoose(n: number, k: number): number {
  let s = 0;
  for (let i = 1; i <= k; i++) s += Math.log(n - k + i) - Math.log(i);
  return s;
}

/**
 * Distribution-free confidence interval of the median: the order statistics [x_(k), x_(n+1-k)] (1-based) with the
 * largest k such that P(Binomial(n, 1/2) <= k - 1) <= (1 - level) / 2, so the interval covers the median with
 * probability >= level whatever the distribution (the sign-test interval). [NaN, NaN] when n is too small for it.
 */
export function medianInterval(values: number[], level = 0.95): [number, number] {
  if (!(level > 0 && level < 1)) throw new Error(`level must be in (0, 1), got ${level}`);
  const s = [...values].sort((a, b) => a - b);
  const n = s.length;
  const alpha = (1 - level) / 2;
  let cdf = 0;
  let k = 0;
  // k - 1 = j: advance while P(X <= j) stays within alpha
  for (let j = 0; j < n; j++) {
    cdf += Math.exp(logChoose(n, j) - n * Math.LN2);
    if (cdf > alpha) break;
    k = j + 1;
  }
  if (k < 1) return [NaN, NaN];
  return [s[k - 1], s[n - k]];
}
