/**
 * Evaluation protocols built from test-set labels: LFW-style verification pairs with identity-disjoint folds,
 * and an open-set identification split (gallery / known probes / unknown probes). Generic over datasets.
 */
import { Rng } from '../util/rng';
import type { IdentificationSplit, VerificationPairs } from './types';

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
    if (!(l >= 0 && l < numIdentities)) throw new Error(`label ${l} at index ${i} is outside [0, ${numIdentities})`);
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
      throw new Error(`fold ${k} has ${ids.length} identities with ${same.length} possible same pairs and ${diffCapacity} possible ` +
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
