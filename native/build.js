#!/usr/bin/env node
/**
 * Builds the optional native kernels (native/coreface_native.cc -> native/build/coreface_native.node): plain
 * N-API against Node's own headers, linked to OpenBLAS (Debian: libopenblas-dev). No download, no node-gyp.
 *
 *   node native/build.js             build; exit 1 with the reason if it cannot
 *   node native/build.js --optional  never fail (npm's install hook): print the reason and how to fix it
 *   node native/build.js --force     rebuild even if the addon is newer than its source
 *
 * With oneDNN (Debian: libdnnl-dev, the library PyTorch's CPU convolutions use) the convolutions run on it; without
 * it they run as im2col + OpenBLAS sgemm, and everything else is the same. oneDNN is used when its header
 * (oneapi/dnnl/dnnl.hpp) is found; if the build with it fails, the addon is built without it and says why.
 *
 * Environment: CXX (compiler, default g++), COREFACE_NATIVE_CFLAGS (optimisation flags, default
 * `-O3 -march=native`: the addon is built on the machine that runs it), COREFACE_BLAS_LIBS (link flags, default -lopenblas),
 * COREFACE_BLAS_CFLAGS (extra include flags, default none), COREFACE_DNNL (`0`: build without oneDNN; default: with
 * it when found), COREFACE_DNNL_LIBS (link flags, default -ldnnl). Without the addon, coreface runs on plain wasm
 * and says so (src/backends/native-kernels.ts).
 */
'use strict';
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const here = __dirname;
const src = path.join(here, 'coreface_native.cc');
const outDir = path.join(here, 'build');
const out = path.join(outDir, 'coreface_native.node');
const optional = process.argv.includes('--optional');
const force = process.argv.includes('--force');

function done(ok, message) {
  const line = `[native] ${message}`;
  if (ok) {
    console.log(line);
    process.exit(0);
  }
  console.error(line);
  if (optional) {
    console.error('[native] coreface will run on plain wasm (slower); `npm run setup` installs OpenBLAS and builds the kernels');
    process.exit(0);
  }
  process.exit(1);
}

/** Directory holding node_api.h: next to this Node binary, else npm's configured nodedir. */
function nodeIncludeDir() {
  const candidates = [
    path.join(path.dirname(process.execPath), '..', 'include', 'node'),
    process.env.npm_config_nodedir && path.join(process.env.npm_config_nodedir, 'include', 'node'),
    '/usr/include/node',
    '/usr/local/include/node',
  ].filter(Boolean);
  return candidates.find((d) => fs.existsSync(path.join(d, 'node_api.h')));
}

const cxx = process.env.CXX || 'g++';
const words = (v, dflt) => (v || dflt).split(/\s+/).filter(Boolean);
const blasLibs = words(process.env.COREFACE_BLAS_LIBS, '-lopenblas');
const blasCflags = words(process.env.COREFACE_BLAS_CFLAGS, '');
const optFlags = words(process.env.COREFACE_NATIVE_CFLAGS, '-O3 -march=native');
const dnnlLibs = words(process.env.COREFACE_DNNL_LIBS, '-ldnnl');
const dnnlOff = process.env.COREFACE_DNNL?.trim() === '0';

/** oneDNN's C++ header in the default include path or in an -I directory of COREFACE_BLAS_CFLAGS. */
function dnnlHeader() {
  const dirs = ['/usr/include', '/usr/local/include', ...blasCflags.filter((f) => f.startsWith('-I')).map((f) => f.slice(2))];
  return dirs.map((d) => path.join(d, 'oneapi', 'dnnl', 'dnnl.hpp')).find((f) => fs.existsSync(f));
}

/** Whether the existing addon was built with oneDNN (undefined when it does not load); asked in a child process so
 * that this one can still load the rebuilt addon. */
function builtWithDnnl() {
  const r = spawnSync(process.execPath, ['-e', `process.stdout.write(String(Boolean(require(${JSON.stringify(out)}).info().dnnl)))`], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout === 'true' : undefined;
}

if (process.platform === 'win32') done(false, 'native kernels are built on Linux and macOS only');
if (!force && fs.existsSync(out) && fs.statSync(out).mtimeMs > fs.statSync(src).mtimeMs) {
  // a build from before oneDNN was installed (or from before COREFACE_DNNL=0) is rebuilt
  const wantDnnl = !dnnlOff && dnnlHeader() !== undefined;
  if (builtWithDnnl() === wantDnnl) done(true, `up to date: ${path.relative(process.cwd(), out) || out}`);
}
const include = nodeIncludeDir();
if (!include) done(false, 'node_api.h not found (Node headers: install nodejs headers or set npm config nodedir)');

function compile(withDnnl) {
  const args = [
    ...optFlags, '-std=c++17', '-fopenmp', '-shared', '-fPIC', '-Wall', '-Wextra',
    '-DNAPI_VERSION=8', '-DNODE_GYP_MODULE_NAME=coreface_native', ...(withDnnl ? ['-DCOREFACE_DNNL'] : []),
    `-I${include}`, ...blasCflags,
    src, '-o', `${out}.tmp`, ...blasLibs, ...(withDnnl ? dnnlLibs : []),
  ];
  if (process.platform === 'darwin') args.push('-undefined', 'dynamic_lookup');
  return spawnSync(cxx, args, { encoding: 'utf8' });
}

fs.mkdirSync(outDir, { recursive: true });
const t0 = Date.now();
let withDnnl = !dnnlOff && dnnlHeader() !== undefined;
let dnnlNote = dnnlOff ? 'without oneDNN (COREFACE_DNNL=0)'
  : withDnnl ? '' : 'without oneDNN (not installed: apt-get install libdnnl-dev, or `npm run native` as root)';
let r = compile(withDnnl);
if (!r.error && r.status !== 0 && withDnnl) {
  const first = (r.stderr || '').trim().split('\n').find((l) => /error/.test(l)) ?? 'unknown error';
  console.error(`[native] the build with oneDNN failed (${first.trim()}); building without it`);
  withDnnl = false;
  dnnlNote = 'without oneDNN (its build failed)';
  r = compile(false);
}
if (r.error) done(false, `cannot run ${cxx}: ${r.error.message}`);
if (r.status !== 0) {
  const err = (r.stderr || '').trim();
  const hint = /cblas\.h|lopenblas/.test(err) ? ' (OpenBLAS missing: apt-get install libopenblas-dev, or `npm run setup` as root)' : '';
  done(false, `build failed${hint}:\n${err.split('\n').slice(0, 12).join('\n')}`);
}
fs.renameSync(`${out}.tmp`, out);
// Load it once here so a broken link (e.g. libopenblas.so.0 missing at run time) shows at build time.
try {
  const addon = require(out);
  const info = addon.info();
  const engines = `${info.blas.trim()}, ${info.core}${info.dnnl ? `, ${info.dnnl}` : ''}`;
  done(true, `built ${path.relative(process.cwd(), out) || out} in ${((Date.now() - t0) / 1000).toFixed(1)} s (${engines})${dnnlNote ? `; ${dnnlNote}` : ''}`);
} catch (e) {
  fs.rmSync(out, { force: true });
  done(false, `built but cannot load: ${e instanceof Error ? e.message.split('\n')[0] : String(e)}`);
}
