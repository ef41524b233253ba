// A RunResult with only what summaries and tables read, for tests of the engine's statistics and views.
import type { RunResult } from '../../src/train';

export interface FakeResultOptions {
  /** Training speed (default 100). */
  imgPerSec?: number;
  /** Verification fold std (default 0.01). */
  foldStd?: number;
  /** Fit measurements: margin-free training accuracy and verification on held-back images of training ids. */
  fit?: { train: number; heldOut: number } | null;
  /** Contrastive weight: > 0 records a CoReFace config and one epoch with its contrastive term and margin. */
  wC?: number;
}

/** Verification accuracy `acc`; TAR@FAR=1e-3 acc/2, rank-1 acc - 0.1, DIR@FPIR=1e-2 acc/4, AUC acc, EER 1 - acc. */
export function fakeResult(acc: number, seed: number, opts: FakeResultOptions = {}): RunResult {
  const { imgPerSec = 100, foldStd = 0.01, fit = null, wC = 0 } = opts;
  return {
    name: 'x', configHash: 'h', seed, backend: 'wasm', versions: {}, steps: 1, wallSeconds: 1, trainSeconds: 1, imgPerSec, finalLoss: 1,
    config: { coreface: { enabled: wC > 0, wC } },
    epochs: wC > 0 ? [{ epoch: 0, meanLoss: 2, meanTerms: { con12: 4 }, margin: 0.2 }] : [],
    fit: fit ? { trainAccuracy: fit.train, trainImages: 10, heldOut: { accuracy: fit.heldOut }, gap: fit.heldOut - acc } : undefined,
    final: {
      verification: { accuracy: acc, std: foldStd, foldAccuracies: [], thresholds: [], auc: acc, eer: 1 - acc, tarAtFar: { '1e-3': acc / 2 } },
      identification: { rank1: acc - 0.1, rank5: acc, cmc: [] },
      openSet: { dirAtFpir: { '1e-2': acc / 4 }, thresholds: {}, achievedFpir: {} },
      counts: { embeddings: 0, dim: 0, pairs: 0, genuinePairs: 0, impostorPairs: 0, gallery: 0, knownProbes: 0, unknownProbes: 0 },
    },
  } as unknown as RunResult;
}
