/**
 * Per-kernel profile of training steps (issue 17): where a step's time goes, by tfjs kernel.
 *
 *   npx tsx bench/profile.ts [--task bench-model|quick-arcface|quick-coreface|embed] [--threads N] [--native 0|1]
 *                            [--steps 3] [--warmup 2] [--clock wall|cpu] [--engine onednn|blas] [--shapes] [--json]
 *                            [--composite 0|1]
 *
 * In each profiled step every wasm kernel function is timed (self time, see {@link profileStep}); times are summed
 * per kernel name, and "outside kernels" is the step's wall time minus their sum: tfjs bookkeeping (tape, tidy,
 * dispose, engine dispatch), the JS around the kernels, and reading the loss back. The timers add ~1 us per
 * kernel call. The printed table is the median step's profile. `--clock cpu` measures process CPU time instead of
 * wall time (for a loaded machine; at 1 thread the two agree on an idle one). `--shapes` keeps kernels with different
 * input shapes apart. `--composite 0` turns the composite kernels off (the neck and CoReFace objective as single
 * kernels, the path before them; same results).
 */
import { parseArgs } from 'util';
import * as tf from '@tensorflow/tfjs';
import { initBackend, NATIVE_ENV_VAR, setNativeConvEngine, THREADS_ENV_VAR } from '../src/backends';
import type { NativeConvEngine } from '../src/backends';
import { setCompositeKernels } from '../src/backends/fused';
import { deepMerge } from '../src/config';
import { QUICK_BASE, corefaceAblationVariants } from '../src/experiments/builtin';
import { Trainer } from '../src/train/trainer';
import { embedImageSet } from '../src/train/embed';
import { Rng } from '../src/util/rng';
import { BenchModel } from './bench-model';

/** One kernel name's share of a step. */
export interface KernelRow {
  name: string;
  calls: number;
  ms: number;
}

/** Wall-clock milliseconds. */
export function wallMs(): number {
  return Number(process.hrtime.bigint()) / 1e6;
}

/**
 * CPU milliseconds of the whole process (user + system, all threads): insensitive to other processes taking the
 * cores, so usable on a loaded machine; with N threads busy it runs N times faster than the wall clock.
 */
export function cpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e3;
}

/** The profile of one step (times in the clock's milliseconds). */
export interface StepProfile {
  wallMs: number;
  kernelMs: number;
  rows: KernelRow[];
}

/**
 * Times every kernel of the wasm backend while `step` runs: each registered kernel function is wrapped (in place,
 * restored afterwards) with a timer, and a kernel's time is its self time (kernels it calls itself, e.g. the
 * replacement gradient kernels built from tfjs ops, are counted under their own names).
 */
export function profileStep(step: () => void, clock: () => number = wallMs, byShape = false): StepProfile {
  const configs = tf.getKernelsForBackend('wasm');
  const originals = configs.map((c) => c.kernelFunc);
  const by = new Map<string, KernelRow>();
  const childMs: number[] = [];
  configs.forEach((c, i) => {
    const f = originals[i];
    c.kernelFunc = (args) => {
      childMs.push(0);
      const t0 = clock();
      try {
        return f(args);
      } finally {
        const ms = clock() - t0;
        const inner = childMs.pop() ?? 0;
        if (childMs.length > 0) childMs[childMs.length - 1] += ms;
        const key = byShape ? `${c.kernelName} ${JSON.stringify(Object.values(args.inputs).map((t) => t?.shape))}` : c.kernelName;
        const row = by.get(key) ?? { name: key, calls: 0, ms: 0 };
        row.calls++;
        row.ms += ms - inner;
        by.set(key, row);
      }
    };
  });
  const t0 = clock();
  try {
    step();
  } finally {
    configs.forEach((c, i) => { c.kernelFunc = originals[i]; });
  }
  const total = clock() - t0;
  const rows = [...by.values()].sort((a, b) => b.ms - a.ms);
  return { wallMs: total, kernelMs: rows.reduce((a, r) => a + r.ms, 0), rows };
}

function quickTrainer(method: 'arcface' | 'coreface'): Trainer {
  const m = corefaceAblationVariants(3, []).find((x) => x.name === method);
  if (!m) throw new Error(`no variant ${method}`);
  const cfg = deepMerge(deepMerge(QUICK_BASE, m.overrides ?? {}), { name: `profile-${method}`, seed: 0 }) as Record<string, unknown>;
  return new Trainer(cfg, { progress: false });
}

function stepFn(task: string): { step: () => void; dispose: () => void } {
  if (task === 'bench-model') {
    const m = new BenchModel();
    return { step: () => { m.step(); }, dispose: () => m.dispose() };
  }
  if (task === 'quick-arcface' || task === 'quick-coreface') {
    const t = quickTrainer(task === 'quick-arcface' ? 'arcface' : 'coreface');
    const epoch = t.config.coreface.startEpoch;
    const n = t.benchmark.train.count;
    const b = t.config.training.batchSize;
    let s = 0;
    return {
      step: () => {
        const rng = new Rng(`bench/idx/${s}`);
        t.step(Int32Array.from({ length: b }, () => rng.int(n)), epoch, s++);
      },
      dispose: () => t.dispose(),
    };
  }
  if (task === 'embed') {
    const t = quickTrainer('arcface');
    const embed = (x: tf.Tensor4D): tf.Tensor2D => t.model.embed(x, { training: false });
    const idx = Int32Array.from({ length: 512 }, (_, i) => i);
    return { step: () => { embedImageSet(embed, t.benchmark.test, { indices: idx }); }, dispose: () => t.dispose() };
  }
  throw new Error(`--task must be bench-model, quick-arcface, quick-coreface or embed, got '${task}'`);
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      task: { type: 'string', default: 'bench-model' },
      threads: { type: 'string' },
      native: { type: 'string', default: '1' },
      steps: { type: 'string', default: '3' },
      warmup: { type: 'string', default: '2' },
      json: { type: 'boolean', default: false },
      clock: { type: 'string', default: 'wall' },
      engine: { type: 'string' },
      shapes: { type: 'boolean', default: false },
      composite: { type: 'string', default: '1' },
    },
  });
  if (values.composite !== '0' && values.composite !== '1') throw new Error(`--composite must be 0 or 1, got '${values.composite}'`);
  setCompositeKernels(values.composite === '1');
  if (values.native === '0') process.env[NATIVE_ENV_VAR] = '0';
  if (values.threads) process.env[THREADS_ENV_VAR] = values.threads;
  const info = await initBackend({ backend: 'wasm', quiet: true });
  if (values.engine) setNativeConvEngine(values.engine as NativeConvEngine);
  const { step, dispose } = stepFn(values.task);
  if (values.clock !== 'wall' && values.clock !== 'cpu') throw new Error(`--clock must be wall or cpu, got '${values.clock}'`);
  const clock = values.clock === 'cpu' ? cpuMs : wallMs;
  for (let i = 0; i < Number(values.warmup); i++) step();
  const walls: number[] = [];
  for (let i = 0; i < Number(values.steps); i++) {
    const t0 = clock();
    step();
    walls.push(clock() - t0);
  }
  const profiles: StepProfile[] = [];
  for (let i = 0; i < Number(values.steps); i++) profiles.push(profileStep(step, clock, values.shapes));
  dispose();
  profiles.sort((a, b) => a.wallMs - b.wallMs);
  const p = profiles[Math.floor(profiles.length / 2)];
  walls.sort((a, b) => a - b);
  const plainMs = walls[Math.floor(walls.length / 2)];
  if (values.json) {
    process.stdout.write(`${JSON.stringify({ task: values.task, backend: info.note, clock: values.clock, plainMs, ...p })}\n`);
    return;
  }
  process.stdout.write(`${values.task} on ${info.note}; composite kernels ${values.composite === '1' ? 'on' : 'off'}; ${values.clock} clock\n`);
  process.stdout.write(`step ${plainMs.toFixed(1)} ms unprofiled (median of ${walls.length}); profiled ${p.wallMs.toFixed(1)} ms, ` +
    `kernels ${p.kernelMs.toFixed(1)} ms, outside kernels ${(p.wallMs - p.kernelMs).toFixed(1)} ms; ${p.rows.reduce((a, r) => a + r.calls, 0)} kernel calls\n`);
  process.stdout.write('| kernel | calls | ms | % of step |\n|---|---|---|---|\n');
  for (const r of p.rows) {
    if (r.ms / p.wallMs < 0.003) continue;
    process.stdout.write(`| ${r.name} | ${r.calls} | ${r.ms.toFixed(1)} | ${((100 * r.ms) / p.wallMs).toFixed(1)} |\n`);
  }
  process.stdout.write(`| (outside kernels) | | ${(p.wallMs - p.kernelMs).toFixed(1)} | ${((100 * (p.wallMs - p.kernelMs)) / p.wallMs).toFixed(1)} |\n`);
}

if (require.main === module) {
  main().catch((e: unknown) => {
    process.stderr.write(`${e instanceof Error ? e.stack ?? e.message : String(e)}\n`);
    process.exit(1);
  });
}
