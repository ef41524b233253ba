/**
 * Reading an experiment's results in a notebook (06-results): the summary from the run store or from the committed
 * `docs/results/<experiment>/summary.json`, and the views a reader needs beyond the engine's tables: values per seed,
 * paired differences per seed with their interval (table and figure), the fit and the train-vs-test gap. Pure
 * functions of an `ExperimentSummary` (src/experiments/summary.ts) except {@link loadExperimentSummary}.
 */
import * as fs from 'fs';
import * as path from 'path';
import { collectOutcomes } from '../experiments/ablate';
import { getExperiment, listExperiments } from '../experiments/registry';
import { planRuns } from '../experiments/spec';
import { RunStore } from '../experiments/store';
import { summarizeExperiment, TABLE_METRICS, unitKey, type ExperimentSummary, type MetricKey, type PairedComparison, type RunRow } from '../experiments/summary';
import { VARIANT_COLORS } from '../report/figures';
import type { PlotFigure, PlotTrace } from '../report/plot';
import type { ReportStat } from '../report/report-data';
import { fromRecords, type TableCell, type TableData } from '../report/table';
import { PACKAGE } from '../util/package';
import { committedResultsDir, shownPath, type SummarySource } from './params';

/** A comparison's 95% interval in points, `[lo, hi]`; '' when it has none (fewer than 2 pairs). */
function ciText(c: PairedComparison): string {
  return c.ciLow !== null && c.ciHigh !== null ? `[${(100 * c.ciLow).toFixed(2)}, ${(100 * c.ciHigh).toFixed(2)}]` : '';
}

/** A summary and where it was read from. */
export interface LoadedSummary {
  summary: ExperimentSummary;
  /** 'store': computed now from the run store; 'committed': the committed summary.json. */
  source: 'store' | 'committed';
  /** The store root, or the summary file. */
  location: string;
  /** One sentence for the reader: what was read, how complete it is, and when it was generated. */
  note: string;
}

/** Options of {@link loadExperimentSummary}. */
export interface LoadSummaryOptions {
  /** Run store root. */
  results: string;
  /** 'auto' (default): the store when it holds every planned run, else the committed summary, else a partial store. */
  source?: SummarySource;
  /** Folder of the committed views (default `docs/results` of the library's checkout). */
  committedDir?: string;
}

function readCommitted(file: string): ExperimentSummary {
  let s: unknown;
  try {
    s = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    throw new Error(`${file} is not valid JSON: ${(e as Error).message}`);
  }
  const o = s as Partial<ExperimentSummary> | null;
  if (!o || typeof o !== 'object' || typeof o.experiment !== 'string' || !Array.isArray(o.variants) || !Array.isArray(o.runs)) {
    throw new Error(`${file} is not a summary.json of coreface collect (no experiment, variants and runs fields)`);
  }
  return o as ExperimentSummary;
}

/**
 * The summary of `experiment`. Sources, with `source` 'auto': (1) the run store when it holds every planned run of
 * the registered experiment (computed now, nothing written); (2) the committed `<committedDir>/<experiment>/summary.json`;
 * (3) the store when it holds at least one run (the note says how many are missing). 'store' and 'committed' use only
 * that source. Throws, naming every place looked at and how to fill one, when none has the experiment.
 */
export function loadExperimentSummary(experiment: string, opts: LoadSummaryOptions): LoadedSummary {
  const source = opts.source ?? 'auto';
  const committed = path.join(opts.committedDir ?? committedResultsDir(), experiment, 'summary.json');
  const store = new RunStore(opts.results);
  const registered = experiment.endsWith('.json') || listExperiments().some((e) => e.name === experiment);
  let fromStore: { summary: ExperimentSummary; done: number; planned: number } | null = null;
  if (registered && source !== 'committed') {
    const exp = getExperiment(experiment);
    const runs = planRuns(exp);
    const outcomes = collectOutcomes(runs, store);
    const done = outcomes.filter((o) => o.result).length;
    if (done > 0) fromStore = { summary: summarizeExperiment(exp, outcomes), done, planned: runs.length };
  }
  const storeLoaded = (f: { summary: ExperimentSummary; done: number; planned: number }): LoadedSummary => ({
    summary: f.summary, source: 'store', location: store.root,
    note: `Read from the run store \`${shownPath(store.root)}\`: ${f.done} of ${f.planned} planned runs finished` +
      `${f.done < f.planned ? ` (the ${f.planned - f.done} others are missing, running or failed: the numbers below cover the finished runs only)` : ''}; summarised now.`,
  });
  if (fromStore && (fromStore.done === fromStore.planned || source === 'store')) return storeLoaded(fromStore);
  if (source !== 'store' && fs.existsSync(committed)) {
    const summary = readCommitted(committed);
    return {
      summary, source: 'committed', location: committed,
      note: `Read from the committed summary \`${shownPath(committed, PACKAGE.root)}\` (generated ${summary.generatedAt}` +
        `${fromStore ? `; the store \`${shownPath(store.root)}\` holds only ${fromStore.done} of ${fromStore.planned} runs` : registered ? `; the store \`${shownPath(store.root)}\` holds none of its runs` : ''}).`,
    };
  }
  if (fromStore && source === 'auto') return storeLoaded(fromStore);
  const looked = [
    source !== 'committed' ? (registered ? `the run store ${store.root} (no finished run of it)` : `the run store (${experiment} is not a registered experiment)`) : null,
    source !== 'store' ? `${committed} (no such file)` : null,
  ].filter(Boolean).join(' and ');
  throw new Error(`no results of '${experiment}': looked in ${looked}; run \`npx coreface ablate ${experiment} --results ${store.root}\`, or choose another experiment (NOTEBOOK_EXPERIMENT)`);
}

/** `seed 0`, or with replicates `seed 0, partition 3`. */
export function unitLabel(s: ExperimentSummary, r: Pick<RunRow, 'seed' | 'replicate'>): string {
  return r.replicate === undefined || !s.replicates ? `seed ${r.seed}` : `seed ${r.seed}, ${s.replicates.label} ${String(r.replicate)}`;
}

/** The sample units of a summary (seeds, or (seed, replicate) pairs) in the order their runs appear. */
function units(s: ExperimentSummary): { key: string; label: string }[] {
  const out = new Map<string, string>();
  for (const r of s.runs) if (!out.has(unitKey(r))) out.set(unitKey(r), unitLabel(s, r));
  return [...out.entries()].map(([key, label]) => ({ key, label }));
}

function metricLabel(m: MetricKey): string {
  return TABLE_METRICS.find((t) => t.key === m)?.label ?? m;
}

/** A fraction as percent (or percentage points) with 2 decimals, as text so every view shows the same digits. */
const pct = (v: number | null): TableCell => (v === null || !Number.isFinite(v) ? null : (100 * v).toFixed(2));

/**
 * One row per sample unit (seed), one column per variant: the metric in percent (blank where that run is not
 * finished). The last rows give each variant's mean and sample std over its units.
 */
export function perSeedTable(s: ExperimentSummary, metric: MetricKey = 'verificationAccuracy'): TableData {
  const cols = s.variants.map((v) => v.label);
  const rows: TableCell[][] = units(s).map((u) => [u.label, ...s.variants.map((v) => {
    const r = s.runs.find((x) => x.variant === v.variant && unitKey(x) === u.key);
    return r ? pct(r[metric]) : null;
  })]);
  rows.push(['mean', ...s.variants.map((v) => pct(v.metrics[metric]?.mean ?? null))]);
  rows.push(['sample std', ...s.variants.map((v) => pct(v.metrics[metric]?.std ?? null))]);
  return { columns: [`${metricLabel(metric)} %`, ...cols], rows };
}

/** The paired differences of one variant against the baseline: per unit, and their summary (from the summary's own comparison). */
export interface VariantDifferences {
  variant: string;
  label: string;
  /** Unit labels (seed ...) of the pairs. */
  units: string[];
  /** variant - baseline per unit (fractions). */
  diffs: number[];
  /** The summary's paired comparison (mean, interval, p-values), null when no pair. */
  comparison: PairedComparison | null;
}

/** Per non-baseline variant, the differences to the baseline on the units both finished, for `metric`. */
export function pairedDifferences(s: ExperimentSummary, metric: MetricKey = 'verificationAccuracy'): VariantDifferences[] {
  const base = new Map<string, RunRow>();
  for (const r of s.runs) if (r.variant === s.baseline && !base.has(unitKey(r))) base.set(unitKey(r), r);
  return s.variants.filter((v) => v.variant !== s.baseline).map((v) => {
    const out: VariantDifferences = { variant: v.variant, label: v.label, units: [], diffs: [], comparison: v.vsBaseline?.[metric] ?? null };
    for (const r of s.runs.filter((x) => x.variant === v.variant)) {
      const b = base.get(unitKey(r));
      const a = r[metric];
      const bv = b ? b[metric] : null;
      if (typeof a === 'number' && typeof bv === 'number' && Number.isFinite(a) && Number.isFinite(bv)) {
        out.units.push(unitLabel(s, r));
        out.diffs.push(a - bv);
      }
    }
    return out;
  });
}

/** Paired differences as a table: per variant the difference on each unit (points), the mean, its 95% interval and the p-values. */
export function pairedDifferenceTable(s: ExperimentSummary, metric: MetricKey = 'verificationAccuracy'): TableData {
  const d = pairedDifferences(s, metric);
  const us = units(s).map((u) => u.label);
  return fromRecords(d.map((x) => {
    const c = x.comparison;
    const rec: Record<string, TableCell> = { variant: x.label };
    for (const u of us) {
      const i = x.units.indexOf(u);
      rec[u] = i < 0 ? null : pct(x.diffs[i]);
    }
    rec['mean Δ (pts)'] = c ? pct(c.meanDiff) : null;
    rec['95% CI'] = c ? ciText(c) : '';
    rec['p (paired t)'] = c?.pT == null ? null : c.pT.toFixed(3);
    rec['p (sign-flip)'] = c?.pPermutation == null ? null : c.pPermutation.toFixed(3);
    return rec;
  }));
}

/**
 * The paired-difference figure: for each non-baseline variant, one marker per unit (variant - baseline on that seed,
 * hover names the seed) and the mean difference with its 95% Student-t interval as an error bar, against a zero line.
 * Percentage points. `null` when no variant has a pair.
 */
export function pairedDifferenceFigure(s: ExperimentSummary, metric: MetricKey = 'verificationAccuracy'): PlotFigure | null {
  const d = pairedDifferences(s, metric).filter((x) => x.diffs.length > 0);
  if (d.length === 0) return null;
  const base = s.variants.find((v) => v.variant === s.baseline)?.label ?? s.baseline;
  const esc = (t: string): string => t.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
  const data: PlotTrace[] = [];
  d.forEach((x, i) => {
    const color = VARIANT_COLORS[i % VARIANT_COLORS.length];
    // spread the seeds a little around the variant's position so equal values stay visible
    const jitter = (k: number): number => i - 0.12 + (x.diffs.length > 1 ? (0.16 * k) / (x.diffs.length - 1) : 0.08);
    data.push({
      type: 'scatter', mode: 'markers', name: `${esc(x.label)}: per seed`, legendgroup: x.variant, showlegend: false,
      x: x.diffs.map((_, k) => jitter(k)), y: x.diffs.map((v) => 100 * v),
      marker: { color, size: 8, opacity: 0.7 },
      text: x.units.map((u, k) => `${esc(x.label)}, ${u}: ${(100 * x.diffs[k]).toFixed(2)} pts`), hoverinfo: 'text',
    });
    const c = x.comparison;
    if (c) {
      const hasCi = c.ciLow !== null && c.ciHigh !== null;
      data.push({
        type: 'scatter', mode: 'markers', name: esc(x.label), legendgroup: x.variant,
        x: [i + 0.2], y: [100 * c.meanDiff],
        marker: { color, size: 12, symbol: 'diamond', line: { color: '#333', width: 1 } },
        error_y: hasCi ? { type: 'data', symmetric: false, array: [100 * ((c.ciHigh as number) - c.meanDiff)], arrayminus: [100 * (c.meanDiff - (c.ciLow as number))], color: '#333', thickness: 1.5, width: 6 } : { visible: false },
        text: [`${esc(x.label)}: mean ${(100 * c.meanDiff).toFixed(2)} pts${hasCi ? ` [${(100 * (c.ciLow as number)).toFixed(2)}, ${(100 * (c.ciHigh as number)).toFixed(2)}]` : ''}, n = ${c.n}` +
          `${c.pT !== null ? `, p (t) ${c.pT.toFixed(3)}` : ''}${c.pPermutation !== null ? `, p (sign-flip) ${c.pPermutation.toFixed(3)}` : ''}`],
        hoverinfo: 'text',
      });
    }
  });
  return {
    data,
    layout: {
      title: { text: esc(`${metricLabel(metric)}: each variant minus ${base}, paired by seed`), font: { size: 15 } },
      height: 440, margin: { l: 64, r: 24, t: 48, b: 90 }, paper_bgcolor: '#ffffff', plot_bgcolor: '#ffffff', showlegend: false,
      xaxis: { tickmode: 'array', tickvals: d.map((_, i) => i), ticktext: d.map((x) => esc(x.label)), range: [-0.6, d.length - 0.4], showgrid: false, zeroline: false, linecolor: '#888', showline: true },
      yaxis: { title: { text: 'difference (percentage points)' }, zeroline: true, zerolinecolor: '#444', zerolinewidth: 1.5, gridcolor: '#e5e5e5' },
      annotations: [{ xref: 'paper', yref: 'paper', x: 0, y: -0.22, showarrow: false, xanchor: 'left', font: { size: 11, color: '#555' },
        text: 'dots: one seed each; diamond: mean with its 95% Student-t interval' }],
    },
  };
}

/**
 * The fit of each variant (means over its finished runs): training accuracy in evaluation mode, verification on
 * held-back images of the training identities and on the test identities, the gap between them, and the gap's paired
 * difference to the baseline. `null` when no run has fit measurements.
 */
export function fitTable(s: ExperimentSummary): TableData | null {
  if (!s.runs.some((r) => r.trainAccuracy !== null)) return null;
  const cell = (m: MetricKey, v: ExperimentSummary['variants'][number]): string => {
    const st = v.metrics[m];
    if (!st) return 'n/a';
    return st.std === null ? (100 * st.mean).toFixed(2) : `${(100 * st.mean).toFixed(2)} ± ${(100 * st.std).toFixed(2)}`;
  };
  return fromRecords(s.variants.map((v) => {
    const d = v.vsBaseline?.gap ?? null;
    return {
      variant: v.label,
      runs: v.seeds.length,
      'train acc % (eval mode)': cell('trainAccuracy', v),
      'verification, training ids %': cell('heldOutAccuracy', v),
      'verification, test ids %': cell('verificationAccuracy', v),
      'gap (pts)': cell('gap', v),
      'Δ gap vs baseline (pts) [95% CI]': d === null ? '' : [(100 * d.meanDiff).toFixed(2), ciText(d)].filter(Boolean).join(' '),
    };
  }));
}

/** The summary's per-variant statistics of `metric` in the shape of the report's bar figure (`variantBarsFigure`). */
export function variantStats(s: ExperimentSummary, metric: MetricKey = 'verificationAccuracy'): ReportStat[] {
  return s.variants.flatMap((v) => {
    const st = v.metrics[metric];
    return st ? [{ variant: v.variant, label: v.label, metric, metricLabel: metricLabel(metric), mean: st.mean, ciLow: st.ciLow, ciHigh: st.ciHigh, n: st.n }] : [];
  });
}
