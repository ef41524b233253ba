#!/usr/bin/env node
// node kernels-setup/check_zeromq.js      (exit 0: zeromq loads; exit 1: prints the cause and the fix)
//
// tslab, the notebook kernel, talks to Jupyter over ZeroMQ through the `zeromq` npm package, whose native binary
// is a prebuilt addon.node picked from node_modules/zeromq/build/ by OS, CPU and libc. When none of them loads
// (a platform without a prebuilt, a musl/glibc mismatch, a binary built for another Node), the kernel process dies
// at start-up and Jupyter only says "Kernel didn't respond in 60 seconds" after a minute of stack traces. This check
// loads zeromq the way the kernel does (resolved from tslab's own folder, in a fresh Node process) and, when that
// fails, returns one message naming the cause (the loader's error for each prebuilt binary it tried) and the fix
// (build zeromq from source: `npm rebuild zeromq`, which runs zeromq's install script, approved in package.json
// `allowScripts`). Used by kernels-setup/install.sh (npm run kernel:install) and kernels-setup/notebooks.js.
'use strict';
const path = require('path');
const { spawnSync } = require('child_process');

/** Debian packages zeromq's build from source needs (zeromq 6 README, "Building from source"). */
const BUILD_DEBS = ['g++', 'make', 'cmake', 'ninja-build', 'python3', 'git', 'curl', 'zip', 'unzip', 'tar', 'pkg-config',
  'autoconf', 'automake', 'autoconf-archive', 'libtool'];

// Runs in a fresh Node process: loads zeromq, reports {ok} or {ok:false,error} as JSON on stdout. cmake-ts's loader
// prints one "[WARN cmake-ts] Failed to load addon at <file>: <error>" line per prebuilt binary it tried to stderr.
const PROBE = `
try { require(process.argv[1]); process.stdout.write(JSON.stringify({ ok: true })); }
catch (e) { process.stdout.write(JSON.stringify({ ok: false, error: String((e && e.message) || e) })); }`;

const stripAnsi = (s) => s.replace(/\u001b\[[0-9;]*m/g, '');
const firstLines = (s) => s.split('\n').filter((l) => l.trim() !== '' && !/^\s+at /.test(l) && !/^(Require stack:|- \/)/.test(l));

/**
 * Why the tslab kernel of the project at `root` cannot load zeromq, as message lines (no prefix), or null when it
 * loads. Never throws: a missing tslab or zeromq is reported as a problem too.
 * @param {string} root project root (the folder holding node_modules/)
 * @param {number} [timeoutMs=30000] how long the probe process may take
 * @returns {string[] | null}
 */
function zeromqProblem(root, timeoutMs = 30000) {
  let tslabDir;
  try {
    tslabDir = path.dirname(require.resolve('tslab/package.json', { paths: [root] }));
  } catch {
    return [`tslab is not installed under ${path.join(root, 'node_modules')}: run \`npm install\` first`];
  }
  let zmqMain;
  try {
    zmqMain = require.resolve('zeromq', { paths: [tslabDir] });
  } catch {
    return [`zeromq (tslab's transport to Jupyter) is not installed beside ${tslabDir}: run \`npm install\` again`];
  }
  const zmqDir = path.resolve(path.dirname(zmqMain), '..');
  let version = '?';
  try {
    version = require(path.join(zmqDir, 'package.json')).version;
  } catch { /* the version is only named in the message */ }
  const r = spawnSync(process.execPath, ['-e', PROBE, zmqMain], { encoding: 'utf8', timeout: timeoutMs });
  let result = null;
  try {
    result = JSON.parse(r.stdout);
  } catch { /* the probe died before printing: handled below */ }
  if (result && result.ok) return null;
  const stderr = stripAnsi(r.stderr || '');
  const tried = [];
  for (const line of stderr.split('\n')) {
    const m = /\[WARN cmake-ts\] Failed to load addon at (.+?): (.*)$/.exec(line);
    if (m) tried.push(`  ${path.relative(zmqDir, m[1])}: ${m[2]}`);
  }
  const loaderError = result ? firstLines(result.error) : firstLines(stderr).slice(-3);
  const why = r.error ? `the probe process failed: ${r.error.message}` : (loaderError.join('\n  ') || `exit status ${r.status}`);
  return [
    `zeromq's native binary failed to load, so the tslab kernel cannot start (tslab talks to Jupyter over ZeroMQ; zeromq ${version} at ${zmqDir})`,
    `loader error: ${why}`,
    ...(tried.length ? [`prebuilt binaries tried (${process.platform} ${process.arch}):`, ...tried] : []),
    'fix: build zeromq from source for this machine (zeromq\'s install script does it; package.json allowScripts approves it):',
    `  sudo apt-get install -y ${BUILD_DEBS.join(' ')}`,
    '  npm rebuild zeromq',
    'the build downloads Node\'s headers from nodejs.org and libzmq (vcpkg) from github.com; see docs/install.md',
  ];
}

module.exports = { zeromqProblem, BUILD_DEBS };

if (require.main === module) {
  const root = path.resolve(__dirname, '..');
  const problem = zeromqProblem(root);
  if (problem) {
    for (const line of problem) console.error(`[kernel] ${line}`);
    process.exit(1);
  }
  console.log('[kernel] zeromq loads (tslab\'s transport to Jupyter)');
}
