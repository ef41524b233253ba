// The logic of the Slurm array file (docs/cluster/ablate.sbatch) without Slurm: the script run by bash with the
// variables Slurm sets, against a stand-in project whose bin/coreface.js prints what it was given. Covers what a
// CPU-only single-node cluster cannot show: GPU tasks (no --jobs: coreface's one-run-per-GPU default applies).
import { strict as assert } from 'assert';
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

const SBATCH = path.join(__dirname, '..', '..', 'docs', 'cluster', 'ablate.sbatch');

describe('cluster: ablate.sbatch (shard, workers and threads per array task)', () => {
  const fake = fs.mkdtempSync(path.join(os.tmpdir(), 'coreface-sbatch-'));
  before(() => {
    fs.mkdirSync(path.join(fake, 'bin'));
    fs.writeFileSync(path.join(fake, 'bin', 'coreface.js'),
      'process.stdout.write(JSON.stringify({ args: process.argv.slice(2), threads: process.env.COREFACE_THREADS ?? null, gpus: process.env.CUDA_VISIBLE_DEVICES ?? null }) + "\\n");\n');
  });
  after(() => fs.rmSync(fake, { recursive: true, force: true }));

  /** Runs the array file as Slurm would for one task; `env` adds to a clean Slurm-like environment. */
  function task(args: string[], env: Record<string, string>): { code: number; out: string; err: string; call: { args: string[]; threads: string | null; gpus: string | null } | null } {
    const base: Record<string, string> = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: os.tmpdir(), COREFACE_ROOT: fake, SLURM_ARRAY_JOB_ID: '41' };
    const r = spawnSync('bash', [SBATCH, ...args], { env: { ...base, ...env }, encoding: 'utf8' });
    const line = r.stdout.split('\n').find((l) => l.startsWith('{'));
    return { code: r.status ?? -1, out: r.stdout, err: r.stderr, call: line ? JSON.parse(line) : null };
  }
  const array = (k: number, n: number): Record<string, string> => ({ SLURM_ARRAY_TASK_ID: String(k), SLURM_ARRAY_TASK_MIN: '1', SLURM_ARRAY_TASK_MAX: String(n), SLURM_ARRAY_TASK_COUNT: String(n) });

  it('a CPU task runs shard k/n of the experiment with one run per CPU and one native thread each', () => {
    const r = task(['heads'], { ...array(2, 3), SLURM_CPUS_PER_TASK: '4', RESULTS: '/shared/results' });
    assert.equal(r.code, 0, r.err);
    assert.deepEqual(r.call?.args, ['ablate', 'heads', '--results', '/shared/results', '--shard', '2/3', '--jobs', '4']);
    assert.equal(r.call?.threads, '1');
    assert.match(r.out, /\[ablate\.sbatch\] job 41_2 on .*: shard 2\/3 of heads, results \/shared\/results, code .*bin\/coreface\.js/);
  });

  it('a GPU task passes no --jobs (coreface runs one run per GPU) and keeps Slurm\'s CUDA_VISIBLE_DEVICES', () => {
    const r = task(['heads'], { ...array(1, 2), SLURM_CPUS_PER_TASK: '8', SLURM_GPUS_ON_NODE: '2', CUDA_VISIBLE_DEVICES: '0,1' });
    assert.equal(r.code, 0, r.err);
    assert.deepEqual(r.call?.args, ['ablate', 'heads', '--results', path.join(fake, 'results'), '--shard', '1/2']);
    assert.equal(r.call?.gpus, '0,1');
    assert.equal(r.call?.threads, null);
  });

  it('a resubmission of some shards needs the shard count; without it the task stops with the command to use', () => {
    const partial = { SLURM_ARRAY_TASK_ID: '3', SLURM_ARRAY_TASK_MIN: '3', SLURM_ARRAY_TASK_MAX: '3', SLURM_ARRAY_TASK_COUNT: '1' };
    const bad = task(['heads'], partial);
    assert.equal(bad.code, 2);
    assert.equal(bad.call, null, 'coreface must not run with a wrong shard count');
    assert.match(bad.err, /give the shard count, e\.g\. sbatch --array=3 ablate\.sbatch heads 8/);
    const ok = task(['heads', '8'], partial);
    assert.equal(ok.code, 0, ok.err);
    assert.deepEqual(ok.call?.args.slice(4, 6), ['--shard', '3/8']);
  });

  it('outside a job array, or without the project\'s CLI, it stops with a message', () => {
    assert.match(task(['heads'], {}).err, /run as a job array/);
    const r = task(['heads'], { ...array(1, 1), COREFACE_ROOT: os.tmpdir() });
    assert.equal(r.code, 2);
    assert.match(r.err, /bin\/coreface\.js not found: submit from the coreface-lab folder or set COREFACE_ROOT/);
  });
});
