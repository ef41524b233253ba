import { spawn } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { writeJsonAtomic } from '../util/atomic';
import type { RunResult } from '../train';
import { cachedResult } from '../train/cache';
import { formatDuration } from '../train/progress';

/** One run of a grid: an id (its folder name) and its config. */
export interface GridRun {
  id: string;
  method: string;
  seed: number;
  config: Record<string, unknown>;
}

/** The outcome of one run of a grid. */
export type GridOutcome =
  | { id: string; method: string; seed: number; status: 'done'; result: RunResult; cached: boolean }
  | { id: string; method: string; seed: number; status: 'failed'; error: string };

/** Options of `runGrid`. */
export interface RunGridOptions {
  /** Results directory; run i goes to `<outDir>/runs/<id>/`. */
  outDir: string;
  /** Parallel worker processes (default: number of CPU cores; wasm runs one thread per process). */
  jobs?: number;
  /** Print lines to (default process.stderr). */
  log?: (line: string) => void;
}

const CLI = path.join(__dirname, '..', '..', '..', 'bin', 'coreface.js');

/**
 * Runs every run of the grid in child processes (`coreface train --resume`), `jobs` at a time. A run whose
 * result.json exists for the same config is not run again; an interrupted run resumes from its checkpoint;
 * a failed run is recorded (error.txt) and the others go on. Child progress lines are forwarded with the run id.
 */
export async function runGrid(runs: GridRun[], opts: RunGridOptions): Promise<GridOutcome[]> {
  const jobs = Math.max(1, opts.jobs ?? os.cpus().length);
  const log = opts.log ?? ((l: string) => process.stderr.write(l + '\n'));
  const outcomes: GridOutcome[] = new Array(runs.length);
  let next = 0;
  let finished = 0;
  let ran = 0;
  let runSeconds = 0;
  const t0 = Date.now();
  const worker = async (): Promise<void> => {
    while (next < runs.length) {
      const i = next++;
      const run = runs[i];
      const dir = path.join(opts.outDir, 'runs', run.id);
      const cached = cachedResult(dir, run.config);
      if (cached) {
        outcomes[i] = { id: run.id, method: run.method, seed: run.seed, status: 'done', result: cached, cached: true };
        finished++;
        log(`[grid] ${run.id}: cached result, skipped (${finished}/${runs.length})`);
        continue;
      }
      fs.mkdirSync(dir, { recursive: true });
      const cfgFile = path.join(dir, 'input-config.json');
      writeJsonAtomic(cfgFile, run.config);
      log(`[grid] ${run.id}: started`);
      const started = Date.now();
      const code = await new Promise<number>((resolve) => {
        const child = spawn(process.execPath, [CLI, 'train', '--config', cfgFile, '--out', dir, '--resume', '--label', run.id], {
          stdio: ['ignore', 'pipe', 'pipe'],
        });
        let errTail = '';
        const forward = (chunk: Buffer): void => {
          const text = chunk.toString();
          errTail = (errTail + text).slice(-4000);
          for (const line of text.split('\n')) if (line.trim()) log(`  ${line}`);
        };
        child.stdout.on('data', () => undefined);
        child.stderr.on('data', forward);
        child.on('close', (c) => {
          if (c !== 0) fs.writeFileSync(path.join(dir, 'error.txt'), errTail);
          resolve(c ?? 1);
        });
      });
      finished++;
      ran++;
      runSeconds += (Date.now() - started) / 1000;
      const elapsed = (Date.now() - t0) / 1000;
      // Remaining runs go `jobs` at a time, each about as long as the mean run so far.
      const eta = (runSeconds / ran) * Math.ceil((runs.length - finished) / jobs);
      const result = code === 0 ? cachedResult(dir, run.config) : null;
      if (result) {
        outcomes[i] = { id: run.id, method: run.method, seed: run.seed, status: 'done', result, cached: false };
        log(`[grid] ${run.id}: done in ${formatDuration(result.wallSeconds)} (${finished}/${runs.length}, elapsed ${formatDuration(elapsed)}, ETA ${formatDuration(eta)})`);
      } else {
        const error = fs.existsSync(path.join(dir, 'error.txt')) ? fs.readFileSync(path.join(dir, 'error.txt'), 'utf8').trim().split('\n').slice(-3).join(' | ') : `exit code ${code}`;
        outcomes[i] = { id: run.id, method: run.method, seed: run.seed, status: 'failed', error };
        log(`[grid] ${run.id}: FAILED (${error}) (${finished}/${runs.length})`);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(jobs, runs.length) }, worker));
  return outcomes;
}
