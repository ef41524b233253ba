/**
 * The numerical guard end to end: a run that blows up stops with a NumericalError naming the step, the loss
 * terms and a hint; the last good checkpoint (an earlier epoch) stays, loads and holds finite numbers; resuming
 * behaves as the trainer intends (same config: accepted, and fails again at the same step, deterministically;
 * changed config: refused, the checkpoint belongs to its config hash).
 */
import { strict as assert } from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import { Trainer, NumericalError } from '../../src/train';
import { createDataset } from '../../src/data';
import type { FaceBenchmark } from '../../src/data/types';
import { main } from '../../src/cli/main';
import { TINY_CONFIG, TINY_DATA, tmpDir, writeJson, checkCheckpoint, stepRecords } from './helpers';

/** CoReFace from epoch index 1 with an absurd contrastive weight: epoch 0 is fine, epoch 1 step 0 explodes. */
const EXPLODES_IN_EPOCH_2 = { ...TINY_CONFIG, coreface: { ...TINY_CONFIG.coreface, wC: 1e30 } };

function expectNumerical(fn: () => unknown): NumericalError {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof NumericalError, `NumericalError expected, got ${(e as Error).constructor.name}: ${(e as Error).message}`);
    return e;
  }
  assert.fail('no NumericalError');
}

describe('reliability: numerical guard, last good checkpoint and resume', function () {
  this.timeout(120000);
  const tmp = tmpDir('numerical');
  let bench: FaceBenchmark;
  before(() => {
    bench = createDataset('synthfaces', TINY_DATA);
  });
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  const dir = path.join(tmp, 'blowup');
  let first: NumericalError;

  it('an explosion in epoch 2 stops with the step, the loss terms and a hint; the epoch-1 checkpoint stays good', () => {
    const t = new Trainer(EXPLODES_IN_EPOCH_2, { benchmark: bench, outDir: dir, progress: false });
    first = expectNumerical(() => t.run());
    t.dispose();
    const m = first.message;
    assert.match(m, /^non-finite (loss|gradient norm) at epoch 1 step 0 \(global step 6\): /);
    assert.match(m, /terms \{"ce1":[-\d.e+]+,"ce2":[-\d.e+]+,"con12":[-\d.e+]+,"con21":[-\d.e+]+\}/);
    assert.match(m, /Hint: lower optimizer\.lr/);
    assert.ok(m.includes(`Last good checkpoint: ${path.join(dir, 'checkpoint.ckpt')}`), m);
    assert.equal(first.record.globalStep, 6);
    assert.equal(first.record.views, 2);
    const h = checkCheckpoint(dir); // loads, every value finite
    assert.ok(h);
    assert.equal(h.epochsDone, 1);
    assert.equal(h.globalStep, 6);
    assert.ok(!fs.existsSync(path.join(dir, 'result.json')));
    assert.deepEqual(stepRecords(dir).map((s) => s.globalStep), [0, 1, 2, 3, 4, 5], 'the failed step is not logged');
    console.log(`      ${m.slice(0, 160)}...`);
  });

  it('resuming with the same config is accepted and fails again at the same step (deterministic)', () => {
    const before = fs.readFileSync(path.join(dir, 'checkpoint.ckpt'));
    const t = new Trainer(EXPLODES_IN_EPOCH_2, { benchmark: bench, outDir: dir, resume: true, progress: false });
    assert.equal(t.completedEpochs, 1);
    const again = expectNumerical(() => t.run());
    t.dispose();
    assert.deepEqual(again.record, { ...first.record, imgPerSec: again.record.imgPerSec });
    assert.ok(fs.readFileSync(path.join(dir, 'checkpoint.ckpt')).equals(before), 'the good checkpoint is left as it was');
  });

  it('resuming with a sane config is refused: a checkpoint belongs to its config hash', () => {
    assert.throws(
      () => new Trainer(TINY_CONFIG, { benchmark: bench, outDir: dir, resume: true, progress: false }),
      /checkpoint\.ckpt was written by a different config \(hash [0-9a-f]{12}, this run [0-9a-f]{12}\); use another output directory or drop --resume/,
    );
  });

  it('the CLI exits 3 with one `coreface: training stopped: ...` line (absurd lr, epoch 1: no checkpoint yet)', async () => {
    const cfg = writeJson(path.join(tmp, 'lr.json'), { ...TINY_CONFIG, optimizer: { ...TINY_CONFIG.optimizer, lr: 1e6, warmupEpochs: 0 } });
    let err = '';
    const write = process.stderr.write;
    process.stderr.write = ((chunk: string | Uint8Array) => { err += chunk.toString(); return true; }) as typeof process.stderr.write;
    let code: number;
    try {
      code = await main(['train', '--config', cfg, '--out', path.join(tmp, 'lr')]);
    } finally {
      process.stderr.write = write;
    }
    assert.equal(code, 3, err);
    const lines = err.split('\n').filter((l) => l.startsWith('coreface: '));
    assert.equal(lines.length, 1, err);
    assert.match(lines[0], /^coreface: training stopped: non-finite \S+( norm)? at epoch 0 step \d+ \(global step \d+\): .*Hint: .*Last good checkpoint: none written yet$/);
  });

  for (const evalEvery of [0, 1]) {
    it(`weights that overflow without a non-finite loss are caught before the epoch's ${evalEvery ? 'evaluation' : 'checkpoint'} (evalEvery ${evalEvery})`, () => {
      // One step per epoch and lr 3e38: the update itself overflows some head weights; the loss stays finite
      // (the head clips its cosines), so only a check of the weights can stop the run before it evaluates
      // NaN embeddings (a plain Error from l2Normalize before) or checkpoints them as the "last good" one.
      const d = path.join(tmp, `overflow-${evalEvery}`);
      const cfg = {
        ...TINY_CONFIG, coreface: { enabled: false }, dataset: { name: 'synthfaces', options: { ...TINY_DATA, trainIdentities: 4, imagesPerIdentity: 4 } },
        optimizer: { lr: 3e38, milestones: [2] }, training: { ...TINY_CONFIG.training, evalEvery },
      };
      const t = new Trainer(cfg, { outDir: d, progress: false });
      const e = expectNumerical(() => t.run());
      t.dispose();
      assert.match(e.message, /non-finite .* at epoch 0 step 0 \(global step 0\)/);
      const h = checkCheckpoint(d); // none, or one with finite numbers only
      assert.ok(h === null || h.epochsDone === 0, 'no checkpoint of the overflowed weights');
      assert.match(e.message, /Last good checkpoint: none written yet/);
    });
  }
});
