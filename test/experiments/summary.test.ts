import { strict as assert } from 'assert';
import { markdownTable, MethodSummary } from '../../src/experiments/summary';
import { meanStd } from '../../src/report/table';

describe('experiments: summary statistics', () => {
  it('mean and sample std (n - 1) by hand', () => {
    // values 0.8, 0.9, 1.0: mean 0.9; deviations -0.1, 0, 0.1; sum sq 0.02; / 2 = 0.01; sqrt = 0.1
    const s = meanStd([0.8, 0.9, 1.0]);
    assert.ok(Math.abs(s.mean - 0.9) < 1e-12);
    assert.ok(Math.abs(s.std - 0.1) < 1e-12);
    assert.equal(meanStd([0.5]).std, 0);
    assert.ok(Number.isNaN(meanStd([]).mean));
  });
  it('formats the table in percent with mean ± std and marks missing values', () => {
    const stat = (mean: number, std: number, n = 2) => ({ mean, std, n });
    const none = { mean: NaN, std: NaN, n: 0 };
    const m: MethodSummary = {
      method: 'a', label: 'A', seeds: [0, 1], failed: 1,
      metrics: { verificationAccuracy: stat(0.9, 0.01), tarAtFar1e3: none, rank1: stat(0.5, 0), dirAtFpir1e2: stat(0.25, 0.05), auc: stat(0.95, 0.001), eer: stat(0.1, 0.01), imgPerSec: stat(120.4, 3) },
    };
    const md = markdownTable([m]);
    assert.match(md, /\| A \| 2 \(\+1 failed\) \| 90\.00 ± 1\.00 \| n\/a \| 50\.00 ± 0\.00 \| 25\.00 ± 5\.00 \| 95\.00 ± 0\.10 \| 10\.00 ± 1\.00 \| 120 \|/);
  });
});
