import { strict as assert } from 'assert';
import * as fs from 'fs';
import {
  DecodedImage, decodeImage, ImageDecodeError, preprocessImage, preprocessInto, resizeGeometry, resolvePreprocess,
  sniffImageFormat,
} from '../../../src/data/readers';
import { assertClose, expectError, fixture, makePng, norm } from './helpers';

/** An RGB image from rows of [r, g, b] (hand-written test pictures). */
function rgbImage(rows: number[][][]): DecodedImage {
  const h = rows.length, w = rows[0].length;
  return { width: w, height: h, channels: 3, data: Uint8Array.from(rows.flat(2)) };
}

/** Same value in R, G and B. */
function greyRows(values: number[][]): number[][][] {
  return values.map((r) => r.map((v) => [v, v, v]));
}

describe('data/readers/decode', () => {
  it('sniffs JPEG and PNG from the first bytes, not the name', () => {
    assert.equal(sniffImageFormat(fs.readFileSync(fixture('folder', 'alice', '0001.jpg'))), 'jpeg');
    assert.equal(sniffImageFormat(fs.readFileSync(fixture('folder', 'alice', '0002.png'))), 'png');
    assert.equal(sniffImageFormat(Uint8Array.from([0xff, 0xd8])), null);
    assert.equal(sniffImageFormat(new Uint8Array(0)), null);
  });

  it('decodes the fixture JPEG (two coloured halves) and the exact 4x4 PNG', () => {
    const j = decodeImage(fs.readFileSync(fixture('folder', 'alice', '0001.jpg')), 'a.jpg');
    assert.deepEqual([j.width, j.height, j.channels], [16, 12, 3]);
    assertClose(Array.from(j.data.subarray(0, 3)), [220, 40, 40], 6, 'left pixel');
    const r = (5 * 16 + 15) * 3;
    assertClose(Array.from(j.data.subarray(r, r + 3)), [40, 40, 220], 6, 'right pixel');
    const p = decodeImage(fs.readFileSync(fixture('folder', 'alice', '0002.png')), 'b.png');
    assert.deepEqual([p.width, p.height, p.channels], [4, 4, 4]);
    // pixel (x, y) = (17 (4y + x) mod 256, 255 - 16 (4y + x), 40 y + 10 x), written by make-fixtures.py
    for (let y = 0; y < 4; y++) {
      for (let x = 0; x < 4; x++) {
        const k = 4 * y + x, o = k * 4;
        assert.deepEqual(Array.from(p.data.subarray(o, o + 4)), [(17 * k) % 256, 255 - 16 * k, 40 * y + 10 * x, 255]);
      }
    }
  });

  it('rejects bad bytes with ImageDecodeError naming the source', async () => {
    await expectError(() => decodeImage(new Uint8Array(0), 'x.jpg'), ImageDecodeError, 'x.jpg: not a JPEG or PNG (0 bytes, starting (empty))');
    await expectError(() => decodeImage(fs.readFileSync(fixture('folder', 'carol', 'fake.png')), 'fake.png'), ImageDecodeError,
      'fake.png: not a JPEG or PNG (31 bytes, starting 74 68 69 73)', { file: 'fake.png' });
    await expectError(() => decodeImage(fs.readFileSync(fixture('folder', 'carol', 'broken.jpg')), 'broken.jpg'), ImageDecodeError,
      'broken.jpg: corrupt or truncated JPEG: unknown JPEG marker 0');
    const png = makePng(3, 3, () => [1, 2, 3]);
    await expectError(() => decodeImage(png.subarray(0, 40), 't.png'), ImageDecodeError, /^t\.png: corrupt or truncated PNG: /);
    const badCrc = png.slice();
    badCrc[29] ^= 0xff; // inside the IHDR CRC
    await expectError(() => decodeImage(badCrc, 'crc.png'), ImageDecodeError, /^crc\.png: corrupt or truncated PNG: /);
    await expectError(() => decodeImage(png, 'big.png', { maxMegapixels: 1e-6 }), ImageDecodeError,
      'big.png: corrupt or truncated PNG: 3x3 exceeds 0.000001 megapixels');
    await expectError(() => decodeImage(fs.readFileSync(fixture('folder', 'alice', '0001.jpg')), 'big.jpg', { maxMegapixels: 1e-4 }),
      ImageDecodeError, /^big\.jpg: corrupt or truncated JPEG: maxResolutionInMP limit exceeded/);
  });

  it('resize geometry: short side to size, long side rounded, centred crop offsets', () => {
    assert.deepEqual(resizeGeometry(16, 12, 8), { newWidth: 11, newHeight: 8, left: 1, top: 0 });
    assert.deepEqual(resizeGeometry(12, 16, 8), { newWidth: 8, newHeight: 11, left: 0, top: 1 });
    assert.deepEqual(resizeGeometry(250, 250, 112), { newWidth: 112, newHeight: 112, left: 0, top: 0 });
    assert.deepEqual(resizeGeometry(6, 2, 2), { newWidth: 6, newHeight: 2, left: 2, top: 0 });
  });

  it('bilinear upscaling with half-pixel centres and edge clamping (hand-computed 2x2 -> 4x4)', () => {
    const img = rgbImage(greyRows([[0, 100], [200, 255]]));
    const out = preprocessImage(img, { size: 4, channels: 1 });
    // axis samples: (o + 0.5) / 2 - 0.5 = -0.25 (clamped to 0), 0.25, 0.75, 1.25 (clamped to 1)
    const row0 = [0, 25, 75, 100];
    const row3 = [200, 213.75, 241.25, 255];
    const mix = (t: number): number[] => row0.map((v, i) => (1 - t) * v + t * row3[i]);
    const expected = [...row0, ...mix(0.25), ...mix(0.75), ...row3].map(norm);
    assertClose(out, expected, 1e-5, 'upscaled');
  });

  it('downscaling by 2 averages 2x2 blocks; centre crop and flip pick the middle columns', () => {
    const img = rgbImage(greyRows([[0, 10, 20, 30], [40, 50, 60, 70], [80, 90, 100, 110], [120, 130, 140, 150]]));
    assertClose(preprocessImage(img, { size: 2, channels: 1 }), [25, 45, 105, 125].map(norm), 1e-5, 'downscaled');
    const wide = rgbImage(greyRows([[1, 2, 3, 4, 5, 6], [7, 8, 9, 10, 11, 12]]));
    assertClose(preprocessImage(wide, { size: 2, channels: 1 }), [3, 4, 9, 10].map(norm), 1e-6, 'crop');
    assertClose(preprocessImage(wide, { size: 2, channels: 1, flip: true }), [4, 3, 10, 9].map(norm), 1e-6, 'crop + flip');
    const tall = rgbImage(greyRows([[1, 2], [3, 4], [5, 6], [7, 8], [9, 10], [11, 12]]));
    assertClose(preprocessImage(tall, { size: 2, channels: 1 }), [5, 6, 7, 8].map(norm), 1e-6, 'tall crop');
  });

  it('RGB order, BT.601 luma for 1 channel, alpha dropped, insightface normalisation, writes at an offset', () => {
    const img = rgbImage([[[255, 0, 0], [0, 255, 0]], [[0, 0, 255], [255, 255, 255]]]);
    assertClose(preprocessImage(img, { size: 2 }), [255, 0, 0, 0, 255, 0, 0, 0, 255, 255, 255, 255].map(norm), 1e-6, 'rgb');
    assertClose(preprocessImage(img, { size: 2, channels: 1 }), [0.299 * 255, 0.587 * 255, 0.114 * 255, 255].map(norm), 1e-4, 'luma');
    const rgba: DecodedImage = { width: 1, height: 1, channels: 4, data: Uint8Array.from([10, 20, 30, 0]) };
    assertClose(preprocessImage(rgba, { size: 1 }), [10, 20, 30].map(norm), 1e-6, 'rgba');
    assert.equal(norm(0), -1);
    assert.equal(norm(255), 1);
    const out = new Float32Array(5).fill(7);
    preprocessInto(rgba, out, 1, 1, 3, false);
    assertClose(out, [7, norm(10), norm(20), norm(30), 7], 1e-6, 'offset');
  });

  it('validates options with messages naming the option', () => {
    assert.deepEqual(resolvePreprocess(), { size: 112, channels: 3, flip: false });
    assert.throws(() => resolvePreprocess({ size: 0 }), /^RangeError: size must be a positive integer, got 0$/);
    assert.throws(() => resolvePreprocess({ channels: 2 as 1 }), /^RangeError: channels must be 1 or 3, got 2$/);
    assert.throws(() => resolvePreprocess({ flip: 'yes' as 'random' }), /^RangeError: flip must be true, false or 'random', got "yes"$/);
    assert.throws(() => preprocessImage(rgbImage([[[0, 0, 0]]]), { flip: 'random' }), /needs a reader/);
  });
});
