#!/usr/bin/env node
// node kernels-setup/check_notebook_ui.js [--notebook notebooks/NAME.ipynb] [--screenshot FILE] [--timeout S] [--keep]
//
// Proves, as a reader would see it, that a notebook's plotly figures are interactive in Jupyter Notebook:
//   1. serves Debian's Jupyter Notebook (6.4) locally with the project's tslab kernel: 127.0.0.1, a free port, a
//      random token, no browser; config and runtime folders, NOTEBOOK_OUT and a copy of the notebook (in
//      notebooks/.ui-check-<pid>/, so its imports resolve as in notebooks/) are temporary, nothing in the checkout
//      changes;
//   2. opens the copy in headless Debian Chromium (playwright-core), runs every cell in the page (as "Run All"),
//      and fails on the first error output or a cell that did not run;
//   3. checks each plotly output is drawn (`.js-plotly-plot` with `_fullLayout`), exactly one output carried
//      plotly.js, the modebar is there, and moving the mouse over the first figure shows a hover label;
//   4. saves a screenshot of the notebook with the hover label (--screenshot, default docs/img/notebook-plotly.png).
// Prints one JSON line with what it measured; exit 0 on success, 1 on a failed check, 2 on bad usage or a missing
// prerequisite (npm run kernel:install installs Jupyter Notebook and Chromium).
//   --notebook P    the notebook to run (default notebooks/01-quickstart.ipynb; must be inside notebooks/)
//   --screenshot F  PNG to write (default docs/img/notebook-plotly.png; '' for none)
//   --timeout S     seconds for running all cells (default 600)
//   --keep          keep the temporary folders (prints where)
'use strict';
const fs = require('fs');
const os = require('os');
const net = require('net');
const path = require('path');
const crypto = require('crypto');
const { spawn, spawnSync } = require('child_process');
const { ensureLink } = require('./link');

const ROOT = path.resolve(__dirname, '..');
const PY = '/usr/bin/python3';
const JUPYTER_PATH = path.join(ROOT, '.kernel', 'share', 'jupyter');
const NB_DIR = path.join(ROOT, 'notebooks');
const CHROMIUM = process.env.COREFACE_CHROMIUM || '/usr/bin/chromium';
const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
  '--disable-component-update', '--disable-sync', '--no-first-run'];
const PLOTLY_MIME = 'application/vnd.plotly.v1+json';
const LOADER_MARKER = 'coreface-lab plotly.js loader';

function usage(msg) {
  console.error(`[ui-check] ${msg}`);
  process.exit(2);
}

function parseArgs(argv) {
  const o = { notebook: path.join(NB_DIR, '01-quickstart.ipynb'), screenshot: path.join(ROOT, 'docs', 'img', 'notebook-plotly.png'), timeout: 600, keep: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--notebook') o.notebook = path.resolve(argv[++i] ?? '');
    else if (a === '--screenshot') o.screenshot = argv[++i] ? path.resolve(argv[i]) : '';
    else if (a === '--timeout') o.timeout = Number(argv[++i]);
    else if (a === '--keep') o.keep = true;
    else if (a === '-h' || a === '--help') {
      console.log(fs.readFileSync(__filename, 'utf8').split('\n').slice(1, 20).map((l) => l.replace(/^\/\/ ?/, '')).join('\n'));
      process.exit(0);
    } else usage(`unknown option '${a}' (allowed: --notebook P, --screenshot F, --timeout S, --keep)`);
  }
  if (!Number.isFinite(o.timeout) || o.timeout <= 0) usage(`--timeout must be a positive number of seconds, got '${o.timeout}'`);
  if (!fs.existsSync(o.notebook)) usage(`--notebook ${o.notebook} does not exist`);
  if (path.relative(NB_DIR, o.notebook).startsWith('..')) usage(`--notebook must be inside ${NB_DIR} (the kernel resolves 'coreface-lab' from there), got ${o.notebook}`);
  return o;
}

function checkPrereqs() {
  const py = spawnSync(PY, ['-c', 'import notebook, jupyter_client'], { encoding: 'utf8' });
  if (py.status !== 0) usage('Jupyter Notebook (Debian jupyter-notebook) is missing: run `npm run kernel:install`');
  if (!fs.existsSync(CHROMIUM)) usage(`Chromium not found at ${CHROMIUM}: run \`npm run kernel:install\` (or set COREFACE_CHROMIUM)`);
  if (!fs.existsSync(path.join(JUPYTER_PATH, 'kernels', 'tslab', 'kernel.json'))) usage('the tslab kernel is not registered under .kernel/: run `npm run kernel:install`');
  if (!fs.existsSync(path.join(ROOT, 'dist', 'src', 'index.js'))) usage('dist/ is missing: run `npm run build`');
  ensureLink(ROOT, true);
}

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

async function waitForServer(base, token, server, log, ms) {
  const t0 = Date.now();
  while (Date.now() - t0 < ms) {
    if (server.exitCode !== null) throw new Error(`jupyter notebook exited with ${server.exitCode}:\n${log.join('')}`);
    try {
      const r = await fetch(`${base}/api/status?token=${token}`);
      if (r.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((res) => setTimeout(res, 250));
  }
  throw new Error(`jupyter notebook did not answer on ${base} within ${ms / 1000} s:\n${log.join('')}`);
}

async function stopServer(server, base, token) {
  if (server.exitCode !== null) return;
  try { // shut the kernels down through the API first, so none outlives the server
    const kernels = await (await fetch(`${base}/api/kernels?token=${token}`)).json();
    await Promise.all(kernels.map((k) => fetch(`${base}/api/kernels/${k.id}?token=${token}`, { method: 'DELETE' })));
  } catch {
    // the server may already be gone
  }
  const exited = new Promise((res) => server.once('exit', res));
  server.kill('SIGTERM');
  const timer = setTimeout(() => server.kill('SIGKILL'), 10000);
  await exited;
  clearTimeout(timer);
}

async function runInPage(page, o) {
  await page.waitForFunction(
    'window.Jupyter && Jupyter.notebook && Jupyter.notebook._fully_loaded && Jupyter.notebook.kernel && Jupyter.notebook.kernel.is_connected()',
    undefined, { timeout: 60000 });
  const kernel = await page.evaluate('Jupyter.notebook.kernel.name');
  if (kernel !== 'tslab') throw new Error(`the notebook opened with kernel '${kernel}', expected 'tslab'`);
  const t0 = Date.now();
  await page.evaluate('Jupyter.notebook.set_autosave_interval(0); Jupyter.notebook.clear_all_output(); Jupyter.notebook.execute_all_cells();');
  await page.waitForFunction("document.querySelectorAll('.cell.code_cell.running').length === 0", undefined, { timeout: o.timeout * 1000, polling: 500 });
  const runSeconds = (Date.now() - t0) / 1000;
  const cells = await page.evaluate(`Jupyter.notebook.get_cells().filter((c) => c.cell_type === 'code' && c.get_text().trim()).map((c) => ({
    prompt: c.input_prompt_number,
    outputs: c.output_area.toJSON(),
    source: c.get_text().slice(0, 200),
  }))`);
  for (const [i, c] of cells.entries()) {
    const err = c.outputs.find((x) => x.output_type === 'error');
    if (err) throw new Error(`code cell ${i + 1} failed in the page: ${err.ename}: ${err.evalue}\n${(err.traceback || []).join('\n')}\n--- source ---\n${c.source}`);
    if (typeof c.prompt !== 'number') throw new Error(`code cell ${i + 1} did not run (prompt ${JSON.stringify(c.prompt)}): an earlier request failed or was aborted\n--- source ---\n${c.source}`);
  }
  const outputs = cells.flatMap((c) => c.outputs);
  const plotlyOutputs = outputs.filter((x) => x.data && x.data[PLOTLY_MIME]);
  const loaders = outputs.filter((x) => x.data && typeof x.data['text/html'] === 'string' && x.data['text/html'].includes(LOADER_MARKER)).length;
  return { runSeconds, codeCells: cells.length, plotlyOutputs: plotlyOutputs.length, loaders, withPng: plotlyOutputs.filter((x) => x.data['image/png']).length };
}

async function hoverFirstPlot(page) {
  const drawn = await page.evaluate(`Array.from(document.querySelectorAll('.js-plotly-plot')).map((el) => !!el._fullLayout)`);
  const modebars = await page.evaluate("document.querySelectorAll('.js-plotly-plot .modebar').length");
  if (drawn.length === 0) return { drawn, modebars, hover: '', modebarShown: false };
  const plot = page.locator('.js-plotly-plot').first();
  await plot.scrollIntoViewIfNeeded();
  // Bring the figure's cell near the top of the viewport, below the Notebook's header.
  await page.evaluate(`(() => { const el = document.querySelector('.js-plotly-plot'); const cell = el.closest('.cell');
    const site = document.getElementById('site'); site.scrollTop += cell.getBoundingClientRect().top - site.getBoundingClientRect().top - 8; })()`);
  const box = await page.locator('.js-plotly-plot .nsewdrag').first().boundingBox();
  if (!box) throw new Error('the first plotly figure has no drag layer (.nsewdrag): it is not an interactive cartesian plot');
  let hover = '';
  for (let k = 1; k <= 40 && !hover; k++) { // sweep left to right along the middle, then lower
    const x = box.x + (box.width * k) / 41;
    for (const fy of [0.5, 0.25, 0.75]) {
      await page.mouse.move(x, box.y + box.height * fy);
      hover = await page.evaluate(`Array.from(document.querySelectorAll('.js-plotly-plot .hoverlayer .hovertext')).map((t) => t.textContent).join(' | ')`);
      if (hover) break;
    }
  }
  const modebarShown = await page.evaluate(`(() => { const m = document.querySelector('.js-plotly-plot .modebar'); return !!m && getComputedStyle(m).opacity !== '0'; })()`);
  return { drawn, modebars, hover, modebarShown };
}

async function main() {
  const o = parseArgs(process.argv.slice(2));
  checkPrereqs();
  let pw;
  try {
    pw = require('playwright-core');
  } catch (e) {
    usage(`playwright-core is missing (npm install): ${e.message}`);
  }
  const t0 = Date.now();
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'coreface-ui-check-'));
  const copyDir = path.join(NB_DIR, `.ui-check-${process.pid}`);
  fs.mkdirSync(copyDir, { recursive: true });
  const copy = path.join(copyDir, path.basename(o.notebook));
  fs.copyFileSync(o.notebook, copy);
  const port = await freePort();
  const token = crypto.randomBytes(16).toString('hex');
  const base = `http://127.0.0.1:${port}`;
  const log = [];
  const server = spawn('/usr/bin/jupyter-notebook', [
    '--no-browser', '--ip=127.0.0.1', `--port=${port}`, '--port-retries=0', `--NotebookApp.token=${token}`,
    `--NotebookApp.notebook_dir=${NB_DIR}`, '--ContentsManager.allow_hidden=True',
    ...(process.getuid && process.getuid() === 0 ? ['--allow-root'] : []),
  ], {
    cwd: NB_DIR,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: {
      ...process.env, JUPYTER_PATH, JUPYTER_CONFIG_DIR: path.join(tmp, 'config'), JUPYTER_RUNTIME_DIR: path.join(tmp, 'runtime'),
      NOTEBOOK_OUT: path.join(tmp, 'out'), PYDEVD_DISABLE_FILE_VALIDATION: '1',
    },
  });
  server.stdout.on('data', (d) => log.push(String(d)));
  server.stderr.on('data', (d) => log.push(String(d)));
  let context = null;
  let status = 0;
  try {
    await waitForServer(base, token, server, log, 30000);
    const profile = path.join(tmp, 'chromium');
    context = await pw.chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS, viewport: { width: 1100, height: 820 },
    });
    const page = context.pages()[0] ?? (await context.newPage());
    const pageErrors = [];
    page.on('pageerror', (e) => pageErrors.push(e.message));
    const rel = path.relative(NB_DIR, copy).split(path.sep).map(encodeURIComponent).join('/');
    await page.goto(`${base}/notebooks/${rel}?token=${token}`);
    const run = await runInPage(page, o);
    const ui = await hoverFirstPlot(page);
    const result = { notebook: path.relative(ROOT, o.notebook), ...run, plotsDrawn: ui.drawn.filter(Boolean).length, plots: ui.drawn.length,
      modebars: ui.modebars, modebarShown: ui.modebarShown, hover: ui.hover, pageErrors, seconds: Math.round((Date.now() - t0) / 100) / 10 };
    const problems = [];
    if (run.plotlyOutputs < 1) problems.push('no plotly output (application/vnd.plotly.v1+json) in the notebook');
    if (run.withPng !== run.plotlyOutputs) problems.push(`${run.plotlyOutputs - run.withPng} plotly outputs lack the PNG fallback`);
    if (run.loaders !== 1) problems.push(`plotly.js must be carried by exactly one output, found ${run.loaders}`);
    if (ui.drawn.length !== run.plotlyOutputs || ui.drawn.some((d) => !d)) problems.push(`${result.plotsDrawn} of ${run.plotlyOutputs} figures drawn by plotly.js`);
    if (ui.modebars !== ui.drawn.length) problems.push(`modebar on ${ui.modebars} of ${ui.drawn.length} figures`);
    if (!ui.hover) problems.push('no hover label appeared over the first figure');
    if (o.screenshot) {
      fs.mkdirSync(path.dirname(o.screenshot), { recursive: true });
      await page.screenshot({ path: o.screenshot });
      result.screenshot = path.relative(ROOT, o.screenshot);
      result.screenshotBytes = fs.statSync(o.screenshot).size;
    }
    console.log(JSON.stringify(result));
    if (problems.length) {
      console.error(`[ui-check] FAILED: ${problems.join('; ')}`);
      status = 1;
    } else {
      console.log(`[ui-check] ok: ${result.plotsDrawn} interactive figure(s) in ${result.notebook}, hover "${ui.hover}", ${result.seconds} s`);
    }
  } catch (e) {
    console.error(`[ui-check] FAILED: ${e.message}`);
    status = 1;
  } finally {
    if (context) await context.close().catch(() => undefined);
    await stopServer(server, base, token);
    if (o.keep) console.log(`[ui-check] kept ${tmp} and ${copyDir}`);
    else {
      fs.rmSync(tmp, { recursive: true, force: true });
      fs.rmSync(copyDir, { recursive: true, force: true });
    }
  }
  process.exit(status);
}

main();
