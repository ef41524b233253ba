import { strict as assert } from 'assert';
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { configHash, resolveTrainConfig } from '../../src/config';
import { RunStore, runKey } from '../../src/experiments/store';

describe('experiments: run store and locks', () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'coreface-store-'));
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));
  const config = resolveTrainConfig({ name: 'x' });
  const key = runKey(config);

  it('a lock is exclusive until released, and only its owner removes it', () => {
    const store = new RunStore(tmp);
    const a = store.tryLock(key);
    assert.ok(a);
    assert.equal(store.tryLock(key), null, 'a second take while held fails');
    assert.equal(new RunStore(tmp).tryLock(key), null, 'another store object (another process) fails too');
    assert.equal(store.liveLock(key)?.pid, process.pid);
    assert.equal(store.status(key, config), 'running');
    a.release();
    assert.equal(store.liveLock(key), null);
    const b = store.tryLock(key);
    assert.ok(b);
    a.release(); // a stale handle must not remove b's lock
    assert.ok(store.liveLock(key), 'the released handle did not remove the new owner\'s lock');
    b.release();
  });

  it('recovers a lock whose owner process is dead, and one not refreshed for staleSeconds', () => {
    const store = new RunStore(tmp);
    const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
    const deadPid = Number(dead.stdout);
    const file = path.join(store.dir(key), '.lock');
    fs.mkdirSync(store.dir(key), { recursive: true });
    fs.writeFileSync(file, JSON.stringify({ pid: deadPid, host: os.hostname(), token: 't', startedAt: '' }));
    assert.equal(store.liveLock(key), null, 'dead owner: stale');
    const l = store.tryLock(key);
    assert.ok(l, 'taken over');
    l.release();
    // Another host's lock: alive as long as it is refreshed.
    fs.writeFileSync(file, JSON.stringify({ pid: 1, host: 'elsewhere', token: 't', startedAt: '' }));
    assert.equal(new RunStore(tmp, 600).tryLock(key), null, 'fresh lock of another host is respected');
    const old = new Date(Date.now() - 20_000);
    fs.utimesSync(file, old, old);
    const short = new RunStore(tmp, 10);
    const l2 = short.tryLock(key);
    assert.ok(l2, 'a lock not refreshed for longer than staleSeconds is taken over');
    l2.release();
  });

  it('status: missing, partial, failed, done (result.json of the same config only)', () => {
    const store = new RunStore(path.join(tmp, 's2'));
    assert.equal(store.status(key, config), 'missing');
    fs.mkdirSync(store.dir(key), { recursive: true });
    fs.writeFileSync(path.join(store.dir(key), 'checkpoint.ckpt'), 'x');
    assert.equal(store.status(key, config), 'partial');
    const f = store.recordFailure(key, 'boom', 3);
    assert.equal(f.error, 'boom');
    assert.equal(store.status(key, config), 'failed');
    assert.equal(store.failure(key)?.exitCode, 3);
    store.clearFailure(key);
    assert.equal(store.status(key, config), 'partial');
    fs.writeFileSync(path.join(store.dir(key), 'result.json'), JSON.stringify({ configHash: 'other' }));
    assert.equal(store.status(key, config), 'partial', 'a result of another config is not this run\'s');
    fs.writeFileSync(path.join(store.dir(key), 'result.json'), JSON.stringify({ configHash: configHash(config) }));
    assert.equal(store.status(key, config), 'done');
  });
});
