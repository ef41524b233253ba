/**
 * Crash-safe resume under SIGKILL: `coreface train --resume` is killed at several points of a tiny CoReFace run
 * and resumed until it finishes; the final result.json and every step record must equal those of an
 * uninterrupted run exactly (same backend), no kill may leave a result.json behind, and checkpoint.ckpt must
 * always load completely (atomic writes: never a partial file).
 */
import { strict as assert } from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import {
  TINY_CONFIG, TINY_EPOCHS, TINY_STEPS_PER_EPOCH, DIST_MAIN, tmpDir, writeJson, distIsStale, runTrain, KillTrigger,
  checkCheckpoint, readResult, assertSameResult, stepRecords, readMetrics, clockFreeSteps, ChildOutcome,
} from './helpers';
import type { RunResult, StepRecord, EpochRecord } from '../../src/train';

const TOTAL_STEPS = TINY_EPOCHS * TINY_STEPS_PER_EPOCH;

/** SIGKILL right after the first progress line (step 1 of epoch 1) reaches stderr. */
const afterFirstProgressLine: () => KillTrigger = () => ({ stderr }) => new RegExp(`tiny-rel 1/${TOTAL_STEPS} \\(`).test(stderr);

/** SIGKILL once step 3 of 6 of the second epoch (the first two-view epoch) is in metrics.jsonl. */
const midEpoch2: () => KillTrigger = () => ({ dir, file }) =>
  (file === undefined || file === 'metrics.jsonl') && stepRecords(dir).some((r) => r.epoch === 1 && r.step >= 2);

function inode(file: string): number | null {
  try {
    return fs.statSync(file).ino;
  } catch {
    return null;
  }
}

/** SIGKILL as soon as checkpoint.ckpt is replaced by a new one (rename = new inode). */
const afterCheckpointWrite: () => KillTrigger = () => {
  let first: number | null | undefined;
  return ({ dir }) => {
    const ino = inode(path.join(dir, 'checkpoint.ckpt'));
    if (first === undefined) first = ino;
    return ino !== null && ino !== first;
  };
};

/** SIGKILL while the temporary file of a checkpoint write exists (between open and rename), if caught in time. */
const duringCheckpointWrite: () => KillTrigger = () => ({ dir, file }) =>
  (file ?? '').startsWith('.checkpoint.ckpt.tmp-') || fs.readdirSync(dir).some((f) => f.startsWith('.checkpoint.ckpt.tmp-'));

interface Scenario {
  name: string;
  /** One trigger per interrupted attempt, in order; a final uninterrupted --resume attempt follows. */
  kills: (() => KillTrigger)[];
}

const SCENARIOS: Scenario[] = [
  { name: 'after the first progress line of epoch 1 (no checkpoint yet)', kills: [afterFirstProgressLine] },
  { name: 'mid-epoch 2 (first two-view epoch, checkpoint of epoch 1 on disk)', kills: [midEpoch2] },
  { name: 'right after the checkpoint writes of epoch 1 and, resumed, of epoch 2', kills: [afterCheckpointWrite, afterCheckpointWrite] },
  { name: 'during a checkpoint write (temp file present)', kills: [duringCheckpointWrite] },
];

describe('reliability: SIGKILL and --resume give the uninterrupted result exactly', function () {
  this.timeout(240000);
  const tmp = tmpDir('kill');
  const cfgFile = writeJson(path.join(tmp, 'tiny.json'), TINY_CONFIG);
  let ref: RunResult;
  let refSteps: StepRecord[];
  const t0 = Date.now();

  before(async function () {
    if (!fs.existsSync(DIST_MAIN)) this.skip(); // the child processes run dist/: `npm run build` (npm test does)
    if (distIsStale()) console.log('      WARNING: dist/ is older than src/; the child processes run the old build (npm run build)');
    const dir = path.join(tmp, 'ref');
    const r = await runTrain(cfgFile, dir);
    assert.equal(r.code, 0, r.stderr);
    ref = readResult(dir);
    refSteps = stepRecords(dir);
    assert.equal(refSteps.length, TOTAL_STEPS);
    assert.ok(refSteps.some((s) => s.views === 2 && s.margin !== null && s.margin !== 0), 'the two-view path and the adaptive margin are exercised');
    console.log(`      uninterrupted run: ${r.ms} ms, verification ${ref.final.verification.accuracy}, rank-1 ${ref.final.identification.rank1}, final loss ${ref.finalLoss}`);
  });
  after(() => {
    console.log(`      whole file: ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  /** Checks the state a kill left and describes where it hit. */
  function afterKill(dir: string, r: ChildOutcome, attempt: number): string {
    assert.ok(r.killed, `attempt ${attempt}: the trigger never fired (exit ${r.code}); stderr: ${r.stderr}`);
    assert.equal(r.signal, 'SIGKILL', `attempt ${attempt}: killed by SIGKILL (exit ${r.code}, signal ${r.signal}); stderr: ${r.stderr}`);
    assert.ok(!r.sawResultBeforeKill, 'no result.json while the run was incomplete');
    assert.ok(!fs.existsSync(path.join(dir, 'result.json')), 'a killed run leaves no result.json');
    const header = checkCheckpoint(dir); // loads completely, every value finite
    const lines = readMetrics(dir);
    const steps = lines.filter((l): l is StepRecord => l !== null && l.type === 'step');
    const last = steps[steps.length - 1];
    const temps = fs.readdirSync(dir).filter((f) => f.includes('.tmp-'));
    return `killed after ${r.ms} ms at global step ${last ? last.globalStep + 1 : 0}/${TOTAL_STEPS} (epoch ${last ? last.epoch + 1 : 1}); ` +
      `checkpoint: ${header ? `epochsDone ${header.epochsDone}, globalStep ${header.globalStep}, loads` : 'none'}; ` +
      `${lines.filter((l) => l === null).length} cut metrics line(s); ${temps.length} temp file(s) left`;
  }

  for (const sc of SCENARIOS) {
    it(`killed ${sc.name}`, async () => {
      const dir = path.join(tmp, sc.name.replace(/\W+/g, '-').slice(0, 40));
      for (let i = 0; i < sc.kills.length; i++) {
        const r = await runTrain(cfgFile, dir, sc.kills[i]());
        console.log(`      attempt ${i + 1}: ${afterKill(dir, r, i + 1)}`);
      }
      const before = checkCheckpoint(dir);
      const fin = await runTrain(cfgFile, dir);
      assert.equal(fin.code, 0, fin.stderr);
      if (before) assert.match(fin.stderr, new RegExp(`resumed from .*checkpoint\\.ckpt after epoch ${before.epochsDone}`));
      console.log(`      resumed to the end in ${fin.ms} ms${before ? ` from epoch ${before.epochsDone}` : ' from scratch'}`);
      assertSameResult(readResult(dir), ref, sc.name);
      assert.deepEqual(clockFreeSteps(stepRecords(dir)), clockFreeSteps(refSteps), 'metrics.jsonl: every step once, equal to the uninterrupted run');
      const epochs = readMetrics(dir).filter((l): l is EpochRecord => l !== null && l.type === 'epoch').map((e) => e.epoch);
      assert.deepEqual(epochs, [0, 1, 2], 'metrics.jsonl: every epoch once');
      assert.equal(checkCheckpoint(dir)?.epochsDone, TINY_EPOCHS);
      assert.deepEqual(fs.readdirSync(dir).filter((f) => f.includes('.tmp-')), [], 'temp files of killed writes are cleaned up by the next writes');
    });
  }

  it('killed between the final checkpoint and result.json (state reproduced: result.json removed)', async () => {
    // The window between the two renames is a few milliseconds; the state it leaves is reproduced exactly by a
    // finished run whose result.json is removed.
    const dir = path.join(tmp, 'final');
    fs.cpSync(path.join(tmp, 'ref'), dir, { recursive: true });
    fs.rmSync(path.join(dir, 'result.json'));
    const fin = await runTrain(cfgFile, dir);
    assert.equal(fin.code, 0, fin.stderr);
    assert.match(fin.stderr, new RegExp(`after epoch ${TINY_EPOCHS}`));
    assertSameResult(readResult(dir), ref, 'resumed after the last epoch');
  });
});
