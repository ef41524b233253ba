import * as fs from 'fs';
import * as path from 'path';

/**
 * The project's root folder and package.json, found by walking up from this file: the same answer whether the
 * code runs compiled (dist/src/util) or from source under tsx (src/util).
 */
/** The package: its root folder, name and version. */
export const PACKAGE: { root: string; name: string; version: string } = (() => {
  for (let dir = __dirname; ; dir = path.dirname(dir)) {
    try {
      const pkg = JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'coreface-lab') return { root: dir, name: pkg.name, version: pkg.version ?? 'unknown' };
    } catch {
      // no package.json here: keep walking up
    }
    if (path.dirname(dir) === dir) return { root: path.resolve(__dirname, '..', '..'), name: 'coreface-lab', version: 'unknown' };
  }
})();

/** A path relative to the project root when inside it (no machine paths in benchmark metadata), else as given. */
export function displayPath(file: string): string {
  const rel = path.relative(PACKAGE.root, file);
  return rel.startsWith('..') || path.isAbsolute(rel) ? file : rel;
}
