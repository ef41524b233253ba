/**
 * Open-set identification: DIR (detection and identification rate) at a given FPIR (false positive
 * identification rate), IJB-C 1:N / NIST FRVT convention.
 *
 * Conventions
 * - Similarities are row-major `probes x numGallery`, higher = more similar. Known (mated) probes have a mate in the
 *   gallery; unknown (non-mated) probes do not.
 * - A search raises an alarm iff its top gallery score is strictly greater than the threshold `t`.
 * - FPIR(t) = fraction of unknown probes whose top score > t.
 * - DIR(t) = fraction of known probes whose top-1 gallery match is the correct identity (rank 1, ties pessimistic as
 *   in {@link cmc}) AND whose top score > t.
 * - For a requested `fpir` the threshold is the smallest `t` with FPIR(t) <= fpir, which maximises DIR: with M
 *   unknown probes and `k = floor(fpir * M)` allowed false alarms, `t` is the (k+1)-th largest unknown top score.
 *   If `fpir < 1 / M`, this is FPIR = 0 (t = the largest unknown top score).
 */
import { checkFinite, checkPositiveInt, levelKey } from './validate';
import { checkSimilarity, mateRanks } from './identification';

/** Default FPIR levels of {@link openSetReport}. */
export const DEFAULT_FPIR_LEVELS: readonly number[] = [1e-1, 1e-2];

/** Result of {@link openSetReport}; records are keyed by `fpir.toExponential()` (0.01 -> "1e-2"). */
export interface OpenSetReport {
  /** DIR at each requested FPIR. */
  dirAtFpir: Record<string, number>;
  /** Threshold used at each FPIR (alarm iff top score > threshold). */
  thresholds: Record<string, number>;
  /** FPIR actually reached by that threshold (<= the requested level). */
  achievedFpir: Record<string, number>;
  /** Closed-set rank-1 of the known probes (= DIR at FPIR 1). */
  rank1: number;
  numKnown: number;
  numUnknown: number;
}

interface OpenSetScores {
  /** Top score of each known probe when its top-1 match is correct, else -Infinity. */
  correctTop: Float64Array;
  /** Top score of each unknown probe, sorted descending. */
  unknownTopDesc: Float64Array;
}

function openSetScores(
  knownSimilarity: ArrayLike<number>,
  unknownSimilarity: ArrayLike<number>,
  numGallery: number,
  knownLabels: ArrayLike<number>,
  galleryLabels: ArrayLike<number>,
  fn: string,
): OpenSetScores {
  checkPositiveInt(numGallery, 'numGallery', fn);
  const numKnown = knownLabels.length;
  if (numKnown === 0) throw new Error(`${fn}: needs at least one known probe, got 0`);
  checkSimilarity(knownSimilarity, numKnown, numGallery, knownLabels, galleryLabels, fn, 'knownSimilarity');
  if (unknownSimilarity.length % numGallery !== 0 || unknownSimilarity.length === 0) {
    throw new Error(
      `${fn}: unknownSimilarity length must be a positive multiple of numGallery (${numGallery}), got ${unknownSimilarity.length}`,
    );
  }
  checkFinite(unknownSimilarity, 'unknownSimilarity', fn);
  const ranks = mateRanks(knownSimilarity, numKnown, numGallery, knownLabels, galleryLabels, fn);
  const correctTop = new Float64Array(numKnown);
  for (let p = 0; p < numKnown; p++) {
    if (ranks[p] !== 1) {
      correctTop[p] = -Infinity;
      continue;
    }
    let top = -Infinity;
    for (let j = 0; j < numGallery; j++) top = Math.max(top, knownSimilarity[p * numGallery + j]);
    correctTop[p] = top;
  }
  const numUnknown = unknownSimilarity.length / numGallery;
  const unknownTopDesc = new Float64Array(numUnknown);
  for (let q = 0; q < numUnknown; q++) {
    let top = -Infinity;
    for (let j = 0; j < numGallery; j++) top = Math.max(top, unknownSimilarity[q * numGallery + j]);
    unknownTopDesc[q] = top;
  }
  unknownTopDesc.sort().reverse();
  return { correctTop, unknownTopDesc };
}

function checkFpir(fpir: number, fn: string): void {
  if (typeof fpir !== 'number' || !(fpir >= 0 && fpir < 1)) {
    throw new Error(`${fn}: fpir must be a number in [0, 1), got ${fpir}`);
  }
}

function atFpir(s: OpenSetScores, fpir: number): { dir: number; threshold: number; achieved: number } {
  const m = s.unknownTopDesc.length;
  // Allowed false alarms; the epsilon guards products such as 0.29 * 100 = 28.999999999999996.
  const k = Math.min(m - 1, Math.floor(fpir * m + 1e-9));
  const threshold = s.unknownTopDesc[k];
  let falseAlarms = 0;
  while (falseAlarms < m && s.unknownTopDesc[falseAlarms] > threshold) falseAlarms++;
  let hits = 0;
  for (const top of s.correctTop) if (top > threshold) hits++;
  return { dir: hits / s.correctTop.length, threshold, achieved: falseAlarms / m };
}

/**
 * DIR at the given FPIR (see the module doc for the convention).
 * @param knownSimilarity row-major numKnown x numGallery, numKnown = knownLabels.length.
 * @param unknownSimilarity row-major numUnknown x numGallery (numUnknown >= 1).
 * @param fpir FPIR level in [0, 1).
 * @throws on shape mismatches, non-finite scores, a known probe without a mate, or an fpir outside [0, 1).
 */
export function dirAtFpir(
  knownSimilarity: ArrayLike<number>,
  unknownSimilarity: ArrayLike<number>,
  numGallery: number,
  knownLabels: ArrayLike<number>,
  galleryLabels: ArrayLike<number>,
  fpir: number,
): number {
  checkFpir(fpir, 'dirAtFpir');
  const s = openSetScores(knownSimilarity, unknownSimilarity, numGallery, knownLabels, galleryLabels, 'dirAtFpir');
  return atFpir(s, fpir).dir;
}

/**
 * DIR, threshold and achieved FPIR at several FPIR levels, plus closed-set rank-1 of the known probes.
 * @param fpirs FPIR levels in [0, 1); default {@link DEFAULT_FPIR_LEVELS} ([1e-1, 1e-2]).
 */
export function openSetReport(
  knownSimilarity: ArrayLike<number>,
  unknownSimilarity: ArrayLike<number>,
  numGallery: number,
  knownLabels: ArrayLike<number>,
  galleryLabels: ArrayLike<number>,
  fpirs: readonly number[] = DEFAULT_FPIR_LEVELS,
): OpenSetReport {
  const fn = 'openSetReport';
  for (const f of fpirs) checkFpir(f, fn);
  const s = openSetScores(knownSimilarity, unknownSimilarity, numGallery, knownLabels, galleryLabels, fn);
  const report: OpenSetReport = {
    dirAtFpir: {},
    thresholds: {},
    achievedFpir: {},
    rank1: 0,
    numKnown: s.correctTop.length,
    numUnknown: s.unknownTopDesc.length,
  };
  let correct = 0;
  for (const top of s.correctTop) if (top > -Infinity) correct++;
  report.rank1 = correct / s.correctTop.length;
  for (const f of fpirs) {
    const r = atFpir(s, f);
    const key = levelKey(f);
    report.dirAtFpir[key] = r.dir;
    report.thresholds[key] = r.threshold;
    report.achievedFpir[key] = r.achieved;
  }
  return report;
}
