// End-to-end: the `coreface ablate` engine on a tiny experiment, run the three ways a user runs it (one process,
// shards, two unsharded processes racing on one store) plus a failing variant. Needs the built CLI (npm test builds).
import { strict as assert } from 'assert';
import { spawn } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { rebaseSummary } from '../../src/experiments';
import type { ExperimentSummary } from '../../src/experiments';
import { checkReportInBrowser } from '../../src/report/html-report';
import { chromiumAvailable } from '../../src/report/plot';

const ROOT = path.join(__dirname, '..', '..');
const BIN = path.join(ROOT, 'bin', 'coreface.js');
const built = fs.existsSync(path.join(ROOT, 'dist', 'src', 'cli', 'main.js'));

const TINY = {
  name: 'tiny',
  description: 'tiny engine test',
  base: {
    dataset: { name: 'synthfaces', options: { trainIdentities: 16, imagesPerIdentity: 8, testIdentities: 30, testImagesPerIdentity: 4, pairsPerFold: 10, resolution: 16, channels: 1, nuisance: 0.6 } },
    model: { backbone: 'iresnet-nano', embeddingDim: 16 },
    head: { name: 'arcface', options: { scale: 16, margin: 0.2 } },
    training: { epochs: 1, batchSize: 32, evalEvery: 0, logEvery: 1 },
    optimizer: { lr: 0.05, milestones: [4] },
  },
  variants: [
    { name: 'a', label: 'A' },
    { name: 'b', label: 'B', overrides: { dropout: { before: 0.3 } } },
    // A valid config whose batch is larger than the training set (128 images): it fails inside the run.
    { name: 'bad', label: 'Bad', overrides: { training: { batchSize: 256 } } },
  ],
  seeds: 2,
};

function run(args: string[]): Promise<{ code: number; out: string; err: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, ...args], { env: { ...process.env, COREFACE_BACKEND: 'wasm' } });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('close', (code) => resolve({ code: code ?? -1, out, err }));
  });
}

/** key -> final metrics of every finished run in a store. */
function finished(results: string): Map<string, string> {
  const out = new Map<string, string>();
  const runs = path.join(results, 'runs');
  for (const key of fs.readdirSync(runs)) {
    const f = path.join(runs, key, 'result.json');
    if (fs.existsSync(f)) {
      const r = JSON.parse(fs.readFileSync(f, 'utf8')) as { final: unknown; finalLoss: number };
      out.set(key, JSON.stringify([r.final, r.finalLoss]));
    }
  }
  return out;
}

const started = (log: string): number => (log.match(/\[ablate\] \S+: started/g) ?? []).length;

describe('experiments: ablate engine end to end', function () {
  this.timeout(300000);
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'coreface-ablate-'));
  const spec = path.join(tmp, 'tiny.json');
  let single: Map<string, string>;
  before(function () {
    if (!built) this.skip();
    fs.writeFileSync(spec, JSON.stringify(TINY));
  });
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it('one process: trains every run, records the failing variant and goes on, writes the views; a rerun trains nothing', async () => {
    const A = path.join(tmp, 'A');
    const r = await run(['ablate', spec, '--results', A, '--jobs', '1']);
    assert.equal(r.code, 1, 'unfinished runs (the failed variant) give exit code 1');
    assert.equal(started(r.err), 6);
    assert.match(r.err, /bad-s0: FAILED \(.*fewer than one batch/);
    single = finished(A);
    assert.equal(single.size, 4);
    const dir = path.join(A, 'tiny');
    for (const f of ['summary.json', 'table.md', 'table.csv', 'runs.csv', 'table.tex', 'report.html']) assert.ok(fs.existsSync(path.join(dir, f)), f);
    const md = fs.readFileSync(path.join(dir, 'table.md'), 'utf8');
    assert.match(md, /\| A \| 2 \|/);
    assert.match(md, /\| Bad \| 0 \(\+2 failed\) \|/);
    assert.match(md, /Failed runs: bad seed 0 \(.*fewer than one batch/);
    const summary = JSON.parse(fs.readFileSync(path.join(dir, 'summary.json'), 'utf8')) as { variants: { variant: string; seeds: number[]; vsBaseline: unknown }[] };
    assert.deepEqual(summary.variants.map((v) => [v.variant, v.seeds]), [['a', [0, 1]], ['b', [0, 1]], ['bad', []]]);
    assert.ok(fs.readFileSync(path.join(dir, 'table.tex'), 'utf8').includes('\\toprule'));
    const again = await run(['ablate', spec, '--results', A, '--jobs', '1', '--no-report']);
    assert.equal(started(again.err), 0, 'finished runs are reused and recorded failures are not retried');
    assert.match(again.err, /failed earlier .*--retry-failed/);
  });

  it('the report of that run renders in headless Chromium: every plot, no console error, not blank', async function () {
    if (!chromiumAvailable()) {
      if (process.env.CI === 'true') assert.fail('Chromium missing: .ci/run must call npm run setup');
      this.skip();
    }
    const shot = path.join(tmp, 'report.png');
    const r = await checkReportInBrowser(path.join(tmp, 'A', 'tiny', 'report.html'), { screenshot: shot });
    assert.deepEqual(r.consoleErrors, []);
    assert.ok(r.expectedPlots >= 8, `expected at least 8 figures, the page has ${r.expectedPlots}`);
    assert.equal(r.plots, r.expectedPlots);
    assert.ok(r.nonBlankFraction > 0.02, `screenshot looks blank (${r.nonBlankFraction})`);
    assert.deepEqual(r.externalRequests, []);
  });

  it('collect --summary rebuilds every table view byte for byte from summary.json alone (no store)', async () => {
    const from = path.join(tmp, 'A', 'tiny');
    const out = path.join(tmp, 'rebuilt');
    const r = await run(['collect', '--summary', path.join(from, 'summary.json'), '--out', out]);
    assert.equal(r.code, 0, r.err);
    for (const f of ['table.md', 'table.csv', 'runs.csv', 'table.tex']) {
      assert.ok(fs.readFileSync(path.join(out, f)).equals(fs.readFileSync(path.join(from, f))), `${f} differs`);
    }
    assert.match(fs.readFileSync(path.join(out, 'table.md'), 'utf8'), /Wall time of the last `ablate`/, 'the notes travel in summary.json');
    const junk = path.join(tmp, 'junk.json');
    fs.writeFileSync(junk, '{"a": 1}');
    const bad = await run(['collect', '--summary', junk]);
    assert.equal(bad.code, 2);
    assert.match(bad.err, /is not a summary\.json of coreface collect/);
  });

  it('collect --summary --baseline pairs against another variant exactly as an experiment with that baseline does', async () => {
    const from = path.join(tmp, 'A', 'tiny');
    const r = await run(['collect', '--summary', path.join(from, 'summary.json'), '--baseline', 'b']);
    assert.equal(r.code, 0, r.err);
    const md = fs.readFileSync(path.join(from, 'vs-b', 'table.md'), 'utf8');
    assert.match(md, /Paired against \*\*B\*\*/);
    assert.match(md, /\| A \| 2 \|/);
    // The same experiment with baseline b, summarised from the store (run keys do not depend on the name).
    const specB = path.join(tmp, 'tiny-b.json');
    fs.writeFileSync(specB, JSON.stringify({ ...TINY, name: 'tiny-b', baseline: 'b' }));
    const c = await run(['collect', specB, '--results', path.join(tmp, 'A'), '--no-report']);
    assert.equal(c.code, 0, c.err);
    const direct = JSON.parse(fs.readFileSync(path.join(tmp, 'A', 'tiny-b', 'summary.json'), 'utf8')) as ExperimentSummary;
    const rebased = rebaseSummary(JSON.parse(fs.readFileSync(path.join(from, 'summary.json'), 'utf8')) as ExperimentSummary, 'b');
    assert.equal(rebased.baseline, 'b');
    assert.deepEqual(rebased.variants.map((v) => [v.variant, v.vsBaseline]), direct.variants.map((v) => [v.variant, v.vsBaseline]));
    assert.ok(rebased.variants[0].vsBaseline?.verificationAccuracy, 'a is paired with b on both seeds');
    const bad = await run(['collect', '--summary', path.join(from, 'summary.json'), '--baseline', 'zzz']);
    assert.equal(bad.code, 2);
    assert.match(bad.err, /--baseline zzz: tiny has no such variant \(variants: a, b, bad\)/);
  });

  it('two shards in parallel produce the same store as one process', async () => {
    const B = path.join(tmp, 'B');
    const [s1, s2] = await Promise.all([
      run(['ablate', spec, '--results', B, '--jobs', '1', '--shard', '1/2']),
      run(['ablate', spec, '--results', B, '--jobs', '1', '--shard', '2/2']),
    ]);
    assert.equal(started(s1.err) + started(s2.err), 6);
    assert.equal(started(s1.err), 3);
    assert.ok(!fs.existsSync(path.join(B, 'tiny', 'summary.json')), 'shards leave the views to collect');
    const c = await run(['collect', spec, '--results', B, '--no-report']);
    assert.equal(c.code, 0, c.err);
    assert.deepEqual(finished(B), single);
    // The same table, but for the measured speed (last column).
    const noSpeed = (f: string): string => fs.readFileSync(f, 'utf8').split('\n').map((l) => l.replace(/,[^,]*$/, '')).join('\n');
    assert.equal(noSpeed(path.join(B, 'tiny', 'table.csv')), noSpeed(path.join(tmp, 'A', 'tiny', 'table.csv')));
  });

  it('two unsharded processes racing on one store never run the same run twice', async () => {
    const C = path.join(tmp, 'C');
    const [p1, p2] = await Promise.all([
      run(['ablate', spec, '--results', C, '--jobs', '1', '--no-report']),
      run(['ablate', spec, '--results', C, '--jobs', '1', '--no-report']),
    ]);
    const starts = [...(p1.err + p2.err).matchAll(/\[ablate\] (\S+): started/g)].map((m) => m[1]);
    assert.equal(new Set(starts).size, starts.length, `a run started twice: ${starts.join(', ')}`);
    assert.deepEqual(finished(C), single);
    assert.deepEqual(fs.readdirSync(path.join(C, 'runs')).filter((k) => fs.existsSync(path.join(C, 'runs', k, '.lock'))), [], 'no lock left behind');
  });
});
