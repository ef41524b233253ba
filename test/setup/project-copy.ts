// A throw-away copy of this work tree for the set-up tests, so that they can break things (a zeromq binary that does
// not load, a Debian package that counts as missing) or run the set-up scripts as another user, without touching the
// real checkout or its node_modules.
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

/** The real project root (this work tree). */
export const ROOT = path.resolve(__dirname, '..', '..');

/** Options of {@link copyProject}. */
export interface ProjectCopyOptions {
  /**
   * How node_modules/ appears in the copy. 'link' (default): one symlink to the real node_modules. 'farm': a real
   * folder holding one symlink per real entry (and a copy of .bin/'s relative links), so that single packages can be
   * swapped for modified copies with {@link replaceModule}.
   */
  nodeModules?: 'link' | 'farm';
  /**
   * Give the whole copy (and its temp folder) to this user and group, e.g. nobody (65534). Default: unchanged. When
   * that user cannot reach the real node_modules, the copy gets its own (hard links, or a full copy), whatever
   * `nodeModules` says.
   */
  owner?: { uid: number; gid: number };
}

/** A project copy: `root` is the project folder inside the temp folder `dir`; `remove()` deletes `dir`. */
export interface ProjectCopy {
  dir: string;
  root: string;
  remove(): void;
}

/** The files git knows of or would add (tracked plus untracked, not ignored), as they are in the work tree now. */
function projectFiles(): string[] {
  const r = spawnSync('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], { cwd: ROOT, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`git ls-files failed in ${ROOT}: ${r.stderr}`);
  return r.stdout.split('\0').filter((f) => f !== '');
}

/** chown -R without following links, leaving `skip` alone (hard links share their owner with the originals). */
function chownTree(p: string, uid: number, gid: number, skip: string): void {
  if (p === skip) return;
  fs.lchownSync(p, uid, gid);
  const st = fs.lstatSync(p);
  if (st.isDirectory()) for (const e of fs.readdirSync(p)) chownTree(path.join(p, e), uid, gid, skip);
}

/** Whether user `owner` can enter folder `p` (every ancestor traversable), asked as that user. */
function reachableBy(owner: { uid: number; gid: number }, p: string): boolean {
  const r = spawnSync('setpriv', [`--reuid=${owner.uid}`, `--regid=${owner.gid}`, '--clear-groups', 'test', '-x', p]);
  return r.status === 0;
}

/** Copies the work tree's source files (no node_modules, dist, results) into a fresh temp folder. */
export function copyProject(opts: ProjectCopyOptions = {}): ProjectCopy {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'coreface-setup-test-'));
  const root = path.join(dir, 'project');
  for (const f of projectFiles()) {
    const src = path.join(ROOT, f);
    const st = fs.lstatSync(src, { throwIfNoEntry: false });
    if (!st) continue; // deleted in the work tree, not yet in the index
    const dst = path.join(root, f);
    fs.mkdirSync(path.dirname(dst), { recursive: true });
    if (st.isSymbolicLink()) fs.symlinkSync(fs.readlinkSync(src), dst);
    else fs.copyFileSync(src, dst);
    if (!st.isSymbolicLink()) fs.chmodSync(dst, st.mode & 0o777);
  }
  const realModules = path.join(ROOT, 'node_modules');
  const modules = path.join(root, 'node_modules');
  if (opts.owner && !reachableBy(opts.owner, realModules)) {
    // The checkout lies below a folder the other user cannot enter (e.g. /root, or a 0700 temp folder): a link would
    // lead nowhere for it, so the copy gets its own node_modules, hard-linked where the file system allows.
    const cp = spawnSync('cp', ['-al', realModules, modules]);
    if (cp.status !== 0) {
      fs.rmSync(modules, { recursive: true, force: true });
      const full = spawnSync('cp', ['-a', realModules, modules], { encoding: 'utf8' });
      if (full.status !== 0) throw new Error(`cannot copy ${realModules} for user ${opts.owner.uid}: ${full.stderr}`);
    }
  } else if ((opts.nodeModules ?? 'link') === 'link') {
    fs.symlinkSync(realModules, modules, 'dir');
  } else {
    fs.mkdirSync(path.join(modules, '.bin'), { recursive: true });
    for (const e of fs.readdirSync(realModules)) {
      if (e === '.bin') continue;
      fs.symlinkSync(path.join(realModules, e), path.join(modules, e));
    }
    // .bin/ entries are relative links (../tslab/bin/tslab): copied as links, they point into the farm.
    for (const e of fs.readdirSync(path.join(realModules, '.bin'))) {
      fs.symlinkSync(fs.readlinkSync(path.join(realModules, '.bin', e)), path.join(modules, '.bin', e));
    }
  }
  if (opts.owner) {
    fs.chmodSync(dir, 0o755);
    // an own node_modules (hard links) keeps its owner: the user only reads it
    chownTree(dir, opts.owner.uid, opts.owner.gid, fs.lstatSync(modules).isSymbolicLink() ? '' : modules);
  }
  return { dir, root, remove: () => fs.rmSync(dir, { recursive: true, force: true }) };
}

/**
 * Replaces the farm link node_modules/<name> of a copy made with `nodeModules: 'farm'` by a real copy of the
 * package, leaving out the paths (relative to the package folder) for which `skip` returns true. Node resolves a
 * package's own dependencies from its real path, so a copied package sees the farm's (possibly modified) packages.
 */
export function replaceModule(copy: ProjectCopy, name: string, skip: (rel: string) => boolean = () => false): string {
  const src = path.join(ROOT, 'node_modules', name);
  const dst = path.join(copy.root, 'node_modules', name);
  if (!fs.lstatSync(dst).isSymbolicLink()) throw new Error(`${dst} is not a farm link (copyProject({ nodeModules: 'farm' }))`);
  fs.unlinkSync(dst);
  fs.cpSync(src, dst, {
    recursive: true,
    verbatimSymlinks: true,
    filter: (from) => !skip(path.relative(src, from)),
  });
  return dst;
}
