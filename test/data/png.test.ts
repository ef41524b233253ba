import { strict as assert } from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { PNG } from 'pngjs';
import { imageGrid, writePng } from '../../src/report/png';
import type { ImageSet } from '../../src/data';

describe('report/png (used by the synthfaces sample grid)', () => {
  const set: ImageSet = {
    images: Float32Array.from([-1, -1, -1, 1, 1, 1, 0, 0, 0, 1, -1, 1]), labels: new Int32Array([0, 1, 2, 3]), count: 4,
    height: 1, width: 1, channels: 3,
  };

  it('lays out rows of images, upscaled, with padding; RGBA output', () => {
    const g = imageGrid(set, [[0, 1], [2]], { scale: 2, pad: 1 });
    assert.equal(g.width, 1 + 2 * (2 + 1));
    assert.equal(g.height, 1 + 2 * (2 + 1));
    assert.equal(g.data.length, g.width * g.height * 4);
    const px = (x: number, y: number): number[] => Array.from(g.data.subarray((y * g.width + x) * 4, (y * g.width + x) * 4 + 4));
    assert.deepEqual(px(1, 1), [0, 0, 0, 255]);
    assert.deepEqual(px(2, 2), [0, 0, 0, 255]);
    assert.deepEqual(px(4, 1), [255, 255, 255, 255]);
    assert.deepEqual(px(1, 4), [128, 128, 128, 255]);
    assert.deepEqual(px(0, 0), [40, 40, 40, 255]);
    assert.throws(() => imageGrid(set, [[7]]), /image index 7 out of range \[0, 4\)/);
    assert.throws(() => imageGrid(set, [[0]], { scale: 0 }), /scale must be a positive integer, got 0/);
  });

  it('draws a streamed set (pixels from fetch, images empty) exactly as the in-memory one', () => {
    const streamed: ImageSet = {
      ...set, images: new Float32Array(0),
      fetch: (i, out, offset) => out.set(set.images.subarray(i * 3, i * 3 + 3), offset),
    };
    const a = imageGrid(set, [[0, 1], [2, 3]], { scale: 2, pad: 1 });
    const b = imageGrid(streamed, [[0, 1], [2, 3]], { scale: 2, pad: 1 });
    assert.deepEqual(Array.from(b.data), Array.from(a.data));
  });

  it('writes grey, RGB and RGBA PNGs that decode to the same pixels', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'png-'));
    try {
      const file = path.join(dir, 'sub', 'a.png');
      writePng(file, Uint8Array.from([10, 20, 30, 40, 50, 60]), 2, 1);
      const rgb = PNG.sync.read(fs.readFileSync(file));
      assert.deepEqual([rgb.width, rgb.height], [2, 1]);
      assert.deepEqual(Array.from(rgb.data), [10, 20, 30, 255, 40, 50, 60, 255]);
      writePng(file, Uint8Array.from([7, 9]), 2, 1);
      assert.deepEqual(Array.from(PNG.sync.read(fs.readFileSync(file)).data), [7, 7, 7, 255, 9, 9, 9, 255]);
      assert.throws(() => writePng(file, new Uint8Array(5), 2, 1), /data length 5 is not width\*height \(2\) times 1, 3 or 4 channels/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
