/**
 * Shared pieces of the reliability tests: the tiny CoReFace config, spawning `coreface train` as a real child
 * process (so it can be SIGKILLed), kill triggers that watch the run directory or the progress lines, and the
 * comparison of two result.json files on everything that does not depend on the clock.
 */
import { strict as assert } from 'assert';
import { spawn, ChildProcess } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { loadCheckpoint } from '../../src/train/checkpoint';
import type { RunResult, StepRecord, EpochRecord } from '../../src/train';

export const ROOT = path.join(__dirname, '..', '..');
export const BIN = path.join(ROOT, 'bin', 'coreface.js');
export const DIST_MAIN = path.join(ROOT, 'dist', 'src', 'cli', 'main.js');

/** 8 train identities x 12 images at 16x16 grey; 24 test identities x 4 images; 8 pairs per fold. */
export const TINY_DATA = {
  trainIdentities: 8, imagesPerIdentity: 12, testIdentities: 24, testImagesPerIdentity: 4, pairsPerFold: 8,
  resolution: 16, channels: 1, nuisance: 0.5,
};

/**
 * 3 epochs of 6 steps (96 images, batch 16, identity-balanced 4 x 4), iresnet-nano, ArcFace, CoReFace (two views,
 * contrastive terms both ways, adaptive margin) from epoch index 1, evaluation and a checkpoint after every epoch,
 * a metrics line after every step. About 1.5 s per process on one wasm thread.
 */
export const TINY_CONFIG = {
  name: 'tiny-rel',
  seed: 7,
  dataset: { name: 'synthfaces', options: TINY_DATA },
  model: { backbone: 'iresnet-nano', embeddingDim: 16 },
  head: { name: 'arcface', options: { scale: 16, margin: 0.2 } },
  coreface: { enabled: true, startEpoch: 1, scale: 16, wC2: 0.05 },
  dropout: { before: 0.3, after: 0.5 },
  optimizer: { lr: 0.05, milestones: [2], warmupEpochs: 0.5 },
  training: { epochs: 3, batchSize: 16, sampler: 'identity-balanced', samplesPerIdentity: 4, evalEvery: 1, checkpointEvery: 1, logEvery: 1 },
};
export const TINY_STEPS_PER_EPOCH = 6;
export const TINY_EPOCHS = 3;

export function tmpDir(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `coreface-${prefix}-`));
}

export function writeJson(file: string, value: unknown): string {
  fs.writeFileSync(file, JSON.stringify(value, null, 2));
  return file;
}

/** Whether dist/ is older than some file of src/ (the CLI child processes run dist/, not src/). */
export function distIsStale(): boolean {
  if (!fs.existsSync(DIST_MAIN)) return true;
  const built = fs.statSync(DIST_MAIN).mtimeMs;
  const newest = (dir: string): number => {
    let m = 0;
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, e.name);
      m = Math.max(m, e.isDirectory() ? newest(p) : e.name.endsWith('.ts') ? fs.statSync(p).mtimeMs : 0);
    }
    return m;
  };
  return newest(path.join(ROOT, 'src')) > built;
}

/** What a kill trigger may look at. */
export interface TriggerContext {
  /** stderr received so far. */
  stderr: string;
  /** Run directory. */
  dir: string;
  /** File name of the fs.watch event that woke the trigger (undefined for stderr data and the poll timer). */
  file?: string;
}

/** Decides, on every stderr chunk, every fs event in the run directory and every poll tick, whether to kill now. */
export type KillTrigger = (ctx: TriggerContext) => boolean;

export interface ChildOutcome {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** Milliseconds from spawn to exit. */
  ms: number;
  /** Whether the trigger fired (a SIGKILL was sent). */
  killed: boolean;
  /** Whether result.json existed at any moment the trigger was evaluated before the kill. */
  sawResultBeforeKill: boolean;
}

/**
 * Runs `coreface train --config cfg --out dir --resume` as a child process; with a trigger, SIGKILLs it as soon as
 * the trigger returns true. The trigger is evaluated on stderr data, on fs.watch events in `dir` (inotify: well
 * under a training step late) and on a 5 ms poll as a fallback.
 */
export function runTrain(cfgFile: string, dir: string, trigger?: KillTrigger, extraArgs: string[] = []): Promise<ChildOutcome> {
  fs.mkdirSync(dir, { recursive: true });
  const t0 = Date.now();
  const env = { ...process.env };
  delete env.COREFACE_DEBUG;
  const child: ChildProcess = spawn(process.execPath, [BIN, 'train', '--config', cfgFile, '--out', dir, '--resume', ...extraArgs], {
    cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  let killed = false;
  let sawResultBeforeKill = false;
  let watcher: fs.FSWatcher | undefined;
  let timer: NodeJS.Timeout | undefined;
  const check = (file?: string): void => {
    if (!trigger || killed || child.exitCode !== null || child.signalCode !== null) return;
    if (fs.existsSync(path.join(dir, 'result.json'))) sawResultBeforeKill = true;
    if (trigger({ stderr, dir, file })) {
      killed = true;
      child.kill('SIGKILL');
    }
  };
  child.stdout?.on('data', (d: Buffer) => { stdout += d.toString(); });
  child.stderr?.on('data', (d: Buffer) => {
    stderr += d.toString();
    check();
  });
  if (trigger) {
    watcher = fs.watch(dir, (_ev, file) => check(file ?? undefined));
    timer = setInterval(() => check(), 5);
  }
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => {
      watcher?.close();
      if (timer) clearInterval(timer);
      resolve({ code, signal, stdout, stderr, ms: Date.now() - t0, killed, sawResultBeforeKill });
    });
  });
}

/** Parsed metrics.jsonl (unparsable lines, e.g. a line cut by a kill, are returned as null). */
export function readMetrics(dir: string): (StepRecord | EpochRecord | null)[] {
  const file = path.join(dir, 'metrics.jsonl');
  if (!fs.existsSync(file)) return [];
  return fs.readFileSync(file, 'utf8').split('\n').filter((l) => l.trim()).map((l) => {
    try {
      return JSON.parse(l) as StepRecord | EpochRecord;
    } catch {
      return null;
    }
  });
}

export function stepRecords(dir: string): StepRecord[] {
  return readMetrics(dir).filter((r): r is StepRecord => r !== null && r.type === 'step');
}

/** Header fields of a trainer checkpoint used here. */
export interface CkptHeader {
  configHash: string;
  epochsDone: number;
  globalStep: number;
  contrastState: Record<string, number> | null;
}

/**
 * Loads dir/checkpoint.ckpt (which must parse completely) and checks that every tensor is finite; returns its
 * header, or null when there is no checkpoint.
 */
export function checkCheckpoint(dir: string): CkptHeader | null {
  const file = path.join(dir, 'checkpoint.ckpt');
  if (!fs.existsSync(file)) return null;
  const ck = loadCheckpoint<CkptHeader>(file);
  assert.ok(ck.tensors.length > 0, 'checkpoint has tensors');
  for (const t of ck.tensors) {
    for (let i = 0; i < t.data.length; i++) {
      if (!Number.isFinite(t.data[i])) assert.fail(`checkpoint tensor ${t.name} has a non-finite value at ${i}`);
    }
  }
  return ck.header;
}

export function readResult(dir: string): RunResult {
  return JSON.parse(fs.readFileSync(path.join(dir, 'result.json'), 'utf8')) as RunResult;
}

/** A result without the fields that measure time (they legitimately differ between runs). */
export function clockFree(r: RunResult): unknown {
  const { wallSeconds: _w, trainSeconds: _t, imgPerSec: _i, epochs, ...rest } = r;
  return { ...rest, epochs: epochs.map(({ seconds: _s, ...e }) => e) };
}

/** The step records of a run without their clock-dependent field. */
export function clockFreeSteps(steps: StepRecord[]): unknown[] {
  return steps.map(({ imgPerSec: _i, ...s }) => s);
}

/**
 * Asserts that a run result equals the reference exactly on everything but the clock: final evaluation (every
 * metric), final loss, steps, every epoch's mean loss / accuracy / lr / evaluation, config, hash, seed, backend.
 */
export function assertSameResult(got: RunResult, want: RunResult, what: string): void {
  assert.equal(got.final.verification.accuracy, want.final.verification.accuracy, `${what}: verification accuracy`);
  assert.equal(got.final.identification.rank1, want.final.identification.rank1, `${what}: rank-1`);
  assert.equal(got.finalLoss, want.finalLoss, `${what}: final loss`);
  assert.deepEqual(got.epochs.map((e) => e.meanLoss), want.epochs.map((e) => e.meanLoss), `${what}: epochs' mean losses`);
  assert.deepEqual(clockFree(got), clockFree(want), `${what}: whole result.json except the clock`);
}
