/** The bench report (JSON) and its Markdown rendering. */
import type { StepResult } from './worker';
import type { Summary } from './stats';
import type { BenchFlops } from './bench-model';

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
  /**
   * ArcFace and CoReFace steps timed in interleaved rounds; the overhead is the median per-round ratio. With the native
   * kernels, also the CoReFace step on the single kernels (composite kernels off; absent in reports before them).
   */
  quick: {
    arcface: StepResult; coreface: StepResult; corefaceOverArcface: number; pairRatios?: Summary;
    /** 95% distribution-free interval of the median ratio (bench/stats.ts medianInterval; absent in older reports). */
    ratioInterval?: [number, number];
    singleKernels?: { coreface: StepResult; overArcface: Summary; compositeOverSingle: Summary };
  }[];
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
  /** FLOPs of one bench-model training step (bench-model.ts benchModelFlops; absent in reports from before issue 17). */
  benchFlops?: BenchFlops;
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
  // The machine's practical matmul peak: the best median of the Python reference's 1024^3 matmuls (numpy, torch at 1
  // and 2 threads; one of them disturbed by the host, e.g. numpy at 105 beside torch at 199, must not halve it).
  const peaks = torch ? Object.values(torch.matmul).map((m) => m.median).filter(Number.isFinite) : [];
  const peak = peaks.length > 0 ? Math.max(...peaks) : undefined;
  const gflops = (secondsMedian: number): string => {
    if (!r.benchFlops) return '';
    const g = r.benchFlops.total / secondsMedian / 1e9;
    return `; ${f(g)} GFLOP/s${peak ? ` (${f((100 * g) / peak, 0)}% of the matmul peak ${f(peak)})` : ''}`;
  };
  for (const bm of r.benchModels) {
    const ref = torchAt(bm.threads);
    add(`Bench model train step, ours (${bm.backend}, batch ${bm.batch})`, `${ms(bm.imgPerSec)} img/s`,
      `${ms(bm.seconds, 3)} s/step${gflops(bm.seconds.median)}${ref ? `; **ratio ours/PyTorch (${bm.threads} thread${bm.threads > 1 ? 's' : ''}) ${f(bm.imgPerSec.median / ref.imgPerSec.median, 3)}**` : ''}`);
  }
  if (torch) {
    for (const s of torch.step) {
      add(`Bench model train step, PyTorch ${torch.torch} CPU, ${s.threads} thread${s.threads > 1 ? 's' : ''}`, `${ms(s.imgPerSec)} img/s`,
        `reference, same architecture and batch${gflops(s.seconds.median)}`);
    }
  } else {
    add('Bench model train step, PyTorch CPU', 'not run', String(r.torch));
  }
  for (const q of r.quick) {
    add(`Quick preset (iresnet-tiny 32x32x3) ArcFace step (${q.arcface.backend}, batch ${q.arcface.batch})`, `${ms(q.arcface.imgPerSec)} img/s`, `${ms(q.arcface.seconds, 3)} s/step`);
    add(`Quick preset CoReFace two-view step (${q.coreface.backend}, batch ${q.coreface.batch})`, `${ms(q.coreface.imgPerSec)} img/s`, `${ms(q.coreface.seconds, 3)} s/step`);
    const spread = q.pairRatios ? ` (${f(q.pairRatios.min, 3)}-${f(q.pairRatios.max, 3)}, n=${q.pairRatios.n})` : '';
    add(`CoReFace / ArcFace step time (quick preset, ${q.arcface.backend})`, `${f(q.corefaceOverArcface, 3)}x${spread}`,
      `two dropout views vs one, same model; median of per-round ratios, steps interleaved${q.singleKernels ? ' (composite kernels)' : ''}`);
    const sk = q.singleKernels;
    if (sk) {
      const range = (x: Summary): string => `${f(x.median, 3)}x (${f(x.min, 3)}-${f(x.max, 3)}, n=${x.n})`;
      add(`Quick preset CoReFace two-view step, single kernels (${sk.coreface.backend})`, `${ms(sk.coreface.imgPerSec)} img/s`,
        `${ms(sk.coreface.seconds, 3)} s/step; the composite kernels off (the path before them), same rounds`);
      add(`CoReFace / ArcFace step time, single kernels (${sk.coreface.backend})`, range(sk.overArcface), 'before the composite kernels');
      add(`CoReFace step, composite / single kernels (${sk.coreface.backend})`, range(sk.compositeOverSingle), 'same results bit for bit; < 1 is faster');
    }
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
      add(`matmul [1024, 1024] @ [1024, 1024] float32, ${who}`, `${ms(s)} GFLOP/s`, s.median === peak ? 'the practical peak of the machine (best of these)' : '');
    }
  }
  const plainEval = r.evaluation.find((e) => !e.backend.includes('native'));
  for (const e of r.evaluation) {
    const vsPlain = plainEval && e !== plainEval ? `; **native / plain wasm ${f(e.embeddingsPerSec.median / plainEval.embeddingsPerSec.median, 2)}x**` : '';
    add(`Embeddings, quick model inference, flip-fused (${e.images} test images, batch 256, ${e.backend})`, `${ms(e.embeddingsPerSec)} img/s`, `each image embedded twice (flip)${vsPlain}`);
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
    ...renderTargets(r),
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

/**
 * The issue-17 targets as measured in this report: bench-model training against PyTorch at the same thread count,
 * our 2-thread / 1-thread scaling, native inference against plain wasm, the CoReFace / ArcFace step ratio and the
 * memory check. Empty when the report has no native configuration.
 */
export function renderTargets(r: BenchReport): string[] {
  const torch = typeof r.torch === 'string' ? null : r.torch;
  const native = r.benchModels.filter((b) => b.backend.includes('native'));
  if (native.length === 0) return [];
  const rows: string[] = [];
  const mark = (ok: boolean): string => (ok ? 'met' : '**not met**');
  const target = (what: string, value: string, goal: string, ok: boolean | null): void => {
    rows.push(`| ${what} | ${value} | ${goal} | ${ok === null ? 'n/a' : mark(ok)} |`);
  };
  for (const bm of native) {
    const ref = torch?.step.find((s) => s.threads === bm.threads);
    const ratio = ref ? bm.imgPerSec.median / ref.imgPerSec.median : NaN;
    const goal = bm.threads > 1 ? 1.0 : 1.1;
    target(`Bench model training, ours / PyTorch, ${bm.threads} thread${bm.threads > 1 ? 's' : ''}`,
      ref ? `${f(ratio, 2)}x (${f(bm.imgPerSec.median)} vs ${f(ref.imgPerSec.median)} img/s)` : 'no PyTorch', `>= ${goal.toFixed(1)}x${bm.threads > 1 ? ' (stretch 1.3x)' : ''}`,
      ref ? ratio >= goal : null);
  }
  const one = native.find((b) => b.threads === 1);
  const many = native.filter((b) => b.threads > 1).pop();
  if (one && many) {
    const sc = many.imgPerSec.median / one.imgPerSec.median;
    target(`Scaling, ours ${many.threads} threads / 1 thread`, `${f(sc, 2)}x`, '>= 1.6x', sc >= 1.6);
  }
  const plain = r.evaluation.find((e) => !e.backend.includes('native'));
  for (const e of r.evaluation.filter((x) => x.backend.includes('native'))) {
    const q = plain ? e.embeddingsPerSec.median / plain.embeddingsPerSec.median : NaN;
    target(`Inference (flip-fused embeddings), native / plain wasm, ${e.backend}`, plain ? `${f(q, 2)}x (${f(e.embeddingsPerSec.median)} vs ${f(plain.embeddingsPerSec.median)} img/s)` : 'n/a', '>= 1.0x', plain ? q >= 1 : null);
  }
  for (const q of r.quick) {
    const ci = q.ratioInterval && q.ratioInterval.every(Number.isFinite) ? ` (95% CI ${f(q.ratioInterval[0], 3)}-${f(q.ratioInterval[1], 3)}, n=${q.pairRatios?.n ?? '?'})` : '';
    target(`CoReFace / ArcFace step time, ${q.arcface.backend}`, `${f(q.corefaceOverArcface, 3)}x${ci}`, '<= 1.05x', q.corefaceOverArcface <= 1.05);
  }
  const m = r.memory;
  target(`Memory, ${m.steps} CoReFace steps (${m.backend})`, `${m.before.numTensors} -> ${m.after.numTensors} tensors`, 'flat', m.after.numTensors === m.before.numTensors && m.after.numBytes === m.before.numBytes);
  return ['## Targets (issue 17)', '', '| Target | Value | Goal | |', '|---|---|---|---|', ...rows, '', '## All measurements', ''];
}
