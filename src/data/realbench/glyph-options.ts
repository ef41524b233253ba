/**
 * Options of the `glyphs` benchmark (defaults, validation with messages naming the field and value) and where its
 * rendering cache lives. The benchmark: glyphs.ts.
 */
import * as path from 'path';
import { checkHeldOutOption, defaultHeldOutPerIdentity, minIdentitiesPerFold } from '../splits';
import { GLYPH_FONTS, glyphFontsById } from './fonts';
import { PACKAGE } from '../../util/package';
import { boolOpt, channelsOpt, checkOptionNames, fmt, intOpt, numOpt, stringOpt } from '../options';
import { DatasetError } from '../errors';

export const DEFAULT_GLYPH_TRAIN_IDENTITIES = 1500;
export const DEFAULT_GLYPH_TEST_IDENTITIES = 500;
export const DEFAULT_GLYPH_IMAGES_PER_IDENTITY = 10;
export const DEFAULT_GLYPH_TEST_IMAGES_PER_IDENTITY = 10;
export const DEFAULT_GLYPH_RESOLUTION = 32;
export const DEFAULT_GLYPH_UNKNOWN_FRACTION = 0.3;
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
  return path.join(PACKAGE.root, 'data', 'cache', 'glyphs');
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
