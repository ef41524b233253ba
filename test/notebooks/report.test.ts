import { strict as assert } from 'assert';
import { fromRecords, meanStd, meanStdTable, tableToHtml, tableToMarkdown, fromDataFrame, formatCell } from '../../src/report/table';
import { encodePng, notebookMode, setDisplay, showTable } from '../../src/notebook';
import { figureJson, savePlotHtml } from '../../src/report/plot';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

describe('report: tables and notebook helpers', () => {
  it('meanStd uses the sample std by default', () => {
    const s = meanStd([1, 2, 3, 4]);
    assert.equal(s.mean, 2.5);
    assert.ok(Math.abs(s.std - Math.sqrt(5 / 3)) < 1e-12);
    assert.equal(meanStd([7]).std, 0);
    assert.ok(Number.isNaN(meanStd([]).mean));
  });

  it('meanStdTable groups in first-seen order and formats mean ± std', () => {
    const t = meanStdTable(
      [{ m: 'b', acc: 0.8 }, { m: 'a', acc: 0.9 }, { m: 'b', acc: 0.9 }, { m: 'a', acc: NaN }],
      { groupBy: ['m'], metrics: ['acc'], scale: 100, digits: 1 },
    );
    assert.deepEqual(t.columns, ['m', 'n', 'acc']);
    assert.deepEqual(t.rows[0], ['b', 2, `85.0 ± ${(Math.sqrt(50)).toFixed(1)}`]);
    assert.deepEqual(t.rows[1], ['a', 2, '90.0']);
    assert.throws(() => meanStdTable([], { groupBy: [], metrics: ['x'] }), /groupBy/);
  });

  it('renders HTML (escaped) and Markdown (pipes escaped), from records or a DataFrame-like', () => {
    const t = fromRecords([{ name: 'a<b', v: 0.123456 }, { name: 'x|y', v: 2 }]);
    const html = tableToHtml(t, { caption: 'cap' });
    assert.match(html, /a&lt;b/);
    assert.match(html, /0\.1235/);
    assert.match(html, /<caption[^>]*>cap<\/caption>/);
    const md = tableToMarkdown(t, { digits: 2 });
    assert.equal(md.split('\n')[1], '|---|---:|');
    assert.match(md, /x\\\|y \| 2 \|/);
    const df = fromDataFrame({ columns: ['a', 'b'], values: [[1, 'u'], [2, 'v']] });
    assert.deepEqual(df.rows, [[1, 'u'], [2, 'v']]);
    assert.throws(() => tableToHtml({ columns: ['a'], rows: [[1, 2]] }), /row 0 has 2 cells/);
    assert.equal(formatCell(NaN), '');
  });

  it('showTable goes to the display set with setDisplay; encodePng writes a PNG signature', () => {
    const got: string[] = [];
    setDisplay({ png: () => got.push('png'), html: (s) => got.push(s), markdown: () => undefined, text: () => undefined });
    try {
      showTable({ columns: ['a'], rows: [[1]] });
    } finally {
      setDisplay(null);
    }
    assert.equal(got.length, 1);
    assert.match(got[0], /<table>/);
    const png = encodePng(new Uint8Array([0, 128, 255, 64]), 2, 2);
    assert.deepEqual([...png.subarray(0, 4)], [0x89, 0x50, 0x4e, 0x47]);
    assert.throws(() => encodePng(new Uint8Array(5), 2, 2), /not width\*height/);
  });

  it('notebookMode reads NOTEBOOK_MODE (quick by default) and rejects other values', () => {
    assert.equal(notebookMode({}), 'quick');
    assert.equal(notebookMode({ NOTEBOOK_MODE: 'full' }), 'full');
    assert.throws(() => notebookMode({ NOTEBOOK_MODE: 'fast' }), /'quick' or 'full'/);
  });

  it('figures serialise typed arrays and non-finite numbers; HTML references a copied plotly bundle', () => {
    assert.equal(figureJson({ x: new Float32Array([1, 2]), y: [NaN, Infinity] }), '{"x":[1,2],"y":[null,null]}');
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'coreface-plot-'));
    try {
      const f = savePlotHtml({ data: [{ type: 'bar', x: ['a'], y: [1] }], layout: { title: { text: 'T</script>' } } }, path.join(dir, 'p.html'));
      const html = fs.readFileSync(f, 'utf8');
      assert.match(html, /<script src="plotly.min.js"><\/script>/);
      assert.ok(!html.includes('T</script>'), 'closing script tags in data are escaped');
      assert.ok(fs.statSync(path.join(dir, 'plotly.min.js')).size > 1e6);
      assert.throws(() => savePlotHtml({ data: {} as never }, path.join(dir, 'q.html')), /figure must be/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
