import { strict as assert } from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Trainer, embedImageSet } from '../../src/train';
import { CheckpointEmbedder, embedImages, evaluateVerificationSet, loadCheckpointEmbedder, loadEmbedder } from '../../src/embedders';

/** A benchmark small enough for seconds-long runs: 16 train identities, 30 test identities, 16x16 grey. */
const TINY = {
  name: 'tiny-embedder',
  dataset: { name: 'synthfaces', options: { trainIdentities: 16, imagesPerIdentity: 12, testIdentities: 30, testImagesPerIdentity: 4, pairsPerFold: 10, resolution: 16, channels: 1, nuisance: 0.6 } },
  model: { backbone: 'iresnet-tiny', embeddingDim: 32 },
  head: { name: 'arcface', options: { scale: 16, margin: 0.2 } },
  training: { epochs: 2, batchSize: 32, evalEvery: 0 },
  optimizer: { lr: 0.05, milestones: [1] },
};

describe('embedders: checkpoint embedder', function () {
  this.timeout(300000);
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'coreface-ckpt-emb-'));
  let trainer: Trainer;
  before(() => {
    trainer = new Trainer(TINY, { outDir: tmp, progress: false });
    trainer.run();
  });
  after(() => {
    trainer.dispose();
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('loads a run directory with the trained shape; its embeddings equal the Trainer evaluation path', async () => {
    const before = fs.readdirSync(tmp).map((f) => [f, fs.statSync(path.join(tmp, f)).mtimeMs]);
    const e = await loadCheckpointEmbedder(tmp);
    try {
      assert.ok(e instanceof CheckpointEmbedder);
      assert.deepEqual([e.name, e.inputSize, e.channels, e.embeddingDim, e.epochs], [`checkpoint:${tmp}`, 16, 1, 32, 2]);
      const test = trainer.benchmark.test;
      const ours = await embedImages(e, test);
      const ref = embedImageSet((x) => trainer.model.embed(x, { training: false }), test);
      assert.equal(ours.dim, ref.dim);
      assert.equal(ours.embeddings.length, ref.embeddings.length);
      let maxDiff = 0;
      for (let k = 0; k < ref.embeddings.length; k++) maxDiff = Math.max(maxDiff, Math.abs(ours.embeddings[k] - ref.embeddings[k]));
      assert.ok(maxDiff < 1e-5, `max |difference| ${maxDiff}`);
      // the same verification numbers as the Trainer's own evaluation of its benchmark
      const r = await evaluateVerificationSet(e, { name: 'synthfaces test', images: test, pairs: trainer.benchmark.pairs });
      const t = trainer.evaluate().verification;
      assert.equal(r.data.folds, 10);
      assert.ok(Math.abs(r.verification.accuracy - t.accuracy) < 1e-9, `${r.verification.accuracy} vs ${t.accuracy}`);
      assert.ok(Math.abs(r.verification.auc - t.auc) < 1e-3, `${r.verification.auc} vs ${t.auc}`);
      assert.ok(Math.abs(r.verification.eer - t.eer) < 1e-3);
      assert.ok(r.verification.accuracy > 0.6, `accuracy ${r.verification.accuracy}`);
      // raw embed() = the model's inference output
      const raw = await e.embed(test.images.subarray(0, 2 * 16 * 16), 2);
      assert.equal(raw.length, 64);
    } finally {
      e.dispose();
    }
    e.dispose(); // idempotent
    await assert.rejects(() => e.embed(new Float32Array(256), 1), /after dispose/);
    // loading never writes to the run directory
    assert.deepEqual(fs.readdirSync(tmp).map((f) => [f, fs.statSync(path.join(tmp, f)).mtimeMs]), before);
  });

  it('loadEmbedder takes a run directory; a missing or damaged checkpoint names the file', async () => {
    const e = await loadEmbedder(tmp, { batchSize: 7 });
    assert.equal(e.embeddingDim, 32);
    e.dispose();
    const empty = fs.mkdtempSync(path.join(os.tmpdir(), 'coreface-ckpt-emb-empty-'));
    try {
      await assert.rejects(() => loadCheckpointEmbedder(empty), /checkpoint not found: .*checkpoint\.ckpt/);
      fs.writeFileSync(path.join(empty, 'checkpoint.ckpt'), 'not a checkpoint');
      await assert.rejects(() => loadCheckpointEmbedder(empty), /is not a coreface checkpoint/);
    } finally {
      fs.rmSync(empty, { recursive: true, force: true });
    }
  });
});
