import { strict as assert } from 'assert';
import { Rng } from '../../src/util/rng';
import {
  createDataset, createSynthFaces, describeSynthFaces as describeSynth, effectiveNuisance, identityVector, listDatasets,
  registerDataset, renderFace, renderIdentitySet, resolveSynthFacesOptions, sampleIdentity, synthIdentities,
  type FaceBenchmark, type ImageSet, type SynthFacesOptions,
} from '../../src/data';

// Small but protocol-valid: 2 folds x 20 pairs needs >= 2 x 2 identities with 6 images each.
const SMALL: SynthFacesOptions = {
  trainIdentities: 6, testIdentities: 12, imagesPerIdentity: 3, testImagesPerIdentity: 6, resolution: 16,
  pairsPerFold: 20, folds: 3, seed: 5,
};

function bytesOf(a: Float32Array): Buffer {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength);
}

function meanAbsDiff(set: ImageSet, i: number, j: number): number {
  const size = set.height * set.width * set.channels;
  let s = 0;
  for (let k = 0; k < size; k++) s += Math.abs(set.images[i * size + k] - set.images[j * size + k]);
  return s / size;
}

describe('synthfaces', () => {
  let bench: FaceBenchmark;
  before(() => { bench = createSynthFaces(SMALL); });

  it('is deterministic from its seed and differs across seeds', () => {
    const again = createSynthFaces(SMALL);
    assert.ok(bytesOf(again.train.images).equals(bytesOf(bench.train.images)));
    assert.ok(bytesOf(again.test.images).equals(bytesOf(bench.test.images)));
    assert.deepEqual(again.pairs, bench.pairs);
    assert.deepEqual(again.identification, bench.identification);
    const other = createSynthFaces({ ...SMALL, seed: 6 });
    assert.ok(!bytesOf(other.train.images).equals(bytesOf(bench.train.images)));
    assert.ok(!bytesOf(other.test.images).equals(bytesOf(bench.test.images)));
  });

  it('has the documented shapes, labels and pixel range', () => {
    const { train, test } = bench;
    assert.equal(bench.name, 'synthfaces');
    assert.equal(bench.numClasses, 6);
    assert.equal(train.count, 18);
    assert.equal(test.count, 72);
    for (const s of [train, test]) {
      assert.equal(s.height, 16);
      assert.equal(s.width, 16);
      assert.equal(s.channels, 3);
      assert.equal(s.images.length, s.count * 16 * 16 * 3);
      assert.equal(s.labels.length, s.count);
      let lo = Infinity, hi = -Infinity;
      for (const v of s.images) { lo = Math.min(lo, v); hi = Math.max(hi, v); }
      assert.ok(lo >= -1 && hi <= 1, `range [${lo}, ${hi}]`);
      assert.ok(hi - lo > 1, 'images have contrast');
    }
    assert.deepEqual([...train.labels], [0, 0, 0, 1, 1, 1, 2, 2, 2, 3, 3, 3, 4, 4, 4, 5, 5, 5]);
    assert.equal(Math.max(...test.labels), 11);
    // pixels are quantised 0..255 values mapped by (x / 255 - 0.5) / 0.5
    for (let k = 0; k < 50; k++) {
      const x = (train.images[k * 7] * 0.5 + 0.5) * 255;
      assert.ok(Math.abs(x - Math.round(x)) < 1e-3);
    }
  });

  it('supports one channel and other resolutions', () => {
    const g = createSynthFaces({ ...SMALL, channels: 1, resolution: 24 });
    assert.equal(g.train.channels, 1);
    assert.equal(g.train.images.length, 18 * 24 * 24);
    const img = renderFace(sampleIdentity(new Rng(1)), 1, 20, 1, new Rng(2));
    assert.equal(img.length, 400);
  });

  it('draws train and test identities from disjoint streams', () => {
    const { train, test } = synthIdentities({ ...SMALL, trainIdentities: 40, testIdentities: 40 });
    const tv = train.map(identityVector), sv = test.map(identityVector);
    let minDist = Infinity;
    for (const a of tv) {
      for (const b of sv) {
        assert.equal(a.length, b.length);
        let d = 0;
        for (let k = 0; k < a.length; k++) d += (a[k] - b[k]) ** 2;
        minDist = Math.min(minDist, d);
      }
    }
    assert.ok(minDist > 1e-6, `closest train/test identities at squared distance ${minDist}`);
    // and identities within a set are all distinct
    const keys = new Set(tv.map((v) => v.join(',')));
    assert.equal(keys.size, tv.length);
  });

  it('builds LFW-style pairs: contiguous, identity-disjoint folds of P same then P different', () => {
    const { pairs, test } = bench;
    const P = 20, folds = 3;
    assert.equal(pairs.left.length, folds * 2 * P);
    const foldIds: Set<number>[] = [];
    for (let k = 0; k < folds; k++) {
      const ids = new Set<number>();
      const keys = new Set<string>();
      for (let i = k * 2 * P; i < (k + 1) * 2 * P; i++) {
        assert.equal(pairs.fold[i], k);
        const l = pairs.left[i], r = pairs.right[i];
        assert.notEqual(l, r, 'no image paired with itself');
        assert.ok(l < r);
        const same = test.labels[l] === test.labels[r];
        assert.equal(pairs.isSame[i], i - k * 2 * P < P ? 1 : 0);
        assert.equal(same, pairs.isSame[i] === 1);
        keys.add(`${l},${r}`);
        ids.add(test.labels[l]).add(test.labels[r]);
      }
      assert.equal(keys.size, 2 * P, 'pairs within a fold are distinct');
      foldIds.push(ids);
    }
    for (let a = 0; a < folds; a++) {
      for (let b = a + 1; b < folds; b++) for (const id of foldIds[a]) assert.ok(!foldIds[b].has(id), `identity ${id} in folds ${a} and ${b}`);
    }
  });

  it('builds the open-set identification split', () => {
    const { identification: s, test } = bench;
    const unknownIds = new Set([...s.unknownProbes].map((i) => test.labels[i]));
    assert.equal(unknownIds.size, Math.round(0.3 * 12));
    const galleryIds = [...s.gallery].map((i) => test.labels[i]);
    assert.equal(new Set(galleryIds).size, galleryIds.length, 'one gallery image per identity');
    assert.equal(galleryIds.length, 12 - unknownIds.size);
    for (const id of galleryIds) assert.ok(!unknownIds.has(id), 'unknown identities are absent from the gallery');
    for (const i of s.knownProbes) assert.ok(!unknownIds.has(test.labels[i]));
    // gallery image is the first image of its identity
    for (const g of s.gallery) assert.ok(g === 0 || test.labels[g - 1] !== test.labels[g]);
    // every test image is used exactly once
    const all = [...s.gallery, ...s.knownProbes, ...s.unknownProbes].sort((a, b) => a - b);
    assert.deepEqual(all, Array.from({ length: test.count }, (_, i) => i));
  });

  it('renders identities consistently: at nuisance 0, same-identity images are closer than different ones', () => {
    const ids = Array.from({ length: 6 }, (_, i) => sampleIdentity(new Rng(`distinct/${i}`)));
    const set = renderIdentitySet(ids, 3, 24, 3, effectiveNuisance(0), new Rng(9));
    let same = 0, ns = 0, diff = 0, nd = 0;
    for (let i = 0; i < set.count; i++) {
      for (let j = i + 1; j < set.count; j++) {
        const d = meanAbsDiff(set, i, j);
        if (set.labels[i] === set.labels[j]) { same += d; ns++; } else { diff += d; nd++; }
      }
    }
    assert.ok(same / ns < 0.2 * (diff / nd), `same ${same / ns} vs different ${diff / nd}`);
    // and still clearly closer under mild nuisance
    const mild = renderIdentitySet(ids, 3, 24, 3, effectiveNuisance(0.25), new Rng(9));
    let s2 = 0, d2 = 0;
    for (let i = 0; i < mild.count; i++) {
      for (let j = i + 1; j < mild.count; j++) {
        if (mild.labels[i] === mild.labels[j]) s2 += meanAbsDiff(mild, i, j); else d2 += meanAbsDiff(mild, i, j);
      }
    }
    assert.ok(s2 / ns < 0.7 * (d2 / nd), `mild nuisance: same ${s2 / ns} vs different ${d2 / nd}`);
    // with nuisance, images of one identity differ
    const noisy = renderIdentitySet(ids.slice(0, 1), 2, 24, 3, effectiveNuisance(1), new Rng(9));
    assert.ok(meanAbsDiff(noisy, 0, 1) > 0.01);
  });

  it('validates options with precise messages', () => {
    assert.throws(() => createSynthFaces({ resolution: 8 }), /resolution must be an integer >= 16, got 8/);
    assert.throws(() => createSynthFaces({ resolution: 20.5 }), /resolution must be an integer >= 16, got 20.5/);
    assert.throws(() => createSynthFaces({ channels: 2 }), /channels must be 1 or 3, got 2/);
    assert.throws(() => createSynthFaces({ nuisance: -1 }), /nuisance must be a finite number >= 0, got -1/);
    assert.throws(() => createSynthFaces({ unknownFraction: 1 }), /unknownFraction must be a number in \[0, 1\), got 1/);
    assert.throws(() => createSynthFaces({ testImagesPerIdentity: 1 }), /testImagesPerIdentity must be an integer >= 2, got 1/);
    assert.throws(() => createDataset('synthfaces', { trainIdentities: '5' }), /trainIdentities must be an integer >= 1, got "5"/);
    assert.throws(() => createDataset('synthfaces', { resolutoin: 32 }), /unknown synthfaces option 'resolutoin'; allowed: .*resolution/);
    assert.throws(() => createSynthFaces({ nuisanceParams: { blur: 1 } as never }), /unknown nuisanceParams field 'blur'/);
    assert.throws(() => createSynthFaces({ nuisanceParams: { noiseStd: -2 } }), /nuisanceParams.noiseStd must be a finite number >= 0, got -2/);
    assert.throws(() => createSynthFaces({ testIdentities: 20 }), /testIdentities=20 is too small .* need testIdentities >= 70/);
    assert.doesNotThrow(() => resolveSynthFacesOptions({ testIdentities: 70 }));
  });

  it('scales nuisance by the global strength and per-field overrides', () => {
    const p = effectiveNuisance(0.5, { noiseStd: 4 });
    assert.equal(p.noiseStd, 2);
    assert.equal(effectiveNuisance(0).rotationDeg, 0);
    const b = createSynthFaces({ ...SMALL, nuisance: 0.5, nuisanceParams: { glassesProb: 0 } });
    const eff = b.meta.effectiveNuisance as Record<string, number>;
    assert.equal(eff.glassesProb, 0);
    assert.equal(eff.rotationDeg, 5);
  });

  it('is registered, describes itself, and the registry lists names for unknown datasets', () => {
    assert.ok(listDatasets().some((d) => d.name === 'synthfaces'));
    assert.match(describeSynth(), /synthfaces/);
    assert.throws(() => createDataset('nope', {}), /unknown dataset 'nope'; available: .*synthfaces/);
    assert.throws(() => registerDataset('synthfaces', { description: 'x', resolveOptions: (o) => o ?? {}, create: () => bench }), /already registered/);
    const viaRegistry = createDataset('synthfaces', SMALL);
    assert.ok(bytesOf(viaRegistry.train.images).equals(bytesOf(bench.train.images)));
  });
});
