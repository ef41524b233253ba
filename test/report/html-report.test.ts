import { strict as assert } from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { pca2d } from '../../src/eval/pca';
import { REPORT_BAR_METRICS, buildReportHtml, checkReportInBrowser, reportFigures, writeReportHtml } from '../../src/report/html-report';
import { chromiumAvailable, chromiumPath, plotlyBundlePath } from '../../src/report/plot';
import type { ExperimentReportData, ReportRun, ReportStat } from '../../src/report/report-data';
import { fromRecords, tableToHtml } from '../../src/report/table';
import { Rng } from '../../src/util/rng';

const VARIANTS = [
  { name: 'arcface', label: 'ArcFace', description: 'fixed additive angular margin' },
  { name: 'coreface', label: 'CoReFace <adaptive> & contrastive', description: 'adaptive margin + contrastive regulariser' },
];
const SEEDS = [1, 2];
const IDENTITIES = 8;
const PER_ID = 15;
const DIM = 24;

function syntheticRun(variant: string, vi: number, seed: number): ReportRun {
  const rng = new Rng(`${variant}/${seed}`);
  const epochs = [1, 2, 3, 4, 5].map((e) => ({
    epoch: e, lr: 0.1 / e, meanLoss: 12 / (e + vi) + rng.uniform(0, 0.2), meanAccuracy: 0.15 * e, verificationAccuracy: 0.6 + 0.06 * e + 0.02 * vi + rng.uniform(0, 0.01),
  }));
  const adaptive = variant === 'coreface';
  const steps = Array.from({ length: 250 }, (_, i) => ({
    globalStep: 4 * i, loss: 12 * Math.exp(-i / 80), margin: adaptive ? 0.2 + 0.3 * (1 - Math.exp(-i / 60)) + rng.uniform(-0.01, 0.01) : null, terms: { ce: 1 },
  }));
  const clip = (v: number): number => Math.max(-1, Math.min(1, v));
  const genuine = Array.from({ length: 300 }, () => clip(rng.normal(0.55 + 0.05 * vi, 0.15)));
  const impostor = Array.from({ length: 900 }, () => clip(rng.normal(0.05, 0.12)));
  // Clustered embeddings -> real 2-D PCA.
  const centres = Array.from({ length: IDENTITIES }, () => Array.from({ length: DIM }, () => rng.normal(0, 1)));
  const n = IDENTITIES * PER_ID;
  const emb = new Float32Array(n * DIM);
  const label: number[] = [];
  for (let i = 0; i < n; i++) {
    const id = i % IDENTITIES;
    label.push(id * 3 + 1);
    for (let j = 0; j < DIM; j++) emb[i * DIM + j] = centres[id][j] + rng.normal(0, 0.4);
  }
  const p = pca2d(emb, n, DIM);
  const x: number[] = [];
  const y: number[] = [];
  for (let i = 0; i < n; i++) {
    x.push(p.coords[2 * i]);
    y.push(p.coords[2 * i + 1]);
  }
  return { variant, seed, epochs, steps, scores: { genuine, impostor }, projection: { x, y, label, explained: p.explained } };
}

function syntheticData(): ExperimentReportData {
  const runs = VARIANTS.flatMap((v, vi) => SEEDS.map((s) => syntheticRun(v.name, vi, s)));
  const stats: ReportStat[] = [];
  const metricLabels: Record<string, string> = { verificationAccuracy: 'Verification accuracy', tarAtFar1e3: 'TAR@FAR=1e-3', rank1: 'Rank-1', dirAtFpir1e2: 'DIR@FPIR=1e-2' };
  VARIANTS.forEach((v, vi) => {
    for (const [mi, metric] of REPORT_BAR_METRICS.entries()) {
      const mean = 0.6 + 0.1 * vi + 0.05 * mi;
      const noCi = metric === 'rank1' && vi === 1;
      stats.push({ variant: v.name, label: v.label, metric, metricLabel: metricLabels[metric], mean, ciLow: noCi ? null : mean - 0.03, ciHigh: noCi ? null : mean + 0.02, n: 2 });
    }
  });
  const table = tableToHtml(fromRecords(stats.filter((s) => s.metric === 'verificationAccuracy').map((s) => ({ method: s.label, accuracy: s.mean, n: s.n }))));
  return {
    title: 'Margin ablation <synthetic> & test',
    description: 'Synthetic report for the browser test.\nSecond line.',
    generatedAt: '2024-06-11T12:00:00Z',
    backend: 'wasm',
    seeds: SEEDS,
    config: { base: { model: { embeddingDim: DIM } }, variants: VARIANTS, note: '</script><script>alert("config")</script>' },
    variants: VARIANTS,
    tables: [{ title: 'Verification accuracy', html: table, note: 'mean over 2 seeds' }],
    stats,
    runs,
    failed: [{ id: 'coreface-s3', variant: 'coreface', seed: 3, error: 'Error: NaN loss at step 12 <script>alert(1)</script>' }],
  };
}

// training 1 + ROC 1 + histograms 2 + margin 1 + bars 4 + embeddings 2
const EXPECTED_FIGURES = 11;

/** The HTML outside the inlined plotly bundle (the bundle itself contains URL strings in its code). */
function withoutPlotlyBundle(html: string): string {
  const bundle = fs.readFileSync(plotlyBundlePath(), 'utf8');
  const i = html.indexOf(bundle.slice(0, 200));
  assert.ok(i > 0, 'plotly bundle is inlined');
  return html.slice(0, i) + html.slice(i + bundle.length);
}

/** Skips a browser test (with a message) when there is no Chromium; in the project's environment there is one. */
function skipWithoutChromium(ctx: Mocha.Context): void {
  if (chromiumAvailable()) return;
  console.log(`      (skipped: Chromium not found at ${chromiumPath()}; install the Debian package chromium or set COREFACE_CHROMIUM)`);
  ctx.skip();
}

/** Like assert.doesNotMatch, but reports only the match (not a 5 MB page). */
function noMatch(text: string, re: RegExp): void {
  const m = re.exec(text);
  assert.ok(!m, m ? `unexpected ${re}: ...${text.slice(Math.max(0, m.index - 80), m.index + 80)}...` : '');
}

describe('report/html-report', () => {
  let dir: string;
  before(() => { dir = fs.mkdtempSync(path.join(os.tmpdir(), 'coreface-html-report-')); });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('reportFigures: every figure kind, in page order, only when there is something to draw', () => {
    const data = syntheticData();
    const figs = reportFigures(data);
    assert.equal(figs.length, EXPECTED_FIGURES);
    assert.deepEqual(figs.map((f) => f.section), [
      'Training', 'Verification', 'Verification', 'Verification', 'Adaptive margin',
      'Comparison across variants', 'Comparison across variants', 'Comparison across variants', 'Comparison across variants',
      'Embeddings', 'Embeddings',
    ]);
    assert.deepEqual(figs.map((f) => f.id), figs.map((_, i) => `cf-fig-${i}`));
    // Without margins, stats and projections: training, ROC and the histograms only.
    const bare = { ...data, stats: [], runs: data.runs.map((r) => ({ ...r, projection: undefined, steps: r.steps.map((s) => ({ ...s, margin: null })) })) };
    assert.deepEqual(reportFigures(bare).map((f) => f.section), ['Training', 'Verification', 'Verification', 'Verification']);
    assert.throws(() => reportFigures({ ...data, runs: undefined } as unknown as ExperimentReportData), /data\.runs must be an array/);
  });

  it('buildReportHtml: self-contained, escaped, one .cf-plot per figure, no external src/href', () => {
    const data = syntheticData();
    const html = buildReportHtml(data);
    const plots = html.match(/<div class="cf-plot"/g) ?? [];
    assert.equal(plots.length, EXPECTED_FIGURES);
    const rest = withoutPlotlyBundle(html);
    // (The bundle's code holds URL strings, e.g. map attributions; the rendered DOM is checked in the browser test.)
    noMatch(rest, /\b(?:src|href)\s*=\s*["']?\s*(?:https?:)?\/\//i);
    noMatch(rest, /https?:\/\//i);
    noMatch(rest, /<link\b|@import|url\(/i);
    // Text is escaped; the raw attack strings never appear outside the JSON / escaped forms.
    assert.match(rest, /<h1>Margin ablation &lt;synthetic&gt; &amp; test<\/h1>/);
    assert.match(rest, /NaN loss at step 12 &lt;script&gt;alert\(1\)&lt;\/script&gt;/);
    noMatch(rest, /<script>alert/);
    // Script elements: the bundle, one JSON element per figure, the draw script; `</` never occurs in the JSON.
    const opens = rest.match(/<script\b/g) ?? [];
    const closes = rest.match(/<\/script>/g) ?? [];
    assert.equal(opens.length, EXPECTED_FIGURES + 2);
    assert.equal(closes.length, opens.length);
    // The config is pretty JSON inside <details>, HTML-escaped.
    assert.match(rest, /<details><summary>[^<]*<\/summary><pre>\{\n {2}&quot;base&quot;/);
    assert.match(rest, /&lt;\/script&gt;&lt;script&gt;alert\(\\&quot;config\\&quot;\)/);
    // The lead's table fragment is inserted verbatim, with title and note.
    assert.ok(rest.includes(data.tables[0].html));
    assert.match(rest, /<p class="cf-note">mean over 2 seeds<\/p>/);
    assert.match(rest, /Failed runs \(1\)/);
    assert.ok(html.length > 4e6, 'plotly is inlined');
  });

  it('checkReportInBrowser: the synthetic report renders every plot without console errors', async function () {
    skipWithoutChromium(this);
    this.timeout(60000);
    const data = syntheticData();
    const t0 = Date.now();
    const w = writeReportHtml(path.join(dir, 'sub', 'report.html'), data);
    const tWrite = Date.now() - t0;
    assert.equal(w.figures, EXPECTED_FIGURES);
    assert.ok(path.isAbsolute(w.file) && fs.existsSync(w.file));
    const shot = path.join(dir, 'shots', 'report.png');
    const t1 = Date.now();
    const r = await checkReportInBrowser(w.file, { screenshot: shot });
    const tCheck = Date.now() - t1;
    console.log(`      [report ${(fs.statSync(w.file).size / 1e6).toFixed(1)} MB written in ${tWrite} ms; browser check ${tCheck} ms; ` +
      `screenshot ${(r.screenshotBytes / 1e3).toFixed(0)} kB, non-blank ${(100 * r.nonBlankFraction).toFixed(1)}%]`);
    assert.deepEqual(r.consoleErrors, []);
    assert.deepEqual(r.externalRequests, []);
    assert.deepEqual(r.externalLinks, []);
    assert.equal(r.timedOut, false);
    assert.equal(r.expectedPlots, EXPECTED_FIGURES);
    assert.equal(r.plots, r.expectedPlots);
    assert.ok(r.nonBlankFraction > 0.03 && r.nonBlankFraction < 0.6, `non-blank fraction ${r.nonBlankFraction}`);
    const png = fs.readFileSync(shot);
    assert.equal(png.length, r.screenshotBytes);
    assert.deepEqual([...png.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  });

  it('checkReportInBrowser reports a page with a broken figure', async function () {
    skipWithoutChromium(this);
    this.timeout(60000);
    // A small report (training + ROC + 1 histogram), then corrupt the JSON of the ROC figure.
    const data = syntheticData();
    const small = { ...data, variants: data.variants.slice(0, 1), stats: [], runs: [{ ...data.runs[0], projection: undefined }] };
    const html = buildReportHtml(small);
    const broken = html.replace(/(<script type="application\/json" id="cf-fig-1">)[^<]*(<\/script>)/, '$1{"data": [oops$2');
    assert.notEqual(broken, html);
    const file = path.join(dir, 'broken.html');
    fs.writeFileSync(file, broken);
    const t0 = Date.now();
    const r = await checkReportInBrowser(file);
    console.log(`      [broken-page check ${Date.now() - t0} ms]`);
    assert.equal(r.expectedPlots, 3);
    assert.equal(r.plots, 2);
    assert.equal(r.timedOut, false);
    assert.equal(r.consoleErrors.length, 1);
    assert.match(r.consoleErrors[0], /figure cf-fig-1-plot could not be drawn/);
  });

  it('checkReportInBrowser times out on a page whose plots never render, and measures a blank page', async function () {
    skipWithoutChromium(this);
    this.timeout(30000);
    // No plotly, no report protocol: the checker falls back to waiting for .main-svg in every .cf-plot.
    const file = path.join(dir, 'never.html');
    fs.writeFileSync(file, '<!doctype html><html><body style="margin:0;background:#fff"><div class="cf-plot" style="height:300px"></div></body></html>');
    const t0 = Date.now();
    const r = await checkReportInBrowser(file, { timeoutMs: 800, width: 400, height: 300 });
    console.log(`      [timeout check ${Date.now() - t0} ms]`);
    assert.equal(r.timedOut, true);
    assert.equal(r.expectedPlots, 1);
    assert.equal(r.plots, 0);
    assert.deepEqual(r.consoleErrors, []);
    assert.equal(r.nonBlankFraction, 0);
  });

  it('checkReportInBrowser fails clearly on a missing file or bad options', async () => {
    await assert.rejects(checkReportInBrowser(path.join(dir, 'nope.html')), /no such file/);
    fs.writeFileSync(path.join(dir, 'empty.html'), '');
    await assert.rejects(checkReportInBrowser(path.join(dir, 'empty.html'), { timeoutMs: -1 }), /timeoutMs must be a positive number/);
  });
});
