// Float64 reference implementations of the pair losses as plain loops over JS numbers (independent of src).
export type Mat = number[][];

function unit(v: number[]): number[] {
  const n = Math.sqrt(v.reduce((a, x) => a + x * x, 0));
  return v.map((x) => x / Math.max(n, 1e-6));
}

/** Cosine-similarity table of the rows, clipped to [-1, 1]. */
export function simTable(X: Mat): Mat {
  const U = X.map(unit);
  return U.map((a) => U.map((b) => Math.min(1, Math.max(-1, a.reduce((s, v, i) => s + v * b[i], 0)))));
}

export function contrastiveLoop(X: Mat, y: number[], margin: number): number {
  const S = simTable(X);
  let total = 0, pairs = 0;
  for (let i = 0; i < X.length; i++) {
    for (let j = i + 1; j < X.length; j++) {
      const d2 = Math.max(2 - 2 * S[i][j], 0);
      const d = Math.sqrt(d2);
      total += y[i] === y[j] ? 0.5 * d2 : 0.5 * Math.max(0, margin - d) ** 2;
      pairs++;
    }
  }
  return pairs ? total / pairs : 0;
}

export function tripletLoop(X: Mat, y: number[], margin: number): number {
  const S = simTable(X);
  const D = S.map((r) => r.map((s) => Math.max(2 - 2 * s, 0)));
  let total = 0, count = 0;
  for (let a = 0; a < X.length; a++) {
    for (let p = 0; p < X.length; p++) {
      if (p === a || y[p] !== y[a]) continue;
      let semi = Infinity, far = -Infinity;
      for (let n = 0; n < X.length; n++) {
        if (y[n] === y[a]) continue;
        if (D[a][n] > D[a][p]) semi = Math.min(semi, D[a][n]);
        far = Math.max(far, D[a][n]);
      }
      if (far === -Infinity) continue;
      const dan = semi < Infinity ? semi : far;
      total += Math.max(D[a][p] - dan + margin, 0);
      count++;
    }
  }
  return count ? total / count : 0;
}

export function npairLoop(X: Mat, y: number[], scale: number): number {
  const seen = new Map<number, number>();
  const pairs: Array<[number, number]> = [];
  const done = new Set<number>();
  for (let i = 0; i < y.length; i++) {
    if (done.has(y[i])) continue;
    const f = seen.get(y[i]);
    if (f === undefined) seen.set(y[i], i);
    else {
      pairs.push([f, i]);
      done.add(y[i]);
    }
  }
  if (pairs.length < 2) return 0;
  const S = simTable(X);
  let total = 0;
  for (const [ai, pi] of pairs) {
    let inner = 0;
    for (const [, pj] of pairs) if (pj !== pi) inner += Math.exp(scale * S[ai][pj] - scale * S[ai][pi]);
    total += Math.log(1 + inner);
  }
  return total / pairs.length;
}

function logProb(S: Mat, i: number, j: number, T: number): number {
  let mx = -Infinity;
  for (let k = 0; k < S.length; k++) if (k !== i) mx = Math.max(mx, S[i][k] / T);
  let z = 0;
  for (let k = 0; k < S.length; k++) if (k !== i) z += Math.exp(S[i][k] / T - mx);
  return S[i][j] / T - mx - Math.log(z);
}

/** Mean over ordered same-label pairs of -log p_ip. */
export function ntxentLoop(X: Mat, y: number[], T: number): number {
  const S = simTable(X);
  let total = 0, count = 0;
  for (let i = 0; i < X.length; i++) for (let p = 0; p < X.length; p++) {
    if (p === i || y[p] !== y[i]) continue;
    total -= logProb(S, i, p, T);
    count++;
  }
  return count ? total / count : 0;
}

/** SimCLR written directly: rows [V1; V2], positive of k is k +- N. */
export function simclrLoop(V1: Mat, V2: Mat, T: number): number {
  const all = [...V1, ...V2];
  const N = V1.length;
  const S = simTable(all);
  let total = 0;
  for (let k = 0; k < 2 * N; k++) total -= logProb(S, k, (k + N) % (2 * N), T);
  return total / (2 * N);
}

export function supconLoop(X: Mat, y: number[], T: number): number {
  const S = simTable(X);
  let total = 0, anchors = 0;
  for (let i = 0; i < X.length; i++) {
    let s = 0, n = 0;
    for (let p = 0; p < X.length; p++) {
      if (p === i || y[p] !== y[i]) continue;
      s += logProb(S, i, p, T);
      n++;
    }
    if (n === 0) continue;
    total -= s / n;
    anchors++;
  }
  return anchors ? total / anchors : 0;
}

/**
 * Circle loss per anchor; `alphaSims` (default: the sims of X) fixes the weights alpha, as the implementation
 * treats them as constants (so finite differences freeze them at the evaluation point).
 */
export function circleLoop(X: Mat, y: number[], m: number, gamma: number, alphaSims?: Mat): number {
  const S = simTable(X);
  const A = alphaSims ?? S;
  let total = 0, count = 0;
  for (let i = 0; i < X.length; i++) {
    let sp = 0, sn = 0, np = 0, nn = 0;
    for (let j = 0; j < X.length; j++) {
      if (j === i) continue;
      if (y[j] === y[i]) {
        const ap = Math.max(1 + m - A[i][j], 0);
        sp += Math.exp(-gamma * ap * (S[i][j] - (1 - m)));
        np++;
      } else {
        const an = Math.max(A[i][j] + m, 0);
        sn += Math.exp(gamma * an * (S[i][j] - m));
        nn++;
      }
    }
    if (np === 0 || nn === 0) continue;
    total += Math.log1p(sp * sn);
    count++;
  }
  return count ? total / count : 0;
}
