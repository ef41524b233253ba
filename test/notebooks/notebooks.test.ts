import { strict as assert } from 'assert';
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

const ROOT = path.resolve(__dirname, '..', '..');
const PLOTLY_MIME = 'application/vnd.plotly.v1+json';
const LOADER_MARKER = 'coreface-lab plotly.js loader';
/** Committed notebooks stay below this size (issue 16). */
const MAX_COMMITTED_BYTES = 250 * 1024;

type Output = { output_type: string; data?: Record<string, unknown>; name?: string; text?: string };
type Notebook = { cells: { cell_type: string; outputs?: Output[] }[] };
const outputsOf = (nb: Notebook): Output[] => nb.cells.filter((c) => c.cell_type === 'code').flatMap((c) => c.outputs ?? []);
const htmlOf = (o: Output): string => { const h = o.data?.['text/html']; return Array.isArray(h) ? h.join('') : typeof h === 'string' ? h : ''; };

/** Why the notebooks cannot run here, or null when Jupyter (Debian), Chromium and tslab are present. */
function missingPrerequisite(): string | null {
  if (!fs.existsSync('/usr/bin/jupyter')) return 'Debian jupyter is not installed';
  const py = spawnSync('/usr/bin/python3', ['-c', 'import nbclient, nbformat, jupyter_client'], { encoding: 'utf8' });
  if (py.status !== 0) return '/usr/bin/python3 lacks nbclient/nbformat/jupyter_client';
  if (!fs.existsSync(process.env.COREFACE_CHROMIUM || '/usr/bin/chromium')) return 'Debian chromium is not installed';
  if (!fs.existsSync(path.join(ROOT, 'node_modules', '.bin', 'tslab'))) return 'tslab is not installed (npm install)';
  return null;
}

describe('notebooks: every notebook runs headless in quick mode', function () {
  this.timeout(900000);

  it('npm run notebooks (quick) passes and writes executed copies and plots', function () {
    const missing = missingPrerequisite();
    if (missing && process.env.CI === 'true') {
      assert.fail(`notebooks cannot run in CI: ${missing} (.ci/run must call npm run setup first)`);
    }
    if (missing) {
      console.log(`      SKIPPED: ${missing}; run \`npm run kernel:install\` to set up Jupyter, the tslab kernel and Chromium`);
      this.skip();
    }
    const out = fs.mkdtempSync(path.join(os.tmpdir(), 'coreface-notebooks-'));
    try {
      // A fresh run store: 03-05 train their smoke experiments (seconds per run), 06 reads what 03 trained.
      const r = spawnSync(process.execPath, [path.join(ROOT, 'kernels-setup', 'notebooks.js'), '--mode', 'quick'], {
        cwd: ROOT, encoding: 'utf8', env: { ...process.env, NOTEBOOK_OUT: out, NOTEBOOK_RESULTS: path.join(out, 'store') },
      });
      const log = `${r.stdout}\n${r.stderr}`;
      assert.equal(r.status, 0, `npm run notebooks failed:\n${log}`);
      const sources = fs.readdirSync(path.join(ROOT, 'notebooks')).filter((f) => f.endsWith('.ipynb'));
      for (const n of ['01-quickstart', '02-coreface-anatomy', '03-ablation', '04-pair-coupling', '05-heads', '06-results', '07-your-data']) {
        assert.ok(sources.includes(`${n}.ipynb`), `notebooks/${n}.ipynb exists`);
      }
      const timings = JSON.parse(fs.readFileSync(path.join(out, 'timings.json'), 'utf8')) as { mode: string; notebooks: Record<string, { ok: boolean }> };
      assert.equal(timings.mode, 'quick');
      for (const f of sources) {
        assert.ok(fs.existsSync(path.join(out, f)), `executed copy of ${f}`);
        assert.ok(timings.notebooks[f]?.ok, `${f} not reported ok`);
        const nb = JSON.parse(fs.readFileSync(path.join(out, f), 'utf8')) as Notebook;
        const outputs = outputsOf(nb);
        // The first output is the stamp: date, code version and commit, backend line (then the parameters).
        const first = outputs[0]?.data?.['text/markdown'];
        const stamp = Array.isArray(first) ? first.join('') : String(first ?? '');
        assert.match(stamp, /^\*\*run\*\* \d{4}-\d\d-\d\d \d\d:\d\d UTC · \*\*code\*\* coreface-lab@\S+, (commit `[0-9a-f]+`|not a git checkout)/, `${f}: first output is not the stamp: ${JSON.stringify(outputs[0])?.slice(0, 300)}`);
        assert.match(stamp, /\*\*backend\*\* \S+ \(.*\), tfjs \d/, `${f}: the stamp names the backend`);
        const pngs = outputs.filter((o) => o.data && 'image/png' in o.data).length;
        assert.ok(pngs >= 1, `${f}: expected at least one PNG output`);
        // Each figure is ONE output with the plotly JSON, the HTML and the PNG; plotly.js travels once per notebook.
        const figures = outputs.filter((o) => o.data && PLOTLY_MIME in o.data);
        for (const o of figures) assert.ok(o.data && 'image/png' in o.data && 'text/html' in o.data, `${f}: a figure output lacks PNG or HTML: ${Object.keys(o.data ?? {})}`);
        if (figures.length) assert.equal(outputs.filter((o) => htmlOf(o).includes(LOADER_MARKER)).length, 1, `${f}: plotly.js must be carried by exactly one output`);
      }
      assert.ok(fs.readdirSync(path.join(out, 'plots')).some((f) => f.endsWith('.html')), 'interactive HTML plots saved');
      // 03 trained its smoke experiment into the run store of NOTEBOOK_RESULTS, where 06 read it
      assert.ok(fs.existsSync(path.join(out, 'store', 'notebook-ablation-smoke', 'summary.json')), 'the engine wrote the views of 03\'s experiment');
      const six = JSON.stringify(JSON.parse(fs.readFileSync(path.join(out, '06-results.ipynb'), 'utf8')));
      assert.match(six, /\*\*Source\.\*\* Read from the (run store|committed summary)/, '06 says which source it read');
      console.log(`      ${log.split('\n').filter((l) => l.includes('[notebooks] ok')).map((l) => l.replace('[notebooks] ok', '').trim()).join('\n      ')}`);
    } finally {
      fs.rmSync(out, { recursive: true, force: true });
    }
  });

  it('committed notebooks are small and keep the static figure: PNG (+ figure JSON when small), no plotly HTML', function () {
    const files = fs.readdirSync(path.join(ROOT, 'notebooks')).filter((f) => f.endsWith('.ipynb'));
    assert.ok(files.length >= 1);
    for (const f of files) {
      const file = path.join(ROOT, 'notebooks', f);
      const size = fs.statSync(file).size;
      assert.ok(size < MAX_COMMITTED_BYTES, `${f} is ${(size / 1024).toFixed(1)} KB, above ${MAX_COMMITTED_BYTES / 1024} KB: run \`npm run notebooks -- --update\``);
      const outputs = outputsOf(JSON.parse(fs.readFileSync(file, 'utf8')) as Notebook);
      for (const o of outputs) {
        const html = htmlOf(o);
        assert.ok(!html.includes(LOADER_MARKER) && !html.includes('Plotly.newPlot'), `${f}: committed with interactive plotly HTML`);
        if (o.data && PLOTLY_MIME in o.data) assert.ok('image/png' in o.data, `${f}: a committed figure without its PNG`);
      }
    }
  });

  it('--update stripping: a figure keeps PNG, text and small JSON; loses its HTML; big JSON dropped', function () {
    const py = spawnSync('/usr/bin/python3', ['-c', 'import nbformat'], { encoding: 'utf8' });
    if (py.status !== 0) {
      if (process.env.CI === 'true') assert.fail('/usr/bin/python3 lacks nbformat (npm run kernel:install)');
      this.skip();
    }
    const script = `
import json, sys
sys.path.insert(0, ${JSON.stringify(path.join(ROOT, 'kernels-setup'))})
import nbformat, run_notebooks as r
def fig(n): return {"data": [{"y": list(range(n))}], "layout": {}}
def out(n): return nbformat.v4.new_output("display_data", data={"text/plain": "<plotly figure>", "image/png": "iVBOR",
    "text/html": "<div></div><script>/* ${LOADER_MARKER} */ Plotly.newPlot()</script>", "${PLOTLY_MIME}": fig(n)})
nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x", outputs=[out(10), out(5000),
    nbformat.v4.new_output("display_data", data={"text/html": "<script>Plotly.newPlot('a', [])</script>"})])])
s = r.strip_notebook(nb, 200, 16)
print(json.dumps([sorted(o.get("data", {}).keys()) or o.get("text") for o in s.cells[0].outputs]))
`;
    const r = spawnSync('/usr/bin/python3', ['-c', script], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout), [
      [PLOTLY_MIME, 'image/png', 'text/plain'],
      ['image/png', 'text/plain'],
      '[interactive plotly output removed: see results/notebooks/plots/]\n',
    ]);
  });

  it('the runner fails on the first failing cell and prints its error', function () {
    const missing = missingPrerequisite();
    if (missing) {
      console.log(`      SKIPPED: ${missing}`);
      this.skip();
    }
    const dir = fs.mkdtempSync(path.join(ROOT, 'notebooks', '.tmp-'));
    try {
      const nb = {
        cells: [
          { cell_type: 'code', execution_count: null, metadata: {}, outputs: [], source: ["console.log('first');"] },
          { cell_type: 'code', execution_count: null, metadata: {}, outputs: [], source: ["const bad: number = 'x';"] },
          { cell_type: 'code', execution_count: null, metadata: {}, outputs: [], source: ["console.log('never');"] },
        ],
        metadata: { kernelspec: { display_name: 'TypeScript', language: 'typescript', name: 'tslab' } },
        nbformat: 4, nbformat_minor: 5,
      };
      const file = path.join(dir, 'broken.ipynb');
      fs.writeFileSync(file, JSON.stringify(nb));
      const r = spawnSync('/usr/bin/python3', [path.join(ROOT, 'kernels-setup', 'run_notebooks.py'), '--out', path.join(dir, 'out'), file], {
        cwd: ROOT, encoding: 'utf8',
        env: { ...process.env, JUPYTER_PATH: path.join(ROOT, '.kernel', 'share', 'jupyter'), PYDEVD_DISABLE_FILE_VALIDATION: '1' },
      });
      if (!fs.existsSync(path.join(ROOT, '.kernel', 'share', 'jupyter', 'kernels', 'tslab'))) this.skip();
      assert.equal(r.status, 1, `expected failure, got ${r.status}\n${r.stdout}\n${r.stderr}`);
      assert.match(r.stderr, /code cell 2/);
      assert.match(r.stderr, /----- cell error -----\nCompileError: 1:7 - Type 'string' is not assignable to type 'number'/);
      const partial = JSON.parse(fs.readFileSync(path.join(dir, 'out', 'broken.ipynb'), 'utf8')) as Notebook;
      assert.deepEqual(partial.cells[2].outputs, [], 'the cells after the failing one are not run');
      assert.equal(outputsOf(partial).filter((o) => o.output_type === 'error').length, 1, 'the error is an error output');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
