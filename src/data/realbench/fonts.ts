/**
 * Fonts of the `glyphs` benchmark and a small TrueType/OpenType reader used to decide which characters every
 * font really has.
 *
 * Coverage check (why it is reliable): a canvas never says that it substituted a font, it silently falls back
 * to another one when a character is missing. So coverage is read from the font files themselves: the Unicode
 * `cmap` subtable (format 12, else format 4) must map the code point to a glyph id other than 0 (.notdef) and
 * below `maxp.numGlyphs`, and for TrueType-outline fonts the glyph's `loca` entry must be non-empty (a mapped
 * but empty glyph would render as a blank). For a font collection (.ttc) the check is done on every face and
 * intersected, so whichever face the canvas picks has the character. A character is usable only if every
 * chosen font passes; the renderer then also checks that every rendering has ink.
 */
import * as fs from 'fs';
import { DatasetError } from '../errors';

/** One font of the glyph benchmark. */
export interface GlyphFont {
  /** Short id used in options and cache keys, e.g. 'uming'. */
  id: string;
  /** Human-readable name and design. */
  name: string;
  /** Absolute path of the font file installed by `debianPackage`. */
  path: string;
  /** Debian package that ships the file. */
  debianPackage: string;
}

/**
 * The default fonts: eight distinct designs (Ming/Song, Kai and Hei styles from Chinese foundries; Gothic
 * and Mincho from IPA), each rendered regular and synthetically bold, so 16 styles. IPAex fonts are left out
 * on purpose: their kanji are the IPA designs again.
 */
export const GLYPH_FONTS: readonly GlyphFont[] = Object.freeze([
  { id: 'uming', name: 'AR PL UMing (Ming)', path: '/usr/share/fonts/truetype/arphic/uming.ttc', debianPackage: 'fonts-arphic-uming' },
  { id: 'ukai', name: 'AR PL UKai (Kai)', path: '/usr/share/fonts/truetype/arphic/ukai.ttc', debianPackage: 'fonts-arphic-ukai' },
  { id: 'gbsn', name: 'AR PL SungtiL GB (Song)', path: '/usr/share/fonts/truetype/arphic-gbsn00lp/gbsn00lp.ttf', debianPackage: 'fonts-arphic-gbsn00lp' },
  { id: 'gkai', name: 'AR PL KaitiM GB (Kai)', path: '/usr/share/fonts/truetype/arphic-gkai00mp/gkai00mp.ttf', debianPackage: 'fonts-arphic-gkai00mp' },
  { id: 'zenhei', name: 'WenQuanYi Zen Hei (Hei)', path: '/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc', debianPackage: 'fonts-wqy-zenhei' },
  { id: 'microhei', name: 'WenQuanYi Micro Hei (Hei, Droid Sans Fallback)', path: '/usr/share/fonts/truetype/wqy/wqy-microhei.ttc', debianPackage: 'fonts-wqy-microhei' },
  { id: 'ipagothic', name: 'IPAGothic (Gothic)', path: '/usr/share/fonts/opentype/ipafont-gothic/ipag.ttf', debianPackage: 'fonts-ipafont-gothic' },
  { id: 'ipamincho', name: 'IPAMincho (Mincho)', path: '/usr/share/fonts/opentype/ipafont-mincho/ipam.ttf', debianPackage: 'fonts-ipafont-mincho' },
].map((f) => Object.freeze(f)));

/** Debian packages of all default fonts. */
export function glyphFontPackages(fonts: readonly GlyphFont[] = GLYPH_FONTS): string[] {
  return [...new Set(fonts.map((f) => f.debianPackage))];
}

/** Look up fonts by id; an unknown id throws with the list of known ids. */
export function glyphFontsById(ids: readonly string[]): GlyphFont[] {
  return ids.map((id) => {
    const f = GLYPH_FONTS.find((g) => g.id === id);
    if (!f) throw new DatasetError(`unknown glyph font '${id}'; known: ${GLYPH_FONTS.map((g) => g.id).join(', ')}`);
    return f;
  });
}

/** Throws, naming the exact install command, when a font file is missing. */
export function assertFontsInstalled(fonts: readonly GlyphFont[]): void {
  const missing = fonts.filter((f) => !fs.existsSync(f.path));
  if (missing.length === 0) return;
  const pkgs = glyphFontPackages(missing);
  throw new DatasetError(`glyph font${missing.length > 1 ? 's' : ''} not found: ${missing.map((f) => f.path).join(', ')}: run ` +
    `\`sudo bash data/setup.sh\` (apt-get install ${pkgs.join(' ')})`);
}

// ---------------------------------------------------------------------------------------------------------
// SFNT (TrueType / OpenType / TrueType Collection) reading

interface TableRecord { offset: number; length: number }

/** Number of faces in a font file buffer (1 for .ttf/.otf, n for a .ttc collection). */
export function sfntFaceCount(buf: Uint8Array, what = 'font'): number {
  if (buf.length < 12) throw new DatasetError(`${what}: too short to be a font file (${buf.length} bytes)`);
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  if (tagAt(buf, 0) === 'ttcf') return dv.getUint32(8, false);
  return 1;
}

function tagAt(buf: Uint8Array, at: number): string {
  return String.fromCharCode(buf[at], buf[at + 1], buf[at + 2], buf[at + 3]);
}

function tableDirectory(buf: Uint8Array, face: number, what: string): Map<string, TableRecord> {
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  let base = 0;
  if (tagAt(buf, 0) === 'ttcf') {
    const n = dv.getUint32(8, false);
    if (face < 0 || face >= n) throw new DatasetError(`${what}: face ${face} out of range (collection has ${n} faces)`);
    base = dv.getUint32(12 + 4 * face, false);
  } else if (face !== 0) {
    throw new DatasetError(`${what}: face ${face} requested from a single-face font`);
  }
  const version = dv.getUint32(base, false);
  const vtag = tagAt(buf, base);
  if (version !== 0x00010000 && vtag !== 'OTTO' && vtag !== 'true') throw new DatasetError(`${what}: not a TrueType/OpenType font (version tag '${vtag}')`);
  const numTables = dv.getUint16(base + 4, false);
  const tables = new Map<string, TableRecord>();
  for (let i = 0; i < numTables; i++) {
    const r = base + 12 + 16 * i;
    const rec = { offset: dv.getUint32(r + 8, false), length: dv.getUint32(r + 12, false) };
    if (rec.offset + rec.length > buf.length) throw new DatasetError(`${what}: table '${tagAt(buf, r)}' extends past the end of the file (truncated font?)`);
    tables.set(tagAt(buf, r), rec);
  }
  return tables;
}

/** Unicode code point -> glyph id from the best Unicode cmap subtable of one face (format 12 preferred, else 4). */
export function readCmap(buf: Uint8Array, face = 0, what = 'font'): Map<number, number> {
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const tables = tableDirectory(buf, face, what);
  const cmap = tables.get('cmap');
  if (!cmap) throw new DatasetError(`${what}: no cmap table`);
  const n = dv.getUint16(cmap.offset + 2, false);
  let best: { score: number; at: number } | null = null;
  for (let i = 0; i < n; i++) {
    const r = cmap.offset + 4 + 8 * i;
    const platform = dv.getUint16(r, false), encoding = dv.getUint16(r + 2, false);
    const at = cmap.offset + dv.getUint32(r + 4, false);
    const format = dv.getUint16(at, false);
    const unicode = platform === 0 || (platform === 3 && (encoding === 1 || encoding === 10));
    if (!unicode || (format !== 4 && format !== 12)) continue;
    const score = format === 12 ? 2 : 1;
    if (!best || score > best.score) best = { score, at };
  }
  if (!best) throw new DatasetError(`${what}: no Unicode cmap subtable of format 4 or 12`);
  const map = new Map<number, number>();
  const at = best.at;
  if (dv.getUint16(at, false) === 12) {
    const groups = dv.getUint32(at + 12, false);
    for (let g = 0; g < groups; g++) {
      const r = at + 16 + 12 * g;
      const start = dv.getUint32(r, false), end = dv.getUint32(r + 4, false), gid = dv.getUint32(r + 8, false);
      for (let c = start; c <= end; c++) map.set(c, gid + (c - start));
    }
  } else {
    const segX2 = dv.getUint16(at + 6, false), seg = segX2 / 2;
    const ends = at + 14, starts = ends + segX2 + 2, deltas = starts + segX2, ranges = deltas + segX2;
    for (let s = 0; s < seg; s++) {
      const end = dv.getUint16(ends + 2 * s, false), start = dv.getUint16(starts + 2 * s, false);
      const delta = dv.getInt16(deltas + 2 * s, false), rangeAt = ranges + 2 * s, range = dv.getUint16(rangeAt, false);
      for (let c = start; c <= end && c !== 0xffff; c++) {
        let gid: number;
        if (range === 0) gid = (c + delta) & 0xffff;
        else {
          const g = dv.getUint16(rangeAt + range + 2 * (c - start), false);
          gid = g === 0 ? 0 : (g + delta) & 0xffff;
        }
        map.set(c, gid);
      }
    }
  }
  return map;
}

/**
 * Code points one face can really draw: mapped by the cmap to a glyph id in [1, numGlyphs) whose outline is
 * non-empty (TrueType `glyf` fonts; for CFF fonts the cmap test alone is used).
 */
export function faceCoverage(buf: Uint8Array, face = 0, what = 'font'): Set<number> {
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const tables = tableDirectory(buf, face, what);
  const maxp = tables.get('maxp');
  if (!maxp) throw new DatasetError(`${what}: no maxp table`);
  const numGlyphs = dv.getUint16(maxp.offset + 4, false);
  const head = tables.get('head'), loca = tables.get('loca'), glyf = tables.get('glyf');
  let glyphLength: ((gid: number) => number) | null = null;
  if (head && loca && glyf) {
    const long = dv.getInt16(head.offset + 50, false) === 1;
    glyphLength = long
      ? (g) => dv.getUint32(loca.offset + 4 * (g + 1), false) - dv.getUint32(loca.offset + 4 * g, false)
      : (g) => 2 * (dv.getUint16(loca.offset + 2 * (g + 1), false) - dv.getUint16(loca.offset + 2 * g, false));
  }
  const out = new Set<number>();
  for (const [c, gid] of readCmap(buf, face, what)) {
    if (gid <= 0 || gid >= numGlyphs) continue;
    if (glyphLength && glyphLength(gid) <= 0) continue;
    out.add(c);
  }
  return out;
}

/** Code points drawable by every face of a font file (intersection over the faces of a collection). */
export function fontFileCoverage(buf: Uint8Array, what = 'font'): Set<number> {
  const n = sfntFaceCount(buf, what);
  let cov = faceCoverage(buf, 0, what);
  for (let f = 1; f < n; f++) {
    const other = faceCoverage(buf, f, what);
    cov = new Set([...cov].filter((c) => other.has(c)));
  }
  return cov;
}

const coverageMemo = new Map<string, { mtimeMs: number; size: number; cov: Set<number> }>();

/** Coverage of a font file on disk (memoised per path, size and modification time). */
export function fontCoverage(font: GlyphFont): Set<number> {
  assertFontsInstalled([font]);
  const st = fs.statSync(font.path);
  const m = coverageMemo.get(font.path);
  if (m && m.mtimeMs === st.mtimeMs && m.size === st.size) return m.cov;
  const cov = fontFileCoverage(fs.readFileSync(font.path), font.path);
  coverageMemo.set(font.path, { mtimeMs: st.mtimeMs, size: st.size, cov });
  return cov;
}

/** The CJK Unified Ideographs block, U+4E00..U+9FFF: where the glyph identities are taken from. */
export const CJK_BLOCK: readonly [number, number] = [0x4e00, 0x9fff];

/** Code points in [lo, hi] that every font can draw, sorted ascending. */
export function commonCoverage(fonts: readonly GlyphFont[], range: readonly [number, number] = CJK_BLOCK,
  coverageOf: (f: GlyphFont) => Set<number> = fontCoverage): number[] {
  if (fonts.length === 0) throw new DatasetError('commonCoverage: no fonts given');
  const covs = fonts.map(coverageOf);
  const out: number[] = [];
  for (let c = range[0]; c <= range[1]; c++) if (covs.every((s) => s.has(c))) out.push(c);
  return out;
}

/**
 * Throws unless every font can draw every code point; the message lists, per font, the missing characters
 * (at most 10 shown).
 */
export function checkCoverage(fonts: readonly GlyphFont[], codePoints: readonly number[],
  coverageOf: (f: GlyphFont) => Set<number> = fontCoverage): void {
  const problems: string[] = [];
  for (const f of fonts) {
    const cov = coverageOf(f);
    const missing = codePoints.filter((c) => !cov.has(c));
    if (missing.length > 0) {
      const shown = missing.slice(0, 10).map((c) => `${String.fromCodePoint(c)} (U+${c.toString(16).toUpperCase().padStart(4, '0')})`);
      problems.push(`${f.id} (${f.path}) lacks ${missing.length} character${missing.length > 1 ? 's' : ''}: ${shown.join(', ')}` +
        (missing.length > 10 ? ', ...' : ''));
    }
  }
  if (problems.length) throw new DatasetError(`font coverage check failed: ${problems.join('; ')}`);
}
