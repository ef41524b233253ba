/**
 * Aggregation of an experiment's runs: per variant mean, sample std and 95% Student-t interval over seeds, the
 * verification fold spread, and the paired difference against the baseline variant on the seeds both finished
 * (paired t-test and exact sign-flip permutation test). All of it plain JSON (summary.json); tables and the
 * report are views of it (views.ts).
 */
import type { RunResult } from '../train';
import { pairedPermutationTest, pairedTTest, summarizeSample, SampleSummary } from '../stats';
import type { ResolvedExperiment, PlannedRun } from './spec';
import type { RunOutcome } from './runner';

/** The metrics that go into tables: key, label, and whether higher is better. Values are fractions in [0, 1]. */
export const TABLE_METRICS = [
  { key: 'verificationAccuracy', label: 'verification acc', higherIsBetter: true },
  { key: 'tarAtFar1e3', label: 'TAR@FAR=1e-3', higherIsBetter: true },
  { key: 'rank1', label: 'rank-1', higherIsBetter: true },
  { key: 'dirAtFpir1e2', label: 'DIR@FPIR=1e-2', higherIsBetter: true },
  { key: 'auc', label: 'AUC', higherIsBetter: true },
  { key: 'eer', label: 'EER', higherIsBetter: false },
] as const;

/** A table metric's key. */
export type MetricKey = (typeof TABLE_METRICS)[number]['key'];

/** The per-run metrics (fractions in [0, 1]; null where not defined). */
export interface RunRow {
  variant: string;
  seed: number;
  key: string;
  verificationAccuracy: number;
  verificationFoldStd: number;
  tarAtFar1e3: number | null;
  auc: number;
  eer: number;
  rank1: number;
  dirAtFpir1e2: number | null;
  imgPerSec: number;
  trainSeconds: number;
  backend: string;
}

/** Paired difference variant - baseline over the seeds both finished. */
export interface PairedComparison {
  n: number;
  meanDiff: number;
  ciLow: number | null;
  ciHigh: number | null;
  /** Two-sided paired t-test p-value (null for n < 2). */
  pT: number | null;
  /** Exact two-sided sign-flip permutation p-value (its minimum is 2 / 2^n: 0.5 for 2 seeds, 0.0625 for 5). */
  pPermutation: number | null;
}

/** One variant aggregated over its seeds. */
export interface VariantSummary {
  variant: string;
  label: string;
  description: string;
  seeds: number[];
  failed: number;
  missing: number;
  metrics: Record<MetricKey, SampleSummary | null>;
  /** Mean over seeds of the std of the 10 verification fold accuracies. */
  foldStd: number | null;
  imgPerSec: number | null;
  /** Differences against the baseline (null for the baseline itself). */
  vsBaseline: Record<MetricKey, PairedComparison | null> | null;
}

/** What `summarizeExperiment` returns. */
export interface ExperimentSummary {
  experiment: string;
  description: string;
  baseline: string;
  seeds: number[];
  backends: string[];
  generatedAt: string;
  variants: VariantSummary[];
  runs: RunRow[];
  failed: { variant: string; seed: number; key: string; error: string }[];
  missing: { variant: string; seed: number; key: string; status: string }[];
}

/** The table metrics of one finished run. */
export function runRow(run: PlannedRun, r: RunResult): RunRow {
  const f = r.final;
  return {
    variant: run.variant,
    seed: run.seed,
    key: run.key,
    verificationAccuracy: f.verification.accuracy,
    verificationFoldStd: f.verification.std,
    tarAtFar1e3: f.verification.tarAtFar['1e-3'] ?? null,
    auc: f.verification.auc,
    eer: f.verification.eer,
    rank1: f.identification.rank1,
    dirAtFpir1e2: f.openSet?.dirAtFpir['1e-2'] ?? null,
    imgPerSec: r.imgPerSec,
    trainSeconds: r.trainSeconds,
    backend: r.backend,
  };
}

function mean(xs: number[]): number | null {
  return xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : null;
}

function finite(v: number | null): v is number {
  return v !== null && Number.isFinite(v);
}

/** Paired comparison of metric `m` between two sets of rows, on the seeds both have a value for. */
export function comparePaired(rows: RunRow[], base: RunRow[], m: MetricKey): PairedComparison | null {
  const a: number[] = [];
  const b: number[] = [];
  for (const r of rows) {
    const o = base.find((x) => x.seed === r.seed);
    const va = r[m];
    const vb = o?.[m] ?? null;
    if (finite(va) && finite(vb)) {
      a.push(va);
      b.push(vb);
    }
  }
  if (a.length === 0) return null;
  if (a.length === 1) return { n: 1, meanDiff: a[0] - b[0], ciLow: null, ciHigh: null, pT: null, pPermutation: null };
  const t = pairedTTest(a, b);
  const perm = pairedPermutationTest(a, b);
  return { n: a.length, meanDiff: t.meanDiff, ciLow: t.ciLow, ciHigh: t.ciHigh, pT: t.pValue, pPermutation: perm.pValue };
}

/**
 * Aggregates the outcomes of an experiment's planned runs per variant (in the experiment's order; variants with
 * no planned run are left out). Failed and missing runs are counted and listed, never mixed into the numbers.
 */
export function summarizeExperiment(exp: ResolvedExperiment, outcomes: { run: PlannedRun; result: RunResult | null; status: string; error?: string }[]): ExperimentSummary {
  const rows = outcomes.filter((o) => o.result).map((o) => runRow(o.run, o.result as RunResult));
  const baseRows = rows.filter((r) => r.variant === exp.baseline);
  const planned = new Set(outcomes.map((o) => o.run.variant));
  const variants: VariantSummary[] = exp.variants.filter((v) => planned.has(v.name)).map((v) => {
    const mine = rows.filter((r) => r.variant === v.name);
    const metrics = {} as Record<MetricKey, SampleSummary | null>;
    const vs = {} as Record<MetricKey, PairedComparison | null>;
    for (const { key } of TABLE_METRICS) {
      const vals = mine.map((r) => r[key]).filter(finite);
      metrics[key] = vals.length ? summarizeSample(vals) : null;
      vs[key] = comparePaired(mine, baseRows, key);
    }
    const mineOutcomes = outcomes.filter((o) => o.run.variant === v.name);
    return {
      variant: v.name,
      label: v.label,
      description: v.description,
      seeds: mine.map((r) => r.seed),
      failed: mineOutcomes.filter((o) => o.status === 'failed').length,
      missing: mineOutcomes.filter((o) => !o.result && o.status !== 'failed').length,
      metrics,
      foldStd: mean(mine.map((r) => r.verificationFoldStd)),
      imgPerSec: mean(mine.map((r) => r.imgPerSec)),
      vsBaseline: v.name === exp.baseline ? null : vs,
    };
  });
  return {
    experiment: exp.name,
    description: exp.description,
    baseline: exp.baseline,
    seeds: [...new Set(outcomes.map((o) => o.run.seed))].sort((a, b) => a - b),
    backends: [...new Set(rows.map((r) => r.backend))],
    generatedAt: new Date().toISOString(),
    variants,
    runs: rows,
    failed: outcomes.filter((o) => o.status === 'failed').map((o) => ({ variant: o.run.variant, seed: o.run.seed, key: o.run.key, error: o.error ?? '' })),
    missing: outcomes.filter((o) => !o.result && o.status !== 'failed').map((o) => ({ variant: o.run.variant, seed: o.run.seed, key: o.run.key, status: o.status })),
  };
}

/** Outcomes from `executeRuns` in the shape `summarizeExperiment` takes. */
export function fromRunOutcomes(outcomes: RunOutcome[]): { run: PlannedRun; result: RunResult | null; status: string; error?: string }[] {
  return outcomes.map((o) => ({
    run: o.run,
    result: o.status === 'done' ? o.result : null,
    status: o.status,
    error: o.status === 'failed' ? o.error : undefined,
  }));
}
