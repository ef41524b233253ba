/**
 * One bench task in its own process (fresh backend, fresh heap): `node dist/bench/worker.js <task> [json options]`.
 * Prints progress to stderr and the result as the last stdout line, prefixed with {@link RESULT_PREFIX}.
 */
import * as tf from '@tensorflow/tfjs';
import { initBackend, nativeKernelsStatus, NATIVE_ENV_VAR, THREADS_ENV_VAR } from '../src/backends';
import { compositeKernelsInUse, setCompositeKernels } from '../src/backends/fused';
import type { BackendName } from '../src/backends';
import { deepMerge } from '../src/config';
import { QUICK_BASE, corefaceAblationVariants } from '../src/experiments/builtin';
import { Trainer } from '../src/train/trainer';
import { embedImageSet } from '../src/train/embed';
import { verificationAccuracy } from '../src/eval/verification';
import type { FaceBenchmark } from '../src/data/types';
import { Rng } from '../src/util/rng';
import { BenchModel, BENCH_BATCH } from './bench-model';
import { Summary, medianInterval, msSince, rateSummary, summarize } from './stats';
import type { BenchReport } from './report';

export const RESULT_PREFIX = 'BENCH_RESULT ';

/** Options a task may receive from run.ts. */
export interface TaskOptions {
  backend?: BackendName;
  /** wasm only: use the native kernels (default: whatever initBackend does, i.e. on when built). */
  native?: boolean;
  /** Native (BLAS) threads; default all cores. */
  threads?: number;
  warmup?: number;
  reps?: number;
  batch?: number;
  steps?: number;
  /** Give up timing after the warm-up when one step takes longer than this (s). */
  maxStepSeconds?: number;
}

/** A timed step measurement. */
export interface StepResult {
  /** What ran, e.g. "wasm" or "wasm + native (OpenBLAS, 2 threads)". */
  backend: string;
  /** Threads the step could use (1 for plain wasm and cpu). */
  threads: number;
  batch: number;
  warmup: number;
  /** Seconds per step. */
  seconds: Summary;
  /** Images per second per step. */
  imgPerSec: Summary;
  note?: string;
}

function log(msg: string): void {
  process.stderr.write(`[bench] ${msg}\n`);
}

function timeSteps(step: () => void, warmup: number, reps: number, maxStepSeconds = Infinity): { seconds: number[]; capped: boolean } {
  for (let i = 0; i < warmup; i++) {
    const t0 = process.hrtime.bigint();
    step();
    const dt = msSince(t0) / 1000;
    log(`  warm-up ${i + 1}/${warmup}: ${dt.toFixed(2)} s`);
    if (dt > maxStepSeconds) return { seconds: [dt], capped: true };
  }
  const seconds: number[] = [];
  for (let i = 0; i < reps; i++) {
    const t0 = process.hrtime.bigint();
    step();
    seconds.push(msSince(t0) / 1000);
    log(`  rep ${i + 1}/${reps}: ${seconds[i].toFixed(3)} s`);
  }
  return { seconds, capped: false };
}

/** The running configuration: its label and thread count. */
interface RunLabel {
  label: string;
  threads: number;
}

function stepResult(run: RunLabel, batch: number, warmup: number, r: { seconds: number[]; capped: boolean }): StepResult {
  const out: StepResult = { backend: run.label, threads: run.threads, batch, warmup, seconds: summarize(r.seconds), imgPerSec: rateSummary(batch, r.seconds) };
  if (r.capped) out.note = `capped: the warm-up step took ${r.seconds[0].toFixed(1)} s, reported from it alone`;
  return out;
}

/** The quick-preset trainer for one paper method, optionally with another batch size. */
function quickTrainer(method: 'arcface' | 'coreface', benchmark?: FaceBenchmark, batch?: number): Trainer {
  const m = corefaceAblationVariants(3, []).find((x) => x.name === method);
  if (!m) throw new Error(`the quick ablation has no variant ${method}`);
  let cfg = deepMerge(deepMerge(QUICK_BASE, m.overrides ?? {}), { name: `bench-${method}`, seed: 0 }) as Record<string, unknown>;
  if (batch !== undefined) cfg = deepMerge(cfg, { training: { batchSize: batch } }) as Record<string, unknown>;
  return new Trainer(cfg, { benchmark, progress: false });
}

/** Epoch at which the CoReFace method trains two views (its startEpoch); used for both methods. */
function twoViewEpoch(t: Trainer): number {
  return t.config.coreface.startEpoch;
}

function batchIndices(t: Trainer, s: number): Int32Array {
  const n = t.benchmark.train.count;
  const b = t.config.training.batchSize;
  const rng = new Rng(`bench/idx/${s}`);
  return Int32Array.from({ length: b }, () => rng.int(n));
}

function quickSteps(t: Trainer, epoch: number, o: TaskOptions, backend: RunLabel): StepResult {
  let s = 0;
  const r = timeSteps(() => { t.step(batchIndices(t, s), epoch, s); s++; }, o.warmup ?? 2, o.reps ?? 5, o.maxStepSeconds);
  return stepResult(backend, t.config.training.batchSize, o.warmup ?? 2, r);
}

function memorySnapshot(): { numTensors: number; numBytes: number; heapUsedMB: number; rssMB: number } {
  const g = (globalThis as { gc?: () => void }).gc;
  if (g) g();
  const m = tf.memory();
  const p = process.memoryUsage();
  return { numTensors: m.numTensors, numBytes: m.numBytes, heapUsedMB: p.heapUsed / 2 ** 20, rssMB: p.rss / 2 ** 20 };
}

type TaskFn = (o: TaskOptions, run: RunLabel) => unknown;

const TASKS: Record<string, TaskFn> = {
  'bench-model': (o, backend) => {
    const m = new BenchModel(o.batch ?? BENCH_BATCH);
    log(`bench model: ${m.store.numParams()} parameters, batch ${m.batch}`);
    const r = timeSteps(() => { m.step(); }, o.warmup ?? 1, o.reps ?? 3, o.maxStepSeconds);
    const out = stepResult(backend, m.batch, o.warmup ?? 1, r);
    m.dispose();
    return out;
  },
  quick: (o, backend) => {
    const t0 = process.hrtime.bigint();
    const arc = quickTrainer('arcface', undefined, o.batch);
    log(`quick preset dataset built in ${(msSince(t0) / 1000).toFixed(1)} s; ${arc.model.store.numParams()} parameters`);
    const cor = quickTrainer('coreface', arc.benchmark, o.batch);
    const epoch = twoViewEpoch(cor);
    // ArcFace and CoReFace steps interleaved, the order rotating each round: load from elsewhere on the machine hits
    // both alike, and the overhead is the median of the per-round ratios. With the native kernels a third arm times
    // the same CoReFace trainer with the composite kernels off (the single kernels: the path before them).
    const warmup = o.warmup ?? 2;
    const reps = o.reps ?? 5;
    const arms: { t: Trainer; composite: boolean }[] = [{ t: arc, composite: true }, { t: cor, composite: true }];
    if (compositeKernelsInUse()) arms.push({ t: cor, composite: false });
    let s = 0;
    const stepOf = (a: { t: Trainer; composite: boolean }): number => {
      const prev = setCompositeKernels(a.composite);
      const t1 = process.hrtime.bigint();
      try {
        a.t.step(batchIndices(a.t, s), epoch, s);
      } finally {
        setCompositeKernels(prev);
      }
      s++;
      return msSince(t1) / 1000;
    };
    for (let i = 0; i < warmup; i++) arms.forEach((a) => stepOf(a));
    const secs: number[][] = arms.map(() => []);
    for (let i = 0; i < reps; i++) {
      for (let j = 0; j < arms.length; j++) {
        const k = (i + j) % arms.length;
        secs[k].push(stepOf(arms[k]));
      }
      if ((i + 1) % 10 === 0 || i + 1 === reps) log(`  round ${i + 1}/${reps}: ${arms.map((a, k) => `${k === 0 ? 'ArcFace' : a.composite ? 'CoReFace' : 'CoReFace (single kernels)'} ${secs[k][i].toFixed(3)} s`).join(', ')}`);
    }
    arc.dispose();
    cor.dispose();
    const [arcface, coreface, single] = secs.map((x) => stepResult(backend, arc.config.training.batchSize, warmup, { seconds: x, capped: false }));
    const perRound = (num: number[], den: number[]): number[] => num.map((c, i) => c / den[i]);
    const target = perRound(secs[1], secs[0]);
    const ratios = summarize(target);
    const out: BenchReport['quick'][number] = { arcface, coreface, corefaceOverArcface: ratios.median, pairRatios: ratios, ratioInterval: medianInterval(target) };
    if (single) out.singleKernels = { coreface: single, overArcface: summarize(perRound(secs[2], secs[0])), compositeOverSingle: summarize(perRound(secs[1], secs[2])) };
    return out;
  },
  'quick-arcface': (o, backend) => {
    const arc = quickTrainer('arcface', undefined, o.batch);
    const arcface = quickSteps(arc, 0, o, backend);
    arc.dispose();
    return { arcface };
  },
  matmul: (o, run) => {
    // The issue's square case, plus the bench model's dense layer ([64, 4096] @ [4096, 128]).
    const shapes: [number, number, number][] = [[1024, 1024, 1024], [64, 4096, 128]];
    const rng = new Rng('bench/matmul');
    const mk = (r: number, c: number): tf.Tensor2D => tf.tensor2d(Float32Array.from({ length: r * c }, () => rng.normal(0, 1)), [r, c]);
    return shapes.map(([m, k, n]) => {
      const a = mk(m, k);
      const b = mk(k, n);
      log(`  matmul [${m}, ${k}] @ [${k}, ${n}]`);
      // The tidy callback returns nothing: returning the dataSync() array made tf.tidy walk its million entries
      // looking for tensors, which took ~2 s and was what the first bench (1.8 GFLOP/s for wasm) measured.
      const r = timeSteps(() => { tf.tidy(() => { tf.matMul(a, b).dataSync(); }); }, o.warmup ?? 2, o.reps ?? 7);
      tf.dispose([a, b]);
      return { m, k, n, backend: run.label, gflops: summarize(r.seconds.map((s) => (2 * m * k * n) / s / 1e9)) };
    });
  },
  eval: (o, run) => {
    const t = quickTrainer('arcface');
    const test = t.benchmark.test;
    const embedFn = (x: tf.Tensor4D): tf.Tensor2D => t.model.embed(x, { training: false });
    let emb: Float32Array = new Float32Array(0);
    let dim = 0;
    const r = timeSteps(() => { const e = embedImageSet(embedFn, test); emb = e.embeddings; dim = e.dim; }, 1, o.reps ?? 3);
    // 6,000 pairs: the benchmark's own pairs, topped up with seeded random pairs when it has fewer.
    const P = 6000;
    const rng = new Rng('bench/pairs');
    const p = t.benchmark.pairs;
    const scores = new Float64Array(P);
    const same = new Uint8Array(P);
    for (let k = 0; k < P; k++) {
      let i: number;
      let j: number;
      if (k < p.left.length) {
        i = p.left[k]; j = p.right[k];
      } else {
        i = rng.int(test.count); j = rng.int(test.count);
      }
      let dot = 0;
      for (let d = 0; d < dim; d++) dot += emb[i * dim + d] * emb[j * dim + d];
      scores[k] = dot;
      same[k] = test.labels[i] === test.labels[j] ? 1 : 0;
    }
    const vt: number[] = [];
    let acc = 0;
    for (let i = 0; i < 3; i++) verificationAccuracy(scores, same, { folds: 10 });
    for (let i = 0; i < (o.reps ?? 3) * 5; i++) {
      const t0 = process.hrtime.bigint();
      acc = verificationAccuracy(scores, same, { folds: 10 }).accuracy;
      vt.push(msSince(t0));
    }
    t.dispose();
    return {
      backend: run.label, images: test.count, flip: true, embeddingsPerSec: rateSummary(test.count, r.seconds),
      verification: { pairs: P, benchmarkPairs: p.left.length, folds: 10, ms: summarize(vt), accuracyUntrained: acc },
    };
  },
  memory: (o, run) => {
    const steps = o.steps ?? 500;
    const arc = quickTrainer('arcface', undefined, o.batch);
    const cor = quickTrainer('coreface', arc.benchmark, o.batch);
    arc.dispose();
    const epoch = twoViewEpoch(cor);
    for (let s = 0; s < 3; s++) cor.step(batchIndices(cor, s), epoch, s);
    const before = memorySnapshot();
    const t0 = process.hrtime.bigint();
    for (let s = 0; s < steps; s++) {
      cor.step(batchIndices(cor, s), epoch, s);
      if ((s + 1) % 100 === 0) log(`  memory: ${s + 1}/${steps} steps, ${tf.memory().numTensors} tensors`);
    }
    const seconds = msSince(t0) / 1000;
    const after = memorySnapshot();
    cor.dispose();
    return { backend: run.label, model: 'quick preset, CoReFace two-view step', batch: cor.config.training.batchSize, steps, seconds, before, after };
  },
};

async function main(): Promise<void> {
  const task = process.argv[2];
  const o = JSON.parse(process.argv[3] ?? '{}') as TaskOptions;
  const fn = TASKS[task];
  if (!fn) throw new Error(`unknown task '${task}'; one of ${Object.keys(TASKS).join(', ')}`);
  if (o.native === false) process.env[NATIVE_ENV_VAR] = '0';
  if (o.threads !== undefined) process.env[THREADS_ENV_VAR] = String(o.threads);
  const info = await initBackend({ backend: o.backend ?? 'wasm', quiet: true });
  log(`${task} on ${info.note}`);
  const native = info.name === 'wasm' ? nativeKernelsStatus() : undefined;
  if (o.native === true && !native?.active) throw new Error(`native kernels requested but off: ${native?.reason ?? 'not wasm'}`);
  const run: RunLabel = native?.active
    ? { label: `wasm + native (${native.convEngine === 'onednn' ? 'oneDNN' : native.blas?.split(' ')[0] ?? 'BLAS'}, ${native.threads} thread${native.threads === 1 ? '' : 's'})`, threads: native.threads ?? 1 }
    : { label: info.name, threads: 1 };
  const out = fn(o, run);
  process.stdout.write(`${RESULT_PREFIX}${JSON.stringify(out)}\n`);
}

if (require.main === module) {
  main().catch((e: unknown) => {
    process.stderr.write(`${e instanceof Error ? e.stack ?? e.message : String(e)}\n`);
    process.exit(1);
  });
}
