/**
 * Deliberately naive brute-force reference implementations for the eval tests (numpy / scikit-learn are not
 * available on this machine, so expected values come from these quadratic loops and from hand arithmetic).
 * They share NO code with src/eval: every quantity is recomputed from its definition by full scans.
 */
import { Rng } from '../../src/util/rng';

/** Accuracy of the rule "same iff score > t", by a full scan. */
export function naiveAccuracyAt(scores: number[], same: number[], t: number): number {
  let ok = 0;
  for (let i = 0; i < scores.length; i++) if ((scores[i] > t ? 1 : 0) === same[i]) ok++;
  return ok / scores.length;
}

/**
 * Best threshold by trying every documented candidate (below the minimum: min - max(1, |min|); midpoint of each
 * pair of consecutive distinct scores; above the maximum: max + max(1, |max|)), each evaluated by a full scan;
 * ties -> smallest threshold.
 */
export function naiveBestThreshold(scores: number[], same: number[]): { t: number; acc: number } {
  const distinct = [...new Set(scores)].sort((a, b) => a - b);
  const lo = distinct[0];
  const hi = distinct[distinct.length - 1];
  const candidates = [lo - Math.max(1, Math.abs(lo)), hi + Math.max(1, Math.abs(hi))];
  for (let i = 0; i + 1 < distinct.length; i++) candidates.push((distinct[i] + distinct[i + 1]) / 2);
  candidates.sort((a, b) => a - b);
  let best = { t: NaN, acc: -1 };
  for (const t of candidates) {
    const acc = naiveAccuracyAt(scores, same, t);
    if (acc > best.acc) best = { t, acc };
  }
  return best;
}

/** K-fold with explicit contiguous slices of size n / folds (n must be divisible by folds). */
export function naiveKFold(
  scores: number[],
  same: number[],
  folds: number,
): { accuracy: number; std: number; foldAccuracies: number[]; thresholds: number[] } {
  const size = scores.length / folds;
  if (!Number.isInteger(size)) throw new Error('naiveKFold needs n divisible by folds');
  const foldAccuracies: number[] = [];
  const thresholds: number[] = [];
  for (let f = 0; f < folds; f++) {
    const trS = [...scores.slice(0, f * size), ...scores.slice((f + 1) * size)];
    const trY = [...same.slice(0, f * size), ...same.slice((f + 1) * size)];
    const { t } = naiveBestThreshold(trS, trY);
    thresholds.push(t);
    foldAccuracies.push(naiveAccuracyAt(scores.slice(f * size, (f + 1) * size), same.slice(f * size, (f + 1) * size), t));
  }
  const mean = foldAccuracies.reduce((a, b) => a + b, 0) / folds;
  const std = Math.sqrt(foldAccuracies.reduce((a, b) => a + (b - mean) ** 2, 0) / folds);
  return { accuracy: mean, std, foldAccuracies, thresholds };
}

/** AUC as P(pos > neg) + 0.5 P(pos == neg) by comparing every genuine/impostor pair. */
export function naiveAuc(scores: number[], same: number[]): number {
  let num = 0;
  let den = 0;
  for (let i = 0; i < scores.length; i++) {
    if (same[i] !== 1) continue;
    for (let j = 0; j < scores.length; j++) {
      if (same[j] !== 0) continue;
      den++;
      if (scores[i] > scores[j]) num += 1;
      else if (scores[i] === scores[j]) num += 0.5;
    }
  }
  return num / den;
}

/** ROC points for thresholds +Inf then every distinct score descending; accept iff score >= t; full scans. */
export function naiveRoc(scores: number[], same: number[]): { fpr: number[]; tpr: number[]; t: number[] } {
  const P = same.filter((v) => v === 1).length;
  const N = same.length - P;
  const ts = [Infinity, ...[...new Set(scores)].sort((a, b) => b - a)];
  const fpr: number[] = [];
  const tpr: number[] = [];
  for (const t of ts) {
    let tp = 0;
    let fp = 0;
    for (let i = 0; i < scores.length; i++) {
      if (scores[i] >= t) {
        if (same[i] === 1) tp++;
        else fp++;
      }
    }
    fpr.push(fp / N);
    tpr.push(tp / P);
  }
  return { fpr, tpr, t: ts };
}

/** TAR@FAR: best TPR over every threshold (each distinct score and +Inf) whose FPR <= far, all by full scans. */
export function naiveTarAtFar(scores: number[], same: number[], far: number): number {
  const P = same.filter((v) => v === 1).length;
  const N = same.length - P;
  let best = 0;
  for (const t of [Infinity, ...new Set(scores)]) {
    let tp = 0;
    let fp = 0;
    for (let i = 0; i < scores.length; i++) {
      if (scores[i] >= t) {
        if (same[i] === 1) tp++;
        else fp++;
      }
    }
    if (fp / N <= far) best = Math.max(best, tp / P);
  }
  return best;
}

/**
 * EER: walk every ROC segment (from naiveRoc) and intersect the segment with the line FPR = 1 - TPR; return the
 * FPR at the first intersection (segments are parametrised explicitly).
 */
export function naiveEer(scores: number[], same: number[]): number {
  const { fpr, tpr } = naiveRoc(scores, same);
  for (let i = 1; i < fpr.length; i++) {
    // point(a) = (fpr[i-1] + a*dx, tpr[i-1] + a*dy); solve fpr + tpr = 1 for a in [0, 1]
    const dx = fpr[i] - fpr[i - 1];
    const dy = tpr[i] - tpr[i - 1];
    const c0 = fpr[i - 1] + tpr[i - 1] - 1;
    if (c0 === 0) return fpr[i - 1];
    if (dx + dy === 0) continue;
    const a = -c0 / (dx + dy);
    if (a >= 0 && a <= 1) return fpr[i - 1] + a * dx;
  }
  throw new Error('no EER crossing');
}

/**
 * DIR at FPIR by brute force: try every possible threshold (every top score of any probe, and -Infinity),
 * keep those whose FPIR (unknown top > t) <= fpir, return the best DIR (known: argmax-with-pessimistic-ties correct
 * and top > t).
 */
export function naiveDir(
  known: number[][],
  unknown: number[][],
  knownLabels: number[],
  galleryLabels: number[],
  fpir: number,
): number {
  const knownTop = known.map((r) => Math.max(...r));
  const knownOk = known.map((r, p) => {
    const mate = Math.max(...r.filter((_, j) => galleryLabels[j] === knownLabels[p]));
    return r.every((v, j) => galleryLabels[j] === knownLabels[p] || v < mate);
  });
  const unknownTop = unknown.map((r) => Math.max(...r));
  let best = 0;
  for (const t of [-Infinity, ...knownTop, ...unknownTop]) {
    const fp = unknownTop.filter((v) => v > t).length / unknownTop.length;
    if (fp > fpir) continue;
    const dir = knownTop.filter((v, p) => knownOk[p] && v > t).length / knownTop.length;
    best = Math.max(best, dir);
  }
  return best;
}

/** Random scores with many ties (rounded to `decimals`), genuine shifted up by `shift`. */
export function randomTiedScores(
  rng: Rng,
  n: number,
  decimals: number,
  shift = 0.3,
): { scores: number[]; same: number[] } {
  const scores: number[] = [];
  const same: number[] = [];
  const q = 10 ** decimals;
  for (let i = 0; i < n; i++) {
    const y = rng.next() < 0.5 ? 1 : 0;
    same.push(y);
    scores.push(Math.round((rng.normal() * 0.3 + (y ? shift : 0)) * q) / q + 0); // + 0 turns -0 into 0
  }
  return { scores, same };
}
