import { strict as assert } from 'assert';
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { PNG } from 'pngjs';
import { createDataset } from '../../src/data';
import { planRuns, resolveExperiment, summarizeExperiment, getExperiment } from '../../src/experiments';
import type { ExperimentSummary } from '../../src/experiments';
import { tableToMarkdown } from '../../src/report/table';
import { PACKAGE } from '../../src/util/package';
import {
  notebookParams, experimentHasData, writeDemoImageFolder, DEMO_MARKER, loadExperimentSummary, perSeedTable, pairedDifferences, pairedDifferenceTable,
  pairedDifferenceFigure, fitTable, variantStats, summaryFindings, signFlipFloor, gitState, stampMarkdown, notebookStamp, startNotebook, setDisplay, cliCommand,
} from '../../src/notebook';
import { fakeResult } from '../experiments/fake-result';

/** A summary of variants base, same, better (+ `extra` ones) over `seeds`, verification accuracies given per variant. */
function summary(acc: Record<string, number[]>, opts: { fit?: boolean; seeds?: number } = {}): ExperimentSummary {
  const names = Object.keys(acc);
  const exp = resolveExperiment({ name: 'fake', description: 'a fake experiment', base: {}, variants: names.map((n) => ({ name: n, label: n.toUpperCase() })), baseline: names[0], seeds: opts.seeds ?? acc[names[0]].length });
  const outcomes = planRuns(exp).map((run) => {
    const a = acc[run.variant][run.seed];
    const fit = opts.fit ? { train: 0.98, heldOut: a + 0.012 + 0.001 * run.seed } : null;
    return { run, result: fakeResult(a, run.seed, { fit, wC: run.variant === 'better' ? 0.05 : 0 }), status: 'done' };
  });
  return summarizeExperiment(exp, outcomes);
}

const tmp = (p: string): string => fs.mkdtempSync(path.join(os.tmpdir(), p));

describe('notebook helpers: the parameter block', () => {
  it('defaults per notebook and mode: quick runs the registered smoke experiments, full the paper experiments', () => {
    const empty = tmp('nb-store-');
    try {
      const q = notebookParams('03-ablation', { results: empty }, {});
      assert.equal(q.mode, 'quick');
      assert.equal(q.experiment, 'notebook-ablation-smoke');
      assert.equal(q.origin.experiment, 'default');
      assert.equal(notebookParams('03-ablation', { mode: 'full' }, {}).experiment, 'coreface-regime');
      assert.equal(notebookParams('05-heads', {}, { NOTEBOOK_MODE: 'full' }).experiment, 'heads');
      assert.equal(notebookParams('05-heads', {}, {}).experiment, 'notebook-heads-smoke');
      const full04 = notebookParams('04-pair-coupling', { mode: 'full' }, {});
      assert.deepEqual([full04.experiment, full04.variants], ['coreface-regime-coupling', undefined]);
      // 06: the regime study when its data is here (store or committed summary), else the smoke experiment
      const six = notebookParams('06-results', { results: empty }, {});
      assert.equal(six.experiment, experimentHasData('coreface-regime', empty) ? 'coreface-regime' : 'notebook-ablation-smoke');
      assert.equal(notebookParams('01-quickstart', {}, {}).dataset?.name, 'synthfaces');
      assert.equal(notebookParams('07-your-data', {}, {}).dataset?.name, 'image-folder');
      assert.equal(notebookParams('02-coreface-anatomy', {}, {}).experiment, null);
      // the results store defaults to the CLI's: <project>/results
      assert.equal(notebookParams('03-ablation', {}, {}).results, path.resolve('results'));
    } finally {
      fs.rmSync(empty, { recursive: true, force: true });
    }
  });

  it('the quick experiments are the full ones\' variants on the smoke scale, and planning them keeps other keys', () => {
    const names = (e: string) => getExperiment(e).variants.map((v) => v.name);
    assert.deepEqual(names('notebook-ablation-smoke'), names('coreface-regime'));
    assert.deepEqual(names('notebook-heads-smoke'), names('heads'));
    assert.deepEqual(names('notebook-coupling-smoke').sort(), ['arcface-dropout', 'coreface', 'fixed-margin', 'protocol-2n', 'protocol-two-way-n']);
    for (const e of ['notebook-ablation-smoke', 'notebook-coupling-smoke', 'notebook-heads-smoke']) {
      const exp = getExperiment(e);
      assert.equal(exp.baseline, getExperiment(e === 'notebook-heads-smoke' ? 'heads' : 'coreface-regime').baseline);
      for (const r of planRuns(exp)) assert.equal(r.config.model.backbone, 'iresnet-nano', `${e} ${r.label}`);
    }
    // the same config in two smoke experiments is one store entry (04 reuses 03's runs, 05 03's ArcFace)
    const key = (e: string, v: string) => planRuns(getExperiment(e), { variants: [v], seeds: [0] })[0].key;
    assert.equal(key('notebook-ablation-smoke', 'coreface'), key('notebook-coupling-smoke', 'coreface'));
    assert.equal(key('notebook-ablation-smoke', 'arcface'), key('notebook-heads-smoke', 'arcface'));
  });

  it('precedence: the notebook\'s overrides, then NOTEBOOK_* variables, then the defaults; origin says which', () => {
    const env = { NOTEBOOK_MODE: 'full', NOTEBOOK_EXPERIMENT: 'heads', NOTEBOOK_VARIANTS: 'arcface, cosface', NOTEBOOK_SEEDS: '3', NOTEBOOK_TRAIN: '0', NOTEBOOK_RESULTS: '/x/store', NOTEBOOK_SOURCE: 'committed' };
    const p = notebookParams('05-heads', {}, env);
    assert.deepEqual([p.mode, p.experiment, p.variants, p.seeds, p.train, p.results, p.source], ['full', 'heads', ['arcface', 'cosface'], [0, 1, 2], false, '/x/store', 'committed']);
    assert.equal(p.origin.experiment, 'NOTEBOOK_EXPERIMENT');
    assert.equal(p.experimentWhy, 'set by NOTEBOOK_EXPERIMENT');
    const o = notebookParams('05-heads', { mode: 'quick', experiment: 'notebook-heads-smoke', variants: ['softmax'], seeds: [4, 7], train: true }, env);
    assert.deepEqual([o.mode, o.experiment, o.variants, o.seeds, o.train], ['quick', 'notebook-heads-smoke', ['softmax'], [4, 7], true]);
    assert.deepEqual([o.origin.mode, o.origin.variants, o.origin.results], ['notebook', 'notebook', 'NOTEBOOK_RESULTS']);
    assert.equal(cliCommand(o), 'npx coreface ablate notebook-heads-smoke --results /x/store --variants softmax --seeds 4,7');
    assert.equal(cliCommand({ ...o, seeds: [0, 1, 2], train: false }), 'npx coreface collect notebook-heads-smoke --results /x/store --variants softmax --seeds 3');
  });

  it('rejects bad values before any work, naming the variable and what is allowed', () => {
    const bad: [Record<string, string>, Record<string, unknown>, RegExp][] = [
      [{ NOTEBOOK_MODE: 'fast' }, {}, /NOTEBOOK_MODE must be 'quick' or 'full', got 'fast'/],
      [{ NOTEBOOK_EXPERIMENT: 'nope' }, {}, /unknown experiment 'nope' \(registered: .*notebook-ablation-smoke/],
      [{ NOTEBOOK_VARIANTS: 'arcface,nope' }, {}, /has no variant 'nope'/],
      [{ NOTEBOOK_VARIANTS: ' , ' }, {}, /NOTEBOOK_VARIANTS must be a comma-separated list/],
      [{ NOTEBOOK_SEEDS: '0' }, {}, /NOTEBOOK_SEEDS must be a positive integer or a list of seeds, got 0/],
      [{ NOTEBOOK_TRAIN: 'maybe' }, {}, /NOTEBOOK_TRAIN must be 1 or 0/],
      [{ NOTEBOOK_SOURCE: 'web' }, {}, /NOTEBOOK_SOURCE must be one of auto, store, committed, got 'web'/],
      [{ NOTEBOOK_DATASET: '/no/such/folder' }, {}, /dataset '\/no\/such\/folder' is not one of synthfaces, glyphs, mnist, fashion-mnist, demo-folder, and as a path: .*no such file or folder/],
    ];
    for (const [env, over, re] of bad) assert.throws(() => notebookParams('03-ablation', over, env), re, JSON.stringify(env));
    // the results notebook also takes experiments it only has a committed summary of
    assert.equal(notebookParams('06-results', {}, { NOTEBOOK_EXPERIMENT: 'only-committed' }).experiment, 'only-committed');
  });

  it('datasets: named ones build in both sizes, a folder is an image-folder and a .rec a recordio set', () => {
    const quick = notebookParams('01-quickstart', { dataset: 'mnist' }, {}).dataset;
    assert.ok(quick);
    const b = createDataset(quick.name, quick.options);
    assert.equal(b.numClasses, 6);
    assert.ok(b.train.count < 1000, `quick mnist is small (${b.train.count})`);
    const full = notebookParams('01-quickstart', { dataset: 'mnist', mode: 'full' }, {}).dataset;
    assert.equal(full?.options.trainPerClass, 700, 'full mode: the quick schedule\'s class-disjoint sizes');
    const dir = tmp('nb-data-');
    try {
      fs.writeFileSync(path.join(dir, 'train.rec'), '');
      const f = notebookParams('07-your-data', {}, { NOTEBOOK_DATASET: dir }).dataset;
      assert.deepEqual([f?.name, f?.options.path, f?.options.size, f?.choice], ['image-folder', dir, 16, dir]);
      const r = notebookParams('07-your-data', { dataset: path.join(dir, 'train.rec'), mode: 'full' }, {}).dataset;
      assert.deepEqual([r?.name, r?.options.size], ['recordio', 32]);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('notebook helpers: the demo image folder', () => {
  it('writes <root>/<identity>/<image>.png that image-folder reads, reuses it, and never writes into a foreign folder', () => {
    const root = tmp('nb-demo-');
    const dir = path.join(root, 'faces');
    try {
      const r = writeDemoImageFolder(dir, { identities: 24, imagesPerIdentity: 3, resolution: 16 });
      assert.deepEqual([r.identities, r.images, r.reused], [24, 72, false]);
      const ids = fs.readdirSync(dir).filter((n) => !n.startsWith('.')).sort();
      assert.equal(ids.length, 24);
      assert.equal(ids[0], 'person-0001');
      assert.deepEqual(fs.readdirSync(path.join(dir, ids[0])).sort(), ['01.png', '02.png', '03.png']);
      const png = PNG.sync.read(fs.readFileSync(path.join(dir, ids[0], '01.png')));
      assert.deepEqual([png.width, png.height], [16, 16]);
      const b = createDataset('image-folder', { path: dir, size: 16, testIdentities: 20 });
      assert.deepEqual([b.numClasses, b.train.count, b.test.count], [4, 12, 60]);
      const mtime = fs.statSync(path.join(dir, ids[0], '01.png')).mtimeMs;
      assert.equal(writeDemoImageFolder(dir, { identities: 24, imagesPerIdentity: 3, resolution: 16 }).reused, true);
      assert.equal(fs.statSync(path.join(dir, ids[0], '01.png')).mtimeMs, mtime, 'reused, not rewritten');
      // other options: regenerated in place (it is ours: the marker says so)
      assert.equal(writeDemoImageFolder(dir, { identities: 22, imagesPerIdentity: 2, resolution: 16 }).images, 44);
      assert.equal(fs.readdirSync(dir).filter((n) => !n.startsWith('.')).length, 22);
      const foreign = path.join(root, 'mine');
      fs.mkdirSync(foreign);
      fs.writeFileSync(path.join(foreign, 'keep.txt'), 'x');
      assert.throws(() => writeDemoImageFolder(foreign, { identities: 22, imagesPerIdentity: 2 }), new RegExp(`not empty and was not generated .*${DEMO_MARKER.replace('.', '\\.')}`));
      assert.ok(fs.existsSync(path.join(foreign, 'keep.txt')));
      assert.throws(() => writeDemoImageFolder(path.join(root, 'x'), { identities: 1, imagesPerIdentity: 2 }), /identities must be an integer >= 2, got 1/);
    } finally {
      fs.rmSync(root, { recursive: true, force: true });
    }
  });
});

describe('notebook helpers: reading results', () => {
  // base, same (no difference), better (+2 points on every seed), 5 seeds; scipy.stats.ttest_rel checks are below
  const acc = { base: [0.90, 0.92, 0.88, 0.91, 0.89], same: [0.91, 0.91, 0.89, 0.90, 0.89], better: [0.92, 0.94, 0.90, 0.93, 0.91] };
  const s = summary(acc, { fit: true });

  it('per-seed values and paired differences per seed, with the summary\'s interval and tests', () => {
    const t = perSeedTable(s);
    assert.deepEqual(t.columns, ['verification acc %', 'BASE', 'SAME', 'BETTER']);
    assert.deepEqual(t.rows[0], ['seed 0', '90.00', '91.00', '92.00']);
    assert.deepEqual(t.rows[5][0], 'mean');
    assert.equal(t.rows[5][3], '92.00');
    const d = pairedDifferences(s);
    assert.deepEqual(d.map((x) => x.variant), ['same', 'better']);
    assert.deepEqual(d[1].diffs.map((x) => Math.round(1e4 * x) / 1e4), [0.02, 0.02, 0.02, 0.02, 0.02]);
    assert.deepEqual(d[1].units, ['seed 0', 'seed 1', 'seed 2', 'seed 3', 'seed 4']);
    const table = pairedDifferenceTable(s);
    assert.deepEqual(table.columns, ['variant', 'seed 0', 'seed 1', 'seed 2', 'seed 3', 'seed 4', 'mean Δ (pts)', '95% CI', 'p (paired t)', 'p (sign-flip)']);
    assert.deepEqual(table.rows[0].slice(0, 3), ['SAME', '1.00', '-1.00']);
    // sign-flip over 5 pairs that are all +2: the exact two-sided p is 2/32
    assert.equal(table.rows[1][9], '0.063');
    const fig = pairedDifferenceFigure(s);
    assert.ok(fig);
    assert.equal(fig.data.length, 4, 'per variant: the seeds and the mean with its interval');
    assert.deepEqual(fig.data[2].y, [2, 2, 2, 2, 2].map((v, i) => 100 * (acc.better[i] - acc.base[i])));
    assert.equal(pairedDifferenceFigure(summary({ base: [0.9, 0.91] })), null, 'no variant to pair');
    assert.deepEqual(variantStats(s).map((x) => [x.variant, x.n]), [['base', 5], ['same', 5], ['better', 5]]);
  });

  it('the fit table: training accuracy, both verifications, the gap and its paired difference', () => {
    const t = fitTable(s);
    assert.ok(t);
    assert.equal(t.rows[0][1], 5);
    assert.equal(t.rows[0][2], '98.00 ± 0.00');
    assert.match(String(t.rows[0][5]), /^1\.40 ± 0\.16$/);
    assert.equal(t.rows[0][6], '', 'the baseline has no difference to itself');
    assert.match(String(t.rows[2][6]), /^0\.00 \[/);
    assert.equal(fitTable(summary({ base: [0.9, 0.91], b: [0.9, 0.9] })), null, 'no fit measurements');
  });

  it('findings are computed: an interval with 0 is "not shown", one without is a difference, and the scope, floor, fit and gap are stated', () => {
    const f = summaryFindings(s).join('\n');
    assert.match(f, /\*\*Scope\.\*\* `fake`: 3 variants x seeds 0, 1, 2, 3, 4: 15 of 15 planned runs finished/);
    assert.match(f, /\*\*SAME\*\* − BASE: \+0\.00 points of verification acc \[−[0-9.]+, \+[0-9.]+\] over 5 seeds .*includes 0: these runs do not show a difference/);
    assert.match(f, /\*\*BETTER\*\* − BASE: \+2\.00 points .*higher on 5 of 5 seeds, lower on 0\)\. The 95% interval excludes 0: .*BETTER is higher, but the exact sign-flip test does not confirm it at 0\.05 \(with 5 pairs it cannot go below 0\.063\)/);
    assert.match(f, /With 5 pairs the exact sign-flip p cannot go below 0\.063 .* at least 6 seeds/);
    assert.match(f, /2 variants are compared with BASE; if none differed, about 0\.10 of them would reach p < 0\.05 by chance \(1 did/);
    assert.match(f, /BASE reaches 98\.00% training accuracy .*: it fits its training identities/);
    assert.match(f, /a gap of \+1\.40 points \(small: there is little for a regulariser to close\)/);
    assert.match(f, /\*\*Signal\.\*\* In BETTER the weighted contrastive term is 10\.00% of the final epoch's total loss/);
    assert.match(f, /\*\*Not shown\.\*\*/);
    assert.doesNotMatch(f, /Incomplete/);
    const one = summaryFindings(summary({ base: [0.9], b: [0.95] })).join('\n');
    assert.match(one, /on a single seed: one draw, no interval and no test/);
    assert.match(one, /no fit measurements/);
    // many variants: those whose interval includes 0 share one sentence
    const many: Record<string, number[]> = { base: [0.9, 0.91, 0.92] };
    for (let i = 0; i < 8; i++) many[`v${i}`] = [0.9 + 0.001 * i, 0.912, 0.918];
    const m = summaryFindings(summary(many)).join('\n');
    assert.match(m, /\*\*8 of 8 variants\*\* have a 95% interval .* includes 0/);
    assert.equal(signFlipFloor(2), 0.5);
    assert.equal(signFlipFloor(6), 2 / 64);
  });

  it('loadExperimentSummary: the committed summary when the store lacks the experiment, the store when it holds it all, and says which', () => {
    const store = tmp('nb-store-');
    const committed = tmp('nb-committed-');
    try {
      assert.throws(() => loadExperimentSummary('notebook-ablation-smoke', { results: store, committedDir: committed }),
        /no results of 'notebook-ablation-smoke': looked in the run store .* \(no finished run of it\) and .*summary\.json \(no such file\); run `npx coreface ablate notebook-ablation-smoke --results/);
      fs.mkdirSync(path.join(committed, 'notebook-ablation-smoke'));
      fs.writeFileSync(path.join(committed, 'notebook-ablation-smoke', 'summary.json'), JSON.stringify({ ...s, experiment: 'notebook-ablation-smoke' }));
      const l = loadExperimentSummary('notebook-ablation-smoke', { results: store, committedDir: committed });
      assert.equal(l.source, 'committed');
      assert.match(l.note, /Read from the committed summary .*summary\.json` \(generated .*; the store .* holds none of its runs\)/);
      assert.equal(l.summary.runs.length, 15);
      assert.throws(() => loadExperimentSummary('notebook-ablation-smoke', { results: store, committedDir: committed, source: 'store' }), /looked in the run store .* \(no finished run of it\);/);
      // a name only committed (not registered) reads fine
      fs.mkdirSync(path.join(committed, 'old-study'));
      fs.writeFileSync(path.join(committed, 'old-study', 'summary.json'), JSON.stringify(s));
      assert.equal(loadExperimentSummary('old-study', { results: store, committedDir: committed }).summary.experiment, 'fake');
      fs.writeFileSync(path.join(committed, 'old-study', 'summary.json'), '{"experiment": 1}');
      assert.throws(() => loadExperimentSummary('old-study', { results: store, committedDir: committed }), /is not a summary\.json of coreface collect/);
      assert.ok(experimentHasData('old-study', store, committed));
      assert.ok(!experimentHasData('notebook-heads-smoke', store, committed));
      // the planned runs of the registered smoke experiment are what the store is checked for
      assert.equal(planRuns(getExperiment('notebook-ablation-smoke')).length, 8);
    } finally {
      fs.rmSync(store, { recursive: true, force: true });
      fs.rmSync(committed, { recursive: true, force: true });
    }
  });

  it('the tables render (Markdown) without throwing on a summary with failures and missing runs', () => {
    const exp = resolveExperiment({ name: 'partial', base: {}, variants: [{ name: 'a' }, { name: 'b' }], seeds: 3 });
    const outcomes = planRuns(exp).map((run) => (run.variant === 'b' && run.seed === 2 ? { run, result: null, status: 'failed', error: 'boom' } : run.seed === 2 ? { run, result: null, status: 'missing' } : { run, result: fakeResult(0.9, run.seed), status: 'done' }));
    const p = summarizeExperiment(exp, outcomes);
    assert.match(tableToMarkdown(perSeedTable(p)), /seed 1/);
    assert.match(summaryFindings(p).join('\n'), /4 of 6 planned runs finished, 1 failed, 1 not finished .*\n[^]*\*\*Incomplete\.\*\* 2 planned runs are not in these numbers/);
  });
});

describe('notebook helpers: the stamp', () => {
  it('commit of the checkout (none outside git), backend line and date; startNotebook shows it first with the parameters', async () => {
    const head = execFileSync('git', ['rev-parse', '--short=10', 'HEAD'], { cwd: PACKAGE.root, encoding: 'utf8' }).trim();
    assert.equal(gitState().commit, head);
    const outside = tmp('nb-nogit-');
    try {
      assert.deepEqual(gitState(outside), { commit: null, dirty: null });
      // local changes count outside notebooks/ only (the runner rewrites the notebooks while it runs)
      const git = (...args: string[]) => execFileSync('git', ['-c', 'user.email=t@t', '-c', 'user.name=t', ...args], { cwd: outside, encoding: 'utf8' });
      git('init', '-q');
      fs.mkdirSync(path.join(outside, 'notebooks'));
      fs.writeFileSync(path.join(outside, 'notebooks', 'a.ipynb'), '{}');
      fs.writeFileSync(path.join(outside, 'code.ts'), 'x');
      git('add', '.');
      git('commit', '-q', '-m', 'c');
      assert.equal(gitState(outside).dirty, false);
      fs.writeFileSync(path.join(outside, 'notebooks', 'a.ipynb'), '{"changed": 1}');
      assert.equal(gitState(outside).dirty, false, 'a rewritten notebook is not a code change');
      fs.writeFileSync(path.join(outside, 'code.ts'), 'y');
      assert.equal(gitState(outside).dirty, true);
      assert.match(gitState(outside).commit ?? '', /^[0-9a-f]{10}$/);
    } finally {
      fs.rmSync(outside, { recursive: true, force: true });
    }
    const backend = { name: 'wasm', tfBackend: 'wasm', version: '4.22.0', note: 'wasm, SIMD' } as const;
    const st = notebookStamp(backend, new Date('2026-12-04T07:30:59Z'));
    assert.equal(st.date, '2026-12-04 07:30 UTC');
    assert.equal(st.backend, 'wasm (wasm, SIMD), tfjs 4.22.0');
    assert.equal(st.version, `coreface-lab@${PACKAGE.version}`);
    const md = stampMarkdown({ ...st, commit: 'abc', dirty: true });
    assert.match(md, /^\*\*run\*\* 2026-12-04 07:30 UTC · \*\*code\*\* coreface-lab@[0-9.]+, commit `abc` with local changes \(outside notebooks\/\), Node v\d+/);
    assert.match(md, /\n\*\*backend\*\* wasm \(wasm, SIMD\), tfjs 4\.22\.0$/);
    assert.match(stampMarkdown({ ...st, commit: null }), /not a git checkout/);

    const shown: string[] = [];
    setDisplay({ png: () => shown.push('png'), html: () => shown.push('html'), markdown: (m) => shown.push(m), text: () => shown.push('text') });
    try {
      const P = await startNotebook('03-ablation', { results: '/tmp/nowhere-store' });
      assert.equal(P.experiment, 'notebook-ablation-smoke');
      assert.equal(shown.length, 1, 'one output');
      assert.match(shown[0], new RegExp(`^\\*\\*run\\*\\* .* commit \`${head}\``));
      assert.match(shown[0], /\*\*backend\*\* \S+ \(.*\), tfjs \d/);
      assert.match(shown[0], /\| experiment \| `notebook-ablation-smoke` \(quick mode: .*\) \| default \|/);
      assert.match(shown[0], /\| run store \| `\/tmp\/nowhere-store` \| notebook \|/);
    } finally {
      setDisplay(null);
    }
  });
});
