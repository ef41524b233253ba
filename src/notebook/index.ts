/**
 * Notebook helpers (tslab): display of PNG, HTML, tables and plotly figures; the parameter block and the stamp of
 * every notebook; the ablation engine from a notebook (same run store as the CLI); reading an experiment's results.
 */
export { showPlot, showPng, showHtml, showMarkdown, showTable, encodePng, setDisplay, getDisplay, notebookMode, notebookOutDir, projectRoot, NOTEBOOK_MODE_ENV, NOTEBOOK_OUT_ENV } from './notebook';
export type { NotebookDisplay, NotebookMode, ShowPlotOptions } from './notebook';
export {
  notebookParams, notebookDataset, paramsMarkdown, shownPath, experimentHasData, committedResultsDir, NOTEBOOK_DEFAULTS, NOTEBOOK_DATASET_NAMES,
  NOTEBOOK_RESULTS_ENV, NOTEBOOK_EXPERIMENT_ENV, NOTEBOOK_VARIANTS_ENV, NOTEBOOK_SEEDS_ENV, NOTEBOOK_TRAIN_ENV, NOTEBOOK_SOURCE_ENV, NOTEBOOK_DATASET_ENV,
} from './params';
export type { NotebookParams, NotebookParamOverrides, NotebookDefaults, NotebookExperimentChoice, NotebookDataset, NotebookDatasetName, DemoFolderSpec, SummarySource } from './params';
export { startNotebook, notebookStamp, stampMarkdown, gitState, backendLine } from './stamp';
export type { NotebookStamp, NotebookSession } from './stamp';
export { writeDemoImageFolder, prepareNotebookDataset, DEMO_MARKER } from './demo-folder';
export type { DemoFolderOptions, DemoFolderResult } from './demo-folder';
export { runNotebookExperiment, experimentPlanTable, cliCommand } from './experiment';
export type { NotebookExperimentParams, NotebookRunOptions, NotebookExperimentRun } from './experiment';
export { loadExperimentSummary, perSeedTable, pairedDifferences, pairedDifferenceTable, pairedDifferenceFigure, fitTable, variantStats, unitLabel } from './results';
export type { LoadedSummary, LoadSummaryOptions, VariantDifferences } from './results';
export { summaryFindings, signFlipFloor } from './findings';
export type { FindingsOptions } from './findings';
