/**
 * Per-run artifacts for plots, written to `<run>/artifacts.json` before result.json: the final cosine scores of
 * the verification pairs (genuine and impostor, for ROC curves and histograms) and a 2-D PCA projection of the
 * final test embeddings of the first identities (for a scatter plot). Plain JSON, a few hundred KB at most.
 */
import { pairCosineScores } from '../eval/embeddings';
import { pca2d } from '../eval/pca';
import type { FaceBenchmark } from '../data';

/** Test identities shown in the projection (default 20). */
export const DEFAULT_PROJECTION_IDENTITIES = 20;

/** What artifacts.json holds. */
export interface RunArtifacts {
  scores: { genuine: number[]; impostor: number[] };
  projection: { x: number[]; y: number[]; label: number[]; explained: [number, number] } | null;
}

const round = (v: number): number => Math.round(v * 1e5) / 1e5;

/** Scores and projection from the final flip-fused test embeddings (`count x dim`, row-major). */
export function runArtifacts(embeddings: Float32Array, dim: number, b: FaceBenchmark, identities = DEFAULT_PROJECTION_IDENTITIES): RunArtifacts {
  const scores = pairCosineScores(embeddings, b.test.count, dim, b.pairs.left, b.pairs.right);
  const genuine: number[] = [];
  const impostor: number[] = [];
  scores.forEach((s, i) => (b.pairs.isSame[i] ? genuine : impostor).push(round(s)));
  const shown = [...new Set(b.test.labels)].sort((x, y) => x - y).slice(0, identities);
  const keep = new Set(shown);
  const rows: number[] = [];
  b.test.labels.forEach((l, i) => {
    if (keep.has(l)) rows.push(i);
  });
  let projection: RunArtifacts['projection'] = null;
  if (rows.length >= 3) {
    const sub = new Float32Array(rows.length * dim);
    rows.forEach((r, i) => sub.set(embeddings.subarray(r * dim, (r + 1) * dim), i * dim));
    const { coords, explained } = pca2d(sub, rows.length, dim);
    projection = {
      x: rows.map((_, i) => round(coords[2 * i])),
      y: rows.map((_, i) => round(coords[2 * i + 1])),
      label: rows.map((r) => b.test.labels[r]),
      explained: [round(explained[0]), round(explained[1])],
    };
  }
  return { scores: { genuine, impostor }, projection };
}
