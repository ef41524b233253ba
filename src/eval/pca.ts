/**
 * Two-dimensional PCA of embeddings (pure TypeScript, no tfjs), e.g. to scatter-plot test embeddings coloured by
 * identity in a report.
 *
 * Method: the rows are centred, then the symmetric eigenproblem of the smaller of the `dim x dim` scatter matrix
 * `Xc^T Xc` and the `n x n` Gram matrix `Xc Xc^T` (same non-zero eigenvalues) is solved exactly by Householder
 * tridiagonalisation + implicit QL (the EISPACK tred2/tql2 pair, as in JAMA), in float64. The algorithm has no
 * random start, so results are deterministic. Each principal direction's sign is fixed so that its
 * largest-magnitude component (the first such on ties) is positive - the same convention as the numpy reference
 * in test/fixtures/pca-reference.py.
 */

/** Result of {@link pca2d}. */
export interface Pca2d {
  /** Row-major `n x 2` projections: `coords[2 * i]` = PC1 and `coords[2 * i + 1]` = PC2 of row `i`. */
  coords: Float32Array;
  /**
   * Fraction of the total variance explained by PC1 and PC2 (each in [0, 1], sum <= 1); `[0, 0]` when every row is
   * identical (zero variance; the coordinates are then all 0).
   */
  explained: [number, number];
}

const EPS = 2 ** -52;

/**
 * Eigen-decomposition of a symmetric `n x n` matrix given row-major in `v` (overwritten by the eigenvectors as
 * rows: eigenvector `j` is `v[j * n + k]`, k = 0..n-1). Returns the eigenvalues (unsorted, in row order).
 * Householder reduction to tridiagonal form (tred2) followed by the implicit QL method (tql2).
 */
function symmetricEigen(v: Float64Array, n: number): Float64Array {
  const d = new Float64Array(n);
  const e = new Float64Array(n);
  // tred2
  for (let j = 0; j < n; j++) d[j] = v[(n - 1) * n + j];
  for (let i = n - 1; i > 0; i--) {
    let scale = 0;
    let h = 0;
    for (let k = 0; k < i; k++) scale += Math.abs(d[k]);
    if (scale === 0) {
      e[i] = d[i - 1];
      for (let j = 0; j < i; j++) {
        d[j] = v[(i - 1) * n + j];
        v[i * n + j] = 0;
        v[j * n + i] = 0;
      }
    } else {
      for (let k = 0; k < i; k++) {
        d[k] /= scale;
        h += d[k] * d[k];
      }
      let f = d[i - 1];
      let g = Math.sqrt(h);
      if (f > 0) g = -g;
      e[i] = scale * g;
      h -= f * g;
      d[i - 1] = f - g;
      for (let j = 0; j < i; j++) e[j] = 0;
      for (let j = 0; j < i; j++) {
        f = d[j];
        v[j * n + i] = f;
        g = e[j] + v[j * n + j] * f;
        for (let k = j + 1; k <= i - 1; k++) {
          g += v[k * n + j] * d[k];
          e[k] += v[k * n + j] * f;
        }
        e[j] = g;
      }
      f = 0;
      for (let j = 0; j < i; j++) {
        e[j] /= h;
        f += e[j] * d[j];
      }
      const hh = f / (h + h);
      for (let j = 0; j < i; j++) e[j] -= hh * d[j];
      for (let j = 0; j < i; j++) {
        f = d[j];
        g = e[j];
        for (let k = j; k <= i - 1; k++) v[k * n + j] -= f * e[k] + g * d[k];
        d[j] = v[(i - 1) * n + j];
        v[i * n + j] = 0;
      }
    }
    d[i] = h;
  }
  for (let i = 0; i < n - 1; i++) {
    v[(n - 1) * n + i] = v[i * n + i];
    v[i * n + i] = 1;
    const h = d[i + 1];
    if (h !== 0) {
      for (let k = 0; k <= i; k++) d[k] = v[k * n + i + 1] / h;
      for (let j = 0; j <= i; j++) {
        let g = 0;
        for (let k = 0; k <= i; k++) g += v[k * n + i + 1] * v[k * n + j];
        for (let k = 0; k <= i; k++) v[k * n + j] -= g * d[k];
      }
    }
    for (let k = 0; k <= i; k++) v[k * n + i + 1] = 0;
  }
  for (let j = 0; j < n; j++) {
    d[j] = v[(n - 1) * n + j];
    v[(n - 1) * n + j] = 0;
  }
  v[(n - 1) * n + n - 1] = 1;
  e[0] = 0;

  // tql2, on the transpose (eigenvectors as rows) so that each plane rotation touches two contiguous rows.
  for (let a = 0; a < n; a++) {
    for (let b = a + 1; b < n; b++) {
      const t = v[a * n + b];
      v[a * n + b] = v[b * n + a];
      v[b * n + a] = t;
    }
  }
  for (let i = 1; i < n; i++) e[i - 1] = e[i];
  e[n - 1] = 0;
  let f = 0;
  let tst1 = 0;
  for (let l = 0; l < n; l++) {
    tst1 = Math.max(tst1, Math.abs(d[l]) + Math.abs(e[l]));
    let m = l;
    while (m < n - 1 && Math.abs(e[m]) > EPS * tst1) m++;
    if (m > l) {
      let iter = 0;
      do {
        if (++iter > 100) throw new Error('pca2d: the eigenvalue iteration did not converge');
        let g = d[l];
        let p = (d[l + 1] - g) / (2 * e[l]);
        let r = Math.hypot(p, 1);
        if (p < 0) r = -r;
        d[l] = e[l] / (p + r);
        d[l + 1] = e[l] * (p + r);
        const dl1 = d[l + 1];
        let h = g - d[l];
        for (let i = l + 2; i < n; i++) d[i] -= h;
        f += h;
        p = d[m];
        let c = 1;
        let c2 = c;
        let c3 = c;
        const el1 = e[l + 1];
        let s = 0;
        let s2 = 0;
        for (let i = m - 1; i >= l; i--) {
          c3 = c2;
          c2 = c;
          s2 = s;
          g = c * e[i];
          h = c * p;
          r = Math.hypot(p, e[i]);
          e[i + 1] = s * r;
          s = e[i] / r;
          c = p / r;
          p = c * d[i] - s * g;
          d[i + 1] = h + s * (c * g + s * d[i]);
          const r0 = i * n;
          const r1 = r0 + n;
          for (let k = 0; k < n; k++) {
            h = v[r1 + k];
            v[r1 + k] = s * v[r0 + k] + c * h;
            v[r0 + k] = c * v[r0 + k] - s * h;
          }
        }
        p = (-s * s2 * c3 * el1 * e[l]) / dl1;
        e[l] = s * p;
        d[l] = c * p;
      } while (Math.abs(e[l]) > EPS * tst1);
    }
    d[l] += f;
    e[l] = 0;
  }
  return d;
}

/** Indices of the two largest values (first index wins ties). */
function topTwo(d: Float64Array): [number, number] {
  let a = 0;
  for (let i = 1; i < d.length; i++) if (d[i] > d[a]) a = i;
  let b = a === 0 ? 1 : 0;
  for (let i = 0; i < d.length; i++) if (i !== a && d[i] > d[b]) b = i;
  return [a, b];
}

/** Normalises `v` in place and flips it so its largest-|.| component is positive; false if `v` is zero. */
function normaliseDirection(v: Float64Array): boolean {
  let norm = 0;
  let big = 0;
  for (let i = 0; i < v.length; i++) {
    norm += v[i] * v[i];
    if (Math.abs(v[i]) > Math.abs(v[big])) big = i;
  }
  norm = Math.sqrt(norm);
  if (!(norm > 0)) return false;
  const s = v[big] < 0 ? -1 / norm : 1 / norm;
  for (let i = 0; i < v.length; i++) v[i] *= s;
  return true;
}

/**
 * Projects `n` row vectors of length `dim` (row-major in `data`, typically a Float32Array of embeddings) onto their
 * first two principal components.
 *
 * The rows are centred; the principal directions are the top-2 eigenvectors of the covariance matrix (computed
 * exactly and deterministically, see the module comment), each with its largest-magnitude component made positive.
 * `explained[k]` = eigenvalue k / total variance (trace of the covariance).
 * @param data `n * dim` finite numbers, row-major.
 * @param n number of rows (>= 2).
 * @param dim length of each row (>= 2).
 * @throws on a bad `n` / `dim`, a length mismatch or a non-finite entry.
 */
export function pca2d(data: ArrayLike<number>, n: number, dim: number): Pca2d {
  if (!Number.isInteger(n) || n < 2) throw new Error(`pca2d: n must be an integer >= 2 (number of rows), got ${n}`);
  if (!Number.isInteger(dim) || dim < 2) throw new Error(`pca2d: dim must be an integer >= 2 (row length), got ${dim}`);
  if (!data || typeof data.length !== 'number') throw new Error('pca2d: data must be an array of numbers (e.g. a Float32Array)');
  if (data.length !== n * dim) {
    throw new Error(`pca2d: data must have length n * dim = ${n} * ${dim} = ${n * dim}, got ${data.length}`);
  }
  // Centred copy in float64.
  const xc = new Float64Array(n * dim);
  const mean = new Float64Array(dim);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < dim; j++) {
      const val = data[i * dim + j];
      if (typeof val !== 'number' || !Number.isFinite(val)) {
        throw new Error(`pca2d: data must be finite numbers, got ${String(val)} at row ${i}, column ${j}`);
      }
      xc[i * dim + j] = val;
      mean[j] += val;
    }
  }
  for (let j = 0; j < dim; j++) mean[j] /= n;
  let total = 0;
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < dim; j++) {
      const c = xc[i * dim + j] - mean[j];
      xc[i * dim + j] = c;
      total += c * c;
    }
  }
  const coords = new Float32Array(2 * n);
  if (!(total > 0)) return { coords, explained: [0, 0] };

  // Principal directions (unit, sign-fixed) and eigenvalues of the scatter matrix Xc^T Xc.
  const dirs: Float64Array[] = [];
  const lambdas: number[] = [];
  if (dim <= n) {
    const c = new Float64Array(dim * dim);
    for (let i = 0; i < n; i++) {
      const o = i * dim;
      for (let a = 0; a < dim; a++) {
        const xa = xc[o + a];
        if (xa === 0) continue;
        const row = a * dim;
        for (let b = a; b < dim; b++) c[row + b] += xa * xc[o + b];
      }
    }
    for (let a = 0; a < dim; a++) for (let b = 0; b < a; b++) c[a * dim + b] = c[b * dim + a];
    const d = symmetricEigen(c, dim);
    for (const k of topTwo(d)) {
      const v = new Float64Array(dim);
      for (let j = 0; j < dim; j++) v[j] = c[k * dim + j];
      normaliseDirection(v);
      dirs.push(v);
      lambdas.push(d[k]);
    }
  } else {
    // Fewer rows than columns: eigenvectors u of the Gram matrix give directions Xc^T u (same eigenvalues).
    const g = new Float64Array(n * n);
    for (let a = 0; a < n; a++) {
      for (let b = a; b < n; b++) {
        let s = 0;
        for (let j = 0; j < dim; j++) s += xc[a * dim + j] * xc[b * dim + j];
        g[a * n + b] = s;
        g[b * n + a] = s;
      }
    }
    const d = symmetricEigen(g, n);
    for (const k of topTwo(d)) {
      const v = new Float64Array(dim);
      for (let i = 0; i < n; i++) {
        const u = g[k * n + i];
        if (u === 0) continue;
        for (let j = 0; j < dim; j++) v[j] += u * xc[i * dim + j];
      }
      if (!normaliseDirection(v)) v.fill(0);
      dirs.push(v);
      lambdas.push(d[k]);
    }
  }
  for (let i = 0; i < n; i++) {
    const o = i * dim;
    for (let k = 0; k < 2; k++) {
      const v = dirs[k];
      let s = 0;
      for (let j = 0; j < dim; j++) s += xc[o + j] * v[j];
      coords[2 * i + k] = s;
    }
  }
  const frac = (l: number): number => Math.min(1, Math.max(0, l / total));
  return { coords, explained: [frac(lambdas[0]), frac(lambdas[1])] };
}
