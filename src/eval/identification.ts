/**
 * Closed-set identification: CMC curve and rank-k accuracy.
 *
 * Conventions
 * - `similarity` is row-major `numProbes x numGallery` (row = probe), higher = more similar.
 * - The rank of a probe is 1 + the number of gallery entries of OTHER identities whose score is >= the best score
 *   of any gallery entry of the probe's own identity. Ties are resolved pessimistically (an impostor tied with the
 *   mate ranks ahead of it), so degenerate constant scores cannot reach 100 % rank-1. Gallery entries are counted
 *   individually (with one gallery image per identity, as in this project's splits, this is the identity rank).
 * - Every probe identity must occur in the gallery (closed set); otherwise an error names the probe.
 */
import { checkFinite, checkLength, checkNonNegativeInt, checkPositiveInt } from './validate';

/** Default maximum rank of {@link cmc}. */
export const DEFAULT_MAX_RANK = 10;

/** Result of {@link identificationReport}. */
export interface IdentificationReport {
  /** Fraction of probes whose mate is ranked first. */
  rank1: number;
  /** Fraction of probes whose mate is within the top 5. */
  rank5: number;
  /** `cmc[k - 1]` = fraction of probes whose mate is within the top k, for k = 1..maxRank. */
  cmc: number[];
}

/**
 * Validates a similarity matrix and its label arrays; returns `numProbes`.
 * @internal shared with the open-set metrics.
 */
export function checkSimilarity(
  similarity: ArrayLike<number>,
  numProbes: number,
  numGallery: number,
  probeLabels: ArrayLike<number>,
  galleryLabels: ArrayLike<number>,
  fn: string,
  name = 'similarity',
): void {
  checkNonNegativeInt(numProbes, 'numProbes', fn);
  checkPositiveInt(numGallery, 'numGallery', fn);
  checkLength(similarity, numProbes * numGallery, name, `numProbes * numGallery (${numProbes} * ${numGallery})`, fn);
  checkLength(probeLabels, numProbes, 'probeLabels', 'numProbes', fn);
  checkLength(galleryLabels, numGallery, 'galleryLabels', 'numGallery', fn);
  checkFinite(similarity, name, fn);
}

/**
 * Rank (1-based, pessimistic ties) of each probe's mate; see the module doc.
 * @internal shared with the open-set metrics.
 */
export function mateRanks(
  similarity: ArrayLike<number>,
  numProbes: number,
  numGallery: number,
  probeLabels: ArrayLike<number>,
  galleryLabels: ArrayLike<number>,
  fn: string,
): Int32Array {
  const ranks = new Int32Array(numProbes);
  for (let p = 0; p < numProbes; p++) {
    const label = probeLabels[p];
    const row = p * numGallery;
    let best = -Infinity;
    let found = false;
    for (let j = 0; j < numGallery; j++) {
      if (galleryLabels[j] === label) {
        found = true;
        if (similarity[row + j] > best) best = similarity[row + j];
      }
    }
    if (!found) {
      throw new Error(`${fn}: probe ${p} has identity ${label}, which is not in the gallery (closed-set identification)`);
    }
    let ahead = 0;
    for (let j = 0; j < numGallery; j++) {
      if (galleryLabels[j] !== label && similarity[row + j] >= best) ahead++;
    }
    ranks[p] = ahead + 1;
  }
  return ranks;
}

/**
 * Cumulative match characteristic: `cmc[k - 1]` = fraction of probes whose true identity is within the top k
 * gallery matches, k = 1..maxRank (values saturate at 1 when maxRank exceeds the gallery size).
 * @param similarity row-major numProbes x numGallery scores (higher = more similar).
 * @param maxRank positive integer, default {@link DEFAULT_MAX_RANK} (10).
 * @throws on shape/length mismatches, non-finite scores, zero probes, or a probe identity absent from the gallery.
 */
export function cmc(
  similarity: ArrayLike<number>,
  numProbes: number,
  numGallery: number,
  probeLabels: ArrayLike<number>,
  galleryLabels: ArrayLike<number>,
  maxRank = DEFAULT_MAX_RANK,
): number[] {
  const fn = 'cmc';
  checkPositiveInt(maxRank, 'maxRank', fn);
  checkSimilarity(similarity, numProbes, numGallery, probeLabels, galleryLabels, fn);
  if (numProbes === 0) throw new Error(`${fn}: needs at least one probe, got 0`);
  const ranks = mateRanks(similarity, numProbes, numGallery, probeLabels, galleryLabels, fn);
  const hist = new Float64Array(maxRank + 1);
  for (const r of ranks) if (r <= maxRank) hist[r]++;
  const out: number[] = [];
  let cum = 0;
  for (let k = 1; k <= maxRank; k++) {
    cum += hist[k];
    out.push(cum / numProbes);
  }
  return out;
}

/**
 * Rank-1, rank-5 and the CMC curve up to `maxRank` (see {@link cmc}; rank-5 is computed even if maxRank < 5).
 */
export function identificationReport(
  similarity: ArrayLike<number>,
  numProbes: number,
  numGallery: number,
  probeLabels: ArrayLike<number>,
  galleryLabels: ArrayLike<number>,
  maxRank = DEFAULT_MAX_RANK,
): IdentificationReport {
  checkPositiveInt(maxRank, 'maxRank', 'identificationReport');
  const curve = cmc(similarity, numProbes, numGallery, probeLabels, galleryLabels, Math.max(maxRank, 5));
  return { rank1: curve[0], rank5: curve[4], cmc: curve.slice(0, maxRank) };
}
