/**
 * Display helpers for tslab notebooks: show PNG bytes, HTML, tables and plotly figures (one output carrying the
 * interactive figure and its PNG rendering, see ./plotly-output), the notebook mode and the output folder. The rest
 * of the parameter block: ./params.
 *
 * The display goes through tslab's `display` (tslab is a dev dependency, loaded lazily from the running kernel);
 * {@link setDisplay} swaps in another sink (tests, other front-ends). Outside a kernel, nothing is required.
 */
import * as fs from 'fs';
import * as path from 'path';
import { createRequire } from 'module';
import { PNG } from 'pngjs';
import { PlotFigure, RenderPlotOptions, renderPlotPng, savePlotHtml } from '../report/plot';
import { MimeBundle, PlotlyLoaderMode, plotlyMimeBundle } from '../report/plotly-output';
import { TableData, DataFrameLike, TableFormatOptions, tableToHtml } from '../report/table';

/** The subset of tslab's `Display` used here. */
export interface NotebookDisplay {
  png(b: Uint8Array): void;
  html(s: string): void;
  markdown(s: string): void;
  text(s: string): void;
  /**
   * Shows one output with several MIME types (tslab's `display.bundle`, added by patches/tslab+1.0.22.patch).
   * Without it, {@link showPlot} shows the PNG only.
   */
  bundle?(data: MimeBundle, metadata?: Record<string, unknown>): void;
}

/** Notebook run mode: tiny sizes that finish in seconds ('quick', default) or the larger study ('full'). */
export type NotebookMode = 'quick' | 'full';

/** Environment variable that selects the notebook mode. */
export const NOTEBOOK_MODE_ENV = 'NOTEBOOK_MODE';
/** Environment variable that overrides the notebook output root (default results/notebooks). */
export const NOTEBOOK_OUT_ENV = 'NOTEBOOK_OUT';

let sink: NotebookDisplay | null = null;

/** Uses `d` for every display call (pass null to go back to tslab's display). */
export function setDisplay(d: NotebookDisplay | null): void {
  sink = d;
}

/** The active display: the one set with {@link setDisplay}, else tslab's (throws outside tslab's install). */
export function getDisplay(): NotebookDisplay {
  if (sink) return sink;
  try {
    const req = createRequire(__filename);
    return (req('tslab') as { display: NotebookDisplay }).display;
  } catch (e) {
    throw new Error(`no notebook display: tslab is not installed (${(e as Error).message}); call setDisplay() first`);
  }
}

/** The mode from `NOTEBOOK_MODE` ('quick' when unset); anything else throws. */
export function notebookMode(env: NodeJS.ProcessEnv = process.env): NotebookMode {
  const m = env[NOTEBOOK_MODE_ENV] ?? 'quick';
  if (m !== 'quick' && m !== 'full') throw new Error(`${NOTEBOOK_MODE_ENV} must be 'quick' or 'full', got '${m}'`);
  return m;
}

/** Project root as seen from a notebook (the folder above notebooks/, or the working directory). */
export function projectRoot(cwd = process.cwd()): string {
  return path.basename(cwd) === 'notebooks' ? path.dirname(cwd) : cwd;
}

/** Output folder of the notebooks: `NOTEBOOK_OUT`, else `<root>/results/notebooks` (created). */
export function notebookOutDir(...sub: string[]): string {
  const base = process.env[NOTEBOOK_OUT_ENV] || path.join(projectRoot(), 'results', 'notebooks');
  const dir = path.join(base, ...sub);
  fs.mkdirSync(dir, { recursive: true });
  return dir;
}

/** PNG file bytes of 8-bit pixels with 1 (grey), 3 (RGB) or 4 (RGBA) channels (e.g. `imageGrid(...)` output). */
export function encodePng(data: Uint8Array | Uint8ClampedArray, width: number, height: number): Uint8Array {
  if (!Number.isInteger(width) || width <= 0) throw new Error(`width must be a positive integer, got ${width}`);
  if (!Number.isInteger(height) || height <= 0) throw new Error(`height must be a positive integer, got ${height}`);
  const n = width * height;
  const ch = data.length / n;
  if (ch !== 1 && ch !== 3 && ch !== 4) throw new Error(`data length ${data.length} is not width*height (${n}) times 1, 3 or 4`);
  const png = new PNG({ width, height });
  for (let i = 0; i < n; i++) {
    const o = 4 * i;
    if (ch === 1) { png.data[o] = png.data[o + 1] = png.data[o + 2] = data[i]; png.data[o + 3] = 255; }
    else if (ch === 3) { png.data[o] = data[3 * i]; png.data[o + 1] = data[3 * i + 1]; png.data[o + 2] = data[3 * i + 2]; png.data[o + 3] = 255; }
    else { png.data[o] = data[o]; png.data[o + 1] = data[o + 1]; png.data[o + 2] = data[o + 2]; png.data[o + 3] = data[o + 3]; }
  }
  return new Uint8Array(PNG.sync.write(png));
}

/** Shows PNG bytes. */
export function showPng(bytes: Uint8Array): void {
  getDisplay().png(bytes);
}

/** Shows HTML. */
export function showHtml(html: string): void {
  getDisplay().html(html);
}

/** Shows Markdown. */
export function showMarkdown(md: string): void {
  getDisplay().markdown(md);
}

/** Shows a table (records-based {@link TableData} or a danfojs DataFrame) as HTML. */
export function showTable(table: TableData | DataFrameLike, opts: TableFormatOptions = {}): void {
  showHtml(tableToHtml(table, opts));
}

/** Options of {@link showPlot}. */
export interface ShowPlotOptions extends RenderPlotOptions {
  /** Also write `<plots dir>/<name>.html` (interactive) and `<name>.png`; default: nothing written. */
  name?: string;
  /** Folder of the saved files (default `notebookOutDir('plots')`). */
  dir?: string;
  /** When the output's HTML carries plotly.js (default 'once': the first figure of the kernel session). */
  plotlyLoader?: PlotlyLoaderMode;
}

/**
 * Renders the figure to PNG (headless Chromium) and shows ONE output carrying the interactive figure
 * (`application/vnd.plotly.v1+json` and `text/html`, see ./plotly-output) and the PNG as fallback; with a display
 * that has no `bundle` (an unpatched tslab), the PNG only. With `name`, also saves `<name>.png` and the
 * standalone interactive `<name>.html` in the plots folder. Resolves to nothing (a notebook cell would show a
 * returned value); use `renderPlotPng` for the bytes.
 */
export async function showPlot(figure: PlotFigure, opts: ShowPlotOptions = {}): Promise<void> {
  const png = await renderPlotPng(figure, opts);
  if (opts.name) {
    if (!/^[A-Za-z0-9._-]+$/.test(opts.name)) throw new Error(`name must be a plain file name ([A-Za-z0-9._-]), got '${opts.name}'`);
    const dir = opts.dir ?? notebookOutDir('plots');
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, `${opts.name}.png`), png);
    savePlotHtml(figure, path.join(dir, `${opts.name}.html`));
  }
  const d = getDisplay();
  if (typeof d.bundle === 'function') {
    d.bundle(plotlyMimeBundle(figure, png, { width: opts.width, height: opts.height, loader: opts.plotlyLoader }));
  } else {
    d.png(png);
  }
}
