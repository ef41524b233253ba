import { strict as assert } from 'assert';
import { nativeKernelsNote } from '../../src/backends/select';
import type { NativeKernelsStatus } from '../../src/backends/native-kernels';
import { backendLabel, planRuns, resolveExperiment, summarizeExperiment, mainTable, pairedTable, markdownReport, signalTable } from '../../src/experiments';
import { tableToMarkdown } from '../../src/report/table';
import { fakeResult } from './fake-result';

// Reference values: scipy 1.10 (Debian python3-scipy):
//   stats.ttest_rel([0.91, 0.95, 0.96], [0.90, 0.92, 0.94]) -> t 3.464101615137767, p 0.07417990022744805
//   stats.t.ppf(0.975, 2) * 0.02 / sqrt(3) = 0.04968275423687506  (CI half-width of the baseline's mean)
//   stats.t.ppf(0.975, 2) * 0.01 / sqrt(3) = 0.02484137711843753  (CI half-width of the mean difference)
const close = (a: number | null | undefined, b: number, tol = 1e-9): void => {
  assert.ok(a !== null && a !== undefined && Math.abs(a - b) < tol, `${a} != ${b}`);
};

describe('experiments: summary statistics over the store', () => {
  const exp = resolveExperiment({ name: 'sum', base: {}, variants: [{ name: 'a', label: 'A' }, { name: 'b', label: 'B' }], seeds: [0, 1, 2, 3] });
  const runs = planRuns(exp);
  const acc: Record<string, number[]> = { a: [0.9, 0.92, 0.94], b: [0.91, 0.95, 0.96] };
  const outcomes = runs.map((run) => {
    if (run.seed === 3) return run.variant === 'b' ? { run, result: null, status: 'failed', error: 'boom' } : { run, result: null, status: 'missing' };
    return { run, result: fakeResult(acc[run.variant][run.seed], run.seed, { imgPerSec: 100 + run.seed, foldStd: 0.01 * (run.seed + 1) }), status: 'done' };
  });
  const s = summarizeExperiment(exp, outcomes);

  it('mean, sample std and 95% t interval per variant, against hand/scipy values', () => {
    const a = s.variants[0].metrics.verificationAccuracy;
    close(a?.mean, 0.92);
    close(a?.std ?? null, 0.02);
    close(a?.ciLow ?? null, 0.92 - 0.04968275423687506);
    close(a?.ciHigh ?? null, 0.92 + 0.04968275423687506);
    close(s.variants[0].foldStd, (0.01 + 0.02 + 0.03) / 3);
    assert.deepEqual(s.variants[0].seeds, [0, 1, 2]);
  });

  it('paired difference against the baseline: t-test and exact sign-flip p-values', () => {
    assert.equal(s.variants[0].vsBaseline, null);
    const d = s.variants[1].vsBaseline?.verificationAccuracy;
    assert.equal(d?.n, 3);
    close(d?.meanDiff, 0.02);
    close(d?.pT ?? null, 0.07417990022744805, 1e-9);
    close(d?.pPermutation ?? null, 0.25); // 3 positive differences: 2 of the 8 sign patterns are as extreme
    close(d?.ciLow ?? null, 0.02 - 0.02484137711843753);
  });

  it('failed and missing runs are counted and listed, never averaged', () => {
    assert.equal(s.variants[1].failed, 1);
    assert.equal(s.variants[0].missing, 1);
    assert.deepEqual(s.failed.map((f) => [f.variant, f.seed, f.error]), [['b', 3, 'boom']]);
    assert.deepEqual(s.missing.map((f) => [f.variant, f.seed, f.status]), [['a', 3, 'missing']]);
    assert.equal(s.runs.length, 6);
  });

  it('tables: percent with mean ± std and the interval; paired deltas with p-values; notes', () => {
    const md = tableToMarkdown(mainTable(s));
    assert.match(md, /\| A \| 3 \(1 missing\) \| 92\.00 ± 2\.00 \| \[87\.03, 96\.97\] \|/);
    assert.match(md, /\| B \| 3 \(\+1 failed\) \| 94\.00 ± 2\.65 \|/);
    const pd = tableToMarkdown(pairedTable(s));
    assert.match(pd, /\| B \| 3 \| \+2\.00 \| \[−0\.48, \+4\.48\] \| 0\.074 \| 0\.250 \|/);
    const report = markdownReport(s);
    assert.match(report, /Paired against \*\*A\*\*/);
    assert.match(report, /Failed runs: b seed 3 \(boom\)/);
    assert.match(report, /Not finished: a seed 3 \(missing\)/);
  });

  it('backendLabel names the native kernels and their threads when the backend note says they were on', () => {
    // notes written by the backend's own formatter, so a change of its wording fails here
    const note = (n: NativeKernelsStatus): Record<string, string> => ({ 'backend:wasm': `4.22.0 (wasm, SIMD, 1 thread, +4 gradient kernels; ${nativeKernelsNote(n)})` });
    const blas = 'OpenBLAS 0.3.21 NO_LAPACKE DYNAMIC_ARCH';
    assert.equal(backendLabel({ backend: 'wasm', versions: note({ active: true, threads: 1, blas }) }), 'wasm + native (1 thread)');
    assert.equal(backendLabel({ backend: 'wasm', versions: note({ active: true, threads: 2, blas }) }), 'wasm + native (2 threads)');
    assert.equal(backendLabel({ backend: 'wasm', versions: note({ active: false, reason: 'COREFACE_NATIVE=0' }) }), 'wasm');
    assert.equal(backendLabel({ backend: 'wasm', versions: { 'backend:wasm': '4.22.0 (wasm, SIMD, 1 thread (tfjs disables threads in Node), +4 gradient kernels; native kernels on (conv, matmul, sums via OpenBLAS 0.3.21, 1 thread))' } }), 'wasm + native (1 thread)');
    assert.equal(backendLabel({ backend: 'wasm', versions: {} }), 'wasm');
  });

  it('fit columns and where the regulariser\'s signal goes, from result.json fields, by hand', () => {
    const ex = resolveExperiment({ name: 'sig', base: {}, variants: [{ name: 'base', label: 'Base' }, { name: 'cf', label: 'CF', overrides: { coreface: { enabled: true, startEpoch: 1, wC: 0.05 }, training: { epochs: 2 } } }], seeds: [0, 1] });
    const outs = planRuns(ex).map((run) => {
      const r = fakeResult(0.9, run.seed, { imgPerSec: 100 + run.seed, foldStd: 0.01 * (run.seed + 1) });
      r.config = run.config;
      r.fit = { trainAccuracy: 0.97 + 0.01 * run.seed, trainImages: 10, heldOut: { ...r.final.verification, accuracy: 0.95, images: 4, pairs: 2 }, gap: 0.05 };
      // final epoch: total loss 4, L_con 2 (weighted 0.05 * 2 = 0.1: 2.5% of the total), margin 0.3 / 0.5
      r.epochs = [{ type: 'epoch', epoch: 1, globalStep: 2, lr: 0.1, meanLoss: 4, meanAccuracy: 0.9, seconds: 1,
        meanTerms: run.variant === 'cf' ? { ce1: 3, ce2: 3, con12: 2, con21: 0 } : { ce: 4 }, margin: run.variant === 'cf' ? 0.3 + 0.2 * run.seed : null }];
      return { run, result: r, status: 'done' };
    });
    const sum = summarizeExperiment(ex, outs);
    const cf = sum.runs.filter((r) => r.variant === 'cf');
    assert.deepEqual(cf.map((r) => [r.contrastiveLoss, r.contrastiveShare, r.margin, r.trainAccuracy, r.gap]), [[2, 0.025, 0.3, 0.97, 0.05], [2, 0.025, 0.5, 0.98, 0.05]]);
    assert.ok(sum.runs.filter((r) => r.variant === 'base').every((r) => r.contrastiveLoss === null && r.margin === null));
    close(sum.variants[1].metrics.trainAccuracy?.mean, 0.975);
    close(sum.variants[1].metrics.gap?.mean, 0.05);
    const t = signalTable(sum);
    assert.ok(t);
    assert.deepEqual(t.columns, ['variant', 'runs', 'L_con (final epoch)', 'wC·L_con / total loss %', 'margin (end)', 'train acc %', 'gap (pts)']);
    assert.deepEqual(t.rows, [['CF', 2, '2.000', '2.50', '0.400', '97.50', '5.00']]);
    assert.match(markdownReport(sum), /Where the regulariser's signal goes/);
    assert.equal(signalTable(summarizeExperiment(ex, outs.filter((o) => o.run.variant === 'base'))), null);
  });
});
