// The bench's median interval (bench/stats.ts) against the sign-test interval worked out by hand.
import { strict as assert } from 'assert';
import { medianInterval, summarize } from '../../bench/stats';

describe('bench: medianInterval', () => {
  it('is the sign-test interval: n = 10 at 95% gives the 2nd and 9th values', () => {
    // P(Bin(10, 1/2) <= 1) = 11/1024 = 0.0107 <= 0.025 < P(<= 2) = 56/1024 = 0.0547, so k = 2
    const x = [9, 3, 7, 1, 10, 4, 2, 8, 6, 5];
    assert.deepEqual(medianInterval(x), [2, 9]);
    // at 90%: P(<= 2) = 0.0547 > 0.05, still k = 2; at 80%: 0.0547 <= 0.1 < P(<= 3) = 176/1024, k = 3
    assert.deepEqual(medianInterval(x, 0.9), [2, 9]);
    assert.deepEqual(medianInterval(x, 0.8), [3, 8]);
  });

  it('n = 101 at 95% gives the 41st and 61st values; too few values give NaN', () => {
    // P(Bin(101, 1/2) <= 40) = 0.0230 <= 0.025 < P(<= 41) = 0.0364 (exact binomial sums); the values are 0..100
    const x = Array.from({ length: 101 }, (_, i) => 100 - i);
    assert.deepEqual(medianInterval(x), [40, 60]);
    assert.equal(summarize(x).median, 50);
    assert.ok(medianInterval([1, 2, 3, 4, 5]).every(Number.isNaN));
    assert.throws(() => medianInterval(x, 1), /level/);
  });
});
