/** Shared helpers of the reader tests: fixture paths, temporary folders, typed-error assertions. */
import { strict as assert } from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { PNG } from 'pngjs';
import { DataReaderError } from '../../../src/data/readers';

/** test/fixtures/readers (regenerate with make-fixtures.py there). */
export const FIXTURES = path.join(__dirname, '..', '..', 'fixtures', 'readers');

/** A fixture path. */
export function fixture(...parts: string[]): string {
  return path.join(FIXTURES, ...parts);
}

/** A fresh temporary folder, removed by the returned cleanup function. */
export function tmpDir(prefix = 'readers-'): { dir: string; cleanup: () => void } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  return { dir, cleanup: () => fs.rmSync(dir, { recursive: true, force: true }) };
}

/** Asserts that `fn` throws (or rejects with) an instance of `cls` whose message is exactly `message`. */
export async function expectError<T extends DataReaderError>(
  fn: () => unknown,
  cls: abstract new (...args: never[]) => T,
  message: string | RegExp,
  fields: Partial<Pick<DataReaderError, 'file' | 'offset' | 'line'>> = {},
): Promise<T> {
  let caught: unknown = null;
  try {
    await fn();
  } catch (e) {
    caught = e;
  }
  assert.ok(caught !== null, `expected ${cls.name}, nothing was thrown`);
  if (!(caught instanceof cls)) throw caught;
  if (typeof message === 'string') assert.equal(caught.message, message);
  else assert.match(caught.message, message);
  for (const [k, v] of Object.entries(fields)) assert.equal((caught as unknown as Record<string, unknown>)[k], v, `field ${k}`);
  return caught;
}

/** A PNG of `w x h` pixels from a function giving each pixel's RGB. */
export function makePng(w: number, h: number, rgb: (x: number, y: number) => [number, number, number]): Uint8Array {
  const png = new PNG({ width: w, height: h });
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const [r, g, b] = rgb(x, y);
      const o = (y * w + x) * 4;
      png.data[o] = r; png.data[o + 1] = g; png.data[o + 2] = b; png.data[o + 3] = 255;
    }
  }
  return new Uint8Array(PNG.sync.write(png));
}

/** Normalised value of an 8-bit pixel value: ((v / 255) - 0.5) / 0.5. */
export function norm(v: number): number {
  return v / 127.5 - 1;
}

/** Pixel (x, y) of image `i` of an NHWC set as 0..255 values. */
export function pixel(images: Float32Array, size: number, channels: number, i: number, x: number, y: number): number[] {
  const o = ((i * size + y) * size + x) * channels;
  return Array.from(images.subarray(o, o + channels), (v) => (v + 1) * 127.5);
}

/** Asserts |a[i] - b[i]| <= tol for all i. */
export function assertClose(a: ArrayLike<number>, b: ArrayLike<number>, tol: number, what = 'values'): void {
  assert.equal(a.length, b.length, `${what}: length`);
  for (let i = 0; i < a.length; i++) {
    assert.ok(Math.abs(a[i] - b[i]) <= tol, `${what}[${i}]: ${a[i]} vs ${b[i]} (tolerance ${tol})`);
  }
}
