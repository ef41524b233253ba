/**
 * Aggregation of an experiment's runs: per variant mean, sample std and 95% Student-t interval over its sample
 * units, the verification fold spread, and the paired difference against the baseline variant on the units both
 * finished (paired t-test and exact sign-flip permutation test). A sample unit is a seed, or with replicates a
 * (seed, replicate value) pair; with replicates the spread across replicate values (sample std of the
 * per-replicate means) is reported too. All of it plain JSON (summary.json); tables and the report are views of it
 * (views.ts).
 */
import type { RunResult } from '../train';
import { nativeThreadsInNote } from '../backends/select';
import { MAX_PERMUTATION_PAIRS, pairedPermutationTest, pairedTTest, summarizeSample, SampleSummary } from '../stats';
import { replicateText, type ReplicateValue, type ResolvedExperiment, type PlannedRun } from './spec';
import type { RunOutcome } from './runner';

/** The metrics that go into tables: key, label, and whether higher is better. Values are fractions in [0, 1]. */
export const TABLE_METRICS = [
  { key: 'verificationAccuracy', label: 'verification acc', higherIsBetter: true },
  { key: 'tarAtFar1e3', label: 'TAR@FAR=1e-3', higherIsBetter: true },
  { key: 'rank1', label: 'rank-1', higherIsBetter: true },
  { key: 'dirAtFpir1e2', label: 'DIR@FPIR=1e-2', higherIsBetter: true },
  { key: 'auc', label: 'AUC', higherIsBetter: true },
  { key: 'eer', label: 'EER', higherIsBetter: false },
  // fitting (issue 15): training accuracy in evaluation mode, verification on held-back images of the training
  // identities, and the gap = that minus verification on the test identities (percentage points in tables)
  { key: 'trainAccuracy', label: 'train acc', higherIsBetter: true },
  { key: 'heldOutAccuracy', label: 'verification, training ids', higherIsBetter: true },
  { key: 'gap', label: 'gap', higherIsBetter: false },
] as const;

/** A table metric's key. */
export type MetricKey = (typeof TABLE_METRICS)[number]['key'];

/** The per-run metrics (fractions in [0, 1]; null where not defined). */
export interface RunRow {
  variant: string;
  seed: number;
  /** The replicate value of the run (only in experiments with replicates). */
  replicate?: ReplicateValue;
  key: string;
  verificationAccuracy: number;
  verificationFoldStd: number;
  tarAtFar1e3: number | null;
  auc: number;
  eer: number;
  rank1: number;
  dirAtFpir1e2: number | null;
  /** Margin-free training accuracy in evaluation mode (null for runs without fit measurements). */
  trainAccuracy: number | null;
  /** Verification accuracy on held-back images of the training identities (null when the dataset has none). */
  heldOutAccuracy: number | null;
  /** heldOutAccuracy - verificationAccuracy (null without held-back images). */
  gap: number | null;
  /** CoReFace runs: mean contrastive loss L_con(x1 -> x2) over the final epoch (null otherwise). */
  contrastiveLoss: number | null;
  /** CoReFace runs: share of the weighted contrastive term wC * L_con in the final epoch's mean total loss (null otherwise). */
  contrastiveShare: number | null;
  /** CoReFace runs: the contrastive margin at the end of training (null otherwise). */
  margin: number | null;
  imgPerSec: number;
  trainSeconds: number;
  backend: string;
}

/** Paired difference variant - baseline over the sample units (seeds, or (seed, replicate) pairs) both finished. */
export interface PairedComparison {
  /** Number of pairs. */
  n: number;
  meanDiff: number;
  ciLow: number | null;
  ciHigh: number | null;
  /** Two-sided paired t-test p-value (null for n < 2). */
  pT: number | null;
  /**
   * Exact two-sided sign-flip permutation p-value (its minimum is 2 / 2^n: 0.5 for 2 pairs, 0.0625 for 5); null for
   * n < 2 and above MAX_PERMUTATION_PAIRS (20) pairs, where the exact enumeration is too large.
   */
  pPermutation: number | null;
}

/** How one metric of a variant varies across the replicate values (e.g. across class partitions). */
export interface ReplicateSpread {
  /** Per replicate value, in the experiment's order: finished units with a value of the metric and their mean (null when none). */
  perValue: { value: ReplicateValue; n: number; mean: number | null }[];
  /** Number of replicate values with at least one finished run. */
  n: number;
  /** Sample standard deviation (n - 1) of the per-replicate means; null for n < 2. */
  std: number | null;
  /** Smallest and largest per-replicate mean (null for n = 0). */
  min: number | null;
  max: number | null;
}

/** One variant aggregated over its sample units (seeds, or (seed, replicate) pairs). */
export interface VariantSummary {
  variant: string;
  label: string;
  description: string;
  /** Seed of each finished run (with replicates a seed appears once per replicate value it finished). */
  seeds: number[];
  /** Replicate value of each finished run, parallel to `seeds` (only in experiments with replicates). */
  replicates?: ReplicateValue[];
  failed: number;
  missing: number;
  /** Each metric over all finished units: mean, sample std and 95% t interval. */
  metrics: Record<MetricKey, SampleSummary | null>;
  /** Spread of each metric across the replicate values (only in experiments with replicates). */
  replicateSpread?: Record<MetricKey, ReplicateSpread | null>;
  /** Mean over finished runs of the std of the 10 verification fold accuracies. */
  foldStd: number | null;
  imgPerSec: number | null;
  /** Differences against the baseline, paired by seed (and replicate value); null for the baseline itself. */
  vsBaseline: Record<MetricKey, PairedComparison | null> | null;
}

/** What `summarizeExperiment` returns. Fields marked "replicates only" are absent for experiments without them. */
export interface ExperimentSummary {
  experiment: string;
  description: string;
  baseline: string;
  seeds: number[];
  /** The replicate path, its label and values (replicates only). */
  replicates?: { path: string; label: string; values: ReplicateValue[] };
  backends: string[];
  generatedAt: string;
  variants: VariantSummary[];
  runs: RunRow[];
  failed: { variant: string; seed: number; replicate?: ReplicateValue; key: string; error: string }[];
  missing: { variant: string; seed: number; replicate?: ReplicateValue; key: string; status: string }[];
  /** Lines shown under the table header (e.g. the wall time of the last `ablate`); absent when there are none. */
  notes?: string[];
}

/** `{replicate}` when the run has one, else `{}` (so experiments without replicates keep their JSON as it was). */
function replicateField(run: { replicate?: ReplicateValue }): { replicate?: ReplicateValue } {
  return run.replicate === undefined ? {} : { replicate: run.replicate };
}

/** The table metrics of one finished run. */
export function runRow(run: PlannedRun, r: RunResult): RunRow {
  const f = r.final;
  return {
    variant: run.variant,
    seed: run.seed,
    ...replicateField(run),
    key: run.key,
    verificationAccuracy: f.verification.accuracy,
    verificationFoldStd: f.verification.std,
    tarAtFar1e3: f.verification.tarAtFar['1e-3'] ?? null,
    auc: f.verification.auc,
    eer: f.verification.eer,
    rank1: f.identification.rank1,
    dirAtFpir1e2: f.openSet?.dirAtFpir['1e-2'] ?? null,
    trainAccuracy: r.fit?.trainAccuracy ?? null,
    heldOutAccuracy: r.fit?.heldOut?.accuracy ?? null,
    gap: r.fit?.gap ?? null,
    ...contrastiveSignal(r),
    imgPerSec: r.imgPerSec,
    trainSeconds: r.trainSeconds,
    backend: backendLabel(r),
  };
}

/** Where CoReFace's signal goes in a run's final epoch: its contrastive loss, that term's weighted share, the margin. */
function contrastiveSignal(r: RunResult): Pick<RunRow, 'contrastiveLoss' | 'contrastiveShare' | 'margin'> {
  const last = r.epochs?.[r.epochs.length - 1];
  const con = last?.meanTerms?.con12;
  // (optional chaining: hand-made and pre-0.2 results may lack config or epochs)
  if (!r.config?.coreface?.enabled || last === undefined || typeof con !== 'number') return { contrastiveLoss: null, contrastiveShare: null, margin: null };
  return { contrastiveLoss: con, contrastiveShare: (r.config.coreface.wC * con) / last.meanLoss, margin: last.margin ?? null };
}

/**
 * The backend a run trained on, as tables show it: the backend's name, plus the native kernels and their thread
 * count when its version note (result.json `versions`) says they were on, e.g. `wasm + native (1 thread)`.
 */
export function backendLabel(r: Pick<RunResult, 'backend' | 'versions'>): string {
  const threads = nativeThreadsInNote(r.versions?.[`backend:${r.backend}`] ?? '');
  return threads === null ? r.backend : `${r.backend} + native (${threads} thread${threads === 1 ? '' : 's'})`;
}

function mean(xs: number[]): number | null {
  return xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : null;
}

function finite(v: number | null): v is number {
  return v !== null && Number.isFinite(v);
}

/** The sample unit of a run: its seed, and its replicate value when it has one (as text: values are distinct as text). */
export function unitKey(r: { seed: number; replicate?: ReplicateValue }): string {
  return r.replicate === undefined ? `s${r.seed}` : `s${r.seed}|${replicateText(r.replicate)}`;
}

/**
 * Paired comparison of metric `m` between two sets of rows, on the sample units (seed, and replicate value when
 * the rows have one) both have a value for.
 */
export function comparePaired(rows: RunRow[], base: RunRow[], m: MetricKey): PairedComparison | null {
  const a: number[] = [];
  const b: number[] = [];
  const baseByUnit = new Map<string, RunRow>();
  for (const x of base) if (!baseByUnit.has(unitKey(x))) baseByUnit.set(unitKey(x), x);
  for (const r of rows) {
    const o = baseByUnit.get(unitKey(r));
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
  const pPermutation = a.length <= MAX_PERMUTATION_PAIRS ? pairedPermutationTest(a, b).pValue : null;
  return { n: a.length, meanDiff: t.meanDiff, ciLow: t.ciLow, ciHigh: t.ciHigh, pT: t.pValue, pPermutation };
}

/** {@link comparePaired} of every table metric: a variant's `vsBaseline`. */
function pairedComparisons(rows: RunRow[], base: RunRow[]): Record<MetricKey, PairedComparison | null> {
  const vs = {} as Record<MetricKey, PairedComparison | null>;
  for (const { key } of TABLE_METRICS) vs[key] = comparePaired(rows, base, key);
  return vs;
}

/** Spread of metric `m` of `rows` across the replicate `values`: the per-value means and their sample std. */
export function replicateSpread(rows: RunRow[], values: readonly ReplicateValue[], m: MetricKey): ReplicateSpread {
  const perValue = values.map((value) => {
    const text = replicateText(value);
    const vals = rows.filter((r) => r.replicate !== undefined && replicateText(r.replicate) === text).map((r) => r[m]).filter(finite);
    return { value, n: vals.length, mean: mean(vals) };
  });
  const means = perValue.map((p) => p.mean).filter(finite);
  if (means.length === 0) return { perValue, n: 0, std: null, min: null, max: null };
  const st = summarizeSample(means);
  return { perValue, n: st.n, std: st.std, min: st.min, max: st.max };
}

/**
 * Aggregates the outcomes of an experiment's planned runs per variant (in the experiment's order; variants with
 * no planned run are left out). Each finished run is one sample unit (a seed, or with replicates a (seed,
 * replicate value) pair); comparisons with the baseline pair runs by unit. Failed and missing runs are counted
 * and listed, never mixed into the numbers.
 */
export function summarizeExperiment(exp: ResolvedExperiment, outcomes: { run: PlannedRun; result: RunResult | null; status: string; error?: string }[]): ExperimentSummary {
  const rows = outcomes.filter((o) => o.result).map((o) => runRow(o.run, o.result as RunResult));
  const baseRows = rows.filter((r) => r.variant === exp.baseline);
  const reps = exp.replicates;
  const planned = new Set(outcomes.map((o) => o.run.variant));
  const variants: VariantSummary[] = exp.variants.filter((v) => planned.has(v.name)).map((v) => {
    const mine = rows.filter((r) => r.variant === v.name);
    const metrics = {} as Record<MetricKey, SampleSummary | null>;
    const spread = {} as Record<MetricKey, ReplicateSpread | null>;
    for (const { key } of TABLE_METRICS) {
      const vals = mine.map((r) => r[key]).filter(finite);
      metrics[key] = vals.length ? summarizeSample(vals) : null;
      if (reps) spread[key] = vals.length ? replicateSpread(mine, reps.values, key) : null;
    }
    const mineOutcomes = outcomes.filter((o) => o.run.variant === v.name);
    return {
      variant: v.name,
      label: v.label,
      description: v.description,
      seeds: mine.map((r) => r.seed),
      ...(reps ? { replicates: mine.map((r) => r.replicate as ReplicateValue) } : {}),
      failed: mineOutcomes.filter((o) => o.status === 'failed').length,
      missing: mineOutcomes.filter((o) => !o.result && o.status !== 'failed').length,
      metrics,
      ...(reps ? { replicateSpread: spread } : {}),
      foldStd: mean(mine.map((r) => r.verificationFoldStd)),
      imgPerSec: mean(mine.map((r) => r.imgPerSec)),
      vsBaseline: v.name === exp.baseline ? null : pairedComparisons(mine, baseRows),
    };
  });
  return {
    experiment: exp.name,
    description: exp.description,
    baseline: exp.baseline,
    seeds: [...new Set(outcomes.map((o) => o.run.seed))].sort((a, b) => a - b),
    ...(reps ? { replicates: { path: reps.path, label: reps.label, values: [...reps.values] } } : {}),
    backends: [...new Set(rows.map((r) => r.backend))],
    generatedAt: new Date().toISOString(),
    variants,
    runs: rows,
    failed: outcomes.filter((o) => o.status === 'failed').map((o) => ({ variant: o.run.variant, seed: o.run.seed, ...replicateField(o.run), key: o.run.key, error: o.error ?? '' })),
    missing: outcomes.filter((o) => !o.result && o.status !== 'failed').map((o) => ({ variant: o.run.variant, seed: o.run.seed, ...replicateField(o.run), key: o.run.key, status: o.status })),
  };
}

/**
 * The same summary paired against another of its variants: `baseline` becomes `variant`, and every variant's
 * comparison is recomputed from the summary's own per-run rows (the units both finished), as
 * `summarizeExperiment` would have with that baseline. Means, spreads and the runs are unchanged. Throws when
 * the summary has no such variant.
 */
export function rebaseSummary(summary: ExperimentSummary, variant: string): ExperimentSummary {
  const names = summary.variants.map((v) => v.variant);
  if (!names.includes(variant)) throw new Error(`${summary.experiment} has no such variant (variants: ${names.join(', ')})`);
  const baseRows = summary.runs.filter((r) => r.variant === variant);
  const variants = summary.variants.map((v): VariantSummary => {
    if (v.variant === variant) return { ...v, vsBaseline: null };
    return { ...v, vsBaseline: pairedComparisons(summary.runs.filter((r) => r.variant === v.variant), baseRows) };
  });
  return { ...summary, baseline: variant, variants };
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
