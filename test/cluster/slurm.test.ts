// The project's Slurm job array (docs/cluster/ablate.sbatch) on a real single-node Slurm (cluster/up.sh): a tiny
// experiment as 3 shards on one results directory, merged by `coreface collect`, against one local `ablate` of the
// same experiment. Needs the built CLI (npm test builds) and Slurm: it uses a running cluster (npm run
// cluster:up); with CI=true it starts one itself (cluster/up.sh, which installs slurm-wlm and munge when missing)
// and stops it afterwards (cluster/down.sh, only the daemons up.sh started); otherwise it skips.
import { strict as assert } from 'assert';
import { spawn, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { getExperiment, planRuns, RunStore } from '../../src/experiments';

const ROOT = path.join(__dirname, '..', '..');
const BIN = path.join(ROOT, 'bin', 'coreface.js');
const SBATCH = path.join(ROOT, 'docs', 'cluster', 'ablate.sbatch');
const CLUSTER_DIR = process.env.COREFACE_CLUSTER_DIR ?? path.join(ROOT, '.cluster');
const SLURM_CONF = path.join(CLUSTER_DIR, 'slurm.conf');
const built = fs.existsSync(path.join(ROOT, 'dist', 'src', 'cli', 'main.js'));
const SHARDS = 3;

/**
 * Runs of a few seconds each: 16 epochs of 12 steps with a checkpoint every epoch, so a shard can be killed
 * between its first checkpoint and its result. `bad` is a valid config whose batch (512) exceeds the 384 training images,
 * so it fails inside the run (at train time), as a real broken variant does.
 */
const SPEC = {
  name: 'slurm-tiny',
  description: 'tiny experiment of the Slurm test',
  base: {
    dataset: { name: 'synthfaces', options: { trainIdentities: 24, imagesPerIdentity: 16, testIdentities: 30, testImagesPerIdentity: 4, pairsPerFold: 10, resolution: 16, channels: 1, nuisance: 0.6 } },
    model: { backbone: 'iresnet-nano', embeddingDim: 16 },
    head: { name: 'arcface', options: { scale: 16, margin: 0.2 } },
    training: { epochs: 16, batchSize: 32, evalEvery: 0, logEvery: 4, checkpointEvery: 1 },
    optimizer: { lr: 0.05, milestones: [12] },
  },
  variants: [
    { name: 'a', label: 'A' },
    { name: 'b', label: 'B', overrides: { dropout: { before: 0.3 } } },
    { name: 'bad', label: 'Bad', overrides: { training: { batchSize: 512 } } },
  ],
  seeds: 2,
};

const slurmEnv = (): NodeJS.ProcessEnv => ({ ...process.env, SLURM_CONF });

function sh(cmd: string, args: string[], timeoutMs = 60000): { code: number; out: string; err: string } {
  const r = spawnSync(cmd, args, { env: slurmEnv(), encoding: 'utf8', timeout: timeoutMs });
  return { code: r.status ?? -1, out: r.stdout ?? '', err: r.stderr ?? '' };
}

function slurmUp(): boolean {
  if (!fs.existsSync(SLURM_CONF)) return false;
  const r = sh('scontrol', ['ping'], 10000);
  return r.code === 0 && /is UP/.test(r.out) && /^(idle|mixed|allocated)/m.test(sh('sinfo', ['-h', '-o', '%T'], 10000).out);
}

function cli(args: string[]): Promise<{ code: number; out: string; err: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, ...args], { env: { ...process.env, COREFACE_BACKEND: 'wasm', COREFACE_THREADS: '1' } });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('close', (code) => resolve({ code: code ?? -1, out, err }));
  });
}

/** Jobs this test submitted: cancelled in after() if a failed test left them queued. */
const submitted: string[] = [];

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Submits the array file; returns the job id. `array` e.g. '1-3' or '2'; extra positional args after the spec. */
function sbatch(array: string, results: string, logs: string, spec: string, extra: string[] = []): string {
  // The jobs run the work tree's own built CLI (COREFACE_ROOT), on wasm with one native thread per run, as the
  // local reference does (the thread count is recorded in the table's backend line).
  const r = sh('sbatch', ['--parsable', `--array=${array}`, '--cpus-per-task=1', '--mem=1G', `--output=${logs}/shard-%A_%a.log`,
    `--export=ALL,RESULTS=${results},COREFACE_ROOT=${ROOT},COREFACE_BACKEND=wasm`, SBATCH, spec, ...extra]);
  assert.equal(r.code, 0, `sbatch failed: ${r.err}`);
  const id = r.out.trim().split(';')[0];
  assert.match(id, /^\d+$/, `sbatch --parsable printed ${JSON.stringify(r.out)}`);
  submitted.push(id);
  return id;
}

/** Waits until no task of job `id` is queued or running (no accounting database here: squeue is the source). */
async function waitJob(id: string, timeoutMs = 240000): Promise<void> {
  const t0 = Date.now();
  while (Date.now() - t0 < timeoutMs) {
    if (sh('squeue', ['-h', '-j', id, '-o', '%i']).out.trim() === '') return;
    await sleep(500);
  }
  sh('scancel', [id]);
  assert.fail(`job ${id} still in the queue after ${timeoutMs / 1000} s (cancelled)`);
}

/** key -> the final results of a finished run (evaluation report, final loss, per-epoch loss and accuracy). */
function finished(results: string): Map<string, string> {
  const out = new Map<string, string>();
  const runs = path.join(results, 'runs');
  for (const key of fs.readdirSync(runs).sort()) {
    const f = path.join(runs, key, 'result.json');
    if (fs.existsSync(f)) {
      const r = JSON.parse(fs.readFileSync(f, 'utf8')) as { final: unknown; finalLoss: number; epochs: { meanLoss: number; meanAccuracy: number }[] };
      out.set(key, JSON.stringify([r.final, r.finalLoss, r.epochs.map((e) => [e.meanLoss, e.meanAccuracy])]));
    }
  }
  return out;
}

/**
 * table.md without what is measured rather than computed: the img/s column (training throughput) and the
 * `ablate` wall-time note. Everything else must be identical byte for byte.
 */
function comparableTable(file: string): string {
  let inMain = false;
  return fs.readFileSync(file, 'utf8').split('\n')
    .filter((l) => !l.startsWith('Wall time of the last'))
    .map((l) => {
      if (l.endsWith('| img/s |')) inMain = true;
      else if (!l.startsWith('|')) inMain = false;
      return inMain ? l.replace(/[^|]*\|$/, '') : l;
    })
    .join('\n');
}

function shardLogs(dir: string, id: string): Map<number, string> {
  const logs = new Map<number, string>();
  for (const f of fs.readdirSync(dir)) {
    const m = new RegExp(`^shard-${id}_(\\d+)\\.log$`).exec(f);
    if (m) logs.set(Number(m[1]), fs.readFileSync(path.join(dir, f), 'utf8'));
  }
  return logs;
}

const startsIn = (log: string): string[] => [...log.matchAll(/\[ablate\] (\S+): started/g)].map((m) => m[1]);

describe('cluster: the Slurm job array on a real single-node Slurm', function () {
  this.timeout(900000);
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'coreface-slurm-'));
  const spec = path.join(tmp, 'slurm-tiny.json');
  const logs = path.join(tmp, 'logs');
  const local = path.join(tmp, 'local');
  let startedCluster = false;

  before(function () {
    if (!built) this.skip();
    if (!slurmUp()) {
      if (process.env.CI !== 'true') {
        console.log('      (skipped: no Slurm running; `npm run cluster:up` as root, or CI=true, runs this test)');
        this.skip();
      }
      const up = spawnSync('bash', [path.join(ROOT, 'cluster', 'up.sh')], { encoding: 'utf8', timeout: 600000 });
      startedCluster = true;
      assert.equal(up.status, 0, `cluster/up.sh failed (CI=true needs Slurm):\n${up.stdout}\n${up.stderr}`);
      assert.ok(slurmUp(), 'cluster/up.sh succeeded but sinfo shows no usable node');
    }
    fs.writeFileSync(spec, JSON.stringify(SPEC));
    fs.mkdirSync(logs);
  });

  after(() => {
    const left = submitted.filter((id) => sh('squeue', ['-h', '-j', id, '-o', '%i']).out.trim() !== '');
    if (left.length) sh('scancel', left);
    if (startedCluster) {
      const down = spawnSync('bash', [path.join(ROOT, 'cluster', 'down.sh')], { encoding: 'utf8', timeout: 120000 });
      assert.equal(down.status, 0, `cluster/down.sh failed: ${down.stderr}`);
    }
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('one local ablate of the experiment (the reference)', async () => {
    const r = await cli(['ablate', spec, '--results', local, '--jobs', '2', '--no-report']);
    assert.equal(r.code, 1, `the failing variant makes ablate exit 1:\n${r.err.slice(-2000)}`);
    assert.equal(finished(local).size, 4);
  });

  it('sbatch --array=1-3: every run trained exactly once across the shards, the failing variant recorded, collect gives the local table', async () => {
    const results = path.join(tmp, 'sharded');
    const id = sbatch(`1-${SHARDS}`, results, logs, spec);
    await waitJob(id);
    const byShard = shardLogs(logs, id);
    assert.deepEqual([...byShard.keys()].sort(), [1, 2, 3], 'one log per array task');
    const exp = getExperiment(spec);
    const plan = planRuns(exp);
    for (const [k, log] of byShard) {
      assert.match(log, new RegExp(`\\[ablate\\.sbatch\\] job ${id}_${k} on .*: shard ${k}/${SHARDS} of .*code ${ROOT.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}/bin/coreface\\.js`));
      // shard k of n runs plan entries k-1, k-1+n, ...
      assert.deepEqual(startsIn(log).sort(), plan.filter((_, i) => i % SHARDS === k - 1).map((r) => r.label).sort(), `shard ${k} ran its own runs`);
    }
    const starts = [...byShard.values()].flatMap(startsIn);
    assert.deepEqual(starts.slice().sort(), plan.map((r) => r.label).sort(), 'every run started exactly once across the shards');
    // The failing variant: recorded (error.json, nothing else finished) while the others finished.
    const store = new RunStore(results);
    for (const r of plan) {
      if (r.variant === 'bad') {
        assert.equal(store.status(r.key, r.config), 'failed');
        assert.match(store.failure(r.key)?.error ?? '', /fewer than one batch/);
      } else {
        assert.equal(store.status(r.key, r.config), 'done', `${r.label}`);
      }
    }
    assert.deepEqual(finished(results), finished(local), 'same final results as the local ablate');
    const c = await cli(['collect', spec, '--results', results, '--no-report']);
    assert.equal(c.code, 0, c.err);
    const table = comparableTable(path.join(results, 'slurm-tiny', 'table.md'));
    assert.equal(table, comparableTable(path.join(local, 'slurm-tiny', 'table.md')));
    assert.match(table, /\| Bad \| 0 \(\+2 failed\) \|/);
    console.log(`      job ${id}: ${[...byShard].map(([k, l]) => `shard ${k} started ${startsIn(l).join(', ')}`).join('; ')}`);
    console.log(c.out.split('\n').filter((l) => l.startsWith('|')).map((l) => `      ${l}`).join('\n'));
  });

  it('a shard killed mid-run with scancel is resumed by a resubmission, with identical final results', async () => {
    const results = path.join(tmp, 'killed');
    const plan = planRuns(getExperiment(spec));
    const victim = plan[1]; // shard 2's first run
    const never = plan[1 + SHARDS]; // shard 2's second run: not started when the shard dies
    const store = new RunStore(results);
    const dir = store.dir(victim.key);
    const id = sbatch(`1-${SHARDS}`, results, logs, spec);
    const t0 = Date.now();
    while (!fs.existsSync(path.join(dir, 'checkpoint.ckpt'))) {
      assert.ok(Date.now() - t0 < 180000, `no checkpoint of ${victim.label} after 180 s`);
      await sleep(50);
    }
    const cancel = sh('scancel', [`${id}_2`]);
    assert.equal(cancel.code, 0, cancel.err);
    await waitJob(id);
    assert.ok(!fs.existsSync(path.join(dir, 'result.json')), `${victim.label} finished before the kill reached it (runs too short for this machine?)`);
    assert.equal(store.status(victim.key, victim.config), 'partial', 'killed with its checkpoint kept, its lock stale');
    assert.equal(store.status(never.key, never.config), 'missing');
    const killedLog = shardLogs(logs, id).get(2) ?? '';
    assert.deepEqual(startsIn(killedLog), [victim.label]);

    const again = sbatch('2', results, logs, spec, [String(SHARDS)]);
    await waitJob(again);
    const resumed = shardLogs(logs, again).get(2) ?? '';
    assert.match(resumed, new RegExp(`shard 2/${SHARDS} of`));
    assert.deepEqual(startsIn(resumed), [victim.label, never.label], 'the resubmitted shard runs only its unfinished runs');
    const after = /resumed from \S+ after epoch (\d+)/.exec(resumed);
    assert.ok(after && Number(after[1]) >= 1, `${victim.label} resumed from its checkpoint, not from scratch:\n${resumed.slice(-1500)}`);
    assert.equal(store.status(never.key, never.config), 'failed');
    assert.deepEqual(finished(results), finished(local), 'identical final results to the uninterrupted local runs');
    const c = await cli(['collect', spec, '--results', results, '--no-report']);
    assert.equal(c.code, 0, c.err);
    assert.equal(comparableTable(path.join(results, 'slurm-tiny', 'table.md')), comparableTable(path.join(local, 'slurm-tiny', 'table.md')));
    console.log(`      job ${id}_2 cancelled during ${victim.label} (checkpoint kept, no result); resubmitted as job ${again}_2: ${victim.label} resumed after epoch ${after?.[1]}, ${never.label} failed as recorded; final results identical`);
  });
});
