/**
 * Embedding helpers on plain row-major Float32Arrays (`n x d`, row i = embedding i).
 *
 * Conventions
 * - Norms and dot products are accumulated in float64 and stored as float32.
 * - A zero row stays zero under normalisation and has cosine 0 with everything (no NaN).
 */
import { checkFinite, checkLength, checkPositiveInt, checkNonNegativeInt } from './validate';

function checkMatrix(emb: ArrayLike<number>, n: number, d: number, name: string, fn: string): void {
  checkNonNegativeInt(n, 'n', fn);
  checkPositiveInt(d, 'd', fn);
  checkLength(emb, n * d, name, `n * d (${n} * ${d})`, fn);
  checkFinite(emb, name, fn);
}

/** Inverse L2 norm of each row (0 for a zero row). */
function inverseNorms(emb: ArrayLike<number>, n: number, d: number): Float64Array {
  const inv = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let k = i * d, e = k + d; k < e; k++) s += emb[k] * emb[k];
    inv[i] = s > 0 ? 1 / Math.sqrt(s) : 0;
  }
  return inv;
}

/** Returns a new array with every row scaled to unit L2 norm (zero rows stay zero). */
export function l2Normalize(emb: Float32Array, n: number, d: number): Float32Array {
  checkMatrix(emb, n, d, 'emb', 'l2Normalize');
  const inv = inverseNorms(emb, n, d);
  const out = new Float32Array(n * d);
  for (let i = 0; i < n; i++) for (let k = i * d, e = k + d; k < e; k++) out[k] = emb[k] * inv[i];
  return out;
}

/**
 * Flip fusion as in insightface's verification: the embedding of each image and of its horizontal flip are SUMMED
 * (not averaged; the scale is irrelevant) and the sum is L2-normalised.
 */
export function flipFuse(emb: Float32Array, embFlip: Float32Array, n: number, d: number): Float32Array {
  const fn = 'flipFuse';
  checkMatrix(emb, n, d, 'emb', fn);
  checkMatrix(embFlip, n, d, 'embFlip', fn);
  const sum = new Float64Array(n * d);
  for (let k = 0; k < n * d; k++) sum[k] = emb[k] + embFlip[k];
  const inv = inverseNorms(sum, n, d);
  const out = new Float32Array(n * d);
  for (let i = 0; i < n; i++) for (let k = i * d, e = k + d; k < e; k++) out[k] = sum[k] * inv[i];
  return out;
}

function checkIndices(idx: Int32Array, n: number, name: string, fn: string): void {
  for (let i = 0; i < idx.length; i++) {
    const v = idx[i];
    if (v < 0 || v >= n) throw new Error(`${fn}: ${name} must be indices in [0, ${n}), got ${v} at position ${i}`);
  }
}

/**
 * Cosine similarity of each pair (`left[i]`, `right[i]`) of rows of `emb`. Rows are normalised internally, so
 * un-normalised input is fine; for L2-normalised input this is the plain dot product.
 */
export function pairCosineScores(
  emb: Float32Array,
  n: number,
  d: number,
  left: Int32Array,
  right: Int32Array,
): Float32Array {
  const fn = 'pairCosineScores';
  checkMatrix(emb, n, d, 'emb', fn);
  checkLength(right, left.length, 'right', 'left.length', fn);
  checkIndices(left, n, 'left', fn);
  checkIndices(right, n, 'right', fn);
  const inv = inverseNorms(emb, n, d);
  const out = new Float32Array(left.length);
  for (let p = 0; p < left.length; p++) {
    const a = left[p] * d;
    const b = right[p] * d;
    let s = 0;
    for (let k = 0; k < d; k++) s += emb[a + k] * emb[b + k];
    out[p] = s * inv[left[p]] * inv[right[p]];
  }
  return out;
}

/**
 * Row-major `na x nb` cosine similarity between the rows of `a` (`na x d`) and `b` (`nb x d`); rows are
 * normalised internally (for L2-normalised inputs this is `a * b^T`).
 */
export function similarityMatrix(a: Float32Array, na: number, b: Float32Array, nb: number, d: number): Float32Array {
  const fn = 'similarityMatrix';
  checkNonNegativeInt(na, 'na', fn);
  checkNonNegativeInt(nb, 'nb', fn);
  checkPositiveInt(d, 'd', fn);
  checkLength(a, na * d, 'a', `na * d (${na} * ${d})`, fn);
  checkLength(b, nb * d, 'b', `nb * d (${nb} * ${d})`, fn);
  checkFinite(a, 'a', fn);
  checkFinite(b, 'b', fn);
  const ia = inverseNorms(a, na, d);
  const ib = inverseNorms(b, nb, d);
  const out = new Float32Array(na * nb);
  for (let i = 0; i < na; i++) {
    const ra = i * d;
    for (let j = 0; j < nb; j++) {
      const rb = j * d;
      let s = 0;
      for (let k = 0; k < d; k++) s += a[ra + k] * b[rb + k];
      out[i * nb + j] = s * ia[i] * ib[j];
    }
  }
  return out;
}

/** Gathers rows `idx` of an `n x d` matrix into a new `idx.length x d` array. */
export function gatherRows(emb: Float32Array, n: number, d: number, idx: Int32Array): Float32Array {
  const fn = 'gatherRows';
  checkNonNegativeInt(n, 'n', fn);
  checkPositiveInt(d, 'd', fn);
  checkLength(emb, n * d, 'emb', `n * d (${n} * ${d})`, fn);
  checkIndices(idx, n, 'idx', fn);
  const out = new Float32Array(idx.length * d);
  for (let i = 0; i < idx.length; i++) out.set(emb.subarray(idx[i] * d, idx[i] * d + d), i * d);
  return out;
}
