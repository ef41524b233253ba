/**
 * One-call evaluation of a set of test embeddings: verification (k-fold accuracy, AUC, EER, TAR@FAR),
 * closed-set identification (CMC) and open-set identification (DIR@FPIR).
 *
 * Embeddings are expected to be flip-fused and L2-normalised already (see {@link flipFuse}); they are normalised
 * again defensively, so raw embeddings give the same cosine scores. All scores are cosine similarities.
 * The returned {@link EvalReport} is plain JSON (no typed arrays, NaN or Infinity).
 */
import { DEFAULT_FOLDS, verificationAccuracy } from './verification';
import { DEFAULT_FAR_LEVELS, eer, rocAuc, tarAtFarLevels } from './roc';
import { DEFAULT_MAX_RANK, identificationReport } from './identification';
import { DEFAULT_FPIR_LEVELS, openSetReport } from './openset';
import { gatherRows, l2Normalize, pairCosineScores, similarityMatrix } from './embeddings';
import { checkLength } from './validate';

/** Options of {@link evaluateEmbeddings}. */
export interface EvaluateOptions {
  /** Verification folds. Default {@link DEFAULT_FOLDS} (10). */
  folds?: number;
  /** FAR levels for TAR@FAR. Default {@link DEFAULT_FAR_LEVELS} (1e-1 ... 1e-6). */
  farLevels?: readonly number[];
  /** FPIR levels for DIR@FPIR. Default {@link DEFAULT_FPIR_LEVELS} ([1e-1, 1e-2]). */
  fpirs?: readonly number[];
  /** Length of the CMC curve. Default {@link DEFAULT_MAX_RANK} (10). */
  maxRank?: number;
}

/** Pairs of test indices with their genuine (1) / impostor (0) flags. */
export interface EvalPairs {
  left: Int32Array;
  right: Int32Array;
  isSame: Uint8Array;
}

/** Identification split: indices into the test embeddings. */
export interface EvalIdentificationSplit {
  gallery: Int32Array;
  /** Probes whose identity is in the gallery. */
  knownProbes: Int32Array;
  /** Probes whose identity is NOT in the gallery (may be empty: then `openSet` is null). */
  unknownProbes: Int32Array;
}

/** JSON-serialisable evaluation report. Level-keyed records use `level.toExponential()` keys ("1e-3"). */
export interface EvalReport {
  verification: {
    /** Mean k-fold accuracy. */
    accuracy: number;
    /** Population std of the fold accuracies. */
    std: number;
    foldAccuracies: number[];
    /** Per-fold cosine thresholds (same iff score > threshold). */
    thresholds: number[];
    auc: number;
    eer: number;
    /** TAR at each FAR level; null where the impostor count cannot support the level. */
    tarAtFar: Record<string, number | null>;
  };
  identification: { rank1: number; rank5: number; cmc: number[] };
  /** Null when there are no unknown probes. */
  openSet: {
    dirAtFpir: Record<string, number>;
    thresholds: Record<string, number>;
    achievedFpir: Record<string, number>;
  } | null;
  counts: {
    embeddings: number;
    dim: number;
    pairs: number;
    genuinePairs: number;
    impostorPairs: number;
    gallery: number;
    knownProbes: number;
    unknownProbes: number;
  };
}

function gatherLabels(labels: Int32Array, idx: Int32Array): Int32Array {
  const out = new Int32Array(idx.length);
  for (let i = 0; i < idx.length; i++) out[i] = labels[idx[i]];
  return out;
}

function verificationOfNormalized(emb: Float32Array, n: number, d: number, pairs: EvalPairs, opts: EvaluateOptions): EvalReport['verification'] {
  const scores = pairCosineScores(emb, n, d, pairs.left, pairs.right);
  const acc = verificationAccuracy(scores, pairs.isSame, { folds: opts.folds ?? DEFAULT_FOLDS });
  return {
    accuracy: acc.accuracy,
    std: acc.std,
    foldAccuracies: acc.foldAccuracies,
    thresholds: acc.thresholds,
    auc: rocAuc(scores, pairs.isSame),
    eer: eer(scores, pairs.isSame),
    tarAtFar: tarAtFarLevels(scores, pairs.isSame, opts.farLevels ?? DEFAULT_FAR_LEVELS),
  };
}

/**
 * The verification part of {@link evaluateEmbeddings} alone: k-fold accuracy, AUC, EER and TAR@FAR of `n x d`
 * embeddings (normalised here) on `pairs` (used for held-back images of training identities, which have no
 * identification split).
 */
export function evaluateVerification(embeddings: Float32Array, n: number, d: number, pairs: EvalPairs, opts: EvaluateOptions = {}): EvalReport['verification'] {
  checkLength(pairs.isSame, pairs.left.length, 'pairs.isSame', 'pairs.left.length', 'evaluateVerification');
  return verificationOfNormalized(l2Normalize(embeddings, n, d), n, d, pairs, opts);
}

/**
 * Evaluates `n x d` test embeddings on verification pairs and an identification split.
 * @param labels identity of each of the n embeddings.
 * @throws on shape mismatches, a known probe without a gallery mate, or an unknown probe whose identity is in the
 *   gallery, plus the errors of the individual metrics.
 */
export function evaluateEmbeddings(
  embeddings: Float32Array,
  n: number,
  d: number,
  labels: Int32Array,
  pairs: EvalPairs,
  identification: EvalIdentificationSplit,
  opts: EvaluateOptions = {},
): EvalReport {
  const fn = 'evaluateEmbeddings';
  checkLength(labels, n, 'labels', 'n', fn);
  checkLength(pairs.isSame, pairs.left.length, 'pairs.isSame', 'pairs.left.length', fn);
  const emb = l2Normalize(embeddings, n, d);
  const verification = verificationOfNormalized(emb, n, d, pairs, opts);
  let genuine = 0;
  for (const v of pairs.isSame) genuine += v ? 1 : 0;

  const { gallery, knownProbes, unknownProbes } = identification;
  const galleryEmb = gatherRows(emb, n, d, gallery);
  const galleryLabels = gatherLabels(labels, gallery);
  const knownLabels = gatherLabels(labels, knownProbes);
  const knownSim = similarityMatrix(gatherRows(emb, n, d, knownProbes), knownProbes.length, galleryEmb, gallery.length, d);
  const ident = identificationReport(
    knownSim, knownProbes.length, gallery.length, knownLabels, galleryLabels, opts.maxRank ?? DEFAULT_MAX_RANK,
  );

  let openSet: EvalReport['openSet'] = null;
  if (unknownProbes.length > 0) {
    const inGallery = new Set(galleryLabels);
    for (let i = 0; i < unknownProbes.length; i++) {
      const label = labels[unknownProbes[i]];
      if (inGallery.has(label)) {
        throw new Error(
          `${fn}: unknown probe ${i} (embedding ${unknownProbes[i]}) has identity ${label}, which is in the gallery`,
        );
      }
    }
    const unknownSim = similarityMatrix(
      gatherRows(emb, n, d, unknownProbes), unknownProbes.length, galleryEmb, gallery.length, d,
    );
    const os = openSetReport(knownSim, unknownSim, gallery.length, knownLabels, galleryLabels,
      opts.fpirs ?? DEFAULT_FPIR_LEVELS);
    openSet = { dirAtFpir: os.dirAtFpir, thresholds: os.thresholds, achievedFpir: os.achievedFpir };
  }

  return {
    verification,
    identification: ident,
    openSet,
    counts: {
      embeddings: n,
      dim: d,
      pairs: pairs.left.length,
      genuinePairs: genuine,
      impostorPairs: pairs.left.length - genuine,
      gallery: gallery.length,
      knownProbes: knownProbes.length,
      unknownProbes: unknownProbes.length,
    },
  };
}
