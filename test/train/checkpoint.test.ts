import { strict as assert } from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { saveCheckpoint, loadCheckpoint } from '../../src/train/checkpoint';

describe('train: checkpoint files', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'coreface-ckpt-'));
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('round-trips a header and named tensors exactly', () => {
    const file = path.join(dir, 'a.ckpt');
    const t = [
      { name: 'x', shape: [2, 3], data: Float32Array.from([1, 2, 3, 4, 5, 6.5]) },
      { name: 'y', shape: [1], data: Float32Array.from([-0.125]) },
    ];
    saveCheckpoint(file, { header: { epoch: 3, note: 'é' }, tensors: t });
    const back = loadCheckpoint<{ epoch: number; note: string }>(file);
    assert.deepEqual(back.header, { epoch: 3, note: 'é' });
    assert.deepEqual(back.tensors.map((e) => [e.name, e.shape, Array.from(e.data)]), t.map((e) => [e.name, e.shape, Array.from(e.data)]));
    assert.deepEqual(fs.readdirSync(dir).filter((f) => f.includes('.tmp')), [], 'no temp file left');
  });

  it('rejects a shape that does not match the data', () => {
    assert.throws(() => saveCheckpoint(path.join(dir, 'b.ckpt'), { header: {}, tensors: [{ name: 'z', shape: [3], data: new Float32Array(2) }] }), /tensor z: shape \[3\] does not match 2 values/);
  });

  it('names the file and the problem for bad magic and truncation', () => {
    const bad = path.join(dir, 'bad.ckpt');
    fs.writeFileSync(bad, 'hello world, not a checkpoint');
    assert.throws(() => loadCheckpoint(bad), /bad\.ckpt is not a coreface checkpoint \(bad magic at offset 0\)/);
    const good = path.join(dir, 'c.ckpt');
    saveCheckpoint(good, { header: {}, tensors: [{ name: 'w', shape: [100], data: new Float32Array(100) }] });
    const buf = fs.readFileSync(good);
    const cut = path.join(dir, 'cut.ckpt');
    fs.writeFileSync(cut, buf.subarray(0, buf.length - 40));
    assert.throws(() => loadCheckpoint(cut), /cut\.ckpt: truncated checkpoint \(tensor w ends at value 100/);
    assert.throws(() => loadCheckpoint(path.join(dir, 'missing.ckpt')), /checkpoint not found/);
  });
});
