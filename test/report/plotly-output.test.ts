import { strict as assert } from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { PLOTLY_LOADER_MARKER, PLOTLY_MIME, plotlyFigureHtml, plotlyLoaderScript, plotlyMimeBundle, resetPlotlyLoader } from '../../src/report/plotly-output';
import { CHROMIUM_ARGS, chromiumAvailable, chromiumPath, closePlotRenderer, plotlyBundlePath, type PlotFigure } from '../../src/report/plot';
import { setDisplay, showPlot } from '../../src/notebook';
import type { MimeBundle } from '../../src/report/plotly-output';

const PNG = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 1, 2, 3]);
const FIG: PlotFigure = {
  data: [{ type: 'scatter', mode: 'lines', x: new Float32Array([0, 0.5, 1]), y: [0, NaN, 1], name: 'a</script>b' }],
  layout: { title: { text: 'ROC' }, width: 400, height: 300 },
};

const hasLoader = (b: MimeBundle): boolean => String(b['text/html']).includes(PLOTLY_LOADER_MARKER);

describe('report/plotly-output: one notebook output with plotly JSON, HTML and PNG', () => {
  beforeEach(() => resetPlotlyLoader());
  after(() => resetPlotlyLoader());

  it('bundles text/plain, base64 PNG, the figure JSON (plain arrays, NaN as null) and sized HTML', () => {
    const b = plotlyMimeBundle(FIG, PNG);
    assert.deepEqual(Object.keys(b).sort(), [PLOTLY_MIME, 'image/png', 'text/html', 'text/plain'].sort());
    assert.equal(b['text/plain'], '<plotly figure: ROC>');
    assert.deepEqual([...Buffer.from(String(b['image/png']), 'base64')], [...PNG]);
    const json = b[PLOTLY_MIME] as { data: { x: unknown; y: unknown }[]; layout: Record<string, unknown>; config: Record<string, unknown> };
    assert.deepEqual(json.data[0].x, [0, 0.5, 1]);
    assert.deepEqual(json.data[0].y, [0, null, 1]);
    assert.deepEqual(json.layout, FIG.layout);
    assert.equal(json.config.displaylogo, false);
    const html = String(b['text/html']);
    assert.match(html, /style="width:400px;height:300px"/);
    assert.ok(html.includes(`<img src="data:image/png;base64,${Buffer.from(PNG).toString('base64')}" alt="ROC"`), 'the PNG is the placeholder until drawn');
    assert.ok(!html.replace(/<\/script>/g, '').includes('</script'), 'no closing script tag from the data');
  });

  it('carries plotly.js once per process: the first figure, then not; always / never / reset', () => {
    const first = plotlyMimeBundle(FIG, PNG);
    const second = plotlyMimeBundle(FIG, PNG);
    assert.ok(hasLoader(first), 'the first figure carries the loader');
    assert.ok(!hasLoader(second), 'the second does not');
    const bundleSize = fs.statSync(plotlyBundlePath()).size;
    assert.ok(String(first['text/html']).length > bundleSize, 'the loader holds the whole bundle');
    assert.ok(String(second['text/html']).length < 5000, `a later figure is small, got ${String(second['text/html']).length} chars`);
    assert.ok(hasLoader(plotlyMimeBundle(FIG, PNG, { loader: 'always' })));
    resetPlotlyLoader();
    assert.ok(!hasLoader(plotlyMimeBundle(FIG, PNG, { loader: 'never' })));
    assert.ok(hasLoader(plotlyMimeBundle(FIG, PNG)), "'never' did not use up the once");
    assert.equal(plotlyLoaderScript().match(new RegExp(PLOTLY_LOADER_MARKER, 'g'))?.length, 1);
  });

  it('rejects bad input with the field named', () => {
    assert.throws(() => plotlyMimeBundle({ data: {} as never }, PNG), /figure must be/);
    assert.throws(() => plotlyMimeBundle(FIG, new Uint8Array([1, 2, 3])), /png must be the bytes of a PNG/);
    assert.throws(() => plotlyMimeBundle(FIG, PNG, { width: -1 }), /width must be a positive number, got -1/);
    assert.throws(() => plotlyMimeBundle(FIG, PNG, { loader: 'sometimes' as never }), /loader must be 'once', 'always' or 'never'/);
  });

  it('showPlot sends one bundle to a display that has bundle(), the PNG to one that has not', async function () {
    this.timeout(60000);
    if (!chromiumAvailable()) {
      console.log(`      (skipped: Chromium not found at ${chromiumPath()})`);
      this.skip();
    }
    const got: string[] = [];
    const bundles: MimeBundle[] = [];
    const sink = { png: () => got.push('png'), html: () => got.push('html'), markdown: () => undefined, text: () => undefined };
    try {
      setDisplay({ ...sink, bundle: (b: MimeBundle) => { bundles.push(b); got.push('bundle'); } });
      await showPlot(FIG);
      setDisplay(sink);
      await showPlot(FIG);
    } finally {
      setDisplay(null);
      await closePlotRenderer();
    }
    assert.deepEqual(got, ['bundle', 'png']);
    assert.deepEqual(Object.keys(bundles[0]).sort(), [PLOTLY_MIME, 'image/png', 'text/html', 'text/plain'].sort());
    assert.equal(Buffer.from(String(bundles[0]['image/png']), 'base64').subarray(1, 4).toString(), 'PNG');
  });

  it('the HTML draws interactive figures under RequireJS, whatever order the outputs run in', async function () {
    this.timeout(60000);
    if (!chromiumAvailable()) {
      console.log(`      (skipped: Chromium not found at ${chromiumPath()})`);
      this.skip();
    }
    const pw = await import('playwright-core');
    const later = plotlyFigureHtml(FIG, { width: 400, height: 300, loader: false, id: 'later' });
    const first = plotlyFigureHtml(FIG, { width: 400, height: 300, loader: true, id: 'first' });
    // An AMD `define` as the classic Notebook's RequireJS has: the bundle must not call it (an anonymous define
    // outside require() is RequireJS's "Mismatched anonymous define()" error).
    const page = `<!doctype html><html><head><meta charset="utf-8"><script>
      window.defineCalls = 0; window.define = function () { window.defineCalls++; }; window.define.amd = {};
    </script></head><body>${later}\n${first}</body></html>`;
    const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'coreface-plotly-out-'));
    const ctx = await pw.chromium.launchPersistentContext(profile, { executablePath: chromiumPath(), headless: true, args: [...CHROMIUM_ARGS] });
    try {
      const p = ctx.pages()[0] ?? (await ctx.newPage());
      const errors: string[] = [];
      p.on('pageerror', (e) => errors.push(e.message));
      await p.setContent(page);
      await p.waitForFunction("document.querySelectorAll('.js-plotly-plot').length === 2", undefined, { timeout: 30000 });
      const state = await p.evaluate(`({
        defineCalls: window.defineCalls,
        plotly: typeof window.Plotly,
        drawn: Array.from(document.querySelectorAll('.js-plotly-plot')).map((el) => el.id + ':' + !!el._fullLayout),
        modebars: document.querySelectorAll('.modebar').length,
      })`) as { defineCalls: number; plotly: string; drawn: string[]; modebars: number };
      assert.deepEqual(errors, []);
      assert.equal(state.defineCalls, 0, 'plotly.js did not register itself with define()');
      assert.equal(state.plotly, 'object');
      assert.deepEqual(state.drawn.sort(), ['first:true', 'later:true']);
      assert.equal(state.modebars, 2, 'interactive (modebar present)');
    } finally {
      await ctx.close();
      fs.rmSync(profile, { recursive: true, force: true });
    }
  });
});
