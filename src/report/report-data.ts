/**
 * Data contract of the HTML experiment report ({@link ExperimentReportData}, rendered by `buildReportHtml` in
 * ./html-report) and of the figure builders in ./figures. Plain JSON-serialisable records: the lead's experiment
 * code fills them from metrics files / result.json; nothing here depends on tfjs or the DOM.
 */

/** Per-epoch record of one run (from metrics / result.json). */
export interface ReportEpoch {
  epoch: number; lr: number; meanLoss: number; meanAccuracy: number;
  /** Verification accuracy on the test identities (evaluated epochs only). */
  verificationAccuracy?: number;
  /** Margin-free training accuracy in evaluation mode (evaluated epochs of runs with fit measurements). */
  trainAccuracy?: number;
  /** Verification accuracy on held-back images of the training identities (when the dataset has them). */
  heldOutAccuracy?: number;
}
/** Subsampled training steps of one run. */
export interface ReportStep { globalStep: number; loss: number; margin: number | null; terms: Record<string, number> }
/** One finished run of one variant. */
export interface ReportRun {
  variant: string; seed: number;
  /**
   * Replicate value of the run (experiments with `replicates`, e.g. a class partition; absent otherwise). Among runs
   * with the same seed, the report takes the order of `ExperimentReportData.replicates.values`, then array order.
   */
  replicate?: number | string | boolean;
  epochs: ReportEpoch[];
  steps: ReportStep[];
  /** Final cosine scores of the verification pairs. */
  scores?: { genuine: number[]; impostor: number[] };
  /** 2-D PCA projection of (a subset of) the final test embeddings, with identity labels. */
  projection?: { x: number[]; y: number[]; label: number[]; explained: [number, number] };
}
/** One metric of one variant aggregated over seeds (fractions in [0,1]). */
export interface ReportStat { variant: string; label: string; metric: string; metricLabel: string; mean: number; ciLow: number | null; ciHigh: number | null; n: number }
/** Everything the HTML experiment report shows. */
export interface ExperimentReportData {
  title: string; description: string; generatedAt: string; backend: string; seeds: number[];
  /** The replicate path, its label and values, when the experiment repeats every run over them (absent otherwise). */
  replicates?: { path: string; label: string; values: (number | string | boolean)[] };
  /** The experiment definition (base config, variants) shown verbatim as JSON. */
  config: unknown;
  variants: { name: string; label: string; description: string }[];
  /** Prebuilt tables (HTML fragments produced by the lead's code, e.g. tableToHtml), shown in order. */
  tables: { title: string; html: string; note?: string }[];
  stats: ReportStat[];
  runs: ReportRun[];
  failed: { id: string; variant: string; seed: number; replicate?: number | string | boolean; error: string }[];
}
