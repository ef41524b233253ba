import { strict as assert } from 'assert';
import { resolveTrainConfig, configHash, ConfigError, schemaMarkdown, TRAIN_SCHEMA, deepMerge } from '../../src/config';

describe('config: resolveTrainConfig', () => {
  it('fills every default (reference optimiser settings)', () => {
    const c = resolveTrainConfig({});
    assert.equal(c.optimizer.lr, 0.1);
    assert.equal(c.optimizer.momentum, 0.9);
    assert.equal(c.optimizer.weightDecay, 5e-4);
    assert.equal(c.optimizer.clipNorm, 5);
    assert.deepEqual(c.optimizer.milestones, [8, 14, 20]);
    assert.equal(c.coreface.batchWeight, 0.99);
    assert.equal(c.coreface.protocol, 'one-way-n');
    assert.equal(c.coreface.mask, 'zero');
    assert.equal(c.coreface.margin, 'adaptive');
    assert.deepEqual([c.coreface.w1, c.coreface.w2, c.coreface.wC, c.coreface.wC2], [0.5, 0.5, 0.05, 0]);
  });

  const bad: [unknown, RegExp][] = [
    [{ optimzer: {} }, /unknown field config\.optimzer \(allowed: .*optimizer/],
    [{ optimizer: { lr: -1 } }, /config\.optimizer\.lr must be > 0, got -1/],
    [{ optimizer: { lr: 'fast' } }, /config\.optimizer\.lr must be a finite number, got "fast"/],
    [{ coreface: { protocol: 'three-way' } }, /config\.coreface\.protocol must be one of 'one-way-n', 'two-way-n', '2n', got "three-way"/],
    [{ coreface: { mask: 1 } }, /config\.coreface\.mask must be a string/],
    [{ coreface: { margin: 'big' } }, /config\.coreface\.margin must be a number or one of 'adaptive', 'none', got "big"/],
    [{ coreface: { enabled: 'yes' } }, /config\.coreface\.enabled must be true or false/],
    [{ training: { batchSize: 1.5 } }, /config\.training\.batchSize must be an integer, got 1\.5/],
    [{ training: { epochs: 0 } }, /config\.training\.epochs must be >= 1, got 0/],
    [{ optimizer: { milestones: [5, 3] } }, /config\.optimizer\.milestones must be strictly increasing/],
    [{ dropout: { after: 1 } }, /config\.dropout\.after must be <= 0\.95, got 1/],
    [{ training: { epochs: 4 }, coreface: { enabled: true, startEpoch: 4 }, optimizer: { milestones: [2] } }, /startEpoch \(4\) must be < config\.training\.epochs \(4\)/],
    [{ training: { sampler: 'identity-balanced', samplesPerIdentity: 3, batchSize: 64 } }, /multiple of config\.training\.samplesPerIdentity/],
    [{ dataset: { options: [] } }, /config\.dataset\.options must be an object/],
    ['not an object', /config must be an object/],
  ];
  for (const [input, msg] of bad) {
    it(`rejects ${JSON.stringify(input)}`, () => {
      assert.throws(() => resolveTrainConfig(input), msg);
    });
  }

  it('raises ConfigError with the path of the field', () => {
    try {
      resolveTrainConfig({ head: { nam: 'x' } });
      assert.fail('no error');
    } catch (e) {
      assert.ok(e instanceof ConfigError);
      assert.equal((e as ConfigError).path, 'config.head.nam');
    }
  });

  it('hashes configs by content, independent of key order', () => {
    const a = resolveTrainConfig({ seed: 1, training: { epochs: 3 }, optimizer: { milestones: [1] } });
    const b = resolveTrainConfig({ optimizer: { milestones: [1] }, training: { epochs: 3 }, seed: 1 });
    const c = resolveTrainConfig({ seed: 2, training: { epochs: 3 }, optimizer: { milestones: [1] } });
    assert.equal(configHash(a), configHash(b));
    assert.notEqual(configHash(a), configHash(c));
  });

  it('deep-merges overrides without touching the base', () => {
    const base = { a: { b: 1, c: [1, 2] }, d: 1 };
    const m = deepMerge(base, { a: { c: [3] } });
    assert.deepEqual(m, { a: { b: 1, c: [3] }, d: 1 });
    assert.deepEqual(base, { a: { b: 1, c: [1, 2] }, d: 1 });
  });

  it('documents every field', () => {
    const md = schemaMarkdown(TRAIN_SCHEMA);
    assert.match(md, /`coreface\.batchWeight` \| number \| `0\.99`/);
    assert.match(md, /`optimizer\.milestones`/);
  });
});
