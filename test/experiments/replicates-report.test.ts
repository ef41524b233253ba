// The HTML report of an experiment with replicates: several runs per (variant, seed), so the single-run figures
// must pick one well-defined run and the per-run legends must tell the runs apart.
import { strict as assert } from 'assert';
import { buildReportHtml, reportFigures, reportRunOrder } from '../../src/report/html-report';
import { rocPoints } from '../../src/report/figures';
import type { ExperimentReportData, ReportRun } from '../../src/report/report-data';

const VARIANTS = [
  { name: 'a', label: 'A', description: '' },
  { name: 'b', label: 'B', description: '' },
];

/** A run whose scores and projection identify it: genuine scores start at 0.5 + tag / 100. */
function run(variant: string, seed: number, replicate: number | undefined, tag: number, margin = false): ReportRun {
  return {
    variant, seed, ...(replicate === undefined ? {} : { replicate }),
    epochs: [1, 2, 3].map((e) => ({ epoch: e, lr: 0.1, meanLoss: 5 / e + tag / 100, meanAccuracy: 0.2 * e, verificationAccuracy: 0.6 + 0.1 * e })),
    steps: [0, 1, 2].map((i) => ({ globalStep: i, loss: 1, margin: margin ? 0.1 * i + tag / 1000 : null, terms: {} })),
    scores: { genuine: [0.5 + tag / 100, 0.6, 0.7], impostor: [0.1, 0.2 + tag / 1000, 0.3] },
    projection: { x: [tag, 1, 2], y: [0, 1, 2], label: [0, 1, 2], explained: [0.5, 0.3] },
  };
}

function data(runs: ReportRun[], replicates?: ExperimentReportData['replicates']): ExperimentReportData {
  return {
    title: 't', description: '', generatedAt: '2026-01-01T00:00:00Z', backend: 'wasm', seeds: [0, 1], ...(replicates ? { replicates } : {}),
    config: {}, variants: VARIANTS, tables: [], stats: [], runs, failed: [],
  };
}

describe('experiments: the report of an experiment with replicates', () => {
  // Partitions in the experiment's order 3, 0, 1; runs listed in a scrambled order. Tag = 10 * seed + partition.
  const reps = { path: 'dataset.options.partition', label: 'partition', values: [3, 0, 1] };
  const runs: ReportRun[] = [];
  for (const v of ['b', 'a']) {
    for (const seed of [1, 0]) for (const p of [1, 0, 3]) runs.push(run(v, seed, p, 10 * seed + p, v === 'b'));
  }
  const d = data(runs, reps);

  it('orders runs by seed, then by the replicate values\' order, then as given', () => {
    const order = reportRunOrder(d).filter((r) => r.variant === 'a').map((r) => [r.seed, r.replicate]);
    assert.deepEqual(order, [[0, 3], [0, 0], [0, 1], [1, 3], [1, 0], [1, 1]]);
    const plain = data([run('a', 1, undefined, 1), run('a', 0, undefined, 0)]);
    assert.equal(reportRunOrder(plain), plain.runs, 'without replicates the runs stay as given');
  });

  it('single-run figures show the run of the lowest seed and the first replicate value, and say which', () => {
    const figs = reportFigures(d);
    const roc = figs.find((f) => f.caption.startsWith('ROC'));
    assert.match(roc?.caption ?? '', /lowest seed, then the first partition \(seed 0, partition 3\)/);
    // The ROC line of A is that of the run seed 0, partition 3 (tag 3).
    const want = rocPoints([0.53, 0.6, 0.7], [0.1, 0.203, 0.3]);
    const lineA = roc?.figure.data.find((t) => typeof t.name === 'string' && t.name.startsWith('A'));
    assert.deepEqual(lineA?.x, want.far);
    assert.deepEqual(lineA?.y, want.tar);
    const hist = figs.find((f) => f.caption.startsWith('Genuine vs impostor cosine scores of A'));
    assert.match(hist?.caption ?? '', /\(density; seed 0, partition 3\)/);
    const emb = figs.find((f) => f.caption.startsWith('2-D PCA of test embeddings of A'));
    assert.match(emb?.caption ?? '', /\(seed 0, partition 3\)/);
    const scatterX = emb?.figure.data.flatMap((t) => (Array.isArray(t.x) ? t.x : []));
    assert.ok(scatterX?.includes(3) && !scatterX.includes(13) && !scatterX.includes(0), 'projection of the run tagged 3');
  });

  it('training-curve and margin legends name the replicate value of each run', () => {
    const figs = reportFigures(d);
    const training = figs.find((f) => f.section === 'Training')?.figure;
    const a = training?.data.filter((t) => t.legendgroup === 'a') ?? [];
    assert.deepEqual(a.map((t) => t.name), [
      'seed 0, partition 3', 'seed 0, partition 3 verification', 'seed 0, partition 0', 'seed 0, partition 0 verification',
      'seed 0, partition 1', 'seed 0, partition 1 verification', 'seed 1, partition 3', 'seed 1, partition 3 verification',
      'seed 1, partition 0', 'seed 1, partition 0 verification', 'seed 1, partition 1', 'seed 1, partition 1 verification',
    ]);
    // Each legend entry is drawn from the run it names (its loss carries the tag 10 * seed + partition).
    const loss = (name: string): unknown => a.find((t) => t.name === name)?.y;
    assert.deepEqual(loss('seed 1, partition 0'), [5 + 0.1, 2.5 + 0.1, 5 / 3 + 0.1]);
    assert.deepEqual(loss('seed 0, partition 1'), [5 + 0.01, 2.5 + 0.01, 5 / 3 + 0.01]);
    assert.match(String(a[0].hovertemplate), /A seed 0, partition 3<br>epoch/);
    const margin = figs.find((f) => f.section === 'Adaptive margin')?.figure;
    const m = margin?.data ?? [];
    assert.deepEqual(m.map((t) => t.name), ['seed 0, partition 3', 'seed 0, partition 0', 'seed 0, partition 1', 'seed 1, partition 3', 'seed 1, partition 0', 'seed 1, partition 1']);
    const y = m.find((t) => t.name === 'seed 1, partition 1')?.y as number[];
    assert.ok(Math.abs(y[0] - 0.011) < 1e-12, 'margin line of the run tagged 11');
  });

  it('the page shows the replicates and the replicate of failed runs', () => {
    const html = buildReportHtml({ ...d, failed: [{ id: 'k1', variant: 'a', seed: 0, replicate: 1, error: 'boom' }] });
    assert.match(html, /Replicates \(partition\)<\/dt>\s*<dd>3, 0, 1 \(dataset\.options\.partition\)/);
    assert.match(html, /<th style="text-align:right">seed<\/th><th style="text-align:right">partition<\/th>/);
    assert.match(html, /<td>k1<\/td><td>a<\/td><td>0<\/td><td>1<\/td>/);
  });

  it('without replicates the figures and their captions are as before', () => {
    const plain = data([run('a', 1, undefined, 1), run('a', 0, undefined, 0, true), run('b', 0, undefined, 5)]);
    const figs = reportFigures(plain);
    assert.deepEqual(figs.map((f) => f.caption), [
      'Mean training loss per epoch, one line per run (legend grouped by variant); dotted: verification accuracy after each epoch, right axis.',
      'ROC of the final verification pairs on a log FAR axis; each variant is drawn from its lowest seed with scores (named in the legend).',
      'Genuine vs impostor cosine scores of A (density; lowest seed with scores).',
      'Genuine vs impostor cosine scores of B (density; lowest seed with scores).',
      'Margin of the adaptive head over training steps, one line per run with a margin.',
      '2-D PCA of test embeddings of A (seed 0), coloured by identity.',
      '2-D PCA of test embeddings of B (seed 0), coloured by identity.',
    ]);
    const training = figs[0].figure.data.filter((t) => t.legendgroup === 'a').map((t) => t.name);
    assert.deepEqual(training, ['seed 0', 'seed 0 verification', 'seed 1', 'seed 1 verification']);
    assert.ok(!buildReportHtml(plain).includes('Replicates'));
  });
});
