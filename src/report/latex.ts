/**
 * LaTeX export of result tables in booktabs style (\toprule / \midrule / \bottomrule, no vertical rules), for
 * papers. Cells are formatted like the HTML and Markdown renderers ({@link formatCell}) and escaped for LaTeX.
 * The output needs `\usepackage{booktabs}` in the preamble.
 */
import { DataFrameLike, DEFAULT_TABLE_DIGITS, formatCell, fromDataFrame, TableCell, TableData } from './table';

/** Column alignment of a tabular column. */
export type LatexAlign = 'l' | 'c' | 'r';

/** Options of {@link tableToLatex}. */
export interface LatexTableOptions {
  /**
   * Caption (`\caption{…}` after the tabular). Inserted as raw LaTeX, so it may contain math such as `$\pm$`;
   * escape plain-text parts (e.g. names with `_`) with {@link escapeLatex}. Needs `floating` true.
   */
  caption?: string;
  /** Label (`\label{…}` after the caption), e.g. 'tab:ablation'; no whitespace or \ { } % # & $ ^ ~. Needs `floating` true. */
  label?: string;
  /** Fraction digits of numbers that are not integers (default {@link DEFAULT_TABLE_DIGITS}). */
  digits?: number;
  /** Per-column fraction digits overriding `digits`. */
  columnDigits?: Record<string, number>;
  /**
   * Column alignments, one per column: an array such as ['l', 'r'] or a string such as 'lr' (spaces ignored).
   * Default: 'r' for numeric columns (every cell a number or empty, at least one row), 'l' for the others.
   */
  align?: string | readonly LatexAlign[];
  /** Wrap the tabular in a `table` float with `\centering` (default true); false emits only the tabular. */
  floating?: boolean;
}

/** Replacement of each character that {@link escapeLatex} changes. */
const LATEX_ESCAPES: Record<string, string> = {
  '\\': '\\textbackslash{}',
  '&': '\\&',
  '%': '\\%',
  $: '\\$',
  '#': '\\#',
  _: '\\_',
  '{': '\\{',
  '}': '\\}',
  '~': '\\textasciitilde{}',
  '^': '\\textasciicircum{}',
  // Without T1 font encoding these print as other glyphs (¡ ¿ —) in text mode.
  '<': '\\textless{}',
  '>': '\\textgreater{}',
  '|': '\\textbar{}',
  // Unicode symbols that the workbench's tables use and pdfLaTeX's utf8 input does not know.
  '±': '$\\pm$',
  '−': '$-$',
  '∞': '$\\infty$',
  '×': '$\\times$',
  'Δ': '$\\Delta$',
  '≤': '$\\leq$',
  '≥': '$\\geq$',
  '≈': '$\\approx$',
  'µ': '$\\mu$',
  'μ': '$\\mu$',
  '…': '\\ldots{}',
};
const LATEX_SPECIAL = /[\\&%$#_{}~^<>|±−∞×Δ≤≥≈µμ…]/g;

/**
 * Escapes text for LaTeX text mode: & % $ # _ { } become \& \% \$ \# \_ \{ \}, and \ ~ ^ < > | become
 * \textbackslash{} \textasciitilde{} \textasciicircum{} \textless{} \textgreater{} \textbar{}. A few Unicode
 * symbols become math: '±' -> `$\pm$`, '−' (U+2212) -> `$-$`, '∞' -> `$\infty$`, '×' -> `$\times$`,
 * 'Δ' -> `$\Delta$`, '≤' '≥' '≈' -> `$\leq$` `$\geq$` `$\approx$`, 'µ'/'μ' -> `$\mu$`, '…' -> `\ldots{}`.
 * Line breaks become spaces (a blank line would end the table row).
 */
export function escapeLatex(text: string): string {
  return text.replace(LATEX_SPECIAL, (ch) => LATEX_ESCAPES[ch]).replace(/\r\n|\r|\n/g, ' ');
}

function toTableData(table: TableData | DataFrameLike): TableData {
  if (typeof table !== 'object' || table === null) throw new Error('tableToLatex: table must be { columns, rows } or a DataFrame');
  if (!('rows' in table)) return fromDataFrame(table);
  if (!Array.isArray(table.columns) || !Array.isArray(table.rows)) throw new Error('tableToLatex: table must be { columns, rows } or a DataFrame');
  table.rows.forEach((r, i) => {
    if (!Array.isArray(r) || r.length !== table.columns.length) {
      throw new Error(`tableToLatex: row ${i} has ${Array.isArray(r) ? r.length : 0} cells, expected ${table.columns.length}`);
    }
  });
  return table;
}

function digitsFor(col: string, o: LatexTableOptions): number {
  const d = o.columnDigits?.[col] ?? o.digits ?? DEFAULT_TABLE_DIGITS;
  if (!Number.isInteger(d) || d < 0 || d > 20) throw new Error(`tableToLatex: digits must be an integer in [0, 20], got ${d} (column ${col})`);
  return d;
}

function alignment(t: TableData, align: LatexTableOptions['align']): LatexAlign[] {
  if (align === undefined) {
    return t.columns.map((_, j) => (t.rows.length > 0 && t.rows.every((r) => r[j] === null || r[j] === undefined || typeof r[j] === 'number') ? 'r' : 'l'));
  }
  const spec = typeof align === 'string' ? [...align.replace(/\s+/g, '')] : [...align];
  if (spec.length !== t.columns.length) throw new Error(`tableToLatex: align has ${spec.length} entries for ${t.columns.length} columns`);
  spec.forEach((a, j) => {
    if (a !== 'l' && a !== 'c' && a !== 'r') throw new Error(`tableToLatex: align entries must be 'l', 'c' or 'r', got ${JSON.stringify(a)} for column ${t.columns[j]}`);
  });
  return spec as LatexAlign[];
}

function latexCell(v: TableCell, digits: number): string {
  if (typeof v === 'number' && (v === Infinity || v === -Infinity)) return v > 0 ? '$\\infty$' : '$-\\infty$';
  return escapeLatex(formatCell(v, digits));
}

/**
 * A booktabs LaTeX table of `table` (a {@link TableData} or a danfojs DataFrame):
 *
 *     \begin{table}
 *     \centering
 *     \begin{tabular}{l r}
 *     \toprule
 *     method & acc \\
 *     \midrule
 *     CoReFace & 0.9512 \\
 *     \bottomrule
 *     \end{tabular}
 *     \caption{…}      (when `caption`)
 *     \label{…}        (when `label`)
 *     \end{table}
 *
 * Numbers are formatted with {@link formatCell} (integers as is, others with `digits` fraction digits, default
 * {@link DEFAULT_TABLE_DIGITS}; null / undefined / NaN empty; ±Infinity as `$\infty$` / `$-\infty$`). Cells and
 * headers are escaped with {@link escapeLatex} (so '±' becomes `$\pm$`); the caption is raw LaTeX. Numeric
 * columns are right-aligned and the others left-aligned unless `align` says otherwise. With `floating: false`
 * only the tabular is emitted (for \input inside your own float); caption and label then throw, since
 * \caption and \label need the float. The result ends with a newline. Needs `\usepackage{booktabs}`.
 */
export function tableToLatex(table: TableData | DataFrameLike, opts: LatexTableOptions = {}): string {
  const t = toTableData(table);
  if (t.columns.length === 0) throw new Error('tableToLatex: the table has no columns');
  const floating = opts.floating ?? true;
  if (!floating && (opts.caption || opts.label)) throw new Error('tableToLatex: caption and label need floating: true (\\caption and \\label belong to the table float)');
  if (opts.label && /[\s\\{}%#&$^~]/.test(opts.label)) throw new Error(`tableToLatex: label ${JSON.stringify(opts.label)} must not contain whitespace or any of \\ { } % # & $ ^ ~`);
  const digits = t.columns.map((c) => digitsFor(c, opts));
  const row = (cells: string[]): string => `${cells.join(' & ')} \\\\`;
  const tabular = [
    `\\begin{tabular}{${alignment(t, opts.align).join(' ')}}`,
    '\\toprule',
    row(t.columns.map((c) => escapeLatex(String(c)))),
    '\\midrule',
    ...t.rows.map((r) => row(r.map((v, j) => latexCell(v, digits[j])))),
    '\\bottomrule',
    '\\end{tabular}',
  ];
  if (!floating) return tabular.join('\n') + '\n';
  return [
    '\\begin{table}',
    '\\centering',
    ...tabular,
    ...(opts.caption ? [`\\caption{${opts.caption}}`] : []),
    ...(opts.label ? [`\\label{${opts.label}}`] : []),
    '\\end{table}',
  ].join('\n') + '\n';
}
