/**
 * A self-contained HTML page of one experiment ({@link ExperimentReportData}): header, result tables, failed runs,
 * every figure of ./figures drawn by an inlined plotly.js, and the experiment definition as JSON. The page has no
 * external URL at all (no CDN, no fonts, no images), so it opens offline and can be archived as one file (~5 MB,
 * mostly the plotly bundle).
 *
 * {@link checkReportInBrowser} opens such a page in the headless Chromium of ./plot (Debian `chromium` driven by
 * `playwright-core`), and reports console errors, how many plots rendered and how much of a full-page screenshot is
 * not blank - the end-to-end test of a report.
 *
 * Page protocol (used by the checker, kept stable): every figure is a `<div class="cf-plot" data-fig="ID">` whose
 * figure JSON is in `<script type="application/json" id="ID">`; after `load` each is drawn with `Plotly.newPlot`, a
 * figure that fails is logged with `console.error` and replaced by a message, and `window.__cfReport` goes from
 * `{ done: false }` to `{ done: true, total, drawn }` when every figure has settled.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { pathToFileURL } from 'url';
import type { BrowserContext } from 'playwright-core';
import { PNG } from 'pngjs';
import { writeFileAtomic } from '../util/atomic';
import {
  type FigureOptions, embeddingScatterFigure, marginTraceFigure, representativeRun, rocFigure, scoreHistogramFigure,
  trainingCurvesFigure, variantBarsFigure, fitCurvesFigure,
} from './figures';
import { CHROMIUM_ARGS, CHROMIUM_ENV_VAR, type PlotFigure, chromiumAvailable, chromiumPath, figureJson, plotlyBundlePath } from './plot';
import type { ExperimentReportData, ReportRun } from './report-data';

/** Metrics drawn as per-variant bar charts when `stats` has them (in this order). */
export const REPORT_BAR_METRICS: readonly string[] = ['verificationAccuracy', 'tarAtFar1e3', 'rank1', 'dirAtFpir1e2'];

/** Plotly config of every report figure (resizes with the page, no plotly logo link). */
export const REPORT_PLOT_CONFIG: Readonly<Record<string, unknown>> = { responsive: true, displaylogo: false };

/** One figure of the report, in page order. */
export interface ReportFigure {
  /** Element id of the figure's JSON (`cf-fig-<index>`); the plot div has `data-fig` = this id. */
  id: string;
  /** Section heading the figure belongs to. */
  section: string;
  /** One-line explanation shown under the figure. */
  caption: string;
  /** Whether the figure spans the full page width. */
  wide: boolean;
  /** The plotly figure. */
  figure: PlotFigure;
}

/** Options of {@link checkReportInBrowser}. */
export interface CheckReportOptions {
  /** Write the full-page screenshot (PNG) here (parent directories are created). */
  screenshot?: string;
  /** Time limit in ms for loading the page and for drawing the figures (each; default 30000). */
  timeoutMs?: number;
  /** Viewport width in CSS pixels (default 1280; the figures are laid out two per row from ~1100). */
  width?: number;
  /** Viewport height in CSS pixels (default 900; the screenshot covers the full page anyway). */
  height?: number;
}

/** Result of {@link checkReportInBrowser}. */
export interface CheckReportResult {
  /** Console messages of type error and uncaught page errors, in order. */
  consoleErrors: string[];
  /** Number of `.cf-plot` elements holding a rendered plotly graph (`.main-svg`). */
  plots: number;
  /** Number of `.cf-plot` elements on the page. */
  expectedPlots: number;
  /** Size of the full-page PNG screenshot in bytes. */
  screenshotBytes: number;
  /** Fraction of screenshot pixels that are not (near-)white: some RGB channel below {@link NON_WHITE_LEVEL}. */
  nonBlankFraction: number;
  /** URLs the page requested that are not file:, data:, blob: or about: (should be empty). */
  externalRequests: string[];
  /** `src` / `href` / `xlink:href` values of the rendered DOM that point to http(s) or `//` URLs (should be empty). */
  externalLinks: string[];
  /** True when the figures had not all settled within `timeoutMs` (the counts are then taken as they are). */
  timedOut: boolean;
}

/** A pixel counts as non-blank in {@link CheckReportResult.nonBlankFraction} when some channel is below this. */
export const NON_WHITE_LEVEL = 245;

/** HTML-escapes text for element content and attribute values. */
function escapeHtml(s: string): string {
  return String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');
}

/** Entity-escapes text that plotly renders in names (it interprets a small HTML subset), as ./figures does. */
function plotText(s: string): string {
  return String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** JSON safe inside a `<script>` element: `<` is written as `\u003c` (covers `</script` and `<!--`). */
function scriptJson(value: unknown): string {
  return figureJson(value).replace(/</g, '\\u003c');
}

function checkReportData(data: ExperimentReportData, fn: string): void {
  if (!data || typeof data !== 'object') throw new Error(`${fn}: data must be an ExperimentReportData object`);
  for (const k of ['title', 'description', 'generatedAt', 'backend'] as const) {
    if (typeof data[k] !== 'string') throw new Error(`${fn}: data.${k} must be a string, got ${typeof data[k]}`);
  }
  for (const k of ['seeds', 'variants', 'tables', 'stats', 'runs', 'failed'] as const) {
    if (!Array.isArray(data[k])) throw new Error(`${fn}: data.${k} must be an array, got ${typeof data[k]}`);
  }
  data.tables.forEach((t, i) => {
    if (!t || typeof t.title !== 'string' || typeof t.html !== 'string') throw new Error(`${fn}: data.tables[${i}] must be { title: string, html: string, note? }`);
  });
  data.runs.forEach((r, i) => {
    if (!r || typeof r.variant !== 'string' || !Array.isArray(r.epochs) || !Array.isArray(r.steps)) {
      throw new Error(`${fn}: data.runs[${i}] must be a ReportRun { variant, seed, epochs: [], steps: [] }`);
    }
  });
  const reps = data.replicates;
  if (reps !== undefined && (!reps || typeof reps.path !== 'string' || typeof reps.label !== 'string' || !Array.isArray(reps.values))) {
    throw new Error(`${fn}: data.replicates must be { path: string, label: string, values: [] } when given`);
  }
}

type ReplicateValue = NonNullable<ReportRun['replicate']>;

/** Whether the report has replicates (`data.replicates`, or any run with a replicate value). */
function hasReplicates(data: ExperimentReportData): boolean {
  return data.replicates !== undefined || data.runs.some((r) => r.replicate !== undefined);
}

/** Label of the replicate path in captions and legends (default 'replicate'). */
function replicateLabel(data: ExperimentReportData): string {
  return data.replicates?.label ?? 'replicate';
}

/**
 * The runs in the order the single-run figures rely on: by seed, then by replicate value in the order of
 * `data.replicates.values` (values not listed after those, runs without a value first), then array order. The
 * figures' representative run of a variant (smallest seed, first in array order on equal seeds) is then the run
 * with the smallest seed and the first replicate value: one well-defined run. Without replicates `data.runs` as is.
 */
export function reportRunOrder(data: ExperimentReportData): ReportRun[] {
  if (!hasReplicates(data)) return data.runs;
  const values = (data.replicates?.values ?? []).map(String);
  const rank = (r: ReportRun): number => {
    if (r.replicate === undefined) return -1;
    const i = values.indexOf(String(r.replicate));
    return i < 0 ? values.length : i;
  };
  return data.runs.map((r, i) => ({ r, i })).sort((a, b) => a.r.seed - b.r.seed || rank(a.r) - rank(b.r) || a.i - b.i).map((x) => x.r);
}

/** `seed 0`, or `seed 0, partition 3` for a run with a replicate value. */
function runText(data: ExperimentReportData, r: { seed: number; replicate?: ReplicateValue }): string {
  return r.replicate === undefined ? `seed ${r.seed}` : `seed ${r.seed}, ${replicateLabel(data)} ${String(r.replicate)}`;
}

/**
 * Legends of the per-run figures (training curves, margin trace) name runs `seed N`; with replicates several runs
 * of a variant share a seed. Renames trace k named `seed N[ suffix]` in legend group `variant` to the k-th run of
 * that variant and seed (in `runs` order) among those `has(run, suffix)` holds for, adding its replicate value, in
 * the name and the hover text. Traces it cannot attribute are left as they are.
 */
function nameReplicateTraces(fig: PlotFigure | null, data: ExperimentReportData, runs: readonly ReportRun[], has: (r: ReportRun, suffix: string) => boolean): PlotFigure | null {
  if (!fig || !hasReplicates(data)) return fig;
  const seen = new Map<string, number>();
  const traces = fig.data.map((t) => {
    const m = typeof t.name === 'string' ? /^seed (-?\d+)(.*)$/.exec(t.name) : null;
    if (!m || typeof t.legendgroup !== 'string') return t;
    const seed = Number(m[1]);
    const suffix = m[2];
    const id = `${t.legendgroup}\u0000${seed}\u0000${suffix}`;
    const k = seen.get(id) ?? 0;
    seen.set(id, k + 1);
    const run = runs.filter((r) => r.variant === t.legendgroup && r.seed === seed && has(r, suffix))[k];
    if (!run || run.replicate === undefined) return t;
    const text = runText(data, run);
    const hover = typeof t.hovertemplate === 'string' ? t.hovertemplate.replace(`seed ${seed}<br>`, `${plotText(text)}<br>`) : t.hovertemplate;
    return { ...t, name: `${plotText(text)}${suffix}`, ...(hover === undefined ? {} : { hovertemplate: hover }) };
  });
  return { ...fig, data: traces };
}

/** Which run the single-run figures show per variant, as caption text (with replicates; '' without). */
function representativeText(data: ExperimentReportData, runs: readonly ReportRun[], need: 'scores' | 'projection', variants: readonly string[]): string {
  if (!hasReplicates(data)) return '';
  const picked = variants.map((v) => representativeRun(runs, v, need)).filter((r): r is ReportRun => r !== null).map((r) => runText(data, r));
  const distinct = [...new Set(picked)];
  return distinct.length === 1 ? ` (${distinct[0]})` : '';
}

/** Variant names in report order: `data.variants`, then any other variant seen in runs or stats. */
function variantNames(data: ExperimentReportData): string[] {
  const names: string[] = [];
  const add = (n: string): void => { if (!names.includes(n)) names.push(n); };
  data.variants.forEach((v) => add(v.name));
  data.runs.forEach((r) => add(r.variant));
  data.stats.forEach((s) => add(s.variant));
  return names;
}

/**
 * The report's figures in page order: training curves, ROC, one score histogram per variant with scores, the margin
 * trace (if any run has a margin), bars for each of {@link REPORT_BAR_METRICS} present in `stats`, and one embedding
 * scatter per variant with a projection (its {@link representativeRun}). Figures with nothing to draw are left out.
 */
export function reportFigures(data: ExperimentReportData): ReportFigure[] {
  checkReportData(data, 'reportFigures');
  const opts: FigureOptions = { variants: data.variants };
  const labelOf = new Map(data.variants.map((v) => [v.name, v.label]));
  const out: ReportFigure[] = [];
  const add = (section: string, caption: string, figure: PlotFigure | null, wide = false): void => {
    if (figure) out.push({ id: `cf-fig-${out.length}`, section, caption, wide, figure: { ...figure, config: { ...REPORT_PLOT_CONFIG, ...(figure.config ?? {}) } } });
  };
  // With replicates: a well-defined run order (seed, then replicate value), and legends naming the replicate value.
  const runs = reportRunOrder(data);
  const reps = hasReplicates(data);
  const rep = replicateLabel(data);
  const lowest = reps ? `its run with scores of the lowest seed, then the first ${rep}` : 'its lowest seed with scores';
  const names = variantNames(data);
  const hasVerification = (r: ReportRun): boolean => r.epochs.some((e) => typeof e.verificationAccuracy === 'number');
  const hasMargin = (r: ReportRun): boolean => (r.steps ?? []).some((st) => typeof st.margin === 'number' && Number.isFinite(st.margin));
  add('Training', 'Mean training loss per epoch, one line per run (legend grouped by variant); dotted: verification accuracy after each epoch, right axis.',
    nameReplicateTraces(trainingCurvesFigure(runs, opts), data, runs, (r, suffix) => r.epochs.length > 0 && (suffix === '' || hasVerification(r))), true);
  add('Fitting', 'Train vs test: per variant, the mean over its runs of verification on held-back images of the training identities (solid) and on the test identities (dotted), and the margin-free training accuracy in evaluation mode (dashed), at each evaluated epoch; the distance between solid and dotted is the gap.',
    fitCurvesFigure(runs, opts), true);
  add('Verification', `ROC of the final verification pairs on a log FAR axis; each variant is drawn from ${lowest}${representativeText(data, runs, 'scores', names)} (${reps ? 'its seed is' : ''}named in the legend).`, rocFigure(runs, opts));
  for (const v of names) {
    const run = reps ? representativeRun(runs, v, 'scores') : null;
    const which = run ? runText(data, run) : 'lowest seed with scores';
    add('Verification', `Genuine vs impostor cosine scores of ${labelOf.get(v) ?? v} (density; ${which}).`, scoreHistogramFigure(runs, v, opts));
  }
  add('Adaptive margin', 'Margin of the adaptive head over training steps, one line per run with a margin.', nameReplicateTraces(marginTraceFigure(runs, opts), data, runs, hasMargin), true);
  for (const m of REPORT_BAR_METRICS) {
    add('Comparison across variants', `Mean over ${reps ? `all (seed, ${rep}) runs` : 'seeds'}; error bars: confidence interval (absent when it is not available).`, variantBarsFigure(data.stats, m, opts));
  }
  for (const v of names) {
    const run = representativeRun(runs, v, 'projection');
    if (run) add('Embeddings', `2-D PCA of test embeddings of ${labelOf.get(v) ?? v} (${runText(data, run)}), coloured by identity.`, embeddingScatterFigure(run, opts));
  }
  return out;
}

const CSS = `
:root { color-scheme: light; }
body { margin: 0; background: #ffffff; color: #1d232a; font: 14px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; }
main { max-width: 1280px; margin: 0 auto; padding: 24px 28px 48px; }
h1 { font-size: 26px; margin: 0 0 6px; }
h2 { font-size: 19px; margin: 34px 0 10px; padding-bottom: 4px; border-bottom: 2px solid #e3e6ea; }
h3 { font-size: 15px; margin: 20px 0 6px; }
.cf-desc { margin: 0 0 12px; max-width: 900px; white-space: pre-line; }
.cf-meta { display: flex; flex-wrap: wrap; gap: 6px 26px; margin: 0; color: #4a5562; }
.cf-meta dt { font-weight: 600; display: inline; }
.cf-meta dd { display: inline; margin: 0 0 0 4px; }
nav.cf-toc { margin: 16px 0 0; font-size: 13px; }
nav.cf-toc a { margin-right: 14px; color: #1f5fa8; text-decoration: none; }
table { border-collapse: collapse; font-variant-numeric: tabular-nums; }
th, td { padding: 4px 10px; border-bottom: 1px solid #e3e6ea; vertical-align: top; }
thead th { border-bottom: 2px solid #c9ced4; }
caption { font-weight: 600; padding: 4px 0; }
.cf-table { overflow-x: auto; margin: 4px 0; }
.cf-note { color: #4a5562; font-size: 13px; margin: 4px 0 12px; }
.cf-failed pre { margin: 0; white-space: pre-wrap; font-size: 12px; color: #a11d1d; max-width: 760px; }
.cf-grid { display: grid; grid-template-columns: repeat(auto-fill, minmax(520px, 1fr)); gap: 18px; }
.cf-figure { margin: 0; border: 1px solid #e3e6ea; border-radius: 6px; padding: 6px; min-width: 0; }
.cf-figure.cf-wide { grid-column: 1 / -1; }
.cf-plot { width: 100%; min-height: 420px; }
.cf-plot-error { display: flex; align-items: center; justify-content: center; color: #a11d1d; }
.cf-figure figcaption { color: #4a5562; font-size: 12.5px; padding: 2px 8px 4px; }
details { margin-top: 8px; }
details summary { cursor: pointer; font-weight: 600; }
details pre { background: #f5f6f8; border: 1px solid #e3e6ea; border-radius: 6px; padding: 12px; overflow-x: auto; font-size: 12px; }
footer { margin-top: 40px; color: #7a8591; font-size: 12px; }
`;

// Draws every .cf-plot after load (plain browser JavaScript, no external resources).
const DRAW_SCRIPT = `
(function () {
  window.__cfReport = { done: false };
  function finish(total, drawn) { window.__cfReport = { done: true, total: total, drawn: drawn }; }
  function draw() {
    var divs = Array.prototype.slice.call(document.querySelectorAll('.cf-plot'));
    if (typeof Plotly === 'undefined') {
      console.error('coreface report: plotly.js is not loaded, no figure can be drawn');
      finish(divs.length, 0);
      return;
    }
    var jobs = divs.map(function (div) {
      var job;
      try {
        var id = div.getAttribute('data-fig');
        var el = id ? document.getElementById(id) : null;
        if (!el) throw new Error('no figure data element "' + id + '"');
        var fig = JSON.parse(el.textContent);
        job = Plotly.newPlot(div, fig.data, fig.layout || {}, fig.config || {});
      } catch (e) {
        job = Promise.reject(e);
      }
      return Promise.resolve(job).then(function () { return true; }, function (e) {
        var msg = e && e.message ? e.message : String(e);
        console.error('coreface report: figure ' + div.id + ' could not be drawn: ' + msg);
        try { Plotly.purge(div); } catch (e2) { /* ignore */ }
        div.classList.add('cf-plot-error');
        div.textContent = 'This figure could not be drawn: ' + msg;
        return false;
      });
    });
    Promise.all(jobs).then(function (ok) { finish(ok.length, ok.filter(Boolean).length); });
  }
  if (document.readyState === 'complete') draw(); else window.addEventListener('load', draw);
})();
`;

function sectionId(section: string): string {
  return 'cf-' + section.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '');
}

function buildReport(data: ExperimentReportData): { html: string; figures: number } {
  checkReportData(data, 'buildReportHtml');
  const figures = reportFigures(data);
  const parts: string[] = [];
  const toc: [string, string][] = [];
  const section = (title: string, id: string, body: string): void => {
    toc.push([id, title]);
    parts.push(`<section id="${escapeHtml(id)}"><h2>${escapeHtml(title)}</h2>\n${body}\n</section>`);
  };

  const finished = data.runs.length;
  const meta: [string, string][] = [
    ['Backend', data.backend],
    ['Seeds', data.seeds.map(String).join(', ') || '-'],
    ...(data.replicates ? [[`Replicates (${data.replicates.label})`, `${data.replicates.values.map(String).join(', ')} (${data.replicates.path})`] as [string, string]] : []),
    ['Generated', data.generatedAt],
    ['Runs', `${finished} finished${data.failed.length > 0 ? `, ${data.failed.length} failed` : ''}`],
  ];

  if (data.variants.length > 0) {
    const rows = data.variants
      .map((v) => `<tr><td>${escapeHtml(v.name)}</td><td>${escapeHtml(v.label)}</td><td>${escapeHtml(v.description ?? '')}</td></tr>`)
      .join('\n');
    section('Variants', 'cf-variants', `<div class="cf-table"><table><thead><tr><th style="text-align:left">name</th><th style="text-align:left">label</th><th style="text-align:left">description</th></tr></thead>\n<tbody>\n${rows}\n</tbody></table></div>`);
  }
  if (data.tables.length > 0) {
    // Table fragments are trusted HTML built by the caller (e.g. tableToHtml); titles and notes are escaped.
    const body = data.tables
      .map((t) => `<h3>${escapeHtml(t.title)}</h3>\n<div class="cf-table">${t.html}</div>${t.note ? `\n<p class="cf-note">${escapeHtml(t.note)}</p>` : ''}`)
      .join('\n');
    section('Results', 'cf-results', body);
  }
  if (data.failed.length > 0) {
    const repCol = hasReplicates(data) || data.failed.some((f) => f.replicate !== undefined);
    const rows = data.failed
      .map((f) => `<tr><td>${escapeHtml(String(f.id))}</td><td>${escapeHtml(String(f.variant))}</td><td>${escapeHtml(String(f.seed))}</td>` +
        `${repCol ? `<td>${escapeHtml(f.replicate === undefined ? '' : String(f.replicate))}</td>` : ''}<td><pre>${escapeHtml(String(f.error))}</pre></td></tr>`)
      .join('\n');
    const repHead = repCol ? `<th style="text-align:right">${escapeHtml(replicateLabel(data))}</th>` : '';
    section(`Failed runs (${data.failed.length})`, 'cf-failed', `<div class="cf-table cf-failed"><table><thead><tr><th style="text-align:left">run</th><th style="text-align:left">variant</th><th style="text-align:right">seed</th>${repHead}<th style="text-align:left">error</th></tr></thead>\n<tbody>\n${rows}\n</tbody></table></div>`);
  }
  const sections: string[] = [];
  for (const f of figures) if (!sections.includes(f.section)) sections.push(f.section);
  for (const s of sections) {
    const figs = figures
      .filter((f) => f.section === s)
      .map((f) => `<figure class="cf-figure${f.wide ? ' cf-wide' : ''}"><div class="cf-plot" id="${escapeHtml(f.id)}-plot" data-fig="${escapeHtml(f.id)}"></div><figcaption>${escapeHtml(f.caption)}</figcaption></figure>`)
      .join('\n');
    section(s, sectionId(s), `<div class="cf-grid">\n${figs}\n</div>`);
  }
  let configJson: string;
  try {
    configJson = JSON.stringify(data.config, null, 2) ?? '(none)';
  } catch (e) {
    configJson = `(the experiment definition could not be serialised: ${(e as Error).message})`;
  }
  section('Experiment definition', 'cf-config', `<details><summary>Base config and variants (JSON)</summary><pre>${escapeHtml(configJson)}</pre></details>`);

  const plotly = fs.readFileSync(plotlyBundlePath(), 'utf8').replace(/<\/script/gi, '<\\/script');
  const figureData = figures.map((f) => `<script type="application/json" id="${escapeHtml(f.id)}">${scriptJson(f.figure)}</script>`).join('\n');
  const html = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="coreface-lab">
<title>${escapeHtml(data.title)}</title>
<style>${CSS}</style>
</head>
<body><main>
<header>
<h1>${escapeHtml(data.title)}</h1>
${data.description ? `<p class="cf-desc">${escapeHtml(data.description)}</p>` : ''}
<dl class="cf-meta">${meta.map(([k, v]) => `<div><dt>${escapeHtml(k)}</dt><dd>${escapeHtml(v)}</dd></div>`).join('')}</dl>
<nav class="cf-toc">${toc.map(([id, t]) => `<a href="#${escapeHtml(id)}">${escapeHtml(t)}</a>`).join('')}</nav>
</header>
${parts.join('\n')}
<footer>Self-contained report generated by coreface-lab (plotly.js inlined; no external resources).</footer>
</main>
<script>${plotly}</script>
${figureData}
<script>${DRAW_SCRIPT}</script>
</body></html>
`;
  return { html, figures: figures.length };
}

/**
 * The report as ONE self-contained HTML page: plotly.js and CSS inlined, no external URL. Shows the title,
 * description, backend / seeds / date, the variants, the tables (`data.tables[].html` is inserted as given: it must
 * be trusted HTML, e.g. from `tableToHtml`), the failed runs, every figure of {@link reportFigures} (each in a
 * `<div class="cf-plot">`, drawn with `Plotly.newPlot` after load) and the experiment definition as pretty JSON in
 * a `<details>`. All other text is HTML-escaped; figure JSON has `<` escaped as `\u003c`.
 * @throws when `data` does not have the {@link ExperimentReportData} shape.
 */
export function buildReportHtml(data: ExperimentReportData): string {
  return buildReport(data).html;
}

/**
 * Writes {@link buildReportHtml} to `file` atomically (parent directories are created) and returns its absolute
 * path and the number of figures (= `.cf-plot` elements) on the page.
 */
export function writeReportHtml(file: string, data: ExperimentReportData): { file: string; figures: number } {
  if (typeof file !== 'string' || file.length === 0) throw new Error('writeReportHtml: file must be a non-empty path');
  const out = path.resolve(file);
  const { html, figures } = buildReport(data);
  writeFileAtomic(out, html);
  return { file: out, figures };
}

function positive(name: string, v: number | undefined, dflt: number): number {
  if (v === undefined) return dflt;
  if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) throw new Error(`checkReportInBrowser: ${name} must be a positive number, got ${String(v)}`);
  return v;
}

/** Fraction of pixels of a PNG whose R, G or B is below {@link NON_WHITE_LEVEL}. */
function nonWhiteFraction(png: Buffer): number {
  const img = PNG.sync.read(png);
  const d = img.data;
  const n = img.width * img.height;
  if (n === 0) return 0;
  let count = 0;
  for (let o = 0; o < d.length; o += 4) {
    if (d[o] < NON_WHITE_LEVEL || d[o + 1] < NON_WHITE_LEVEL || d[o + 2] < NON_WHITE_LEVEL) count++;
  }
  return count / n;
}

// Evaluated in the page: the report protocol's flag when present, else "every .cf-plot has a plotly graph".
const SETTLED_EXPR = `(() => {
  const r = window.__cfReport;
  if (r && typeof r === 'object') return r.done === true;
  return Array.prototype.every.call(document.querySelectorAll('.cf-plot'), (d) => !!d.querySelector('.main-svg'));
})()`;
const COUNT_EXPR = `(() => {
  const divs = Array.prototype.slice.call(document.querySelectorAll('.cf-plot'));
  const links = [];
  for (const el of document.querySelectorAll('[src], [href]')) {
    for (const a of ['src', 'href', 'xlink:href']) {
      const v = el.getAttribute(a);
      if (v && /^\\s*(https?:)?\\/\\//i.test(v)) links.push(v);
    }
  }
  return { expected: divs.length, drawn: divs.filter((d) => !!d.querySelector('.main-svg')).length, links };
})()`;

/**
 * Opens an HTML report in headless Chromium (the executable of `chromiumPath()`, flags {@link CHROMIUM_ARGS}, a
 * fresh temporary profile; closed afterwards), collects console errors and uncaught page errors, waits until every
 * figure has settled (the page's `window.__cfReport.done`, or for other pages every `.cf-plot` holding a
 * `.main-svg`; at most `timeoutMs`), counts the rendered plots, and takes a full-page PNG screenshot (written to
 * `opts.screenshot` when given) whose non-white pixel fraction is measured with pngjs. Also lists requests to
 * non-local URLs and http(s) `src` / `href` attributes of the rendered DOM.
 * @throws when the file or Chromium is missing, or the page cannot be loaded.
 */
export async function checkReportInBrowser(file: string, opts: CheckReportOptions = {}): Promise<CheckReportResult> {
  const abs = path.resolve(file);
  if (!fs.existsSync(abs)) throw new Error(`checkReportInBrowser: no such file ${abs}`);
  const timeout = positive('timeoutMs', opts.timeoutMs, 30000);
  const width = Math.round(positive('width', opts.width, 1280));
  const height = Math.round(positive('height', opts.height, 900));
  if (!chromiumAvailable()) {
    throw new Error(`checkReportInBrowser: Chromium not found at ${chromiumPath()}: install the Debian package chromium or set ${CHROMIUM_ENV_VAR}`);
  }
  let pw: typeof import('playwright-core');
  try {
    pw = await import('playwright-core');
  } catch (e) {
    throw new Error(`checkReportInBrowser needs the npm package playwright-core: ${(e as Error).message}`);
  }
  const profileDir = fs.mkdtempSync(path.join(os.tmpdir(), 'coreface-report-'));
  let context: BrowserContext | null = null;
  try {
    context = await pw.chromium.launchPersistentContext(profileDir, {
      executablePath: chromiumPath(),
      headless: true,
      args: [...CHROMIUM_ARGS],
      viewport: { width, height },
    });
    const page = context.pages()[0] ?? (await context.newPage());
    const consoleErrors: string[] = [];
    const externalRequests: string[] = [];
    page.on('console', (m) => { if (m.type() === 'error') consoleErrors.push(m.text()); });
    page.on('pageerror', (e) => consoleErrors.push(`uncaught: ${e.message}`));
    page.on('request', (r) => { if (!/^(file|data|blob|about):/i.test(r.url())) externalRequests.push(r.url()); });
    await page.goto(pathToFileURL(abs).href, { waitUntil: 'load', timeout });
    let timedOut = false;
    try {
      await page.waitForFunction(SETTLED_EXPR, undefined, { timeout, polling: 50 });
    } catch (e) {
      if (!(e instanceof pw.errors.TimeoutError)) throw e;
      timedOut = true;
    }
    const counts = (await page.evaluate(COUNT_EXPR)) as { expected: number; drawn: number; links: string[] };
    const png = await page.screenshot({ fullPage: true, type: 'png' });
    if (opts.screenshot) writeFileAtomic(path.resolve(opts.screenshot), png);
    return {
      consoleErrors,
      plots: counts.drawn,
      expectedPlots: counts.expected,
      screenshotBytes: png.length,
      nonBlankFraction: nonWhiteFraction(png),
      externalRequests,
      externalLinks: counts.links,
      timedOut,
    };
  } finally {
    try {
      if (context) await context.close();
    } finally {
      fs.rmSync(profileDir, { recursive: true, force: true });
    }
  }
}
