/**
 * Image decoding and preprocessing shared by every reader: JPEG/PNG bytes -> RGB/grey pixels -> resize + centre crop
 * -> optional horizontal flip -> insightface normalisation, written straight into an NHWC Float32Array.
 *
 * Decoding
 * - The format is sniffed from the first bytes, not the file name: JPEG starts `FF D8 FF`, PNG starts
 *   `89 50 4E 47 0D 0A 1A 0A`. Anything else is an {@link ImageDecodeError} ("not a JPEG or PNG").
 * - JPEG: `jpeg-js` (baseline and progressive), strict mode (`tolerantDecoding: false`), so a truncated file is an
 *   error rather than a half-grey image. Grey and CMYK JPEGs come out as RGB.
 * - PNG: `pngjs` (all bit depths, palettes, grey, alpha; 16-bit is scaled to 8-bit). Alpha is dropped (no
 *   compositing): the RGB values are used as stored.
 * - Images above {@link DEFAULT_MAX_MEGAPIXELS} megapixels are refused (a corrupt header can claim 65535 x 65535).
 * - Any failure of the decoders (they throw plain `Error`s, or worse) becomes an {@link ImageDecodeError}.
 *
 * Preprocessing (exactly, in this order)
 * 1. Resize so the SHORT side equals `size` (default {@link DEFAULT_READER_SIZE}), keeping the aspect ratio: the
 *    long side becomes `round(long * size / short)`. Bilinear interpolation with half-pixel centres, as OpenCV's
 *    `cv2.resize(..., INTER_LINEAR)` and TF's `resize_bilinear(half_pixel_centers=True)`: output pixel `x` samples
 *    source coordinate `(x + 0.5) * (W / newW) - 0.5`, clamped to `[0, W - 1]`; no antialiasing (as OpenCV, which
 *    insightface uses). A `size x size` input is copied exactly.
 * 2. Centre crop `size x size`: offset `floor((newW - size) / 2)` horizontally, `floor((newH - size) / 2)`
 *    vertically. Steps 1 and 2 are done in one pass (only the cropped pixels are interpolated).
 * 3. Optional horizontal flip (mirror left-right).
 * 4. Channels: 3 gives RGB (channel order R, G, B; note OpenCV-based pipelines feed BGR). 1 gives luma
 *    `0.299 R + 0.587 G + 0.114 B` (ITU-R BT.601, as PIL `convert('L')` and OpenCV), kept in floating point.
 * 5. Normalise as insightface: `((x / 255) - 0.5) / 0.5`, i.e. `[0, 255] -> [-1, 1]`.
 */
import * as jpeg from 'jpeg-js';
import { PNG } from 'pngjs';
import { ImageDecodeError, errorMessage } from './errors';

/** Default output height = width. */
export const DEFAULT_READER_SIZE = 112;
/** Default number of output channels (RGB). */
export const DEFAULT_READER_CHANNELS = 3;
/** Largest image the decoders accept, in megapixels (10^6 pixels). */
export const DEFAULT_MAX_MEGAPIXELS = 25;

/** Encoded image formats the readers understand. */
export type ImageFormat = 'jpeg' | 'png';

/** A decoded image: 8-bit interleaved pixels, `height * width * channels` values, row-major. */
export interface DecodedImage {
  width: number;
  height: number;
  /** 3 (RGB, from JPEG) or 4 (RGBA, from PNG). */
  channels: 3 | 4;
  data: Uint8Array;
}

/** Options of {@link decodeImage}. */
export interface DecodeOptions {
  /** Refuse images above this many megapixels. Default {@link DEFAULT_MAX_MEGAPIXELS}. */
  maxMegapixels?: number;
}

/** Output geometry and augmentation, shared by every reader. */
export interface PreprocessOptions {
  /** Output height and width in pixels, a positive integer. Default {@link DEFAULT_READER_SIZE} (112). */
  size?: number;
  /** 3 for RGB, 1 for luma. Default {@link DEFAULT_READER_CHANNELS} (3). */
  channels?: 1 | 3;
  /**
   * Horizontal flip: `false` (default) never, `true` every image (e.g. the second pass of flip-fused evaluation),
   * `'random'` each image with probability 1/2 (training augmentation; seeded by the reader's `seed`).
   */
  flip?: boolean | 'random';
}

/** {@link PreprocessOptions} with defaults filled in and validated. */
export interface ResolvedPreprocess {
  size: number;
  channels: 1 | 3;
  flip: boolean | 'random';
}

/** Fills defaults and validates; throws a `RangeError` naming the bad option. */
export function resolvePreprocess(opts: PreprocessOptions = {}): ResolvedPreprocess {
  const size = opts.size ?? DEFAULT_READER_SIZE;
  if (!Number.isInteger(size) || size <= 0) throw new RangeError(`size must be a positive integer, got ${size}`);
  const channels = opts.channels ?? DEFAULT_READER_CHANNELS;
  if (channels !== 1 && channels !== 3) throw new RangeError(`channels must be 1 or 3, got ${String(channels)}`);
  const flip = opts.flip ?? false;
  if (flip !== true && flip !== false && flip !== 'random') {
    throw new RangeError(`flip must be true, false or 'random', got ${JSON.stringify(flip)}`);
  }
  return { size, channels, flip };
}

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

/** The format of encoded image bytes, from their signature; null if neither JPEG nor PNG. */
export function sniffImageFormat(bytes: Uint8Array): ImageFormat | null {
  if (bytes.length >= 3 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) return 'jpeg';
  if (bytes.length >= 8 && PNG_SIGNATURE.every((b, i) => bytes[i] === b)) return 'png';
  return null;
}

function hexPrefix(bytes: Uint8Array, n = 4): string {
  const parts: string[] = [];
  for (let i = 0; i < Math.min(n, bytes.length); i++) parts.push(bytes[i].toString(16).padStart(2, '0'));
  return parts.length ? parts.join(' ') : '(empty)';
}

/**
 * Decodes JPEG or PNG bytes. `source` names the image in error messages (a path, or `"lfw.bin#17"`).
 * @throws ImageDecodeError for anything that is not a decodable JPEG/PNG within the size limit.
 */
export function decodeImage(bytes: Uint8Array, source: string, opts: DecodeOptions = {}): DecodedImage {
  const maxMp = opts.maxMegapixels ?? DEFAULT_MAX_MEGAPIXELS;
  const format = sniffImageFormat(bytes);
  if (format === null) {
    throw new ImageDecodeError(source, `not a JPEG or PNG (${bytes.length} bytes, starting ${hexPrefix(bytes)})`);
  }
  let img: DecodedImage;
  try {
    if (format === 'jpeg') {
      const d = jpeg.decode(bytes, {
        useTArray: true, formatAsRGBA: false, tolerantDecoding: false, maxResolutionInMP: maxMp,
        maxMemoryUsageInMB: Math.max(64, Math.ceil(maxMp * 16)),
      });
      img = { width: d.width, height: d.height, channels: 3, data: d.data };
    } else {
      const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
      const d = PNG.sync.read(buf);
      if (d.width * d.height > maxMp * 1e6) throw new Error(`${d.width}x${d.height} exceeds ${maxMp} megapixels`);
      img = { width: d.width, height: d.height, channels: 4, data: new Uint8Array(d.data.buffer, d.data.byteOffset, d.data.byteLength) };
    }
  } catch (e) {
    throw new ImageDecodeError(source, `corrupt or truncated ${format.toUpperCase()}: ${errorMessage(e)}`);
  }
  if (!(img.width > 0 && img.height > 0) || img.data.length < img.width * img.height * img.channels) {
    throw new ImageDecodeError(source, `corrupt ${format.toUpperCase()}: decoded ${img.width}x${img.height} with ${img.data.length} bytes`);
  }
  return img;
}

/** Sampling table of one axis: for each output position, the two source indices and the weight of the second. */
interface AxisTable {
  i0: Int32Array;
  i1: Int32Array;
  w1: Float32Array;
}

/** Half-pixel-centre bilinear sampling of `outLen` positions starting at resized position `start`. */
function axisTable(srcLen: number, resizedLen: number, start: number, outLen: number, flip: boolean): AxisTable {
  const i0 = new Int32Array(outLen), i1 = new Int32Array(outLen), w1 = new Float32Array(outLen);
  const scale = srcLen / resizedLen;
  for (let o = 0; o < outLen; o++) {
    const r = start + (flip ? outLen - 1 - o : o);
    let s = (r + 0.5) * scale - 0.5;
    if (s < 0) s = 0;
    if (s > srcLen - 1) s = srcLen - 1;
    const a = Math.floor(s);
    i0[o] = a;
    i1[o] = Math.min(a + 1, srcLen - 1);
    w1[o] = s - a;
  }
  return { i0, i1, w1 };
}

/** Resized dimensions (short side = size) and crop offsets; see the file comment. */
export function resizeGeometry(width: number, height: number, size: number): { newWidth: number; newHeight: number; left: number; top: number } {
  const short = Math.min(width, height);
  const newWidth = width === short ? size : Math.max(size, Math.round((width * size) / short));
  const newHeight = height === short ? size : Math.max(size, Math.round((height * size) / short));
  return { newWidth, newHeight, left: Math.floor((newWidth - size) / 2), top: Math.floor((newHeight - size) / 2) };
}

/**
 * Resize (short side) + centre crop + optional flip + channel conversion + normalisation of `img`, written to
 * `out[offset .. offset + size * size * channels)` in HWC order.
 */
export function preprocessInto(img: DecodedImage, out: Float32Array, offset: number, size: number, channels: 1 | 3, flip: boolean): void {
  const { width: W, height: H, channels: C, data } = img;
  const g = resizeGeometry(W, H, size);
  const xs = axisTable(W, g.newWidth, g.left, size, flip);
  const ys = axisTable(H, g.newHeight, g.top, size, false);
  const rowStride = W * C;
  let o = offset;
  for (let y = 0; y < size; y++) {
    const r0 = ys.i0[y] * rowStride, r1 = ys.i1[y] * rowStride, wy = ys.w1[y], vy = 1 - wy;
    for (let x = 0; x < size; x++) {
      const c0 = xs.i0[x] * C, c1 = xs.i1[x] * C, wx = xs.w1[x], vx = 1 - wx;
      const p00 = r0 + c0, p01 = r0 + c1, p10 = r1 + c0, p11 = r1 + c1;
      const w00 = vy * vx, w01 = vy * wx, w10 = wy * vx, w11 = wy * wx;
      const red = w00 * data[p00] + w01 * data[p01] + w10 * data[p10] + w11 * data[p11];
      const green = w00 * data[p00 + 1] + w01 * data[p01 + 1] + w10 * data[p10 + 1] + w11 * data[p11 + 1];
      const blue = w00 * data[p00 + 2] + w01 * data[p01 + 2] + w10 * data[p10 + 2] + w11 * data[p11 + 2];
      if (channels === 3) {
        out[o++] = red / 127.5 - 1;
        out[o++] = green / 127.5 - 1;
        out[o++] = blue / 127.5 - 1;
      } else {
        out[o++] = (0.299 * red + 0.587 * green + 0.114 * blue) / 127.5 - 1;
      }
    }
  }
}

/** Convenience: decoded image -> a new `size * size * channels` Float32Array (see {@link preprocessInto}). */
export function preprocessImage(img: DecodedImage, opts: PreprocessOptions = {}): Float32Array {
  const p = resolvePreprocess(opts);
  if (p.flip === 'random') throw new RangeError("preprocessImage: flip 'random' needs a reader (seeded); pass true or false");
  const out = new Float32Array(p.size * p.size * p.channels);
  preprocessInto(img, out, 0, p.size, p.channels, p.flip);
  return out;
}

/** The insightface pixel normalisation `((x / 255) - 0.5) / 0.5`. */
export function normalizePixel(x: number): number {
  return x / 127.5 - 1;
}
