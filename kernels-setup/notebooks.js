#!/usr/bin/env node
// npm run notebooks [-- [--mode quick|full] [--update] [--timeout S] [NAME ...]]
//
// Executes every notebooks/*.ipynb (or those whose file name contains one of NAME) headless through the project's
// tslab kernel, stops at the first failing cell and prints its error and stderr, writes executed copies under
// results/notebooks/ (override with NOTEBOOK_OUT) and prints per-notebook wall times.
//   --mode quick|full   sets NOTEBOOK_MODE for the kernel (default: $NOTEBOOK_MODE, else quick)
//   --update            copies the executed notebooks (outputs stripped of anything huge) back into notebooks/
//   --timeout S         per-cell timeout in seconds (default 600 in quick mode, 86400 in full mode)
// Prerequisites are checked first: tslab's zeromq binary loads (kernels-setup/check_zeromq.js prints the cause and
// the fix, instead of Jupyter's "Kernel didn't respond in 60 seconds"); Debian jupyter (npm run kernel:install
// installs it); the tslab kernel under .kernel/ and the notebooks/node_modules/coreface-lab link are (re)created
// here when missing; dist/ is rebuilt when a src/*.ts file is newer than it.
'use strict';
const fs = require('fs');
const path = require('path');
const { spawnSync } = require('child_process');
const { ensureLink } = require('./link');
const { zeromqProblem } = require('./check_zeromq');

const ROOT = path.resolve(__dirname, '..');
const PY = '/usr/bin/python3';
const JUPYTER_PATH = path.join(ROOT, '.kernel', 'share', 'jupyter');

function die(msg, code = 1) {
  console.error(`[notebooks] ${msg}`);
  process.exit(code);
}

function parseArgs(argv) {
  const o = { mode: process.env.NOTEBOOK_MODE || 'quick', update: false, timeout: null, names: [] };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--update') o.update = true;
    else if (a === '--mode') o.mode = argv[++i];
    else if (a.startsWith('--mode=')) o.mode = a.slice(7);
    else if (a === '--quick') o.mode = 'quick';
    else if (a === '--full') o.mode = 'full';
    else if (a === '--timeout') o.timeout = Number(argv[++i]);
    else if (a === '-h' || a === '--help') {
      console.log(fs.readFileSync(__filename, 'utf8').split('\n').slice(1, 13).map((l) => l.replace(/^\/\/ ?/, '')).join('\n'));
      process.exit(0);
    } else if (a.startsWith('-')) die(`unknown option '${a}' (allowed: --mode quick|full, --quick, --full, --update, --timeout S)`, 2);
    else o.names.push(a);
  }
  if (o.mode !== 'quick' && o.mode !== 'full') die(`--mode must be 'quick' or 'full', got '${o.mode}'`, 2);
  if (o.timeout !== null && !(Number.isInteger(o.timeout) && o.timeout > 0)) die(`--timeout must be a positive integer (seconds), got '${o.timeout}'`, 2);
  if (o.update && o.mode !== 'quick') die('--update commits quick-mode outputs only: drop --mode full', 2);
  return o;
}

function newestMtime(dir) {
  let best = 0;
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) best = Math.max(best, newestMtime(p));
    else if (e.name.endsWith('.ts')) best = Math.max(best, fs.statSync(p).mtimeMs);
  }
  return best;
}

function checkPrereqs() {
  const zmq = zeromqProblem(ROOT);
  if (zmq) die(zmq.join('\n[notebooks] '));
  const py = spawnSync(PY, ['-c', 'import nbclient, nbformat, jupyter_client'], { encoding: 'utf8' });
  if (py.status !== 0 || !fs.existsSync('/usr/bin/jupyter')) {
    die('Jupyter (Debian) is missing: run `npm run kernel:install` (needs root for apt-get)');
  }
  const spec = path.join(JUPYTER_PATH, 'kernels', 'tslab', 'kernel.json');
  const bin = path.join(ROOT, 'node_modules', '.bin', 'tslab');
  if (!fs.existsSync(spec) || !fs.readFileSync(spec, 'utf8').includes(bin)) {
    console.log('[notebooks] registering the tslab kernel under .kernel/');
    const r = spawnSync(bin, ['install', `--python=${PY}`, `--binary=${bin}`, `--prefix=${path.join(ROOT, '.kernel')}`], { stdio: 'inherit' });
    if (r.status !== 0) die('tslab install failed: run `npm run kernel:install`');
  }
  ensureLink(ROOT, true);
  const dist = path.join(ROOT, 'dist', 'src', 'index.js');
  if (!fs.existsSync(dist) || newestMtime(path.join(ROOT, 'src')) > fs.statSync(dist).mtimeMs) {
    console.log('[notebooks] dist/ is missing or older than src/: building (tsc)');
    const r = spawnSync(process.execPath, [require.resolve('typescript/bin/tsc', { paths: [ROOT] }), '-p', path.join(ROOT, 'tsconfig.json')], { stdio: 'inherit', cwd: ROOT });
    // tsc emits despite type errors (e.g. in a test file being edited): go on when dist/ was refreshed.
    if (r.status !== 0) {
      if (!fs.existsSync(dist) || newestMtime(path.join(ROOT, 'src')) > fs.statSync(dist).mtimeMs) {
        die('build failed (npm run build): the notebooks import the compiled library from dist/');
      }
      console.warn('[notebooks] tsc reported type errors (above); dist/ was emitted anyway, continuing');
    }
  }
}

function main() {
  const o = parseArgs(process.argv.slice(2));
  checkPrereqs();
  const nbDir = path.join(ROOT, 'notebooks');
  let files = fs.readdirSync(nbDir).filter((f) => f.endsWith('.ipynb')).sort();
  if (o.names.length) files = files.filter((f) => o.names.some((n) => f.includes(n)));
  if (files.length === 0) die(`no notebook matches ${o.names.length ? o.names.join(', ') : 'notebooks/*.ipynb'}`);
  const out = process.env.NOTEBOOK_OUT || path.join(ROOT, 'results', 'notebooks');
  const args = [path.join(__dirname, 'run_notebooks.py'), '--out', out];
  if (o.update) args.push('--update');
  args.push('--timeout', String(o.timeout ?? (o.mode === 'quick' ? 600 : 86400)));
  args.push(...files.map((f) => path.join(nbDir, f)));
  const env = {
    ...process.env,
    NOTEBOOK_MODE: o.mode,
    NOTEBOOK_OUT: out,
    JUPYTER_PATH,
    PYDEVD_DISABLE_FILE_VALIDATION: '1',
  };
  const r = spawnSync(PY, args, { stdio: 'inherit', env, cwd: ROOT });
  process.exit(r.status ?? 1);
}

main();
