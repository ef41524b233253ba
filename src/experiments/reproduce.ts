import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { deepMerge, resolveTrainConfig } from '../config';
import { Trainer } from '../train';
import { formatDuration } from '../train/progress';
import { writeFileAtomic, writeJsonAtomic } from '../util/atomic';
import { backendInfo } from '../backends';
import { REPRODUCE_PRESETS, ReproducePreset } from './presets';
import { GridRun, runGrid } from './runner';
import { markdownTable, runsCsv, summarize, MethodSummary } from './summary';

/** Options of `reproduce`. */
export interface ReproduceOptions {
  /** 'quick' (default, < 30 min on 2 cores) or 'full'. */
  preset?: string;
  /** Seeds per method (default: the preset's, 2 for quick). Seeds are 0..n-1. */
  seeds?: number;
  /** Parallel worker processes (default: CPU cores). */
  jobs?: number;
  /** Results directory (default results/reproduce-<preset>). Finished runs in it are reused. */
  outDir?: string;
  /** Only the timing probe and the estimate, no training (default false). */
  estimateOnly?: boolean;
  log?: (line: string) => void;
}

/** What `reproduce` returns (also written to <outDir>/summary.json). */
export interface ReproduceSummary {
  preset: string;
  seeds: number[];
  backend: string;
  estimateSeconds: number;
  wallSeconds: number;
  methods: MethodSummary[];
  table: string;
  outDir: string;
}

/** The grid of a preset: one run per (method, seed). */
export function presetRuns(preset: ReproducePreset, seeds: number): GridRun[] {
  const runs: GridRun[] = [];
  for (const m of preset.methods) {
    for (let seed = 0; seed < seeds; seed++) {
      const config = deepMerge(deepMerge(preset.base, m.overrides), { name: m.name, seed }) as Record<string, unknown>;
      resolveTrainConfig(config); // fail early, before any run starts
      runs.push({ id: `${m.name}-s${seed}`, method: m.name, seed, config });
    }
  }
  return runs;
}

/**
 * Times a few real steps (one view and two views) and the embedding of a batch on this machine, then projects
 * the wall time of the grid: sum over runs of (steps x step time + evaluations) / jobs.
 */
export function estimateGridSeconds(runs: GridRun[], jobs: number, log: (l: string) => void): number {
  const probeCfg = runs.find((r) => (r.config.coreface as { enabled?: boolean } | undefined)?.enabled)?.config ?? runs[0].config;
  const t0 = Date.now();
  const trainer = new Trainer(probeCfg, { progress: false });
  const dataSeconds = (Date.now() - t0) / 1000;
  const cfg = trainer.config;
  const bs = cfg.training.batchSize;
  const idx = Int32Array.from({ length: bs }, (_, i) => i);
  const time = (epoch: number, reps: number): number => {
    trainer.step(idx, epoch, 0); // warm-up (kernel compilation, allocation)
    const s = Date.now();
    for (let i = 0; i < reps; i++) trainer.step(idx, epoch, i + 1);
    return (Date.now() - s) / 1000 / reps;
  };
  const oneView = time(0, 3);
  const twoView = trainer.contrast ? time(cfg.coreface.startEpoch, 3) : oneView;
  const e0 = Date.now();
  const { test } = trainer.benchmark;
  trainer.evaluate();
  const evalSeconds = (Date.now() - e0) / 1000;
  trainer.dispose();
  log(`[estimate] measured: ${(bs / oneView).toFixed(0)} img/s one view, ${(bs / twoView).toFixed(0)} img/s two views, evaluation of ${test.count} test images ${evalSeconds.toFixed(1)} s, data ${dataSeconds.toFixed(1)} s`);
  let total = 0;
  for (const r of runs) {
    const c = resolveTrainConfig(r.config);
    const steps = trainer.stepsPerEpoch;
    const twoEpochs = c.coreface.enabled ? c.training.epochs - c.coreface.startEpoch : 0;
    const evals = c.training.evalEvery > 0 ? Math.floor(c.training.epochs / c.training.evalEvery) + 1 : 1;
    total += steps * ((c.training.epochs - twoEpochs) * oneView + twoEpochs * twoView) + evals * evalSeconds + dataSeconds + 3;
  }
  return total / Math.min(jobs, runs.length);
}

/**
 * `coreface reproduce`: trains ArcFace, ArcFace + dropout and CoReFace on the built-in benchmark over several
 * seeds, evaluates them (verification, identification, open set) and writes per-run JSON, a CSV, a Markdown
 * table (mean ± std over seeds) and summary.json to the results directory.
 */
export async function reproduce(opts: ReproduceOptions = {}): Promise<ReproduceSummary> {
  const log = opts.log ?? ((l: string) => process.stderr.write(l + '\n'));
  const presetName = opts.preset ?? 'quick';
  const preset = REPRODUCE_PRESETS[presetName];
  if (!preset) throw new Error(`unknown preset '${presetName}' (available: ${Object.keys(REPRODUCE_PRESETS).join(', ')})`);
  const seeds = opts.seeds ?? preset.seeds;
  if (!Number.isInteger(seeds) || seeds < 1) throw new Error(`--seeds must be a positive integer, got ${seeds}`);
  const jobs = opts.jobs ?? os.cpus().length;
  const outDir = path.resolve(opts.outDir ?? path.join('results', `reproduce-${presetName}`));
  const runs = presetRuns(preset, seeds);
  log(`[reproduce] preset ${preset.name}: ${preset.description}`);
  log(`[reproduce] ${preset.methods.length} methods x ${seeds} seeds = ${runs.length} runs, ${jobs} parallel worker(s), results in ${outDir}`);
  log('[reproduce] timing a few real steps on this machine for the estimate...');
  const estimate = estimateGridSeconds(runs, jobs, log);
  log(`[reproduce] estimated duration: ${formatDuration(estimate)} (runs already finished in ${outDir} are reused)`);
  const backend = backendInfo()?.name ?? 'unknown';
  const t0 = Date.now();
  if (opts.estimateOnly) {
    return { preset: presetName, seeds: [], backend, estimateSeconds: estimate, wallSeconds: 0, methods: [], table: '', outDir };
  }
  fs.mkdirSync(outDir, { recursive: true });
  const outcomes = await runGrid(runs, { outDir, jobs, log });
  const { rows, methods } = summarize(outcomes, preset.methods);
  const wallSeconds = (Date.now() - t0) / 1000;
  const table = markdownTable(methods);
  const failed = outcomes.filter((o) => o.status === 'failed');
  const md = [
    `# coreface reproduce (${preset.name})`,
    '',
    preset.description + '.',
    `Seeds ${Array.from({ length: seeds }, (_, i) => i).join(', ')}; backend ${backend}; mean ± sample std over seeds; wall time ${formatDuration(wallSeconds)} (estimate was ${formatDuration(estimate)}).`,
    '',
    table,
    '',
    ...preset.methods.map((m) => `- **${m.label}**: ${m.description}`),
    ...(failed.length ? ['', `Failed runs: ${failed.map((f) => `${f.id} (${f.status === 'failed' ? f.error : ''})`).join('; ')}`] : []),
    '',
  ].join('\n');
  writeFileAtomic(path.join(outDir, 'table.md'), md);
  writeFileAtomic(path.join(outDir, 'runs.csv'), runsCsv(rows));
  const summary: ReproduceSummary = { preset: presetName, seeds: Array.from({ length: seeds }, (_, i) => i), backend, estimateSeconds: estimate, wallSeconds, methods, table, outDir };
  writeJsonAtomic(path.join(outDir, 'summary.json'), { ...summary, runs: rows, failed });
  if (failed.length) log(`[reproduce] ${failed.length} run(s) failed: see error.txt in their folders`);
  return summary;
}
