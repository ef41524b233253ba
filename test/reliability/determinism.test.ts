/**
 * Determinism across processes: the same config and seed give the same result.json, metrics and checkpoint
 * bytes for bytes (same backend); another seed gives other numbers; result.json records what is needed to
 * reproduce it (seed, resolved config and its hash, backend, versions).
 */
import { strict as assert } from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { configHash, resolveTrainConfig } from '../../src/config';
import { loadCheckpoint } from '../../src/train/checkpoint';
import type { RunResult } from '../../src/train';
import {
  TINY_CONFIG, DIST_MAIN, ROOT, tmpDir, writeJson, distIsStale, runTrain, readResult, clockFree, stepRecords, clockFreeSteps,
} from './helpers';

describe('reliability: determinism of whole runs across processes', function () {
  this.timeout(120000);
  const tmp = tmpDir('determinism');
  const runs: Record<string, RunResult> = {};

  before(async function () {
    if (!fs.existsSync(DIST_MAIN)) this.skip();
    if (distIsStale()) console.log('      WARNING: dist/ is older than src/; the child processes run the old build (npm run build)');
    const t0 = Date.now();
    for (const [name, seed] of [['a', 7], ['b', 7], ['c', 8]] as const) {
      const cfg = writeJson(path.join(tmp, `${name}.json`), { ...TINY_CONFIG, seed });
      const r = await runTrain(cfg, path.join(tmp, name));
      assert.equal(r.code, 0, r.stderr);
      runs[name] = readResult(path.join(tmp, name));
    }
    console.log(`      3 runs in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  });
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it('same config and seed: identical result.json (but the clock), metrics and checkpoint bytes', () => {
    assert.deepEqual(clockFree(runs.b), clockFree(runs.a));
    assert.deepEqual(clockFreeSteps(stepRecords(path.join(tmp, 'b'))), clockFreeSteps(stepRecords(path.join(tmp, 'a'))));
    const ca = loadCheckpoint(path.join(tmp, 'a', 'checkpoint.ckpt'));
    const cb = loadCheckpoint(path.join(tmp, 'b', 'checkpoint.ckpt'));
    assert.deepEqual(cb.tensors.map((t) => t.name), ca.tensors.map((t) => t.name));
    for (let i = 0; i < ca.tensors.length; i++) {
      assert.ok(Buffer.from(ca.tensors[i].data.buffer, ca.tensors[i].data.byteOffset, ca.tensors[i].data.byteLength)
        .equals(Buffer.from(cb.tensors[i].data.buffer, cb.tensors[i].data.byteOffset, cb.tensors[i].data.byteLength)), `tensor ${ca.tensors[i].name} bitwise equal`);
    }
  });

  it('another seed: other losses and other metrics', () => {
    const a = runs.a, c = runs.c;
    assert.notEqual(c.finalLoss, a.finalLoss);
    assert.notDeepEqual(c.epochs.map((e) => e.meanLoss), a.epochs.map((e) => e.meanLoss));
    assert.notDeepEqual(c.final, a.final);
    assert.notEqual(c.configHash, a.configHash, 'the seed is part of the config hash');
  });

  it('result.json records seed, resolved config and hash, backend and versions', () => {
    const r = runs.a;
    const resolved = resolveTrainConfig(TINY_CONFIG);
    assert.equal(r.seed, 7);
    assert.deepEqual(r.config, resolved);
    assert.equal(r.configHash, configHash(resolved));
    assert.deepEqual(JSON.parse(fs.readFileSync(path.join(tmp, 'a', 'config.json'), 'utf8')), resolved);
    assert.equal(r.backend, process.env.COREFACE_BACKEND?.trim() || 'wasm');
    const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string };
    assert.equal(r.versions['coreface-lab'], pkg.version);
    assert.equal(r.versions.tfjs, tf.version.tfjs);
    assert.equal(r.versions.node, process.version);
    // The backend package's version and build (wasm SIMD / threads) decide the last bits of every number:
    // "same result on the same backend" needs them recorded (proposed trainer change, see the report).
    const key = `backend:${r.backend}`;
    assert.ok(typeof r.versions[key] === 'string' && /\d+\.\d+\.\d+/.test(r.versions[key]), `versions['${key}'] records the backend version (${JSON.stringify(r.versions)})`);
    assert.equal(r.steps, 18);
    assert.ok(Number.isFinite(r.finalLoss));
  });
});
