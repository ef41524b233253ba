/**
 * Views of an experiment summary: Markdown, CSV and LaTeX (booktabs) tables, and the self-contained HTML report
 * with its plots. Everything here is derived from summary.json plus the run folders; nothing is computed that
 * is not in the data.
 */
import * as fs from 'fs';
import * as path from 'path';
import { writeFileAtomic, writeJsonAtomic } from '../util/atomic';
import { fromRecords, tableToCsv, tableToHtml, tableToMarkdown, toDataFrame, TableCell, TableData } from '../report/table';
import { escapeLatex, tableToLatex } from '../report/latex';
import { writeReportHtml } from '../report/html-report';
import type { ExperimentReportData, ReportRun, ReportStat, ReportStep } from '../report/report-data';
import type { RunArtifacts } from '../train/artifacts';
import type { RunResult, StepRecord } from '../train';
import type { SampleSummary } from '../stats';
import type { ReplicateValue, ResolvedExperiment } from './spec';
import type { RunStore } from './store';
import { ExperimentSummary, MetricKey, PairedComparison, TABLE_METRICS } from './summary';

/** Header of the spread column of the main table (experiments with replicates): `spread over <label> %`. */
export function spreadColumn(s: ExperimentSummary): string | null {
  return s.replicates ? `spread over ${s.replicates.label} %` : null;
}

/** `seed 0`, or with a replicate `seed 0, partition 3` (`label value`). */
function unitText(s: ExperimentSummary, seed: number, replicate?: ReplicateValue): string {
  return replicate === undefined || !s.replicates ? `seed ${seed}` : `seed ${seed}, ${s.replicates.label} ${String(replicate)}`;
}

/** What the statistics are over: `seeds`, or `(seed, partition) runs` with replicates. */
function unitsText(s: ExperimentSummary): string {
  return s.replicates ? `(seed, ${s.replicates.label}) runs` : 'seeds';
}

const pct = (v: number): string => (100 * v).toFixed(2);
const signed = (v: number): string => `${v >= 0 ? '+' : '−'}${Math.abs(100 * v).toFixed(2)}`;
const pval = (p: number | null): string => (p === null ? '' : p < 0.001 ? '<0.001' : p.toFixed(3));

function meanStdCell(s: SampleSummary | null): string {
  if (!s) return 'n/a';
  return s.std === null ? pct(s.mean) : `${pct(s.mean)} ± ${pct(s.std)}`;
}

function ciCell(s: { ciLow: number | null; ciHigh: number | null } | null, fmt: (v: number) => string = pct): string {
  return s && s.ciLow !== null && s.ciHigh !== null ? `[${fmt(s.ciLow)}, ${fmt(s.ciHigh)}]` : '';
}

function diffCell(d: PairedComparison | null): string {
  if (!d) return '';
  return d.pT === null ? signed(d.meanDiff) : `${signed(d.meanDiff)} (p ${pval(d.pT)})`;
}

/**
 * Main table: per variant mean ± sample std over seeds (percent), the 95% interval of verification accuracy. With
 * replicates the count column is `runs` (finished (seed, replicate) units, over which mean, std and interval are
 * taken) and a column `spread over <label> %` gives the sample std of the per-replicate means of verification
 * accuracy.
 */
export function mainTable(s: ExperimentSummary): TableData {
  const spreadCol = spreadColumn(s);
  const records = s.variants.map((v) => {
    const rec: Record<string, TableCell> = {
      variant: v.label,
      [spreadCol ? 'runs' : 'seeds']: `${v.seeds.length}${v.failed ? ` (+${v.failed} failed)` : ''}${v.missing ? ` (${v.missing} missing)` : ''}`,
      'verification acc %': meanStdCell(v.metrics.verificationAccuracy),
      '95% CI': ciCell(v.metrics.verificationAccuracy),
    };
    if (spreadCol) {
      const sp = v.replicateSpread?.verificationAccuracy ?? null;
      rec[spreadCol] = sp && sp.std !== null ? pct(sp.std) : 'n/a';
    }
    for (const m of TABLE_METRICS.slice(1)) rec[m.key === 'gap' ? 'gap (pts)' : `${m.label} %`] = meanStdCell(v.metrics[m.key]);
    rec['fold std %'] = v.foldStd === null ? 'n/a' : pct(v.foldStd);
    rec['img/s'] = v.imgPerSec === null ? 'n/a' : v.imgPerSec.toFixed(0);
    return rec;
  });
  return fromRecords(records);
}

/** Paired table: difference to the baseline on shared seeds, or (seed, replicate) units (percentage points), interval, p-values. */
export function pairedTable(s: ExperimentSummary): TableData {
  const records = s.variants.filter((v) => v.vsBaseline).map((v) => {
    const vs = v.vsBaseline as Record<MetricKey, PairedComparison | null>;
    const d = vs.verificationAccuracy;
    return {
      variant: v.label,
      pairs: d?.n ?? 0,
      'Δ verification acc (pts)': d ? signed(d.meanDiff) : 'n/a',
      '95% CI': ciCell(d, signed),
      'p (paired t)': pval(d?.pT ?? null),
      'p (sign-flip, exact)': pval(d?.pPermutation ?? null),
      'Δ TAR@FAR=1e-3': diffCell(vs.tarAtFar1e3),
      'Δ rank-1': diffCell(vs.rank1),
      'Δ DIR@FPIR=1e-2': diffCell(vs.dirAtFpir1e2),
      'Δ gap': diffCell(vs.gap),
    };
  });
  return fromRecords(records);
}

/**
 * Where the regulariser's signal goes (issue 15): per variant with CoReFace runs, the means over its finished runs of
 * the final epoch's contrastive loss L_con(x1 -> x2), the weighted term's share of the total loss, the final
 * contrastive margin, and beside them the training accuracy and the gap. `null` when no run has a contrastive term.
 */
export function signalTable(s: ExperimentSummary): TableData | null {
  const avg = (xs: (number | null)[]): number | null => {
    const v = xs.filter((x): x is number => x !== null && Number.isFinite(x));
    return v.length ? v.reduce((a, b) => a + b, 0) / v.length : null;
  };
  const records = s.variants.map((v) => {
    const runs = s.runs.filter((r) => r.variant === v.variant);
    const con = avg(runs.map((r) => r.contrastiveLoss));
    if (con === null) return null;
    const share = avg(runs.map((r) => r.contrastiveShare));
    const margin = avg(runs.map((r) => r.margin));
    const gap = avg(runs.map((r) => r.gap));
    const train = avg(runs.map((r) => r.trainAccuracy));
    return {
      variant: v.label,
      runs: runs.length,
      'L_con (final epoch)': con.toFixed(3),
      'wC·L_con / total loss %': share === null ? 'n/a' : pct(share),
      'margin (end)': margin === null ? 'n/a' : margin.toFixed(3),
      'train acc %': train === null ? 'n/a' : pct(train),
      'gap (pts)': gap === null ? 'n/a' : pct(gap),
    };
  }).filter((r): r is NonNullable<typeof r> => r !== null);
  return records.length ? fromRecords(records) : null;
}

/**
 * Numeric per-variant table for CSV (fractions, full precision), built as a danfojs DataFrame. With replicates the
 * count column is `runs` (finished units), `replicates` counts the replicate values with a finished run, and each
 * metric has `<metric>_replicate_std` (sample std of the per-replicate means).
 */
export function numericTable(s: ExperimentSummary): ReturnType<typeof toDataFrame> {
  const reps = s.replicates;
  const records = s.variants.map((v) => {
    const rec: Record<string, TableCell> = reps
      ? { variant: v.variant, label: v.label, runs: v.seeds.length, replicates: v.replicateSpread?.verificationAccuracy?.n ?? 0, failed: v.failed, missing: v.missing }
      : { variant: v.variant, label: v.label, seeds: v.seeds.length, failed: v.failed, missing: v.missing };
    for (const { key } of TABLE_METRICS) {
      const m = v.metrics[key];
      const d = v.vsBaseline?.[key] ?? null;
      Object.assign(rec, {
        [`${key}_mean`]: m?.mean ?? null, [`${key}_std`]: m?.std ?? null, [`${key}_ci_low`]: m?.ciLow ?? null, [`${key}_ci_high`]: m?.ciHigh ?? null,
        ...(reps ? { [`${key}_replicate_std`]: v.replicateSpread?.[key]?.std ?? null } : {}),
        [`${key}_diff`]: d?.meanDiff ?? null, [`${key}_diff_ci_low`]: d?.ciLow ?? null, [`${key}_diff_ci_high`]: d?.ciHigh ?? null,
        [`${key}_p_t`]: d?.pT ?? null, [`${key}_p_perm`]: d?.pPermutation ?? null,
      });
    }
    rec.fold_std = v.foldStd;
    rec.img_per_sec = v.imgPerSec;
    return rec;
  });
  return toDataFrame(fromRecords(records));
}

/** One line per finished run; with replicates, a column named by the replicate path (e.g. `dataset.options.partition`) after `seed`. */
export function runsTable(s: ExperimentSummary): TableData {
  const reps = s.replicates;
  if (!reps) return fromRecords(s.runs as unknown as Record<string, unknown>[]);
  return fromRecords(s.runs.map((r) => {
    const rec: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(r)) {
      if (k === 'replicate') continue;
      rec[k] = v;
      if (k === 'seed') rec[reps.path] = r.replicate ?? null;
    }
    return rec;
  }));
}

function readSteps(dir: string, max = 300): ReportStep[] {
  const file = path.join(dir, 'metrics.jsonl');
  if (!fs.existsSync(file)) return [];
  const steps: ReportStep[] = [];
  for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
    if (!line.startsWith('{"type":"step"')) continue;
    try {
      const r = JSON.parse(line) as StepRecord;
      steps.push({ globalStep: r.globalStep, loss: r.loss, margin: r.margin, terms: r.terms });
    } catch {
      // a torn last line of an interrupted run
    }
  }
  const stride = Math.max(1, Math.ceil(steps.length / max));
  return steps.filter((_, i) => i % stride === 0);
}

function readArtifacts(dir: string): RunArtifacts | null {
  try {
    return JSON.parse(fs.readFileSync(path.join(dir, 'artifacts.json'), 'utf8')) as RunArtifacts;
  } catch {
    return null;
  }
}

/** The report's data: the summary plus per-run curves, scores and projections from the run folders. */
export function reportData(exp: ResolvedExperiment, s: ExperimentSummary, store: RunStore, tables: { title: string; html: string; note?: string }[]): ExperimentReportData {
  const runs: ReportRun[] = s.runs.map((row) => {
    const dir = store.dir(row.key);
    const result = JSON.parse(fs.readFileSync(path.join(dir, 'result.json'), 'utf8')) as Pick<RunResult, 'epochs'>;
    const art = readArtifacts(dir);
    const run: ReportRun = {
      variant: row.variant,
      seed: row.seed,
      ...(row.replicate === undefined ? {} : { replicate: row.replicate }),
      epochs: result.epochs.map((e) => ({
        epoch: e.epoch, lr: e.lr, meanLoss: e.meanLoss, meanAccuracy: e.meanAccuracy, verificationAccuracy: e.eval?.verification.accuracy,
        ...(e.fit ? { trainAccuracy: e.fit.trainAccuracy, ...(e.fit.heldOut ? { heldOutAccuracy: e.fit.heldOut.accuracy } : {}) } : {}),
      })),
      steps: readSteps(dir),
    };
    if (art) {
      run.scores = art.scores;
      if (art.projection) run.projection = art.projection;
    }
    return run;
  });
  const stats: ReportStat[] = [];
  for (const v of s.variants) {
    for (const m of TABLE_METRICS) {
      const st = v.metrics[m.key];
      if (st) stats.push({ variant: v.variant, label: v.label, metric: m.key, metricLabel: m.label, mean: st.mean, ciLow: st.ciLow, ciHigh: st.ciHigh, n: st.n });
    }
  }
  return {
    title: `Experiment ${exp.name}`,
    description: exp.description,
    generatedAt: s.generatedAt,
    backend: s.backends.join(', ') || 'n/a',
    seeds: s.seeds,
    ...(s.replicates ? { replicates: { path: s.replicates.path, label: s.replicates.label, values: [...s.replicates.values] } } : {}),
    config: exp.spec,
    variants: s.variants.map((v) => ({ name: v.variant, label: v.label, description: v.description })),
    tables,
    stats,
    runs,
    failed: s.failed.map((f) => ({ id: f.key, variant: f.variant, seed: f.seed, ...(f.replicate === undefined ? {} : { replicate: f.replicate }), error: f.error })),
  };
}

/** The files `writeViews` wrote. */
export interface ViewFiles {
  summary: string;
  markdown: string;
  csv: string;
  runsCsv: string;
  latex: string;
  report: string | null;
}

/**
 * Markdown of both tables with the notes a reader needs (seeds, replicates, backend, statistics used, failures,
 * and the summary's `notes`, e.g. the wall time of the last `ablate`). A function of the summary alone, so a
 * committed summary.json rebuilds its table.md byte for byte ({@link writeTableViews}).
 */
export function markdownReport(s: ExperimentSummary, extra: string[] = []): string {
  const baseline = s.variants.find((v) => v.variant === s.baseline)?.label ?? s.baseline;
  const r = s.replicates;
  const header = r
    ? `Seeds ${s.seeds.join(', ')} x ${r.label} ${r.values.map(String).join(', ')} (\`${r.path}\`); backend ${s.backends.join(', ') || 'n/a'}; ` +
      `mean ± sample std over all (seed, ${r.label}) runs of a variant, 95% Student-t interval; ` +
      `spread over ${r.label}: sample std of the per-${r.label} means of verification accuracy.`
    : `Seeds ${s.seeds.join(', ')}; backend ${s.backends.join(', ') || 'n/a'}; mean ± sample std over seeds, 95% Student-t interval.`;
  const paired = r
    ? `Paired against **${baseline}** on the (seed, ${r.label}) runs both finished (differences in percentage points; paired t-test and exact sign-flip permutation test, two-sided; with n pairs the permutation p cannot go below 2/2^n, and it is not computed above 20 pairs).`
    : `Paired against **${baseline}** on the seeds both finished (differences in percentage points; paired t-test and exact sign-flip permutation test, two-sided; with n seeds the permutation p cannot go below 2/2^n).`;
  return [
    `# ${s.experiment}`,
    '',
    s.description ? `${s.description}.` : '',
    header,
    ...(s.notes ?? []),
    ...extra,
    '',
    tableToMarkdown(mainTable(s)),
    paired,
    '',
    tableToMarkdown(pairedTable(s)),
    ...signalSection(s),
    ...s.variants.map((v) => `- **${v.label}** (\`${v.variant}\`): ${v.description}`),
    ...(s.failed.length ? ['', `Failed runs: ${s.failed.map((f) => `${f.variant} ${unitText(s, f.seed, f.replicate)} (${f.error})`).join('; ')}`] : []),
    ...(s.missing.length ? ['', `Not finished: ${s.missing.map((m) => `${m.variant} ${unitText(s, m.seed, m.replicate)} (${m.status})`).join('; ')}`] : []),
    '',
  ].join('\n');
}

function signalSection(s: ExperimentSummary): string[] {
  const t = signalTable(s);
  if (!t) return [];
  return ['Where the regulariser\'s signal goes (means over the finished runs; the final epoch\'s contrastive loss, the weighted term\'s share of the total loss, the margin at the end, next to the fit):', '', tableToMarkdown(t)];
}

/**
 * table.tex of a summary: the main table and (when there is a baseline to pair with) the paired table, booktabs, with
 * captions and labels `tab:<experiment>` and `tab:<experiment>-paired`. A function of the summary alone.
 */
export function latexTables(s: ExperimentSummary): string {
  const main = mainTable(s);
  const paired = pairedTable(s);
  // Label columns left, the number columns right; captions are raw LaTeX, so the name is escaped.
  const align = (t: TableData): string => t.columns.map((c) => (c === 'variant' || c === 'seeds' || c === 'runs' ? 'l' : 'r')).join('');
  const name = escapeLatex(s.experiment);
  const over = s.replicates
    ? `all (seed, ${escapeLatex(s.replicates.label)}) runs, seeds ${s.seeds.join(', ')} x ${escapeLatex(s.replicates.label)} ${escapeLatex(s.replicates.values.map(String).join(', '))}`
    : `seeds ${s.seeds.join(', ')}`;
  return [
    tableToLatex(main, { caption: `${name}: mean $\\pm$ sample std over ${over} (percent).`, label: `tab:${s.experiment}`, align: align(main) }),
    // an experiment of the baseline alone has no paired rows
    ...(paired.columns.length ? [tableToLatex(paired, { caption: `${name}: paired differences against the baseline (percentage points).`, label: `tab:${s.experiment}-paired`, align: align(paired) })] : []),
  ].join('\n');
}

/**
 * Writes the table views of a summary into `dir`: table.md, table.csv (numeric, per variant), runs.csv and
 * table.tex (booktabs). They depend on the summary alone, so `coreface collect --summary FILE` rebuilds them from a
 * committed summary.json (docs/results/<experiment>/) without the run store. Returns the paths (report: null).
 */
export function writeTableViews(dir: string, s: ExperimentSummary): ViewFiles {
  fs.mkdirSync(dir, { recursive: true });
  const files: ViewFiles = {
    summary: path.join(dir, 'summary.json'),
    markdown: path.join(dir, 'table.md'),
    csv: path.join(dir, 'table.csv'),
    runsCsv: path.join(dir, 'runs.csv'),
    latex: path.join(dir, 'table.tex'),
    report: null,
  };
  writeFileAtomic(files.markdown, markdownReport(s));
  writeFileAtomic(files.csv, tableToCsv(numericTable(s)));
  writeFileAtomic(files.runsCsv, tableToCsv(runsTable(s)));
  writeFileAtomic(files.latex, latexTables(s));
  return files;
}

/**
 * Writes summary.json (with `extraNotes` kept in it as `notes`), the table views ({@link writeTableViews}) and, when
 * `report` (default true), report.html into `dir`. Returns the paths.
 */
export function writeViews(dir: string, exp: ResolvedExperiment, summary: ExperimentSummary, store: RunStore, opts: { report?: boolean; extraNotes?: string[] } = {}): ViewFiles {
  const s: ExperimentSummary = opts.extraNotes?.length ? { ...summary, notes: [...(summary.notes ?? []), ...opts.extraNotes] } : summary;
  fs.mkdirSync(dir, { recursive: true });
  writeJsonAtomic(path.join(dir, 'summary.json'), s);
  const files = writeTableViews(dir, s);
  const main = mainTable(s);
  const paired = pairedTable(s);
  if (opts.report ?? true) {
    const data = reportData(exp, s, store, [
      { title: `Per variant (mean ± std over ${unitsText(s)})`, html: tableToHtml(main) },
      { title: 'Paired differences against the baseline', html: tableToHtml(paired), note: 'percentage points; p-values two-sided' },
    ]);
    files.report = writeReportHtml(path.join(dir, 'report.html'), data).file;
  }
  return files;
}
