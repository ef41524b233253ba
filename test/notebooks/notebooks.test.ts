import { strict as assert } from 'assert';
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

const ROOT = path.resolve(__dirname, '..', '..');

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
      const r = spawnSync(process.execPath, [path.join(ROOT, 'kernels-setup', 'notebooks.js'), '--mode', 'quick'], {
        cwd: ROOT, encoding: 'utf8', env: { ...process.env, NOTEBOOK_OUT: out },
      });
      const log = `${r.stdout}\n${r.stderr}`;
      assert.equal(r.status, 0, `npm run notebooks failed:\n${log}`);
      const sources = fs.readdirSync(path.join(ROOT, 'notebooks')).filter((f) => f.endsWith('.ipynb'));
      assert.ok(sources.length >= 1, 'no notebooks found');
      const timings = JSON.parse(fs.readFileSync(path.join(out, 'timings.json'), 'utf8')) as { mode: string; notebooks: Record<string, { ok: boolean }> };
      assert.equal(timings.mode, 'quick');
      for (const f of sources) {
        assert.ok(fs.existsSync(path.join(out, f)), `executed copy of ${f}`);
        assert.ok(timings.notebooks[f]?.ok, `${f} not reported ok`);
        const nb = JSON.parse(fs.readFileSync(path.join(out, f), 'utf8')) as { cells: { cell_type: string; outputs?: { output_type: string; data?: Record<string, unknown> }[] }[] };
        const code = nb.cells.filter((c) => c.cell_type === 'code');
        const pngs = code.flatMap((c) => c.outputs ?? []).filter((o) => o.data && 'image/png' in o.data).length;
        assert.ok(pngs >= 1, `${f}: expected at least one PNG output`);
      }
      assert.ok(fs.readdirSync(path.join(out, 'plots')).some((f) => f.endsWith('.html')), 'interactive HTML plots saved');
      console.log(`      ${log.split('\n').filter((l) => l.includes('[notebooks] ok')).map((l) => l.replace('[notebooks] ok', '').trim()).join('\n      ')}`);
    } finally {
      fs.rmSync(out, { recursive: true, force: true });
    }
  });

  it('the runner fails on the first failing cell and prints its stderr', function () {
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
      assert.match(r.stderr, /Type 'string' is not assignable to type 'number'/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
