/**
 * LFW `pairs.txt` (View 2; also `pairsDevTrain.txt` / `pairsDevTest.txt` of View 1) over an LFW image folder.
 *
 * Format (text, fields separated by tabs or spaces, one pair per line):
 * - Line 1, header: `<folds>\t<P>` (pairs.txt: `10\t300`), or a single `<P>` meaning one fold (the View 1 files).
 * - Then, for each fold, P "same" lines `name\tn1\tn2` (images n1 and n2 of `name`) followed by P "different" lines
 *   `name1\tn1\tname2\tn2`: `folds * 2P` pair lines in all. Image numbers are 1-based.
 * - Image `n` of `name` is the file `<root>/<name>/<name>_<nnnn>.<ext>` (n zero-padded to 4 digits; `ext` default
 *   `jpg`, option `extension`).
 * Blank lines are ignored (line numbers in errors count them). Any deviation (bad header, a line with other than 3
 * or 4 fields, a non-positive image number, a fold whose same/different counts differ from the header, too many or
 * too few lines) is a {@link DataFormatError} naming the file and line; an image named by a line but missing on
 * disk is a {@link DataNotFoundError} naming the line and the path.
 *
 * Output: the distinct images in order of first appearance (each image once, even when several pairs use it),
 * labelled by identity (names sorted, labels 0..K-1 index `identities`), and pairs in the file's order with
 * fold k = the k-th block of 2P lines (the LFW folds).
 */
import * as fs from 'fs';
import * as path from 'path';
import type { VerificationPairs } from '../types';
import { DataFormatError, DataNotFoundError, ImageDecodeError, isNotFound } from './errors';
import { ImageStream, ItemSource, StreamOptions } from './stream';
import { VerificationSet, VerificationSource } from './verification-set';

/** Default image file extension of LFW. */
export const DEFAULT_LFW_EXTENSION = 'jpg';

/** Options of {@link openLfwPairs}. */
export interface LfwPairsOptions extends StreamOptions {
  /** Image file extension without the dot. Default {@link DEFAULT_LFW_EXTENSION} (`jpg`). */
  extension?: string;
}

/** One parsed line of pairs.txt. */
export interface LfwPair {
  name1: string;
  n1: number;
  name2: string;
  n2: number;
  same: boolean;
  /** 1-based line number. */
  line: number;
}

/** A parsed pairs.txt. */
export interface LfwPairsFile {
  folds: number;
  pairsPerFold: number;
  pairs: LfwPair[];
}

/** Path of image `n` of `name`: `<root>/<name>/<name>_<nnnn>.<ext>`. */
export function lfwImagePath(root: string, name: string, n: number, extension = DEFAULT_LFW_EXTENSION): string {
  return path.join(root, name, `${name}_${String(n).padStart(4, '0')}.${extension}`);
}

/**
 * Parses pairs.txt text (see the file comment).
 * @throws DataFormatError naming `file` and the line.
 */
export function parseLfwPairs(text: string, file: string): LfwPairsFile {
  const lines = text.split(/\r?\n/);
  let i = 0;
  while (i < lines.length && lines[i].trim() === '') i++;
  if (i === lines.length) throw new DataFormatError(file, 'file is empty (expected a header line "<folds>\\t<pairs per fold>")');
  const headerLine = i + 1;
  const head = lines[i].trim().split(/\s+/);
  const nums = head.map(Number);
  if (head.length < 1 || head.length > 2 || !nums.every((v) => Number.isInteger(v) && v > 0)) {
    throw new DataFormatError(file, `expected a header "<folds>\\t<pairs per fold>" (or "<pairs>"), got ${JSON.stringify(lines[i].trim())}`, { line: headerLine });
  }
  const [folds, P] = head.length === 2 ? [nums[0], nums[1]] : [1, nums[0]];
  const expected = folds * 2 * P;
  const pairs: LfwPair[] = [];
  const num = (s: string, line: number): number => {
    if (!/^\d+$/.test(s) || Number(s) < 1) throw new DataFormatError(file, `image number ${JSON.stringify(s)} is not a positive integer`, { line });
    return Number(s);
  };
  for (i++; i < lines.length; i++) {
    const raw = lines[i].trim();
    if (raw === '') continue;
    const line = i + 1;
    if (pairs.length === expected) {
      throw new DataFormatError(file, `more pair lines than the header's ${folds} folds x 2 x ${P} = ${expected}`, { line });
    }
    const f = raw.split(/\s+/);
    let p: LfwPair;
    if (f.length === 3) p = { name1: f[0], n1: num(f[1], line), name2: f[0], n2: num(f[2], line), same: true, line };
    else if (f.length === 4) p = { name1: f[0], n1: num(f[1], line), name2: f[2], n2: num(f[3], line), same: false, line };
    else {
      throw new DataFormatError(file, `expected 3 fields (name n1 n2) or 4 fields (name1 n1 name2 n2), got ${f.length}`, { line });
    }
    const k = pairs.length, fold = Math.floor(k / (2 * P)), inFold = k % (2 * P);
    const wantSame = inFold < P;
    if (p.same !== wantSame) {
      throw new DataFormatError(file, `fold ${fold + 1} should have ${P} same pairs then ${P} different pairs (header ${folds} x ${P}), ` +
        `but its pair ${inFold + 1} is a ${p.same ? 'same' : 'different'} pair`, { line });
    }
    pairs.push(p);
  }
  if (pairs.length !== expected) {
    const last = pairs.length ? pairs[pairs.length - 1].line : headerLine;
    throw new DataFormatError(file, `the header promises ${folds} folds x 2 x ${P} = ${expected} pair lines, but the file ends after ${pairs.length}`, { line: last });
  }
  return { folds, pairsPerFold: P, pairs };
}

/**
 * Reads `pairsFile`, checks that every image it names exists under `root`, and returns the pairs and a stream over
 * the distinct images.
 * @throws DataNotFoundError for a missing pairs file, root or image; DataFormatError for a malformed pairs file.
 */
export async function openLfwPairs(pairsFile: string, root: string, opts: LfwPairsOptions = {}): Promise<VerificationSource> {
  let text: string;
  try {
    text = await fs.promises.readFile(pairsFile, 'utf8');
  } catch (e) {
    if (isNotFound(e)) throw new DataNotFoundError(pairsFile, 'no such file');
    throw e;
  }
  const parsed = parseLfwPairs(text, pairsFile);
  try {
    if (!(await fs.promises.stat(root)).isDirectory()) throw new DataNotFoundError(root, 'is not a folder (expected the LFW image folder)');
  } catch (e) {
    if (isNotFound(e)) throw new DataNotFoundError(root, 'no such folder (expected the LFW image folder)');
    throw e;
  }
  const ext = opts.extension ?? DEFAULT_LFW_EXTENSION;
  const index = new Map<string, number>();
  const files: string[] = [], names: string[] = [], firstLine: number[] = [];
  const n = parsed.pairs.length;
  const pairs: VerificationPairs = { left: new Int32Array(n), right: new Int32Array(n), isSame: new Uint8Array(n), fold: new Int32Array(n) };
  const imageIndex = (name: string, num: number, line: number): number => {
    const p = lfwImagePath(root, name, num, ext);
    let k = index.get(p);
    if (k === undefined) {
      k = files.length;
      index.set(p, k);
      files.push(p);
      names.push(name);
      firstLine.push(line);
    }
    return k;
  };
  parsed.pairs.forEach((p, k) => {
    pairs.left[k] = imageIndex(p.name1, p.n1, p.line);
    pairs.right[k] = imageIndex(p.name2, p.n2, p.line);
    pairs.isSame[k] = p.same ? 1 : 0;
    pairs.fold[k] = Math.floor(k / (2 * parsed.pairsPerFold));
  });
  // every named image must exist (a missing one is a setup error, not a corrupt image)
  const missing: number[] = [];
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < files.length) {
      const k = next++;
      try {
        await fs.promises.access(files[k], fs.constants.F_OK);
      } catch {
        missing.push(k);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(16, files.length) }, worker));
  if (missing.length > 0) {
    missing.sort((a, b) => a - b);
    const k = missing[0];
    const more = missing.length > 1 ? ` (and ${missing.length - 1} more missing images)` : '';
    throw new DataNotFoundError(pairsFile, `image ${files[k]} does not exist${more}`, { line: firstLine[k] });
  }
  const identities = [...new Set(names)].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const labelOf = new Map(identities.map((name, i) => [name, i]));
  const labels = Int32Array.from(names, (name) => labelOf.get(name) as number);
  const open = async (): Promise<ItemSource> => ({
    count: files.length,
    source: (i) => files[i],
    load: async (i) => {
      try {
        return { bytes: await fs.promises.readFile(files[i]), label: labels[i] };
      } catch (e) {
        const code = (e as { code?: unknown }).code;
        throw new ImageDecodeError(files[i], `cannot read file${typeof code === 'string' ? ` (${code})` : ''}`);
      }
    },
  });
  return new VerificationSource(pairsFile, pairs, identities, new ImageStream(pairsFile, files.length, open, opts));
}

/** {@link openLfwPairs} then `load()`: all images decoded into one {@link VerificationSet}. */
export async function readLfwPairs(pairsFile: string, root: string, opts: LfwPairsOptions = {}): Promise<VerificationSet> {
  return (await openLfwPairs(pairsFile, root, opts)).load();
}
