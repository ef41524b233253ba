// The results index (`coreface runs`) on a hand-written store: run folders named by the keys the experiment plans
// (planRuns/runKey, never a key formula of our own), with result.json, config.json, error.json, checkpoints and
// locks written by hand. No training.
import { strict as assert } from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { configHash, resolveTrainConfig, TrainConfig } from '../../src/config';
import {
  buildRunsIndex, diffRuns, filterRuns, findRun, formatRunDiff, parseWhere, planRuns, pruneRuns, resolveExperiment,
  runKey, RunStore, runsIndexCsv, runsIndexTable, alignedMarkdown, PlannedRun, ResolvedExperiment,
} from '../../src/experiments';
import { cmdRuns } from '../../src/cli/runs';

const SPEC = {
  name: 'idx',
  base: { dataset: { name: 'synthfaces', options: { trainIdentities: 16 } }, training: { epochs: 2 } },
  variants: [
    { name: 'arc', label: 'ArcFace', overrides: { head: { name: 'arcface' } } },
    { name: 'cos', label: 'CosFace', overrides: { head: { name: 'cosface' } } },
  ],
  seeds: 2,
};

interface Fake { verification: number; tar: number | null; rank1: number; wall: number; gap?: unknown }

function writeJson(file: string, v: unknown): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, JSON.stringify(v, null, 2));
}

function writeDone(store: RunStore, key: string, config: TrainConfig, m: Fake): void {
  const dir = store.dir(key);
  writeJson(path.join(dir, 'config.json'), config);
  writeJson(path.join(dir, 'result.json'), {
    name: config.name, configHash: configHash(resolveTrainConfig(config)), config, seed: config.seed, backend: 'wasm',
    versions: { 'coreface-lab': '0.1.0', tfjs: '4.22.0', 'backend:wasm': '4.22.0 (wasm, SIMD; native kernels on (conv, matmul, sums via OpenBLAS 0.3.21, 1 thread))' },
    steps: 10, wallSeconds: m.wall, trainSeconds: m.wall - 2, imgPerSec: 100, finalLoss: 1.5,
    final: {
      verification: { accuracy: m.verification, std: 0.01, tarAtFar: { '1e-2': 0.8, '1e-3': m.tar }, auc: 0.95, eer: 0.1, foldAccuracies: [] },
      identification: { rank1: m.rank1, rank5: 0.9 }, openSet: { dirAtFpir: { '1e-2': 0.3 } }, counts: {},
    },
    epochs: [],
    // the train-minus-test gap lives in the fit measurements (result.fit.gap, coreface-lab 0.2.0 on)
    ...(m.gap === undefined ? {} : { fit: { trainAccuracy: 0.99, trainImages: 10, heldOut: null, gap: m.gap } }),
  });
}

describe('experiments: the results index (coreface runs)', () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'coreface-runs-'));
  const store = new RunStore(path.join(tmp, 'results'));
  const specFile = path.join(tmp, 'idx.json');
  let exp: ResolvedExperiment;
  let plan: PlannedRun[];
  let orphan: TrainConfig;
  let orphanKey: string;
  let extraSeedKey: string;
  let busyKey: string;
  const run = (variant: string, seed: number): PlannedRun => plan.find((r) => r.variant === variant && r.seed === seed) as PlannedRun;

  before(() => {
    writeJson(specFile, SPEC);
    exp = resolveExperiment(SPEC);
    plan = planRuns(exp);
    writeDone(store, run('arc', 0).key, run('arc', 0).config, { verification: 0.9, tar: 0.5, rank1: 0.7, wall: 125, gap: 0.031 });
    // failed: what executeRuns leaves (input-config.json + error.json)
    writeJson(path.join(store.dir(run('arc', 1).key), 'input-config.json'), run('arc', 1).config);
    store.recordFailure(run('arc', 1).key, 'coreface: error: nuisance must be a finite number >= 0, got -3', 1);
    writeDone(store, run('cos', 0).key, run('cos', 0).config, { verification: 0.88, tar: null, rank1: 0.65, wall: 61 });
    // partial: a checkpoint, no result, no live lock
    writeJson(path.join(store.dir(run('cos', 1).key), 'config.json'), run('cos', 1).config);
    fs.writeFileSync(path.join(store.dir(run('cos', 1).key), 'checkpoint.ckpt'), 'x');
    // the same variant at a seed beyond the experiment's (ablate --seeds 6): still the experiment's run
    const extra = planRuns(exp, { seeds: [5], variants: ['arc'] })[0];
    extraSeedKey = extra.key;
    writeDone(store, extra.key, extra.config, { verification: 0.91, tar: 0.52, rank1: 0.71, wall: 120 });
    // a run no experiment plans (another learning rate)
    orphan = resolveTrainConfig({ ...SPEC.base, head: { name: 'arcface' }, optimizer: { lr: 0.2 }, seed: 0, name: 'run' });
    orphanKey = runKey(orphan);
    writeDone(store, orphanKey, { ...orphan, name: orphanKey }, { verification: 0.5, tar: 0.01, rank1: 0.1, wall: 30 });
    // an unplanned run that a live process trains (our own pid holds the lock)
    const busy = resolveTrainConfig({ ...SPEC.base, head: { name: 'arcface' }, optimizer: { lr: 0.3 }, seed: 0, name: 'run' });
    busyKey = runKey(busy);
    writeJson(path.join(store.dir(busyKey), 'config.json'), busy);
    writeJson(path.join(store.dir(busyKey), '.lock'), { pid: process.pid, host: os.hostname(), token: 't', startedAt: new Date().toISOString() });
  });
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it('lists every run folder with its status, experiment, variant, seed and key metrics', () => {
    const idx = buildRunsIndex(store, { experiments: [exp] });
    const byKey = new Map(idx.map((e) => [e.key, e]));
    const row = (k: string): [string, string, number | null, string] => {
      const e = byKey.get(k);
      assert.ok(e, k);
      return [e.status, e.refs.map((r) => `${r.experiment}/${r.variant}`).join(','), e.seed, e.error ?? ''];
    };
    assert.deepEqual(row(run('arc', 0).key), ['done', 'idx/arc', 0, '']);
    assert.deepEqual(row(run('arc', 1).key), ['failed', 'idx/arc', 1, 'coreface: error: nuisance must be a finite number >= 0, got -3']);
    assert.deepEqual(row(run('cos', 0).key), ['done', 'idx/cos', 0, '']);
    assert.deepEqual(row(run('cos', 1).key), ['partial', 'idx/cos', 1, '']);
    assert.deepEqual(row(extraSeedKey), ['done', 'idx/arc', 5, '']);
    assert.deepEqual(row(orphanKey), ['done', '', 0, '']);
    assert.deepEqual(row(busyKey), ['running', '', 0, '']);
    const a0 = byKey.get(run('arc', 0).key);
    assert.deepEqual(a0?.metrics, { verificationAccuracy: 0.9, tarAtFar1e3: 0.5, rank1: 0.7, gap: { gap: 0.031 } });
    assert.equal(a0?.backend, 'wasm + native (1 thread)');
    assert.equal(a0?.codeVersion, '0.1.0');
    assert.equal(a0?.wallSeconds, 125);
    // experiment runs first (variant, then seed), unplanned runs last
    assert.deepEqual(idx.map((e) => e.key), [run('arc', 0).key, run('arc', 1).key, extraSeedKey, run('cos', 0).key, run('cos', 1).key, ...[orphanKey, busyKey].sort()]);
  });

  it('renders the table (gap column only when a result has one), CSV with raw values', () => {
    const idx = buildRunsIndex(store, { experiments: [exp] });
    const t = runsIndexTable(idx);
    assert.deepEqual(t.columns, ['key', 'experiment', 'variant', 'seed', 'status', 'verif acc %', 'TAR@FAR=1e-3 %', 'rank-1 %', 'gap (pts)', 'wall', 'backend', 'code']);
    assert.deepEqual(t.rows[0], [run('arc', 0).key, 'idx', 'arc', 0, 'done', '90.00', '50.00', '70.00', '+3.10', '2m05s', 'wasm + native (1 thread)', '0.1.0']);
    assert.deepEqual(t.rows[1].slice(4, 10), ['failed', '', '', '', '', '']);
    assert.ok(!runsIndexTable(idx.filter((e) => e.metrics?.gap.gap === undefined)).columns.includes('gap (pts)'));
    const md = alignedMarkdown(t).split('\n');
    assert.equal(new Set(md.map((l) => l.length)).size, 1, 'padded columns');
    const csv = runsIndexCsv(idx).trim().split('\n');
    assert.equal(csv[0], 'key,experiment,variant,seed,status,verification_acc,tar_at_far_1e-3,rank1,gap,wall_seconds,backend,code_version,error');
    assert.equal(csv[1], `${run('arc', 0).key},idx,arc,0,done,0.9,0.5,0.7,0.031,125,wasm + native (1 thread),0.1.0,`);
    assert.match(csv[2], /,failed,,,,,,,,"coreface: error: nuisance must be a finite number >= 0, got -3"$/, 'a field with a comma is quoted');
    // a gap given as an object becomes one column per numeric field
    const objGap = idx.map((e) => (e.key === run('cos', 0).key ? { ...e, metrics: { ...(e.metrics as NonNullable<typeof e.metrics>), gap: { 'gap.verification': 0.02, 'gap.rank1': 0.1 } } } : e));
    assert.deepEqual(runsIndexTable(objGap).columns.filter((c) => c.startsWith('gap')), ['gap (pts)', 'gap.rank1 (pts)', 'gap.verification (pts)']);
  });

  it('--where filters on dotted config paths (=, !=, numbers numerically) and index fields, ANDed; --status by state', () => {
    const idx = buildRunsIndex(store, { experiments: [exp] });
    const keys = (w: string[], status?: ('done' | 'failed' | 'running' | 'partial' | 'missing')[]): string[] => filterRuns(idx, { where: w.map(parseWhere), status }).map((e) => e.key);
    assert.deepEqual(keys(['head.name=cosface']), [run('cos', 0).key, run('cos', 1).key]);
    assert.equal(keys(['head.name!=cosface']).length, idx.length - 2);
    assert.deepEqual(keys(['head.name=arcface', 'seed=1']), [run('arc', 1).key]);
    assert.deepEqual(keys(['optimizer.lr=0.2']), [orphanKey]);
    assert.deepEqual(keys(['optimizer.lr=2e-1']), [orphanKey], 'numbers compare numerically');
    assert.deepEqual(keys(['dataset.options.trainIdentities=16', 'head.name=cosface', 'status=done']), [run('cos', 0).key]);
    assert.deepEqual(keys(['experiment=idx', 'variant=arc']), [run('arc', 0).key, run('arc', 1).key, extraSeedKey]);
    assert.deepEqual(keys(['no.such.path=1']), []);
    assert.equal(keys(['no.such.path!=1']).length, idx.length);
    assert.deepEqual(keys([], ['failed', 'partial']), [run('arc', 1).key, run('cos', 1).key]);
    assert.deepEqual(keys(['head.name=arcface'], ['running']), [busyKey]);
    assert.throws(() => parseWhere('head.name'), /--where must be PATH=VALUE or PATH!=VALUE .*got 'head.name'/);
    assert.throws(() => parseWhere('=x'), /--where must be/);
  });

  it('diff shows only the config keys that differ and every metric with its delta', () => {
    const idx = buildRunsIndex(store, { experiments: [exp] });
    const d = diffRuns(findRun(idx, run('arc', 0).key), findRun(idx, run('cos', 0).key.slice(0, 6)));
    // configs carry every registered default, so the heads' own option defaults differ too (CosFace has no easyMargin)
    assert.deepEqual(d.config, [
      { path: 'head.name', a: 'arcface', b: 'cosface' },
      { path: 'head.options.easyMargin', a: false, b: undefined },
      { path: 'head.options.margin', a: 0.5, b: 0.35 },
    ]);
    const m = new Map(d.metrics.map((x) => [x.metric, x]));
    assert.ok(Math.abs((m.get('verification acc')?.delta ?? NaN) - -0.02) < 1e-12);
    assert.equal(m.get('TAR@FAR=1e-3')?.delta, null, 'B has no TAR@FAR=1e-3');
    assert.equal(m.get('wall seconds')?.delta, -64);
    assert.deepEqual(m.get('gap'), { metric: 'gap', a: 0.031, b: null, delta: null });
    assert.deepEqual([...m.keys()].filter((k) => k.startsWith('TAR')), ['TAR@FAR=1e-2', 'TAR@FAR=1e-3'], 'metrics neither run has are left out');
    const text = formatRunDiff(d);
    assert.match(text, /\| head\.name +\| arcface +\| cosface +\|/);
    assert.match(text, /\| verification acc +\| 90\.00 +\| 88\.00 +\| -2\.00 +\|/);
    assert.match(text, /\| gap \(pts\) +\| 3\.10 +\| +\| +\|/, 'the gap in points, as in the list');
    assert.doesNotMatch(text, /\| name /, 'the run name is not a difference');
    const same = diffRuns(findRun(idx, run('arc', 0).key), findRun(idx, extraSeedKey));
    assert.deepEqual(same.config.map((c) => c.path), ['seed']);
    const lr = diffRuns(findRun(idx, run('arc', 0).key), findRun(idx, orphanKey));
    assert.deepEqual(lr.config.map((c) => [c.path, c.a, c.b]), [['optimizer.lr', 0.1, 0.2]]);
  });

  it('runs are named by key or unique prefix; unknown and ambiguous prefixes are errors naming the candidates', () => {
    const idx = buildRunsIndex(store, { experiments: [exp] });
    assert.equal(findRun(idx, orphanKey).key, orphanKey);
    assert.throws(() => findRun(idx, 'zzzz'), /no run key starts with 'zzzz'/);
    assert.throws(() => findRun(idx, ''), /a run is named by its key or a unique key prefix/);
    const fakeIdx = [{ ...idx[0], key: 'ab12' }, { ...idx[1], key: 'ab34' }];
    assert.throws(() => findRun(fakeIdx, 'ab'), /'ab' is ambiguous: 2 runs start with it \(ab12, ab34\)/);
  });

  it('the command: table, --where, --status, --json, --csv, diff, and usage errors (exit 2)', async () => {
    const out = await capture(() => cmdRuns(['--results', store.root, '--experiment', specFile, '--where', 'head.name=arcface', '--status', 'done,failed']));
    assert.equal(out.code, 0, out.err);
    const lines = out.stdout.split('\n').filter((l) => l.startsWith('| ') && !l.startsWith('| key'));
    assert.deepEqual(lines.map((l) => l.split('|')[1].trim()), [run('arc', 0).key, run('arc', 1).key, extraSeedKey, orphanKey]);
    assert.match(out.stdout, /Failed: \S+ \(coreface: error: nuisance/);
    assert.match(out.err, /4 of 7 runs \(3 done, 1 failed\)/);
    const json = await capture(() => cmdRuns(['--results', store.root, '--experiment', specFile, '--where', 'head.name=cosface', '--json']));
    const parsed = JSON.parse(json.stdout) as { key: string; status: string; refs: { experiment: string }[] }[];
    assert.deepEqual(parsed.map((e) => [e.key, e.status]), [[run('cos', 0).key, 'done'], [run('cos', 1).key, 'partial']]);
    const csv = await capture(() => cmdRuns(['--results', store.root, '--csv', '--status', 'running']));
    assert.equal(csv.stdout.trim().split('\n').length, 2);
    const diff = await capture(() => cmdRuns(['diff', run('arc', 0).key.slice(0, 8), orphanKey, '--results', store.root]));
    assert.equal(diff.code, 0, diff.err);
    assert.match(diff.stdout, /\| optimizer\.lr +\| 0\.1 +\| 0\.2 +\|/);
    for (const [args, msg] of [
      [['--status', 'finished'], /--status must be one of done, failed, running, partial, missing, got 'finished'/],
      [['--where', 'head.name'], /--where must be PATH=VALUE/],
      [['diff', 'abc'], /runs diff needs two runs/],
      [['--json', '--csv'], /exclude each other/],
      [['prune', '--where', 'a=b'], /runs prune does not take --where/],
      [['frobnicate'], /unknown runs subcommand 'frobnicate'/],
      [['--experiment', 'heads'], /--experiment takes an experiment FILE\.json/],
      [['--bogus'], /Unknown option '--bogus'/],
    ] as [string[], RegExp][]) {
      const r = await capture(() => cmdRuns(['--results', store.root, ...args]));
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.err}`);
      assert.match(r.err, msg);
    }
    const missing = await capture(() => cmdRuns(['--results', path.join(tmp, 'nowhere')]));
    assert.match(missing.stdout, /no runs in .*nowhere\/runs/);
  });

  it('prune: a dry run by default; --yes removes only runs no experiment plans, never a run being trained', async () => {
    const before = fs.readdirSync(path.join(store.root, 'runs')).sort();
    const dry = pruneRuns(store, { experiments: [exp] });
    assert.equal(dry.dryRun, true);
    assert.deepEqual(dry.removed.map((r) => r.key), [orphanKey]);
    assert.deepEqual(dry.busy, [busyKey]);
    assert.equal(dry.kept, 5, 'the experiment\'s runs, including the one at the extra seed');
    assert.ok(dry.bytes > 0);
    assert.deepEqual(fs.readdirSync(path.join(store.root, 'runs')).sort(), before, 'a dry run deletes nothing');
    const cliDry = await capture(() => cmdRuns(['prune', '--results', store.root, '--experiment', specFile]));
    assert.match(cliDry.stdout, new RegExp(`would remove ${orphanKey} \\(done, `));
    assert.match(cliDry.stdout, /run again with --yes/);
    assert.deepEqual(fs.readdirSync(path.join(store.root, 'runs')).sort(), before);
    const real = await capture(() => cmdRuns(['prune', '--results', store.root, '--experiment', specFile, '--yes']));
    assert.equal(real.code, 0, real.err);
    assert.match(real.stdout, new RegExp(`removed ${orphanKey}`));
    assert.match(real.stdout, new RegExp(`kept ${busyKey}: a live process is training it`));
    assert.deepEqual(fs.readdirSync(path.join(store.root, 'runs')).sort(), before.filter((k) => k !== orphanKey));
    // Without the experiment file no experiment plans idx's runs: they would all go (dry run shows it).
    const without = pruneRuns(store, {});
    assert.deepEqual(without.removed.map((r) => r.key).sort(), plan.map((r) => r.key).concat(extraSeedKey).sort());
  });
});

/** Runs a command with process.stdout/stderr captured. */
async function capture(fn: () => Promise<number>): Promise<{ code: number; stdout: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const ow = process.stdout.write.bind(process.stdout);
  const ew = process.stderr.write.bind(process.stderr);
  process.stdout.write = ((s: string | Uint8Array) => (out.push(String(s)), true)) as typeof process.stdout.write;
  process.stderr.write = ((s: string | Uint8Array) => (err.push(String(s)), true)) as typeof process.stderr.write;
  try {
    const code = await fn();
    return { code, stdout: out.join(''), err: err.join('') };
  } finally {
    process.stdout.write = ow;
    process.stderr.write = ew;
  }
}
