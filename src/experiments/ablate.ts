import * as path from 'path';
import { resolveTrainConfig, TrainConfig } from '../config';
import { Trainer } from '../train';
import { formatDuration } from '../util/progress';
import { executeRuns, nativeThreadsPerJob } from './runner';
import { enableNativeKernels, nativeKernelsActive, nativeKernelsStatus, THREADS_ENV_VAR } from '../backends/native-kernels';
import { getExperiment } from './registry';
import { PlannedRun, planRuns, ResolvedExperiment, shardRuns } from './spec';
import { CODE_VERSION, DEFAULT_RESULTS_DIR, RunStore } from './store';
import { ExperimentSummary, fromRunOutcomes, summarizeExperiment } from './summary';
import { ViewFiles, writeViews } from './views';
import { checkReportInBrowser } from '../report/html-report';
import { backendInfo } from '../backends/select';
import { defaultWorkers, detectGpus, WorkerPlan } from './workers';

/** Options shared by `ablate` and `collect`. */
export interface ExperimentRunOptions {
  /** Results root: runs in `<results>/runs/`, views in `<results>/<experiment>/` (default 'results'). */
  results?: string;
  /** Only these variants (default all). */
  variants?: string[];
  /** Other seeds than the experiment's (a count n means 0..n-1). */
  seeds?: number[];
  /** Write report.html (default true). */
  report?: boolean;
  /**
   * Open report.html in headless Chromium afterwards: count the rendered plots, collect console errors and save a
   * screenshot as report.png (default false; needs Chromium, see `npm run setup`).
   */
  checkReport?: boolean;
  log?: (line: string) => void;
}

/** Options of `ablate`. */
export interface AblateOptions extends ExperimentRunOptions {
  /**
   * Parallel worker processes (default: one per CPU core on wasm/cpu; with tfjs-node-gpu one per visible GPU,
   * each pinned to its GPU, see `defaultWorkers`).
   */
  jobs?: number;
  /** GPUs to use with tfjs-node-gpu (default: `detectGpus()`, i.e. CUDA_VISIBLE_DEVICES or nvidia-smi). */
  gpus?: string[];
  /** Run only shard k of n (1-based) of the plan; views are then left to `collect`. */
  shard?: { index: number; count: number };
  /** Run again runs whose failure is recorded (default false). */
  retryFailed?: boolean;
  /** Only time a few steps and print the estimate (default false). */
  estimateOnly?: boolean;
  /** Backend of the training children (default: automatic / COREFACE_BACKEND). */
  backend?: string;
}

/** What `ablate` and `collect` return. */
export interface AblateResult {
  experiment: string;
  summary: ExperimentSummary;
  files: ViewFiles | null;
  estimateSeconds: number;
  wallSeconds: number;
  /** Runs of this invocation's share that did not finish (failed or busy elsewhere). */
  unfinished: number;
}

/**
 * The workers of an `ablate` call: `defaultWorkers` for the backend the children run on (the forced one, else
 * the one this process selected, else wasm), with the GPUs looked up only for tfjs-node-gpu.
 */
export function ablateWorkers(opts: Pick<AblateOptions, 'jobs' | 'gpus' | 'backend'>): WorkerPlan {
  const backend = opts.backend ?? backendInfo()?.name ?? 'wasm';
  const gpus = backend === 'tfjs-node-gpu' ? (opts.gpus ?? detectGpus()) : [];
  return defaultWorkers({ backend, gpus, jobs: opts.jobs });
}

/** Measured seconds per step (one and two views) and per evaluation, on this machine, for one config. */
export interface StepTiming {
  oneView: number;
  twoViews: number;
  evalSeconds: number;
  dataSeconds: number;
  stepsPerEpoch: number;
}

/** Times a few real steps (one view and two views) and one evaluation of the config. */
export function timeSteps(config: TrainConfig | Record<string, unknown>, log: (l: string) => void = () => undefined): StepTiming {
  const t0 = Date.now();
  const trainer = new Trainer(config, { progress: false });
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
  const twoViews = trainer.contrast ? time(cfg.coreface.startEpoch, 3) : oneView;
  const e0 = Date.now();
  trainer.evaluate();
  const evalSeconds = (Date.now() - e0) / 1000;
  const stepsPerEpoch = trainer.stepsPerEpoch;
  trainer.dispose();
  log(`[estimate] measured: ${(bs / oneView).toFixed(0)} img/s one view, ${(bs / twoViews).toFixed(0)} img/s two views, evaluation ${evalSeconds.toFixed(1)} s, data ${dataSeconds.toFixed(1)} s`);
  return { oneView, twoViews, evalSeconds, dataSeconds, stepsPerEpoch };
}

/**
 * Expected wall seconds of one run from a timing of a config with the same data, model and batch size
 * (steps x step time for each phase, plus evaluations, data generation and process start-up).
 */
export function expectedRunSeconds(config: TrainConfig, t: StepTiming): number {
  const c = resolveTrainConfig(config);
  const twoEpochs = c.coreface.enabled ? Math.max(0, c.training.epochs - c.coreface.startEpoch) : 0;
  const evals = c.training.evalEvery > 0 ? Math.floor(c.training.epochs / c.training.evalEvery) + 1 : 1;
  return t.stepsPerEpoch * ((c.training.epochs - twoEpochs) * t.oneView + twoEpochs * t.twoViews) + evals * t.evalSeconds + t.dataSeconds + 3;
}

function plan(exp: ResolvedExperiment, opts: ExperimentRunOptions): PlannedRun[] {
  return planRuns(exp, { variants: opts.variants, seeds: opts.seeds });
}

/**
 * Lines saying which run folders of the store are under stale keys (an older key scheme or code version) and which
 * of the planned runs they correspond to: those are not reused (no silent reuse of a run whose config may have had
 * other defaults), and the user learns why they train again. Empty when the store has no stale folder.
 */
export function staleRunNotes(store: RunStore, runs: PlannedRun[], tag: string): string[] {
  const stale = store.staleRuns();
  if (stale.length === 0) return [];
  const planned = new Map(runs.map((r) => [r.key, r]));
  const matching = stale.filter((s) => s.currentKey !== null && planned.has(s.currentKey) && s.finished);
  const lines = [
    `[${tag}] note: the store holds ${stale.length} run folder(s) under keys of an older key scheme or code version ` +
      `(keys now hash the fully resolved config, registered defaults included, and ${CODE_VERSION}); they are not reused.`,
  ];
  for (const s of matching.slice(0, 10)) {
    const r = planned.get(s.currentKey as string) as PlannedRun;
    const now = store.status(r.key, r.config) === 'done' ? 'is in the store' : 'trains anew';
    lines.push(`[${tag}]   ${r.variant} seed ${r.seed}: an old run with the same written config is runs/${s.key} (${s.version ?? 'unknown version'}); run ${r.key} ${now}`);
  }
  if (matching.length > 10) lines.push(`[${tag}]   ... and ${matching.length - 10} more`);
  return lines;
}

/**
 * `coreface ablate`: runs the runs of an experiment that the store does not hold yet (only this shard's share
 * with `shard`), then writes the summary, tables and report (unsharded) to `<results>/<experiment>/`.
 * The duration estimate comes from timing real steps of a CoReFace variant (or the first) on this machine.
 */
export async function ablate(experiment: string | ResolvedExperiment, opts: AblateOptions = {}): Promise<AblateResult> {
  const log = opts.log ?? ((l: string) => process.stderr.write(l + '\n'));
  const exp = typeof experiment === 'string' ? getExperiment(experiment) : experiment;
  const store = new RunStore(opts.results ?? DEFAULT_RESULTS_DIR);
  const all = plan(exp, opts);
  const mine = opts.shard ? shardRuns(all, opts.shard) : all;
  const workers = ablateWorkers(opts);
  const jobs = Math.max(1, Math.min(workers.jobs, Math.max(1, mine.length)));
  log(`[ablate] experiment ${exp.name}: ${exp.description}`);
  const reps = exp.replicates ? ` x ${exp.replicates.label} ${exp.replicates.values.map(String).join(', ')}` : '';
  log(`[ablate] ${all.length} runs (${new Set(all.map((r) => r.variant)).size} variants x seeds ${[...new Set(all.map((r) => r.seed))].join(', ')}${reps})` +
    `${opts.shard ? `; shard ${opts.shard.index}/${opts.shard.count}: ${mine.length} runs` : ''}; store ${store.root}`);
  log(`[ablate] ${jobs} worker(s): ${workers.reason}`);
  for (const line of staleRunNotes(store, mine, 'ablate')) log(line);
  const todo = mine.filter((r) => !store.result(r.key, r.config) && (opts.retryFailed || !store.failure(r.key)));
  let estimate = 0;
  let perRun: ((r: PlannedRun) => number) | undefined;
  if (todo.length > 0) {
    log('[ablate] timing a few real steps on this machine for the estimate...');
    // Probe a CoReFace run if any (two views), else the first; a config that fails here is left to its run.
    const probes = [...todo.filter((r) => r.config.coreface.enabled), ...todo.filter((r) => !r.config.coreface.enabled)];
    let timing: StepTiming | null = null;
    // time with the native thread count each run will get (the cores shared among the jobs)
    const nativeThreads = nativeKernelsActive() && process.env[THREADS_ENV_VAR] === undefined ? nativeKernelsStatus()?.threads : undefined;
    if (nativeThreads !== undefined) enableNativeKernels({ threads: nativeThreadsPerJob(jobs, todo.length) });
    for (const probe of probes.slice(0, 3)) {
      try {
        timing = timeSteps(probe.config, log);
        break;
      } catch (e) {
        log(`[ablate] could not time ${probe.variant} (${(e as Error).message}); its run will report the error`);
      }
    }
    if (nativeThreads !== undefined) enableNativeKernels({ threads: nativeThreads });
    if (timing) {
      const t = timing;
      perRun = (r) => expectedRunSeconds(r.config, t);
      const total = todo.reduce((a, r) => a + expectedRunSeconds(r.config, t), 0);
      estimate = total / jobs;
      log(`[ablate] estimated duration: ${formatDuration(estimate)} for ${todo.length} runs on ${jobs} worker(s), ${formatDuration(total / todo.length)} per run ` +
        '(the probe\'s data, model and batch size; runs of another size take longer or shorter)');
    } else {
      estimate = NaN;
      log('[ablate] no estimate: every probed config failed');
    }
  }
  const t0 = Date.now();
  if (opts.estimateOnly) {
    const summary = summarizeExperiment(exp, collectOutcomes(all, store));
    return { experiment: exp.name, summary, files: null, estimateSeconds: estimate, wallSeconds: 0, unfinished: todo.length };
  }
  const outcomes = await executeRuns(mine, { store, jobs, gpus: workers.gpus, retryFailed: opts.retryFailed, expectedRunSeconds: perRun, backend: opts.backend, log });
  const wallSeconds = (Date.now() - t0) / 1000;
  const unfinished = outcomes.filter((o) => o.status !== 'done').length;
  log(`[ablate] this invocation: ${formatDuration(wallSeconds)} wall (estimate was ${formatDuration(estimate)}); ${mine.length - unfinished}/${mine.length} runs finished`);
  if (opts.shard) {
    log(`[ablate] shard ${opts.shard.index}/${opts.shard.count} done; when every shard has finished: coreface collect ${exp.name}${opts.results ? ` --results ${opts.results}` : ''}`);
    const summary = summarizeExperiment(exp, fromRunOutcomes(outcomes));
    return { experiment: exp.name, summary, files: null, estimateSeconds: estimate, wallSeconds, unfinished };
  }
  const res = await collect(exp, { ...opts, log }, [`Wall time of the last \`ablate\`: ${formatDuration(wallSeconds)} (estimate ${formatDuration(estimate)}).`]);
  return { ...res, estimateSeconds: estimate, wallSeconds, unfinished };
}

/** The store's state of every planned run. */
export function collectOutcomes(runs: PlannedRun[], store: RunStore): ReturnType<typeof fromRunOutcomes> {
  return runs.map((run) => {
    const result = store.result(run.key, run.config);
    if (result) return { run, result, status: 'done' };
    const status = store.status(run.key, run.config);
    return { run, result: null, status, error: status === 'failed' ? store.failure(run.key)?.error : undefined };
  });
}

/**
 * `coreface collect`: reads the store (no training) and writes summary.json, the tables and report.html of an
 * experiment to `<results>/<experiment>/`. Runs that are missing, running or failed are listed, not averaged.
 */
export async function collect(experiment: string | ResolvedExperiment, opts: ExperimentRunOptions = {}, notes: string[] = []): Promise<AblateResult> {
  const log = opts.log ?? ((l: string) => process.stderr.write(l + '\n'));
  const exp = typeof experiment === 'string' ? getExperiment(experiment) : experiment;
  const store = new RunStore(opts.results ?? DEFAULT_RESULTS_DIR);
  const runs = plan(exp, opts);
  if (notes.length === 0) for (const line of staleRunNotes(store, runs, 'collect')) log(line);
  const outcomes = collectOutcomes(runs, store);
  const summary = summarizeExperiment(exp, outcomes);
  const dir = path.join(store.root, exp.name);
  const files = writeViews(dir, exp, summary, store, { report: opts.report, extraNotes: notes });
  const done = outcomes.filter((o) => o.result).length;
  if (opts.checkReport && files.report) {
    const shot = path.join(dir, 'report.png');
    const c = await checkReportInBrowser(files.report, { screenshot: shot });
    log(`[collect] report check: ${c.plots}/${c.expectedPlots} plots rendered, ${c.consoleErrors.length} console error(s)${c.consoleErrors.length ? ` (${c.consoleErrors[0]})` : ''}, screenshot ${shot} (${(100 * c.nonBlankFraction).toFixed(1)}% non-blank)`);
    if (c.plots !== c.expectedPlots || c.consoleErrors.length) throw new Error(`report check failed: ${c.plots}/${c.expectedPlots} plots, console errors: ${c.consoleErrors.join(' | ') || 'none'}`);
  }
  log(`[collect] ${exp.name}: ${done}/${runs.length} runs finished${summary.failed.length ? `, ${summary.failed.length} failed` : ''}${summary.missing.length ? `, ${summary.missing.length} not finished` : ''}; wrote ${path.relative(process.cwd(), dir) || dir}/{summary.json,table.md,table.csv,runs.csv,table.tex${files.report ? ',report.html' : ''}}`);
  return { experiment: exp.name, summary, files, estimateSeconds: 0, wallSeconds: 0, unfinished: runs.length - done };
}
