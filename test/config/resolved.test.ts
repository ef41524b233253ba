import { strict as assert } from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { ConfigError, configHash, resolveTrainConfig } from '../../src/config';
import { getDatasetEntry, listDatasets } from '../../src/data';
import { getHeadEntry, listHeads } from '../../src/heads';
import { getBackboneEntry, listBackbones } from '../../src/models';
import { getPairLossEntry, listPairLosses } from '../../src/losses';
import { CODE_VERSION, RunStore, runKey, staleRunNotes } from '../../src/experiments';
import type { PlannedRun } from '../../src/experiments';

/** Options every dataset needs to resolve at all (the user datasets need a path; nothing is read). */
const REQUIRED: Record<string, Record<string, unknown>> = { 'image-folder': { path: '/nowhere' }, recordio: { path: '/nowhere/train.rec' } };

describe('config: fully resolved configs and run keys (issue 15 part 5)', () => {
  it('every registered head, backbone and pair loss has its defaults written into the config', () => {
    for (const { name } of listHeads()) assert.deepEqual(resolveTrainConfig({ head: { name } }).head.options, getHeadEntry(name).defaults, name);
    for (const { name } of listBackbones()) {
      assert.deepEqual(resolveTrainConfig({ model: { backbone: name } }).model.backboneOptions, getBackboneEntry(name).defaults, name);
    }
    for (const { name } of listPairLosses()) {
      assert.deepEqual(resolveTrainConfig({ pairLoss: { name } }).pairLoss.options, getPairLossEntry(name).defaults, name);
    }
  });

  it('every registered dataset resolves its options completely and idempotently', () => {
    for (const { name } of listDatasets()) {
      const given = REQUIRED[name] ?? {};
      const once = resolveTrainConfig({ dataset: { name, options: given } });
      assert.ok(Object.keys(once.dataset.options).length > Object.keys(given).length, `${name}: defaults filled in`);
      assert.deepEqual(resolveTrainConfig(once), once, `${name}: resolving a resolved config changes nothing`);
      assert.deepEqual(once.dataset.options, getDatasetEntry(name).resolveOptions(given));
    }
    const s = resolveTrainConfig({}).dataset.options as Record<string, unknown>;
    assert.equal(s.trainIdentities, 500);
    assert.equal(s.heldOutPerIdentity, 4);
    assert.equal((s.nuisanceParams as Record<string, number>).rotationDeg, 10, 'the per-field nuisance defaults too');
    const g = resolveTrainConfig({ dataset: { name: 'glyphs' } }).dataset.options;
    assert.ok(!('cacheDir' in g) && !('progress' in g), 'how the pixels are obtained (cache folder, progress) is not part of the config');
    assert.equal(resolveTrainConfig({ dataset: { name: 'glyphs', options: { progress: false } } }).dataset.options.progress, false, 'kept when given');
  });

  it('a default written out or left implicit is the same run; a changed registered default is a new run', () => {
    const implicit = runKey(resolveTrainConfig({ head: { name: 'arcface' } }));
    assert.equal(runKey(resolveTrainConfig({ head: { name: 'arcface', options: { scale: 64, margin: 0.5 } } })), implicit);
    assert.equal(runKey({ head: { name: 'arcface' } }), implicit, 'runKey resolves a partial config itself');
    assert.notEqual(runKey({ head: { name: 'arcface', options: { scale: 32 } } }), implicit);
    const entry = getHeadEntry('arcface');
    const saved = entry.defaults.scale;
    try {
      entry.defaults.scale = 32; // what a changed default in src/heads/arcface.ts does
      assert.notEqual(runKey({ head: { name: 'arcface' } }), implicit, 'the old run is not returned for the new default');
    } finally {
      entry.defaults.scale = saved;
    }
    assert.equal(runKey({ head: { name: 'arcface' } }), implicit);
  });

  it('bad registered names and options are ConfigErrors at their path', () => {
    const at = (cfg: unknown, p: RegExp, msg: RegExp): void => {
      assert.throws(() => resolveTrainConfig(cfg), (e: unknown) => e instanceof ConfigError && p.test(e.path) && msg.test(e.message));
    };
    at({ dataset: { name: 'nope' } }, /^config\.dataset\.name$/, /registered dataset \(.*synthfaces.*\), got "nope"/);
    at({ dataset: { options: { trainIdentities: 0 } } }, /^config\.dataset\.options\.trainIdentities$/, /trainIdentities must be an integer >= 1, got 0/);
    at({ dataset: { options: { colour: 1 } } }, /^config\.dataset\.options\.colour$/, /unknown synthfaces option 'colour'; allowed: .*heldOutPerIdentity/);
    at({ head: { name: 'arcface', options: { scael: 1 } } }, /^config\.head\.options\.scael$/, /unknown option 'scael' of head 'arcface'/);
    at({ head: { name: 'arcface', options: { scale: '64' } } }, /^config\.head\.options\.scale$/, /scale must be a number for head 'arcface', got "64"/);
    at({ head: { name: 'arcfce' } }, /^config\.head\.name$/, /registered head/);
    at({ model: { backbone: 'resnet-9000' } }, /^config\.model\.backbone$/, /registered backbone/);
  });

  it('the store reports folders of the old key scheme and the planned runs they match, and never reuses them', () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'stale-'));
    try {
      const store = new RunStore(root);
      // a run of scheme 1: config.json as it was written then (head options not filled in), under its old key
      const written = { ...resolveTrainConfig({}), head: { name: 'arcface', options: {} } };
      const oldDir = store.dir('0123456789abcdef');
      fs.mkdirSync(oldDir, { recursive: true });
      fs.writeFileSync(path.join(oldDir, 'config.json'), JSON.stringify(written));
      fs.writeFileSync(path.join(oldDir, 'result.json'), JSON.stringify({ versions: { 'coreface-lab': '0.1.0' } }));
      // and a current one
      const cur = resolveTrainConfig({ seed: 1 });
      fs.mkdirSync(store.dir(runKey(cur)), { recursive: true });
      fs.writeFileSync(path.join(store.dir(runKey(cur)), 'config.json'), JSON.stringify(cur));
      const stale = store.staleRuns();
      assert.deepEqual(stale, [{ key: '0123456789abcdef', currentKey: runKey(written), finished: true, version: '0.1.0' }]);
      const planned = { variant: 'arcface', seed: 0, key: runKey(written), config: resolveTrainConfig(written) } as PlannedRun;
      assert.equal(store.result(planned.key, planned.config), null, 'not reused');
      const notes = staleRunNotes(store, [planned], 'ablate');
      assert.match(notes[0], /holds 1 run folder\(s\) under keys of an older key scheme/);
      assert.ok(notes[0].includes(CODE_VERSION));
      assert.match(notes[1], /arcface seed 0: an old run with the same written config is runs\/0123456789abcdef \(0\.1\.0\); run [0-9a-f]{16} trains anew/);
      // once the current run has finished, the note says it is there instead
      fs.mkdirSync(store.dir(planned.key), { recursive: true });
      fs.writeFileSync(path.join(store.dir(planned.key), 'config.json'), JSON.stringify(planned.config));
      fs.writeFileSync(path.join(store.dir(planned.key), 'result.json'), JSON.stringify({ configHash: configHash(planned.config) }));
      assert.match(staleRunNotes(store, [planned], 'collect')[1], /\(0\.1\.0\); run [0-9a-f]{16} is in the store$/);
      fs.rmSync(oldDir, { recursive: true });
      assert.deepEqual(staleRunNotes(store, [planned], 'ablate'), []);
    } finally {
      fs.rmSync(root, { recursive: true, force: true });
    }
  });
});
