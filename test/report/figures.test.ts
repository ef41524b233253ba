import { strict as assert } from 'assert';
import {
  HISTOGRAM_BINS, MAX_CURVE_POINTS, ROC_FAR_RANGE, VARIANT_COLORS, downsampleIndices, embeddingScatterFigure,
  marginTraceFigure, representativeRun, rocFigure, rocPoints, scoreHistogramFigure, trainingCurvesFigure,
  variantBarsFigure,
} from '../../src/report/figures';
import type { ReportRun, ReportStat } from '../../src/report/report-data';
import type { PlotTrace } from '../../src/report/plot';
import { Rng } from '../../src/util/rng';

const close = (a: number, b: number, tol = 1e-12): void => assert.ok(Math.abs(a - b) <= tol, `${a} != ${b}`);
const arr = (t: PlotTrace, k: string): number[] => t[k] as number[];

function run(variant: string, seed: number, extra: Partial<ReportRun> = {}): ReportRun {
  return { variant, seed, epochs: [], steps: [], ...extra };
}

// Hand scores: genuine 0.9 0.8 0.6 0.3, impostor 0.7 0.5 0.2 0.1.
// Descending: 0.9G (0, .25), 0.8G (0, .5), 0.7I (.25, .5), 0.6G (.25, .75), 0.5I (.5, .75), 0.3G (.5, 1),
// 0.2I (.75, 1), 0.1I (1, 1); the points with FAR 0 are dropped on the log axis.
const HAND = { genuine: [0.9, 0.8, 0.6, 0.3], impostor: [0.7, 0.5, 0.2, 0.1] };
const HAND_FAR = [0.25, 0.25, 0.5, 0.5, 0.75, 1];
const HAND_TAR = [0.5, 0.75, 0.75, 1, 1, 1];

describe('report/figures', () => {
  it('downsampleIndices keeps everything up to max, else <= max evenly spaced with both ends', () => {
    assert.deepEqual(downsampleIndices(5, 10), [0, 1, 2, 3, 4]);
    assert.deepEqual(downsampleIndices(0), []);
    assert.deepEqual(downsampleIndices(9, 3), [0, 4, 8]);
    const d = downsampleIndices(10000);
    assert.ok(d.length <= MAX_CURVE_POINTS);
    assert.equal(d[0], 0);
    assert.equal(d[d.length - 1], 9999);
    assert.ok(d.every((v, i) => i === 0 || v > d[i - 1]));
    assert.throws(() => downsampleIndices(5, 1), /max must be an integer >= 2/);
  });

  it('rocPoints on 4 genuine + 4 impostor hand scores gives the hand-derived points', () => {
    const p = rocPoints(HAND.genuine, HAND.impostor);
    assert.deepEqual(p.far, HAND_FAR);
    assert.deepEqual(p.tar, HAND_TAR);
    assert.throws(() => rocPoints([], [0.1]), /at least one genuine/);
  });

  it('rocPoints reduces large curves to <= 400 exact TAR@FAR operating points', () => {
    const rng = new Rng(3);
    const genuine = Array.from({ length: 3000 }, () => rng.normal(0.6, 0.15));
    const impostor = Array.from({ length: 5000 }, () => rng.normal(0.1, 0.15));
    const p = rocPoints(genuine, impostor);
    assert.ok(p.far.length <= MAX_CURVE_POINTS && p.far.length > 100, `${p.far.length} points`);
    assert.equal(p.far[p.far.length - 1], 1);
    assert.equal(p.tar[p.tar.length - 1], 1);
    assert.ok(p.far.every((v, i) => v > 0 && (i === 0 || v >= p.far[i - 1])));
    // Each kept point is the TAR@FAR operating point at its own FAR (independent count).
    for (const i of [0, 50, 150, p.far.length - 2]) {
      const far = p.far[i];
      const impSorted = [...impostor].sort((a, b) => b - a);
      const k = Math.round(far * impostor.length);
      // Threshold = the k-th largest impostor score is accepted, the (k+1)-th not: TAR counts genuine above the (k+1)-th.
      const cut = impSorted[k];
      const tar = genuine.filter((g) => g > cut).length / genuine.length;
      close(p.tar[i], tar, 1e-12);
    }
  });

  it('rocFigure: one trace per variant from its smallest seed with scores, log FAR axis 1e-4..1, chance line', () => {
    const runs = [
      run('b', 2, { scores: { genuine: [0.9, 0.1], impostor: [0.5, 0.4] } }),
      run('a', 7, { scores: HAND }),
      run('a', 1, { scores: HAND }),
      run('b', 1), // no scores
      run('c', 1), // no scores at all
    ];
    const fig = rocFigure(runs, { variants: [{ name: 'a', label: 'Alpha' }, { name: 'b', label: 'Beta' }] });
    assert.ok(fig);
    assert.equal(fig.data.length, 3);
    assert.equal(fig.data[0].name, 'Alpha (seed 1)');
    assert.deepEqual(arr(fig.data[0], 'x'), HAND_FAR);
    assert.deepEqual(arr(fig.data[0], 'y'), HAND_TAR);
    assert.equal(fig.data[1].name, 'Beta (seed 2)');
    // b: descending 0.9G (0, .5), 0.5I (.5, .5), 0.4I (1, .5), 0.1G (1, 1).
    assert.deepEqual(arr(fig.data[1], 'x'), [0.5, 1, 1]);
    assert.deepEqual(arr(fig.data[1], 'y'), [0.5, 0.5, 1]);
    assert.equal((fig.data[0].line as { color: string }).color, VARIANT_COLORS[0]);
    assert.equal((fig.data[1].line as { color: string }).color, VARIANT_COLORS[1]);
    assert.equal(fig.data[2].name, 'chance');
    const xaxis = fig.layout?.xaxis as { type: string; range: number[] };
    assert.equal(xaxis.type, 'log');
    assert.deepEqual(xaxis.range, [Math.log10(ROC_FAR_RANGE[0]), 0]);
    assert.equal(rocFigure([run('a', 1)]), null);
    assert.equal(representativeRun(runs, 'a', 'scores')?.seed, 1);
    assert.equal(representativeRun(runs, 'c', 'scores'), null);
  });

  it('trainingCurvesFigure: one loss trace per run grouped by variant, verification on a second axis', () => {
    const epochs = (seed: number, verif: boolean) => [1, 2, 3].map((e) => ({
      epoch: e, lr: 0.1, meanLoss: 10 - e - seed / 10, meanAccuracy: 0.1 * e, ...(verif ? { verificationAccuracy: 0.5 + 0.1 * e } : {}),
    }));
    const runs = [run('b', 1, { epochs: epochs(1, false) }), run('a', 2, { epochs: epochs(2, true) }), run('a', 1, { epochs: epochs(1, true) })];
    const fig = trainingCurvesFigure(runs);
    assert.ok(fig);
    // Variant order: first seen (b, a); seeds ascending within a variant; a's runs have a verification trace each.
    assert.deepEqual(fig.data.map((t) => [t.legendgroup, t.name, t.yaxis ?? 'y']), [
      ['b', 'seed 1', 'y'], ['a', 'seed 1', 'y'], ['a', 'seed 1 verification', 'y2'], ['a', 'seed 2', 'y'], ['a', 'seed 2 verification', 'y2'],
    ]);
    assert.deepEqual(arr(fig.data[1], 'x'), [1, 2, 3]);
    assert.deepEqual(arr(fig.data[1], 'y'), [9 - 0.1, 8 - 0.1, 7 - 0.1]);
    assert.deepEqual(arr(fig.data[2], 'y'), [1, 2, 3].map((e) => 0.5 + 0.1 * e));
    assert.ok(fig.layout?.yaxis2);
    const onlyB = trainingCurvesFigure([runs[0]]);
    assert.ok(onlyB && !onlyB.layout?.yaxis2 && onlyB.data.length === 1);
    assert.equal(trainingCurvesFigure([run('a', 1)]), null);
    // Long runs are downsampled.
    const long = Array.from({ length: 1000 }, (_, i) => ({ epoch: i + 1, lr: 0.1, meanLoss: 1 / (i + 1), meanAccuracy: 0 }));
    const f2 = trainingCurvesFigure([run('a', 1, { epochs: long })]);
    assert.ok(f2 && arr(f2.data[0], 'x').length <= MAX_CURVE_POINTS);
  });

  it('scoreHistogramFigure: two overlaid density histograms that integrate to 1', () => {
    const fig = scoreHistogramFigure([run('a', 1, { scores: HAND })], 'a');
    assert.ok(fig);
    assert.equal(fig.layout?.barmode, 'overlay');
    assert.equal(fig.data.length, 2);
    const [g, i] = fig.data;
    assert.equal(g.name, 'genuine (4)');
    assert.equal(i.name, 'impostor (4)');
    const width = g.width as number;
    close(width, (0.9 - 0.1) / HISTOGRAM_BINS, 1e-12);
    for (const t of [g, i]) {
      assert.equal(arr(t, 'x').length, HISTOGRAM_BINS);
      close(arr(t, 'y').reduce((a, b) => a + b, 0) * width, 1, 1e-9);
    }
    // The lowest bin holds impostor 0.1 only; the highest holds genuine 0.9 only.
    close(arr(i, 'y')[0], 1 / (4 * width), 1e-9);
    close(arr(g, 'y')[HISTOGRAM_BINS - 1], 1 / (4 * width), 1e-9);
    assert.equal(arr(g, 'y')[0], 0);
    assert.equal(scoreHistogramFigure([run('a', 1, { scores: HAND })], 'other'), null);
    assert.throws(() => scoreHistogramFigure([run('a', 1, { scores: { genuine: [NaN], impostor: [0] } })], 'a'), /finite/);
  });

  it('marginTraceFigure: traces of runs with margins only; null when no run has a margin', () => {
    const steps = (m: (i: number) => number | null) => Array.from({ length: 5 }, (_, i) => ({ globalStep: 10 * i, loss: 1, margin: m(i), terms: {} }));
    const runs = [run('fixed', 1, { steps: steps(() => null) }), run('adaptive', 1, { steps: steps((i) => (i === 2 ? null : 0.3 + 0.01 * i)) })];
    const fig = marginTraceFigure(runs);
    assert.ok(fig);
    assert.equal(fig.data.length, 1);
    assert.equal(fig.data[0].legendgroup, 'adaptive');
    assert.deepEqual(arr(fig.data[0], 'x'), [0, 10, 30, 40]);
    assert.deepEqual(arr(fig.data[0], 'y'), [0, 1, 3, 4].map((i) => 0.3 + 0.01 * i));
    assert.equal(marginTraceFigure([runs[0]]), null);
    assert.equal(marginTraceFigure([]), null);
  });

  it('variantBarsFigure: one bar per variant, error arrays = ci - mean, no error bar for a null CI', () => {
    const stat = (variant: string, metric: string, mean: number, ciLow: number | null, ciHigh: number | null): ReportStat =>
      ({ variant, label: variant.toUpperCase(), metric, metricLabel: 'Verification accuracy', mean, ciLow, ciHigh, n: 3 });
    const stats = [
      stat('a', 'verificationAccuracy', 0.9, 0.85, 0.97),
      stat('a', 'rank1', 0.5, 0.4, 0.6),
      stat('b', 'verificationAccuracy', 0.8, null, null),
      stat('c', 'verificationAccuracy', 0.7, 0.6, null),
    ];
    const fig = variantBarsFigure(stats, 'verificationAccuracy', { variants: [{ name: 'b', label: 'B' }, { name: 'a', label: 'A' }] });
    assert.ok(fig);
    assert.deepEqual(fig.data.map((t) => t.x), [['B'], ['A'], ['C']]);
    assert.deepEqual(fig.data.map((t) => t.y), [[0.8], [0.9], [0.7]]);
    const e = fig.data.map((t) => t.error_y as { visible: boolean; array?: number[]; arrayminus?: number[]; symmetric?: boolean });
    assert.equal(e[0].visible, false);
    assert.equal(e[1].visible, true);
    assert.equal(e[1].symmetric, false);
    close((e[1].array as number[])[0], 0.97 - 0.9);
    close((e[1].arrayminus as number[])[0], 0.9 - 0.85);
    assert.equal(e[2].visible, false);
    assert.equal((fig.data[1].marker as { color: string }).color, VARIANT_COLORS[1]);
    assert.equal(variantBarsFigure(stats, 'tarAtFar1e3'), null);
  });

  it('embeddingScatterFigure: markers coloured by identity, explained variance in the axis titles', () => {
    const r = run('a', 1, { projection: { x: [0, 1, 2, 3], y: [1, 0, 1, 0], label: [7, 3, 7, 5], explained: [0.5, 0.25] } });
    const fig = embeddingScatterFigure(r);
    assert.ok(fig);
    assert.equal(fig.data.length, 1);
    const colors = (fig.data[0].marker as { color: string[] }).color;
    assert.equal(colors[0], colors[2]); // same identity
    assert.equal(new Set(colors).size, 3);
    assert.deepEqual(fig.data[0].x, [0, 1, 2, 3]);
    assert.match(((fig.layout?.xaxis as { title: { text: string } }).title.text), /PC1 \(50\.0% of variance\)/);
    assert.match(((fig.layout?.title as { text: string }).text), /3 identities/);
    assert.equal(embeddingScatterFigure(run('a', 1)), null);
    assert.throws(() => embeddingScatterFigure(run('a', 1, { projection: { x: [0], y: [], label: [0], explained: [1, 0] } })), /equal length/);
  });

  it('escapes HTML in labels shown by plotly', () => {
    const fig = rocFigure([run('x', 1, { scores: HAND })], { variants: [{ name: 'x', label: '<b>x</b> & y' }] });
    assert.equal(fig?.data[0].name, '&lt;b&gt;x&lt;/b&gt; &amp; y (seed 1)');
  });
});
