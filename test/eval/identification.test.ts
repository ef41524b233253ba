import { strict as assert } from 'assert';
import { cmc, dirAtFpir, identificationReport, openSetReport } from '../../src/eval';
import { Rng } from '../../src/util/rng';
import { naiveDir } from './naive';

const close = (a: number, b: number, tol = 1e-12): void => assert.ok(Math.abs(a - b) <= tol, `${a} != ${b}`);

describe('eval/identification (CMC)', () => {
  // Gallery identities [10, 20, 30]; probes of identities [20, 30, 10].
  //   probe 0 (20): [0.1, 0.9, 0.3] -> mate 0.9 beats everything         -> rank 1
  //   probe 1 (30): [0.8, 0.2, 0.5] -> mate 0.5, impostor 0.8 ahead      -> rank 2
  //   probe 2 (10): [0.4, 0.6, 0.7] -> mate 0.4, impostors 0.6, 0.7 ahead -> rank 3
  const sim = Float32Array.from([0.1, 0.9, 0.3, 0.8, 0.2, 0.5, 0.4, 0.6, 0.7]);
  const probes = [20, 30, 10];
  const gallery = [10, 20, 30];

  it('computes the CMC of a hand-built 3x3 similarity', () => {
    assert.deepEqual(cmc(sim, 3, 3, probes, gallery, 3), [1 / 3, 2 / 3, 1]);
    // maxRank beyond the gallery size saturates at 1.
    assert.deepEqual(cmc(sim, 3, 3, probes, gallery, 5), [1 / 3, 2 / 3, 1, 1, 1]);
    assert.equal(cmc(sim, 3, 3, probes, gallery).length, 10);
    const rep = identificationReport(sim, 3, 3, probes, gallery, 2);
    assert.deepEqual(rep, { rank1: 1 / 3, rank5: 1, cmc: [1 / 3, 2 / 3] });
  });

  it('resolves ties pessimistically (an impostor tied with the mate ranks ahead)', () => {
    // probe 0 (20): [0.9, 0.9, 0.3] -> impostor 10 ties the mate -> rank 2; constant scores -> rank = gallery size.
    const tied = Float32Array.from([0.9, 0.9, 0.3]);
    assert.deepEqual(cmc(tied, 1, 3, [20], gallery, 3), [0, 1, 1]);
    assert.deepEqual(cmc(new Float32Array(3).fill(0.5), 1, 3, [20], gallery, 3), [0, 0, 1]);
  });

  it('uses the best of several gallery images of the probe identity', () => {
    // gallery [1, 1, 2]: probe 1 scores [0.2, 0.8, 0.5] -> best mate 0.8 > 0.5 -> rank 1.
    assert.deepEqual(cmc(Float32Array.from([0.2, 0.8, 0.5]), 1, 3, [1], [1, 1, 2], 2), [1, 1]);
  });

  it('rejects probes whose identity is not in the gallery, and bad shapes', () => {
    assert.throws(() => cmc(sim, 3, 3, [20, 40, 10], gallery), /probe 1 has identity 40, which is not in the gallery/);
    assert.throws(() => cmc(sim, 3, 2, probes, [10, 20]), /similarity must have length numProbes \* numGallery \(3 \* 2\) = 6, got 9/);
    assert.throws(() => cmc(sim, 3, 3, [20, 30], gallery), /probeLabels must have length numProbes = 3, got 2/);
    assert.throws(() => cmc(sim, 3, 3, probes, gallery, 0), /maxRank must be a positive integer, got 0/);
    assert.throws(() => cmc(Float32Array.from([NaN, 0, 0]), 1, 3, [10], gallery), /similarity must be finite, got NaN at index 0/);
  });
});

describe('eval/openset (DIR@FPIR)', () => {
  // Gallery identities [1, 2]. Known probes (identities [1, 2, 1]):
  //   k0: [0.9, 0.1] -> correct, top 0.9;  k1: [0.3, 0.6] -> correct, top 0.6;  k2: [0.2, 0.7] -> wrong (rank 2).
  // Unknown probes' rows -> top scores 0.5, 0.8, 0.3, 0.65; sorted desc 0.8, 0.65, 0.5, 0.3 (M = 4).
  const known = Float32Array.from([0.9, 0.1, 0.3, 0.6, 0.2, 0.7]);
  const unknown = Float32Array.from([0.5, 0.1, 0.2, 0.8, 0.3, 0.3, 0.65, 0.0]);
  const knownLabels = [1, 2, 1];
  const gallery = [1, 2];

  it('computes DIR on a hand-built case', () => {
    // FPIR 0.25: k = floor(0.25 * 4) = 1 false alarm allowed -> t = 2nd largest unknown top = 0.65;
    //   DIR = #{correct and top > 0.65} / 3 = {k0} -> 1/3.
    close(dirAtFpir(known, unknown, 2, knownLabels, gallery, 0.25), 1 / 3);
    // FPIR 0.5: k = 2 -> t = 0.5 -> k0 (0.9), k1 (0.6) -> 2/3.
    close(dirAtFpir(known, unknown, 2, knownLabels, gallery, 0.5), 2 / 3);
    // FPIR 0 (and any level < 1/4): t = 0.8 -> k0 only -> 1/3.
    close(dirAtFpir(known, unknown, 2, knownLabels, gallery, 0), 1 / 3);
    close(dirAtFpir(known, unknown, 2, knownLabels, gallery, 0.1), 1 / 3);
    // FPIR 0.75: t = 0.3 -> k0, k1 (k2 is misidentified) -> 2/3.
    close(dirAtFpir(known, unknown, 2, knownLabels, gallery, 0.75), 2 / 3);
  });

  it('openSetReport gives thresholds, achieved FPIR and closed-set rank-1', () => {
    const r = openSetReport(known, unknown, 2, knownLabels, gallery, [0.25, 0.5]);
    close(r.thresholds['2.5e-1'], 0.65, 1e-7); // float32 storage of 0.65
    close(r.thresholds['5e-1'], 0.5);
    assert.deepEqual(r.achievedFpir, { '2.5e-1': 0.25, '5e-1': 0.5 });
    close(r.dirAtFpir['2.5e-1'], 1 / 3);
    close(r.dirAtFpir['5e-1'], 2 / 3);
    close(r.rank1, 2 / 3);
    assert.equal(r.numKnown, 3);
    assert.equal(r.numUnknown, 4);
    const d = openSetReport(known, unknown, 2, knownLabels, gallery);
    assert.deepEqual(Object.keys(d.dirAtFpir), ['1e-1', '1e-2']);
  });

  it('never exceeds the FPIR when unknown top scores tie', () => {
    // Unknown tops 0.8, 0.8, 0.5, 0.3: FPIR 0.25 cannot admit just one of the tied 0.8s -> t = 0.8, achieved 0.
    const u = Float32Array.from([0.8, 0.0, 0.0, 0.8, 0.5, 0.1, 0.3, 0.3]);
    const r = openSetReport(known, u, 2, knownLabels, gallery, [0.25]);
    close(r.thresholds['2.5e-1'], 0.8, 1e-7);
    assert.equal(r.achievedFpir['2.5e-1'], 0);
    close(r.dirAtFpir['2.5e-1'], 1 / 3);
  });

  it('matches a brute-force threshold search on random inputs with ties', () => {
    const rng = new Rng(21);
    for (let trial = 0; trial < 60; trial++) {
      const g = 1 + rng.int(6);
      const galleryLabels = Array.from({ length: g }, (_, j) => j);
      const nk = 1 + rng.int(30);
      const nu = 1 + rng.int(40);
      const knownL = Array.from({ length: nk }, () => rng.int(g));
      const q = (): number => Math.round(rng.next() * 10) / 10;
      const kRows = Array.from({ length: nk }, () => Array.from({ length: g }, q));
      const uRows = Array.from({ length: nu }, () => Array.from({ length: g }, q));
      const kFlat = Float64Array.from(kRows.flat());
      const uFlat = Float64Array.from(uRows.flat());
      for (const fpir of [0, 0.01, 0.1, 0.2, 0.29, 0.5, 0.9]) {
        const got = dirAtFpir(kFlat, uFlat, g, knownL, galleryLabels, fpir);
        close(got, naiveDir(kRows, uRows, knownL, galleryLabels, fpir));
      }
    }
  });

  it('rejects bad input', () => {
    assert.throws(() => dirAtFpir(known, unknown, 2, knownLabels, gallery, 1), /fpir must be a number in \[0, 1\), got 1/);
    assert.throws(() => dirAtFpir(known, unknown.subarray(0, 3), 2, knownLabels, gallery, 0.1),
      /unknownSimilarity length must be a positive multiple of numGallery \(2\), got 3/);
    assert.throws(() => dirAtFpir(known, unknown, 2, [1, 3, 1], gallery, 0.1), /probe 1 has identity 3, which is not in the gallery/);
    assert.throws(() => dirAtFpir(known, unknown, 2, [], gallery, 0.1), /at least one known probe/);
  });
});
