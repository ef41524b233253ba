/**
 * The rendering cache of the `glyphs` benchmark: one file per set of rendering options, written atomically, with a
 * header (the options key, the characters, a SHA-256 of the pixels) and the grey pixels; a file that does not parse,
 * has another key, the wrong length or a wrong checksum is not used (and is rebuilt). The benchmark: glyphs.ts.
 */
import { createHash } from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { writeFileAtomic } from '../../util/atomic';
import { assertFontsInstalled, glyphFontsById } from './fonts';
import type { ResolvedGlyphsOptions } from './glyph-options';
import { GLYPH_RENDERER_VERSION, canvasVersion, type GlyphPixels } from './glyph-render';

const CACHE_MAGIC = 'CFGLYPH1';

/** Everything that changes the rendered pixels; its hash names the cache file. */
export function cacheKey(r: ResolvedGlyphsOptions): Record<string, unknown> {
  const fonts = glyphFontsById(r.fonts);
  assertFontsInstalled(fonts);
  return {
    format: CACHE_MAGIC,
    renderer: GLYPH_RENDERER_VERSION,
    canvas: canvasVersion(),
    fonts: fonts.map((f) => { const st = fs.statSync(f.path); return { id: f.id, path: f.path, size: st.size, mtimeMs: st.mtimeMs }; }),
    seed: r.seed,
    trainIdentities: r.trainIdentities,
    testIdentities: r.testIdentities,
    imagesPerIdentity: r.imagesPerIdentity,
    testImagesPerIdentity: r.testImagesPerIdentity,
    heldOutPerIdentity: r.heldOutPerIdentity,
    resolution: r.resolution,
    distortion: r.distortion,
  };
}

interface CacheHeader {
  key: Record<string, unknown>;
  trainCodePoints: number[];
  testCodePoints: number[];
  trainBytes: number;
  testBytes: number;
  heldOutBytes: number;
  sha256: string;
  renderMs: number;
  createdAt: string;
}

/** Path of the cache file of resolved options (whether or not it exists). */
export function glyphCacheFile(r: ResolvedGlyphsOptions): string {
  const hash = createHash('sha256').update(JSON.stringify(cacheKey(r))).digest('hex').slice(0, 16);
  return path.join(r.cacheDir, `glyphs-${hash}.bin`);
}

/** Read a cache file; returns the pixels, or the reason it cannot be used. */
export function readGlyphCache(file: string, key: Record<string, unknown>): { pixels: GlyphPixels; header: CacheHeader } | { reason: string } {
  if (!fs.existsSync(file)) return { reason: 'no cache file' };
  let buf: Buffer;
  try {
    buf = fs.readFileSync(file);
  } catch (e) {
    return { reason: `unreadable (${(e as Error).message})` };
  }
  if (buf.length < 12 || buf.subarray(0, 8).toString('latin1') !== CACHE_MAGIC) return { reason: 'bad magic (not a glyph cache file)' };
  const hlen = buf.readUInt32LE(8);
  if (12 + hlen > buf.length) return { reason: 'truncated header' };
  let h: CacheHeader;
  try {
    h = JSON.parse(buf.subarray(12, 12 + hlen).toString('utf8')) as CacheHeader;
  } catch {
    return { reason: 'header is not valid JSON' };
  }
  if (JSON.stringify(h.key) !== JSON.stringify(key)) return { reason: 'made with other options, fonts or renderer' };
  const payload = buf.subarray(12 + hlen);
  const heldOutBytes = h.heldOutBytes ?? 0;
  const total = h.trainBytes + h.testBytes + heldOutBytes;
  if (payload.length !== total) return { reason: `payload has ${payload.length} bytes, header says ${total} (truncated?)` };
  if (createHash('sha256').update(payload).digest('hex') !== h.sha256) return { reason: 'checksum mismatch (corrupt)' };
  const k = key as { trainIdentities: number; testIdentities: number; imagesPerIdentity: number; testImagesPerIdentity: number; heldOutPerIdentity: number; resolution: number };
  const px = k.resolution * k.resolution;
  if (h.trainBytes !== k.trainIdentities * k.imagesPerIdentity * px || h.testBytes !== k.testIdentities * k.testImagesPerIdentity * px ||
    heldOutBytes !== k.trainIdentities * k.heldOutPerIdentity * px ||
    !Array.isArray(h.trainCodePoints) || h.trainCodePoints.length !== k.trainIdentities ||
    !Array.isArray(h.testCodePoints) || h.testCodePoints.length !== k.testIdentities) {
    return { reason: 'sizes in the header do not match the options' };
  }
  const copy = new Uint8Array(payload);
  return {
    header: h,
    pixels: {
      trainCodePoints: h.trainCodePoints, testCodePoints: h.testCodePoints,
      train: copy.subarray(0, h.trainBytes), test: copy.subarray(h.trainBytes, h.trainBytes + h.testBytes),
      heldOut: copy.subarray(h.trainBytes + h.testBytes),
    },
  };
}

export function writeGlyphCache(file: string, key: Record<string, unknown>, px: GlyphPixels, renderMs: number): void {
  const payload = Buffer.concat([px.train, px.test, px.heldOut]);
  const header: CacheHeader = {
    key, trainCodePoints: px.trainCodePoints, testCodePoints: px.testCodePoints,
    trainBytes: px.train.length, testBytes: px.test.length, heldOutBytes: px.heldOut.length,
    sha256: createHash('sha256').update(payload).digest('hex'), renderMs, createdAt: new Date().toISOString(),
  };
  const hbuf = Buffer.from(JSON.stringify(header), 'utf8');
  const pre = Buffer.alloc(12);
  pre.write(CACHE_MAGIC, 0, 'latin1');
  pre.writeUInt32LE(hbuf.length, 8);
  writeFileAtomic(file, Buffer.concat([pre, hbuf, payload]));
}
