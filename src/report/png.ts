/**
 * PNG output for reports and notebooks (pngjs, synchronous API): write raw pixels, and lay out images of an
 * `ImageSet` as a grid (rows of indices), e.g. to eyeball a benchmark's identities and nuisance.
 */
import * as fs from 'fs';
import * as path from 'path';
import { PNG } from 'pngjs';
import { readImageInto } from '../data/types';
import type { ImageSet } from '../data/types';

/** Default integer upscaling factor of `imageGrid`. */
export const DEFAULT_GRID_SCALE = 1;
/** Default padding between grid cells, in output pixels. */
export const DEFAULT_GRID_PAD = 2;
/** Grey level of the grid padding. */
const PAD_GREY = 40;

/**
 * Write an 8-bit PNG. `data` is row-major with 1 (grey), 3 (RGB) or 4 (RGBA) channels per pixel; the channel
 * count is inferred from `data.length / (width * height)`. Parent directories are created.
 */
export function writePng(file: string, data: Uint8Array | Uint8ClampedArray, width: number, height: number): void {
  if (!Number.isInteger(width) || width <= 0) throw new Error(`width must be a positive integer, got ${width}`);
  if (!Number.isInteger(height) || height <= 0) throw new Error(`height must be a positive integer, got ${height}`);
  const n = width * height;
  const ch = data.length / n;
  if (ch !== 1 && ch !== 3 && ch !== 4) {
    throw new Error(`data length ${data.length} is not width*height (${n}) times 1, 3 or 4 channels`);
  }
  const png = new PNG({ width, height });
  const dst = png.data;
  for (let i = 0; i < n; i++) {
    const o = 4 * i;
    if (ch === 1) { dst[o] = dst[o + 1] = dst[o + 2] = data[i]; dst[o + 3] = 255; }
    else if (ch === 3) { dst[o] = data[3 * i]; dst[o + 1] = data[3 * i + 1]; dst[o + 2] = data[3 * i + 2]; dst[o + 3] = 255; }
    else { dst[o] = data[o]; dst[o + 1] = data[o + 1]; dst[o + 2] = data[o + 2]; dst[o + 3] = data[o + 3]; }
  }
  fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
  fs.writeFileSync(file, PNG.sync.write(png));
}

export interface ImageGridOptions {
  /** Integer nearest-neighbour upscaling factor (default 1). */
  scale?: number;
  /** Padding between and around cells, in output pixels (default 2). */
  pad?: number;
}

/**
 * Lay out images of `set` in a grid: `indices[r]` lists the images of row r (rows may differ in length; a
 * negative index leaves the cell empty). Pixels are mapped from [-1, 1] back to 0..255. Returns RGBA bytes
 * (grey images are replicated to RGB), ready for `writePng`.
 */
export function imageGrid(set: ImageSet, indices: number[][], opts: ImageGridOptions = {}): { data: Uint8Array; width: number; height: number } {
  const scale = opts.scale ?? DEFAULT_GRID_SCALE;
  const pad = opts.pad ?? DEFAULT_GRID_PAD;
  if (!Number.isInteger(scale) || scale < 1) throw new Error(`scale must be a positive integer, got ${scale}`);
  if (!Number.isInteger(pad) || pad < 0) throw new Error(`pad must be a non-negative integer, got ${pad}`);
  if (indices.length === 0) throw new Error('indices must have at least one row');
  const cols = Math.max(...indices.map((r) => r.length));
  if (cols === 0) throw new Error('indices must have at least one non-empty row');
  const { height: h, width: w, channels: c } = set;
  const cw = w * scale, ch = h * scale;
  const width = pad + cols * (cw + pad), height = pad + indices.length * (ch + pad);
  const data = new Uint8Array(width * height * 4);
  for (let i = 0; i < width * height; i++) {
    data[4 * i] = data[4 * i + 1] = data[4 * i + 2] = PAD_GREY;
    data[4 * i + 3] = 255;
  }
  const toByte = (x: number): number => Math.max(0, Math.min(255, Math.round((x * 0.5 + 0.5) * 255)));
  indices.forEach((row, r) => row.forEach((idx, col) => {
    if (idx < 0) return;
    if (!Number.isInteger(idx) || idx >= set.count) throw new Error(`image index ${idx} out of range [0, ${set.count})`);
    const img = new Float32Array(h * w * c);
    readImageInto(set, idx, img, 0); // in memory or streamed
    const ox = pad + col * (cw + pad), oy = pad + r * (ch + pad);
    for (let y = 0; y < ch; y++) {
      for (let x = 0; x < cw; x++) {
        const s = (Math.floor(y / scale) * w + Math.floor(x / scale)) * c;
        const o = ((oy + y) * width + ox + x) * 4;
        if (c === 1) data[o] = data[o + 1] = data[o + 2] = toByte(img[s]);
        else { data[o] = toByte(img[s]); data[o + 1] = toByte(img[s + 1]); data[o + 2] = toByte(img[s + 2]); }
      }
    }
  }));
  return { data, width, height };
}
