// Issue 20, part 2: a zeromq native binary that does not load (no prebuilt for the platform, a libc mismatch, a
// corrupt file) must not end in Jupyter's "Kernel didn't respond in 60 seconds": the kernel set-up and the notebook
// runner name the cause (the loader's error) and the fix (npm rebuild zeromq, with the Debian build tools).
// Simulated in a project copy whose node_modules/zeromq is a copy with every prebuilt addon.node replaced by a file
// that is not a shared object; the real node_modules is never modified.
import { strict as assert } from 'assert';
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { copyProject, replaceModule, ROOT, type ProjectCopy } from './project-copy';

const NOT_A_LIBRARY = Buffer.alloc(4096, 'this is not a shared object\n');

/**
 * Replaces every prebuilt binary listed in the copied zeromq's build/manifest.json by NOT_A_LIBRARY; returns their
 * paths relative to the package folder (build/<os>/<arch>/node/<variant>/addon.node).
 */
function breakPrebuilts(zmqDir: string): string[] {
  const manifest = JSON.parse(fs.readFileSync(path.join(zmqDir, 'build', 'manifest.json'), 'utf8')) as Record<string, string>;
  const rels = Object.values(manifest).map((rel) => path.join('build', ...rel.split(/[\\/]/)));
  for (const rel of rels) {
    fs.mkdirSync(path.dirname(path.join(zmqDir, rel)), { recursive: true });
    fs.writeFileSync(path.join(zmqDir, rel), NOT_A_LIBRARY);
  }
  return rels;
}

/** The parts of the message every entry point must print (after its own prefix). */
function assertCauseAndFix(log: string, prefix: string, broken: string[]): void {
  assert.match(log, new RegExp(`\\[${prefix}\\] zeromq's native binary failed to load, so the tslab kernel cannot start`), log);
  assert.match(log, new RegExp(`\\[${prefix}\\] loader error: No compatible zeromq.js addon found`), log);
  // the loader's own error for at least one of the broken prebuilts of this platform, verbatim
  const tried = log.split('\n').filter((l) => broken.some((rel) => l.startsWith(`[${prefix}]   ${rel}: `)));
  assert.ok(tried.length >= 1, `no per-binary loader error in:\n${log}`);
  if (process.platform === 'linux') assert.ok(tried.some((l) => l.includes('invalid ELF header')), log);
  assert.match(log, new RegExp(`\\[${prefix}\\]   sudo apt-get install -y g\\+\\+ make cmake ninja-build`), log);
  assert.match(log, new RegExp(`\\[${prefix}\\]   npm rebuild zeromq$`, 'm'), log);
}

describe('set-up: a zeromq binary that does not load is reported with its cause and fix', function () {
  this.timeout(60000);
  let copy: ProjectCopy;
  let broken: string[];

  before(function () {
    copy = copyProject({ nodeModules: 'farm' });
    // tslab resolves zeromq from its real path: copy it so that it sees the farm's (broken) zeromq
    replaceModule(copy, 'tslab');
    const zmq = replaceModule(copy, 'zeromq', (rel) => rel.split(path.sep)[0] === 'build' && rel !== 'build' && rel !== path.join('build', 'manifest.json'));
    broken = breakPrebuilts(zmq);
  });

  after(() => copy?.remove());

  it('the real node_modules: zeromq loads (the control)', () => {
    const r = spawnSync(process.execPath, [path.join(ROOT, 'kernels-setup', 'check_zeromq.js')], { encoding: 'utf8' });
    assert.equal(r.status, 0, `${r.stdout}\n${r.stderr}`);
    assert.match(r.stdout, /zeromq loads/);
  });

  it('kernels-setup/check_zeromq.js: exit 1, the loader error per prebuilt and the fix', () => {
    const r = spawnSync(process.execPath, [path.join(copy.root, 'kernels-setup', 'check_zeromq.js')], { encoding: 'utf8' });
    assert.equal(r.status, 1, `${r.stdout}\n${r.stderr}`);
    assertCauseAndFix(r.stderr, 'kernel', broken);
    assert.ok(r.stderr.includes(path.join(copy.root, 'node_modules', 'zeromq')), 'names the zeromq folder it loaded');
  });

  it('npm run kernel:install (install.sh) stops with it before Debian packages or kernel registration', () => {
    const r = spawnSync('bash', [path.join(copy.root, 'kernels-setup', 'install.sh'), '--no-chromium', '--no-check'], { encoding: 'utf8' });
    assert.equal(r.status, 1, `${r.stdout}\n${r.stderr}`);
    assertCauseAndFix(r.stderr, 'kernel', broken);
    assert.equal(r.stdout, '', 'nothing else was done');
    assert.ok(!fs.existsSync(path.join(copy.root, '.kernel')), 'no kernel registered');
  });

  it('npm run notebooks stops with it instead of waiting for a kernel that dies', () => {
    const r = spawnSync(process.execPath, [path.join(copy.root, 'kernels-setup', 'notebooks.js'), '01-quickstart'], {
      encoding: 'utf8', env: { ...process.env, NOTEBOOK_OUT: path.join(copy.dir, 'out') },
    });
    assert.equal(r.status, 1, `${r.stdout}\n${r.stderr}`);
    assertCauseAndFix(r.stderr, 'notebooks', broken);
    assert.doesNotMatch(`${r.stdout}${r.stderr}`, /Kernel didn't respond/);
    assert.ok(!fs.existsSync(path.join(copy.dir, 'out')), 'no notebook was started');
  });
});
