import { strict as assert } from 'assert';
import { bestThreshold, verificationAccuracy } from '../../src/eval';
import { Rng } from '../../src/util/rng';
import { naiveBestThreshold, naiveKFold, randomTiedScores } from './naive';

const close = (a: number, b: number, tol = 1e-12): void => assert.ok(Math.abs(a - b) <= tol, `${a} != ${b}`);

/** LFW-shaped data: 10 folds x (300 genuine + 300 impostor), genuine in [g0, g1), impostor in [i0, i1). */
function lfwLike(rng: Rng, gen: [number, number], imp: [number, number]): { scores: Float64Array; same: Uint8Array } {
  const scores = new Float64Array(6000);
  const same = new Uint8Array(6000);
  for (let k = 0; k < 6000; k++) {
    const y = k % 600 < 300 ? 1 : 0;
    same[k] = y;
    scores[k] = y ? rng.uniform(gen[0], gen[1]) : rng.uniform(imp[0], imp[1]);
  }
  return { scores, same };
}

describe('eval/verificationAccuracy', () => {
  it('matches a hand computation on 4 pairs / 2 folds', () => {
    // folds = 2, n = 4: fold(k) = floor(2k/4) -> [0, 0, 1, 1].
    // Fold 0 trains on pairs 2,3: (0.8, diff), (0.3, same).
    //   cut below min (t = 0.3 - 1 = -0.7): all "same" -> 1 correct; mid 0.55 -> 0 correct; above max -> 1 correct.
    //   best = 1, smallest threshold -0.7. Test pairs 0,1 at -0.7: (0.9 same) ok, (0.2 diff) wrong -> 0.5.
    // Fold 1 trains on pairs 0,1: (0.9 same), (0.2 diff): mid (0.2 + 0.9) / 2 = 0.55 -> 2 correct (best).
    //   Test pairs 2,3: 0.8 > 0.55 -> "same" but diff (wrong); 0.3 -> "diff" but same (wrong) -> 0.
    // accuracy = (0.5 + 0) / 2 = 0.25; population std = sqrt(((0.25)^2 + (0.25)^2) / 2) = 0.25.
    const r = verificationAccuracy([0.9, 0.2, 0.8, 0.3], [true, false, false, true], { folds: 2 });
    assert.deepEqual(r.foldAccuracies, [0.5, 0]);
    close(r.accuracy, 0.25);
    close(r.std, 0.25);
    close(r.thresholds[0], -0.7);
    close(r.thresholds[1], 0.55);
  });

  it('assigns pair k to fold floor(k * folds / n) (n = 5, folds = 2 -> folds [0,0,0,1,1])', () => {
    // Pairs 0-2 are perfectly separable at any threshold in (0.1, 0.9); pairs 3,4 are inverted.
    // Fold 0 = {0,1,2} trains on {3,4} = (0.1 same), (0.9 diff): best is 1/2 correct, achieved first by the cut
    //   below the min (everything same) -> test: 0.9 same ok, 0.1 diff wrong, 0.8 same ok -> 2/3.
    // Fold 1 = {3,4} trains on {0,1,2}: cut 0.45 between 0.1 and 0.8 -> 3/3; test: 0.1 same -> diff wrong,
    //   0.9 diff -> same wrong -> 0.
    const r = verificationAccuracy([0.9, 0.1, 0.8, 0.1, 0.9], [1, 0, 1, 1, 0], { folds: 2 });
    close(r.foldAccuracies[0], 2 / 3);
    assert.equal(r.foldAccuracies[1], 0);
    close(r.accuracy, 1 / 3);
  });

  it('gives accuracy 1, std 0 on perfectly separated LFW-shaped data', () => {
    const { scores, same } = lfwLike(new Rng(1), [0.5, 1], [-0.5, 0.4]);
    const r = verificationAccuracy(scores, same);
    assert.equal(r.accuracy, 1);
    assert.equal(r.std, 0);
    assert.equal(r.thresholds.length, 10);
    for (const t of r.thresholds) assert.ok(t > 0.4 && t < 0.5, `threshold ${t} should lie in the gap`);
  });

  it('uses the LFW layout: corrupting pairs 1200-1799 only breaks fold 2', () => {
    // Fold f = pairs 600f .. 600f+599. Fold 2 is inverted (genuine scored like impostors and vice versa); the
    // other 9 folds are perfectly separated, so every fold threshold falls in the gap (0.4, 0.5):
    // folds != 2 score 1, fold 2 scores 0 -> mean 0.9, population std sqrt((9 * 0.1^2 + 0.9^2) / 10) = 0.3.
    const rng = new Rng(2);
    const { scores, same } = lfwLike(rng, [0.5, 1], [-0.5, 0.4]);
    for (let k = 1200; k < 1800; k++) scores[k] = same[k] ? rng.uniform(-0.5, 0.4) : rng.uniform(0.5, 1);
    const r = verificationAccuracy(scores, same);
    assert.deepEqual(r.foldAccuracies, [1, 1, 0, 1, 1, 1, 1, 1, 1, 1]);
    close(r.accuracy, 0.9);
    close(r.std, 0.3);
  });

  it('gives 0.5 on inverted and on all-tied balanced scores (smallest threshold = all "same")', () => {
    // Inverted: the separating cut gives 0 correct; all-same and all-diff both give 2700/5400, the smallest
    // (below the minimum) wins -> every test pair predicted "same" -> 300/600 per fold.
    const inv = lfwLike(new Rng(3), [-0.5, 0.4], [0.5, 1]);
    const r = verificationAccuracy(inv.scores, inv.same);
    assert.equal(r.accuracy, 0.5);
    assert.equal(r.std, 0);
    for (let f = 0; f < 10; f++) assert.ok(r.thresholds[f] < -0.5);
    // All ties: only the cuts below / above the single value exist; both 2700 correct; below wins.
    const tied = verificationAccuracy(new Float64Array(6000).fill(0.3), inv.same);
    assert.equal(tied.accuracy, 0.5);
    for (const t of tied.thresholds) close(t, 0.3 - 1);
  });

  it('matches the naive double-loop reference on random tied scores (6000 pairs, LFW layout)', () => {
    const { scores, same } = randomTiedScores(new Rng(4), 6000, 2);
    const ref = naiveKFold(scores, same, 10);
    const r = verificationAccuracy(scores, same);
    assert.deepEqual(r.foldAccuracies, ref.foldAccuracies);
    close(r.accuracy, ref.accuracy);
    close(r.std, ref.std);
    for (let f = 0; f < 10; f++) close(r.thresholds[f], ref.thresholds[f], 1e-12);
  });

  it('matches the naive reference on many small random inputs with heavy ties', () => {
    const rng = new Rng(5);
    for (let trial = 0; trial < 200; trial++) {
      const folds = 2 + rng.int(5);
      const n = folds * (1 + rng.int(8));
      const { scores, same } = randomTiedScores(rng, n, 1, rng.uniform(-0.5, 0.5));
      const ref = naiveKFold(scores, same, folds);
      const r = verificationAccuracy(scores, same, { folds });
      assert.deepEqual(r.foldAccuracies, ref.foldAccuracies, `trial ${trial}`);
      close(r.std, ref.std, 1e-12);
      for (let f = 0; f < folds; f++) close(r.thresholds[f], ref.thresholds[f], 1e-12);
      const bt = bestThreshold(scores, same);
      close(bt.accuracy, naiveBestThreshold(scores, same).acc);
    }
  });

  it('accepts booleans and 0/1 identically, and distance scores negated give the same accuracy', () => {
    const { scores, same } = randomTiedScores(new Rng(6), 600, 3);
    const a = verificationAccuracy(scores, same);
    const b = verificationAccuracy(scores, same.map((v) => v === 1));
    assert.deepEqual(a, b);
    const dist = scores.map((s) => 2 - 2 * s); // squared L2 of unit vectors
    const c = verificationAccuracy(dist.map((x) => -x), same);
    close(c.accuracy, a.accuracy);
  });

  it('rejects bad input with clear messages', () => {
    assert.throws(() => verificationAccuracy([0.1, 0.2], [1]), /same length, got 2 scores and 1 labels/);
    assert.throws(() => verificationAccuracy([0.1, 0.2, 0.3], [1, 0, 1]), /at least as many pairs as folds \(10\), got 3/);
    assert.throws(() => verificationAccuracy([0.1, NaN, 0.3], [1, 0, 1], { folds: 3 }), /finite numbers, got NaN at index 1/);
    assert.throws(() => verificationAccuracy([0.1, 0.2], [1, 2], { folds: 2 }), /booleans or 0\/1, got 2 at index 1/);
    assert.throws(() => verificationAccuracy([0.1, 0.2], [1, 0], { folds: 1 }), /folds must be an integer >= 2, got 1/);
    assert.throws(() => verificationAccuracy([0.1, 0.2], [1, 0], { folds: 2.5 }), /folds must be an integer >= 2, got 2.5/);
    assert.throws(() => bestThreshold([], []), /at least one pair/);
  });

  it('times 6000-pair verification (informational)', () => {
    const { scores, same } = randomTiedScores(new Rng(7), 6000, 6);
    const f32 = Float32Array.from(scores);
    verificationAccuracy(f32, same); // warm-up
    const times: number[] = [];
    for (let i = 0; i < 21; i++) {
      const t0 = process.hrtime.bigint();
      verificationAccuracy(f32, same);
      times.push(Number(process.hrtime.bigint() - t0) / 1e6);
    }
    times.sort((a, b) => a - b);
    console.log(
      `      verificationAccuracy 6000 pairs x 10 folds: min ${times[0].toFixed(2)} ms, ` +
        `median ${times[10].toFixed(2)} ms, max ${times[20].toFixed(2)} ms (21 runs after warm-up)`,
    );
  });
});
