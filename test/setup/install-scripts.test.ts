// Issue 20, part 1: npm 11 skips a dependency's install script unless package.json `allowScripts` approves it, and
// ends `npm install` with a warning block for every package it has no decision for. Every dependency with an install
// script must have a recorded decision (approve: true, deny: false) and its reason in docs/install.md.
//
// Source of "dependencies with install scripts": package-lock.json's `hasInstallScript` entries (what any
// `npm install` of this lockfile installs; needs no node_modules and no particular npm). npm's own view,
// `npm install-scripts ls --json` (npm >= 11.19; reads the installed node_modules), is checked against it: it must
// list nothing for package.json, and exactly the lockfile's set once the decisions are removed.
import { strict as assert } from 'assert';
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

const ROOT = path.resolve(__dirname, '..', '..');

interface LockEntry { version?: string; resolved?: string; hasInstallScript?: boolean; link?: boolean }
interface PackageJson { allowScripts?: Record<string, unknown>; [k: string]: unknown }

function readJson<T>(file: string): T {
  return JSON.parse(fs.readFileSync(file, 'utf8')) as T;
}

/** Packages of the lockfile that have install scripts, as name -> the entries (a name may be installed twice). */
function lockfileInstallScripts(lock: { packages: Record<string, LockEntry> }): Map<string, LockEntry[]> {
  const out = new Map<string, LockEntry[]>();
  for (const [key, entry] of Object.entries(lock.packages)) {
    if (key === '' || !entry.hasInstallScript || entry.link) continue;
    const name = key.slice(key.lastIndexOf('node_modules/') + 'node_modules/'.length);
    out.set(name, [...(out.get(name) ?? []), entry]);
  }
  return out;
}

/** The `allowScripts` key (and its value) covering one installed package, or null: npm's rules (npm help install-scripts). */
function decisionFor(allow: Record<string, unknown>, name: string, entry: LockEntry): { key: string; value: unknown } | null {
  if (name in allow) return { key: name, value: allow[name] };
  // a pinned key counts only when the lockfile records where the version came from (npm warns otherwise)
  const pinned = `${name}@${entry.version}`;
  if (pinned in allow && entry.resolved) return { key: pinned, value: allow[pinned] };
  return null;
}

/** Names and versions (name@version) npm reports as not covered by allowScripts, for the project in `cwd`. */
function npmPending(cwd: string): { available: boolean; keys: string[]; log: string } {
  const r = spawnSync('npm', ['install-scripts', 'ls', '--json'], { cwd, encoding: 'utf8' });
  const log = `${r.stdout}\n${r.stderr}`;
  if (r.status !== 0) {
    if (/Unknown command|not a valid command/i.test(log)) return { available: false, keys: [], log };
    throw new Error(`npm install-scripts ls --json failed (status ${r.status}):\n${log}`);
  }
  const json = JSON.parse(r.stdout) as { allowScripts: { name: string; changes: { key: string; change: string }[] }[] };
  return { available: true, keys: json.allowScripts.flatMap((p) => p.changes.map((c) => c.key)).sort(), log };
}

describe('set-up: every dependency install script has a recorded decision (package.json allowScripts)', function () {
  this.timeout(60000);
  const pkg = readJson<PackageJson>(path.join(ROOT, 'package.json'));
  const lock = readJson<{ packages: Record<string, LockEntry> }>(path.join(ROOT, 'package-lock.json'));

  it('each package-lock.json entry with hasInstallScript is approved or denied, with its reason in docs/install.md', () => {
    const withScripts = lockfileInstallScripts(lock);
    assert.ok(withScripts.size >= 1, 'the lockfile lists no install scripts: is this the project lockfile?');
    const allow = pkg.allowScripts ?? {};
    const docs = fs.readFileSync(path.join(ROOT, 'docs', 'install.md'), 'utf8');
    const undecided: string[] = [];
    const undocumented = new Set<string>();
    for (const [name, entries] of withScripts) {
      for (const entry of entries) {
        const d = decisionFor(allow, name, entry);
        if (!d) {
          undecided.push(`${name}@${entry.version}`);
          continue;
        }
        assert.equal(typeof d.value, 'boolean', `allowScripts["${d.key}"] must be true (approve) or false (deny), got ${JSON.stringify(d.value)}`);
        const heading = new RegExp(`^#+ .*\`${name.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}\``, 'm');
        if (!heading.test(docs)) undocumented.add(name);
      }
    }
    assert.deepEqual(undecided, [],
      `install scripts without a decision in package.json allowScripts: ${undecided.join(', ')}; review each and run ` +
      '`npm install-scripts approve <pkg>` or `npm install-scripts deny <pkg>`, then give the reason in docs/install.md');
    assert.deepEqual([...undocumented], [],
      `docs/install.md has no section (a heading naming the package in backquotes) giving the reason for the decision on: ${[...undocumented].join(', ')}`);
  });

  it('allowScripts has no stale entry (each key names a locked package that has an install script)', () => {
    const withScripts = lockfileInstallScripts(lock);
    const stale = Object.keys(pkg.allowScripts ?? {}).filter((key) => {
      const at = key.indexOf('@', 1);
      const name = at > 0 ? key.slice(0, at) : key;
      const version = at > 0 ? key.slice(at + 1) : null;
      const entries = withScripts.get(name) ?? [];
      return version === null ? entries.length === 0 : !entries.some((e) => e.version === version);
    });
    assert.deepEqual(stale, [], `allowScripts entries matching no locked package with an install script: ${stale.join(', ')} (npm install-scripts prune)`);
  });

  it('npm agrees: `npm install-scripts ls --json` lists nothing here, and the lockfile set once decisions are removed', function () {
    if (!fs.existsSync(path.join(ROOT, 'node_modules'))) {
      if (process.env.CI === 'true') assert.fail('node_modules is missing in CI (npm install first)');
      this.skip();
    }
    const here = npmPending(ROOT);
    if (!here.available) {
      const why = `this npm (${spawnSync('npm', ['-v'], { encoding: 'utf8' }).stdout.trim()}) has no \`npm install-scripts\` (npm >= 11.19)`;
      if (process.env.CI === 'true') assert.fail(`${why}:\n${here.log}`);
      console.log(`      SKIPPED: ${why}`);
      this.skip();
    }
    assert.deepEqual(here.keys, [], `npm reports install scripts without a decision:\n${here.log}`);
    // the same tree without the decisions: npm must list exactly what the lockfile says has install scripts
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'coreface-allow-scripts-'));
    try {
      const bare: PackageJson = { ...pkg };
      delete bare.allowScripts;
      fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify(bare, null, 2));
      fs.copyFileSync(path.join(ROOT, 'package-lock.json'), path.join(dir, 'package-lock.json'));
      fs.symlinkSync(path.join(ROOT, 'node_modules'), path.join(dir, 'node_modules'), 'dir');
      const all = npmPending(dir);
      const fromLock = [...lockfileInstallScripts(lock)].flatMap(([name, es]) => es.map((e) => `${name}@${e.version}`)).sort();
      assert.deepEqual(all.keys, fromLock, `npm's list of install scripts differs from the lockfile's hasInstallScript entries:\n${all.log}`);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
