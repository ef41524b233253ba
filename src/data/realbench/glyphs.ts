/**
 * `glyphs`: a many-identity open-set benchmark of real, independently designed images: identity = one CJK
 * ideograph, images = renderings of it in different fonts (eight designs from four foundries: Ming/Song, Kai,
 * Hei, Gothic, Mincho; see fonts.ts), each regular or synthetically bold, with mild seeded distortion
 * (rotation, shear, scale, shift, stroke width, blur, contrast, noise). Same-identity images differ the way one
 * person's photos differ (design = "ageing/make-up", distortion = pose and capture noise); different identities
 * often share components (radicals), which makes near-duplicates that must be told apart.
 *
 * Characters: only those every chosen font can draw (font-file cmap + non-empty outline, fonts.ts), from the
 * CJK Unified Ideographs block; 4,146 with the default eight fonts. The list is shuffled with the seed; test
 * identities are taken from its front and train identities from its back, so they are disjoint and each set
 * depends only on its own count (and the seed and fonts).
 *
 * Styles: for each identity the fonts are put in a seeded order and each font gets a seeded starting weight;
 * rendering j uses font order[j % F] with weight (start + floor(j / F)) % 2. So the first F renderings use F
 * different fonts and up to 2F renderings are all distinct styles (16 with the default fonts).
 *
 * Cache: rendering is done once per set of rendering options and stored under `cacheDir` (default
 * <project>/data/cache/glyphs, git-ignored) as one file, written atomically, holding a header (the options key,
 * the characters, a SHA-256 of the pixels) and the grey pixels. The key holds everything that changes pixels
 * (seed, counts, resolution, distortion, fonts with file size and modification time, renderer and canvas
 * versions); `channels`, the pairs and the identification split are derived at load time. A file that does not
 * parse, has another key, the wrong length or a wrong checksum is rebuilt.
 *
 * Layout as synthfaces: identity-major; train labels 0..trainIdentities-1, test labels 0..testIdentities-1;
 * identity-disjoint verification folds (`makeVerificationPairs`) and the open-set split
 * (`makeIdentificationSplit`).
 */
import { createHash } from 'crypto';
import * as fs from 'fs';
import { createRequire } from 'module';
import * as path from 'path';
import { ProgressBar } from '../../util/progress';
import { writeFileAtomic } from '../../util/atomic';
import { Rng } from '../../util/rng';
import { registerDataset } from '../registry';
import { checkHeldOutOption, defaultHeldOutPerIdentity, makeHeldOutSet, makeIdentificationSplit, makeVerificationPairs, minIdentitiesPerFold } from '../splits';
import type { FaceBenchmark, ImageSet } from '../types';
import {
  GLYPH_FONTS, assertFontsInstalled, commonCoverage, glyphFontsById, type GlyphFont,
} from './fonts';
import { boolOpt, channelsOpt, checkOptionNames, displayPath, fmt, intOpt, numOpt, projectDir, stringOpt, writeNormalised } from '../options';
import { blurChannel, gaussianKernel } from '../blur';
import { DatasetError } from '../errors';

type CanvasModule = typeof import('@napi-rs/canvas');
type Ctx = import('@napi-rs/canvas').SKRSContext2D;

export const DEFAULT_GLYPH_TRAIN_IDENTITIES = 1500;
export const DEFAULT_GLYPH_TEST_IDENTITIES = 500;
export const DEFAULT_GLYPH_IMAGES_PER_IDENTITY = 10;
export const DEFAULT_GLYPH_TEST_IMAGES_PER_IDENTITY = 10;
export const DEFAULT_GLYPH_RESOLUTION = 32;
export const DEFAULT_GLYPH_UNKNOWN_FRACTION = 0.3;
/** Bumped whenever the renderer's output changes, so old cache files are not reused. */
export const GLYPH_RENDERER_VERSION = 1;
const CACHE_MAGIC = 'CFGLYPH1';

/** Synthetic weights: extra outline stroke as a fraction of the em size (0 = the font's own weight). */
export const GLYPH_WEIGHTS: readonly { name: string; stroke: number }[] = Object.freeze([
  { name: 'regular', stroke: 0 }, { name: 'bold', stroke: 0.05 },
]);

/** Distortion strengths at distortion = 1 (each is multiplied by `distortion`). */
export const GLYPH_DISTORTION = Object.freeze({
  /** Rotation, degrees, standard deviation (clipped at 2.5 sd). */
  rotationDeg: 5,
  /** Horizontal shear factor, standard deviation (clipped at 2.5 sd). */
  shear: 0.06,
  /** log of the scale, standard deviation (clipped at 2.5 sd). */
  logScale: 0.07,
  /** Shift of the glyph centre, fraction of the image size, standard deviation per axis (clipped at 2.5 sd). */
  shift: 0.04,
  /** Extra stroke width, fraction of the em, uniform in [0, strokeJitter]. */
  strokeJitter: 0.025,
  /** Gaussian blur sigma in pixels at 32x32 (scales with resolution), uniform in [0, blur]. */
  blur: 0.6,
  /** Ink contrast loss: ink level uniform in [1 - contrast, 1]. */
  contrast: 0.3,
  /** Background level uniform in [0, background] (fraction of white). */
  background: 0.08,
  /** Pixel noise sd uniform in [0, noise] (fraction of white). */
  noise: 0.04,
});

/** Em size of the glyphs as a fraction of the image size. */
const EM_FRACTION = 0.72;

/** Options of the `glyphs` benchmark. */
export type GlyphsOptions = {
  /** Training identities (characters) (default 1500). */
  trainIdentities?: number;
  /** Test identities, disjoint characters (default 500). */
  testIdentities?: number;
  /** Renderings per training identity (default 10). */
  imagesPerIdentity?: number;
  /** Renderings per test identity, >= 2 (default 10). */
  testImagesPerIdentity?: number;
  /** Image height and width, an integer in [16, 256] (default 32). */
  resolution?: number;
  /** 1 (grey, default) or 3 (grey replicated). */
  channels?: number;
  /** Seed of the characters, styles and distortions (default 0). */
  seed?: number;
  /** Distortion strength, >= 0; 0 renders clean, centred glyphs (default 1). */
  distortion?: number;
  /** Font ids (fonts.ts GLYPH_FONTS), at least 1 (default all eight). */
  fonts?: string[];
  /** Fraction of test identities left out of the gallery as unknown probes, in [0, 1) (default 0.3). */
  unknownFraction?: number;
  /** Same pairs per fold, and as many different pairs (default 300). */
  pairsPerFold?: number;
  /** Number of verification folds (default 10). */
  folds?: number;
  /**
   * Held-back renderings per training character, never trained on: 0 (none) or >= 2 (default 4; 0 when the folds
   * cannot hold two training characters each). They are
   * renderings `imagesPerIdentity ..` of each character (same style cycle and streams), so the training images do
   * not depend on it; their pairs (`FaceBenchmark.heldOut`) measure verification on training identities.
   */
  heldOutPerIdentity?: number;
  /** Read and write the render cache (default true). */
  cache?: boolean;
  /** Cache folder (default <project>/data/cache/glyphs). */
  cacheDir?: string;
  /** Progress bar on stderr while rendering (default true). */
  progress?: boolean;
};

export type ResolvedGlyphsOptions = Required<Omit<GlyphsOptions, 'channels'>> & { channels: 1 | 3 };

const OPTION_NAMES: readonly (keyof GlyphsOptions)[] = [
  'trainIdentities', 'testIdentities', 'imagesPerIdentity', 'testImagesPerIdentity', 'resolution', 'channels', 'seed',
  'distortion', 'fonts', 'unknownFraction', 'pairsPerFold', 'folds', 'heldOutPerIdentity', 'cache', 'cacheDir', 'progress',
];

/** Default cache folder: <project>/data/cache/glyphs. */
export function defaultGlyphCacheDir(): string {
  return path.join(projectDir(), 'data', 'cache', 'glyphs');
}

/** Validate and complete options (messages name the field, the value and what is allowed). */
export function resolveGlyphsOptions(opts: GlyphsOptions | Record<string, unknown> = {}): ResolvedGlyphsOptions {
  const o = checkOptionNames('glyphs', opts, OPTION_NAMES);
  let fonts = GLYPH_FONTS.map((f) => f.id);
  if (o.fonts !== undefined) {
    if (!Array.isArray(o.fonts) || o.fonts.length === 0 || !o.fonts.every((x) => typeof x === 'string')) {
      throw new DatasetError(`fonts must be a non-empty array of font ids (${GLYPH_FONTS.map((f) => f.id).join(', ')}), got ${fmt(o.fonts)}`);
    }
    fonts = [...(o.fonts as string[])];
    glyphFontsById(fonts);
    if (new Set(fonts).size !== fonts.length) throw new DatasetError(`fonts must not repeat a font, got ${fmt(fonts)}`);
  }
  const r: ResolvedGlyphsOptions = {
    trainIdentities: intOpt(o, 'trainIdentities', DEFAULT_GLYPH_TRAIN_IDENTITIES, 1),
    testIdentities: intOpt(o, 'testIdentities', DEFAULT_GLYPH_TEST_IDENTITIES, 2),
    imagesPerIdentity: intOpt(o, 'imagesPerIdentity', DEFAULT_GLYPH_IMAGES_PER_IDENTITY, 1),
    testImagesPerIdentity: intOpt(o, 'testImagesPerIdentity', DEFAULT_GLYPH_TEST_IMAGES_PER_IDENTITY, 2),
    resolution: intOpt(o, 'resolution', DEFAULT_GLYPH_RESOLUTION, 16, 256),
    channels: channelsOpt(o, 1),
    seed: numOpt(o, 'seed', 0, () => true, 'a finite number'),
    distortion: numOpt(o, 'distortion', 1, (x) => x >= 0 && x <= 4, 'a number in [0, 4]'),
    fonts,
    unknownFraction: numOpt(o, 'unknownFraction', DEFAULT_GLYPH_UNKNOWN_FRACTION, (x) => x >= 0 && x < 1, 'a number in [0, 1)'),
    pairsPerFold: intOpt(o, 'pairsPerFold', 300, 1),
    folds: intOpt(o, 'folds', 10, 1),
    heldOutPerIdentity: 0,
    cache: boolOpt(o, 'cache', true),
    cacheDir: stringOpt(o, 'cacheDir', ''),
    progress: boolOpt(o, 'progress', true),
  };
  if (r.cacheDir === '') r.cacheDir = defaultGlyphCacheDir();
  r.heldOutPerIdentity = intOpt(o, 'heldOutPerIdentity', defaultHeldOutPerIdentity(r.trainIdentities, r.folds), 0);
  checkHeldOutOption(r);
  const perFold = minIdentitiesPerFold(r.pairsPerFold, r.testImagesPerIdentity);
  const minTest = perFold * r.folds;
  if (r.testIdentities < minTest) {
    throw new DatasetError(`testIdentities=${r.testIdentities} is too small for ${r.folds} identity-disjoint folds x ${r.pairsPerFold} same + ` +
      `${r.pairsPerFold} different pairs with testImagesPerIdentity=${r.testImagesPerIdentity}: need testIdentities >= ${minTest}`);
  }
  if (r.testIdentities - Math.round(r.unknownFraction * r.testIdentities) < 1) {
    throw new DatasetError(`unknownFraction=${r.unknownFraction} leaves no known test identity for the gallery`);
  }
  return r;
}

// ---------------------------------------------------------------------------------------------------------
// Canvas and fonts

let canvasModule: CanvasModule | null = null;

function loadCanvas(): CanvasModule {
  if (canvasModule) return canvasModule;
  try {
    canvasModule = createRequire(__filename)('@napi-rs/canvas') as CanvasModule;
  } catch (e) {
    throw new DatasetError(`the glyphs benchmark renders with @napi-rs/canvas, which failed to load (${(e as Error).message}): run \`npm install @napi-rs/canvas\``);
  }
  return canvasModule;
}

function canvasVersion(): string {
  try {
    return (createRequire(__filename)('@napi-rs/canvas/package.json') as { version: string }).version;
  } catch {
    return 'unknown';
  }
}

const registered = new Map<string, string>();

/** Register a font file with the canvas under a private alias (once per process); returns the alias. */
export function registerGlyphFont(font: GlyphFont): string {
  const done = registered.get(font.path);
  if (done) return done;
  assertFontsInstalled([font]);
  const alias = `coreface-glyph-${font.id}`;
  if (loadCanvas().GlobalFonts.registerFromPath(font.path, alias) === null) throw new DatasetError(`@napi-rs/canvas could not load the font ${font.path}`);
  registered.set(font.path, alias);
  return alias;
}

/** One rendering's style and distortion. */
export interface GlyphSample {
  font: number;
  weight: number;
  rotation: number;
  shear: number;
  scale: number;
  shiftX: number;
  shiftY: number;
  stroke: number;
  blur: number;
  ink: number;
  background: number;
  noise: number;
}

function clippedNormal(rng: Rng, sd: number): number {
  if (sd <= 0) return 0;
  return Math.max(-2.5 * sd, Math.min(2.5 * sd, rng.normal(0, sd)));
}

/** Style order of one identity: font of rendering j and its weight (see the file comment). */
export function glyphStyles(rng: Rng, numFonts: number, count: number): { font: number; weight: number }[] {
  const order = Array.from({ length: numFonts }, (_, i) => i);
  rng.shuffle(order);
  const start = order.map(() => rng.int(GLYPH_WEIGHTS.length));
  return Array.from({ length: count }, (_, j) => {
    const font = order[j % numFonts];
    return { font, weight: (start[font] + Math.floor(j / numFonts)) % GLYPH_WEIGHTS.length };
  });
}

/** Draw the distortion of one rendering (all zero at distortion 0). */
export function sampleGlyphDistortion(rng: Rng, d: number, style: { font: number; weight: number }): GlyphSample {
  const p = GLYPH_DISTORTION;
  return {
    ...style,
    rotation: (clippedNormal(rng, p.rotationDeg * d) * Math.PI) / 180,
    shear: clippedNormal(rng, p.shear * d),
    scale: Math.exp(clippedNormal(rng, p.logScale * d)),
    shiftX: clippedNormal(rng, p.shift * d),
    shiftY: clippedNormal(rng, p.shift * d),
    stroke: GLYPH_WEIGHTS[style.weight].stroke + rng.uniform(0, p.strokeJitter * d),
    blur: rng.uniform(0, p.blur * d),
    ink: 1 - rng.uniform(0, Math.min(0.9, p.contrast * d)),
    background: rng.uniform(0, Math.min(0.5, p.background * d)),
    noise: rng.uniform(0, p.noise * d),
  };
}

/** A reusable renderer of R x R grey glyph images (white ink on black) for a list of fonts. */
export class GlyphRenderer {
  private readonly ctx: Ctx;
  private readonly aliases: string[];
  private readonly grey: Float32Array;

  constructor(readonly fonts: readonly GlyphFont[], readonly resolution: number) {
    const { createCanvas } = loadCanvas();
    this.aliases = fonts.map(registerGlyphFont);
    this.ctx = createCanvas(resolution, resolution).getContext('2d');
    this.grey = new Float32Array(resolution * resolution);
  }

  /**
   * Render `codePoint` with sample `s` into `out` (R*R bytes at `offset`). Pixel noise draws from `rng`.
   * Throws if the canvas drew no ink (a font without the glyph would otherwise pass silently).
   */
  render(codePoint: number, s: GlyphSample, rng: Rng, out: Uint8Array, offset: number): void {
    const R = this.resolution, ctx = this.ctx, ch = String.fromCodePoint(codePoint);
    const em = EM_FRACTION * R;
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    ctx.fillStyle = '#000000';
    ctx.fillRect(0, 0, R, R);
    ctx.font = `${em}px "${this.aliases[s.font]}"`;
    ctx.textAlign = 'left';
    ctx.textBaseline = 'alphabetic';
    const m = ctx.measureText(ch);
    const cx = (m.actualBoundingBoxRight - m.actualBoundingBoxLeft) / 2;
    const cy = (m.actualBoundingBoxDescent - m.actualBoundingBoxAscent) / 2;
    const c = Math.cos(s.rotation), sn = Math.sin(s.rotation), k = s.shear, sc = s.scale;
    ctx.setTransform(sc * c, sc * sn, sc * (c * k - sn), sc * (sn * k + c), R / 2 + s.shiftX * R, R / 2 + s.shiftY * R);
    ctx.fillStyle = '#ffffff';
    ctx.fillText(ch, -cx, -cy);
    if (s.stroke > 0) {
      ctx.strokeStyle = '#ffffff';
      ctx.lineWidth = s.stroke * em;
      ctx.lineJoin = 'round';
      ctx.strokeText(ch, -cx, -cy);
    }
    const rgba = ctx.getImageData(0, 0, R, R).data;
    const g = this.grey;
    let ink = 0;
    for (let i = 0; i < R * R; i++) { g[i] = rgba[4 * i] / 255; ink += g[i]; }
    if (!(ink > 0.5)) {
      throw new DatasetError(`rendering U+${codePoint.toString(16).toUpperCase()} with font ${this.fonts[s.font].id} produced a blank image`);
    }
    const sigma = (s.blur * R) / 32;
    if (sigma > 0.05) blurChannel(g, R, R, gaussianKernel(sigma, Math.ceil(3 * sigma)), 'zero');
    for (let i = 0; i < R * R; i += 2) {
      // Box-Muller, both outputs used
      let n0 = 0, n1 = 0;
      if (s.noise > 0) {
        const u = Math.max(rng.next(), 1e-12), t = 2 * Math.PI * rng.next(), m = s.noise * Math.sqrt(-2 * Math.log(u));
        n0 = m * Math.cos(t); n1 = m * Math.sin(t);
      }
      out[offset + i] = Math.max(0, Math.min(255, Math.round((s.background + g[i] * (s.ink - s.background) + n0) * 255)));
      if (i + 1 < R * R) out[offset + i + 1] = Math.max(0, Math.min(255, Math.round((s.background + g[i + 1] * (s.ink - s.background) + n1) * 255)));
    }
  }
}

// ---------------------------------------------------------------------------------------------------------
// Characters, rendering, cache

/** The characters of the train and test identities (code points), as the benchmark picks them. */
export function glyphCharacters(r: Pick<ResolvedGlyphsOptions, 'seed' | 'fonts' | 'trainIdentities' | 'testIdentities'>): {
  train: number[]; test: number[]; available: number;
} {
  const fonts = glyphFontsById(r.fonts);
  assertFontsInstalled(fonts);
  const common = commonCoverage(fonts);
  const need = r.trainIdentities + r.testIdentities;
  if (need > common.length) {
    throw new DatasetError(`trainIdentities + testIdentities = ${need} but only ${common.length} CJK ideographs are drawn by all of the fonts ` +
      `${r.fonts.join(', ')}: ask for at most ${common.length} identities (or use fewer fonts)`);
  }
  const order = [...common];
  new Rng(`glyphs/${r.seed}`).fork('characters').shuffle(order);
  return { test: order.slice(0, r.testIdentities), train: order.slice(order.length - r.trainIdentities), available: common.length };
}

/** Everything that changes the rendered pixels; its hash names the cache file. */
function cacheKey(r: ResolvedGlyphsOptions): Record<string, unknown> {
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

/** Rendered grey pixels of both sets. */
export interface GlyphPixels {
  trainCodePoints: number[];
  testCodePoints: number[];
  /** trainIdentities * imagesPerIdentity * R * R bytes, identity-major. */
  train: Uint8Array;
  /** testIdentities * testImagesPerIdentity * R * R bytes, identity-major. */
  test: Uint8Array;
  /** trainIdentities * heldOutPerIdentity * R * R bytes, identity-major: the held-back renderings. */
  heldOut: Uint8Array;
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

function writeGlyphCache(file: string, key: Record<string, unknown>, px: GlyphPixels, renderMs: number): void {
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

/**
 * Check that the fonts give distinct pictures: renders `codePoint` undistorted in every font x weight and
 * throws if two styles give identical pixels (e.g. a font silently replaced by a fallback). Returns the number
 * of styles.
 */
export function checkDistinctStyles(renderer: GlyphRenderer, codePoint: number): number {
  const R = renderer.resolution, n = renderer.fonts.length * GLYPH_WEIGHTS.length;
  const px = new Uint8Array(n * R * R);
  const rng = new Rng('distinct-styles');
  for (let f = 0; f < renderer.fonts.length; f++) {
    for (let w = 0; w < GLYPH_WEIGHTS.length; w++) {
      renderer.render(codePoint, sampleGlyphDistortion(rng, 0, { font: f, weight: w }), rng, px, (f * GLYPH_WEIGHTS.length + w) * R * R);
    }
  }
  const size = R * R;
  for (let a = 0; a < n; a++) {
    for (let b = a + 1; b < n; b++) {
      let diff = 0;
      for (let i = 0; i < size; i++) diff += Math.abs(px[a * size + i] - px[b * size + i]);
      if (diff === 0) {
        const name = (s: number): string => `${renderer.fonts[Math.floor(s / GLYPH_WEIGHTS.length)].id}/${GLYPH_WEIGHTS[s % GLYPH_WEIGHTS.length].name}`;
        throw new DatasetError(`fonts ${name(a)} and ${name(b)} render U+${codePoint.toString(16).toUpperCase()} identically; a font is not being used`);
      }
    }
  }
  return n;
}

/** Render the training, test and held-back sets (no cache). */
export function renderGlyphPixels(r: ResolvedGlyphsOptions, chars: { train: number[]; test: number[] }): GlyphPixels {
  const fonts = glyphFontsById(r.fonts);
  const renderer = new GlyphRenderer(fonts, r.resolution);
  checkDistinctStyles(renderer, chars.test[0]);
  const R = r.resolution, size = R * R;
  const root = new Rng(`glyphs/${r.seed}`);
  const total = chars.train.length * (r.imagesPerIdentity + r.heldOutPerIdentity) + chars.test.length * r.testImagesPerIdentity;
  const bar = new ProgressBar(total, 'glyphs: rendering', { enabled: r.progress });
  let done = 0;
  // renderings first .. first + per - 1 of each character (style j and stream j do not depend on per or first)
  const renderSet = (cps: number[], per: number, first = 0): Uint8Array => {
    const out = new Uint8Array(cps.length * per * size);
    cps.forEach((cp, i) => {
      const styles = glyphStyles(root.fork('styles').fork(cp), fonts.length, first + per);
      for (let j = 0; j < per; j++) {
        const rng = root.fork('render').fork(cp).fork(first + j);
        renderer.render(cp, sampleGlyphDistortion(rng, r.distortion, styles[first + j]), rng, out, (i * per + j) * size);
      }
      done += per;
      bar.update(done);
    });
    return out;
  };
  const train = renderSet(chars.train, r.imagesPerIdentity);
  const test = renderSet(chars.test, r.testImagesPerIdentity);
  const heldOut = renderSet(chars.train, r.heldOutPerIdentity, r.imagesPerIdentity);
  return { trainCodePoints: chars.train, testCodePoints: chars.test, train, test, heldOut };
}

function toImageSet(px: Uint8Array, identities: number, per: number, R: number, C: 1 | 3): ImageSet {
  const count = identities * per, size = R * R;
  const images = new Float32Array(count * size * C), labels = new Int32Array(count);
  for (let k = 0; k < count; k++) {
    writeNormalised(px.subarray(k * size, (k + 1) * size), C, images, k * size * C);
    labels[k] = Math.floor(k / per);
  }
  return { images, labels, count, height: R, width: R, channels: C };
}

/** Build the `glyphs` benchmark (renders once, then reads the cache). */
export function createGlyphs(opts: GlyphsOptions | Record<string, unknown> = {}): FaceBenchmark {
  const r = resolveGlyphsOptions(opts);
  const t0 = Date.now();
  const fonts = glyphFontsById(r.fonts);
  assertFontsInstalled(fonts);
  const timings: Record<string, number> = {};
  const cacheInfo: Record<string, unknown> = { enabled: r.cache };
  let px: GlyphPixels | null = null;
  let available: number | null = null;
  let key: Record<string, unknown> | null = null, file: string | null = null;
  if (r.cache) {
    key = cacheKey(r);
    file = glyphCacheFile(r);
    cacheInfo.file = displayPath(file);
    const t = Date.now();
    const got = readGlyphCache(file, key);
    timings.cacheReadMs = Date.now() - t;
    if ('pixels' in got) {
      px = got.pixels;
      cacheInfo.hit = true;
      timings.originalRenderMs = got.header.renderMs;
    } else {
      cacheInfo.hit = false;
      cacheInfo.missReason = got.reason;
      if (got.reason !== 'no cache file' && r.progress) process.stderr.write(`glyphs: cache ${file} not usable (${got.reason}); rebuilding\n`);
    }
  }
  if (!px) {
    let t = Date.now();
    const chars = glyphCharacters(r);
    available = chars.available;
    timings.coverageMs = Date.now() - t;
    t = Date.now();
    px = renderGlyphPixels(r, chars);
    timings.renderMs = Date.now() - t;
    if (r.cache && file && key) {
      t = Date.now();
      try {
        writeGlyphCache(file, key, px, timings.renderMs);
        cacheInfo.bytes = fs.statSync(file).size;
      } catch (e) {
        // the cache only saves time: a read-only or full disk must not fail the benchmark
        cacheInfo.writeError = (e as Error).message;
        if (r.progress) process.stderr.write(`glyphs: could not write the cache ${file} (${(e as Error).message})\n`);
      }
      timings.cacheWriteMs = Date.now() - t;
    }
  }
  const t = Date.now();
  const R = r.resolution;
  const train = toImageSet(px.train, r.trainIdentities, r.imagesPerIdentity, R, r.channels);
  const test = toImageSet(px.test, r.testIdentities, r.testImagesPerIdentity, R, r.channels);
  const root = new Rng(`glyphs/${r.seed}`);
  const pairs = makeVerificationPairs(test.labels, r.testIdentities, { folds: r.folds, pairsPerFold: r.pairsPerFold }, root.fork('pairs'));
  const identification = makeIdentificationSplit(test.labels, r.testIdentities, r.unknownFraction, root.fork('identification'));
  const h = r.heldOutPerIdentity;
  const heldOut = h > 0
    ? makeHeldOutSet(toImageSet(px.heldOut, r.trainIdentities, h, R, r.channels), r.trainIdentities, h,
      { folds: r.folds, pairsPerFold: r.pairsPerFold }, root.fork('held-out-pairs'))
    : undefined;
  timings.assembleMs = Date.now() - t;
  timings.totalMs = Date.now() - t0;
  const chars = (cps: number[]): string => cps.map((c) => String.fromCodePoint(c)).join('');
  return {
    name: 'glyphs',
    train,
    numClasses: r.trainIdentities,
    test,
    pairs,
    identification,
    ...(heldOut ? { heldOut } : {}),
    meta: {
      protocol: 'identity = one CJK ideograph; images = renderings in different fonts/weights with mild distortion; ' +
        'train and test characters disjoint',
      source: {
        fonts: fonts.map((f) => ({ id: f.id, name: f.name, path: f.path, debianPackage: f.debianPackage })),
        weights: GLYPH_WEIGHTS.map((w) => w.name),
        styles: fonts.length * GLYPH_WEIGHTS.length,
        coverage: 'cmap + non-empty outline in every font (intersection over the faces of .ttc collections), CJK U+4E00..U+9FFF',
        charactersAvailable: available,
        renderer: `@napi-rs/canvas ${canvasVersion()}, renderer v${GLYPH_RENDERER_VERSION}`,
      },
      options: { ...r, fonts: [...r.fonts], cacheDir: displayPath(r.cacheDir) },
      distortionAt1: { ...GLYPH_DISTORTION },
      trainCharacters: chars(px.trainCodePoints),
      testCharacters: chars(px.testCodePoints),
      counts: {
        train: train.count, test: test.count, pairs: pairs.left.length, gallery: identification.gallery.length,
        knownProbes: identification.knownProbes.length, unknownProbes: identification.unknownProbes.length,
        heldOut: heldOut?.set.count ?? 0, heldOutPairs: heldOut?.pairs.left.length ?? 0,
      },
      pairLayout: 'fold k = pairs [k*2P, (k+1)*2P): P same then P different; folds are identity-disjoint',
      cache: cacheInfo,
      timings,
    },
  };
}

/** Human-readable description of the `glyphs` benchmark and its options. */
export function describeGlyphs(): string {
  return [
    'glyphs: identity = one CJK ideograph, images = renderings in 8 Debian fonts (Ming/Song, Kai, Hei, Gothic, Mincho)',
    '  x {regular, bold} with mild seeded distortion (rotation, shear, scale, shift, stroke, blur, contrast, noise).',
    '  characters: those drawn by every chosen font (4,146 with the default fonts); train and test characters disjoint.',
    '  rendered once with @napi-rs/canvas into data/cache/glyphs/ (keyed by the rendering options), then read from there.',
    '  options (defaults): trainIdentities 1500, testIdentities 500, imagesPerIdentity 10, testImagesPerIdentity 10,',
    '    resolution 32, channels 1, seed 0, distortion 1, fonts (all 8), unknownFraction 0.3, pairsPerFold 300, folds 10,',
    '    heldOutPerIdentity 4 (held-back renderings of each training character: verification on training identities),',
    '    cache true, cacheDir data/cache/glyphs, progress true.',
    '  protocols: as synthfaces: identity-disjoint LFW-style folds; open-set split with one gallery image per known identity.',
  ].join('\n');
}

registerDataset('glyphs', {
  description: 'CJK glyphs in 8 Debian fonts x 2 weights, seeded distortion: many-identity open set (rendered once, cached)',
  resolveOptions: (opts) => {
    // cache, cacheDir and progress change how the pixels are obtained, not the pixels: kept only when given
    const { cache, cacheDir, progress, ...data } = resolveGlyphsOptions(opts ?? {});
    const given = opts ?? {};
    return { ...data, fonts: [...data.fonts], ...('cache' in given ? { cache } : {}), ...('cacheDir' in given ? { cacheDir } : {}),
      ...('progress' in given ? { progress } : {}) };
  },
  create: (opts) => createGlyphs(opts ?? {}),
});
