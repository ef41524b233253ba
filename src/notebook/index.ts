/** Notebook helpers (tslab): display of PNG, HTML, tables and plotly figures, notebook parameters, cached runs. */
export { showPlot, showPng, showHtml, showMarkdown, showTable, encodePng, setDisplay, getDisplay, notebookMode, notebookOutDir, notebookCacheDir, projectRoot, cachedRun, NOTEBOOK_MODE_ENV, NOTEBOOK_OUT_ENV } from './notebook';
export type { NotebookDisplay, NotebookMode, ShowPlotOptions, CachedRunOptions } from './notebook';
