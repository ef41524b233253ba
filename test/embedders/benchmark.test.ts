// Evaluation of any embedder on a registered dataset's test split: the protocol read off a benchmark, subsets of
// its first N identities with the protocols rebuilt, and the grey -> RGB / value-range conversion for the
// pretrained models (with stand-in networks, so no npm model is needed).
import { strict as assert } from 'assert';
import * as tf from '@tensorflow/tfjs';
import { createDataset } from '../../src/data';
import type { FaceBenchmark, VerificationPairs } from '../../src/data/types';
import {
  adaptImages, benchmarkProtocol, benchmarkTestSplit, BenchmarkSubsetError, checkEmbedInput, Embedder, evaluateEmbedderOnBenchmark,
  FaceApiEmbedder, FaceresEmbedder, FACERES_EMBEDDING_DIM,
} from '../../src/embedders';

const SYNTH = { trainIdentities: 8, imagesPerIdentity: 4, testIdentities: 30, testImagesPerIdentity: 4, pairsPerFold: 10, resolution: 16, channels: 1, nuisance: 0.6 };
const MNIST = { trainPerClass: 10, testPerClass: 30, pairsPerFold: 10 };

/** Checks the LFW layout (fold k = P same then P different), labels of every pair, and distinct left < right pairs. */
function checkPairs(pairs: VerificationPairs, labels: Int32Array, folds: number, P: number): void {
  assert.equal(pairs.isSame.length, folds * 2 * P);
  const seen = new Set<string>();
  for (let k = 0; k < pairs.isSame.length; k++) {
    const fold = Math.floor(k / (2 * P));
    assert.equal(pairs.fold[k], fold);
    assert.equal(pairs.isSame[k], k - fold * 2 * P < P ? 1 : 0, `pair ${k}`);
    assert.ok(pairs.left[k] < pairs.right[k]);
    assert.equal(labels[pairs.left[k]] === labels[pairs.right[k]] ? 1 : 0, pairs.isSame[k]);
    const key = `${pairs.left[k]},${pairs.right[k]}`;
    assert.ok(!seen.has(key), `pair ${key} twice`);
    seen.add(key);
  }
}

/** fold of each label (identity-disjoint) or of each image (image-disjoint); throws when one is in two folds. */
function assertDisjoint(pairs: VerificationPairs, key: (img: number) => number): void {
  const fold = new Map<number, number>();
  for (let k = 0; k < pairs.isSame.length; k++) {
    for (const img of [pairs.left[k], pairs.right[k]]) {
      const f = fold.get(key(img));
      if (f === undefined) fold.set(key(img), pairs.fold[k]);
      else assert.equal(f, pairs.fold[k], `key ${key(img)} in folds ${f} and ${pairs.fold[k]}`);
    }
  }
}

/** A hand-checkable 3-channel embedder: [mean of R, mean of G, mean of B, 1]. Records every input. */
class RecordingRgbEmbedder implements Embedder {
  readonly name = 'recording-rgb';
  readonly channels = 3 as const;
  readonly embeddingDim = 4;
  calls: Float32Array[] = [];
  constructor(readonly inputSize: number) {}
  async embed(images: Float32Array, count: number): Promise<Float32Array> {
    checkEmbedInput(this, images, count);
    this.calls.push(images.slice());
    const pix = this.inputSize * this.inputSize;
    const out = new Float32Array(count * 4);
    for (let i = 0; i < count; i++) {
      for (let p = 0; p < pix; p++) for (let c = 0; c < 3; c++) out[i * 4 + c] += images[(i * pix + p) * 3 + c] / pix;
      out[i * 4 + 3] = 1;
    }
    return out;
  }
  dispose(): void {}
}

describe('embedders: evaluation on a registered dataset (benchmark.ts)', function () {
  this.timeout(120000);
  let synth: FaceBenchmark;
  let mnist: FaceBenchmark;
  before(() => {
    synth = createDataset('synthfaces', SYNTH);
    mnist = createDataset('mnist', MNIST);
  });

  it('reads the protocol off a benchmark: folds, pairs per fold, kind of folds, unknown share', () => {
    assert.deepEqual(benchmarkProtocol(synth), { folds: 10, pairsPerFold: 10, foldLayout: 'identity-disjoint', unknownFraction: 0.3 });
    assert.deepEqual(benchmarkProtocol(mnist), { folds: 10, pairsPerFold: 10, foldLayout: 'image-disjoint', unknownFraction: 0.25 });
    // without meta.options the unknown share comes from the split (9 of 30 identities unknown)
    assert.equal(benchmarkProtocol({ ...synth, meta: {} }).unknownFraction, 9 / 30);
    // pairs out of the P-same-then-P-different layout: no pairsPerFold
    const swapped = { ...synth.pairs, isSame: Uint8Array.from(synth.pairs.isSame, (v, k) => (k < 2 ? 1 - v : v)) };
    assert.equal(benchmarkProtocol({ ...synth, pairs: swapped }).pairsPerFold, null);
  });

  it('no subset (or N >= the test identities): the dataset\'s own pairs and split, unchanged', () => {
    for (const n of [undefined, 30, 99]) {
      const s = benchmarkTestSplit(synth, n);
      assert.equal(s.images, synth.test);
      assert.equal(s.pairs, synth.pairs);
      assert.equal(s.identification, synth.identification);
      assert.deepEqual([s.identities, s.totalIdentities, s.totalImages, s.rebuilt, s.maxIdentities], [30, 30, 120, false, n ?? null]);
    }
  });

  it('first N identities of synthfaces: identity-disjoint folds and the open-set split rebuilt on them, deterministic', () => {
    const s = benchmarkTestSplit(synth, 20);
    assert.deepEqual([s.identities, s.totalIdentities, s.images.count, s.rebuilt], [20, 30, 80, true]);
    assert.deepEqual(s.protocol, { folds: 10, pairsPerFold: 10, foldLayout: 'identity-disjoint', unknownFraction: 0.3 });
    const pix = 16 * 16;
    for (let i = 0; i < 80; i++) {
      assert.ok(s.images.labels[i] < 20);
      assert.equal(s.images.labels[i], synth.test.labels[i]); // identity-major: the first 80 images
    }
    assert.deepEqual(s.images.images, synth.test.images.subarray(0, 80 * pix));
    // the same images as synthfaces drawing only 20 test identities
    const only20 = createDataset('synthfaces', { ...SYNTH, testIdentities: 20 });
    assert.deepEqual(s.images.images, only20.test.images);
    checkPairs(s.pairs, s.images.labels, 10, 10);
    assertDisjoint(s.pairs, (img) => s.images.labels[img]);
    // open set: one gallery image (the first) per known identity, round(0.3 * 20) = 6 unknown identities
    const { gallery, knownProbes, unknownProbes } = s.identification;
    const labelsOf = (idx: Int32Array): number[] => Array.from(idx, (i) => s.images.labels[i]);
    assert.equal(gallery.length, 14);
    assert.equal(new Set(labelsOf(gallery)).size, 14);
    for (const g of gallery) assert.equal(g % 4, 0);
    const unknownIds = new Set(labelsOf(unknownProbes));
    assert.equal(unknownIds.size, 6);
    for (const l of labelsOf(gallery)) assert.ok(!unknownIds.has(l));
    assert.equal(gallery.length + knownProbes.length + unknownProbes.length, 80);
    assert.deepEqual(benchmarkTestSplit(synth, 20), s);
  });

  it('first N classes of mnist: image-disjoint folds, pairs per fold lowered to what the subset holds', () => {
    const s = benchmarkTestSplit(mnist, 2);
    // 3 images per class and fold: 2 x C(3, 2) = 6 same pairs per fold, 3 x 3 = 9 different ones
    assert.deepEqual(s.protocol, { folds: 10, pairsPerFold: 6, foldLayout: 'image-disjoint', unknownFraction: 0.25 });
    assert.deepEqual([s.images.count, s.identities], [60, 2]);
    checkPairs(s.pairs, s.images.labels, 10, 6);
    assertDisjoint(s.pairs, (img) => img);
    assert.equal(new Set(Array.from(s.pairs.fold)).size, 10);
    // round(0.25 * 2) = 1 unknown class, 1 enrolled
    assert.equal(s.identification.gallery.length, 1);
    assert.equal(s.identification.knownProbes.length, 29);
    assert.equal(s.identification.unknownProbes.length, 30);
  });

  it('too few identities for the folds, or N < 2: errors saying what is needed', () => {
    assert.throws(() => benchmarkTestSplit(synth, 8), (e: unknown) => e instanceof BenchmarkSubsetError &&
      /the first 8 of the 30 test identities of synthfaces \(32 images\) cannot hold one same and one different pair in each of 10 identity-disjoint folds; use at least 20 identities/.test(e.message));
    assert.throws(() => benchmarkTestSplit(synth, 1), RangeError);
    assert.throws(() => benchmarkTestSplit(synth, 2.5), RangeError);
  });

  it('1-channel images for a 3-channel model: grey repeated into R, G, B, values kept in [-1, 1], resized; no tensor leaks', async () => {
    const e = new RecordingRgbEmbedder(40);
    const before = tf.memory().numTensors;
    const lines: string[] = [];
    const r = await evaluateEmbedderOnBenchmark(e, mnist, { maxIdentities: 2, log: (l) => lines.push(l), datasetOptions: MNIST, backend: 'test' });
    assert.equal(tf.memory().numTensors, before);
    const split = benchmarkTestSplit(mnist, 2);
    // chunks of 32, each embedded plain then mirrored
    assert.deepEqual(e.calls.map((c) => c.length / (40 * 40 * 3)), [32, 32, 28, 28]);
    const want = adaptImages(split.images.images, 60, 32, 32, 1, 40, 3);
    assert.deepEqual(Float32Array.from([...e.calls[0], ...e.calls[2]]), want);
    const greyUp = adaptImages(split.images.images, 60, 32, 32, 1, 40, 1);
    let min = Infinity, max = -Infinity;
    for (let p = 0; p < greyUp.length; p++) {
      for (let c = 0; c < 3; c++) assert.equal(want[3 * p + c], greyUp[p]);
      min = Math.min(min, greyUp[p]);
      max = Math.max(max, greyUp[p]);
    }
    assert.equal(min, -1); // MNIST background (0) padded to 32x32
    assert.ok(max <= 1 && max > 0.9, `max ${max}`);
    assert.deepEqual(r.data, {
      dataset: 'mnist', options: MNIST, resolvedOptions: mnist.meta.options, images: 60, identities: 2, totalImages: 120,
      totalIdentities: 4, maxIdentities: 2, rebuilt: true, imageShape: [32, 32, 1], adapted: true, folds: 10, pairsPerFold: 6,
      foldLayout: 'image-disjoint', unknownFraction: 0.25,
    });
    assert.deepEqual(r.model, { name: 'recording-rgb', inputSize: 40, channels: 3, embeddingDim: 4 });
    assert.equal(r.backend, 'test');
    assert.deepEqual(r.counts, { embeddings: 60, dim: 4, pairs: 120, genuinePairs: 60, impostorPairs: 60, gallery: 1, knownProbes: 29, unknownProbes: 30 });
    for (const x of [r.verification.accuracy, r.verification.auc, r.identification.rank1, r.openSet?.dirAtFpir['1e-1']]) assert.ok(Number.isFinite(x));
    // progress: after the first chunk (early ETA), then the last line
    assert.equal(lines.length, 2);
    assert.match(lines[0], /^\[eval\] recording-rgb on mnist: 32\/60 images, [\d.]+ img\/s, ETA \d+s$/);
    assert.match(lines[1], /^\[eval\] recording-rgb on mnist: 60\/60 images, [\d.]+ img\/s, done in \d+s$/);
  });

  it('faceres and face-api get grey images as RGB pixels 0..255 (stand-in networks record their input)', async () => {
    const split = benchmarkTestSplit(mnist, 2);
    const two = split.images.images.subarray(0, 2 * 32 * 32);
    const check = (seen: Float32Array, size: number): void => {
      const want = adaptImages(two, 2, 32, 32, 1, size, 1);
      assert.equal(seen.length, 2 * size * size * 3);
      let min = Infinity, max = -Infinity;
      for (let p = 0; p < want.length; p++) {
        const v = seen[3 * p];
        assert.ok(Math.abs(v - (want[p] * 127.5 + 127.5)) < 1e-3, `pixel ${p}: ${v} vs ${want[p]}`);
        assert.equal(seen[3 * p + 1], v);
        assert.equal(seen[3 * p + 2], v);
        min = Math.min(min, v);
        max = Math.max(max, v);
      }
      assert.equal(min, 0);
      assert.ok(max > 250 && max <= 255.001, `max ${max}`);
    };
    const before = tf.memory().numTensors;
    // faceres: a graph model whose execute() records its input
    let faceresSeen: Float32Array | null = null;
    const graph = {
      execute: (x: tf.Tensor): tf.Tensor => {
        faceresSeen = x.dataSync() as Float32Array;
        return tf.ones([x.shape[0], FACERES_EMBEDDING_DIM]);
      },
      dispose: (): void => {},
    };
    const faceres = new FaceresEmbedder(graph as unknown as tf.GraphModel);
    await faceres.embed(adaptImages(two, 2, 32, 32, 1, faceres.inputSize, 3), 2);
    check(faceresSeen as unknown as Float32Array, faceres.inputSize);
    // face-api: a NetInput of 3-D images given to forwardInput
    class NetInput {
      constructor(readonly inputs: tf.Tensor3D[], readonly batch: boolean) {}
    }
    let faceApiSeen: Float32Array | null = null;
    const net = {
      forwardInput: (input: NetInput): tf.Tensor2D => {
        faceApiSeen = tf.stack(input.inputs).dataSync() as Float32Array;
        return tf.zeros([input.inputs.length, 128]);
      },
      dispose: (): void => {},
    };
    type Mod = ConstructorParameters<typeof FaceApiEmbedder>[0];
    type Net = ConstructorParameters<typeof FaceApiEmbedder>[1];
    const faceApi = new FaceApiEmbedder({ NetInput } as unknown as Mod, net as unknown as Net);
    await faceApi.embed(adaptImages(two, 2, 32, 32, 1, faceApi.inputSize, 3), 2);
    check(faceApiSeen as unknown as Float32Array, faceApi.inputSize);
    assert.equal(tf.memory().numTensors, before);
  });
});
