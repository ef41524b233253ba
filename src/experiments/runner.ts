import { spawn } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { writeJsonAtomic } from '../util/atomic';
import { PACKAGE } from '../util/package';
import { THREADS_ENV_VAR } from '../backends/native-kernels';
import type { RunResult } from '../train';
import { formatDuration } from '../util/progress';
import type { PlannedRun } from './spec';
import { RunStore } from './store';
import { CUDA_DEVICES_ENV_VAR } from './workers';

/** The outcome of one planned run after `executeRuns`. */
export type RunOutcome =
  | { run: PlannedRun; status: 'done'; result: RunResult; cached: boolean }
  | { run: PlannedRun; status: 'failed'; error: string; cached: boolean }
  | { run: PlannedRun; status: 'busy'; owner: string };

/** Options of `executeRuns`. */
export interface ExecuteOptions {
  store: RunStore;
  /** Parallel worker processes (default: number of CPU cores; wasm runs one thread per process; see `defaultWorkers`). */
  jobs?: number;
  /**
   * GPU of each worker: worker w runs its children with CUDA_VISIBLE_DEVICES=`gpus[w % gpus.length]` (default none:
   * the children inherit the environment). `ablate` sets it to one GPU per worker with tfjs-node-gpu.
   */
  gpus?: string[] | null;
  /** Run again the runs whose failure is recorded (default false: they are reported as failed). */
  retryFailed?: boolean;
  /** Label of a run in progress lines (default: the run's `label`, `<variant>-s<seed>` or `<variant>-s<seed>-<tag>=<value>`, see `runName`). */
  labelOf?: (run: PlannedRun) => string;
  /** Expected wall seconds of one run (for the first ETA, before any run finished). */
  expectedRunSeconds?: (run: PlannedRun) => number;
  /** Backend forced on the children (default: theirs, i.e. COREFACE_BACKEND or the automatic choice). */
  backend?: string;
  /** Print lines to (default process.stderr). */
  log?: (line: string) => void;
}

const CLI = path.join(PACKAGE.root, 'bin', 'coreface.js');

function bar(frac: number, width = 20): string {
  const fill = Math.round(Math.max(0, Math.min(1, frac)) * width);
  return '#'.repeat(fill) + '-'.repeat(width - fill);
}

/**
 * Native-kernel (BLAS) threads each of `jobs` parallel runs gets: the cores divided among the jobs that can run
 * at once (at least 1). The `COREFACE_THREADS` variable, when set, wins (see trainChild).
 */
export function nativeThreadsPerJob(jobs: number, runs: number): number {
  return Math.max(1, Math.floor(os.availableParallelism() / Math.max(1, Math.min(jobs, runs))));
}

/**
 * Environment of a training child: the native-kernel thread count (unless the user set COREFACE_THREADS) and, when
 * the worker is pinned to a GPU, CUDA_VISIBLE_DEVICES naming only that GPU.
 */
export function childEnv(base: NodeJS.ProcessEnv, threads: number, gpu: string | null): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...base, [THREADS_ENV_VAR]: base[THREADS_ENV_VAR] ?? String(threads) };
  if (gpu !== null) env[CUDA_DEVICES_ENV_VAR] = gpu;
  return env;
}

/** Runs one training child (`coreface train --resume`) and resolves to its exit code and stderr tail. */
function trainChild(run: PlannedRun, dir: string, label: string, backend: string | undefined, threads: number, gpu: string | null, log: (l: string) => void): Promise<{ code: number; tail: string }> {
  const cfgFile = path.join(dir, 'input-config.json');
  writeJsonAtomic(cfgFile, run.config);
  const args = [CLI, 'train', '--config', cfgFile, '--out', dir, '--resume', '--label', label];
  if (backend) args.push('--backend', backend);
  return new Promise((resolve) => {
    // Each child's native kernels get its share of the cores (unless the user set COREFACE_THREADS): jobs that
    // each start all-core BLAS pools would oversubscribe the machine.
    const env = childEnv(process.env, threads, gpu);
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'], env });
    let tail = '';
    child.stdout.on('data', () => undefined);
    child.stderr.on('data', (chunk: Buffer) => {
      const text = chunk.toString();
      tail = (tail + text).slice(-4000);
      for (const line of text.split('\n')) if (line.trim()) log(`  ${line}`);
    });
    child.on('error', (e) => resolve({ code: 1, tail: e.message }));
    child.on('close', (c, signal) => resolve({ code: c ?? 1, tail: signal ? `${tail}\nkilled by ${signal}` : tail }));
  });
}

/** The last meaningful lines of a child's stderr, as a one-line error. */
function errorSummary(tail: string, code: number): string {
  const lines = tail.split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('[') && !/^\S+ \d+\/\d+ \(/.test(l));
  const msg = lines.filter((l) => /error|stopped|killed|coreface:/i.test(l)).slice(-2).join(' | ') || lines.slice(-2).join(' | ');
  return msg || `exit code ${code}`;
}

/**
 * Runs the planned runs that the store does not hold yet, `jobs` at a time, each in a child process
 * (`coreface train --resume`, so an interrupted run continues from its checkpoint). A finished run is never
 * recomputed; a run locked by a live process (another `ablate` process, another shard) is skipped as busy; a
 * failed run is recorded in error.json and the others go on. Prints an overall progress bar with the ETA after
 * every run, and forwards the children's progress lines.
 */
export async function executeRuns(runs: PlannedRun[], opts: ExecuteOptions): Promise<RunOutcome[]> {
  const { store } = opts;
  const jobs = Math.max(1, opts.jobs ?? os.cpus().length);
  const threadsPerJob = nativeThreadsPerJob(jobs, runs.length);
  const log = opts.log ?? ((l: string) => process.stderr.write(l + '\n'));
  const labelOf = opts.labelOf ?? ((r: PlannedRun) => r.label);
  const outcomes: RunOutcome[] = new Array(runs.length);
  const t0 = Date.now();
  let next = 0;
  let finished = 0;
  let trainedSeconds = 0;
  let trained = 0;
  const pending = runs.map((r) => !store.result(r.key, r.config));
  const toTrain = pending.filter(Boolean).length;
  const expected = (r: PlannedRun): number => opts.expectedRunSeconds?.(r) ?? NaN;
  /** Start times of the runs in flight (by plan index). */
  const inFlight = new Map<number, number>();
  const remainingEstimate = (): number => {
    const mean = (i: number): number => (trained > 0 ? trainedSeconds / trained : expected(runs[i]));
    let queued = 0;
    for (let i = next; i < runs.length; i++) if (pending[i]) queued += mean(i);
    // Runs in flight: what is left of each (at least 0), spread over the workers with the queued runs.
    let flying = 0;
    for (const [i, t] of inFlight) flying += Math.max(0, mean(i) - (Date.now() - t) / 1000);
    return (queued + flying) / jobs;
  };
  const progress = (what: string): void => {
    finished++;
    const elapsed = (Date.now() - t0) / 1000;
    log(`[ablate] [${bar(finished / runs.length)}] ${finished}/${runs.length} ${what}; elapsed ${formatDuration(elapsed)}, ETA ${formatDuration(remainingEstimate())}`);
  };
  log(`[ablate] ${runs.length} runs, ${runs.length - toTrain} already in the store, ${toTrain} to train, ${jobs} worker(s)`);
  const worker = async (w: number): Promise<void> => {
    const gpu = opts.gpus && opts.gpus.length > 0 ? opts.gpus[w % opts.gpus.length] : null;
    while (next < runs.length) {
      const i = next++;
      const run = runs[i];
      const label = labelOf(run);
      const cached = store.result(run.key, run.config);
      if (cached) {
        outcomes[i] = { run, status: 'done', result: cached, cached: true };
        progress(`${label}: in the store`);
        continue;
      }
      const failure = store.failure(run.key);
      if (failure && !opts.retryFailed) {
        outcomes[i] = { run, status: 'failed', error: failure.error, cached: true };
        progress(`${label}: failed earlier (${failure.error}); --retry-failed runs it again`);
        continue;
      }
      const lock = store.tryLock(run.key);
      if (!lock) {
        const owner = store.liveLock(run.key);
        const who = owner ? `pid ${owner.pid} on ${owner.host}` : 'another process';
        outcomes[i] = { run, status: 'busy', owner: who };
        progress(`${label}: being run by ${who}, skipped`);
        continue;
      }
      try {
        // Another process may have finished it between our check and the lock.
        const raced = store.result(run.key, run.config);
        if (raced) {
          outcomes[i] = { run, status: 'done', result: raced, cached: true };
          progress(`${label}: in the store`);
          continue;
        }
        store.clearFailure(run.key);
        const dir = store.dir(run.key);
        log(`[ablate] ${label}: started (${dir})${gpu === null ? '' : ` on GPU ${gpu}`}`);
        const started = Date.now();
        inFlight.set(i, started);
        const { code, tail } = await trainChild(run, dir, label, opts.backend, threadsPerJob, gpu, log);
        const seconds = (Date.now() - started) / 1000;
        inFlight.delete(i);
        const result = code === 0 ? store.result(run.key, run.config) : null;
        if (result) {
          trained++;
          trainedSeconds += seconds;
          outcomes[i] = { run, status: 'done', result, cached: false };
          progress(`${label}: done in ${formatDuration(seconds)}`);
        } else {
          const error = code === 0 ? 'the run exited without writing result.json' : errorSummary(tail, code);
          store.recordFailure(run.key, error, code);
          fs.writeFileSync(path.join(dir, 'error.txt'), tail);
          outcomes[i] = { run, status: 'failed', error, cached: false };
          progress(`${label}: FAILED (${error})`);
        }
      } finally {
        lock.release();
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(jobs, runs.length) }, (_, w) => worker(w)));
  return outcomes;
}
