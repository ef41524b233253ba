/**
 * Sample grids of the synthfaces benchmark, to eyeball identity consistency and nuisance:
 *   docs/img/synthfaces-grid.png   8 identities (rows) x 8 images, default nuisance (1.0)
 *   docs/img/synthfaces-clean.png  the same identities at nuisance 0 (identity rendering only)
 * Run: npx tsx scripts/sample-grid.ts [--resolution 32] [--seed 0] [--nuisance 1]
 */
import * as path from 'path';
import { effectiveNuisance, renderIdentitySet, synthIdentities } from '../src/data';
import { Rng } from '../src/util/rng';
import { imageGrid, writePng } from '../src/report/png';

function arg(name: string, def: number): number {
  const i = process.argv.indexOf(`--${name}`);
  if (i < 0) return def;
  const v = Number(process.argv[i + 1]);
  if (!Number.isFinite(v)) throw new Error(`--${name} must be a number, got ${process.argv[i + 1]}`);
  return v;
}

const resolution = arg('resolution', 32), seed = arg('seed', 0), nuisance = arg('nuisance', 1);
const rows = 8, cols = 8;
const outDir = path.join(__dirname, '..', 'docs', 'img');
const ids = synthIdentities({ seed, trainIdentities: rows, testIdentities: 2 }).train;
const scale = Math.max(1, Math.round(96 / resolution));
const indices = Array.from({ length: rows }, (_, r) => Array.from({ length: cols }, (_, c) => r * cols + c));
for (const [name, strength] of [['synthfaces-grid.png', nuisance], ['synthfaces-clean.png', 0]] as const) {
  const set = renderIdentitySet(ids, cols, resolution, 3, effectiveNuisance(strength), new Rng(`sample-grid/${seed}`));
  const g = imageGrid(set, indices, { scale, pad: 3 });
  const file = path.join(outDir, name);
  writePng(file, g.data, g.width, g.height);
  console.log(`wrote ${path.relative(process.cwd(), file)} (${g.width}x${g.height}, nuisance ${strength})`);
}
