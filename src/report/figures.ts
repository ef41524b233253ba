/**
 * Plotly figures of an experiment report, built from the plain records of ./report-data: training curves, ROC,
 * score histograms, the adaptive-margin trace, per-variant bars with confidence intervals and a 2-D embedding
 * scatter. Pure functions (no DOM, no tfjs, no browser): the result is a {@link PlotFigure} for `renderPlotPng`,
 * `savePlotHtml` or the HTML report (./html-report).
 *
 * Conventions
 * - Variants keep one colour across all figures: their index in `opts.variants` (the report's variant list), then
 *   first-seen order, into {@link VARIANT_COLORS}. Labels come from `opts.variants` (else the variant name).
 * - Every curve has at most {@link MAX_CURVE_POINTS} points (see {@link downsampleIndices} and {@link rocPoints}).
 * - A builder returns `null` when there is nothing to draw (no runs, no scores, no margins, no stats ...).
 * - Text shown by plotly (names, titles) is entity-escaped (`&`, `<`, `>`), since plotly interprets a small HTML
 *   subset in labels.
 */
import { rocCurve } from '../eval/roc';
import type { PlotFigure, PlotTrace } from './plot';
import type { ReportRun, ReportStat } from './report-data';

/** Maximum number of points of a drawn curve (ROC, training loss, margin). */
export const MAX_CURVE_POINTS = 400;
/** FAR range of the ROC x axis (log scale). */
export const ROC_FAR_RANGE: readonly [number, number] = [1e-4, 1];
/** Number of bins of {@link scoreHistogramFigure}. */
export const HISTOGRAM_BINS = 50;
/** Default figure height in pixels (the width follows the container). */
export const FIGURE_HEIGHT = 420;
/** Per-variant colours (plotly / d3 category10), cycled. */
export const VARIANT_COLORS: readonly string[] = [
  '#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f', '#bcbd22', '#17becf',
];
/** Per-identity colours of {@link embeddingScatterFigure} (20 distinct hues, cycled over the sorted identities). */
export const IDENTITY_COLORS: readonly string[] = [
  '#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f', '#bcbd22', '#17becf',
  '#aec7e8', '#ffbb78', '#98df8a', '#ff9896', '#c5b0d5', '#c49c94', '#f7b6d2', '#c7c7c7', '#dbdb8d', '#9edae5',
];
const GENUINE_COLOR = '#2ca02c';
const IMPOSTOR_COLOR = '#d62728';

/** Options shared by the figure builders. */
export interface FigureOptions {
  /** Variant order and labels (e.g. `ExperimentReportData.variants`); unknown variants follow in first-seen order. */
  variants?: readonly { name: string; label: string }[];
  /** Figure height in pixels (default {@link FIGURE_HEIGHT}). */
  height?: number;
}

/** Entity-escapes text that plotly renders (it interprets a small HTML subset in names and titles). */
function plotText(s: string): string {
  return String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

interface VariantStyle { label: string; color: string }

/** Variant name -> label and colour, in `opts.variants` order, then first-seen order of `names`. */
function variantStyles(names: readonly string[], opts: FigureOptions): Map<string, VariantStyle> {
  const out = new Map<string, VariantStyle>();
  const add = (name: string, label: string): void => {
    if (!out.has(name)) out.set(name, { label, color: VARIANT_COLORS[out.size % VARIANT_COLORS.length] });
  };
  for (const v of opts.variants ?? []) add(v.name, v.label);
  for (const n of names) add(n, n);
  return out;
}

/** Variant names in display order: `opts.variants` first, then first-seen order among `names`. */
function orderedVariants(names: readonly string[], opts: FigureOptions): string[] {
  const present = new Set(names);
  return [...variantStyles(names, opts).keys()].filter((n) => present.has(n));
}

function baseLayout(title: string, opts: FigureOptions): Record<string, unknown> {
  const height = opts.height ?? FIGURE_HEIGHT;
  if (typeof height !== 'number' || !Number.isFinite(height) || height <= 0) throw new Error(`height must be a positive number, got ${String(height)}`);
  return {
    title: { text: plotText(title), font: { size: 15 } },
    height,
    margin: { l: 64, r: 24, t: 48, b: 52 },
    paper_bgcolor: '#ffffff',
    plot_bgcolor: '#ffffff',
    legend: { groupclick: 'togglegroup' },
  };
}

/** Horizontal legend under the x axis title (never hides data). */
const BELOW_LEGEND: Readonly<Record<string, unknown>> = { orientation: 'h', x: 0, xanchor: 'left', y: -0.2, yanchor: 'top' };

function axis(title: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { title: { text: plotText(title) }, showgrid: true, gridcolor: '#e5e5e5', zeroline: false, linecolor: '#888', showline: true, ...extra };
}

function checkRuns(runs: readonly ReportRun[], fn: string): void {
  if (!Array.isArray(runs)) throw new Error(`${fn}: runs must be an array of ReportRun`);
  runs.forEach((r, i) => {
    if (!r || typeof r.variant !== 'string') throw new Error(`${fn}: runs[${i}].variant must be a string`);
  });
}

/**
 * At most `max` indices of `0..n-1`, evenly spaced and always including the first and the last (all of them when
 * `n <= max`).
 */
export function downsampleIndices(n: number, max: number = MAX_CURVE_POINTS): number[] {
  if (!Number.isInteger(n) || n < 0) throw new Error(`downsampleIndices: n must be a non-negative integer, got ${n}`);
  if (!Number.isInteger(max) || max < 2) throw new Error(`downsampleIndices: max must be an integer >= 2, got ${max}`);
  if (n <= max) return Array.from({ length: n }, (_, i) => i);
  const out: number[] = [];
  for (let k = 0; k < max; k++) {
    const i = Math.round((k * (n - 1)) / (max - 1));
    if (out.length === 0 || out[out.length - 1] !== i) out.push(i);
  }
  return out;
}

/**
 * ROC points (FAR, TAR) for plotting on a log FAR axis, from genuine and impostor similarity scores (accept iff
 * `score >= threshold`, the exact curve of `rocCurve`). Points with FAR = 0 are dropped (they lie at -infinity on
 * a log axis). When more than `max` points remain, the curve is reduced to its points at `max` log-spaced FAR
 * levels from the smallest positive FAR to 1: at each level, the last exact point whose FAR does not exceed it (the
 * TAR@FAR operating point), so every kept point is an exact ROC point.
 * @throws when a class is empty or a score is not finite (from `rocCurve`).
 */
export function rocPoints(genuine: readonly number[], impostor: readonly number[], max: number = MAX_CURVE_POINTS): { far: number[]; tar: number[] } {
  if (!Array.isArray(genuine) || !Array.isArray(impostor)) throw new Error('rocPoints: genuine and impostor must be arrays of scores');
  if (!Number.isInteger(max) || max < 2) throw new Error(`rocPoints: max must be an integer >= 2, got ${max}`);
  const scores = [...genuine, ...impostor];
  const same = scores.map((_, i) => i < genuine.length);
  const roc = rocCurve(scores, same);
  let first = 0;
  while (first < roc.fpr.length && roc.fpr[first] <= 0) first++;
  const m = roc.fpr.length - first;
  let idx: number[];
  if (m <= max) {
    idx = Array.from({ length: m }, (_, k) => first + k);
  } else {
    idx = [];
    const lo = roc.fpr[first];
    let j = first;
    for (let k = 0; k < max; k++) {
      const level = k === max - 1 ? 1 : lo * Math.pow(1 / lo, k / (max - 1));
      while (j + 1 < roc.fpr.length && roc.fpr[j + 1] <= level) j++;
      if (idx.length === 0 || idx[idx.length - 1] !== j) idx.push(j);
    }
  }
  return { far: idx.map((i) => roc.fpr[i]), tar: idx.map((i) => roc.tpr[i]) };
}

/** What {@link representativeRun} needs a run to have. */
export type RunNeed = 'scores' | 'projection';

/**
 * The run that represents `variant` in the single-run figures (ROC, histogram, embedding scatter): among its runs
 * with usable `scores` (both classes non-empty) or a `projection`, the one with the smallest seed (first in array
 * order on equal seeds); `null` when there is none. Scores are not pooled over seeds, since different models'
 * score scales differ.
 */
export function representativeRun(runs: readonly ReportRun[], variant: string, need: RunNeed): ReportRun | null {
  let best: ReportRun | null = null;
  for (const r of runs) {
    if (r.variant !== variant) continue;
    const ok = need === 'scores'
      ? !!r.scores && Array.isArray(r.scores.genuine) && Array.isArray(r.scores.impostor) && r.scores.genuine.length > 0 && r.scores.impostor.length > 0
      : !!r.projection && Array.isArray(r.projection.x) && r.projection.x.length > 0;
    if (ok && (best === null || r.seed < best.seed)) best = r;
  }
  return best;
}

/**
 * Mean training loss per epoch, one line per run (coloured by variant, legend grouped by variant: clicking a group
 * toggles all its seeds). When any epoch has `verificationAccuracy`, it is drawn dotted in the same colours on a
 * second (right) y axis in percent. `null` when no run has epochs.
 */
export function trainingCurvesFigure(runs: readonly ReportRun[], opts: FigureOptions = {}): PlotFigure | null {
  checkRuns(runs, 'trainingCurvesFigure');
  const styles = variantStyles(runs.map((r) => r.variant), opts);
  const data: PlotTrace[] = [];
  let hasVerif = false;
  const sorted = orderedVariants(runs.map((r) => r.variant), opts)
    .flatMap((v) => runs.filter((r) => r.variant === v && Array.isArray(r.epochs) && r.epochs.length > 0).sort((a, b) => a.seed - b.seed));
  for (const run of sorted) {
    const st = styles.get(run.variant) as VariantStyle;
    const group = { legendgroup: run.variant, legendgrouptitle: { text: plotText(st.label) } };
    const idx = downsampleIndices(run.epochs.length);
    data.push({
      type: 'scatter', mode: 'lines+markers', name: `seed ${run.seed}`, ...group,
      x: idx.map((i) => run.epochs[i].epoch), y: idx.map((i) => run.epochs[i].meanLoss),
      line: { color: st.color, width: 2 }, marker: { size: 4 },
      hovertemplate: `${plotText(st.label)} seed ${run.seed}<br>epoch %{x}<br>loss %{y:.4f}<extra></extra>`,
    });
    const ve = run.epochs.filter((e) => typeof e.verificationAccuracy === 'number');
    if (ve.length > 0) {
      hasVerif = true;
      const vi = downsampleIndices(ve.length);
      data.push({
        type: 'scatter', mode: 'lines+markers', name: `seed ${run.seed} verification`, ...group, showlegend: false, yaxis: 'y2',
        x: vi.map((i) => ve[i].epoch), y: vi.map((i) => ve[i].verificationAccuracy),
        line: { color: st.color, width: 1.5, dash: 'dot' }, marker: { size: 4, symbol: 'diamond' },
        hovertemplate: `${plotText(st.label)} seed ${run.seed}<br>epoch %{x}<br>verification %{y:.2%}<extra></extra>`,
      });
    }
  }
  if (data.length === 0) return null;
  const layout = baseLayout(hasVerif ? 'Training loss (solid) and verification accuracy (dotted)' : 'Training loss', opts);
  const maxEpoch = Math.max(...sorted.map((r) => r.epochs.length));
  layout.xaxis = axis('epoch', maxEpoch <= 20 ? { dtick: 1 } : {});
  layout.yaxis = axis('mean training loss');
  if (hasVerif) {
    layout.yaxis2 = axis('verification accuracy', { overlaying: 'y', side: 'right', tickformat: '.0%', showgrid: false });
    layout.margin = { l: 64, r: 64, t: 48, b: 52 };
    layout.legend = { groupclick: 'togglegroup', x: 1.08, xanchor: 'left' };
  }
  return { data, layout };
}

/**
 * Train-vs-test curves (issue 15): per variant, the mean over its runs of the verification accuracy on held-back
 * images of the training identities (solid) and on the test identities (dotted), and of the margin-free training
 * accuracy in evaluation mode (thin dashed), per evaluated epoch. The distance between solid and dotted is the
 * train-minus-test gap. `null` when no run has fit measurements.
 */
export function fitCurvesFigure(runs: readonly ReportRun[], opts: FigureOptions = {}): PlotFigure | null {
  checkRuns(runs, 'fitCurvesFigure');
  const styles = variantStyles(runs.map((r) => r.variant), opts);
  const data: PlotTrace[] = [];
  const series: { key: 'heldOutAccuracy' | 'verificationAccuracy' | 'trainAccuracy'; name: string; dash: string; width: number }[] = [
    { key: 'heldOutAccuracy', name: 'verification, training identities', dash: 'solid', width: 2.5 },
    { key: 'verificationAccuracy', name: 'verification, test identities', dash: 'dot', width: 2 },
    { key: 'trainAccuracy', name: 'training accuracy (eval mode)', dash: 'dash', width: 1 },
  ];
  for (const v of orderedVariants(runs.map((r) => r.variant), opts)) {
    const mine = runs.filter((r) => r.variant === v && Array.isArray(r.epochs) && r.epochs.some((e) => typeof e.trainAccuracy === 'number'));
    if (mine.length === 0) continue;
    const st = styles.get(v) as VariantStyle;
    for (const s of series) {
      const byEpoch = new Map<number, number[]>();
      for (const r of mine) {
        for (const e of r.epochs) {
          const y = e[s.key];
          if (typeof y === 'number' && Number.isFinite(y)) byEpoch.set(e.epoch, [...(byEpoch.get(e.epoch) ?? []), y]);
        }
      }
      if (byEpoch.size === 0) continue;
      const epochs = [...byEpoch.keys()].sort((a, b) => a - b);
      const means = epochs.map((e) => { const ys = byEpoch.get(e) as number[]; return ys.reduce((a, b) => a + b, 0) / ys.length; });
      data.push({
        type: 'scatter', mode: 'lines+markers', name: s.name, legendgroup: v, legendgrouptitle: { text: plotText(st.label) },
        x: epochs, y: means, line: { color: st.color, width: s.width, dash: s.dash }, marker: { size: 4 },
        hovertemplate: `${plotText(st.label)}: ${s.name}<br>epoch %{x}<br>%{y:.2%} (mean of ${mine.length} run${mine.length === 1 ? '' : 's'})<extra></extra>`,
      });
    }
  }
  if (data.length === 0) return null;
  const layout = baseLayout('Fitting: verification on training identities (solid) vs test identities (dotted), training accuracy (dashed)', opts);
  layout.xaxis = axis('epoch');
  layout.yaxis = axis('accuracy', { tickformat: '.0%' });
  layout.legend = { groupclick: 'togglegroup' };
  return { data, layout };
}

/**
 * ROC curves (TAR vs FAR, log FAR axis over {@link ROC_FAR_RANGE}) of the final verification scores, one line per
 * variant drawn from its {@link representativeRun} (smallest seed with scores; the seed is named in the legend), plus
 * the chance line TAR = FAR. Points: {@link rocPoints}. `null` when no run has scores.
 */
export function rocFigure(runs: readonly ReportRun[], opts: FigureOptions = {}): PlotFigure | null {
  checkRuns(runs, 'rocFigure');
  const styles = variantStyles(runs.map((r) => r.variant), opts);
  const data: PlotTrace[] = [];
  for (const v of orderedVariants(runs.map((r) => r.variant), opts)) {
    const run = representativeRun(runs, v, 'scores');
    if (!run || !run.scores) continue;
    const st = styles.get(v) as VariantStyle;
    const p = rocPoints(run.scores.genuine, run.scores.impostor);
    data.push({
      type: 'scatter', mode: 'lines', name: `${plotText(st.label)} (seed ${run.seed})`, x: p.far, y: p.tar,
      line: { color: st.color, width: 2 },
      hovertemplate: `${plotText(st.label)}<br>FAR %{x:.2e}<br>TAR %{y:.2%}<extra></extra>`,
    });
  }
  if (data.length === 0) return null;
  const [lo, hi] = ROC_FAR_RANGE;
  const chance = Array.from({ length: 41 }, (_, k) => lo * Math.pow(hi / lo, k / 40));
  data.push({ type: 'scatter', mode: 'lines', name: 'chance', x: chance, y: chance, line: { color: '#999', width: 1, dash: 'dash' }, hoverinfo: 'skip' });
  const layout = baseLayout('ROC of the verification pairs', opts);
  layout.xaxis = axis('FAR (false accept rate)', { type: 'log', range: [Math.log10(lo), Math.log10(hi)], exponentformat: 'power' });
  layout.yaxis = axis('TAR (true accept rate)', { range: [0, 1.02], tickformat: '.0%' });
  layout.legend = BELOW_LEGEND;
  return { data, layout };
}

/** Density histogram over fixed bins: `y[k]` = count / (N * width), so the bars integrate to 1. */
function densityHistogram(values: readonly number[], lo: number, width: number, bins: number): number[] {
  const counts = new Array<number>(bins).fill(0);
  for (const v of values) counts[Math.min(bins - 1, Math.max(0, Math.floor((v - lo) / width)))]++;
  return counts.map((c) => c / (values.length * width));
}

/**
 * Overlaid, density-normalised histograms of the genuine and impostor cosine scores of one variant (its
 * {@link representativeRun}), over {@link HISTOGRAM_BINS} common bins spanning both score sets; each histogram
 * integrates to 1. `null` when the variant has no run with scores.
 * @throws on non-finite scores.
 */
export function scoreHistogramFigure(runs: readonly ReportRun[], variant: string, opts: FigureOptions = {}): PlotFigure | null {
  checkRuns(runs, 'scoreHistogramFigure');
  const run = representativeRun(runs, variant, 'scores');
  if (!run || !run.scores) return null;
  const { genuine, impostor } = run.scores;
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of [...genuine, ...impostor]) {
    if (typeof v !== 'number' || !Number.isFinite(v)) throw new Error(`scoreHistogramFigure: scores must be finite numbers, got ${String(v)} (variant ${variant}, seed ${run.seed})`);
    lo = Math.min(lo, v);
    hi = Math.max(hi, v);
  }
  if (hi - lo < 1e-9) {
    lo -= 0.05;
    hi += 0.05;
  }
  const bins = HISTOGRAM_BINS;
  const width = (hi - lo) / bins;
  const x = Array.from({ length: bins }, (_, k) => lo + (k + 0.5) * width);
  const st = variantStyles(runs.map((r) => r.variant), opts).get(variant) as VariantStyle;
  const bar = (name: string, values: readonly number[], color: string): PlotTrace => ({
    type: 'bar', name: `${name} (${values.length})`, x, y: densityHistogram(values, lo, width, bins), width,
    marker: { color, line: { width: 0 } }, opacity: 0.55,
    hovertemplate: `${name}<br>score %{x:.3f}<br>density %{y:.3f}<extra></extra>`,
  });
  const layout = baseLayout(`Verification scores: ${st.label} (seed ${run.seed})`, opts);
  layout.barmode = 'overlay';
  layout.bargap = 0;
  layout.xaxis = axis('cosine similarity');
  layout.yaxis = axis('density');
  layout.legend = BELOW_LEGEND;
  return { data: [bar('genuine', genuine, GENUINE_COLOR), bar('impostor', impostor, IMPOSTOR_COLOR)], layout };
}

/**
 * The adaptive margin over global training steps, one line per run whose steps have a non-null (finite) margin,
 * coloured and legend-grouped by variant. `null` when no run has a margin (e.g. only fixed-margin heads).
 */
export function marginTraceFigure(runs: readonly ReportRun[], opts: FigureOptions = {}): PlotFigure | null {
  checkRuns(runs, 'marginTraceFigure');
  const styles = variantStyles(runs.map((r) => r.variant), opts);
  const data: PlotTrace[] = [];
  for (const v of orderedVariants(runs.map((r) => r.variant), opts)) {
    const st = styles.get(v) as VariantStyle;
    for (const run of runs.filter((r) => r.variant === v).sort((a, b) => a.seed - b.seed)) {
      const pts = (run.steps ?? []).filter((s) => typeof s.margin === 'number' && Number.isFinite(s.margin));
      if (pts.length === 0) continue;
      const idx = downsampleIndices(pts.length);
      data.push({
        type: 'scatter', mode: 'lines', name: `seed ${run.seed}`, legendgroup: v, legendgrouptitle: { text: plotText(st.label) },
        x: idx.map((i) => pts[i].globalStep), y: idx.map((i) => pts[i].margin),
        line: { color: st.color, width: 1.5 },
        hovertemplate: `${plotText(st.label)} seed ${run.seed}<br>step %{x}<br>margin %{y:.4f}<extra></extra>`,
      });
    }
  }
  if (data.length === 0) return null;
  const layout = baseLayout('Adaptive margin during training', opts);
  layout.xaxis = axis('global step');
  layout.yaxis = axis('margin');
  return { data, layout };
}

/**
 * One bar per variant for `metric` (stats are fractions; the axis shows percent), with asymmetric error bars from
 * the confidence interval: `error_y.array = [ciHigh - mean]`, `error_y.arrayminus = [mean - ciLow]`. A variant whose
 * interval is incomplete (`ciLow` or `ciHigh` null) gets no error bar. One trace per variant (its colour). `null`
 * when no stat has this metric.
 */
export function variantBarsFigure(stats: readonly ReportStat[], metric: string, opts: FigureOptions = {}): PlotFigure | null {
  if (!Array.isArray(stats)) throw new Error('variantBarsFigure: stats must be an array of ReportStat');
  const sel = stats.filter((s) => s && s.metric === metric);
  if (sel.length === 0) return null;
  const styles = variantStyles(sel.map((s) => s.variant), { ...opts, variants: opts.variants ?? sel.map((s) => ({ name: s.variant, label: s.label })) });
  const order = [...styles.keys()];
  sel.sort((a, b) => order.indexOf(a.variant) - order.indexOf(b.variant));
  const pct = (v: number): string => `${(100 * v).toFixed(2)}%`;
  const data: PlotTrace[] = sel.map((s) => {
    const hasCi = typeof s.ciLow === 'number' && typeof s.ciHigh === 'number' && Number.isFinite(s.ciLow) && Number.isFinite(s.ciHigh);
    const ci = hasCi ? ` [${pct(s.ciLow as number)}, ${pct(s.ciHigh as number)}]` : '';
    return {
      type: 'bar', name: plotText(s.label), x: [plotText(s.label)], y: [s.mean],
      marker: { color: (styles.get(s.variant) as VariantStyle).color },
      error_y: hasCi
        ? { type: 'data', symmetric: false, array: [(s.ciHigh as number) - s.mean], arrayminus: [s.mean - (s.ciLow as number)], visible: true, color: '#333', thickness: 1.5, width: 6 }
        : { visible: false },
      text: [plotText(`${s.label}: ${pct(s.mean)}${ci}, n = ${s.n}`)], textposition: 'none', hoverinfo: 'text',
    };
  });
  const label = sel[0].metricLabel || metric;
  const layout = baseLayout(`${label} per variant (mean over seeds, CI error bars)`, opts);
  layout.showlegend = false;
  layout.xaxis = axis('variant', { showgrid: false });
  layout.yaxis = axis(label, { tickformat: '.1%' });
  return { data, layout };
}

/**
 * The run's 2-D PCA projection of test embeddings, one marker per embedding coloured by identity (identities
 * sorted, cycled over {@link IDENTITY_COLORS}; hover shows the identity). Axis titles give the explained variance.
 * `null` when the run has no projection.
 * @throws when x, y and label differ in length.
 */
export function embeddingScatterFigure(run: ReportRun, opts: FigureOptions = {}): PlotFigure | null {
  if (!run || typeof run !== 'object') throw new Error('embeddingScatterFigure: run must be a ReportRun');
  const p = run.projection;
  if (!p) return null;
  if (!Array.isArray(p.x) || !Array.isArray(p.y) || !Array.isArray(p.label) || p.x.length !== p.y.length || p.x.length !== p.label.length) {
    throw new Error(`embeddingScatterFigure: projection x, y and label must be arrays of equal length, got ${p.x?.length}, ${p.y?.length}, ${p.label?.length} (variant ${run.variant}, seed ${run.seed})`);
  }
  const ids = [...new Set(p.label)].sort((a, b) => a - b);
  const colorOf = new Map(ids.map((id, k) => [id, IDENTITY_COLORS[k % IDENTITY_COLORS.length]]));
  const st = variantStyles([run.variant], opts).get(run.variant) as VariantStyle;
  const ex = Array.isArray(p.explained) ? p.explained : [NaN, NaN];
  const pc = (k: number): string => (Number.isFinite(ex[k]) ? `PC${k + 1} (${(100 * ex[k]).toFixed(1)}% of variance)` : `PC${k + 1}`);
  const data: PlotTrace[] = [{
    type: 'scatter', mode: 'markers', name: 'embeddings', x: p.x, y: p.y,
    marker: { color: p.label.map((l) => colorOf.get(l)), size: 6, opacity: 0.8, line: { width: 0.5, color: '#fff' } },
    text: p.label.map((l) => `identity ${l}`), hovertemplate: '%{text}<extra></extra>',
  }];
  const layout = baseLayout(`Test embeddings (PCA): ${st.label}, seed ${run.seed}, ${ids.length} identities`, opts);
  layout.showlegend = false;
  layout.xaxis = axis(pc(0));
  layout.yaxis = axis(pc(1), { scaleanchor: 'x', scaleratio: 1 });
  return { data, layout };
}
