// Issue 20, part 3: the non-root paths of `npm run setup`. Run as an unprivileged user (nobody, 65534, through
// `setpriv` when the tests run as root; else as the current user) in a copy of the project owned by that user, with
// a Debian package counting as missing (the scripts' documented test hook COREFACE_SETUP_TEST_MISSING, which feeds
// their own package checks), each script must exit non-zero, print the exact apt-get command, and change nothing:
// not the project copy, not HOME (an empty folder that must stay empty), and (as root) no file of that user may
// appear in /tmp, /var/tmp or /dev/shm. Under CI=true a missing prerequisite (setpriv, dpkg-query) fails the test.
import { strict as assert } from 'assert';
import { spawnSync, type SpawnSyncReturns } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { copyProject, type ProjectCopy } from './project-copy';

const NOBODY = { uid: 65534, gid: 65534 };
const IS_ROOT = process.getuid?.() === 0;

/** Why these tests cannot run here, or null. */
function missingPrerequisite(): string | null {
  if (process.platform !== 'linux') return `the set-up scripts target Debian Linux, this is ${process.platform}`;
  if (IS_ROOT && spawnSync('setpriv', ['--version']).status !== 0) return 'setpriv (util-linux) is missing: cannot switch to an unprivileged user';
  if (spawnSync('dpkg-query', ['--version']).status !== 0) return 'dpkg-query is missing (not Debian/Ubuntu)';
  return null;
}

/** path -> "size mtime" of every file and folder under `dir` (symlinks not followed). */
function snapshot(dir: string, out = new Map<string, string>()): Map<string, string> {
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    const st = fs.lstatSync(p);
    out.set(p, `${st.size} ${st.mtimeMs}`);
    if (e.isDirectory()) snapshot(p, out);
  }
  return out;
}

/** Files of `uid` under /tmp, /var/tmp and /dev/shm changed since `sinceSec`, outside `except`. */
function filesOutside(uid: number, sinceSec: number, except: string): string[] {
  const dirs = ['/tmp', '/var/tmp', '/dev/shm'].filter((d) => fs.existsSync(d));
  const r = spawnSync('find', [...dirs, '-xdev', '-path', except, '-prune', '-o', '-user', String(uid), '-newermt', `@${sinceSec}`, '-print'], { encoding: 'utf8' });
  return r.stdout.split('\n').filter((l) => l !== '');
}

describe('set-up without root: a missing Debian package gives the exact apt-get command and changes nothing', function () {
  this.timeout(60000);
  let copy: ProjectCopy;
  const user = IS_ROOT ? NOBODY : { uid: process.getuid?.() ?? -1, gid: process.getgid?.() ?? -1 };

  before(function () {
    const missing = missingPrerequisite();
    if (missing && process.env.CI === 'true') assert.fail(`non-root set-up tests cannot run in CI: ${missing}`);
    if (missing) {
      console.log(`      SKIPPED: ${missing}`);
      this.skip();
    }
    copy = copyProject(IS_ROOT ? { owner: NOBODY } : {});
  });

  /** A new empty HOME for one run, owned by the user. */
  function freshHome(): string {
    const home = fs.mkdtempSync(path.join(copy.dir, 'home-'));
    if (IS_ROOT) fs.chownSync(home, NOBODY.uid, NOBODY.gid);
    return home;
  }

  after(() => copy?.remove());

  /** Runs `bash <script> args` in the copy as the unprivileged user with a clean environment. */
  function run(script: string, args: string[], missingDebs: string, home: string): SpawnSyncReturns<string> {
    const env = [`HOME=${home}`, `PATH=${process.env.PATH ?? '/usr/bin:/bin'}`, `COREFACE_SETUP_TEST_MISSING=${missingDebs}`, 'LANG=C.UTF-8'];
    const cmd = ['env', '-i', ...env, 'bash', path.join(copy.root, script), ...args];
    return IS_ROOT
      ? spawnSync('setpriv', [`--reuid=${NOBODY.uid}`, `--regid=${NOBODY.gid}`, '--clear-groups', '--', ...cmd], { cwd: copy.root, encoding: 'utf8' })
      : spawnSync(cmd[0], cmd.slice(1), { cwd: copy.root, encoding: 'utf8' });
  }

  /** Runs the script and checks exit status, the exact command line and that nothing changed. */
  function check(script: string, args: string[], missingDebs: string, expectedLine: string): string {
    const home = freshHome();
    const before = snapshot(copy.root);
    const since = Math.floor(Date.now() / 1000) - 1;
    const r = run(script, args, missingDebs, home);
    const log = `${r.stdout}${r.stderr}`;
    assert.notEqual(r.status, 0, `${script} exited 0 with ${missingDebs} missing:\n${log}`);
    assert.equal(r.status, 1, `${script}: exit status ${r.status} (signal ${r.signal}):\n${log}`);
    assert.ok(log.split('\n').includes(expectedLine), `${script}: the line\n${expectedLine}\nis not in:\n${log}`);
    assert.deepEqual(fs.readdirSync(home), [], `${script} wrote into HOME`);
    assert.deepEqual([...snapshot(copy.root)].filter(([p, v]) => before.get(p) !== v), [], `${script} changed the project`);
    assert.deepEqual([...before.keys()].filter((p) => !fs.existsSync(p)), [], `${script} deleted files of the project`);
    if (IS_ROOT) assert.deepEqual(filesOutside(user.uid, since, copy.dir), [], `${script} created files outside the project`);
    return log;
  }

  it('runs as an unprivileged user in a project copy it owns', () => {
    const r = IS_ROOT
      ? spawnSync('setpriv', [`--reuid=${NOBODY.uid}`, `--regid=${NOBODY.gid}`, '--clear-groups', '--', 'id', '-u'], { encoding: 'utf8' })
      : spawnSync('id', ['-u'], { encoding: 'utf8' });
    assert.equal(r.stdout.trim(), String(user.uid));
    assert.notEqual(user.uid, 0, 'the tests would run the scripts as root');
    assert.equal(fs.statSync(copy.root).uid, user.uid);
  });

  it('kernels-setup/install.sh (npm run kernel:install): Jupyter and Chromium missing', () => {
    const log = check('kernels-setup/install.sh', [], 'python3-nbclient chromium',
      "[kernel] run as root:  sudo sh -c 'apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y jupyter-nbconvert python3-nbclient jupyter-client python3-ipykernel chromium'");
    assert.match(log, /\[kernel\] missing Debian packages: jupyter-nbconvert python3-nbclient jupyter-client python3-ipykernel chromium/);
  });

  it('kernels-setup/install.sh --no-chromium: Jupyter missing, Chromium not asked for', () => {
    check('kernels-setup/install.sh', ['--no-chromium'], 'jupyter-client chromium',
      "[kernel] run as root:  sudo sh -c 'apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y jupyter-nbconvert python3-nbclient jupyter-client python3-ipykernel'");
  });

  it('data/setup.sh (npm run data:setup): two of its packages missing', () => {
    const log = check('data/setup.sh', [], 'fonts-wqy-zenhei python3-skimage',
      '  sudo apt-get install -y --no-install-recommends fonts-wqy-zenhei python3-skimage');
    assert.match(log, /missing Debian packages: fonts-wqy-zenhei python3-skimage/);
  });

  it('native/setup.sh (npm run native): OpenBLAS missing', () => {
    check('native/setup.sh', [], 'libopenblas-dev', '  sudo apt-get install -y --no-install-recommends libopenblas-dev');
  });

  it('native/setup.sh: the C++ compiler missing', () => {
    check('native/setup.sh', [], 'g++', '  sudo apt-get install -y --no-install-recommends g++');
  });
});
