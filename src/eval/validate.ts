/**
 * Shared input validation for the evaluation metrics (internal; not re-exported from the index).
 *
 * Messages follow the project convention: name the argument, the offending value (and index) and what is allowed.
 */

/** Binary labels as accepted by the metrics: `true`/`1` = genuine (same identity), `false`/`0` = impostor. */
export type BinaryLabels = ArrayLike<boolean | number>;

/** Throws unless `scores` and `isSame` have the same length. */
export function checkSameLength(scores: ArrayLike<number>, isSame: BinaryLabels, fn: string): void {
  if (scores.length !== isSame.length) {
    throw new Error(
      `${fn}: scores and isSame must have the same length, got ${scores.length} scores and ${isSame.length} labels`,
    );
  }
}

/** Copies `scores` to a Float64Array, throwing on NaN or +-Infinity (reports the first bad index). */
export function finiteScores(scores: ArrayLike<number>, fn: string, name = 'scores'): Float64Array {
  const out = new Float64Array(scores.length);
  for (let i = 0; i < scores.length; i++) {
    const v = scores[i];
    if (typeof v !== 'number' || !Number.isFinite(v)) {
      throw new Error(`${fn}: ${name} must be finite numbers, got ${String(v)} at index ${i}`);
    }
    out[i] = v;
  }
  return out;
}

/** Converts `isSame` to a Uint8Array of 0/1, accepting booleans and the numbers 0 and 1 only. */
export function binaryLabels(isSame: BinaryLabels, fn: string): Uint8Array {
  const out = new Uint8Array(isSame.length);
  for (let i = 0; i < isSame.length; i++) {
    const v = isSame[i];
    if (v === true || v === 1) out[i] = 1;
    else if (v === false || v === 0) out[i] = 0;
    else throw new Error(`${fn}: isSame must contain booleans or 0/1, got ${String(v)} at index ${i}`);
  }
  return out;
}

/** Throws unless `v` is a positive integer. */
export function checkPositiveInt(v: number, name: string, fn: string): void {
  if (!Number.isInteger(v) || v <= 0) throw new Error(`${fn}: ${name} must be a positive integer, got ${v}`);
}

/** Throws unless `v` is an integer >= 0. */
export function checkNonNegativeInt(v: number, name: string, fn: string): void {
  if (!Number.isInteger(v) || v < 0) throw new Error(`${fn}: ${name} must be a non-negative integer, got ${v}`);
}

/** Throws unless `arr.length === expected`. */
export function checkLength(arr: ArrayLike<unknown>, expected: number, name: string, what: string, fn: string): void {
  if (arr.length !== expected) {
    throw new Error(`${fn}: ${name} must have length ${what} = ${expected}, got ${arr.length}`);
  }
}

/** Throws on the first non-finite entry of a similarity / embedding buffer. */
export function checkFinite(arr: ArrayLike<number>, name: string, fn: string): void {
  for (let i = 0; i < arr.length; i++) {
    if (!Number.isFinite(arr[i])) throw new Error(`${fn}: ${name} must be finite, got ${arr[i]} at index ${i}`);
  }
}

/** Counts genuine (1) and impostor (0) labels. */
export function countClasses(labels: Uint8Array): { positives: number; negatives: number } {
  let positives = 0;
  for (let i = 0; i < labels.length; i++) positives += labels[i];
  return { positives, negatives: labels.length - positives };
}

/**
 * Canonical string key for a FAR / FPIR level in report records: `Number.prototype.toExponential()`,
 * e.g. 0.001 -> "1e-3", 0.05 -> "5e-2".
 */
export function levelKey(level: number): string {
  return level.toExponential();
}

/** Scores grouped by distinct value: the basis of every exact threshold sweep (no comparator sort needed). */
export interface DistinctCounts {
  /** Distinct score values, ascending. */
  values: Float64Array;
  /** Number of genuine pairs at each distinct value. */
  positives: Float64Array;
  /** Number of impostor pairs at each distinct value. */
  negatives: Float64Array;
  /** Index into `values` of each input pair. */
  rank: Int32Array;
}

/**
 * Groups finite scores by distinct value using the engine's native numeric typed-array sort plus binary search
 * (much faster than an index sort with a comparator, especially before JIT warm-up).
 */
export function distinctCounts(scores: Float64Array, labels: Uint8Array): DistinctCounts {
  const n = scores.length;
  const sorted = Float64Array.from(scores).sort();
  let u = 0;
  for (let i = 0; i < n; i++) if (i === 0 || sorted[i] !== sorted[u - 1]) sorted[u++] = sorted[i];
  const values = sorted.slice(0, u);
  const positives = new Float64Array(u);
  const negatives = new Float64Array(u);
  const rank = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const v = scores[i];
    let lo = 0;
    let hi = u - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (values[mid] < v) lo = mid + 1;
      else hi = mid;
    }
    rank[i] = lo;
    if (labels[i] === 1) positives[lo]++;
    else negatives[lo]++;
  }
  return { values, positives, negatives, rank };
}
