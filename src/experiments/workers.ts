/**
 * How many runs `ablate` trains at once by default, and on which GPU each one runs. The wasm and cpu backends run
 * one thread per process (tfjs disables wasm threads in Node), so a grid runs one process per CPU core. With
 * `@tensorflow/tfjs-node-gpu` a run uses a whole GPU (and TensorFlow's own thread pool uses every core), so the
 * grid runs one process per GPU, each pinned to its GPU through CUDA_VISIBLE_DEVICES; without a usable GPU that
 * backend is native multi-threaded TensorFlow on the CPU, where one run at a time is the sensible default.
 */
import { spawnSync } from 'child_process';
import * as os from 'os';
import type { BackendName } from '../backends/select';

/** The variable CUDA (and so TensorFlow) reads to choose the GPUs a process sees; Slurm sets it for --gres=gpu. */
export const CUDA_DEVICES_ENV_VAR = 'CUDA_VISIBLE_DEVICES';

/**
 * The GPUs this process may use, as CUDA device ids: from CUDA_VISIBLE_DEVICES when set (comma-separated; empty,
 * `-1` or `NoDevFiles` mean none, as in CUDA and Slurm), else one id per line of `nvidia-smi -L` (none when
 * nvidia-smi is missing or fails). `listGpus` replaces the nvidia-smi probe (tests).
 */
export function detectGpus(env: NodeJS.ProcessEnv = process.env, listGpus: () => string[] = nvidiaSmiGpus): string[] {
  const visible = env[CUDA_DEVICES_ENV_VAR];
  if (visible !== undefined) {
    const ids = visible.split(',').map((s) => s.trim()).filter((s) => s.length > 0);
    if (ids.length === 0 || ids[0] === '-1' || ids[0] === 'NoDevFiles') return [];
    // CUDA stops at the first invalid entry: "0,-1,1" means device 0 only.
    const end = ids.findIndex((s) => s === '-1');
    return end < 0 ? ids : ids.slice(0, end);
  }
  return listGpus();
}

/** GPU indices from `nvidia-smi -L` ("GPU 0: NVIDIA A100 (UUID: ...)"); [] when it is not installed or fails. */
export function nvidiaSmiGpus(): string[] {
  const r = spawnSync('nvidia-smi', ['-L'], { encoding: 'utf8', timeout: 10000 });
  if (r.status !== 0 || typeof r.stdout !== 'string') return [];
  return r.stdout.split('\n').map((l) => /^GPU (\d+):/.exec(l.trim())?.[1]).filter((x): x is string => x !== undefined);
}

/** What {@link defaultWorkers} decides. */
export interface WorkerPlan {
  /** Parallel training processes. */
  jobs: number;
  /** GPU of each worker (worker w uses `gpus[w % gpus.length]`), or null: the children inherit the environment. */
  gpus: string[] | null;
  /** Why, for the log line: e.g. `one per GPU (tfjs-node-gpu; GPUs 0, 1)`. */
  reason: string;
}

/** Inputs of {@link defaultWorkers}. */
export interface WorkerContext {
  /** Backend the training children run on. */
  backend: BackendName | string;
  /** GPUs visible to this process (see {@link detectGpus}). */
  gpus: string[];
  /** CPU cores available (default `os.availableParallelism()`). */
  cpus?: number;
  /** Jobs asked for explicitly (`--jobs`); it wins over the default, GPUs are then shared round-robin. */
  jobs?: number;
}

/**
 * The default parallelism of a grid: with tfjs-node-gpu, one worker per visible GPU, each pinned to its GPU (and 1
 * worker when no GPU is visible: TensorFlow on the CPU is multi-threaded already); with wasm or cpu, one worker
 * per core. An explicit `jobs` wins; with GPUs, workers beyond the GPU count share GPUs round-robin.
 */
export function defaultWorkers(ctx: WorkerContext): WorkerPlan {
  const cpus = Math.max(1, ctx.cpus ?? os.availableParallelism());
  if (ctx.jobs !== undefined && (!Number.isInteger(ctx.jobs) || ctx.jobs < 1)) {
    throw new Error(`jobs must be a positive integer, got ${ctx.jobs}`);
  }
  if (ctx.backend === 'tfjs-node-gpu') {
    if (ctx.gpus.length === 0) {
      return { jobs: ctx.jobs ?? 1, gpus: null, reason: ctx.jobs ? 'as asked (--jobs)' : 'one at a time (tfjs-node-gpu without a visible GPU: TensorFlow uses every core itself)' };
    }
    return {
      jobs: ctx.jobs ?? ctx.gpus.length,
      gpus: [...ctx.gpus],
      reason: `${ctx.jobs ? 'as asked (--jobs)' : 'one per GPU'} (tfjs-node-gpu; GPU${ctx.gpus.length === 1 ? '' : 's'} ${ctx.gpus.join(', ')}, one per worker)`,
    };
  }
  return { jobs: ctx.jobs ?? cpus, gpus: null, reason: ctx.jobs ? 'as asked (--jobs)' : `one per CPU core (${ctx.backend}: one thread per process)` };
}

/** The GPU worker `w` runs on under `plan` (null when the plan pins none). */
export function workerGpu(plan: Pick<WorkerPlan, 'gpus'>, w: number): string | null {
  return plan.gpus && plan.gpus.length > 0 ? plan.gpus[w % plan.gpus.length] : null;
}
