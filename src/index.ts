/**
 * coreface-lab: the public entry. Everything a notebook, a script or another package needs is exported here.
 *
 * - backends: initBackend (tfjs-node-gpu -> wasm -> cpu), wasm gradient kernels
 * - data: dataset registry, synthfaces
 * - models: ParamStore, IResNet backbones (registry), CoReFace neck, FaceModel
 * - heads: softmax, normface, cosface, arcface (registry) and their logits functions
 * - coreface: CoReFaceContrastiveLoss, coreFaceObjective
 * - train: Trainer, Sgd, schedules, samplers, checkpoints
 * - eval: verification, ROC/AUC/EER/TAR@FAR, CMC, DIR@FPIR
 * - experiments: experiments as data, the run store (locks, shards), ablate/collect, statistics, views
 * - stats: Student-t intervals, paired t-test, exact sign-flip permutation test
 * - report: tables (Markdown, HTML, CSV, LaTeX), plotly figures, the HTML experiment report, notebook display
 */
export * from './backends';
export * from './config';
export * from './data';
export * from './models';
export {
  arcfaceLogits, cosfaceLogits, normfaceLogits, cosineLogits, softmaxCrossEntropy,
  registerHead, createHead, listHeads, getHeadEntry,
  SoftmaxHead, NormFaceHead, CosFaceHead, ArcFaceHead,
  SphereFaceHead, CombinedHead, CurricularFaceHead, MagFaceHead, AdaFaceHead, ElasticArcHead, ElasticCosHead,
  SubcenterArcFaceHead, CamSoftmaxHead, AngularSparsemaxHead,
  DEFAULT_SCALE, DEFAULT_ARCFACE_MARGIN, DEFAULT_COSFACE_MARGIN,
} from './heads';
export type { MarginHead, HeadCreateOptions, HeadEntry } from './heads';
export * from './coreface';
export * from './eval';
export * from './train';
export * from './experiments';
export * from './losses';
export { Rng } from './util/rng';
export { ProgressBar, formatDuration } from './util/progress';
export type { LabelsLike } from './util/labels';
export { writePng, imageGrid } from './report/png';
export { renderPlotPng, savePlotHtml, closePlotRenderer, chromiumAvailable, plotlyBundlePath, figureJson, DEFAULT_PLOT_WIDTH, DEFAULT_PLOT_HEIGHT, CHROMIUM_ARGS, CHROMIUM_ENV_VAR, DEFAULT_CHROMIUM_PATH } from './report/plot';
export type { PlotFigure, PlotTrace, RenderPlotOptions, SavePlotHtmlOptions } from './report/plot';
export * from './stats';
export { tableToLatex, escapeLatex } from './report/latex';
export type { LatexTableOptions, LatexAlign } from './report/latex';
export {
  trainingCurvesFigure, rocFigure, scoreHistogramFigure, marginTraceFigure, variantBarsFigure, embeddingScatterFigure, rocPoints,
  downsampleIndices, representativeRun, MAX_CURVE_POINTS, ROC_FAR_RANGE, HISTOGRAM_BINS, FIGURE_HEIGHT, VARIANT_COLORS, IDENTITY_COLORS,
} from './report/figures';
export type { FigureOptions, RunNeed } from './report/figures';
export { buildReportHtml, writeReportHtml, checkReportInBrowser, reportFigures, REPORT_BAR_METRICS, REPORT_PLOT_CONFIG, NON_WHITE_LEVEL } from './report/html-report';
export type { ReportFigure, CheckReportOptions, CheckReportResult } from './report/html-report';
export type { ReportEpoch, ReportStep, ReportRun, ReportStat, ExperimentReportData } from './report/report-data';
export { tableToCsv, tableToHtml, tableToMarkdown, fromRecords, fromDataFrame, toDataFrame, loadDanfo, meanStd, meanStdTable, formatCell, DEFAULT_TABLE_DIGITS } from './report/table';
export type { TableData, TableCell, DataFrameLike, TableFormatOptions, MeanStdOptions } from './report/table';
export { showPlot, showPng, showHtml, showMarkdown, showTable, encodePng, setDisplay, getDisplay, notebookMode, notebookOutDir, notebookCacheDir, projectRoot, cachedRun, NOTEBOOK_MODE_ENV, NOTEBOOK_OUT_ENV } from './report/notebook';
export type { NotebookDisplay, NotebookMode, ShowPlotOptions, CachedRunOptions } from './report/notebook';
export * from './embedders'; // face embedders: run checkpoints and pretrained npm models (faceres, face-api)
