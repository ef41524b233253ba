/**
 * Reports: tables (Markdown, HTML, CSV, LaTeX), PNG grids, plotly figures rendered in headless Chromium and the
 * HTML experiment report. Pure output: nothing here trains or evaluates a model.
 */
export { writePng, imageGrid } from './png';
export { renderPlotPng, savePlotHtml, closePlotRenderer, chromiumAvailable, plotlyBundlePath, figureJson, DEFAULT_PLOT_WIDTH, DEFAULT_PLOT_HEIGHT, CHROMIUM_ARGS, CHROMIUM_ENV_VAR, DEFAULT_CHROMIUM_PATH } from './plot';
export type { PlotFigure, PlotTrace, RenderPlotOptions, SavePlotHtmlOptions } from './plot';
export { tableToLatex, escapeLatex } from './latex';
export type { LatexTableOptions, LatexAlign } from './latex';
export {
  trainingCurvesFigure, rocFigure, scoreHistogramFigure, marginTraceFigure, variantBarsFigure, embeddingScatterFigure, rocPoints,
  downsampleIndices, representativeRun, MAX_CURVE_POINTS, ROC_FAR_RANGE, HISTOGRAM_BINS, FIGURE_HEIGHT, VARIANT_COLORS, IDENTITY_COLORS,
} from './figures';
export type { FigureOptions, RunNeed } from './figures';
export { buildReportHtml, writeReportHtml, checkReportInBrowser, reportFigures, REPORT_BAR_METRICS, REPORT_PLOT_CONFIG, NON_WHITE_LEVEL } from './html-report';
export type { ReportFigure, CheckReportOptions, CheckReportResult } from './html-report';
export type { ReportEpoch, ReportStep, ReportRun, ReportStat, ExperimentReportData } from './report-data';
export { tableToCsv, tableToHtml, tableToMarkdown, fromRecords, fromDataFrame, toDataFrame, loadDanfo, meanStd, meanStdTable, formatCell, DEFAULT_TABLE_DIGITS } from './table';
export type { TableData, TableCell, DataFrameLike, TableFormatOptions, MeanStdOptions } from './table';
export { plotlyMimeBundle, plotlyFigureHtml, plotlyLoaderScript, resetPlotlyLoader, PLOTLY_MIME, PLOTLY_LOADER_MARKER } from './plotly-output';
export type { MimeBundle, PlotlyBundleOptions, PlotlyFigureHtmlOptions, PlotlyLoaderMode } from './plotly-output';
export { fitCurvesFigure } from './figures';
