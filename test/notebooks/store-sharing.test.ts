import { strict as assert } from 'assert';
import { spawnSync } from 'child_process';
import { createHash } from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { initBackend } from '../../src/backends';
import { loadExperimentSummary, notebookParams, runNotebookExperiment } from '../../src/notebook';

const ROOT = path.resolve(__dirname, '..', '..');
const CLI = path.join(ROOT, 'bin', 'coreface.js');

/** Run folder -> sha256 of its result.json (and the file's mtime), for every finished run of a store. */
function finished(store: string): Map<string, { hash: string; mtime: number }> {
  const out = new Map<string, { hash: string; mtime: number }>();
  const runs = path.join(store, 'runs');
  for (const key of fs.existsSync(runs) ? fs.readdirSync(runs) : []) {
    const f = path.join(runs, key, 'result.json');
    if (fs.existsSync(f)) out.set(key, { hash: createHash('sha256').update(fs.readFileSync(f)).digest('hex'), mtime: fs.statSync(f).mtimeMs });
  }
  return out;
}

function cliAblate(store: string): { status: number | null; log: string } {
  // the same variants and seed as the notebook parameters below
  const r = spawnSync(process.execPath, [CLI, 'ablate', 'notebook-ablation-smoke', '--variants', 'arcface-dropout,coreface', '--seeds', '1', '--results', store, '--no-report'], { cwd: ROOT, encoding: 'utf8' });
  return { status: r.status, log: `${r.stdout}\n${r.stderr}` };
}

describe('notebooks: a run trained by a notebook is the store entry the CLI reuses, and the other way round', function () {
  this.timeout(600000);
  let dirs: string[] = [];

  before(async function () {
    if (!fs.existsSync(path.join(ROOT, 'dist', 'src', 'cli', 'main.js'))) {
      // the engine trains in `coreface train` child processes, which run the compiled CLI
      assert.fail('dist/ is missing: run `npm run build` (npm test builds first)');
    }
    await initBackend({ quiet: true });
  });
  after(() => {
    for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
    dirs = [];
  });

  it('notebook 03\'s library call, then `coreface ablate` on its store trains nothing; `coreface ablate` first, then the notebook trains nothing; same keys both ways', async () => {
    const a = fs.mkdtempSync(path.join(os.tmpdir(), 'nb-share-a-'));
    const b = fs.mkdtempSync(path.join(os.tmpdir(), 'nb-share-b-'));
    dirs.push(a, b);
    // What notebook 03 does in quick mode (its parameter cell with an override of variants and seeds):
    // startNotebook('03-ablation', {...}) resolves these parameters, runNotebookExperiment(P) runs them.
    const params = (store: string) => notebookParams('03-ablation', { results: store, variants: ['arcface-dropout', 'coreface'], seeds: 1 }, {});
    assert.equal(params(a).experiment, 'notebook-ablation-smoke');
    const lines: string[] = [];

    // 1. the notebook trains into store A; the CLI then finds every run there
    const byNotebook = await runNotebookExperiment(params(a), { log: (l) => lines.push(l) });
    assert.deepEqual([byNotebook.planned, byNotebook.reused, byNotebook.trained, byNotebook.unfinished], [2, 0, 2, 0], lines.join('\n'));
    const trainedByNotebook = finished(a);
    assert.equal(trainedByNotebook.size, 2);
    const cliOnA = cliAblate(a);
    assert.equal(cliOnA.status, 0, cliOnA.log);
    assert.match(cliOnA.log, /\[ablate\] 2 runs, 2 already in the store, 0 to train/);
    assert.doesNotMatch(cliOnA.log, /started \(/, 'the CLI started no training run');
    assert.deepEqual(finished(a), trainedByNotebook, 'the same run folders, result.json untouched');

    // 2. the CLI trains into store B; the notebook then finds every run there
    const cliOnB = cliAblate(b);
    assert.equal(cliOnB.status, 0, cliOnB.log);
    assert.match(cliOnB.log, /\[ablate\] 2 runs, 0 already in the store, 2 to train/);
    const trainedByCli = finished(b);
    lines.length = 0;
    const reread = await runNotebookExperiment(params(b), { log: (l) => lines.push(l) });
    assert.deepEqual([reread.reused, reread.trained, reread.unfinished], [2, 0, 0]);
    assert.ok(lines.some((l) => l.includes('[ablate] 2 runs, 2 already in the store, 0 to train')), lines.join('\n'));
    assert.ok(!lines.some((l) => / started \(/.test(l)), 'the notebook started no training run');
    assert.deepEqual(finished(b), trainedByCli);

    // 3. whoever trains it, a run has the same key (folder)
    assert.deepEqual([...trainedByNotebook.keys()].sort(), [...trainedByCli.keys()].sort());
    // and the results notebook reads the same store: 2 of the 8 planned runs, said so
    const l = loadExperimentSummary('notebook-ablation-smoke', { results: a, source: 'store' });
    assert.equal(l.source, 'store');
    assert.match(l.note, /2 of 8 planned runs finished \(the 6 others are missing, running or failed/);
    assert.deepEqual(l.summary.runs.map((r) => r.key).sort(), [...trainedByNotebook.keys()].sort());
    // by default a store that lacks runs gives way to a committed summary of the experiment, and the note says so
    const committed = fs.mkdtempSync(path.join(os.tmpdir(), 'nb-share-c-'));
    dirs.push(committed);
    fs.mkdirSync(path.join(committed, 'notebook-ablation-smoke'));
    fs.writeFileSync(path.join(committed, 'notebook-ablation-smoke', 'summary.json'), JSON.stringify({ ...l.summary, generatedAt: 'then' }));
    const auto = loadExperimentSummary('notebook-ablation-smoke', { results: a, committedDir: committed });
    assert.equal(auto.source, 'committed');
    assert.match(auto.note, /\(generated then; the store `[^`]+` holds only 2 of 8 runs\)/);
  });
});
