/**
 * The run store: every run lives in `<root>/runs/<key>/`, where the key is a content hash of the run's full
 * resolved config (its name excluded) plus the code version, so experiments that share a run share its folder.
 *
 * A run folder holds config.json, metrics.jsonl, checkpoint.ckpt (written atomically by the trainer),
 * artifacts.json and result.json (written atomically, last: a run without result.json is not finished, whatever
 * else is there), error.json when the run failed, and `.lock` while a process runs it. Locks are created with
 * O_EXCL, refreshed (mtime) every few seconds by their owner, and taken over when stale: the owner process is gone
 * (same host) or the lock has not been refreshed for `staleSeconds` (other hosts of a shared file system).
 */
import { createHash, randomBytes } from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { configHash, resolveTrainConfig, TrainConfig } from '../config';
import type { RunResult } from '../train';
import { cachedResult } from './cache';
import { writeJsonAtomic } from '../util/atomic';
import { PACKAGE } from '../util/package';

/** Version of the code that produced a run; part of the run key (bump the package version when results change). */
export const CODE_VERSION = `${PACKAGE.name}@${PACKAGE.version}`;

/** Default results root. */
export const DEFAULT_RESULTS_DIR = 'results';
/** A lock not refreshed for this long is stale (default 10 minutes; owners refresh it every 15 s). */
export const DEFAULT_STALE_SECONDS = 600;
const HEARTBEAT_MS = 15000;

/**
 * Scheme of the run keys. 2 (since coreface-lab 0.2.0): the hash of the FULLY resolved config, every registered
 * default (dataset, backbone, head and pair-loss options) filled in by `resolveTrainConfig`, so changing a default
 * gives new keys. Scheme 1 hashed the config as written (`head.options: {}`), so a changed default silently
 * returned old runs.
 */
export const KEY_SCHEME = 2;

/**
 * Store key of a run: sha256 of the fully resolved config without its name, CODE_VERSION and KEY_SCHEME (16 hex).
 * Any partial config is resolved first, so equal runs get equal keys however they were written.
 */
export function runKey(config: TrainConfig | Record<string, unknown>): string {
  const full = resolveTrainConfig(config);
  return createHash('sha256').update(`${configHash({ ...full, name: '' })}\n${CODE_VERSION}\nkey-scheme ${KEY_SCHEME}`).digest('hex').slice(0, 16);
}

/** A run folder whose name is not the current key of its own config.json: written under another key scheme or code version. */
export interface StaleRun {
  /** Folder name (the key it was stored under). */
  key: string;
  /** The current key of its config, or null when config.json is missing or no longer a valid config. */
  currentKey: string | null;
  /** Whether the folder holds a finished result.json. */
  finished: boolean;
  /** coreface-lab version recorded in result.json, when there is one. */
  version: string | null;
}

/** State of a run in the store. */
export type RunStatus = 'done' | 'failed' | 'running' | 'partial' | 'missing';

/** What error.json holds. */
export interface FailureRecord {
  error: string;
  exitCode: number | null;
  at: string;
  host: string;
}

/** What `.lock` holds. */
export interface LockInfo {
  pid: number;
  host: string;
  token: string;
  startedAt: string;
}

/** A held lock: refreshed until released. */
export interface RunLock {
  readonly info: LockInfo;
  release(): void;
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The results store rooted at `root` (default 'results'). */
export class RunStore {
  readonly root: string;
  constructor(root: string = DEFAULT_RESULTS_DIR, private readonly staleSeconds = DEFAULT_STALE_SECONDS) {
    this.root = path.resolve(root);
  }

  /** Folder of a run. */
  dir(key: string): string {
    return path.join(this.root, 'runs', key);
  }

  /** Keys of every run folder in the store. */
  keys(): string[] {
    try {
      return fs.readdirSync(path.join(this.root, 'runs'), { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => d.name).sort();
    } catch {
      return [];
    }
  }

  /**
   * Run folders stored under a key that is not the current key of their config.json: runs of an older key scheme
   * (before 0.2.0 keys hashed the config as written, not with every registered default filled in) or of another
   * code version. They are never reused: a run is looked up by its current key only. Callers report them so that
   * no old run is silently mistaken for a missing or a current one.
   */
  staleRuns(): StaleRun[] {
    const out: StaleRun[] = [];
    for (const key of this.keys()) {
      const dir = this.dir(key);
      let currentKey: string | null = null;
      try {
        currentKey = runKey(JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8')) as Record<string, unknown>);
      } catch {
        currentKey = null;
      }
      if (currentKey === key) continue;
      let version: string | null = null;
      const finished = fs.existsSync(path.join(dir, 'result.json'));
      if (finished) {
        try {
          version = (JSON.parse(fs.readFileSync(path.join(dir, 'result.json'), 'utf8')) as RunResult).versions?.['coreface-lab'] ?? null;
        } catch {
          version = null;
        }
      }
      out.push({ key, currentKey, finished, version });
    }
    return out;
  }

  /** The finished result of a run (null unless result.json exists and matches the config). */
  result(key: string, config: TrainConfig): RunResult | null {
    return cachedResult(this.dir(key), config);
  }

  /** The recorded failure of a run, if any. */
  failure(key: string): FailureRecord | null {
    try {
      return JSON.parse(fs.readFileSync(path.join(this.dir(key), 'error.json'), 'utf8')) as FailureRecord;
    } catch {
      return null;
    }
  }

  /** The lock of a run when held by a live owner (stale locks count as free). */
  liveLock(key: string): LockInfo | null {
    const file = path.join(this.dir(key), '.lock');
    try {
      const info = JSON.parse(fs.readFileSync(file, 'utf8')) as LockInfo;
      return this.isStale(file, info) ? null : info;
    } catch {
      return null;
    }
  }

  /** done > running (live lock) > failed > partial (a checkpoint, no result) > missing. */
  status(key: string, config: TrainConfig): RunStatus {
    if (this.result(key, config)) return 'done';
    if (this.liveLock(key)) return 'running';
    if (this.failure(key)) return 'failed';
    if (fs.existsSync(path.join(this.dir(key), 'checkpoint.ckpt'))) return 'partial';
    return 'missing';
  }

  private isStale(file: string, info: LockInfo): boolean {
    let mtime: number;
    try {
      mtime = fs.statSync(file).mtimeMs;
    } catch {
      return true;
    }
    if (info.host === os.hostname() && !pidAlive(info.pid)) return true;
    return Date.now() - mtime > this.staleSeconds * 1000;
  }

  /**
   * Takes the run's lock, or returns null when a live owner holds it. A stale lock is moved aside (rename is
   * atomic, so of several processes recovering it only one succeeds) and the take is retried.
   */
  tryLock(key: string): RunLock | null {
    const dir = this.dir(key);
    fs.mkdirSync(dir, { recursive: true });
    const file = path.join(dir, '.lock');
    const info: LockInfo = { pid: process.pid, host: os.hostname(), token: randomBytes(8).toString('hex'), startedAt: new Date().toISOString() };
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        const fd = fs.openSync(file, 'wx');
        fs.writeSync(fd, JSON.stringify(info));
        fs.fsyncSync(fd);
        fs.closeSync(fd);
        return this.held(file, info);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      }
      let current: LockInfo | null = null;
      try {
        current = JSON.parse(fs.readFileSync(file, 'utf8')) as LockInfo;
      } catch {
        // Unreadable: being written right now, or garbage. Garbage only counts as stale by age.
        const age = Date.now() - (fs.existsSync(file) ? fs.statSync(file).mtimeMs : 0);
        if (age < this.staleSeconds * 1000) return null;
      }
      if (current && !this.isStale(file, current)) return null;
      try {
        fs.renameSync(file, `${file}.stale-${info.token}`);
        fs.rmSync(`${file}.stale-${info.token}`, { force: true });
      } catch {
        return null; // another process recovered it first
      }
    }
    return null;
  }

  private held(file: string, info: LockInfo): RunLock {
    const timer = setInterval(() => {
      try {
        const now = new Date();
        fs.utimesSync(file, now, now);
      } catch {
        // The lock was taken over (we were considered stale); the owner check in release() handles it.
      }
    }, HEARTBEAT_MS);
    timer.unref();
    return {
      info,
      release: (): void => {
        clearInterval(timer);
        try {
          const current = JSON.parse(fs.readFileSync(file, 'utf8')) as LockInfo;
          if (current.token === info.token) fs.rmSync(file, { force: true });
        } catch {
          // already gone
        }
      },
    };
  }

  /** Records a failure (error.json, atomically). */
  recordFailure(key: string, error: string, exitCode: number | null): FailureRecord {
    const rec: FailureRecord = { error, exitCode, at: new Date().toISOString(), host: os.hostname() };
    writeJsonAtomic(path.join(this.dir(key), 'error.json'), rec);
    return rec;
  }

  /** Forgets a recorded failure (before a retry). */
  clearFailure(key: string): void {
    fs.rmSync(path.join(this.dir(key), 'error.json'), { force: true });
  }
}
