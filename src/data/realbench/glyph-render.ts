/**
 * Rendering of the `glyphs` benchmark: fonts registered with @napi-rs/canvas (loaded lazily), the seeded styles
 * (font order, weight) and distortions (rotation, shear, scale, shift, stroke, blur, contrast, noise) of each
 * rendering, the renderer of R x R grey images, and the rendering of a whole benchmark's pixels. The benchmark:
 * glyphs.ts.
 */
import { createRequire } from 'module';
import { ProgressBar } from '../../util/progress';
import { Rng } from '../../util/rng';
import { assertFontsInstalled, glyphFontsById, type GlyphFont } from './fonts';
import { blurChannel, gaussianKernel } from '../blur';
import { DatasetError } from '../errors';
import type { ResolvedGlyphsOptions } from './glyph-options';

type CanvasModule = typeof import('@napi-rs/canvas');
type Ctx = import('@napi-rs/canvas').SKRSContext2D;

/** Bumped whenever the renderer's output changes, so old cache files are not reused. */
export const GLYPH_RENDERER_VERSION = 1;
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

export function canvasVersion(): string {
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
