/**
 * Long-run memory check: 2,000 steps of the full training loop (Trainer.run: sampler, steps, metrics.jsonl,
 * a checkpoint every epoch, the switch to CoReFace's two views halfway, the final evaluation) on the quick
 * preset's data and model (synthfaces 500 x 16 at 32x32x3, iresnet-tiny, E 128, ArcFace s 64 m 0.5), recording
 * tf.memory() tensors and bytes, the JS heap (after a forced GC) and the RSS every 100 steps. Writes
 * bench/results/long-run-<date>.json, prints a table and a verdict, and exits 1 if a figure grows over the
 * second half of the run (after warm-up and the phase switch).
 *
 * Batch 32 by default, not the preset's 64: a batch-64 step takes ~0.5-0.6 s on one idle wasm thread, so
 * 2,000 of them would take ~20 min; batch 32 takes ~0.25-0.3 s (~10 min idle). `--batch 64` runs the preset's.
 *
 * Usage: tsx bench/long-run.ts [--steps 2000] [--every 100] [--batch 32] [--backend wasm|cpu]
 * (run it with `nice` on a shared machine).
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as v8 from 'v8';
import * as vm from 'vm';
import { parseArgs } from 'util';
import * as tf from '@tensorflow/tfjs';
import { initBackend, BackendName } from '../src/backends';
import { Trainer } from '../src/train';
import { formatDuration } from '../src/util/progress';

/** One memory sample. */
export interface MemorySample {
  step: number;
  seconds: number;
  views: 1 | 2;
  numTensors: number;
  numBytes: number;
  heapUsedMB: number;
  rssMB: number;
  externalMB: number;
}

/** Whether one figure stays flat over the checked window. */
export interface Verdict {
  figure: keyof Pick<MemorySample, 'numTensors' | 'numBytes' | 'heapUsedMB' | 'rssMB'>;
  first: number;
  mid: number;
  last: number;
  /** Growth from the start of the checked window to the end. */
  growth: number;
  tolerance: number;
  flat: boolean;
}

/** What bench/results/long-run-<date>.json holds. */
export interface LongRunReport {
  date: string;
  machine: { cpus: number; cpuModel: string; memGiB: number; node: string; tfjs: string; loadAvgStart: number[]; loadAvgEnd: number[] };
  backend: string;
  config: Record<string, unknown>;
  steps: number;
  batchSize: number;
  wallSeconds: number;
  secondsPerStep: number;
  finalLoss: number;
  verificationAccuracy: number | null;
  checkedFromStep: number;
  samples: MemorySample[];
  verdicts: Verdict[];
  flat: boolean;
}

const ROOT = path.join(__dirname, '..', ...(path.basename(path.join(__dirname, '..')) === 'dist' ? ['..'] : []));
const MB = 2 ** 20;

/** A forced full GC (the heap figure is the live heap, not garbage waiting for collection). */
function gcFunction(): () => void {
  const g = (globalThis as { gc?: () => void }).gc;
  if (g) return g;
  v8.setFlagsFromString('--expose-gc');
  return vm.runInNewContext('gc') as () => void;
}

function stamp(d: Date): string {
  const p = (n: number): string => String(n).padStart(2, '0');
  return `${d.getUTCFullYear()}-${p(d.getUTCMonth() + 1)}-${p(d.getUTCDate())}-${p(d.getUTCHours())}${p(d.getUTCMinutes())}${p(d.getUTCSeconds())}`;
}

function positiveInt(v: string | undefined, name: string, def: number): number {
  if (v === undefined) return def;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new Error(`--${name} must be a positive integer, got ${JSON.stringify(v)}`);
  return n;
}

/**
 * Growth of each figure over the checked window [from, end] (from = first sample of the second half, after
 * warm-up and the switch to two views): tensors and bytes must not change at all; the heap may move by GC
 * noise (5 MB); the RSS by allocator noise (20 MB or 5%).
 */
export function verdicts(samples: MemorySample[], from: number): Verdict[] {
  const win = samples.filter((s) => s.step >= from);
  const mid = win[Math.floor(win.length / 2)];
  const first = win[0], last = win[win.length - 1];
  const tol: Record<Verdict['figure'], number> = { numTensors: 0, numBytes: 0, heapUsedMB: 5, rssMB: Math.max(20, 0.05 * first.rssMB) };
  return (Object.keys(tol) as Verdict['figure'][]).map((figure) => {
    // Tensors and bytes: the largest excursion anywhere in the window; heap and RSS: end minus start.
    const growth = figure === 'numTensors' || figure === 'numBytes'
      ? Math.max(...win.map((s) => s[figure])) - first[figure]
      : last[figure] - first[figure];
    return { figure, first: first[figure], mid: mid[figure], last: last[figure], growth, tolerance: tol[figure], flat: growth <= tol[figure] };
  });
}

function table(samples: MemorySample[]): string {
  const head = '| step | views | s | tensors | tensor MB | heap MB | RSS MB | external MB |';
  const rows = samples.map((s) => `| ${s.step} | ${s.views} | ${s.seconds.toFixed(0)} | ${s.numTensors} | ${(s.numBytes / MB).toFixed(2)} | ${s.heapUsedMB.toFixed(1)} | ${s.rssMB.toFixed(1)} | ${s.externalMB.toFixed(1)} |`);
  return [head, '|---|---|---|---|---|---|---|---|', ...rows].join('\n');
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    args: process.argv.slice(2),
    options: { steps: { type: 'string' }, every: { type: 'string' }, batch: { type: 'string' }, backend: { type: 'string' } },
    strict: true, allowPositionals: false,
  });
  const steps = positiveInt(values.steps, 'steps', 2000);
  const every = positiveInt(values.every, 'every', 100);
  const batch = positiveInt(values.batch, 'batch', 32);
  const info = await initBackend({ backend: values.backend as BackendName | undefined, quiet: true });
  const gc = gcFunction();
  const log = (m: string): void => { process.stderr.write(`[long-run] ${m}\n`); };

  // The quick preset's data and model; epochs sized to cover `steps`, CoReFace (two views) from the middle.
  const trainImages = 500 * 16;
  const stepsPerEpoch = Math.floor(trainImages / batch);
  const epochs = Math.max(2, Math.ceil(steps / stepsPerEpoch));
  const half = Math.max(1, Math.floor(epochs / 2));
  const config = {
    name: 'long-run',
    seed: 0,
    dataset: { name: 'synthfaces', options: { trainIdentities: 500, imagesPerIdentity: 16, testIdentities: 300, resolution: 32, channels: 3, nuisance: 1.25 } },
    model: { backbone: 'iresnet-tiny', embeddingDim: 128 },
    head: { name: 'arcface', options: { scale: 64, margin: 0.5 } },
    coreface: { enabled: true, startEpoch: half },
    dropout: { before: 0.4, after: 0.6 },
    optimizer: { lr: 0.1, momentum: 0.9, weightDecay: 5e-4, clipNorm: 5, warmupEpochs: 1, milestones: [half, Math.max(half + 1, epochs - 1)], gamma: 0.1 },
    training: { epochs, batchSize: batch, sampler: 'random', evalEvery: 0, checkpointEvery: 1, logEvery: 10 },
  };
  const outDir = fs.mkdtempSync(path.join(os.tmpdir(), 'coreface-long-run-'));
  const loadAvgStart = os.loadavg();
  const started = new Date();
  const t0 = Date.now();
  const samples: MemorySample[] = [];
  const sample = (step: number, views: 1 | 2): void => {
    gc();
    const m = tf.memory();
    const p = process.memoryUsage();
    const s: MemorySample = {
      step, seconds: (Date.now() - t0) / 1000, views, numTensors: m.numTensors, numBytes: m.numBytes,
      heapUsedMB: p.heapUsed / MB, rssMB: p.rss / MB, externalMB: p.external / MB,
    };
    samples.push(s);
    log(`step ${step}/${steps} (${views} view${views > 1 ? 's' : ''}): ${s.numTensors} tensors, ${(s.numBytes / MB).toFixed(2)} MB of tensors, heap ${s.heapUsedMB.toFixed(1)} MB, RSS ${s.rssMB.toFixed(1)} MB, ${formatDuration(s.seconds)}`);
  };

  log(`${info.note}; batch ${batch}, ${stepsPerEpoch} steps/epoch, ${epochs} epochs (two views from epoch ${half + 1}), ${steps} steps; out ${outDir}`);
  const trainer = new Trainer(config, {
    outDir, progress: false, maxSteps: steps,
    onStep: (r) => {
      const done = r.globalStep + 1;
      if (done === 1 || done % every === 0) sample(done, r.views);
    },
  });
  log(`data and model ready in ${((Date.now() - t0) / 1000).toFixed(1)} s; ${trainer.model.store.numParams()} parameters`);
  let finalLoss = NaN;
  let verificationAccuracy: number | null = null;
  try {
    const r = trainer.run();
    finalLoss = r.finalLoss;
    verificationAccuracy = r.final.verification.accuracy;
  } catch (e) {
    // maxSteps below the epochs' total stops the run early on purpose (no final evaluation then).
    if (!/stopped after maxSteps/.test((e as Error).message)) throw e;
  }
  const wallSeconds = (Date.now() - t0) / 1000;
  trainer.dispose();
  fs.rmSync(outDir, { recursive: true, force: true });

  const checkedFromStep = samples.find((s) => s.views === 2 && s.step >= steps / 2 + every)?.step ?? samples[Math.floor(samples.length / 2)].step;
  const v = verdicts(samples, checkedFromStep);
  const report: LongRunReport = {
    date: started.toISOString(),
    machine: {
      cpus: os.cpus().length, cpuModel: os.cpus()[0]?.model ?? 'unknown', memGiB: os.totalmem() / 2 ** 30, node: process.version,
      tfjs: tf.version_core, loadAvgStart, loadAvgEnd: os.loadavg(),
    },
    backend: info.name,
    config,
    steps: samples[samples.length - 1]?.step ?? 0,
    batchSize: batch,
    wallSeconds,
    secondsPerStep: (samples[samples.length - 1].seconds - samples[0].seconds) / Math.max(1, samples[samples.length - 1].step - samples[0].step),
    finalLoss,
    verificationAccuracy,
    checkedFromStep,
    samples,
    verdicts: v,
    flat: v.every((x) => x.flat),
  };
  const dir = path.join(ROOT, 'bench', 'results');
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `long-run-${stamp(started)}.json`);
  fs.writeFileSync(file, JSON.stringify(report, null, 2) + '\n');
  const lines = [
    table(samples),
    '',
    `| figure (steps ${checkedFromStep}-${report.steps}) | first | mid | last | growth | tolerance | verdict |`,
    '|---|---|---|---|---|---|---|',
    ...v.map((x) => {
      const f = (n: number): string => (x.figure === 'numTensors' || x.figure === 'numBytes' ? n.toFixed(0) : n.toFixed(1));
      return `| ${x.figure} | ${f(x.first)} | ${f(x.mid)} | ${f(x.last)} | ${f(x.growth)} | ${f(x.tolerance)} | ${x.flat ? 'flat' : 'GROWS'} |`;
    }),
    '',
    `${report.steps} steps at batch ${batch} in ${formatDuration(wallSeconds)} (${report.secondsPerStep.toFixed(3)} s/step, load average ${loadAvgStart.map((x) => x.toFixed(1)).join('/')} at the start); ` +
      `final loss ${finalLoss.toFixed(3)}, verification ${verificationAccuracy === null ? 'n/a' : (100 * verificationAccuracy).toFixed(2) + '%'}; ${path.relative(ROOT, file)}`,
  ];
  process.stdout.write(lines.join('\n') + '\n');
  return report.flat ? 0 : 1;
}

main().then((code) => { process.exitCode = code; }, (e: unknown) => {
  process.stderr.write(`long-run: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exitCode = 2;
});
