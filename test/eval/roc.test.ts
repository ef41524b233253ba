import { strict as assert } from 'assert';
import { eer, rocAuc, rocCurve, tarAtFar, tarAtFarLevels } from '../../src/eval';
import { Rng } from '../../src/util/rng';
import { naiveAuc, naiveEer, naiveRoc, naiveTarAtFar, randomTiedScores } from './naive';

const close = (a: number, b: number, tol = 1e-12): void => assert.ok(Math.abs(a - b) <= tol, `${a} != ${b}`);

// Hand example: scores / labels  0.9 G, 0.8 I, 0.8 G, 0.5 I, 0.3 G  (3 genuine, 2 impostor).
const S = [0.9, 0.8, 0.8, 0.5, 0.3];
const Y = [1, 0, 1, 0, 1];

describe('eval/roc', () => {
  it('rocCurve on the hand example: ties form one point, (0,0) -> (1,1)', () => {
    // t = +Inf: (0, 0); t = 0.9: 1 G -> (0, 1/3); t = 0.8: +1 G +1 I (tie, one point) -> (1/2, 2/3);
    // t = 0.5: +1 I -> (1, 2/3); t = 0.3: +1 G -> (1, 1).
    const r = rocCurve(S, Y);
    assert.deepEqual(Array.from(r.thresholds), [Infinity, 0.9, 0.8, 0.5, 0.3]);
    assert.deepEqual(Array.from(r.fpr), [0, 0, 0.5, 1, 1]);
    assert.deepEqual(Array.from(r.tpr), [0, 1 / 3, 2 / 3, 2 / 3, 1]);
  });

  it('rocAuc on the hand example = 7/12 (trapezoid and Mann-Whitney agree)', () => {
    // Trapezoid: 0.5 * (1/3 + 2/3) / 2 + 0.5 * 2/3 = 0.25 + 1/3 = 7/12.
    // Mann-Whitney over the 6 G/I pairs: 0.9>0.8, 0.9>0.5, 0.8=0.8 (1/2), 0.8>0.5, 0.3<0.8, 0.3<0.5 -> 3.5 / 6.
    close(rocAuc(S, Y), 7 / 12);
  });

  it('eer on the hand example = 0.4', () => {
    // FPR + TPR - 1 along the curve: -1, -2/3, +1/6 -> crossing between (0, 1/3) and (1/2, 2/3) at
    // a = (2/3) / (2/3 + 1/6) = 4/5: FPR = 0.8 * 0.5 = 0.4, TPR = 1/3 + 0.8 * 1/3 = 0.6 -> FNR 0.4.
    close(eer(S, Y), 0.4);
  });

  it('tarAtFar on the hand example', () => {
    // Points (fpr, tpr): (0,0) (0,1/3) (1/2,2/3) (1,2/3) (1,1).
    close(tarAtFar(S, Y, 0), 1 / 3);
    close(tarAtFar(S, Y, 0.49), 1 / 3);
    close(tarAtFar(S, Y, 0.5), 2 / 3);
    close(tarAtFar(S, Y, 1), 1);
    // Two impostors: levels below 1/2 are unsupported -> null.
    const lv = tarAtFarLevels(S, Y, [0.5, 0.1]);
    assert.deepEqual(Object.keys(lv), ['5e-1', '1e-1']);
    close(lv['5e-1'] as number, 2 / 3);
    assert.equal(lv['1e-1'], null);
  });

  it('perfect separation: AUC 1, EER 0, TAR 1 at every supported FAR', () => {
    const scores = [0.9, 0.8, 0.7, 0.2, 0.1, 0.0];
    const same = [true, true, true, false, false, false];
    assert.equal(rocAuc(scores, same), 1);
    assert.equal(eer(scores, same), 0);
    assert.equal(tarAtFar(scores, same, 0), 1);
    // 3 impostors: 1e-1 < 1/3 is unsupported; default levels all null.
    assert.deepEqual(tarAtFarLevels(scores, same), {
      '1e-1': null, '1e-2': null, '1e-3': null, '1e-4': null, '1e-5': null, '1e-6': null,
    });
    assert.deepEqual(tarAtFarLevels(scores, same, [1 / 3, 1]), { '3.333333333333333e-1': 1, '1e+0': 1 });
  });

  it('inverted scores: AUC 0, EER 1, TAR 0 below FAR 1', () => {
    const scores = [0.1, 0.2, 0.3, 0.7, 0.8, 0.9];
    const same = [1, 1, 1, 0, 0, 0];
    assert.equal(rocAuc(scores, same), 0);
    assert.equal(eer(scores, same), 1);
    assert.equal(tarAtFar(scores, same, 0.99), 0);
    assert.equal(tarAtFar(scores, same, 1), 1);
  });

  it('all ties: ROC is the diagonal (0,0)-(1,1), AUC 0.5, EER 0.5', () => {
    const scores = new Float32Array(10).fill(0.25);
    const same = [1, 0, 1, 0, 1, 0, 0, 0, 1, 1];
    const r = rocCurve(scores, same);
    assert.deepEqual(Array.from(r.fpr), [0, 1]);
    assert.deepEqual(Array.from(r.tpr), [0, 1]);
    assert.equal(rocAuc(scores, same), 0.5);
    assert.equal(eer(scores, same), 0.5);
    assert.equal(tarAtFar(scores, same, 0.5), 0);
  });

  it('matches naive brute-force references on random tied inputs', () => {
    const rng = new Rng(11);
    for (let trial = 0; trial < 100; trial++) {
      const n = 2 + rng.int(300);
      const { scores, same } = randomTiedScores(rng, n, 1 + rng.int(2), rng.uniform(-0.6, 0.6));
      const P = same.filter((v) => v === 1).length;
      if (P === 0 || P === n) continue;
      const ref = naiveRoc(scores, same);
      const r = rocCurve(scores, same);
      assert.deepEqual(Array.from(r.fpr), ref.fpr, `trial ${trial}`);
      assert.deepEqual(Array.from(r.tpr), ref.tpr, `trial ${trial}`);
      assert.deepEqual(Array.from(r.thresholds), ref.t, `trial ${trial}`);
      close(rocAuc(scores, same), naiveAuc(scores, same));
      close(eer(scores, same), naiveEer(scores, same), 1e-12);
      for (const far of [0, 0.001, 0.01, 0.05, 0.1, 0.3, 0.5, 1]) {
        assert.equal(tarAtFar(scores, same, far), naiveTarAtFar(scores, same, far), `trial ${trial} far ${far}`);
      }
    }
  });

  it('tarAtFarLevels on 3000 impostors: supports 1e-1..1e-3, null below', () => {
    const { scores, same } = randomTiedScores(new Rng(12), 6000, 3);
    const N = same.filter((v) => v === 0).length;
    const lv = tarAtFarLevels(scores, same);
    for (const [key, far] of [['1e-1', 1e-1], ['1e-2', 1e-2], ['1e-3', 1e-3]] as const) {
      if (far >= 1 / N) assert.equal(lv[key], naiveTarAtFar(scores, same, far));
    }
    assert.equal(lv['1e-4'], null);
    assert.equal(lv['1e-6'], null);
    assert.doesNotThrow(() => JSON.stringify(lv));
  });

  it('rejects bad input with clear messages', () => {
    assert.throws(() => rocCurve([0.1, 0.2], [1]), /rocCurve: scores and isSame must have the same length/);
    assert.throws(() => rocAuc([0.1, 0.2], [1, 1]), /rocAuc: needs at least one genuine and one impostor pair, got 2 genuine and 0/);
    assert.throws(() => eer([0.1, Infinity], [1, 0]), /eer: scores must be finite numbers, got Infinity at index 1/);
    assert.throws(() => tarAtFar([0.1, 0.2], [1, 0], 1.5), /far must be a number in \[0, 1\], got 1.5/);
    assert.throws(() => tarAtFarLevels([0.1, 0.2], [1, 0], [-1]), /levels must be numbers in \[0, 1\], got -1/);
  });
});
