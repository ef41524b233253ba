/**
 * Small result tables for notebooks and reports: build them from records or from a danfojs-node DataFrame, render
 * them as HTML (notebook display) or GitHub Markdown, and summarise runs as mean ± std over seeds.
 *
 * danfojs-node stays behind this module: {@link loadDanfo} loads it lazily (its import costs ~2.5 s), and every
 * renderer accepts any DataFrame-like object `{ columns, values }`, so the rest of the workbench never imports it.
 */
import { createRequire } from 'module';

/** A table cell. `null` / `undefined` / NaN render as an empty cell. */
export type TableCell = string | number | boolean | null | undefined;

/** A plain table: column names and rows of cells (row-major). */
export interface TableData {
  columns: string[];
  rows: TableCell[][];
}

/** What the renderers accept from danfojs: `df.columns` and `df.values` (a danfojs DataFrame fits). */
export interface DataFrameLike {
  columns: string[];
  values: unknown[][] | unknown[];
}

/** Options of {@link tableToHtml} and {@link tableToMarkdown}. */
export interface TableFormatOptions {
  /** Fraction digits of numbers that are not integers (default {@link DEFAULT_TABLE_DIGITS}). */
  digits?: number;
  /** Caption (HTML `<caption>`, or an italic line above the Markdown table). */
  caption?: string;
  /** Per-column fraction digits overriding `digits`. */
  columnDigits?: Record<string, number>;
}

/** Options of {@link meanStdTable}. */
export interface MeanStdOptions {
  /** Columns that identify a group (e.g. ['method']); groups keep their first-seen order. */
  groupBy: string[];
  /** Numeric columns to summarise as "mean ± std". */
  metrics: string[];
  /** Multiply the metrics by this before formatting (e.g. 100 for percent; default 1). */
  scale?: number;
  /** Fraction digits of mean and std (default 2). */
  digits?: number;
  /** Add a column "n" with the group size (default true). */
  count?: boolean;
  /** Standard deviation with the n - 1 (sample, default) or n (population) denominator. */
  ddof?: 0 | 1;
}

/** Default fraction digits of non-integer numbers. */
export const DEFAULT_TABLE_DIGITS = 4;

/** The danfojs-node module type (only as a type; loading is lazy). */
export type DanfoModule = typeof import('danfojs-node');

let danfo: DanfoModule | null = null;

/** Loads danfojs-node on first use (it is a dependency but heavy to import). */
export function loadDanfo(): DanfoModule {
  if (!danfo) {
    const req = createRequire(__filename);
    danfo = req('danfojs-node') as DanfoModule;
  }
  return danfo;
}

function isDataFrameLike(t: unknown): t is DataFrameLike {
  return typeof t === 'object' && t !== null && Array.isArray((t as DataFrameLike).columns) && Array.isArray((t as DataFrameLike).values);
}

function toCell(v: unknown): TableCell {
  if (v === null || v === undefined || typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') return v;
  return String(v);
}

/** A {@link TableData} from a danfojs DataFrame (or anything with `columns` and row-major `values`). */
export function fromDataFrame(df: DataFrameLike): TableData {
  if (!isDataFrameLike(df)) throw new Error('fromDataFrame needs an object with columns: string[] and values: row arrays');
  const columns = df.columns.map(String);
  const vals = df.values as unknown[];
  const rows = vals.map((r, i) => {
    const row = Array.isArray(r) ? r : [r];
    if (row.length !== columns.length) throw new Error(`row ${i} has ${row.length} cells, expected ${columns.length}`);
    return row.map(toCell);
  });
  return { columns, rows };
}

/** A {@link TableData} from records; `columns` default to the keys in first-seen order. */
export function fromRecords(records: Record<string, unknown>[], columns?: string[]): TableData {
  if (!Array.isArray(records)) throw new Error('records must be an array of objects');
  const cols = columns ?? [...new Set(records.flatMap((r) => Object.keys(r)))];
  return { columns: cols, rows: records.map((r) => cols.map((c) => toCell(r[c]))) };
}

/** A danfojs DataFrame of the table (loads danfojs-node). */
export function toDataFrame(t: TableData): InstanceType<DanfoModule['DataFrame']> {
  const dfd = loadDanfo();
  return new dfd.DataFrame(t.rows as unknown as (string | number | boolean)[][], { columns: t.columns });
}

function normalise(t: TableData | DataFrameLike): TableData {
  if (isDataFrameLike(t) && !('rows' in t)) return fromDataFrame(t);
  const td = t as TableData;
  if (!Array.isArray(td.columns) || !Array.isArray(td.rows)) throw new Error('table must be { columns, rows } or a DataFrame');
  td.rows.forEach((r, i) => {
    if (r.length !== td.columns.length) throw new Error(`row ${i} has ${r.length} cells, expected ${td.columns.length}`);
  });
  return td;
}

/** Formats one cell: integers as is, other numbers with fixed digits, empty for null/undefined/NaN. */
export function formatCell(v: TableCell, digits = DEFAULT_TABLE_DIGITS): string {
  if (v === null || v === undefined) return '';
  if (typeof v === 'number') {
    if (Number.isNaN(v)) return '';
    if (!Number.isFinite(v)) return v > 0 ? '∞' : '-∞';
    return Number.isInteger(v) ? String(v) : v.toFixed(digits);
  }
  return String(v);
}

function escapeHtml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

function digitsFor(col: string, o: TableFormatOptions): number {
  const d = o.columnDigits?.[col] ?? o.digits ?? DEFAULT_TABLE_DIGITS;
  if (!Number.isInteger(d) || d < 0 || d > 20) throw new Error(`digits must be an integer in [0, 20], got ${d} (column ${col})`);
  return d;
}

/** HTML `<table>` (numbers right-aligned), for `tslab.display.html`. */
export function tableToHtml(table: TableData | DataFrameLike, opts: TableFormatOptions = {}): string {
  const t = normalise(table);
  const numeric = t.columns.map((_, j) => t.rows.length > 0 && t.rows.every((r) => r[j] === null || r[j] === undefined || typeof r[j] === 'number'));
  const th = t.columns.map((c, j) => `<th style="text-align:${numeric[j] ? 'right' : 'left'}">${escapeHtml(c)}</th>`).join('');
  const body = t.rows
    .map((r) => '<tr>' + r.map((v, j) => `<td style="text-align:${numeric[j] ? 'right' : 'left'}">${escapeHtml(formatCell(v, digitsFor(t.columns[j], opts)))}</td>`).join('') + '</tr>')
    .join('\n');
  const cap = opts.caption ? `<caption style="caption-side:top;text-align:left">${escapeHtml(opts.caption)}</caption>` : '';
  return `<table>${cap}<thead><tr>${th}</tr></thead>\n<tbody>\n${body}\n</tbody></table>`;
}

/** GitHub-flavoured Markdown table (pipes in cells escaped). */
export function tableToMarkdown(table: TableData | DataFrameLike, opts: TableFormatOptions = {}): string {
  const t = normalise(table);
  const esc = (s: string): string => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');
  const numeric = t.columns.map((_, j) => t.rows.length > 0 && t.rows.every((r) => r[j] === null || r[j] === undefined || typeof r[j] === 'number'));
  const lines = [
    `| ${t.columns.map(esc).join(' | ')} |`,
    `|${t.columns.map((_, j) => (numeric[j] ? '---:' : '---')).join('|')}|`,
    ...t.rows.map((r) => `| ${r.map((v, j) => esc(formatCell(v, digitsFor(t.columns[j], opts)))).join(' | ')} |`),
  ];
  return (opts.caption ? `*${opts.caption}*\n\n` : '') + lines.join('\n') + '\n';
}

/** Mean and standard deviation (`ddof` 1: sample; a single value has std 0). */
export function meanStd(values: readonly number[], ddof: 0 | 1 = 1): { mean: number; std: number; n: number } {
  const n = values.length;
  if (n === 0) return { mean: NaN, std: NaN, n: 0 };
  const mean = values.reduce((a, b) => a + b, 0) / n;
  if (n === 1) return { mean, std: 0, n };
  const ss = values.reduce((a, b) => a + (b - mean) * (b - mean), 0);
  return { mean, std: Math.sqrt(ss / (n - ddof)), n };
}

/**
 * Groups records (e.g. one per run) by `groupBy` and summarises each metric as the string "mean ± std"; also
 * returns the numbers (`stats[group][metric]`) for plots. Records lacking a metric (or with a non-finite value)
 * are skipped for that metric.
 */
export function meanStdTable(
  records: Record<string, unknown>[] | DataFrameLike,
  opts: MeanStdOptions,
): TableData & { stats: { group: Record<string, TableCell>; metrics: Record<string, { mean: number; std: number; n: number }> }[] } {
  const recs: Record<string, unknown>[] = Array.isArray(records)
    ? records
    : (() => {
      const t = fromDataFrame(records);
      return t.rows.map((r) => Object.fromEntries(t.columns.map((c, j) => [c, r[j]])));
    })();
  if (!Array.isArray(opts.groupBy) || opts.groupBy.length === 0) throw new Error('groupBy must name at least one column');
  if (!Array.isArray(opts.metrics) || opts.metrics.length === 0) throw new Error('metrics must name at least one column');
  const scale = opts.scale ?? 1;
  const digits = opts.digits ?? 2;
  const ddof = opts.ddof ?? 1;
  const groups = new Map<string, Record<string, unknown>[]>();
  for (const r of recs) {
    const key = JSON.stringify(opts.groupBy.map((g) => r[g]));
    const list = groups.get(key);
    if (list) list.push(r);
    else groups.set(key, [r]);
  }
  const count = opts.count ?? true;
  const columns = [...opts.groupBy, ...(count ? ['n'] : []), ...opts.metrics];
  const rows: TableCell[][] = [];
  const stats: { group: Record<string, TableCell>; metrics: Record<string, { mean: number; std: number; n: number }> }[] = [];
  for (const list of groups.values()) {
    const group: Record<string, TableCell> = Object.fromEntries(opts.groupBy.map((g) => [g, toCell(list[0][g])]));
    const ms: Record<string, { mean: number; std: number; n: number }> = {};
    const cells: TableCell[] = [];
    for (const m of opts.metrics) {
      const vals = list.map((r) => r[m]).filter((v): v is number => typeof v === 'number' && Number.isFinite(v)).map((v) => v * scale);
      const s = meanStd(vals, ddof);
      ms[m] = s;
      cells.push(s.n === 0 ? null : s.n === 1 ? s.mean.toFixed(digits) : `${s.mean.toFixed(digits)} ± ${s.std.toFixed(digits)}`);
    }
    rows.push([...opts.groupBy.map((g) => group[g]), ...(count ? [list.length] : []), ...cells]);
    stats.push({ group, metrics: ms });
  }
  return { columns, rows, stats };
}

/**
 * RFC 4180 CSV of a table: raw values (numbers at full precision, empty for null/NaN), fields with a comma, quote
 * or line break quoted. (danfojs-node's toCSV does not quote such fields, so tables are exported here.)
 */
export function tableToCsv(table: TableData | DataFrameLike): string {
  const t = normalise(table);
  const field = (v: TableCell): string => {
    const s = v === null || v === undefined || (typeof v === 'number' && Number.isNaN(v)) ? '' : String(v);
    return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
  };
  return [t.columns.map(field).join(','), ...t.rows.map((r) => r.map(field).join(','))].join('\n') + '\n';
}
