import { strict as assert } from 'assert';
import { ConfigError } from '../../src/config';
import { getExperiment, listExperiments, parseShard, planRuns, resolveExperiment, resolveSeeds, runKey, shardRuns } from '../../src/experiments';

const BASE = { dataset: { name: 'synthfaces', options: { trainIdentities: 20 } }, training: { epochs: 2 } };

describe('experiments: specs, plans, shards', () => {
  it('expands variants and sweeps, defaults baseline and seeds', () => {
    const e = resolveExperiment({
      name: 'demo', base: BASE,
      variants: [{ name: 'a' }, { name: 'b', label: 'B', overrides: { dropout: { before: 0.4 } } }],
      sweeps: [{ prefix: 'wc', path: 'coreface.wC', values: [0.01, 0.1], overrides: { coreface: { enabled: true } } }],
    });
    assert.deepEqual(e.variants.map((v) => v.name), ['a', 'b', 'wc-0.01', 'wc-0.1']);
    assert.equal(e.variants[2].label, 'coreface.wC = 0.01');
    assert.deepEqual(e.variants[3].overrides, { coreface: { enabled: true, wC: 0.1 } });
    assert.equal(e.baseline, 'a');
    assert.deepEqual(e.seeds, [0, 1]);
    const runs = planRuns(e);
    assert.equal(runs.length, 8);
    assert.deepEqual(runs.slice(0, 3).map((r) => [r.variant, r.seed]), [['a', 0], ['a', 1], ['b', 0]]);
    assert.equal(runs[7].config.coreface.wC, 0.1);
    assert.equal(runs[7].config.dataset.options.trainIdentities, 20);
    assert.equal(runs[0].config.name, runs[0].key);
  });

  it('gives the same key to the same run in any experiment, whatever its variant name, and another key to another config', () => {
    const e1 = resolveExperiment({ name: 'one', base: BASE, variants: [{ name: 'x' }], seeds: [3] });
    const e2 = resolveExperiment({ name: 'two', base: BASE, variants: [{ name: 'y' }, { name: 'z' }], seeds: [3, 4] });
    const [r1] = planRuns(e1);
    const [r2, r3, r4] = planRuns(e2);
    assert.equal(r1.key, r2.key);
    assert.equal(r4.key, r2.key, 'identical variants share their runs');
    assert.notEqual(r3.key, r2.key, 'another seed is another run');
    assert.match(r1.key, /^[0-9a-f]{16}$/);
    const other = planRuns(resolveExperiment({ name: 'three', base: { ...BASE, training: { epochs: 3 } }, variants: [{ name: 'x' }], seeds: [3] }))[0];
    assert.notEqual(other.key, r1.key);
    assert.equal(runKey({ ...r1.config, name: 'anything' }), r1.key);
  });

  it('rejects bad specs with messages that name the place', () => {
    const bad: [unknown, RegExp][] = [
      [[], /an experiment must be a JSON object/],
      [{ name: 'Bad Name', base: {}, variants: [{ name: 'a' }] }, /experiment\.name must match/],
      [{ name: 'runs', base: {}, variants: [{ name: 'a' }] }, /'runs' is reserved/],
      [{ name: 'e', base: {}, variants: [{ name: 'a' }], extra: 1 }, /experiment: unknown field 'extra'/],
      [{ name: 'e', base: {}, variants: [] }, /has no variants/],
      [{ name: 'e', base: {}, variants: [{ name: 'a' }, { name: 'a' }] }, /variant 'a' is defined twice/],
      [{ name: 'e', base: {}, variants: [{ name: 'a', overide: {} }] }, /variants\[0\]: unknown field 'overide'/],
      [{ name: 'e', base: {}, variants: [{ name: 'a' }], baseline: 'b' }, /baseline 'b' is not a variant/],
      [{ name: 'e', base: {}, variants: [{ name: 'a' }], seeds: 0 }, /seeds must be a positive integer/],
      [{ name: 'e', base: {}, variants: [{ name: 'a' }], seeds: [1, 1] }, /repeated seeds/],
      [{ name: 'e', base: {}, variants: [{ name: 'a', overrides: { seed: 1 } }] }, /variant 'a' overrides set 'seed': runs take their seed from experiment\.seeds/],
      [{ name: 'e', base: { name: 'x' }, variants: [{ name: 'a' }] }, /experiment\.base set 'name'/],
      [{ name: 'e', base: {}, variants: [{ name: 'a', overrides: { optimizer: { lr: -1 } } }] }, /variant 'a': config\.optimizer\.lr must be > 0/],
      [{ name: 'e', base: {}, variants: [], sweeps: [{ prefix: 'p', path: 'x..y', values: [1] }] }, /not a dotted field path/],
      [{ name: 'e', base: {}, variants: [], sweeps: [{ prefix: 'p', path: 'training.epochs', values: [] }] }, /values must be a non-empty array/],
    ];
    for (const [spec, re] of bad) {
      assert.throws(() => resolveExperiment(spec), (e: Error) => e instanceof ConfigError && re.test(e.message), `${JSON.stringify(spec)} should fail with ${re}`);
    }
    assert.throws(() => planRuns(resolveExperiment({ name: 'e', base: {}, variants: [{ name: 'a' }] }), { variants: ['b'] }), /has no variant 'b'/);
    assert.throws(() => getExperiment('nope'), /unknown experiment 'nope' \(registered: coreface-ablation, coreface-ablation-quick, coreface-glyphs-quick, heads/);
    assert.deepEqual(resolveSeeds(3), [0, 1, 2]);
  });

  it('shards partition the plan: disjoint, complete, balanced', () => {
    const items = Array.from({ length: 11 }, (_, i) => i);
    for (const n of [1, 2, 3, 5, 11, 12]) {
      const parts = Array.from({ length: n }, (_, k) => shardRuns(items, { index: k + 1, count: n }));
      assert.deepEqual(parts.flat().sort((a, b) => a - b), items);
      const sizes = parts.map((p) => p.length);
      assert.ok(Math.max(...sizes) - Math.min(...sizes) <= 1);
    }
    assert.deepEqual(parseShard('2/4'), { index: 2, count: 4 });
    assert.throws(() => parseShard('0/4'), /1 <= k <= n, got 0\/4/);
    assert.throws(() => parseShard('5/4'), /got 5\/4/);
    assert.throws(() => parseShard('two'), /--shard must look like k\/n/);
  });

  it('every built-in experiment resolves; the CoReFace ablation covers the issue\'s arms', () => {
    const names = listExperiments().map((e) => e.name);
    assert.deepEqual(names, ['coreface-ablation', 'coreface-ablation-quick', 'coreface-glyphs-quick', 'heads', 'coreface-regime', 'coreface-regime-coupling', 'coreface-regime-glyphs', 'coreface-mnist-quick', 'coreface-fashion-mnist-quick',
      'notebook-ablation-smoke', 'notebook-coupling-smoke', 'notebook-heads-smoke']);
    const quick = getExperiment('coreface-ablation-quick');
    const v = quick.variants.map((x) => x.name);
    for (const want of ['arcface', 'arcface-dropout', 'two-view-ce', 'contrast-plain', 'mask-zero', 'mask-exclude', 'fixed-margin', 'coreface',
      'protocol-two-way-n', 'protocol-2n', 'batch-weight-0.01', 'wc-0.01', 'wc-0.2', 'start-0', 'cosface-coreface']) {
      assert.ok(v.includes(want), `missing variant ${want}`);
    }
    const runs = planRuns(quick);
    assert.equal(new Set(runs.map((r) => r.key)).size, runs.length, 'every run of the ablation is distinct');
    const byName = (n: string) => runs.find((r) => r.variant === n && r.seed === 0)?.config;
    assert.equal(byName('two-view-ce')?.coreface.wC, 0);
    assert.equal(byName('mask-exclude')?.coreface.mask, 'exclude');
    assert.equal(byName('fixed-margin')?.coreface.margin, 0.2);
    assert.equal(byName('cosface-coreface')?.head.name, 'cosface');
    // the variant names only the head: the config carries CosFace's registered defaults, not ArcFace's options
    assert.deepEqual(byName('cosface-coreface')?.head.options, { scale: 64, margin: 0.35 });
    const heads = getExperiment('heads');
    assert.ok(heads.variants.length >= 14);
  });
});
