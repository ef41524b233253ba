/** The bench report (JSON) and its Markdown rendering. */
import type { StepResult } from './worker';
import type { Summary } from './stats';

/** Output of bench/torch_bench.py. */
export interface TorchResult {
  torch: string;
  numpy: string;
  step: { threads: number; batch: number; warmup: number; seconds: Summary; imgPerSec: Summary }[];
  matmul: Record<string, Summary>;
}

interface MemorySnapshot {
  numTensors: number;
  numBytes: number;
  heapUsedMB: number;
  rssMB: number;
}

/** Everything one `npm run bench` measured. */
export interface BenchReport {
  date: string;
  wallSeconds: number;
  machine: { cpus: number; cpuModel: string; memGiB: number; node: string; tfjs: string; commit: string };
  /** Per configuration (plain wasm, native at 1 and all threads). */
  matmul: { m: number; k: number; n: number; backend: string; gflops: Summary }[];
  benchModels: StepResult[];
  /** ArcFace and CoReFace steps timed in interleaved pairs; the overhead is the median per-pair ratio. */
  quick: { arcface: StepResult; coreface: StepResult; corefaceOverArcface: number; pairRatios?: Summary }[];
  quickCpu: StepResult | null;
  /** Per configuration. */
  evaluation: {
    backend: string;
    images: number;
    flip: boolean;
    embeddingsPerSec: Summary;
    verification: { pairs: number; benchmarkPairs: number; folds: number; ms: Summary; accuracyUntrained: number };
  }[];
  memory: { backend: string; model: string; batch: number; steps: number; seconds: number; before: MemorySnapshot; after: MemorySnapshot };
  /** The PyTorch result, or why there is none. */
  torch: TorchResult | string;
}

function f(x: number, digits = 1): string {
  if (!Number.isFinite(x)) return 'n/a';
  return x >= 100 ? x.toFixed(0) : x.toFixed(digits);
}

/** "median (min-max, n)". */
function ms(s: Summary, digits = 1): string {
  return `${f(s.median, digits)} (${f(s.min, digits)}-${f(s.max, digits)}, n=${s.n})`;
}

/** Markdown table of a report. */
export function renderMarkdown(r: BenchReport): string {
  const rows: [string, string, string][] = [];
  const add = (what: string, value: string, note = ''): void => { rows.push([what, value, note]); };
  const torch = typeof r.torch === 'string' ? null : r.torch;
  const torchAt = (threads: number): TorchResult['step'][number] | undefined => torch?.step.find((s) => s.threads === threads);
  for (const bm of r.benchModels) {
    const ref = torchAt(bm.threads);
    add(`Bench model train step, ours (${bm.backend}, batch ${bm.batch})`, `${ms(bm.imgPerSec)} img/s`,
      `${ms(bm.seconds, 3)} s/step${ref ? `; **ratio ours/PyTorch (${bm.threads} thread${bm.threads > 1 ? 's' : ''}) ${f(bm.imgPerSec.median / ref.imgPerSec.median, 3)}**` : ''}`);
  }
  if (torch) {
    for (const s of torch.step) {
      add(`Bench model train step, PyTorch ${torch.torch} CPU, ${s.threads} thread${s.threads > 1 ? 's' : ''}`, `${ms(s.imgPerSec)} img/s`, 'reference, same architecture and batch');
    }
  } else {
    add('Bench model train step, PyTorch CPU', 'not run', String(r.torch));
  }
  for (const q of r.quick) {
    add(`Quick preset (iresnet-tiny 32x32x3) ArcFace step (${q.arcface.backend}, batch ${q.arcface.batch})`, `${ms(q.arcface.imgPerSec)} img/s`, `${ms(q.arcface.seconds, 3)} s/step`);
    add(`Quick preset CoReFace two-view step (${q.coreface.backend}, batch ${q.coreface.batch})`, `${ms(q.coreface.imgPerSec)} img/s`, `${ms(q.coreface.seconds, 3)} s/step`);
    const spread = q.pairRatios ? ` (${f(q.pairRatios.min, 3)}-${f(q.pairRatios.max, 3)}, n=${q.pairRatios.n})` : '';
    add(`CoReFace / ArcFace step time (quick preset, ${q.arcface.backend})`, `${f(q.corefaceOverArcface, 3)}x${spread}`,
      'two dropout views vs one, same model; median of per-pair ratios, steps interleaved');
  }
  if (r.quickCpu) {
    const c = r.quickCpu;
    add(`Quick preset ArcFace step (cpu, batch ${c.batch})`, `${ms(c.imgPerSec, 2)} img/s`, `${c.warmup} warm-up + ${c.seconds.n} timed step(s)${c.note ? `; ${c.note}` : ''}`);
  } else {
    add('Quick preset ArcFace step (cpu)', 'not run', '--no-cpu');
  }
  for (const mm of r.matmul) {
    add(`matmul [${mm.m}, ${mm.k}] @ [${mm.k}, ${mm.n}] float32, ${mm.backend}`, `${ms(mm.gflops)} GFLOP/s`, 'tf.matMul + dataSync');
  }
  if (torch) {
    for (const [k, s] of Object.entries(torch.matmul)) {
      const who = k === 'numpy' ? `numpy ${torch.numpy} (default threads)` : `PyTorch, ${k.replace('torch', '')} thread(s)`;
      add(`matmul [1024, 1024] @ [1024, 1024] float32, ${who}`, `${ms(s)} GFLOP/s`, k === 'numpy' ? 'practical peak of the machine' : '');
    }
  }
  for (const e of r.evaluation) {
    add(`Embeddings, quick model inference, flip-fused (${e.images} test images, batch 256, ${e.backend})`, `${ms(e.embeddingsPerSec)} img/s`, 'each image embedded twice (flip)');
    add(`verificationAccuracy, ${e.verification.pairs} pairs, ${e.verification.folds} folds (${e.backend} run)`, `${ms(e.verification.ms, 2)} ms`,
      `${e.verification.benchmarkPairs >= e.verification.pairs ? 'the benchmark pairs' : `${e.verification.benchmarkPairs} benchmark pairs + seeded random pairs`}; cosine scores of the untrained quick model; plain JS`);
  }
  const m = r.memory;
  add(`Memory: tensors before -> after ${m.steps} steps (${m.model}, batch ${m.batch}, ${m.backend})`,
    `${m.before.numTensors} -> ${m.after.numTensors}`, `${m.after.numTensors === m.before.numTensors ? 'no growth' : 'GROWTH'}; tfjs bytes ${m.before.numBytes} -> ${m.after.numBytes}`);
  add('Memory: JS heap used / RSS (MiB), before -> after', `${f(m.before.heapUsedMB)} -> ${f(m.after.heapUsedMB)} / ${f(m.before.rssMB)} -> ${f(m.after.rssMB)}`,
    `after gc; ${f(m.seconds)} s for the ${m.steps} steps`);
  const lines = [
    `# coreface-lab bench, ${r.date}`,
    '',
    `Machine: ${r.machine.cpus} x ${r.machine.cpuModel}, ${f(r.machine.memGiB)} GiB, Node ${r.machine.node}, tfjs ${r.machine.tfjs}, commit ${r.machine.commit}. ` +
      `Wall time ${f(r.wallSeconds)} s. Values: median (min-max, n repetitions after warm-up).`,
    '',
    '| Measurement | Value | Notes |',
    '|---|---|---|',
    ...rows.map(([a, b, c]) => `| ${a} | ${b} | ${c} |`),
    '',
  ];
  return lines.join('\n');
}
