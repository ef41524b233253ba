/**
 * Evaluation protocols built from test-set labels: LFW-style verification pairs with identity-disjoint folds,
 * and an open-set identification split (gallery / known probes / unknown probes). Generic over datasets.
 */
import { Rng } from '../util/rng';
import type { HeldOutSet, IdentificationSplit, ImageSet, VerificationPairs } from './types';
import { DatasetError } from './errors';

export interface PairOptions {
  /** Number of folds (LFW: 10). */
  folds: number;
  /** Same-identity pairs per fold, and as many different-identity pairs (LFW: 300). */
  pairsPerFold: number;
}

/** Indices of each identity's images, in index order; identities are 0..numIdentities-1. */
export function groupByLabel(labels: Int32Array, numIdentities: number): number[][] {
  const groups: number[][] = Array.from({ length: numIdentities }, () => []);
  for (let i = 0; i < labels.length; i++) {
    const l = labels[i];
    if (!(l >= 0 && l < numIdentities)) throw new DatasetError(`label ${l} at index ${i} is outside [0, ${numIdentities})`);
    groups[l].push(i);
  }
  return groups;
}

/**
 * Smallest number of identities per fold such that a fold of identities with `imagesPerIdentity` images each
 * holds `pairsPerFold` distinct same pairs and as many distinct different pairs.
 */
export function minIdentitiesPerFold(pairsPerFold: number, imagesPerIdentity: number): number {
  const same = (imagesPerIdentity * (imagesPerIdentity - 1)) / 2;
  if (same <= 0) return Infinity;
  for (let m = 2; ; m++) {
    if (m * same >= pairsPerFold && ((m * (m - 1)) / 2) * imagesPerIdentity * imagesPerIdentity >= pairsPerFold) return m;
  }
}

/**
 * Pairs per fold for held-back images of training identities: the requested `pairsPerFold`, or fewer when the
 * smallest fold (floor(numIdentities / folds) identities with `perIdentity` images each) cannot hold that many
 * distinct same pairs and as many different pairs. 0 when no pair fits (fewer than 2 images per identity or
 * fewer than 2 identities per fold).
 */
export function heldOutPairsPerFold(numIdentities: number, perIdentity: number, folds: number, pairsPerFold: number): number {
  const q = Math.floor(numIdentities / folds);
  if (perIdentity < 2 || q < 2) return 0;
  const same = (q * perIdentity * (perIdentity - 1)) / 2;
  const diff = ((q * (q - 1)) / 2) * perIdentity * perIdentity;
  return Math.min(pairsPerFold, same, diff);
}

/** Default held-back images per training identity of the built-in benchmarks (synthfaces, glyphs). */
export const DEFAULT_HELD_OUT_PER_IDENTITY = 4;

/**
 * The default `heldOutPerIdentity` of a benchmark with `trainIdentities` training identities and `folds` folds:
 * {@link DEFAULT_HELD_OUT_PER_IDENTITY}, or 0 when the folds cannot hold two identities each (tiny test sets).
 */
export function defaultHeldOutPerIdentity(trainIdentities: number, folds: number): number {
  return heldOutPairsPerFold(trainIdentities, DEFAULT_HELD_OUT_PER_IDENTITY, folds, 1) >= 1 ? DEFAULT_HELD_OUT_PER_IDENTITY : 0;
}

/** Throws unless `heldOutPerIdentity` is 0 or can form held-back pairs (>= 2 images, >= 2 identities per fold). */
export function checkHeldOutOption(r: { heldOutPerIdentity: number; trainIdentities: number; folds: number }): void {
  const h = r.heldOutPerIdentity;
  if (h === 1) throw new DatasetError('heldOutPerIdentity must be 0 (none) or >= 2 (pairs need two images of an identity), got 1');
  if (h >= 2 && heldOutPairsPerFold(r.trainIdentities, h, r.folds, 1) < 1) {
    throw new DatasetError(`heldOutPerIdentity=${h} needs at least ${2 * r.folds} training identities (2 per fold x ${r.folds} folds), ` +
      `got trainIdentities=${r.trainIdentities}; use heldOutPerIdentity 0`);
  }
}

/**
 * The held-back set of a benchmark: `set` (images of the training identities that were not trained on) with
 * verification pairs made as the test pairs are ({@link makeVerificationPairs}), with {@link heldOutPairsPerFold}
 * pairs per fold. Throws when no pair fits.
 */
export function makeHeldOutSet(set: ImageSet, numIdentities: number, perIdentity: number, opts: PairOptions, rng: Rng): HeldOutSet {
  const P = heldOutPairsPerFold(numIdentities, perIdentity, opts.folds, opts.pairsPerFold);
  if (P < 1) {
    throw new DatasetError(`held-back images: ${numIdentities} training identities x ${perIdentity} images cannot form ${opts.folds} identity-disjoint ` +
      'folds of pairs (need at least 2 images per identity and 2 identities per fold)');
  }
  return { set, pairs: makeVerificationPairs(set.labels, numIdentities, { folds: opts.folds, pairsPerFold: P }, rng) };
}

/**
 * LFW-style verification pairs. Identities are shuffled and dealt into `folds` near-equal groups, so folds are
 * identity-disjoint (no identity appears in two folds, as in LFW's View 2). Fold k occupies pairs
 * [k * 2P, (k + 1) * 2P): first P same pairs, then P different pairs (P = pairsPerFold), like the LFW
 * pairs file. Pairs are distinct unordered pairs of distinct images, each stored with left < right.
 * Throws if a fold cannot hold the requested pairs.
 */
export function makeVerificationPairs(labels: Int32Array, numIdentities: number, opts: PairOptions, rng: Rng): VerificationPairs {
  const { folds, pairsPerFold: P } = opts;
  const groups = groupByLabel(labels, numIdentities);
  const order = Array.from({ length: numIdentities }, (_, i) => i);
  rng.shuffle(order);
  const total = folds * 2 * P;
  const left = new Int32Array(total), right = new Int32Array(total), isSame = new Uint8Array(total), fold = new Int32Array(total);
  let at = 0;
  const q = Math.floor(numIdentities / folds), extra = numIdentities % folds;
  let start = 0;
  for (let k = 0; k < folds; k++) {
    const ids = order.slice(start, start + q + (k < extra ? 1 : 0));
    start += ids.length;
    // same pairs: enumerate all, shuffle, take P
    const same: [number, number][] = [];
    for (const id of ids) {
      const g = groups[id];
      for (let i = 0; i < g.length; i++) for (let j = i + 1; j < g.length; j++) same.push([g[i], g[j]]);
    }
    let diffCapacity = 0, seen = 0;
    for (const id of ids) { diffCapacity += seen * groups[id].length; seen += groups[id].length; }
    if (same.length < P || diffCapacity < P) {
      throw new DatasetError(`fold ${k} has ${ids.length} identities with ${same.length} possible same pairs and ${diffCapacity} possible ` +
        `different pairs; ${P} of each are needed (use more test identities or images per identity, or fewer pairsPerFold/folds)`);
    }
    rng.shuffle(same);
    for (let i = 0; i < P; i++, at++) {
      left[at] = same[i][0]; right[at] = same[i][1]; isSame[at] = 1; fold[at] = k;
    }
    // different pairs: rejection sampling of distinct unordered pairs (enumeration when capacity is tight)
    const chosen = new Set<number>();
    const nImg = labels.length;
    const addDiff = (x: number, y: number): boolean => {
      const a = Math.min(x, y), b = Math.max(x, y);
      const key = a * nImg + b;
      if (chosen.has(key)) return false;
      chosen.add(key);
      left[at] = a; right[at] = b; isSame[at] = 0; fold[at] = k; at++;
      return true;
    };
    const withImages = ids.filter((id) => groups[id].length > 0);
    if (diffCapacity < 4 * P) {
      const all: [number, number][] = [];
      for (let i = 0; i < withImages.length; i++) {
        for (let j = i + 1; j < withImages.length; j++) {
          for (const x of groups[withImages[i]]) for (const y of groups[withImages[j]]) all.push([x, y]);
        }
      }
      rng.shuffle(all);
      for (let i = 0; i < P; i++) addDiff(all[i][0], all[i][1]);
    } else {
      let made = 0;
      while (made < P) {
        const i = rng.int(withImages.length);
        let j = rng.int(withImages.length - 1);
        if (j >= i) j++;
        const gi = groups[withImages[i]], gj = groups[withImages[j]];
        if (addDiff(gi[rng.int(gi.length)], gj[rng.int(gj.length)])) made++;
      }
    }
  }
  return { left, right, isSame, fold };
}

/**
 * Open-set identification split. `round(unknownFraction * numIdentities)` identities (chosen with `rng`) are
 * unknown: all their images are unknown probes. Each known identity enrols its first image (lowest index) in
 * the gallery; its other images are known probes. Index lists are in increasing index order.
 */
export function makeIdentificationSplit(labels: Int32Array, numIdentities: number, unknownFraction: number, rng: Rng): IdentificationSplit {
  const groups = groupByLabel(labels, numIdentities);
  const nUnknown = Math.round(unknownFraction * numIdentities);
  const order = Array.from({ length: numIdentities }, (_, i) => i);
  rng.shuffle(order);
  const unknown = new Set(order.slice(0, nUnknown));
  const gallery: number[] = [], knownProbes: number[] = [], unknownProbes: number[] = [];
  for (let id = 0; id < numIdentities; id++) {
    const g = groups[id];
    if (unknown.has(id)) unknownProbes.push(...g);
    else if (g.length > 0) { gallery.push(g[0]); knownProbes.push(...g.slice(1)); }
  }
  const sorted = (a: number[]): Int32Array => Int32Array.from(a).sort();
  return { gallery: sorted(gallery), knownProbes: sorted(knownProbes), unknownProbes: sorted(unknownProbes) };
}
