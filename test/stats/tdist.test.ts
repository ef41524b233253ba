import { strict as assert } from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import { logGamma, regularizedIncompleteBeta, studentTCdf, studentTQuantile, studentTTwoSidedPValue } from '../../src/stats';

/** test/fixtures/stats-reference.json, written by test/fixtures/stats-reference.py (scipy 1.10). */
interface Reference {
  logGamma: { x: number; value: number }[];
  incompleteBeta: { x: number; a: number; b: number; value: number }[];
  tCdf: { t: number; df: number; cdf: number }[];
  tQuantile: { p: number; df: number; ppf: number; ppfScipyRaw: number }[];
}
const ref = JSON.parse(fs.readFileSync(path.join(__dirname, '..', 'fixtures', 'stats-reference.json'), 'utf8')) as Reference;

/** The accuracy target: 1e-10 absolute (relative for magnitudes above 1, where doubles have no 1e-10 resolution). */
const TOL = 1e-10;
function close(actual: number, expected: number, tol: number, what: string): void {
  assert.ok(Math.abs(actual - expected) <= tol * Math.max(1, Math.abs(expected)), `${what}: got ${actual}, expected ${expected} (diff ${actual - expected})`);
}

describe('stats: Student t distribution', () => {
  it('logGamma matches scipy.special.gammaln', () => {
    assert.ok(ref.logGamma.length >= 10);
    for (const r of ref.logGamma) close(logGamma(r.x), r.value, TOL, `logGamma(${r.x})`);
    // Exact values: Γ(1) = Γ(2) = 1, Γ(1/2) = √π, Γ(5) = 24.
    close(logGamma(1), 0, 1e-14, 'logGamma(1)');
    close(logGamma(2), 0, 1e-14, 'logGamma(2)');
    close(logGamma(0.5), 0.5 * Math.log(Math.PI), 1e-14, 'logGamma(0.5)');
    close(logGamma(5), Math.log(24), 1e-14, 'logGamma(5)');
  });

  it('regularizedIncompleteBeta matches scipy.special.betainc', () => {
    assert.ok(ref.incompleteBeta.length >= 50);
    for (const r of ref.incompleteBeta) close(regularizedIncompleteBeta(r.x, r.a, r.b), r.value, TOL, `I_${r.x}(${r.a}, ${r.b})`);
    // Closed forms: I_x(1, 1) = x, I_x(a, 1) = x^a, I_x(1/2, 1/2) = (2/π) asin(√x).
    close(regularizedIncompleteBeta(0.3, 1, 1), 0.3, 1e-14, 'I_0.3(1, 1)');
    close(regularizedIncompleteBeta(0.7, 3.5, 1), 0.7 ** 3.5, 1e-14, 'I_0.7(3.5, 1)');
    close(regularizedIncompleteBeta(0.2, 0.5, 0.5), (2 / Math.PI) * Math.asin(Math.sqrt(0.2)), 1e-14, 'I_0.2(0.5, 0.5)');
  });

  it('studentTCdf matches scipy.stats.t.cdf over t in [-1e4, 100] and df in {0.5, 1, 2, 3.5, 30, 1000, 1e6}', () => {
    assert.ok(ref.tCdf.length >= 100);
    for (const df of [1, 2, 3.5, 30, 1000]) assert.ok(ref.tCdf.some((r) => r.df === df), `df ${df} in the fixture`);
    for (const r of ref.tCdf) close(studentTCdf(r.t, r.df), r.cdf, TOL, `cdf(${r.t}; df ${r.df})`);
  });

  it('studentTCdf matches the closed forms of df = 1 (Cauchy) and df = 2 to 1e-14', () => {
    for (const t of [-1e6, -40, -3, -1, -0.2, 0, 0.2, 1, 3, 40]) {
      close(studentTCdf(t, 1), 0.5 + Math.atan(t) / Math.PI, 1e-14, `cdf(${t}; 1)`);
      close(studentTCdf(t, 2), 0.5 + t / (2 * Math.sqrt(2 + t * t)), 1e-14, `cdf(${t}; 2)`);
    }
  });

  it('keeps relative precision in the lower tail and is symmetric', () => {
    // Cauchy: P(T <= -t) = atan(1/t) / π; at t = 1e8 that is 3.18e-9, which 1 - upper-tail arithmetic would lose.
    const t = 1e8;
    const exact = Math.atan(1 / t) / Math.PI;
    assert.ok(Math.abs(studentTCdf(-t, 1) - exact) <= 1e-14 * exact);
    assert.ok(Math.abs(studentTTwoSidedPValue(t, 1) - 2 * exact) <= 1e-14 * exact);
    for (const df of [0.5, 1, 3.5, 30]) {
      for (const x of [0.1, 1, 2.5, 10]) close(studentTCdf(-x, df) + studentTCdf(x, df), 1, 2e-16, `symmetry ${x}, ${df}`);
    }
  });

  it('studentTQuantile matches scipy (t.ppf polished to 1e-15) incl. tails p = 1e-12 and 1e-6', () => {
    assert.ok(ref.tQuantile.length >= 80);
    for (const p of [1e-12, 1e-6]) assert.ok(ref.tQuantile.some((r) => r.p === p && r.df === 1), `p ${p} in the fixture`);
    for (const r of ref.tQuantile) {
      close(studentTQuantile(r.p, r.df), r.ppf, TOL, `ppf(${r.p}; df ${r.df})`);
      // The raw scipy 1.10 t.ppf (cdflib) is only good to ~1e-8; the polished value is the reference.
      close(studentTQuantile(r.p, r.df), r.ppfScipyRaw, 1e-7, `raw ppf(${r.p}; df ${r.df})`);
    }
  });

  it('studentTQuantile inverts studentTCdf (relative 1e-12 in the tails) and matches the df = 2 closed form', () => {
    for (const df of [0.3, 1, 2, 3.5, 9, 30, 1000, 1e8]) {
      // For df < 1 the 1e-300 quantile lies beyond the double range (|t| ~ 1e1000 for df 0.3).
      for (const p of df < 1 ? [1e-12, 1e-6, 0.01, 0.2, 0.4999] : [1e-300, 1e-12, 1e-6, 0.01, 0.2, 0.4999]) {
        const q = studentTQuantile(p, df);
        assert.ok(Number.isFinite(q) && q < 0, `q(${p}, ${df}) = ${q}`);
        assert.ok(Math.abs(studentTCdf(q, df) - p) <= 1e-12 * p, `cdf(q(${p}; ${df})) = ${studentTCdf(q, df)}`);
      }
    }
    for (const p of [1e-9, 0.025, 0.3, 0.7, 0.975]) {
      const exact = (2 * p - 1) / Math.sqrt(2 * p * (1 - p));
      close(studentTQuantile(p, 2), exact, 1e-14, `ppf(${p}; 2)`);
    }
    close(studentTQuantile(0.975, 1), Math.tan(Math.PI * 0.475), 1e-14, 'ppf(0.975; 1)');
  });

  it('handles the edges: p = 0, 0.5, 1, t = ±Infinity, quantiles beyond the double range, huge df', () => {
    assert.equal(studentTQuantile(0, 3), -Infinity);
    assert.equal(studentTQuantile(1, 3), Infinity);
    assert.equal(studentTQuantile(0.5, 3), 0);
    assert.equal(studentTCdf(-Infinity, 3), 0);
    assert.equal(studentTCdf(Infinity, 3), 1);
    assert.equal(studentTCdf(0, 0.01), 0.5);
    assert.equal(studentTTwoSidedPValue(0, 4), 1);
    assert.equal(studentTTwoSidedPValue(-Infinity, 4), 0);
    // df = 0.001: P(T <= -1.8e308) is still 0.34, so the 1% quantile is below -Number.MAX_VALUE.
    assert.equal(studentTQuantile(0.01, 0.001), -Infinity);
    assert.equal(studentTQuantile(0.99, 0.001), Infinity);
    // Huge df: the normal limit (Φ^-1(0.975) = 1.959963984540054).
    close(studentTQuantile(0.975, 1e300), 1.959963984540054, 1e-13, 'ppf(0.975; 1e300)');
    close(studentTCdf(-1.959963984540054, 1e15), 0.025, 1e-15, 'cdf(-1.96; 1e15)');
  });

  it('throws clear errors for invalid arguments', () => {
    assert.throws(() => studentTCdf(1, 0), { name: 'RangeError', message: 'studentTCdf needs degrees of freedom df > 0 (finite), got df = 0' });
    assert.throws(() => studentTCdf(1, Infinity), { message: 'studentTCdf needs degrees of freedom df > 0 (finite), got df = Infinity' });
    assert.throws(() => studentTCdf(NaN, 3), { message: 'studentTCdf needs a number t, got NaN' });
    assert.throws(() => studentTQuantile(1.5, 3), { name: 'RangeError', message: 'studentTQuantile needs 0 <= p <= 1, got p = 1.5' });
    assert.throws(() => studentTQuantile(NaN, 3), { message: 'studentTQuantile needs 0 <= p <= 1, got p = NaN' });
    assert.throws(() => studentTQuantile(0.5, -2), { message: 'studentTQuantile needs degrees of freedom df > 0 (finite), got df = -2' });
    assert.throws(() => studentTTwoSidedPValue(NaN, 3), { message: 'studentTTwoSidedPValue needs a number t, got NaN' });
    assert.throws(() => regularizedIncompleteBeta(1.5, 1, 1), { message: 'regularizedIncompleteBeta needs 0 <= x <= 1, got x = 1.5' });
    assert.throws(() => regularizedIncompleteBeta(0.5, 0, 1), { message: 'regularizedIncompleteBeta needs a finite a > 0, got a = 0' });
    assert.throws(() => regularizedIncompleteBeta(0.5, 1, NaN), { message: 'regularizedIncompleteBeta needs a finite b > 0, got b = NaN' });
    assert.throws(() => logGamma(0), { name: 'RangeError', message: 'logGamma needs x > 0, got 0' });
    assert.throws(() => logGamma(-1.5), { message: 'logGamma needs x > 0, got -1.5' });
  });
});
