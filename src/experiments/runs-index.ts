/**
 * The results index: every run folder of a store (`<results>/runs/<key>/`) as one row a researcher can filter,
 * compare and export (`coreface runs`), in the habit of DVC's `exp show` / `exp diff` and MLflow's run compare.
 *
 * A row holds the run's status (as {@link RunStore.status} decides it), the experiments that plan it (the
 * registered built-ins plus any experiment files given), its variant and seed there, its key metrics, wall time,
 * backend and code version. Which experiment plans which run is found by planning the experiments (`planRuns`, so
 * `runKey`), never by recomputing keys here: the key formula may change without this module knowing.
 */
import * as fs from 'fs';
import * as path from 'path';
import type { TrainConfig } from '../config';
import type { RunResult } from '../train';
import { formatDuration } from '../util/progress';
import { fromRecords, tableToCsv, TableCell, TableData } from '../report/table';
import { listExperiments, getExperiment } from './registry';
import { planRuns, ReplicateValue, ResolvedExperiment } from './spec';
import { RunStatus, RunStore } from './store';
import { backendLabel } from './summary';

/** Where a run appears in an experiment's plan. */
export interface RunReference {
  experiment: string;
  variant: string;
  seed: number;
  replicate?: ReplicateValue;
}

/** Key metrics of a finished run (fractions in [0, 1]; null where the evaluation has no value). */
export interface RunIndexMetrics {
  verificationAccuracy: number | null;
  /** TAR at FAR = 1e-3. */
  tarAtFar1e3: number | null;
  rank1: number | null;
  /** Numeric `gap` fields of result.json (top level or under `final`), flattened: `gap`, `gap.<path>`. */
  gap: Record<string, number>;
}

/** One run folder of the store. */
export interface RunIndexEntry {
  key: string;
  dir: string;
  status: RunStatus;
  /** The experiments (and variant, seed) that plan this run; empty when none does. */
  refs: RunReference[];
  /** The run's resolved config (result.json, else config.json, else input-config.json); null if none parses. */
  config: TrainConfig | null;
  /** Seed of the run (from its config; null without one). */
  seed: number | null;
  metrics: RunIndexMetrics | null;
  /** Wall seconds of the training process that finished it (result.json `wallSeconds`). */
  wallSeconds: number | null;
  /** Backend label as the tables show it, e.g. `wasm + native (1 thread)`. */
  backend: string | null;
  /** Code version that produced the result (result.json `versions['coreface-lab']`). */
  codeVersion: string | null;
  /** The failure message of a failed run. */
  error: string | null;
}

/** Options of {@link buildRunsIndex}. */
export interface RunsIndexOptions {
  /** Experiments whose plans name runs (default: every registered experiment). */
  experiments?: ResolvedExperiment[];
}

function readJson(file: string): unknown {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch {
    return null;
  }
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function finiteOrNull(v: unknown): number | null {
  return typeof v === 'number' && Number.isFinite(v) ? v : null;
}

/** Numeric leaves of a `gap` value: a number is `gap`, an object `{a: {b: 1}}` gives `gap.a.b`. */
function gapFields(v: unknown, prefix = 'gap', out: Record<string, number> = {}): Record<string, number> {
  if (typeof v === 'number' && Number.isFinite(v)) out[prefix] = v;
  else if (isObject(v)) for (const [k, x] of Object.entries(v)) gapFields(x, `${prefix}.${k}`, out);
  return out;
}

/** Every registered experiment, resolved. */
export function registeredExperiments(): ResolvedExperiment[] {
  return listExperiments().map((e) => getExperiment(e.name));
}

/**
 * key -> where each experiment plans it. Experiments are planned at their own seeds and at every seed in
 * `extraSeeds` (the seeds found in the store), so runs of `ablate --seeds N` beyond an experiment's default seeds
 * still count as its runs.
 */
export function experimentReferences(experiments: ResolvedExperiment[], extraSeeds: number[] = []): Map<string, RunReference[]> {
  const refs = new Map<string, RunReference[]>();
  for (const exp of experiments) {
    const seeds = [...new Set([...exp.seeds, ...extraSeeds])].sort((a, b) => a - b);
    for (const run of planRuns(exp, { seeds })) {
      const list = refs.get(run.key) ?? [];
      list.push({ experiment: exp.name, variant: run.variant, seed: run.seed, ...(run.replicate === undefined ? {} : { replicate: run.replicate }) });
      refs.set(run.key, list);
    }
  }
  return refs;
}

/** The run folders of a store (names under `<root>/runs/`), sorted. */
export function storeKeys(store: RunStore): string[] {
  const dir = path.join(store.root, 'runs');
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir, { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => d.name).sort();
}

/** The config a run folder holds: result.json's, else config.json, else input-config.json (null if none). */
function runConfig(dir: string, result: unknown): TrainConfig | null {
  if (isObject(result) && isObject(result.config)) return result.config as unknown as TrainConfig;
  for (const f of ['config.json', 'input-config.json']) {
    const c = readJson(path.join(dir, f));
    if (isObject(c)) return c as unknown as TrainConfig;
  }
  return null;
}

/**
 * Reads every run folder of the store into index entries (sorted by experiment, variant, seed, then key; runs no
 * experiment plans come last). A folder whose files do not parse is listed with what could be read.
 */
export function buildRunsIndex(store: RunStore, opts: RunsIndexOptions = {}): RunIndexEntry[] {
  const experiments = opts.experiments ?? registeredExperiments();
  const raw = storeKeys(store).map((key) => {
    const dir = store.dir(key);
    const result = readJson(path.join(dir, 'result.json'));
    const config = runConfig(dir, result);
    return { key, dir, result, config };
  });
  const seeds = [...new Set(raw.map((r) => r.config?.seed).filter((s): s is number => Number.isInteger(s)))];
  const refs = experimentReferences(experiments, seeds);
  const entries = raw.map(({ key, dir, result, config }): RunIndexEntry => {
    const status: RunStatus = config ? store.status(key, config) : store.liveLock(key) ? 'running' : store.failure(key) ? 'failed' : fs.existsSync(path.join(dir, 'checkpoint.ckpt')) ? 'partial' : 'missing';
    const done = status === 'done' && isObject(result) ? (result as unknown as RunResult) : null;
    const final = done?.final;
    // the train-minus-test gap of the fit measurements (result.fit.gap, 0.2.0 on); older layouts checked too
    const gapSource = isObject(result) ? ((isObject(result.fit) ? result.fit.gap : undefined) ?? result.gap ?? (isObject(result.final) ? result.final.gap : undefined)) : undefined;
    return {
      key,
      dir,
      status,
      refs: refs.get(key) ?? [],
      config,
      seed: config && Number.isInteger(config.seed) ? config.seed : null,
      metrics: done ? {
        verificationAccuracy: finiteOrNull(final?.verification?.accuracy),
        tarAtFar1e3: finiteOrNull(final?.verification?.tarAtFar?.['1e-3']),
        rank1: finiteOrNull(final?.identification?.rank1),
        gap: gapFields(gapSource),
      } : null,
      wallSeconds: done ? finiteOrNull(done.wallSeconds) : null,
      backend: done ? backendLabel(done) : null,
      codeVersion: done && isObject(done.versions) && typeof done.versions['coreface-lab'] === 'string' ? done.versions['coreface-lab'] : null,
      error: status === 'failed' ? store.failure(key)?.error ?? null : null,
    };
  });
  const sortKey = (e: RunIndexEntry): string => {
    const r = e.refs[0];
    return r ? `0 ${r.experiment} ${r.variant} ${String(r.seed).padStart(6, '0')} ${r.replicate ?? ''} ${e.key}` : `1 ${e.key}`;
  };
  return entries.sort((a, b) => (sortKey(a) < sortKey(b) ? -1 : sortKey(a) > sortKey(b) ? 1 : 0));
}

// ---- filters -------------------------------------------------------------------------------------------------

/** Index columns a `--where` can name besides config paths. */
export const WHERE_FIELDS = ['key', 'experiment', 'variant', 'status', 'backend', 'code'] as const;

/** One `--where` condition: a dotted config path (or an index field) compared with a value. */
export interface WhereClause {
  path: string;
  op: '=' | '!=';
  value: string;
}

/** Statuses `--status` accepts. */
export const RUN_STATUSES: readonly RunStatus[] = ['done', 'failed', 'running', 'partial', 'missing'];

/** Parses `path=value` or `path!=value` (e.g. `head.name=arcface`, `coreface.enabled!=true`). */
export function parseWhere(text: string): WhereClause {
  const m = /^\s*([A-Za-z_][A-Za-z0-9_-]*(?:\.[A-Za-z0-9_-]+)*)\s*(!=|=)(.*)$/.exec(text);
  if (!m) {
    throw new Error(`--where must be PATH=VALUE or PATH!=VALUE with a dotted config path (e.g. head.name=arcface), got '${text}'`);
  }
  return { path: m[1], op: m[2] as '=' | '!=', value: m[3].trim() };
}

/** The value at a dotted path of an object (undefined when absent). */
export function valueAtPath(obj: unknown, dotted: string): unknown {
  let cur: unknown = obj;
  for (const part of dotted.split('.')) {
    if (!isObject(cur) || !Object.prototype.hasOwnProperty.call(cur, part)) return undefined;
    cur = cur[part];
  }
  return cur;
}

/** Whether a stored value equals the text of a condition: numbers numerically (1e-3 = 0.001), else as text/JSON. */
function valueMatches(v: unknown, text: string): boolean {
  if (v === undefined) return false;
  if (typeof v === 'number') return text !== '' && Number(text) === v;
  if (typeof v === 'string') return v === text;
  if (typeof v === 'boolean' || v === null) return String(v) === text;
  return JSON.stringify(v) === text;
}

function fieldValues(e: RunIndexEntry, field: string): unknown[] {
  switch (field) {
    case 'key': return [e.key];
    case 'experiment': return e.refs.map((r) => r.experiment);
    case 'variant': return e.refs.map((r) => r.variant);
    case 'status': return [e.status];
    case 'backend': return [e.backend];
    case 'code': return [e.codeVersion];
    default: return [valueAtPath(e.config, field)];
  }
}

/**
 * Whether an entry satisfies every clause (ANDed). A path names the run's resolved config unless it is one of
 * {@link WHERE_FIELDS}; `=` on `experiment`/`variant` matches any experiment planning the run. A path the config
 * lacks never equals anything (so `!=` holds).
 */
export function matchesWhere(e: RunIndexEntry, clauses: WhereClause[]): boolean {
  return clauses.every((c) => {
    const hit = fieldValues(e, c.path).some((v) => valueMatches(v, c.value));
    return c.op === '=' ? hit : !hit;
  });
}

/** Filters of {@link filterRuns}. */
export interface RunsFilter {
  where?: WhereClause[];
  status?: RunStatus[];
}

/** The entries that pass every `where` clause and have one of the statuses (default all). */
export function filterRuns(entries: RunIndexEntry[], f: RunsFilter): RunIndexEntry[] {
  return entries.filter((e) => (!f.status || f.status.length === 0 || f.status.includes(e.status)) && matchesWhere(e, f.where ?? []));
}

// ---- views -----------------------------------------------------------------------------------------------------

const pct = (v: number | null | undefined): string => (v === null || v === undefined ? '' : (100 * v).toFixed(2));

function refText(e: RunIndexEntry, pick: (r: RunReference) => string): string {
  return [...new Set(e.refs.map(pick))].join(', ');
}

/** The gap columns of a set of entries (union of their gap fields, sorted). */
function gapColumns(entries: RunIndexEntry[]): string[] {
  return [...new Set(entries.flatMap((e) => Object.keys(e.metrics?.gap ?? {})))].sort();
}

/**
 * The index as a table. `raw` (CSV) keeps fractions and seconds at full precision; otherwise percentages with 2
 * decimals and durations as text. A `gap` column appears only when some result.json has one.
 */
export function runsIndexTable(entries: RunIndexEntry[], opts: { raw?: boolean } = {}): TableData {
  const gaps = gapColumns(entries);
  const raw = opts.raw === true;
  const records = entries.map((e) => {
    const m = e.metrics;
    const rec: Record<string, TableCell> = {
      key: e.key,
      experiment: refText(e, (r) => r.experiment),
      variant: refText(e, (r) => r.variant + (r.replicate === undefined ? '' : ` (${String(r.replicate)})`)),
      seed: e.seed,
      status: e.status,
      [raw ? 'verification_acc' : 'verif acc %']: raw ? m?.verificationAccuracy : pct(m?.verificationAccuracy),
      [raw ? 'tar_at_far_1e-3' : 'TAR@FAR=1e-3 %']: raw ? m?.tarAtFar1e3 : pct(m?.tarAtFar1e3),
      [raw ? 'rank1' : 'rank-1 %']: raw ? m?.rank1 : pct(m?.rank1),
    };
    for (const g of gaps) {
      const v = m?.gap[g];
      // the gap is a difference of accuracies: percentage points in the text table, a fraction in CSV / JSON
      rec[raw ? g : `${g} (pts)`] = raw ? v : v === undefined ? '' : `${v >= 0 ? '+' : '−'}${Math.abs(100 * v).toFixed(2)}`;
    }
    rec[raw ? 'wall_seconds' : 'wall'] = raw ? e.wallSeconds : e.wallSeconds === null ? '' : formatDuration(e.wallSeconds);
    rec.backend = e.backend ?? '';
    rec[raw ? 'code_version' : 'code'] = e.codeVersion ?? '';
    if (raw) rec.error = e.error ?? '';
    return rec;
  });
  const columns = records.length ? Object.keys(records[0]) : ['key', 'experiment', 'variant', 'seed', 'status'];
  return fromRecords(records, columns);
}

/** A Markdown table with padded columns (readable in a terminal, valid Markdown). */
export function alignedMarkdown(t: TableData): string {
  const cells = [t.columns, ...t.rows.map((r) => r.map((c) => (c === null || c === undefined ? '' : String(c))))];
  const widths = t.columns.map((_, j) => Math.max(3, ...cells.map((r) => r[j].length)));
  const line = (r: string[]): string => `| ${r.map((c, j) => c.padEnd(widths[j])).join(' | ')} |`;
  return [line(cells[0]), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...cells.slice(1).map(line)].join('\n');
}

/** CSV of the index (raw values). */
export function runsIndexCsv(entries: RunIndexEntry[]): string {
  return tableToCsv(runsIndexTable(entries, { raw: true }));
}

// ---- lookup and diff ---------------------------------------------------------------------------------------------

/** The one entry whose key is `ref` or starts with it; errors name the candidates. */
export function findRun(entries: RunIndexEntry[], ref: string): RunIndexEntry {
  if (!/^[0-9a-zA-Z]+$/.test(ref)) throw new Error(`a run is named by its key or a unique key prefix (letters and digits), got '${ref}'`);
  const exact = entries.find((e) => e.key === ref);
  if (exact) return exact;
  const hits = entries.filter((e) => e.key.startsWith(ref));
  if (hits.length === 1) return hits[0];
  if (hits.length === 0) throw new Error(`no run key starts with '${ref}' in the store`);
  throw new Error(`'${ref}' is ambiguous: ${hits.length} runs start with it (${hits.slice(0, 5).map((e) => e.key).join(', ')}${hits.length > 5 ? ', ...' : ''}); give more characters`);
}

/** Leaves of a JSON value as dotted paths (arrays are leaves, compared as JSON). */
export function flattenConfig(v: unknown, prefix = '', out: Map<string, unknown> = new Map()): Map<string, unknown> {
  if (isObject(v)) {
    for (const k of Object.keys(v).sort()) flattenConfig(v[k], prefix ? `${prefix}.${k}` : k, out);
    if (Object.keys(v).length === 0 && prefix) out.set(prefix, {});
  } else {
    out.set(prefix, v);
  }
  return out;
}

/** One config path that differs between two runs (undefined: the run's config lacks it). */
export interface ConfigDifference {
  path: string;
  a: unknown;
  b: unknown;
}

/** One metric of two runs and its difference b - a (null when either lacks it). */
export interface MetricDelta {
  metric: string;
  a: number | null;
  b: number | null;
  delta: number | null;
}

/** What {@link diffRuns} returns. */
export interface RunDiff {
  a: RunIndexEntry;
  b: RunIndexEntry;
  config: ConfigDifference[];
  metrics: MetricDelta[];
}

/** Config fields never compared: the run name (each run's own key). */
const DIFF_IGNORED = new Set(['name']);

function resultMetrics(dir: string): Map<string, number | null> {
  const r = readJson(path.join(dir, 'result.json'));
  const out = new Map<string, number | null>();
  if (!isObject(r) || !isObject(r.final)) return out;
  const f = r.final as unknown as RunResult['final'];
  out.set('verification acc', finiteOrNull(f.verification?.accuracy));
  for (const [far, v] of Object.entries(f.verification?.tarAtFar ?? {})) out.set(`TAR@FAR=${far}`, finiteOrNull(v));
  out.set('AUC', finiteOrNull(f.verification?.auc));
  out.set('EER', finiteOrNull(f.verification?.eer));
  out.set('rank-1', finiteOrNull(f.identification?.rank1));
  out.set('rank-5', finiteOrNull(f.identification?.rank5));
  for (const [fpir, v] of Object.entries(f.openSet?.dirAtFpir ?? {})) out.set(`DIR@FPIR=${fpir}`, finiteOrNull(v));
  const fit = (r as { fit?: { gap?: unknown; trainAccuracy?: unknown } }).fit;
  if (typeof fit?.trainAccuracy === 'number') out.set('train acc', finiteOrNull(fit.trainAccuracy));
  for (const [k, v] of Object.entries(gapFields(fit?.gap ?? r.gap ?? (r.final as Record<string, unknown>).gap))) out.set(k, v);
  out.set('final loss', finiteOrNull(r.finalLoss));
  out.set('img/s', finiteOrNull(r.imgPerSec));
  out.set('train seconds', finiteOrNull(r.trainSeconds));
  out.set('wall seconds', finiteOrNull(r.wallSeconds));
  return out;
}

/**
 * The config paths whose values differ between runs `a` and `b` (resolved configs, the run name excluded) and
 * every metric of their result.json with its difference b - a (null where one run lacks it; metrics neither run
 * has, such as TAR at a FAR finer than its impostor pairs allow, are left out).
 */
export function diffRuns(a: RunIndexEntry, b: RunIndexEntry): RunDiff {
  const fa = flattenConfig(a.config ?? {});
  const fb = flattenConfig(b.config ?? {});
  const paths = [...new Set([...fa.keys(), ...fb.keys()])].filter((p) => !DIFF_IGNORED.has(p)).sort();
  const config = paths
    .filter((p) => JSON.stringify(fa.get(p)) !== JSON.stringify(fb.get(p)))
    .map((p) => ({ path: p, a: fa.get(p), b: fb.get(p) }));
  const ma = resultMetrics(a.dir);
  const mb = resultMetrics(b.dir);
  const names = [...new Set([...ma.keys(), ...mb.keys()])];
  const metrics = names.map((metric) => {
    const x = ma.get(metric) ?? null;
    const y = mb.get(metric) ?? null;
    return { metric, a: x, b: y, delta: x !== null && y !== null ? y - x : null };
  }).filter((m) => m.a !== null || m.b !== null); // e.g. TAR at a FAR below 1 / impostor pairs: undefined in both
  return { a, b, config, metrics };
}

const SECONDS_METRICS = new Set(['train seconds', 'wall seconds']);
const RAW_METRICS = new Set(['final loss', 'img/s', ...SECONDS_METRICS]);

function showValue(v: unknown): string {
  return v === undefined ? '(absent)' : typeof v === 'string' ? v : JSON.stringify(v);
}

/** The diff as text: a label line per run, the differing config keys, then the metrics with deltas. */
export function formatRunDiff(d: RunDiff): string {
  const label = (e: RunIndexEntry): string => {
    const r = e.refs.map((x) => `${x.experiment}/${x.variant} seed ${x.seed}`).join(', ');
    return `${e.key} (${e.status}${r ? `; ${r}` : ''})`;
  };
  const out = [`A: ${label(d.a)}`, `B: ${label(d.b)}`, ''];
  if (d.config.length === 0) {
    out.push('config: identical (apart from the run name)');
  } else {
    out.push(alignedMarkdown({ columns: ['config key', 'A', 'B'], rows: d.config.map((c) => [c.path, showValue(c.a), showValue(c.b)]) }));
  }
  out.push('');
  if (d.metrics.length === 0) {
    out.push('metrics: neither run has a result.json');
  } else {
    const fmt = (m: string, v: number | null, signed = false): string => {
      if (v === null) return '';
      const s = signed && v >= 0 ? '+' : '';
      if (RAW_METRICS.has(m)) return `${s}${v.toFixed(SECONDS_METRICS.has(m) ? 1 : m === 'img/s' ? 0 : 4)}`;
      return `${s}${(100 * v).toFixed(2)}`; // accuracies in %, the gap (a difference of accuracies) in points
    };
    out.push(alignedMarkdown({
      columns: ['metric (% unless noted)', 'A', 'B', 'B - A'],
      rows: d.metrics.map((m) => [RAW_METRICS.has(m.metric) ? `${m.metric} (raw)` : m.metric.startsWith('gap') ? `${m.metric} (pts)` : m.metric, fmt(m.metric, m.a), fmt(m.metric, m.b), fmt(m.metric, m.delta, true)]),
    }));
  }
  return out.join('\n');
}

// ---- prune -------------------------------------------------------------------------------------------------------

/** What {@link pruneRuns} found (and removed, unless a dry run). */
export interface PruneReport {
  /** Runs no experiment plans, removed (or to remove in a dry run). */
  removed: { key: string; status: RunStatus; bytes: number }[];
  /** Unreferenced runs kept because a live process holds their lock. */
  busy: string[];
  /** Runs some experiment plans (kept). */
  kept: number;
  bytes: number;
  dryRun: boolean;
}

function dirBytes(dir: string): number {
  let total = 0;
  for (const d of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, d.name);
    if (d.isDirectory()) total += dirBytes(p);
    else {
      try {
        total += fs.statSync(p).size;
      } catch {
        // removed meanwhile
      }
    }
  }
  return total;
}

/**
 * Removes the run folders no experiment plans (at its seeds or any seed found in the store; see
 * {@link experimentReferences}): by default the registered experiments, plus those given. A dry run (the default)
 * only reports. A run a live process is training is never removed.
 */
export function pruneRuns(store: RunStore, opts: RunsIndexOptions & { dryRun?: boolean } = {}): PruneReport {
  const dryRun = opts.dryRun !== false;
  const entries = buildRunsIndex(store, opts);
  const report: PruneReport = { removed: [], busy: [], kept: 0, bytes: 0, dryRun };
  for (const e of entries) {
    if (e.refs.length > 0) {
      report.kept++;
      continue;
    }
    if (store.liveLock(e.key)) {
      report.busy.push(e.key);
      continue;
    }
    const bytes = dirBytes(e.dir);
    if (!dryRun) fs.rmSync(e.dir, { recursive: true, force: true });
    report.removed.push({ key: e.key, status: e.status, bytes });
    report.bytes += bytes;
  }
  return report;
}
