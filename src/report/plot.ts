/**
 * Plotly figures rendered to PNG by a headless Chromium (Debian `chromium` driven by `playwright-core`), and saved
 * as standalone interactive HTML. One browser and one page with plotly.js loaded are kept warm, so a figure after
 * the first costs tens of milliseconds; call {@link closePlotRenderer} when done (a Node script otherwise stays
 * alive while the browser runs).
 *
 * `playwright-core` is loaded lazily (it is a dev dependency: the library itself never needs a browser), and
 * plotly.js comes from the `plotly.js-dist-min` bundle. Nothing is downloaded.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import type { BrowserContext, Page } from 'playwright-core';

/** One plotly trace (`{ type: 'scatter', x, y, ... }`); typed arrays are accepted and sent as plain arrays. */
export type PlotTrace = Record<string, unknown>;

/** A plotly figure: traces, layout and (HTML only) config, exactly as `Plotly.newPlot` takes them. */
export interface PlotFigure {
  data: PlotTrace[];
  layout?: Record<string, unknown>;
  config?: Record<string, unknown>;
}

/** Options of {@link renderPlotPng}. */
export interface RenderPlotOptions {
  /** Image width in CSS pixels (default `layout.width` or {@link DEFAULT_PLOT_WIDTH}). */
  width?: number;
  /** Image height in CSS pixels (default `layout.height` or {@link DEFAULT_PLOT_HEIGHT}). */
  height?: number;
  /** Device pixel ratio of the PNG (default 1; 2 gives crisper, 4x larger files). */
  scale?: number;
}

/** Options of {@link savePlotHtml}. */
export interface SavePlotHtmlOptions {
  /**
   * How the HTML gets plotly.js: 'reference' (default) writes `plotly.min.js` once beside the file and loads it
   * by relative path (keeps every HTML file a few KB); 'inline' embeds the 4.8 MB bundle (a single portable file).
   */
  plotly?: 'reference' | 'inline';
  /** Page title (default: the layout's title text, else the file name). */
  title?: string;
}

/** Default figure width in pixels. */
export const DEFAULT_PLOT_WIDTH = 720;
/** Default figure height in pixels. */
export const DEFAULT_PLOT_HEIGHT = 440;
/** Chromium used unless `COREFACE_CHROMIUM` names another executable (Debian package `chromium`). */
export const DEFAULT_CHROMIUM_PATH = '/usr/bin/chromium';
/** Environment variable overriding the Chromium executable. */
export const CHROMIUM_ENV_VAR = 'COREFACE_CHROMIUM';
/** Flags Chromium is started with (no network, no profile state, no GPU). */
export const CHROMIUM_ARGS: readonly string[] = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
  '--disable-sync', '--no-first-run',
];

/** Path of the plotly.js bundle (`plotly.js-dist-min/plotly.min.js`). */
export function plotlyBundlePath(): string {
  return require.resolve('plotly.js-dist-min/plotly.min.js');
}

/** The Chromium executable to use (env `COREFACE_CHROMIUM`, else `/usr/bin/chromium`). */
export function chromiumPath(): string {
  return process.env[CHROMIUM_ENV_VAR] || DEFAULT_CHROMIUM_PATH;
}

/** Whether a Chromium executable is present (plots can be rendered). */
export function chromiumAvailable(): boolean {
  try {
    fs.accessSync(chromiumPath(), fs.constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** JSON of a figure: typed arrays become plain arrays, non-finite numbers become null (gaps in plotly). */
export function figureJson(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) => {
    if (ArrayBuffer.isView(v) && !(v instanceof DataView)) return Array.from(v as unknown as ArrayLike<number>);
    if (typeof v === 'number' && !Number.isFinite(v)) return null;
    return v;
  });
}

function checkFigure(fig: PlotFigure): void {
  if (!fig || typeof fig !== 'object' || !Array.isArray(fig.data)) {
    throw new Error(`figure must be an object { data: trace[], layout? }, got ${fig === null ? 'null' : typeof fig}`);
  }
  if (fig.layout !== undefined && (typeof fig.layout !== 'object' || fig.layout === null)) {
    throw new Error('figure.layout must be an object when given');
  }
}

function positiveOr(field: string, v: unknown, dflt: number): number {
  if (v === undefined) return dflt;
  if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) throw new Error(`${field} must be a positive number, got ${String(v)}`);
  return v;
}

// The page's render function (plain browser JavaScript: the project has no DOM typings).
const PAGE_HTML = `<!doctype html><html><head><meta charset="utf-8"></head><body style="margin:0">
<div id="plot"></div>
<script>
window.__render = async function (fig, w, h, scale) {
  const div = document.getElementById('plot');
  const layout = Object.assign({}, fig.layout || {}, { width: w, height: h });
  await Plotly.newPlot(div, fig.data, layout, { staticPlot: true, displayModeBar: false });
  const url = await Plotly.toImage(div, { format: 'png', width: w, height: h, scale: scale });
  Plotly.purge(div);
  return url.slice(url.indexOf(',') + 1);
};
</script></body></html>`;

interface Renderer {
  context: BrowserContext;
  page: Page;
  profileDir: string;
}

let renderer: Promise<Renderer> | null = null;
let queue: Promise<unknown> = Promise.resolve();

async function launch(): Promise<Renderer> {
  const exe = chromiumPath();
  if (!chromiumAvailable()) {
    throw new Error(
      `Chromium not found at ${exe}: install the Debian package (apt-get install chromium, or npm run kernel:install) ` +
        `or set ${CHROMIUM_ENV_VAR} to a Chromium executable`,
    );
  }
  let pw: typeof import('playwright-core');
  try {
    pw = await import('playwright-core');
  } catch (e) {
    throw new Error(`renderPlotPng needs the npm package playwright-core (a dev dependency of coreface-lab): ${(e as Error).message}`);
  }
  const profileDir = fs.mkdtempSync(path.join(os.tmpdir(), 'coreface-chromium-'));
  try {
    const context = await pw.chromium.launchPersistentContext(profileDir, {
      executablePath: exe,
      headless: true,
      args: [...CHROMIUM_ARGS],
      viewport: { width: 1600, height: 1200 },
    });
    const page = context.pages()[0] ?? (await context.newPage());
    await page.setContent(PAGE_HTML);
    await page.addScriptTag({ path: plotlyBundlePath() });
    return { context, page, profileDir };
  } catch (e) {
    fs.rmSync(profileDir, { recursive: true, force: true });
    throw e;
  }
}

function getRenderer(): Promise<Renderer> {
  if (!renderer) {
    renderer = launch();
    renderer.catch(() => { renderer = null; });
  }
  return renderer;
}

/**
 * Renders a plotly figure to PNG bytes in the warm headless Chromium. Calls are serialised (one page).
 * Size: `opts.width/height`, else `layout.width/height`, else 720 x 440.
 */
export async function renderPlotPng(figure: PlotFigure, opts: RenderPlotOptions = {}): Promise<Uint8Array> {
  checkFigure(figure);
  const layout = figure.layout ?? {};
  const w = positiveOr('width', opts.width ?? layout.width, DEFAULT_PLOT_WIDTH);
  const h = positiveOr('height', opts.height ?? layout.height, DEFAULT_PLOT_HEIGHT);
  const scale = positiveOr('scale', opts.scale, 1);
  const json = figureJson({ data: figure.data, layout });
  const job = queue.then(async () => {
    const r = await getRenderer();
    const b64 = (await r.page.evaluate(`window.__render(${json}, ${w}, ${h}, ${scale})`)) as string;
    return new Uint8Array(Buffer.from(b64, 'base64'));
  });
  queue = job.catch(() => undefined);
  return job;
}

/** Closes the warm browser (if any) and removes its temporary profile. Safe to call repeatedly. */
export async function closePlotRenderer(): Promise<void> {
  const r = renderer;
  renderer = null;
  if (!r) return;
  let rr: Renderer;
  try {
    rr = await r;
  } catch {
    return;
  }
  try {
    await rr.context.close();
  } finally {
    fs.rmSync(rr.profileDir, { recursive: true, force: true });
  }
}

function escapeHtml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/**
 * Writes `file` as a standalone interactive HTML page of the figure (parent directories are created) and returns
 * its absolute path. With `plotly: 'reference'` (default) `plotly.min.js` is copied once into the same folder.
 */
export function savePlotHtml(figure: PlotFigure, file: string, opts: SavePlotHtmlOptions = {}): string {
  checkFigure(figure);
  const mode = opts.plotly ?? 'reference';
  if (mode !== 'reference' && mode !== 'inline') throw new Error(`plotly must be 'reference' or 'inline', got ${String(mode)}`);
  const out = path.resolve(file);
  const dir = path.dirname(out);
  fs.mkdirSync(dir, { recursive: true });
  const layoutTitle = (figure.layout?.title as { text?: unknown } | string | undefined);
  const titleText = typeof layoutTitle === 'string' ? layoutTitle : typeof layoutTitle?.text === 'string' ? layoutTitle.text : undefined;
  const title = opts.title ?? titleText ?? path.basename(out, path.extname(out));
  let script: string;
  if (mode === 'inline') {
    script = `<script>${fs.readFileSync(plotlyBundlePath(), 'utf8').replace(/<\/script/gi, '<\\/script')}</script>`;
  } else {
    const lib = path.join(dir, 'plotly.min.js');
    const src = plotlyBundlePath();
    if (!fs.existsSync(lib) || fs.statSync(lib).size !== fs.statSync(src).size) fs.copyFileSync(src, lib);
    script = '<script src="plotly.min.js"></script>';
  }
  const fig = figureJson({ data: figure.data, layout: figure.layout ?? {}, config: { responsive: true, ...(figure.config ?? {}) } })
    .replace(/<\/script/gi, '<\\/script');
  const html = `<!doctype html>
<html><head><meta charset="utf-8"><title>${escapeHtml(title)}</title>${script}</head>
<body><div id="plot" style="width:100%;height:95vh"></div>
<script>const fig = ${fig}; Plotly.newPlot('plot', fig.data, fig.layout, fig.config);</script>
</body></html>
`;
  const tmp = `${out}.tmp-${process.pid}`;
  fs.writeFileSync(tmp, html);
  fs.renameSync(tmp, out);
  return out;
}
