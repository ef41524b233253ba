import { strict as assert } from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import { DEFAULT_CONFIDENCE, summarizeSample } from '../../src/stats';

interface Interval {
  ciLow: number;
  ciHigh: number;
  ciLowScipyInterval: number;
  ciHighScipyInterval: number;
}
/** test/fixtures/stats-reference.json, written by test/fixtures/stats-reference.py (scipy 1.10). */
interface Reference {
  summaries: { values: number[]; n: number; mean: number; std: number; sem: number; min: number; max: number; ci: Record<string, Interval> }[];
}
const ref = JSON.parse(fs.readFileSync(path.join(__dirname, '..', 'fixtures', 'stats-reference.json'), 'utf8')) as Reference;

function close(actual: number | null, expected: number, tol: number, what: string): void {
  assert.ok(actual !== null, `${what}: got null`);
  assert.ok(Math.abs(actual - expected) <= tol * Math.max(1, Math.abs(expected)), `${what}: got ${actual}, expected ${expected} (diff ${actual - expected})`);
}

describe('stats: summarizeSample', () => {
  it('matches numpy / scipy.stats.sem / t.interval on the reference samples (confidence 0.9, 0.95, 0.99)', () => {
    assert.ok(ref.summaries.length >= 5);
    for (const r of ref.summaries) {
      assert.deepEqual(Object.keys(r.ci), ['0.9', '0.95', '0.99']);
      for (const [conf, ci] of Object.entries(r.ci)) {
        const s = summarizeSample(r.values, { confidence: Number(conf) });
        const what = `${JSON.stringify(r.values)} @ ${conf}`;
        assert.equal(s.n, r.n);
        assert.equal(s.confidence, Number(conf));
        close(s.mean, r.mean, 1e-14, `${what} mean`);
        close(s.std, r.std, 1e-12, `${what} std`);
        close(s.sem, r.sem, 1e-12, `${what} sem`);
        assert.equal(s.min, r.min);
        assert.equal(s.max, r.max);
        close(s.ciLow, ci.ciLow, 1e-10, `${what} ciLow`);
        close(s.ciHigh, ci.ciHigh, 1e-10, `${what} ciHigh`);
        // scipy 1.10's t.interval uses t.ppf from cdflib, good to ~1e-8 relative: agree to that precision.
        const half = (ci.ciHigh - ci.ciLow) / 2;
        assert.ok(Math.abs((s.ciLow as number) - ci.ciLowScipyInterval) <= 2e-8 * Math.max(1, half), `${what} vs t.interval`);
        assert.ok(Math.abs((s.ciHigh as number) - ci.ciHighScipyInterval) <= 2e-8 * Math.max(1, half), `${what} vs t.interval`);
      }
    }
  });

  it('by hand: [1, 2, 3] has mean 2, std 1, sem 1/√3 and the 95% interval 2 ± t/√3 with t = 0.95/√0.04875', () => {
    // t_{0.975, 2} in closed form (df = 2: t = (2p - 1) / √(2p(1 - p))) = 4.30265272974946...; scipy 1.10's
    // t.ppf(0.975, 2) gives 4.302652729911275, 1.6e-10 off.
    const t = 0.95 / Math.sqrt(2 * 0.975 * 0.025);
    const s = summarizeSample([3, 1, 2]);
    assert.equal(DEFAULT_CONFIDENCE, 0.95);
    assert.equal(s.confidence, 0.95);
    assert.equal(s.n, 3);
    assert.equal(s.mean, 2);
    assert.equal(s.std, 1);
    close(s.sem, 1 / Math.sqrt(3), 1e-15, 'sem');
    close(s.ciLow, 2 - t / Math.sqrt(3), 1e-14, 'ciLow');
    close(s.ciHigh, 2 + t / Math.sqrt(3), 1e-14, 'ciHigh');
    assert.equal(s.min, 1);
    assert.equal(s.max, 3);
  });

  it('n = 1 gives null spread and interval (JSON-friendly, no NaN)', () => {
    const s = summarizeSample([0.93]);
    assert.deepEqual(s, { n: 1, mean: 0.93, std: null, sem: null, ciLow: null, ciHigh: null, confidence: 0.95, min: 0.93, max: 0.93 });
    assert.deepEqual(JSON.parse(JSON.stringify(s)), s);
  });

  it('all-equal values give exactly that mean, std 0 and a zero-width interval', () => {
    const s = summarizeSample([0.1, 0.1, 0.1]);
    assert.equal(s.mean, 0.1);
    assert.equal(s.std, 0);
    assert.equal(s.sem, 0);
    assert.equal(s.ciLow, 0.1);
    assert.equal(s.ciHigh, 0.1);
  });

  it('keeps the digits of values with a large common offset', () => {
    const s = summarizeSample([1e9 + 1, 1e9 + 2, 1e9 + 3]);
    assert.equal(s.mean, 1e9 + 2);
    assert.equal(s.std, 1);
  });

  it('throws clear errors for empty input, non-finite values and a bad confidence', () => {
    assert.throws(() => summarizeSample([]), { name: 'RangeError', message: 'summarizeSample: need at least one value, got an empty array' });
    assert.throws(() => summarizeSample([0.9, NaN]), { name: 'RangeError', message: 'summarizeSample: values[1] is not a finite number (got NaN)' });
    assert.throws(() => summarizeSample([0.9, 0.8, -Infinity]), { message: 'summarizeSample: values[2] is not a finite number (got -Infinity)' });
    assert.throws(() => summarizeSample([0.9, '0.8' as unknown as number]), { message: 'summarizeSample: values[1] is not a finite number (got "0.8")' });
    assert.throws(() => summarizeSample(null as unknown as number[]), { name: 'TypeError', message: 'summarizeSample: values must be an array of numbers' });
    const bad = 'summarizeSample: confidence must be a number strictly between 0 and 1 (a fraction such as 0.95), got';
    assert.throws(() => summarizeSample([1, 2], { confidence: 95 }), { message: `${bad} 95` });
    assert.throws(() => summarizeSample([1, 2], { confidence: 1 }), { message: `${bad} 1` });
    assert.throws(() => summarizeSample([1, 2], { confidence: 0 }), { message: `${bad} 0` });
    assert.throws(() => summarizeSample([1, 2], { confidence: NaN }), { message: `${bad} NaN` });
  });
});
