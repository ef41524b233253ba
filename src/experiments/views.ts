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
import type { StepRecord } from '../train';
import type { SampleSummary } from '../stats';
import type { ResolvedExperiment } from './spec';
import type { RunStore } from './store';
import { ExperimentSummary, MetricKey, PairedComparison, TABLE_METRICS } from './summary';

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

/** Main table: per variant mean ± sample std over seeds (percent), the 95% interval of verification accuracy. */
export function mainTable(s: ExperimentSummary): TableData {
  const records = s.variants.map((v) => {
    const rec: Record<string, TableCell> = {
      variant: v.label,
      seeds: `${v.seeds.length}${v.failed ? ` (+${v.failed} failed)` : ''}${v.missing ? ` (${v.missing} missing)` : ''}`,
      'verification acc %': meanStdCell(v.metrics.verificationAccuracy),
      '95% CI': ciCell(v.metrics.verificationAccuracy),
    };
    for (const m of TABLE_METRICS.slice(1)) rec[`${m.label} %`] = meanStdCell(v.metrics[m.key]);
    rec['fold std %'] = v.foldStd === null ? 'n/a' : pct(v.foldStd);
    rec['img/s'] = v.imgPerSec === null ? 'n/a' : v.imgPerSec.toFixed(0);
    return rec;
  });
  return fromRecords(records);
}

/** Paired table: difference to the baseline on shared seeds (percentage points), interval, p-values. */
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
    };
  });
  return fromRecords(records);
}

/** Numeric per-variant table for CSV (fractions, full precision), built as a danfojs DataFrame. */
export function numericTable(s: ExperimentSummary): ReturnType<typeof toDataFrame> {
  const records = s.variants.map((v) => {
    const rec: Record<string, TableCell> = { variant: v.variant, label: v.label, seeds: v.seeds.length, failed: v.failed, missing: v.missing };
    for (const { key } of TABLE_METRICS) {
      const m = v.metrics[key];
      const d = v.vsBaseline?.[key] ?? null;
      Object.assign(rec, {
        [`${key}_mean`]: m?.mean ?? null, [`${key}_std`]: m?.std ?? null, [`${key}_ci_low`]: m?.ciLow ?? null, [`${key}_ci_high`]: m?.ciHigh ?? null,
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

/** One line per finished run. */
export function runsTable(s: ExperimentSummary): TableData {
  return fromRecords(s.runs as unknown as Record<string, unknown>[]);
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
    const result = JSON.parse(fs.readFileSync(path.join(dir, 'result.json'), 'utf8')) as { epochs: { epoch: number; lr: number; meanLoss: number; meanAccuracy: number; eval?: { verification: { accuracy: number } } }[] };
    const art = readArtifacts(dir);
    const run: ReportRun = {
      variant: row.variant,
      seed: row.seed,
      epochs: result.epochs.map((e) => ({ epoch: e.epoch, lr: e.lr, meanLoss: e.meanLoss, meanAccuracy: e.meanAccuracy, verificationAccuracy: e.eval?.verification.accuracy })),
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
    config: exp.spec,
    variants: s.variants.map((v) => ({ name: v.variant, label: v.label, description: v.description })),
    tables,
    stats,
    runs,
    failed: s.failed.map((f) => ({ id: f.key, variant: f.variant, seed: f.seed, error: f.error })),
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

/** Markdown of both tables with the notes a reader needs (seeds, backend, statistics used, failures). */
export function markdownReport(exp: ResolvedExperiment, s: ExperimentSummary, extra: string[] = []): string {
  const baseline = exp.variants.find((v) => v.name === exp.baseline)?.label ?? exp.baseline;
  return [
    `# ${exp.name}`,
    '',
    exp.description ? `${exp.description}.` : '',
    `Seeds ${s.seeds.join(', ')}; backend ${s.backends.join(', ') || 'n/a'}; mean ± sample std over seeds, 95% Student-t interval.`,
    ...extra,
    '',
    tableToMarkdown(mainTable(s)),
    `Paired against **${baseline}** on the seeds both finished (differences in percentage points; paired t-test and exact sign-flip permutation test, two-sided; with n seeds the permutation p cannot go below 2/2^n).`,
    '',
    tableToMarkdown(pairedTable(s)),
    ...s.variants.map((v) => `- **${v.label}** (\`${v.variant}\`): ${v.description}`),
    ...(s.failed.length ? ['', `Failed runs: ${s.failed.map((f) => `${f.variant} seed ${f.seed} (${f.error})`).join('; ')}`] : []),
    ...(s.missing.length ? ['', `Not finished: ${s.missing.map((m) => `${m.variant} seed ${m.seed} (${m.status})`).join('; ')}`] : []),
    '',
  ].join('\n');
}

/**
 * Writes summary.json, table.md, table.csv (numeric, per variant), runs.csv, table.tex (booktabs) and, when
 * `report` (default true), report.html into `dir`. Returns the paths.
 */
export function writeViews(dir: string, exp: ResolvedExperiment, s: ExperimentSummary, store: RunStore, opts: { report?: boolean; extraNotes?: string[] } = {}): ViewFiles {
  fs.mkdirSync(dir, { recursive: true });
  const files: ViewFiles = {
    summary: path.join(dir, 'summary.json'),
    markdown: path.join(dir, 'table.md'),
    csv: path.join(dir, 'table.csv'),
    runsCsv: path.join(dir, 'runs.csv'),
    latex: path.join(dir, 'table.tex'),
    report: null,
  };
  writeJsonAtomic(files.summary, s);
  writeFileAtomic(files.markdown, markdownReport(exp, s, opts.extraNotes));
  writeFileAtomic(files.csv, tableToCsv(numericTable(s)));
  writeFileAtomic(files.runsCsv, tableToCsv(runsTable(s)));
  const main = mainTable(s);
  const paired = pairedTable(s);
  // Label columns left, the number columns right; captions are raw LaTeX, so the name is escaped.
  const align = (t: TableData): string => t.columns.map((c) => (c === 'variant' || c === 'seeds' ? 'l' : 'r')).join('');
  const name = escapeLatex(exp.name);
  writeFileAtomic(
    files.latex,
    [
      tableToLatex(main, { caption: `${name}: mean $\\pm$ sample std over seeds ${s.seeds.join(', ')} (percent).`, label: `tab:${exp.name}`, align: align(main) }),
      tableToLatex(paired, { caption: `${name}: paired differences against the baseline (percentage points).`, label: `tab:${exp.name}-paired`, align: align(paired) }),
    ].join('\n'),
  );
  if (opts.report ?? true) {
    const data = reportData(exp, s, store, [
      { title: 'Per variant (mean ± std over seeds)', html: tableToHtml(main) },
      { title: 'Paired differences against the baseline', html: tableToHtml(paired), note: 'percentage points; p-values two-sided' },
    ]);
    files.report = writeReportHtml(path.join(dir, 'report.html'), data).file;
  }
  return files;
}
