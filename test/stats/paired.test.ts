import { strict as assert } from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import { MAX_PERMUTATION_PAIRS, pairedPermutationTest, pairedTTest } from '../../src/stats';
import { Rng } from '../../src/util/rng';

interface Interval {
  ciLow: number;
  ciHigh: number;
  ciLowScipyInterval: number;
  ciHighScipyInterval: number;
}
/** test/fixtures/stats-reference.json, written by test/fixtures/stats-reference.py (scipy 1.10). */
interface Reference {
  paired: { a: number[]; b: number[]; n: number; df: number; meanDiff: number; stdDiff: number; t: number; pValue: number; ci: Record<string, Interval> }[];
  permutation: { a: number[]; b: number[]; n: number; meanDiff: number; pValue: number }[];
}
const ref = JSON.parse(fs.readFileSync(path.join(__dirname, '..', 'fixtures', 'stats-reference.json'), 'utf8')) as Reference;

function close(actual: number | null, expected: number, tol: number, what: string): void {
  assert.ok(actual !== null, `${what}: got null`);
  assert.ok(Math.abs(actual - expected) <= tol * Math.max(1, Math.abs(expected)), `${what}: got ${actual}, expected ${expected} (diff ${actual - expected})`);
}

/** Brute force: every sign pattern, mean recomputed from scratch, ties by a relative 1e-9. */
function bruteForceP(a: readonly number[], b: readonly number[]): number {
  const d = a.map((v, i) => v - b[i]);
  const n = d.length;
  const obs = Math.abs(d.reduce((s, v) => s + v, 0) / n);
  let count = 0;
  for (let mask = 0; mask < 2 ** n; mask++) {
    let s = 0;
    for (let i = 0; i < n; i++) s += mask & (1 << i) ? -d[i] : d[i];
    if (Math.abs(s / n) >= obs * (1 - 1e-9)) count++;
  }
  return count / 2 ** n;
}

describe('stats: paired tests', () => {
  describe('pairedTTest', () => {
    it('matches scipy.stats.ttest_rel and t.interval on the reference pairs', () => {
      assert.ok(ref.paired.length >= 5);
      for (const r of ref.paired) {
        const what = `${JSON.stringify(r.a)} vs ${JSON.stringify(r.b)}`;
        assert.deepEqual(Object.keys(r.ci), ['0.9', '0.95', '0.99']);
        for (const [conf, ci] of Object.entries(r.ci)) {
          const res = pairedTTest(r.a, r.b, { confidence: Number(conf) });
          assert.equal(res.n, r.n);
          assert.equal(res.df, r.df);
          assert.equal(res.confidence, Number(conf));
          close(res.meanDiff, r.meanDiff, 1e-14, `${what} meanDiff`);
          close(res.stdDiff, r.stdDiff, 1e-12, `${what} stdDiff`);
          close(res.t, r.t, 1e-10, `${what} t`);
          close(res.pValue, r.pValue, 1e-10, `${what} pValue`);
          close(res.ciLow, ci.ciLow, 1e-10, `${what} ciLow @ ${conf}`);
          close(res.ciHigh, ci.ciHigh, 1e-10, `${what} ciHigh @ ${conf}`);
          const half = (ci.ciHigh - ci.ciLow) / 2;
          assert.ok(Math.abs((res.ciLow as number) - ci.ciLowScipyInterval) <= 2e-8 * Math.max(1, half), `${what} vs t.interval`);
          assert.ok(Math.abs((res.ciHigh as number) - ci.ciHighScipyInterval) <= 2e-8 * Math.max(1, half), `${what} vs t.interval`);
        }
      }
    });

    it('by hand: differences 1, 2, 3 give t = 2√3, df 2 and p = 1 - √(12/14) (closed form for df = 2)', () => {
      // d = [1, 2, 3]: mean 2, std 1, t = 2 / (1/√3) = 2√3. For df = 2, p = 1 - |t| / √(2 + t²) = 1 - √(12/14).
      const res = pairedTTest([2, 4, 6], [1, 2, 3]);
      assert.equal(res.meanDiff, 2);
      assert.equal(res.stdDiff, 1);
      close(res.t, 2 * Math.sqrt(3), 1e-15, 't');
      assert.equal(res.df, 2);
      close(res.pValue, 1 - Math.sqrt(12 / 14), 1e-14, 'p');
      const tc = 0.95 / Math.sqrt(2 * 0.975 * 0.025);
      close(res.ciLow, 2 - tc / Math.sqrt(3), 1e-14, 'ciLow');
      close(res.ciHigh, 2 + tc / Math.sqrt(3), 1e-14, 'ciHigh');
    });

    it('n = 1: statistic fields are null', () => {
      const res = pairedTTest([0.9], [0.85]);
      assert.deepEqual(res, { n: 1, meanDiff: 0.9 - 0.85, stdDiff: null, t: null, df: null, pValue: null, ciLow: null, ciHigh: null, confidence: 0.95 });
      assert.deepEqual(JSON.parse(JSON.stringify(res)), res);
    });

    it('all differences equal: t is null, p 0 when the mean differs from 0 and 1 when it is 0', () => {
      const shifted = pairedTTest([1, 2, 3], [0.5, 1.5, 2.5]);
      assert.deepEqual(shifted, { n: 3, meanDiff: 0.5, stdDiff: 0, t: null, df: 2, pValue: 0, ciLow: 0.5, ciHigh: 0.5, confidence: 0.95 });
      const same = pairedTTest([0.7, 0.8], [0.7, 0.8]);
      assert.deepEqual(same, { n: 2, meanDiff: 0, stdDiff: 0, t: null, df: 1, pValue: 1, ciLow: 0, ciHigh: 0, confidence: 0.95 });
      assert.deepEqual(JSON.parse(JSON.stringify(shifted)), shifted);
    });

    it('throws clear errors', () => {
      assert.throws(() => pairedTTest([1, 2, 3], [1, 2]), { name: 'RangeError', message: 'pairedTTest: a has 3 values but b has 2; paired samples need the same length' });
      assert.throws(() => pairedTTest([], []), { message: 'pairedTTest: need at least one pair, got empty arrays' });
      assert.throws(() => pairedTTest([1, 2], [1, Infinity]), { message: 'pairedTTest: b[1] is not a finite number (got Infinity)' });
      assert.throws(() => pairedTTest([NaN, 2], [1, 2]), { message: 'pairedTTest: a[0] is not a finite number (got NaN)' });
      assert.throws(() => pairedTTest([1, 2], [1, 2], { confidence: 1.5 }), {
        message: 'pairedTTest: confidence must be a number strictly between 0 and 1 (a fraction such as 0.95), got 1.5',
      });
    });
  });

  describe('pairedPermutationTest', () => {
    it('by hand: n = 3 with all differences positive cannot go below p = 2/8 = 0.25', () => {
      assert.deepEqual(pairedPermutationTest([0.92, 0.91, 0.93], [0.90, 0.90, 0.90]), { n: 3, meanDiff: (0.92 - 0.9 + (0.91 - 0.9) + (0.93 - 0.9)) / 3, pValue: 0.25 });
      // Even a huge, consistent effect: only the observed pattern and its mirror reach |mean|.
      assert.equal(pairedPermutationTest([100, 200, 300], [0, 0, 0]).pValue, 0.25);
      assert.equal(pairedPermutationTest([1, 1], [0, 0]).pValue, 0.5);
      assert.equal(pairedPermutationTest([1, 1, 1, 1, 1, 1], [0, 0, 0, 0, 0, 0]).pValue, 2 / 64);
    });

    it('by hand: differences 1, 2, -0.5 (sum 2.5) -> sums ±3.5, ±2.5 reach it: p = 4/8', () => {
      // The eight sums ±1 ±2 ±0.5: 3.5, 2.5, -0.5, -1.5, 1.5, 0.5, -2.5, -3.5.
      assert.equal(pairedPermutationTest([1, 2, -0.5], [0, 0, 0]).pValue, 0.5);
    });

    it('n = 1 and all-zero differences give p = 1', () => {
      assert.deepEqual(pairedPermutationTest([0.5], [0.25]), { n: 1, meanDiff: 0.25, pValue: 1 });
      assert.equal(pairedPermutationTest([0.7, 0.8, 0.9], [0.7, 0.8, 0.9]).pValue, 1);
    });

    it('float ties: sums equal in exact arithmetic count as ties although rounding splits them', () => {
      // d = 0.56, 0.67, 0.24 (all positive): p must be 2/8. Without the tie tolerance the mirrored sum rounds
      // to below the observed one and the count gives 1/8, under the floor 2/2^n.
      assert.equal(pairedPermutationTest([1.35, 1.47, 0.84], [0.79, 0.8, 0.6]).pValue, 0.25);
      // d = -0.86, -0.45, 0.45, -0.01 (|observed sum| 0.87): ±0.86 ±0.01 with the 0.45 cancelling reach 0.87 in
      // 4 patterns, ±(0.9 + 0.86) ± 0.01 in 4 more: p = 8/16 (without the tolerance: 6/16).
      assert.equal(pairedPermutationTest([0.64, 0.81, 1.22, 0.6], [1.5, 1.26, 0.77, 0.61]).pValue, 0.5);
      // 0.3 - 0.1 - 0.2 is -2.8e-17 in doubles, exactly 0: every pattern ties.
      assert.equal(pairedPermutationTest([0.3, 0, 0], [0, 0.1, 0.2]).pValue, 1);
    });

    it('matches scipy.stats.permutation_test (permutation_type="samples", exact) on the reference pairs', () => {
      assert.ok(ref.permutation.length >= 5);
      for (const r of ref.permutation) {
        const res = pairedPermutationTest(r.a, r.b);
        assert.equal(res.n, r.n);
        close(res.meanDiff, r.meanDiff, 1e-14, 'meanDiff');
        assert.equal(res.pValue, r.pValue, `${JSON.stringify(r.a)} vs ${JSON.stringify(r.b)}`);
      }
    });

    it('matches a brute-force enumeration on random paired samples (n = 1..12)', () => {
      const rng = new Rng(2024);
      for (let trial = 0; trial < 60; trial++) {
        const n = 1 + (trial % 12);
        const b = Array.from({ length: n }, () => rng.uniform(0.85, 0.95));
        // Mixed: effects of either sign, some rounded to 3 decimals so that ties between patterns occur.
        const a = b.map((v) => (trial % 3 === 0 ? Math.round((v + rng.uniform(-0.01, 0.02)) * 1000) / 1000 : v + rng.normal(0.003, 0.01)));
        assert.equal(pairedPermutationTest(a, b).pValue, bruteForceP(a, b), `trial ${trial}`);
      }
    });

    it(`enumerates n = ${MAX_PERMUTATION_PAIRS} (2^20 patterns) and refuses more`, () => {
      const a = Array.from({ length: 20 }, (_, i) => 1 + i);
      const b = new Array<number>(20).fill(0);
      assert.equal(pairedPermutationTest(a, b).pValue, 2 / 2 ** 20);
      assert.throws(() => pairedPermutationTest([...a, 21], [...b, 0]), {
        name: 'RangeError',
        message: 'pairedPermutationTest: the exact test enumerates all 2^n sign patterns and is limited to n <= 20 pairs, got n = 21',
      });
    });

    it('throws clear errors', () => {
      assert.throws(() => pairedPermutationTest([1], [1, 2]), { message: 'pairedPermutationTest: a has 1 values but b has 2; paired samples need the same length' });
      assert.throws(() => pairedPermutationTest([], []), { message: 'pairedPermutationTest: need at least one pair, got empty arrays' });
      assert.throws(() => pairedPermutationTest([1, NaN], [1, 2]), { message: 'pairedPermutationTest: a[1] is not a finite number (got NaN)' });
    });
  });
});
