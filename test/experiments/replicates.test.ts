// Experiments with `replicates` (every variant x seed repeated over the values of one config path, e.g. the class
// partitions of mnist): planning, validation, statistics by (seed, replicate) unit, views, and that experiments
// without replicates plan and summarise exactly as before.
import { strict as assert } from 'assert';
import { createHash } from 'crypto';
import { ConfigError, deepMerge, resolveTrainConfig } from '../../src/config';
import {
  getExperiment, listExperiments, mainTable, markdownReport, numericTable, pairedTable, planRuns, resolveExperiment, runKey, runName,
  runsTable, shardRuns, summarizeExperiment, comparePaired, replicateSpread, type RunRow,
} from '../../src/experiments';
import { classPartition, resolveClassDisjointOptions } from '../../src/data/realbench/class-disjoint';
import { tableToMarkdown } from '../../src/report/table';
import { fakeResult } from './fake-result';

const BASE = { dataset: { name: 'synthfaces', options: { trainIdentities: 20 } }, training: { epochs: 2 } };
const REPS = { path: 'dataset.options.nuisance', values: [0.5, 0.75, 1] };

const close = (a: number | null | undefined, b: number, tol = 1e-12): void => {
  assert.ok(a !== null && a !== undefined && Math.abs(a - b) < tol, `${a} != ${b}`);
};

describe('experiments: replicates', () => {
  describe('planning', () => {
    const exp = resolveExperiment({ name: 'rep', base: BASE, variants: [{ name: 'a' }, { name: 'b', overrides: { dropout: { before: 0.4 } } }], seeds: [0, 3], replicates: REPS });

    it('one run per variant x seed x value, variant-major, then seed, then value; the path set in the config', () => {
      assert.deepEqual(exp.replicates, { path: 'dataset.options.nuisance', values: [0.5, 0.75, 1], label: 'nuisance', tag: 'nuisance' });
      const runs = planRuns(exp);
      assert.equal(runs.length, 2 * 2 * 3);
      assert.deepEqual(runs.slice(0, 4).map((r) => [r.variant, r.seed, r.replicate]), [['a', 0, 0.5], ['a', 0, 0.75], ['a', 0, 1], ['a', 3, 0.5]]);
      assert.deepEqual(runs.map((r) => r.config.dataset.options.nuisance), [0.5, 0.75, 1, 0.5, 0.75, 1, 0.5, 0.75, 1, 0.5, 0.75, 1]);
      assert.ok(runs.every((r) => r.config.dataset.options.trainIdentities === 20), 'the base options are kept');
      assert.equal(new Set(runs.map((r) => r.key)).size, 12);
      assert.equal(runs[11].config.dropout.before, 0.4);
      assert.equal(runs[11].config.seed, 3);
    });

    it('names runs <variant>-s<seed>-<tag>=<value>, and <variant>-s<seed> without replicates', () => {
      assert.deepEqual(planRuns(exp).slice(0, 4).map((r) => r.label), ['a-s0-nuisance=0.5', 'a-s0-nuisance=0.75', 'a-s0-nuisance=1', 'a-s3-nuisance=0.5']);
      const plain = resolveExperiment({ name: 'plain', base: BASE, variants: [{ name: 'a' }], seeds: [2] });
      assert.deepEqual(planRuns(plain).map((r) => r.label), ['a-s2']);
      assert.equal(runName('x', 1, { tag: 'resize', value: 'a b' }), 'x-s1-resize=a_b', 'no whitespace in a label');
    });

    it('a replicate run has the key of the same run planned without replicates (runs are shared with other experiments)', () => {
      const runs = planRuns(exp);
      for (const value of REPS.values) {
        const single = resolveExperiment({ name: 'single', base: deepMerge(BASE, { dataset: { options: { nuisance: value } } }), variants: [{ name: 'z', overrides: { dropout: { before: 0.4 } } }], seeds: [3] });
        const [r] = planRuns(single);
        const mine = runs.find((x) => x.variant === 'b' && x.seed === 3 && x.replicate === value);
        assert.equal(mine?.key, r.key, `nuisance ${value}`);
        // and computed independently: the content hash of base + overrides + the value + the seed
        const cfg = resolveTrainConfig(deepMerge(deepMerge(BASE, { dropout: { before: 0.4 }, dataset: { options: { nuisance: value } } }), { seed: 3, name: 'run' }));
        assert.equal(mine?.key, runKey(cfg));
      }
    });

    it('--variants, --seeds and shards work on the crossed plan', () => {
      const runs = planRuns(exp, { variants: ['b'], seeds: [7] });
      assert.deepEqual(runs.map((r) => r.label), ['b-s7-nuisance=0.5', 'b-s7-nuisance=0.75', 'b-s7-nuisance=1']);
      const all = planRuns(exp);
      const parts = [1, 2, 3, 4, 5].map((k) => shardRuns(all, { index: k, count: 5 }));
      assert.deepEqual(parts.flat().map((r) => r.key).sort(), all.map((r) => r.key).sort());
    });

    it('rejects bad replicates with ConfigErrors that name the place', () => {
      const spec = (replicates: unknown, extra: Record<string, unknown> = {}): unknown => ({ name: 'e', base: BASE, variants: [{ name: 'a' }], replicates, ...extra });
      const bad: [unknown, RegExp][] = [
        [spec([1, 2]), /experiment\.replicates must be an object \{ path, values, label\? \}/],
        [spec({ path: 'training.epochs', values: [1], prefix: 'p' }), /experiment\.replicates: unknown field 'prefix' \(allowed: path, values, label\)/],
        [spec({ values: [1] }), /experiment\.replicates\.path must be a dotted config path, got undefined/],
        [spec({ path: 'training..epochs', values: [1] }), /experiment\.replicates\.path 'training\.\.epochs' is not a dotted field path/],
        [spec({ path: 'seed', values: [1, 2] }), /experiment\.replicates\.path 'seed': runs take their seed from experiment\.seeds/],
        [spec({ path: 'training.epochs', values: [] }), /experiment\.replicates\.values must be a non-empty array/],
        [spec({ path: 'training.epochs', values: 3 }), /experiment\.replicates\.values must be a non-empty array/],
        [spec({ path: 'training.epochs', values: [1, 2, 1] }), /experiment\.replicates\.values\[2\] \(1\) repeats values\[0\]/],
        [spec({ path: 'dataset.options.x', values: [1, '1'] }), /experiment\.replicates\.values\[1\] \("1"\) repeats values\[0\]/],
        [spec({ path: 'training.epochs', values: [1, null] }), /experiment\.replicates\.values\[1\] must be a finite number, a string or a boolean, got null/],
        [spec({ path: 'training.epochs', values: [{ a: 1 }] }), /experiment\.replicates\.values\[0\] must be a finite number/],
        [spec({ path: 'training.epochs', values: [1], label: 3 }), /experiment\.replicates\.label must be a string/],
        [spec({ path: 'optimizer.nope', values: [1] }), /variant 'a' at experiment\.replicates\.values\[0\] \(optimizer\.nope = 1\): unknown field config\.optimizer\.nope/],
        [spec({ path: 'optimizer.lr', values: [0.1, -1] }), /variant 'a' at experiment\.replicates\.values\[1\] \(optimizer\.lr = -1\): config\.optimizer\.lr must be > 0/],
        [{ name: 'e', base: BASE, variants: [{ name: 'a' }, { name: 'b', overrides: { dataset: { options: { nuisance: 2 } } } }], replicates: REPS },
          /experiment 'e', variant 'b' overrides set 'dataset\.options\.nuisance', the replicate path/],
        [{ name: 'e', base: BASE, variants: [{ name: 'a', overrides: { dataset: { options: 'x' } } }], replicates: REPS }, /variant 'a' overrides set 'dataset\.options\.nuisance'/],
        [{ name: 'e', base: BASE, variants: [], sweeps: [{ prefix: 'n', path: 'dataset.options.nuisance', values: [1, 2] }], replicates: REPS },
          /variant 'n-1' overrides set 'dataset\.options\.nuisance', the replicate path/],
      ];
      for (const [s, re] of bad) {
        assert.throws(() => resolveExperiment(s), (e: Error) => e instanceof ConfigError && re.test(e.message), `${JSON.stringify(s)} should fail with ${re}`);
      }
      // The base may set the path (every run overrides it), and variants may set its siblings.
      const ok = resolveExperiment({ name: 'e', base: deepMerge(BASE, { dataset: { options: { nuisance: 9 } } }), variants: [{ name: 'a', overrides: { dataset: { options: { trainIdentities: 30 } } } }], seeds: [0], replicates: REPS });
      assert.deepEqual(planRuns(ok).map((r) => [r.config.dataset.options.nuisance, r.config.dataset.options.trainIdentities]), [[0.5, 30], [0.75, 30], [1, 30]]);
      assert.equal(resolveExperiment({ name: 'e', base: BASE, variants: [{ name: 'a' }], replicates: { ...REPS, label: 'nuisance level' } }).replicates?.label, 'nuisance level');
    });
  });

  describe('experiments without replicates are unchanged', () => {
    // Keys of the built-in experiments as planned before replicates existed (commit 6f96b20, coreface-lab@0.1.0):
    // the first and last run, the count and a digest of every `variant/seed/key`. They are the folder names of the
    // runs already in results/runs. A deliberate change of the key (a version bump, a new config default) changes
    // them too: update them then, knowing the store's runs will be recomputed.
    // Changed deliberately: in 0.3.0 (the oneDNN / fused native kernels change results in float rounding, so the code
    // version in the key changes); in 0.2.0 (issue 15) keys hash the fully resolved config with key scheme 2; before
    // that, in session 6, glyph distortion 0.5 and 5 seeds.
    const BEFORE: Record<string, { runs: number; first: string; last: string; digest: string }> = {
      'coreface-ablation': { runs: 100, first: 'arcface/0/954d0fa3c54dd04d', last: 'cosface-coreface/4/31e6970764767ad8', digest: 'c2d86d59dc14b77a' },
      'coreface-ablation-quick': { runs: 40, first: 'arcface/0/6ef2c46bf911ad89', last: 'cosface-coreface/1/f1697dba85e8963f', digest: 'fdf2a33e3a50cecb' },
      'coreface-glyphs-quick': { runs: 15, first: 'arcface/0/ddd45e3872654f35', last: 'coreface/4/e28e8db2daa31133', digest: '7f3c3db16a9f85c4' },
      heads: { runs: 28, first: 'adaface/0/3bd77a877ae9decf', last: 'subcenter-arcface/1/5edcef4961c0fc83', digest: '1e8d2721c4277aaa' },
    };

    it('the built-in experiments plan the same runs with the same keys as before', () => {
      for (const [name, want] of Object.entries(BEFORE)) {
        const exp = getExperiment(name);
        assert.equal(exp.replicates, null);
        const runs = planRuns(exp);
        const keys = runs.map((r) => `${r.variant}/${r.seed}/${r.key}`);
        assert.deepEqual({ runs: runs.length, first: keys[0], last: keys[keys.length - 1], digest: createHash('sha256').update(keys.join('\n')).digest('hex').slice(0, 16) }, want, name);
        for (const r of runs) {
          assert.ok(!('replicate' in r), 'no replicate field');
          assert.equal(r.label, `${r.variant}-s${r.seed}`);
          const v = exp.variants.find((x) => x.name === r.variant);
          assert.equal(r.key, runKey(resolveTrainConfig(deepMerge(deepMerge(exp.base, v?.overrides), { seed: r.seed, name: 'run' }))));
        }
      }
    });

    it('summary, tables and runs.csv keep their fields and columns', () => {
      const exp = resolveExperiment({ name: 'plain', base: BASE, variants: [{ name: 'a' }, { name: 'b' }], seeds: [0, 1] });
      const outcomes = planRuns(exp).map((run) => ({ run, result: fakeResult(0.9 + 0.01 * run.seed, run.seed), status: 'done' }));
      const s = summarizeExperiment(exp, outcomes);
      assert.ok(!('replicates' in s));
      assert.ok(s.variants.every((v) => !('replicates' in v) && !('replicateSpread' in v)));
      assert.deepEqual(Object.keys(s.runs[0]), ['variant', 'seed', 'key', 'verificationAccuracy', 'verificationFoldStd', 'tarAtFar1e3', 'auc', 'eer', 'rank1', 'dirAtFpir1e2',
        'trainAccuracy', 'heldOutAccuracy', 'gap', 'contrastiveLoss', 'contrastiveShare', 'margin', 'imgPerSec', 'trainSeconds', 'backend']);
      assert.deepEqual(runsTable(s).columns, Object.keys(s.runs[0]));
      assert.deepEqual(mainTable(s).columns, ['variant', 'seeds', 'verification acc %', '95% CI', 'TAR@FAR=1e-3 %', 'rank-1 %', 'DIR@FPIR=1e-2 %', 'AUC %', 'EER %',
        'train acc %', 'verification, training ids %', 'gap (pts)', 'fold std %', 'img/s']);
      const csv = numericTable(s).columns;
      assert.deepEqual(csv.slice(0, 6), ['variant', 'label', 'seeds', 'failed', 'missing', 'verificationAccuracy_mean']);
      assert.ok(!csv.some((c) => c.includes('replicate')));
      assert.match(markdownReport(s), /Seeds 0, 1; backend wasm; mean ± sample std over seeds, 95% Student-t interval\./);
    });
  });

  describe('statistics by (seed, replicate) unit', () => {
    // Verification accuracy per (seed, partition); b's (seed 1, partition 1) failed. Reference values: scipy 1.17:
    //   b - a on the 5 shared units: differences [0.03, -0.02, 0.05, 0.02, 0.05]
    //   stats.ttest_rel(b, a) -> p 0.1137578048286254; mean 0.026, 95% CI [-0.009771992844701038, 0.06177199284470104]
    //   permutation_test(..., n_resamples=inf) -> 0.1875 (6 of the 32 sign patterns: |sum| >= 0.13)
    //   b over its 5 units: mean 0.846, std 0.10691117808723274, CI half-width 0.13274776083646805
    //   spread (std of per-partition means): b [0.835, 0.68, 0.94] -> 0.13079882772155613; a [0.81, 0.72, 0.89] -> 0.08504900548115385
    const ACC: Record<string, Record<string, number>> = {
      a: { '0/0': 0.80, '0/1': 0.70, '0/2': 0.90, '1/0': 0.82, '1/1': 0.74, '1/2': 0.88 },
      b: { '0/0': 0.83, '0/1': 0.68, '0/2': 0.95, '1/0': 0.84, '1/2': 0.93 },
    };
    const exp = resolveExperiment({
      name: 'units', base: BASE, variants: [{ name: 'a', label: 'A' }, { name: 'b', label: 'B' }], seeds: [0, 1],
      replicates: { path: 'dataset.options.nuisance', values: [0, 1, 2], label: 'partition' },
    });
    const outcomes = planRuns(exp).map((run) => {
      const acc = ACC[run.variant][`${run.seed}/${String(run.replicate)}`];
      return acc === undefined ? { run, result: null, status: 'failed', error: 'boom' } : { run, result: fakeResult(acc, run.seed), status: 'done' };
    });
    const s = summarizeExperiment(exp, outcomes);
    const [a, b] = s.variants;

    it('mean, std and interval over all units of a variant', () => {
      assert.deepEqual(b.seeds, [0, 0, 0, 1, 1]);
      assert.deepEqual(b.replicates, [0, 1, 2, 0, 2]);
      const m = b.metrics.verificationAccuracy;
      assert.equal(m?.n, 5);
      close(m?.mean, 0.846);
      close(m?.std ?? null, 0.10691117808723274);
      close(m?.ciHigh ?? null, 0.846 + 0.13274776083646805, 1e-10);
      close(a.metrics.verificationAccuracy?.mean, 0.8066666666666666);
      assert.equal(b.failed, 1);
      assert.deepEqual(s.failed.map((f) => [f.variant, f.seed, f.replicate, f.error]), [['b', 1, 1, 'boom']]);
    });

    it('pairs with the baseline by (seed, replicate), not by seed', () => {
      const d = b.vsBaseline?.verificationAccuracy;
      assert.equal(d?.n, 5);
      close(d?.meanDiff, 0.026);
      close(d?.pT ?? null, 0.1137578048286254, 1e-9);
      close(d?.ciLow ?? null, -0.009771992844701038, 1e-10);
      close(d?.ciHigh ?? null, 0.06177199284470104, 1e-10);
      close(d?.pPermutation ?? null, 0.1875);
    });

    it('the spread across replicates: std of the per-replicate means', () => {
      const sb = b.replicateSpread?.verificationAccuracy;
      assert.deepEqual(sb?.perValue.map((p) => [p.value, p.n]), [[0, 2], [1, 1], [2, 2]]);
      close(sb?.perValue[0].mean, 0.835);
      close(sb?.std ?? null, 0.13079882772155613);
      close(sb?.min ?? null, 0.68);
      close(sb?.max ?? null, 0.94);
      close(a.replicateSpread?.verificationAccuracy?.std ?? null, 0.08504900548115385);
      close(a.replicateSpread?.rank1?.std ?? null, 0.08504900548115385, 1e-12); // rank-1 = acc - 0.1: same spread
      assert.deepEqual(s.replicates, { path: 'dataset.options.nuisance', label: 'partition', values: [0, 1, 2] });
    });

    it('views: runs and spread columns, the replicate column of runs.csv, notes naming the units', () => {
      const main = mainTable(s);
      assert.deepEqual(main.columns.slice(0, 5), ['variant', 'runs', 'verification acc %', '95% CI', 'spread over partition %']);
      const md = tableToMarkdown(main);
      assert.match(md, /\| B \| 5 \(\+1 failed\) \| 84\.60 ± 10\.69 \| \[71\.33, 97\.87\] \| 13\.08 \|/);
      assert.match(md, /\| A \| 6 \| 80\.67 ± 7\.76 \| .* \| 8\.50 \|/);
      assert.match(tableToMarkdown(pairedTable(s)), /\| B \| 5 \| \+2\.60 \| \[−0\.98, \+6\.18\] \| 0\.114 \| 0\.188 \|/);
      const csv = numericTable(s);
      assert.deepEqual(csv.columns.slice(0, 6), ['variant', 'label', 'runs', 'replicates', 'failed', 'missing']);
      assert.ok(csv.columns.includes('verificationAccuracy_replicate_std'));
      const rows = runsTable(s);
      assert.deepEqual(rows.columns.slice(0, 4), ['variant', 'seed', 'dataset.options.nuisance', 'key']);
      assert.deepEqual(rows.rows.filter((r) => r[0] === 'b').map((r) => r[2]), [0, 1, 2, 0, 2]);
      const report = markdownReport(s);
      assert.match(report, /Seeds 0, 1 x partition 0, 1, 2 \(`dataset\.options\.nuisance`\)/);
      assert.match(report, /Paired against \*\*A\*\* on the \(seed, partition\) runs both finished/);
      assert.match(report, /Failed runs: b seed 1, partition 1 \(boom\)/);
    });

    it('comparePaired and replicateSpread on rows directly; no exact permutation p above 20 pairs', () => {
      const row = (seed: number, replicate: number, acc: number): RunRow => ({ ...(s.runs[0]), seed, replicate, verificationAccuracy: acc });
      // 7 seeds x 3 replicates = 21 pairs: the t-test still runs, the exact sign-flip test (2^21 patterns) is left out.
      const mine: RunRow[] = [];
      const base: RunRow[] = [];
      for (let seed = 0; seed < 7; seed++) {
        for (let rep = 0; rep < 3; rep++) {
          mine.push(row(seed, rep, 0.9 + 0.001 * seed + 0.002 * rep));
          base.push(row(seed, rep, 0.9));
        }
      }
      const d = comparePaired(mine, base.reverse(), 'verificationAccuracy');
      assert.equal(d?.n, 21);
      close(d?.meanDiff, 0.001 * 3 + 0.002, 1e-12);
      assert.equal(d?.pPermutation, null);
      assert.ok(d?.pT !== null && (d?.pT ?? 1) < 1e-6);
      const sp = replicateSpread(mine, [0, 1, 2, 3], 'verificationAccuracy');
      assert.deepEqual(sp.perValue.map((p) => p.n), [7, 7, 7, 0]);
      assert.equal(sp.perValue[3].mean, null);
      assert.equal(sp.n, 3);
      close(sp.std ?? null, 0.002, 1e-12); // means 0.903, 0.905, 0.907
    });
  });

  describe('built-in mnist and fashion-mnist experiments', () => {
    it('3 variants (as in the quick ablation) x seed 0 x partitions 0-4; every class tested twice', () => {
      const listed = listExperiments();
      assert.deepEqual(listed.filter((e) => e.name.includes('mnist')).map((e) => [e.name, e.variants, e.seeds, e.replicates, e.runs]),
        [['coreface-mnist-quick', 3, 1, 5, 15], ['coreface-fashion-mnist-quick', 3, 1, 5, 15]]);
      assert.deepEqual(listed.find((e) => e.name === 'heads'), { ...listed.find((e) => e.name === 'heads'), replicates: 0, runs: 28 });
      const quick = getExperiment('coreface-ablation-quick');
      for (const dataset of ['mnist', 'fashion-mnist']) {
        const exp = getExperiment(`coreface-${dataset}-quick`);
        assert.deepEqual(exp.variants.map((v) => v.name), ['arcface', 'arcface-dropout', 'coreface']);
        for (const v of exp.variants) assert.deepEqual(v.overrides, quick.variants.find((q) => q.name === v.name)?.overrides, v.name);
        assert.equal(exp.baseline, 'arcface-dropout');
        assert.deepEqual(exp.seeds, [0]);
        assert.deepEqual(exp.replicates, { path: 'dataset.options.partition', values: [0, 1, 2, 3, 4], label: 'partition', tag: 'partition' });
        const runs = planRuns(exp);
        assert.equal(runs.length, 15);
        assert.equal(new Set(runs.map((r) => r.key)).size, 15);
        assert.equal(runs[0].label, 'arcface-s0-partition=0');
        const tested = new Array<number>(10).fill(0);
        for (const r of runs.filter((x) => x.variant === 'coreface')) {
          assert.equal(r.config.dataset.name, dataset);
          assert.equal(r.config.training.epochs, 6);
          assert.deepEqual(r.config.optimizer.milestones, [3, 5]);
          assert.equal(r.config.coreface.startEpoch, 3);
          // the dataset accepts every run's options (the config leaves them to the dataset)
          const o = resolveClassDisjointOptions(dataset, r.config.dataset.options);
          assert.equal(o.partition, r.replicate);
          for (const c of classPartition(10, o.testClasses, o.partition).testClasses) tested[c]++;
        }
        assert.deepEqual(tested, new Array<number>(10).fill(2));
      }
    });
  });
});
