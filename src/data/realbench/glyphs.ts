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
import * as fs from 'fs';
import { Rng } from '../../util/rng';
import { registerDataset } from '../registry';
import { makeHeldOutSet, makeIdentificationSplit, makeVerificationPairs } from '../splits';
import type { FaceBenchmark, ImageSet } from '../types';
import { assertFontsInstalled, commonCoverage, glyphFontsById } from './fonts';
import { displayPath } from '../../util/package';
import { writeNormalised } from '../pixels';
import { DatasetError } from '../errors';
import { resolveGlyphsOptions, type GlyphsOptions, type ResolvedGlyphsOptions } from './glyph-options';
import { GLYPH_DISTORTION, GLYPH_RENDERER_VERSION, GLYPH_WEIGHTS, canvasVersion, renderGlyphPixels, type GlyphPixels } from './glyph-render';
import { cacheKey, glyphCacheFile, readGlyphCache, writeGlyphCache } from './glyph-cache';

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
