import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

/** Host part of temp names: the host name reduced to [A-Za-z0-9.] (temp names are split on '-'). */
export const TEMP_HOST = os.hostname().replace(/[^A-Za-z0-9.]/g, '') || 'host';

/**
 * Age after which a temp file is stale whoever wrote it (a write takes milliseconds to seconds; this covers
 * writers on other hosts of a shared file system, whose process ids mean nothing here).
 */
export const STALE_TEMP_MS = 60 * 60 * 1000;

/** Temp file name of one write of `file`: `.<name>.tmp-<host>-<pid>-<ms>` in the same directory. */
function tempName(file: string): string {
  return path.join(path.dirname(file), `.${path.basename(file)}.tmp-${TEMP_HOST}-${process.pid}-${Date.now()}`);
}

function processIsAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM'; // exists, owned by someone else
  }
}

/**
 * Removes the temp files that earlier writes of `file` left behind when their process died between creating
 * and renaming them (SIGKILL, OOM, power loss): those written on this host by a process that no longer exists,
 * and any older than STALE_TEMP_MS. Temps of live writers are never touched. Returns the names removed.
 */
export function removeStaleTemps(file: string, now = Date.now()): string[] {
  const dir = path.dirname(file);
  const prefix = `.${path.basename(file)}.tmp-`;
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return [];
  }
  const removed: string[] = [];
  for (const name of names) {
    if (!name.startsWith(prefix)) continue;
    const parts = name.slice(prefix.length).split('-');
    const pid = Number(parts[parts.length - 2]);
    const host = parts.slice(0, -2).join('-');
    const full = path.join(dir, name);
    let stale = host === TEMP_HOST && Number.isInteger(pid) && pid > 0 && pid !== process.pid && !processIsAlive(pid);
    if (!stale) {
      try {
        stale = now - fs.statSync(full).mtimeMs > STALE_TEMP_MS;
      } catch {
        continue; // already gone
      }
    }
    if (!stale) continue;
    try {
      fs.unlinkSync(full);
      removed.push(name);
    } catch {
      // Removed meanwhile by another writer's cleanup.
    }
  }
  return removed;
}

/**
 * Writes a file atomically: data goes to a temporary file in the same directory, is fsync'ed, then renamed
 * over the target (rename is atomic on POSIX), and the directory is fsync'ed. A crash leaves either the old
 * file or the new one, never a partial file; the temp file a crash may leave is removed by the next write of
 * the same file (see removeStaleTemps).
 */
export function writeFileAtomic(file: string, data: string | Uint8Array): void {
  const dir = path.dirname(file);
  fs.mkdirSync(dir, { recursive: true });
  const tmp = tempName(file);
  try {
    const fd = fs.openSync(tmp, 'w');
    try {
      const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
      // writeSync may write less than asked (Linux caps one write at 2 GiB - 4 KiB): loop to the end.
      for (let off = 0; off < bytes.length;) off += fs.writeSync(fd, bytes, off, bytes.length - off);
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(tmp, file);
  } catch (e) {
    // A failed write (disk full, target is a directory...) leaves no temp file behind.
    try {
      fs.unlinkSync(tmp);
    } catch {
      // never created, or already renamed
    }
    throw e;
  }
  try {
    const dfd = fs.openSync(dir, 'r');
    fs.fsyncSync(dfd);
    fs.closeSync(dfd);
  } catch {
    // Directory fsync is not supported on every file system; the rename itself is still atomic.
  }
  removeStaleTemps(file);
}

/** JSON.stringify + writeFileAtomic, pretty-printed. */
export function writeJsonAtomic(file: string, value: unknown): void {
  writeFileAtomic(file, JSON.stringify(value, null, 2) + '\n');
}
