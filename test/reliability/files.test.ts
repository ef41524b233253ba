/**
 * Crash leftovers and corrupt files: checkpoint files cut or damaged anywhere load to the same data or fail with
 * an Error naming the file (never a TypeError/RangeError/SyntaxError, never silently different data), and the temp
 * file a crash leaves between open and rename is removed by the next write of the same file.
 */
import { strict as assert } from 'assert';
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import fc from 'fast-check';
import { saveCheckpoint, loadCheckpoint } from '../../src/train/checkpoint';
import { writeFileAtomic, removeStaleTemps, TEMP_HOST, STALE_TEMP_MS } from '../../src/util/atomic';
import { tmpDir } from './helpers';

describe('reliability: corrupt checkpoints and crash leftovers', () => {
  const dir = tmpDir('files');
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  const good = path.join(dir, 'good.ckpt');
  const tensors = [
    { name: 'param:a', shape: [3, 5], data: Float32Array.from({ length: 15 }, (_, i) => i / 7) },
    { name: 'sgd:a', shape: [15], data: Float32Array.from({ length: 15 }, (_, i) => -i) },
    { name: 'state:s', shape: [], data: Float32Array.from([42]) },
  ];
  before(() => saveCheckpoint(good, { header: { epochsDone: 2, config: { seed: 1 } }, tensors }));

  /** Loads `bytes` as a checkpoint: the same content as `good`, or an Error naming the file. */
  function loadOrExplain(bytes: Uint8Array, name = 'bad.ckpt'): 'same' | 'error' {
    const f = path.join(dir, name);
    fs.writeFileSync(f, bytes);
    try {
      const ck = loadCheckpoint<{ epochsDone: number }>(f);
      assert.deepEqual(ck.tensors.map((t) => [t.name, t.shape, Array.from(t.data)]), tensors.map((t) => [t.name, t.shape, Array.from(t.data)]));
      return 'same';
    } catch (e) {
      if (e instanceof assert.AssertionError) throw e;
      assert.equal((e as Error).constructor, Error, `${(e as Error).constructor.name}: ${(e as Error).message}`);
      assert.ok((e as Error).message.includes(f) || (e as Error).message.includes(name), (e as Error).message);
      return 'error';
    }
  }

  it('every truncation of a checkpoint (as a kill during a non-atomic write would leave) fails with a clear message', () => {
    const buf = fs.readFileSync(good);
    for (let n = 0; n < buf.length; n++) assert.equal(loadOrExplain(buf.subarray(0, n)), 'error', `cut at ${n} of ${buf.length}`);
    assert.equal(loadOrExplain(buf), 'same');
    assert.equal(loadOrExplain(Buffer.concat([buf, Buffer.from([0, 0])])), 'error', 'trailing bytes');
  });

  it('random damage (fast-check: byte overwrites, cuts, header splices) never gives another error type', () => {
    const buf = fs.readFileSync(good);
    const hlen = buf.readUInt32LE(8);
    const seen = { same: 0, error: 0 };
    fc.assert(fc.property(
      fc.array(fc.tuple(fc.nat(12 + hlen + 8), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 6 }),
      fc.option(fc.nat(buf.length), { freq: 3 }),
      (edits, cut) => {
        const b = Buffer.from(buf);
        for (const [at, v] of edits) if (at < b.length) b[at] = v;
        seen[loadOrExplain(cut === null ? b : b.subarray(0, cut))]++;
      },
    ), { seed: 99, numRuns: 1500 });
    const header = JSON.parse(buf.toString('utf8', 12, 12 + hlen)) as { header: unknown; tensors: unknown[] };
    const spliced: unknown[] = [
      null, [], 'x', { header: null, tensors: [] }, { header: {}, tensors: {} }, { header: {} },
      { ...header, tensors: [{ name: 'x', shape: [2], offset: -1 }] }, { ...header, tensors: [{ name: 'x', shape: [0.5], offset: 0 }] },
      { ...header, tensors: [{ name: 1, shape: [1], offset: 0 }] }, { ...header, tensors: [null] }, { ...header, tensors: [{ name: 'x', shape: 'big', offset: 0 }] },
      { ...header, tensors: [{ name: 'x', shape: [2 ** 60], offset: 0 }] },
    ];
    for (const h of spliced) {
      const hb = Buffer.from(JSON.stringify(h));
      const pad = (4 - ((12 + hb.length) % 4)) % 4;
      const b = Buffer.concat([buf.subarray(0, 12), hb, Buffer.alloc(pad, 0x20), buf.subarray(12 + hlen)]);
      b.writeUInt32LE(hb.length + pad, 8);
      assert.equal(loadOrExplain(b), 'error', JSON.stringify(h));
    }
    console.log(`      1500 damaged files: ${seen.same} loaded the same data (damage in padding), ${seen.error} refused with a message; ${spliced.length} spliced headers refused`);
  });

  it('the temp file of a killed writer is removed by the next write; live writers\' temps are kept', () => {
    const target = path.join(dir, 'checkpoint.ckpt');
    const dead = spawnSync(process.execPath, ['-e', '0']).pid as number; // exited: its pid is free
    const live = process.ppid;
    const names = {
      dead: `.checkpoint.ckpt.tmp-${TEMP_HOST}-${dead}-1`,
      live: `.checkpoint.ckpt.tmp-${TEMP_HOST}-${live}-2`,
      mine: `.checkpoint.ckpt.tmp-${TEMP_HOST}-${process.pid}-3`,
      otherHostFresh: '.checkpoint.ckpt.tmp-elsewhere-1-4',
      otherHostOld: '.checkpoint.ckpt.tmp-elsewhere-1-5',
      oldFormatOld: `.checkpoint.ckpt.tmp-${dead}-6`,
      otherFile: `.result.json.tmp-${TEMP_HOST}-${dead}-7`,
    };
    for (const n of Object.values(names)) fs.writeFileSync(path.join(dir, n), 'partial');
    const old = (Date.now() - STALE_TEMP_MS - 60000) / 1000;
    fs.utimesSync(path.join(dir, names.otherHostOld), old, old);
    fs.utimesSync(path.join(dir, names.oldFormatOld), old, old);
    writeFileAtomic(target, 'new');
    const left = new Set(fs.readdirSync(dir));
    assert.equal(fs.readFileSync(target, 'utf8'), 'new');
    for (const k of ['dead', 'otherHostOld', 'oldFormatOld'] as const) assert.ok(!left.has(names[k]), `${k} removed`);
    for (const k of ['live', 'mine', 'otherHostFresh', 'otherFile'] as const) assert.ok(left.has(names[k]), `${k} kept`);
    assert.deepEqual(removeStaleTemps(path.join(dir, 'result.json')), [names.otherFile]);
  });

  it('a failed atomic write leaves the old file and no temp file', () => {
    const target = path.join(dir, 'sub', 'x.json');
    writeFileAtomic(target, 'old');
    const asDir = path.join(dir, 'sub', 'adir');
    fs.mkdirSync(path.join(asDir, 'child'), { recursive: true });
    assert.throws(() => writeFileAtomic(asDir, 'data'), /EISDIR|ENOTEMPTY|EEXIST|directory/);
    assert.deepEqual(fs.readdirSync(path.join(dir, 'sub')).filter((f) => f.includes('.tmp-')), []);
    assert.equal(fs.readFileSync(target, 'utf8'), 'old');
  });
});
