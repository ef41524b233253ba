import type { GridOutcome } from './runner';
import type { RunResult } from '../train';
import { meanStd } from '../report/table';

/** The per-run metrics that go into tables (fractions in [0, 1]; null where not defined). */
export interface RunRow {
  method: string;
  seed: number;
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

/** Mean, sample std (n - 1) and count of a metric over seeds. */
export interface Stat {
  mean: number;
  std: number;
  n: number;
}

/** One method aggregated over its seeds. */
export interface MethodSummary {
  method: string;
  label: string;
  seeds: number[];
  failed: number;
  metrics: Record<'verificationAccuracy' | 'tarAtFar1e3' | 'rank1' | 'dirAtFpir1e2' | 'auc' | 'eer' | 'imgPerSec', Stat>;
}

/** Extracts the table metrics of one run. */
export function runRow(method: string, r: RunResult): RunRow {
  const f = r.final;
  return {
    method,
    seed: r.seed,
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

/** Aggregates grid outcomes per method (in the given method order). */
export function summarize(outcomes: GridOutcome[], methods: { name: string; label: string }[]): { rows: RunRow[]; methods: MethodSummary[] } {
  const rows: RunRow[] = [];
  for (const o of outcomes) if (o.status === 'done') rows.push(runRow(o.method, o.result));
  const summaries = methods.map((m) => {
    const mine = rows.filter((r) => r.method === m.name);
    const stat = (f: (r: RunRow) => number | null): Stat =>
      meanStd(mine.map(f).filter((v): v is number => v !== null && Number.isFinite(v)));
    return {
      method: m.name,
      label: m.label,
      seeds: mine.map((r) => r.seed),
      failed: outcomes.filter((o) => o.method === m.name && o.status === 'failed').length,
      metrics: {
        verificationAccuracy: stat((r) => r.verificationAccuracy),
        tarAtFar1e3: stat((r) => r.tarAtFar1e3),
        rank1: stat((r) => r.rank1),
        dirAtFpir1e2: stat((r) => r.dirAtFpir1e2),
        auc: stat((r) => r.auc),
        eer: stat((r) => r.eer),
        imgPerSec: stat((r) => r.imgPerSec),
      },
    };
  });
  return { rows, methods: summaries };
}

function pct(s: Stat): string {
  if (s.n === 0 || !Number.isFinite(s.mean)) return 'n/a';
  return s.n > 1 ? `${(100 * s.mean).toFixed(2)} ± ${(100 * s.std).toFixed(2)}` : `${(100 * s.mean).toFixed(2)}`;
}

/** Markdown table: mean ± sample std over seeds, in percent. */
export function markdownTable(summaries: MethodSummary[]): string {
  const head = '| method | seeds | verification acc % | TAR@FAR=1e-3 % | rank-1 % | DIR@FPIR=1e-2 % | AUC % | EER % | train img/s |';
  const sep = '|---|---|---|---|---|---|---|---|---|';
  const lines = summaries.map((s) => {
    const m = s.metrics;
    const seeds = `${s.seeds.length}${s.failed ? ` (+${s.failed} failed)` : ''}`;
    const speed = m.imgPerSec.n ? m.imgPerSec.mean.toFixed(0) : 'n/a';
    return `| ${s.label} | ${seeds} | ${pct(m.verificationAccuracy)} | ${pct(m.tarAtFar1e3)} | ${pct(m.rank1)} | ${pct(m.dirAtFpir1e2)} | ${pct(m.auc)} | ${pct(m.eer)} | ${speed} |`;
  });
  return [head, sep, ...lines].join('\n');
}

/** CSV of the per-run rows (one line per run). */
export function runsCsv(rows: RunRow[]): string {
  const cols: (keyof RunRow)[] = ['method', 'seed', 'verificationAccuracy', 'verificationFoldStd', 'tarAtFar1e3', 'auc', 'eer', 'rank1', 'dirAtFpir1e2', 'imgPerSec', 'trainSeconds', 'backend'];
  const cell = (v: unknown): string => (v === null || v === undefined ? '' : String(v));
  return [cols.join(','), ...rows.map((r) => cols.map((c) => cell(r[c])).join(','))].join('\n') + '\n';
}
