import { strict as assert } from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { createSynthFaces, heldOutPairsPerFold, resolveSynthFacesOptions, makeHeldOutSet, type ImageSet } from '../../src/data';
import { createHead, HEAD_WEIGHT_NAME } from '../../src/heads';
import { ParamStore } from '../../src/models';
import { fitSubset, headAccuracy, Trainer, type EpochRecord } from '../../src/train';
import { Rng } from '../../src/util/rng';

function bytes(a: Float32Array): Buffer {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength);
}

describe('train: fitting measurements (training accuracy, held-back verification, gap)', () => {
  it('heldOutPairsPerFold: the requested P, or what the smallest fold holds (by hand)', () => {
    // 500 identities x 4 images, 10 folds: 50 per fold, 50 * 6 = 300 same pairs, C(50,2) * 16 = 19600 different
    assert.equal(heldOutPairsPerFold(500, 4, 10, 300), 300);
    // 200 x 4: 20 per fold -> 120 same pairs
    assert.equal(heldOutPairsPerFold(200, 4, 10, 300), 120);
    // 25 x 2 with 10 folds: floor(2.5) = 2 per fold -> 2 same pairs, C(2,2) * 4 = 4 different -> 2
    assert.equal(heldOutPairsPerFold(25, 2, 10, 300), 2);
    assert.equal(heldOutPairsPerFold(19, 4, 10, 300), 0, 'one identity per fold has no different pair');
    assert.equal(heldOutPairsPerFold(500, 1, 10, 300), 0, 'one image per identity has no same pair');
  });

  it('makeHeldOutSet: identity-disjoint folds over training labels, P same then P different per fold', () => {
    const per = 3, ids = 40;
    const labels = Int32Array.from({ length: ids * per }, (_, i) => Math.floor(i / per));
    const set: ImageSet = { images: new Float32Array(labels.length), labels, count: labels.length, height: 1, width: 1, channels: 1 };
    const h = makeHeldOutSet(set, ids, per, { folds: 4, pairsPerFold: 100 }, new Rng('t'));
    const P = heldOutPairsPerFold(ids, per, 4, 100); // 10 per fold x 3 = 30 same pairs
    assert.equal(P, 30);
    assert.equal(h.pairs.left.length, 4 * 2 * P);
    const foldOf = new Map<number, number>();
    for (let i = 0; i < h.pairs.left.length; i++) {
      const k = Math.floor(i / (2 * P));
      assert.equal(h.pairs.fold[i], k);
      assert.equal(h.pairs.isSame[i], i % (2 * P) < P ? 1 : 0);
      const [a, b] = [labels[h.pairs.left[i]], labels[h.pairs.right[i]]];
      assert.equal(a === b, h.pairs.isSame[i] === 1);
      for (const id of [a, b]) {
        assert.ok(!foldOf.has(id) || foldOf.get(id) === k, `identity ${id} in two folds`);
        foldOf.set(id, k);
      }
    }
    assert.throws(() => makeHeldOutSet(set, ids, 1, { folds: 4, pairsPerFold: 10 }, new Rng('t')), /at least 2 images per identity/);
  });

  it('synthfaces: held-back images are the continuation of each training identity\'s image stream, and leave the training images unchanged', () => {
    const base = { trainIdentities: 20, testIdentities: 40, testImagesPerIdentity: 4, resolution: 16, pairsPerFold: 10, folds: 2 };
    const withHeld = createSynthFaces({ ...base, imagesPerIdentity: 3, heldOutPerIdentity: 2 });
    const without = createSynthFaces({ ...base, imagesPerIdentity: 3, heldOutPerIdentity: 0 });
    const longer = createSynthFaces({ ...base, imagesPerIdentity: 5, heldOutPerIdentity: 0 });
    assert.ok(bytes(withHeld.train.images).equals(bytes(without.train.images)), 'training images do not depend on heldOutPerIdentity');
    assert.ok(bytes(withHeld.test.images).equals(bytes(without.test.images)));
    assert.equal(without.heldOut, undefined);
    const h = withHeld.heldOut;
    assert.ok(h);
    assert.equal(h.set.count, 40);
    const px = 16 * 16 * 3;
    for (let id = 0; id < 20; id++) {
      for (let j = 0; j < 2; j++) {
        // held-back image j of identity id == training image 3 + j of the same identity when 5 are trained on
        const a = h.set.images.subarray((id * 2 + j) * px, (id * 2 + j + 1) * px);
        const b = longer.train.images.subarray((id * 5 + 3 + j) * px, (id * 5 + 4 + j) * px);
        assert.ok(bytes(a).equals(bytes(b)), `identity ${id} image ${j}`);
        assert.equal(h.set.labels[id * 2 + j], id);
      }
    }
    assert.deepEqual((withHeld.meta.counts as Record<string, number>).heldOutPairs, h.pairs.left.length);
    assert.throws(() => createSynthFaces({ ...base, heldOutPerIdentity: 1 }), /heldOutPerIdentity must be 0 \(none\) or >= 2/);
    assert.throws(() => createSynthFaces({ ...base, trainIdentities: 3, folds: 2, heldOutPerIdentity: 2 }), /needs at least 4 training identities/);
    // the default is 4, or 0 when the folds cannot hold two training identities each (an explicit value must fit)
    assert.equal(resolveSynthFacesOptions({ trainIdentities: 20, folds: 10 }).heldOutPerIdentity, 4);
    assert.equal(resolveSynthFacesOptions({ trainIdentities: 19, folds: 10 }).heldOutPerIdentity, 0);
  });

  it('fitSubset: everything up to the cap, else an even stride', () => {
    assert.deepEqual(Array.from(fitSubset(3, 5)), [0, 1, 2]);
    assert.deepEqual(Array.from(fitSubset(10, 4)), [0, 2, 5, 7]);
  });

  it('headAccuracy: argmax of the margin-free class scores, computed by hand; the head state is restored; no leak', () => {
    const store = new ParamStore({ seed: 1 });
    const head = createHead('curricularface', { store, numClasses: 3, embeddingDim: 2 });
    // class weights (columns) at angles 0, 120, 240 degrees
    const angles = [0, (2 * Math.PI) / 3, (4 * Math.PI) / 3];
    const w = store.trainable().get(HEAD_WEIGHT_NAME) as tf.Variable;
    w.assign(tf.tensor2d([angles.map(Math.cos), angles.map(Math.sin)]));
    // "images" are 1x1x2 and the embedding is the pixel pair itself
    const pts = [[1, 0.1], [-0.6, 0.9], [-0.5, -0.8], [0.9, -0.2], [-1, 0.05]];
    const labels = Int32Array.from([0, 1, 2, 1, 2]);
    // by hand: nearest class direction of each point: 0, 1, 2, 0, then (-1, 0.05) is at 177 deg -> class 1 (120) vs 2 (240): 57 vs 63 deg -> 1
    const byHand = [0, 1, 2, 0, 1];
    const expected = byHand.filter((c, i) => c === labels[i]).length / pts.length;
    const set: ImageSet = { images: Float32Array.from(pts.flat()), labels, count: 5, height: 1, width: 1, channels: 2 };
    const before = head.getState();
    const n0 = tf.memory().numTensors;
    const acc = headAccuracy((x) => tf.reshape(x, [x.shape[0], 2]) as tf.Tensor2D, head, set, Int32Array.from([0, 1, 2, 3, 4]), 2);
    assert.equal(tf.memory().numTensors, n0);
    assert.equal(acc, expected);
    assert.equal(acc, 3 / 5);
    assert.deepEqual(head.getState(), before, 'the running statistic of CurricularFace is not moved by measuring');
    store.dispose();
  });

  it('a run reports the fit per evaluated epoch and in result.json: gap = held-back minus test verification accuracy', function () {
    this.timeout(60000);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fit-'));
    try {
      const cfg = {
        dataset: { name: 'synthfaces', options: { trainIdentities: 24, imagesPerIdentity: 4, testIdentities: 40, testImagesPerIdentity: 4, resolution: 16, pairsPerFold: 10, folds: 4, heldOutPerIdentity: 3 } },
        training: { epochs: 2, batchSize: 16, evalEvery: 1 }, optimizer: { milestones: [1] }, head: { name: 'arcface', options: { scale: 16 } },
      };
      const n0 = tf.memory().numTensors;
      const trainer = new Trainer(cfg, { outDir: dir, progress: false });
      const r = trainer.run();
      trainer.dispose();
      assert.equal(tf.memory().numTensors, n0, 'no tensor leak over training and fit evaluation');
      assert.ok(r.fit && r.fit.heldOut);
      assert.equal(r.fit.trainImages, 96);
      assert.ok(r.fit.trainAccuracy >= 0 && r.fit.trainAccuracy <= 1);
      assert.equal(r.fit.heldOut.images, 72);
      assert.equal(r.fit.gap, r.fit.heldOut.accuracy - r.final.verification.accuracy);
      const epochs = fs.readFileSync(path.join(dir, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as EpochRecord).filter((l) => l.type === 'epoch');
      assert.equal(epochs.length, 2);
      for (const e of epochs) assert.ok(e.fit && typeof e.fit.gap === 'number', 'every evaluated epoch has its fit');
      assert.deepEqual(epochs[1].fit, r.fit);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
