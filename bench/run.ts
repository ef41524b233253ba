/**
 * `npm run bench`: runs every bench task in its own process, one after another (the machine has 2 cores; tasks
 * never overlap), then writes bench/results/<YYYY-MM-DD-HHMMSS>.json and .md and prints the Markdown table.
 * Each training-step task runs once per configuration: plain wasm, and wasm with the native kernels at 1 thread
 * and at all cores (when native/build/coreface_native.node exists); PyTorch runs at the same thread counts.
 * Options: --no-torch (skip the PyTorch reference), --no-cpu (skip the cpu-backend step), --no-native;
 * --render FILE.json rewrites FILE.md from the data (after a change to the report's rendering).
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { spawnSync } from 'child_process';
import * as tf from '@tensorflow/tfjs';
import { RESULT_PREFIX } from './worker';
import type { StepResult, TaskOptions } from './worker';
import { NATIVE_ADDON_PATH } from '../src/backends';
import { renderMarkdown } from './report';
import { BENCH_BATCH, benchModelFlops } from './bench-model';
import type { BenchReport, TorchResult } from './report';

const ROOT = path.join(__dirname, '..', '..');
const PYTHON = '/usr/bin/python3';
const TORCH_INSTALL = 'apt-get install python3-torch (then run with /usr/bin/python3)';

function log(msg: string): void {
  process.stderr.write(`[bench] ${msg}\n`);
}

function runWorker<T>(task: string, o: TaskOptions = {}, nodeFlags: string[] = []): T {
  log(`task ${task} ${JSON.stringify(o)}`);
  const r = spawnSync(process.execPath, [...nodeFlags, path.join(__dirname, 'worker.js'), task, JSON.stringify(o)], {
    cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 64 * 2 ** 20,
  });
  const line = (r.stdout ?? '').split('\n').find((l) => l.startsWith(RESULT_PREFIX));
  if (r.status !== 0 || !line) throw new Error(`bench task ${task} failed (exit ${String(r.status)})`);
  return JSON.parse(line.slice(RESULT_PREFIX.length)) as T;
}

function torchAvailable(): boolean {
  if (!fs.existsSync(PYTHON)) return false;
  return spawnSync(PYTHON, ['-c', 'import torch'], { stdio: 'ignore' }).status === 0;
}

function runTorch(): TorchResult | string {
  if (!torchAvailable()) return `torch not available for ${PYTHON}: ${TORCH_INSTALL}`;
  log('task torch_bench.py (PyTorch CPU, threads 2 and 1)');
  const r = spawnSync(PYTHON, [path.join(ROOT, 'bench', 'torch_bench.py'), '--warmup', '3', '--reps', '10', '--threads', '2,1'], {
    cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'],
  });
  const line = (r.stdout ?? '').trim().split('\n').pop() ?? '';
  if (r.status !== 0 || !line.startsWith('{')) return `torch_bench.py failed (exit ${String(r.status)})`;
  return JSON.parse(line) as TorchResult;
}

function stamp(d: Date): string {
  const p = (n: number): string => String(n).padStart(2, '0');
  return `${d.getUTCFullYear()}-${p(d.getUTCMonth() + 1)}-${p(d.getUTCDate())}-${p(d.getUTCHours())}${p(d.getUTCMinutes())}${p(d.getUTCSeconds())}`;
}

function gitCommit(): string {
  const r = spawnSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT, encoding: 'utf8' });
  const dirty = spawnSync('git', ['status', '--porcelain', '--', 'src'], { cwd: ROOT, encoding: 'utf8' });
  return r.status === 0 ? `${r.stdout.trim()}${dirty.stdout.trim() ? ' (src modified)' : ''}` : 'unknown';
}

/** `--render FILE.json`: rewrites FILE.md from FILE.json with the current report code (the data stays as measured). */
function render(file: string): void {
  if (!file.endsWith('.json') || !fs.existsSync(file)) throw new Error(`--render needs an existing bench .json file, got '${file}'`);
  const md = renderMarkdown(JSON.parse(fs.readFileSync(file, 'utf8')) as BenchReport);
  fs.writeFileSync(file.replace(/\.json$/, '.md'), md);
  process.stdout.write(md);
}

function main(): void {
  const argv = process.argv.slice(2);
  const r = argv.indexOf('--render');
  if (r >= 0) {
    render(argv[r + 1] ?? '');
    return;
  }
  const args = new Set(argv);
  const started = new Date();
  const t0 = Date.now();
  const torch = args.has('--no-torch') ? 'skipped (--no-torch)' : runTorch();
  // Configurations: plain wasm (the reference path), and the native kernels with 1 and with all threads when built.
  const configs: TaskOptions[] = [{ native: false }];
  if (fs.existsSync(NATIVE_ADDON_PATH) && !args.has('--no-native')) {
    configs.push({ native: true, threads: 1 });
    if (os.cpus().length > 1) configs.push({ native: true, threads: os.cpus().length });
  } else {
    log(args.has('--no-native') ? 'native kernels skipped (--no-native)' : `native kernels not built (${NATIVE_ADDON_PATH}): npm run setup`);
  }
  const best = configs[configs.length - 1];
  const matmul = configs.flatMap((c) => runWorker<BenchReport['matmul']>('matmul', { ...c, warmup: 2, reps: 7 }));
  const benchModels = configs.map((c) => runWorker<StepResult>('bench-model', { ...c, warmup: 1, reps: 5 }));
  // The CoReFace / ArcFace ratio is a difference of ~2 ms in ~50 ms steps with the native kernels: more rounds there
  // (a few seconds each) narrow its median; plain wasm's steps are 8x longer and its difference larger.
  const quick = configs.map((c) => runWorker<BenchReport['quick'][number]>('quick', { ...c, warmup: 3, reps: c.native ? 101 : 25 }));
  const quickCpu = args.has('--no-cpu')
    ? null
    : runWorker<{ arcface: StepResult }>('quick-arcface', { backend: 'cpu', warmup: 1, reps: 2, maxStepSeconds: 60 }).arcface;
  const evaluation = configs.map((c) => runWorker<BenchReport['evaluation'][number]>('eval', { ...c, reps: 3 }));
  const memory = runWorker<BenchReport['memory']>('memory', { ...best, steps: 500, batch: 16 }, ['--expose-gc']);
  const report: BenchReport = {
    date: started.toISOString(),
    wallSeconds: (Date.now() - t0) / 1000,
    machine: {
      cpus: os.cpus().length, cpuModel: os.cpus()[0]?.model ?? 'unknown', memGiB: os.totalmem() / 2 ** 30,
      node: process.version, tfjs: tf.version_core, commit: gitCommit(),
    },
    matmul, benchModels, quick, quickCpu, evaluation, memory, torch, benchFlops: benchModelFlops(BENCH_BATCH),
  };
  const dir = path.join(ROOT, 'bench', 'results');
  fs.mkdirSync(dir, { recursive: true });
  const base = path.join(dir, stamp(started));
  const md = renderMarkdown(report);
  fs.writeFileSync(`${base}.json`, JSON.stringify(report, null, 2) + '\n');
  fs.writeFileSync(`${base}.md`, md);
  process.stdout.write(md);
  log(`wrote ${path.relative(ROOT, base)}.json and .md (${report.wallSeconds.toFixed(0)} s)`);
}

main();
