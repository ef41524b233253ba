import { strict as assert } from 'assert';
import { EvalReport, evaluateEmbeddings } from '../../src/eval';
import { Rng } from '../../src/util/rng';

/**
 * Synthetic benchmark: 40 identities x 3 images in d = 16. Identity centres are random Gaussian directions, images
 * add N(0, 0.05^2) noise, so genuine cosines are ~0.99 and impostor cosines |.| < ~0.8: perfectly separable.
 * Gallery = image 0 of identities 0..29; known probes = images 1, 2 of 0..29; unknown = all images of 30..39.
 * Pairs: 10 contiguous folds x (30 genuine + 30 impostor).
 */
function synthetic(rng: Rng, noise = 0.05): {
  emb: Float32Array; labels: Int32Array; n: number; d: number;
  pairs: { left: Int32Array; right: Int32Array; isSame: Uint8Array };
  split: { gallery: Int32Array; knownProbes: Int32Array; unknownProbes: Int32Array };
} {
  const ids = 40, per = 3, d = 16, n = ids * per;
  const emb = new Float32Array(n * d);
  const labels = new Int32Array(n);
  for (let i = 0; i < ids; i++) {
    const c = Array.from({ length: d }, () => rng.normal());
    const norm = Math.hypot(...c);
    for (let j = 0; j < per; j++) {
      labels[i * per + j] = i;
      for (let k = 0; k < d; k++) emb[(i * per + j) * d + k] = c[k] / norm + rng.normal(0, noise);
    }
  }
  const left: number[] = [], right: number[] = [], isSame: number[] = [];
  for (let f = 0; f < 10; f++) {
    for (let p = 0; p < 60; p++) {
      const a = rng.int(ids);
      const same = p < 30;
      const b = same ? a : (a + 1 + rng.int(ids - 1)) % ids;
      const ia = rng.int(per);
      const ib = same ? (ia + 1 + rng.int(per - 1)) % per : rng.int(per);
      left.push(a * per + ia);
      right.push(b * per + ib);
      isSame.push(same ? 1 : 0);
    }
  }
  const gallery: number[] = [], known: number[] = [], unknown: number[] = [];
  for (let i = 0; i < ids; i++) {
    for (let j = 0; j < per; j++) {
      if (i >= 30) unknown.push(i * per + j);
      else if (j === 0) gallery.push(i * per + j);
      else known.push(i * per + j);
    }
  }
  return {
    emb, labels, n, d,
    pairs: { left: Int32Array.from(left), right: Int32Array.from(right), isSame: Uint8Array.from(isSame) },
    split: { gallery: Int32Array.from(gallery), knownProbes: Int32Array.from(known), unknownProbes: Int32Array.from(unknown) },
  };
}

describe('eval/evaluateEmbeddings', () => {
  it('reports perfect scores on well-separated synthetic embeddings, as plain JSON', () => {
    const b = synthetic(new Rng(31));
    const r = evaluateEmbeddings(b.emb, b.n, b.d, b.labels, b.pairs, b.split);
    assert.equal(r.verification.accuracy, 1);
    assert.equal(r.verification.std, 0);
    assert.equal(r.verification.foldAccuracies.length, 10);
    assert.equal(r.verification.auc, 1);
    assert.equal(r.verification.eer, 0);
    // 300 impostor pairs: FAR 1e-1 and 1e-2 are supported (>= 1/300), lower levels are null.
    assert.deepEqual(r.verification.tarAtFar, {
      '1e-1': 1, '1e-2': 1, '1e-3': null, '1e-4': null, '1e-5': null, '1e-6': null,
    });
    assert.equal(r.identification.rank1, 1);
    assert.equal(r.identification.rank5, 1);
    assert.deepEqual(r.identification.cmc, new Array(10).fill(1));
    assert.ok(r.openSet);
    assert.deepEqual(r.openSet.dirAtFpir, { '1e-1': 1, '1e-2': 1 });
    assert.deepEqual(r.counts, {
      embeddings: 120, dim: 16, pairs: 600, genuinePairs: 300, impostorPairs: 300,
      gallery: 30, knownProbes: 60, unknownProbes: 30,
    });
    const json = JSON.parse(JSON.stringify(r)) as EvalReport;
    assert.deepEqual(json, r);
  });

  it('scales embeddings defensively (raw x 7 gives the same report)', () => {
    const b = synthetic(new Rng(32), 0.6);
    const r1 = evaluateEmbeddings(b.emb, b.n, b.d, b.labels, b.pairs, b.split);
    const r2 = evaluateEmbeddings(b.emb.map((v) => v * 7), b.n, b.d, b.labels, b.pairs, b.split);
    assert.equal(r1.verification.accuracy, r2.verification.accuracy);
    assert.equal(r1.identification.rank1, r2.identification.rank1);
    assert.ok(r1.verification.accuracy < 1 && r1.verification.accuracy > 0.5, `noisy accuracy ${r1.verification.accuracy}`);
  });

  it('gives chance-level numbers for collapsed (identical) embeddings', () => {
    // All cosines are 1: every fold predicts all "same" (smallest best threshold) -> 30/60 = 0.5; ROC is the
    // diagonal -> AUC 0.5, EER 0.5; every gallery entry ties with the mate -> rank 30 (pessimistic) -> CMC all 0
    // up to rank 10; DIR 0.
    const b = synthetic(new Rng(33));
    const flat = new Float32Array(b.emb.length).fill(1);
    const r = evaluateEmbeddings(flat, b.n, b.d, b.labels, b.pairs, b.split);
    assert.equal(r.verification.accuracy, 0.5);
    assert.equal(r.verification.auc, 0.5);
    assert.equal(r.verification.eer, 0.5);
    assert.equal(r.identification.rank1, 0);
    assert.deepEqual(r.identification.cmc, new Array(10).fill(0));
    assert.deepEqual(r.openSet?.dirAtFpir, { '1e-1': 0, '1e-2': 0 });
  });

  it('omits the open-set block without unknown probes and honours options', () => {
    const b = synthetic(new Rng(34));
    const split = { ...b.split, unknownProbes: new Int32Array(0) };
    const r = evaluateEmbeddings(b.emb, b.n, b.d, b.labels, b.pairs, split, { folds: 5, maxRank: 3, farLevels: [0.1] });
    assert.equal(r.openSet, null);
    assert.equal(r.verification.foldAccuracies.length, 5);
    assert.equal(r.identification.cmc.length, 3);
    assert.deepEqual(Object.keys(r.verification.tarAtFar), ['1e-1']);
  });

  it('rejects inconsistent inputs', () => {
    const b = synthetic(new Rng(35));
    assert.throws(() => evaluateEmbeddings(b.emb, b.n, b.d, b.labels.subarray(1), b.pairs, b.split),
      /labels must have length n = 120, got 119/);
    const bad = { ...b.split, unknownProbes: Int32Array.from([0]) };
    assert.throws(() => evaluateEmbeddings(b.emb, b.n, b.d, b.labels, b.pairs, bad),
      /unknown probe 0 \(embedding 0\) has identity 0, which is in the gallery/);
    assert.throws(() => evaluateEmbeddings(b.emb, b.n, 17, b.labels, b.pairs, b.split),
      /emb must have length n \* d \(120 \* 17\) = 2040, got 1920/);
  });
});
