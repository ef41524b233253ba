/**
 * A plotly figure as one notebook output with three representations (a Jupyter MIME bundle), so each front end
 * picks the richest it can show:
 *
 * - `application/vnd.plotly.v1+json`: the figure itself; VS Code and JupyterLab (with the jupyterlab-plotly
 *   extension) render it natively, interactive;
 * - `text/html`: a div and a script that draws it with plotly.js (the classic Jupyter Notebook, JupyterLab without
 *   the extension). plotly.js is not inlined per figure: the first figure of a kernel session carries the bundle
 *   of the installed `plotly.js-dist-min` once (a loader that is safe under RequireJS), later figures wait for it;
 * - `image/png`: the static rendering (GitHub, nbviewer, untrusted notebooks), plus `text/plain`.
 *
 * Pure view code: it builds the bundle, it does not render or display (see `showPlot` in ./notebook).
 */
import * as fs from 'fs';
import { randomBytes } from 'crypto';
import { DEFAULT_PLOT_HEIGHT, DEFAULT_PLOT_WIDTH, type PlotFigure, figureJson, plotlyBundlePath } from './plot';

/** MIME type of a plotly figure (`{ data, layout, config }`), rendered by VS Code and jupyterlab-plotly. */
export const PLOTLY_MIME = 'application/vnd.plotly.v1+json';

/** A Jupyter MIME bundle: MIME type -> string (text, base64 for binary types) or JSON value (`+json` types). */
export type MimeBundle = Record<string, string | object>;

/** plotly config of notebook figures (the modebar without the plotly logo); a figure's own config wins. */
export const NOTEBOOK_PLOT_CONFIG: Readonly<Record<string, unknown>> = { displaylogo: false };

/** Marker comment at the start of the loader script (the runner's stripping and tests look for it). */
export const PLOTLY_LOADER_MARKER = 'coreface-lab plotly.js loader';

/** Global (window) name of the queue of figures waiting for plotly.js. */
const QUEUE = '__corefacePlotlyQueue';

/** When the HTML representation includes the plotly.js loader. */
export type PlotlyLoaderMode = 'once' | 'always' | 'never';

/** Options of {@link plotlyMimeBundle}. */
export interface PlotlyBundleOptions {
  /** Width of the figure in CSS pixels (default `layout.width`, else {@link DEFAULT_PLOT_WIDTH}). */
  width?: number;
  /** Height of the figure in CSS pixels (default `layout.height`, else {@link DEFAULT_PLOT_HEIGHT}). */
  height?: number;
  /**
   * 'once' (default): the first bundle built in this process (= kernel session) carries plotly.js, later ones
   * reuse it; 'always': this one carries it (e.g. after clearing the output that had it); 'never': it does not.
   */
  loader?: PlotlyLoaderMode;
}

let loaderEmitted = false;
let loaderCache: string | null = null;

/** Makes the next 'once' bundle carry the plotly.js loader again (e.g. after the output that had it was cleared). */
export function resetPlotlyLoader(): void {
  loaderEmitted = false;
}

/** Whether a bundle of this process already carried the plotly.js loader. */
export function plotlyLoaderEmitted(): boolean {
  return loaderEmitted;
}

/**
 * The `<script>` that defines `window.Plotly` from the installed plotly.js-dist-min bundle (~4.8 MB), unless the
 * page already has it, then draws the figures queued before it ran. `define`, `module` and `exports` are shadowed,
 * so the bundle never registers itself as an anonymous AMD/CommonJS module (the classic Notebook runs RequireJS):
 * it sets `window.Plotly` as in a plain page.
 */
export function plotlyLoaderScript(): string {
  if (loaderCache === null) {
    const src = fs.readFileSync(plotlyBundlePath(), 'utf8').replace(/<\/script/gi, '<\\/script');
    loaderCache = `<script type="text/javascript">/* ${PLOTLY_LOADER_MARKER} (plotly.js-dist-min, once per notebook) */
if (!window.Plotly) {
(function (define, module, exports) {
${src}
}).call(window);
}
(function () { var q = window.${QUEUE} || []; window.${QUEUE} = []; q.forEach(function (f) { f(); }); })();
</script>`;
  }
  return loaderCache;
}

function sizeOf(field: 'width' | 'height', given: number | undefined, layout: Record<string, unknown>, dflt: number): number {
  const v = given ?? layout[field];
  if (v === undefined) return dflt;
  if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) throw new Error(`${field} must be a positive number, got ${String(v)}`);
  return v;
}

function checkFigure(fig: PlotFigure): void {
  if (!fig || typeof fig !== 'object' || !Array.isArray(fig.data)) {
    throw new Error(`figure must be an object { data: trace[], layout? }, got ${fig === null ? 'null' : typeof fig}`);
  }
}

function escapeHtml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** The layout's title text, if any. */
function titleOf(fig: PlotFigure): string | undefined {
  const t = fig.layout?.title as { text?: unknown } | string | undefined;
  return typeof t === 'string' ? t : typeof t?.text === 'string' ? t.text : undefined;
}

/** Options of {@link plotlyFigureHtml}. */
export interface PlotlyFigureHtmlOptions {
  /** Size of the figure's div in CSS pixels. */
  width: number;
  height: number;
  /** Put the plotly.js loader script ({@link plotlyLoaderScript}) before the figure's script. */
  loader: boolean;
  /** The div's id (default: random). */
  id?: string;
  /**
   * PNG shown in the div until the figure is drawn: what a reader sees where scripts do not run (an untrusted
   * notebook in the classic Notebook shows sanitised HTML) or plotly.js is not loaded. Default: a text note.
   */
  png?: Uint8Array;
}

/**
 * The HTML representation: a sized div holding a placeholder (the PNG, else a note) until the figure is drawn, and
 * a script that draws the figure with `window.Plotly`, or queues it for the loader; with `loader`, the loader
 * script comes first.
 */
export function plotlyFigureHtml(figure: PlotFigure, opts: PlotlyFigureHtmlOptions): string {
  checkFigure(figure);
  const id = opts.id ?? `coreface-plot-${randomBytes(6).toString('hex')}`;
  const fig = figureJson({ data: figure.data, layout: figure.layout ?? {}, config: { ...NOTEBOOK_PLOT_CONFIG, ...(figure.config ?? {}) } })
    .replace(/</g, '\\u003c');
  const title = titleOf(figure) ?? 'plotly figure';
  const placeholder = opts.png
    ? `<img src="data:image/png;base64,${Buffer.from(opts.png).toString('base64')}" alt="${escapeHtml(title)}" width="${opts.width}" height="${opts.height}">`
    : `<p style="color:#888;font:12px sans-serif">${escapeHtml(`${title}: interactive figure, drawn once plotly.js is loaded (the first figure of a kernel session loads it: run the notebook from the top).`)}</p>`;
  return `<div id="${escapeHtml(id)}" class="coreface-plotly" style="width:${opts.width}px;height:${opts.height}px">${placeholder}</div>\n` +
    (opts.loader ? `${plotlyLoaderScript()}\n` : '') +
    `<script type="text/javascript">
(function () {
  var fig = ${fig};
  function draw() {
    var el = document.getElementById(${JSON.stringify(id)});
    if (!el) return;
    el.textContent = '';
    window.Plotly.newPlot(el, fig.data, fig.layout, fig.config);
  }
  if (window.Plotly) draw(); else (window.${QUEUE} = window.${QUEUE} || []).push(draw);
})();
</script>`;
}

/**
 * The MIME bundle of a figure and its PNG rendering: `text/plain`, `image/png` (base64), {@link PLOTLY_MIME}
 * (`{ data, layout, config }`) and `text/html` (see {@link plotlyFigureHtml}; with the loader per `opts.loader`).
 */
export function plotlyMimeBundle(figure: PlotFigure, png: Uint8Array, opts: PlotlyBundleOptions = {}): MimeBundle {
  checkFigure(figure);
  if (!(png instanceof Uint8Array) || png.length < 8 || png[0] !== 0x89 || png[1] !== 0x50) {
    throw new Error('png must be the bytes of a PNG file (e.g. from renderPlotPng)');
  }
  const mode = opts.loader ?? 'once';
  if (mode !== 'once' && mode !== 'always' && mode !== 'never') throw new Error(`loader must be 'once', 'always' or 'never', got '${String(mode)}'`);
  const layout = figure.layout ?? {};
  const width = sizeOf('width', opts.width, layout, DEFAULT_PLOT_WIDTH);
  const height = sizeOf('height', opts.height, layout, DEFAULT_PLOT_HEIGHT);
  const withLoader = mode === 'always' || (mode === 'once' && !loaderEmitted);
  const html = plotlyFigureHtml(figure, { width, height, loader: withLoader, png });
  if (withLoader) loaderEmitted = true;
  const title = titleOf(figure);
  // JSON round trip: typed arrays become arrays, non-finite numbers null (as in the HTML and the PNG).
  const json = JSON.parse(figureJson({ data: figure.data, layout, config: { ...NOTEBOOK_PLOT_CONFIG, ...(figure.config ?? {}) } })) as object;
  return {
    'text/plain': `<plotly figure${title ? `: ${title}` : ''}>`,
    'image/png': Buffer.from(png).toString('base64'),
    [PLOTLY_MIME]: json,
    'text/html': html,
  };
}
