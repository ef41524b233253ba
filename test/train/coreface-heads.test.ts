import { strict as assert } from 'assert';
import * as tf from '@tensorflow/tfjs';
import { Trainer } from '../../src/train';
import { createDataset } from '../../src/data';
import { listHeads } from '../../src/heads';
import type { FaceBenchmark } from '../../src/data/types';

// Every registered head must work as the base head of CoReFace (both views) through configuration only.
describe('train: every head as the base head of CoReFace', function () {
  this.timeout(300000);
  let bench: FaceBenchmark;
  before(() => {
    bench = createDataset('synthfaces', { trainIdentities: 8, imagesPerIdentity: 8, testIdentities: 30, testImagesPerIdentity: 4, pairsPerFold: 10, resolution: 16, channels: 1 });
  });

  for (const { name: head } of listHeads()) {
    it(`${head}: two-view steps with the contrastive term give finite losses and move the margin, no leak`, () => {
      const t = new Trainer(
        {
          head: { name: head },
          model: { backbone: 'iresnet-nano', embeddingDim: 16 },
          training: { epochs: 2, batchSize: 16, sampler: 'identity-balanced', samplesPerIdentity: 2 },
          optimizer: { lr: 0.01, milestones: [1] },
          coreface: { enabled: true, startEpoch: 0 },
          dropout: { before: 0.4, after: 0.6 },
        },
        { benchmark: bench, progress: false },
      );
      const idx = Int32Array.from({ length: 16 }, (_, i) => i);
      const first = t.step(idx, 0, 0);
      const before = tf.memory().numTensors;
      const second = t.step(idx, 0, 1);
      assert.equal(tf.memory().numTensors, before, 'tensor leak');
      for (const r of [first, second]) {
        assert.equal(r.views, 2);
        assert.ok(Number.isFinite(r.loss), `loss ${r.loss}`);
        for (const [k, v] of Object.entries(r.terms)) assert.ok(Number.isFinite(v), `${k} = ${v}`);
        assert.ok(Number.isFinite(r.gradNorm) && r.gradNorm > 0, `grad norm ${r.gradNorm}`);
      }
      assert.notEqual(second.margin, 0);
      t.dispose();
    });
  }
});
