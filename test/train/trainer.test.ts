import { strict as assert } from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { Trainer, NumericalError, StepRecord } from '../../src/train';
import { createDataset } from '../../src/data';
import type { FaceBenchmark } from '../../src/data/types';

/** A benchmark small enough for seconds-long runs: 16 train identities, 30 test identities, 16x16 grey. */
const TINY_DATA = { trainIdentities: 16, imagesPerIdentity: 12, testIdentities: 30, testImagesPerIdentity: 4, pairsPerFold: 10, resolution: 16, channels: 1, nuisance: 0.6 };
const TINY = {
  dataset: { name: 'synthfaces', options: TINY_DATA },
  model: { backbone: 'iresnet-tiny', embeddingDim: 32 },
  head: { name: 'arcface', options: { scale: 16, margin: 0.2 } },
  training: { epochs: 6, batchSize: 32, evalEvery: 0 },
  optimizer: { lr: 0.05, milestones: [4] },
};

describe('train: Trainer', function () {
  this.timeout(300000);
  let bench: FaceBenchmark;
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'coreface-trainer-'));
  before(() => {
    bench = createDataset('synthfaces', TINY_DATA);
  });
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it('a tiny end-to-end ArcFace run clearly beats chance and the untrained model', () => {
    const t = new Trainer(TINY, { benchmark: bench, progress: false });
    const untrained = t.evaluate().verification.accuracy;
    const r = t.run();
    t.dispose();
    const acc = r.final.verification.accuracy;
    assert.ok(acc > 0.75, `verification accuracy ${acc} (chance 0.5)`);
    console.log(`      untrained ${untrained}, trained ${acc}`);
    assert.ok(acc > untrained + 0.05, `trained ${acc} vs untrained ${untrained}`);
    assert.ok(r.epochs[r.epochs.length - 1].meanAccuracy > 0.8, 'training accuracy');
    assert.ok(r.epochs[r.epochs.length - 1].meanLoss < r.epochs[0].meanLoss / 3, 'loss falls');
    assert.ok(r.final.identification.rank1 > 0.3, `rank-1 ${r.final.identification.rank1} (chance ~${(1 / bench.identification.gallery.length).toFixed(3)})`);
  });

  it('is deterministic for a seed and differs across seeds', () => {
    const cfg = { ...TINY, training: { ...TINY.training, epochs: 1 } };
    const run = (seed: number): number[] => {
      const losses: number[] = [];
      const t = new Trainer({ ...cfg, seed }, { benchmark: bench, progress: false, onStep: (r) => losses.push(r.loss) });
      const res = t.run();
      t.dispose();
      return [...losses, res.final.verification.accuracy];
    };
    const a = run(3), b = run(3), c = run(4);
    assert.deepEqual(a, b);
    assert.notDeepEqual(a, c);
  });

  it('CoReFace phase: two views, contrastive terms and the adaptive margin from startEpoch on', () => {
    const recs: StepRecord[] = [];
    const cfg = {
      ...TINY,
      training: { ...TINY.training, epochs: 2, sampler: 'identity-balanced', samplesPerIdentity: 4 },
      optimizer: { lr: 0.05, milestones: [1] },
      coreface: { enabled: true, startEpoch: 1, scale: 16, wC2: 0.05 },
      dropout: { before: 0.4, after: 0.6 },
    };
    const t = new Trainer(cfg, { benchmark: bench, progress: false, onStep: (r) => recs.push(r) });
    t.run();
    t.dispose();
    const first = recs.filter((r) => r.epoch === 0), second = recs.filter((r) => r.epoch === 1);
    assert.ok(first.every((r) => r.views === 1 && r.dropout === 0.4 && r.margin === null && 'ce' in r.terms));
    assert.ok(second.every((r) => r.views === 2 && r.dropout === 0.6 && typeof r.margin === 'number'));
    for (const r of second) {
      const want = 0.5 * r.terms.ce1 + 0.5 * r.terms.ce2 + 0.05 * r.terms.con12 + 0.05 * r.terms.con21;
      assert.ok(Math.abs(r.loss - want) < 1e-3 * Math.max(1, Math.abs(want)), `total ${r.loss} vs ${want}`);
    }
    assert.ok(second.some((r) => r.margin !== 0), 'the adaptive margin moved');
  });

  it('does not leak tensors over training steps', () => {
    const t = new Trainer({ ...TINY, coreface: { enabled: true, startEpoch: 1 }, training: { ...TINY.training, epochs: 2 } }, { benchmark: bench, progress: false });
    const idx = Int32Array.from({ length: 32 }, (_, i) => i);
    t.step(idx, 0, 0); // creates the optimizer's velocity buffers
    t.step(idx, 1, 0);
    const before = tf.memory().numTensors;
    for (let i = 1; i < 4; i++) {
      t.step(idx, 0, i);
      t.step(idx, 1, i);
    }
    assert.equal(tf.memory().numTensors, before);
    t.dispose();
  });

  it('resumes after an interruption to the same final metrics as an uninterrupted run', () => {
    const cfg = { ...TINY, training: { ...TINY.training, epochs: 3 }, optimizer: { lr: 0.05, milestones: [2] }, coreface: { enabled: true, startEpoch: 1, scale: 16 }, dropout: { before: 0.4, after: 0.6 } };
    const straight = new Trainer(cfg, { benchmark: bench, progress: false, outDir: path.join(tmp, 'a') });
    const ra = straight.run();
    straight.dispose();
    const dir = path.join(tmp, 'b');
    const broken = new Trainer(cfg, { benchmark: bench, progress: false, outDir: dir, maxSteps: 2 * broken_steps(bench) + 2 });
    assert.throws(() => broken.run(), /stopped after maxSteps/);
    broken.dispose();
    assert.ok(!fs.existsSync(path.join(dir, 'result.json')), 'an interrupted run has no result');
    const resumed = new Trainer(cfg, { benchmark: bench, progress: false, outDir: dir, resume: true });
    assert.equal(resumed.completedEpochs, 2);
    const rb = resumed.run();
    resumed.dispose();
    assert.equal(rb.final.verification.accuracy, ra.final.verification.accuracy);
    assert.equal(rb.finalLoss, ra.finalLoss);
    assert.deepEqual(rb.final.verification.foldAccuracies, ra.final.verification.foldAccuracies);
    const lines = fs.readFileSync(path.join(dir, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { type: string; globalStep: number });
    const steps = lines.filter((l) => l.type === 'step').map((l) => l.globalStep);
    assert.equal(new Set(steps).size, steps.length, 'no duplicated metric lines after resume');
  });

  it('refuses to resume from a checkpoint of another config', () => {
    const dir = path.join(tmp, 'a');
    assert.throws(() => new Trainer({ ...TINY, seed: 9, training: { ...TINY.training, epochs: 3 }, optimizer: { lr: 0.05, milestones: [2] } }, { benchmark: bench, outDir: dir, resume: true }), /written by a different config/);
  });

  it('stops on a non-finite loss with the step, the terms and a hint, keeping the last checkpoint', () => {
    const dir = path.join(tmp, 'nan');
    const cfg = { ...TINY, training: { ...TINY.training, epochs: 2, checkpointEvery: 1 } };
    const poisoned: FaceBenchmark = { ...bench, train: { ...bench.train, images: bench.train.images.slice() } };
    // Poison every image of identity 3: the first batch that contains one gives a NaN loss.
    const pix = 16 * 16;
    for (let i = 0; i < poisoned.train.count; i++) if (poisoned.train.labels[i] === 3) poisoned.train.images.fill(NaN, i * pix, (i + 1) * pix);
    const t = new Trainer(cfg, { benchmark: poisoned, progress: false, outDir: dir });
    assert.throws(() => t.run(), (e: unknown) => {
      assert.ok(e instanceof NumericalError);
      assert.match((e as Error).message, /non-finite (loss|gradient norm) at epoch 0 step \d+ \(global step \d+\): loss \S+, terms \{"ce":\S+\}, lr 0\.05\. Hint: lower optimizer\.lr.*Last good checkpoint: none written yet/);
      return true;
    });
    t.dispose();
  });

  it('explains bad inputs: empty set, labels out of range, too few images, too-small resolution', () => {
    const empty: FaceBenchmark = { ...bench, train: { ...bench.train, count: 0, images: new Float32Array(0), labels: new Int32Array(0) } };
    assert.throws(() => new Trainer(TINY, { benchmark: empty }), /empty training set/);
    const badLabels: FaceBenchmark = { ...bench, train: { ...bench.train, labels: bench.train.labels.map((l, i) => (i === 5 ? 99 : l)) } };
    assert.throws(() => new Trainer(TINY, { benchmark: badLabels }), /training label 99 at index 5 is outside \[0, 16\)/);
    assert.throws(() => new Trainer({ ...TINY, training: { ...TINY.training, batchSize: 512 } }, { benchmark: bench }), /192 training images, fewer than one batch \(config\.training\.batchSize = 512\)/);
    const deep = { backbone: 'iresnet-tiny', backboneOptions: { depths: [1, 1, 1, 1, 1], widths: [8, 8, 8, 8, 8] } };
    assert.throws(() => new Trainer({ ...TINY, model: deep }, { benchmark: bench }), /resolution 16 too small for \d+ stride-2 stages: needs >= \d+/);
    assert.throws(() => new Trainer({ ...TINY, head: { name: 'arcfase' } }, { benchmark: bench }), /arcfase/);
  });
});

function broken_steps(b: FaceBenchmark): number {
  return Math.floor(b.train.count / 32);
}
