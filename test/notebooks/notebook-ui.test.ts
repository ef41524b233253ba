import { strict as assert } from 'assert';
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

// Jupyter Notebook (Debian's 6.4) served locally, a notebook with two plotly figures run in headless Chromium:
// kernels-setup/check_notebook_ui.js does it and checks both figures are interactive and plotly.js came once.

const ROOT = path.resolve(__dirname, '..', '..');

function missingPrerequisite(): string | null {
  if (!fs.existsSync('/usr/bin/jupyter-notebook')) return 'Debian jupyter-notebook is not installed';
  const py = spawnSync('/usr/bin/python3', ['-c', 'import notebook, jupyter_client'], { encoding: 'utf8' });
  if (py.status !== 0) return '/usr/bin/python3 lacks notebook/jupyter_client';
  if (!fs.existsSync(process.env.COREFACE_CHROMIUM || '/usr/bin/chromium')) return 'Debian chromium is not installed';
  if (!fs.existsSync(path.join(ROOT, '.kernel', 'share', 'jupyter', 'kernels', 'tslab', 'kernel.json'))) return 'the tslab kernel is not registered (npm run kernel:install)';
  if (!fs.existsSync(path.join(ROOT, 'dist', 'src', 'index.js'))) return 'dist/ is not built (npm run build)';
  return null;
}

const code = (src: string) => ({ cell_type: 'code', execution_count: null, metadata: {}, outputs: [], source: [src] });

describe('notebooks: plotly figures are interactive in Jupyter Notebook (served locally, headless Chromium)', function () {
  this.timeout(240000);

  it('both figures drawn by one plotly.js load, modebar and hover label present', function () {
    const missing = missingPrerequisite();
    if (missing && process.env.CI === 'true') assert.fail(`the Notebook UI check cannot run in CI: ${missing} (.ci/run must call npm run setup first)`);
    if (missing) {
      console.log(`      SKIPPED: ${missing}; run \`npm run kernel:install\``);
      this.skip();
    }
    const dir = fs.mkdtempSync(path.join(ROOT, 'notebooks', '.tmp-ui-'));
    const shot = path.join(os.tmpdir(), `coreface-ui-${process.pid}.png`);
    try {
      const nb = {
        cells: [
          code("import { showPlot } from 'coreface-lab';\nimport { closePlotRenderer } from 'coreface-lab/dist/src/report/plot';"),
          code("await showPlot({ data: [{ type: 'scatter', mode: 'lines+markers', x: [0, 1, 2, 3], y: [1, 3, 2, 4], name: 'first' }], layout: { title: { text: 'first' }, width: 520, height: 320 } });"),
          code("await showPlot({ data: [{ type: 'bar', x: ['a', 'b', 'c'], y: [3, 1, 2], name: 'second' }], layout: { title: { text: 'second' }, width: 520, height: 320 } });\nawait closePlotRenderer();"),
        ],
        metadata: { kernelspec: { display_name: 'TypeScript', language: 'typescript', name: 'tslab' } },
        nbformat: 4, nbformat_minor: 5,
      };
      const file = path.join(dir, 'plots.ipynb');
      fs.writeFileSync(file, JSON.stringify(nb));
      const r = spawnSync(process.execPath, [path.join(ROOT, 'kernels-setup', 'check_notebook_ui.js'), '--notebook', file, '--screenshot', shot, '--timeout', '180'], {
        cwd: ROOT, encoding: 'utf8', timeout: 230000,
      });
      const log = `${r.stdout}\n${r.stderr}`;
      assert.equal(r.status, 0, `check_notebook_ui.js failed:\n${log}`);
      const line = r.stdout.split('\n').find((l) => l.startsWith('{'));
      assert.ok(line, `no JSON summary in:\n${log}`);
      const s = JSON.parse(line) as { plotlyOutputs: number; loaders: number; plotsDrawn: number; modebars: number; hover: string; withPng: number; pageErrors: string[] };
      assert.equal(s.plotlyOutputs, 2);
      assert.equal(s.withPng, 2, 'each figure output keeps the PNG fallback');
      assert.equal(s.loaders, 1, 'plotly.js carried by one output only');
      assert.equal(s.plotsDrawn, 2);
      assert.equal(s.modebars, 2);
      assert.match(s.hover, /\d/, 'a hover label with a value');
      assert.deepEqual(s.pageErrors, []);
      assert.ok(fs.statSync(shot).size > 10000, 'screenshot written');
      assert.deepEqual(fs.readdirSync(path.join(ROOT, 'notebooks')).filter((f) => f.startsWith('.ui-check-')), [], 'the temporary copy is removed');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
      fs.rmSync(shot, { force: true });
    }
  });
});
