import { strict as assert } from 'assert';
import * as path from 'path';
import { readVerificationBin } from '../../src/data/readers';
import type { VerificationSet } from '../../src/data/readers';
import { eer, pairCosineScores, rocAuc, tarAtFarLevels, verificationAccuracy } from '../../src/eval';
import {
  adaptImages, checkEmbedInput, Embedder, embedImages, evaluateVerificationSet, flipImagesHorizontal,
} from '../../src/embedders';

const BIN = path.join(__dirname, '..', 'fixtures', 'readers', 'bin', 'pairs_p3.bin');

/**
 * A hand-checkable embedder: image -> [mean pixel, 1]. A horizontal mirror has the same mean, so flip fusion
 * gives the same direction. Records what it was given.
 */
class MeanPixelEmbedder implements Embedder {
  readonly name = 'mean-pixel';
  readonly embeddingDim = 2;
  calls: { images: Float32Array; count: number }[] = [];
  constructor(readonly inputSize: number, readonly channels: 1 | 3) {}
  async embed(images: Float32Array, count: number): Promise<Float32Array> {
    checkEmbedInput(this, images, count);
    this.calls.push({ images: images.slice(), count });
    const pix = images.length / Math.max(count, 1);
    const out = new Float32Array(count * 2);
    for (let i = 0; i < count; i++) {
      let s = 0;
      for (let k = i * pix; k < (i + 1) * pix; k++) s += images[k];
      out[2 * i] = s / pix;
      out[2 * i + 1] = 1;
    }
    return out;
  }
  dispose(): void {}
}

describe('embedders: evaluateVerificationSet', function () {
  this.timeout(120000);
  let set: VerificationSet;
  before(async () => {
    // 10 pairs of 8x8 JPEGs, same for even pairs (test/fixtures/readers/README.md)
    set = await readVerificationBin(BIN, { size: 8, channels: 3, log: null });
  });

  it('computes the project verification metrics on the .bin fixture (mean-pixel embedder)', async () => {
    const e = new MeanPixelEmbedder(8, 3);
    const report = await evaluateVerificationSet(e, set);
    // the reference: the same embeddings and the project's metric functions, computed directly
    const n = set.images.count, pix = 8 * 8 * 3;
    const emb = new Float32Array(n * 2);
    for (let i = 0; i < n; i++) {
      let s = 0;
      for (let k = i * pix; k < (i + 1) * pix; k++) s += set.images.images[k];
      emb[2 * i] = s / pix;
      emb[2 * i + 1] = 1;
    }
    const { left, right, isSame } = set.pairs;
    const scores = pairCosineScores(emb, n, 2, left, right);
    const acc = verificationAccuracy(scores, isSame, { folds: 10 });
    assert.deepEqual(report.data, {
      name: BIN, images: 20, imageShape: [8, 8, 3], adapted: false, pairs: 10, genuinePairs: 5, impostorPairs: 5,
      folds: 10, droppedPairs: 0, skippedImages: 0,
    });
    assert.deepEqual(report.model, { name: 'mean-pixel', inputSize: 8, channels: 3, embeddingDim: 2 });
    assert.equal(report.flip, true);
    const v = report.verification;
    assert.deepEqual(v.foldAccuracies, acc.foldAccuracies);
    assert.equal(v.accuracy, acc.accuracy);
    assert.equal(v.std, acc.std);
    v.thresholds.forEach((t, f) => assert.ok(Math.abs(t - acc.thresholds[f]) < 1e-6, `threshold ${f}: ${t} vs ${acc.thresholds[f]}`));
    assert.equal(v.auc, rocAuc(scores, isSame));
    assert.equal(v.eer, eer(scores, isSame));
    assert.deepEqual(v.tarAtFar, tarAtFarLevels(scores, isSame));
    // 5 impostor pairs cannot support FAR 1e-1 (needs >= 10)
    assert.equal(v.tarAtFar['1e-1'], null);
    let g = 0, i = 0;
    for (let k = 0; k < 10; k++) if (isSame[k]) g += scores[k]; else i += scores[k];
    assert.ok(Math.abs((report.scores.genuineMean as number) - g / 5) < 1e-6);
    assert.ok(Math.abs((report.scores.impostorMean as number) - i / 5) < 1e-6);
    assert.ok(report.timing.imagesPerSecond > 0 && report.timing.seconds >= report.timing.embedSeconds);
    // flip fusion: every image embedded, then its mirror; 20 images in one chunk -> 2 calls
    assert.equal(e.calls.length, 2);
    assert.deepEqual(e.calls[1].images, flipImagesHorizontal(e.calls[0].images, 20, 8, 8, 3));
    assert.deepEqual(e.calls[0].images, set.images.images);
    // JSON-safe
    assert.deepEqual(JSON.parse(JSON.stringify(report)), report);
  });

  it('adapts images to the embedder input (resize, grey), chunks, skips flips on request and logs progress', async () => {
    const e = new MeanPixelEmbedder(4, 1);
    const lines: string[] = [];
    const r = await evaluateVerificationSet(e, set, { flip: false, chunkSize: 6, progressEvery: 5, log: (l) => lines.push(l) });
    assert.equal(r.data.adapted, true);
    assert.equal(r.flip, false);
    assert.deepEqual(e.calls.map((c) => c.count), [6, 6, 6, 2]);
    const want = adaptImages(set.images.images, 20, 8, 8, 3, 4, 1);
    assert.deepEqual(e.calls.flatMap((c) => [...c.images]), [...want]);
    assert.equal(lines.length, 4);
    assert.match(lines[0], /^\[eval\] mean-pixel on .*pairs_p3\.bin: 6\/20 images, [\d.]+ img\/s, ETA/);
    assert.match(lines[3], /20\/20 images, .* done in/);
    // time-based lines; a set of one chunk logs nothing
    const timed: string[] = [];
    await evaluateVerificationSet(e, set, { chunkSize: 8, progressEvery: 1000, progressSeconds: 0, log: (l) => timed.push(l) });
    assert.deepEqual(timed.map((l) => /(\d+)\/20/.exec(l)?.[1]), ['8', '16', '20']);
    const quiet: string[] = [];
    await evaluateVerificationSet(e, set, { progressEvery: 1, progressSeconds: 0, log: (l) => quiet.push(l) });
    assert.deepEqual(quiet, []);
  });

  it('adaptImages: grey <-> RGB and bilinear resize; flipImagesHorizontal mirrors rows', () => {
    const grey = Float32Array.from([0, 0.5, -1, 1]); // one 2x2 grey image
    assert.deepEqual([...adaptImages(grey, 1, 2, 2, 1, 2, 3)], [0, 0, 0, 0.5, 0.5, 0.5, -1, -1, -1, 1, 1, 1]);
    const rgb = Float32Array.from([1, 0, 0, 0, 1, 0, 0, 0, 1, 1, 1, 1]);
    const luma = adaptImages(rgb, 1, 2, 2, 3, 2, 1);
    [0.299, 0.587, 0.114, 1].forEach((v, k) => assert.ok(Math.abs(luma[k] - v) < 1e-6));
    assert.equal(adaptImages(rgb, 1, 2, 2, 3, 2, 3), rgb);
    const up = adaptImages(Float32Array.from([0, 1, 0, 1]), 1, 2, 2, 1, 4, 1); // half-pixel centres: 0, .25, .75, 1
    assert.deepEqual([...up.subarray(0, 4)], [0, 0.25, 0.75, 1]);
    assert.deepEqual([...flipImagesHorizontal(Float32Array.from([1, 2, 3, 4, 5, 6]), 1, 1, 3, 2)], [5, 6, 3, 4, 1, 2]);
  });

  it('embedImages returns unit rows; bad pairs and too few pairs for the folds throw', async () => {
    const e = new MeanPixelEmbedder(8, 3);
    const { embeddings, dim, count } = await embedImages(e, set.images);
    assert.equal(dim, 2);
    for (let i = 0; i < count; i++) assert.ok(Math.abs(Math.hypot(embeddings[2 * i], embeddings[2 * i + 1]) - 1) < 1e-6);
    const bad = { images: set.images, pairs: { left: Int32Array.of(0), right: Int32Array.of(20), isSame: Uint8Array.of(1) } };
    await assert.rejects(() => evaluateVerificationSet(e, bad), /pair 0 \(0, 20\) indexes outside the 20 images/);
    await assert.rejects(() => evaluateVerificationSet(e, set, { folds: 11 }), /needs at least as many pairs as folds/);
    await assert.rejects(() => evaluateVerificationSet(e, { images: set.images, pairs: { left: new Int32Array(0), right: new Int32Array(0), isSame: new Uint8Array(0) } }), /no pairs/);
  });
});
