/**
 * Image folders: `root/<identity>/<image>`, the layout of CASIA-WebFace, VGGFace2, LFW and most hand-made sets.
 *
 * Layout rules
 * - Every sub-folder of `root` is an identity; its name is the identity name. Identities are sorted by name
 *   (UTF-16 code-unit order, as Python's `sorted`) and labelled 0..K-1 in that order. Sub-folders without any
 *   image get no label (listed in `emptyIdentities`).
 * - Images are the files in an identity folder whose name ends in `.jpg`, `.jpeg` or `.png`, in any letter case
 *   (the content is sniffed anyway: a PNG named `.jpg` decodes fine). They are sorted by name. Hidden entries
 *   (name starting with `.`), other files, files directly in `root` and deeper folders are ignored and counted.
 *   Symbolic links are followed.
 * - A missing `root` or one without any image is a {@link DataNotFoundError}.
 *
 * Reading: {@link scanImageFolder} lists the files (no image is opened); {@link imageFolderStream} streams them in
 * batches (identity by identity, files in order; see stream.ts for batching, prefetch, progress); a corrupt,
 * truncated or unreadable image is skipped, counted and listed in the stream's summary. {@link loadImageFolder}
 * reads everything into one {@link ImageSet} (for small evaluation sets). Output geometry and normalisation are
 * decode.ts's: short-side bilinear resize to `size`, centre crop, optional flip, `((x / 255) - 0.5) / 0.5`.
 */
import * as fs from 'fs';
import * as path from 'path';
import type { ImageSet } from '../types';
import { DataNotFoundError, ImageDecodeError, isNotFound } from './errors';
import { ImageStream, ItemSource, LogFn, ReadSummary, stderrLog, StreamOptions } from './stream';

/** File name endings taken as images (compared case-insensitively). */
export const IMAGE_EXTENSIONS: readonly string[] = ['.jpg', '.jpeg', '.png'];
/** Identity folders listed concurrently while scanning. */
const SCAN_CONCURRENCY = 16;

/** The files of an image folder, before any is opened. */
export interface ImageFolderIndex {
  root: string;
  /** Identity names, sorted; label `i` is `identities[i]`. */
  identities: string[];
  /** Image paths (`root/<identity>/<file>`), grouped by identity in label order, files sorted by name. */
  files: string[];
  /** Label of each file. */
  labels: Int32Array;
  /** Sub-folders holding no image (not labelled). */
  emptyIdentities: string[];
  /** Entries that are neither identity folders nor images (other files, hidden files, nested folders). */
  ignored: number;
}

/** Options of {@link scanImageFolder}. */
export interface ScanOptions {
  /** Sink for the one-line scan report; `null` for silence. Default standard error. */
  log?: LogFn | null;
}

/** Whether `name` has an image extension (case-insensitive). */
export function isImageFileName(name: string): boolean {
  const lower = name.toLowerCase();
  return !name.startsWith('.') && IMAGE_EXTENSIONS.some((e) => lower.endsWith(e) && lower.length > e.length);
}

const byName = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

async function kindOf(dir: string, e: fs.Dirent): Promise<'dir' | 'file' | 'other'> {
  if (e.isDirectory()) return 'dir';
  if (e.isFile()) return 'file';
  if (e.isSymbolicLink()) {
    try {
      const st = await fs.promises.stat(path.join(dir, e.name));
      return st.isDirectory() ? 'dir' : st.isFile() ? 'file' : 'other';
    } catch {
      return 'other';
    }
  }
  return 'other';
}

/**
 * Lists the identities and images under `root` (see the file comment) and logs
 * `"<root>: K identities, N images (M other entries ignored)"`.
 * @throws DataNotFoundError if `root` is missing, not a folder, or holds no image.
 */
export async function scanImageFolder(root: string, opts: ScanOptions = {}): Promise<ImageFolderIndex> {
  const log = opts.log === undefined ? stderrLog : opts.log;
  let top: fs.Dirent[];
  try {
    top = await fs.promises.readdir(root, { withFileTypes: true });
  } catch (e) {
    if (isNotFound(e)) throw new DataNotFoundError(root, 'no such folder');
    if ((e as { code?: unknown }).code === 'ENOTDIR') throw new DataNotFoundError(root, 'is a file, expected a folder of identity folders');
    throw e;
  }
  top.sort((a, b) => byName(a.name, b.name));
  let ignored = 0;
  const dirs: string[] = [];
  for (const e of top) {
    if (!e.name.startsWith('.') && (await kindOf(root, e)) === 'dir') dirs.push(e.name);
    else ignored++;
  }
  const perDir: string[][] = new Array(dirs.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < dirs.length) {
      const k = next++;
      const dir = path.join(root, dirs[k]);
      const entries = await fs.promises.readdir(dir, { withFileTypes: true });
      const names: string[] = [];
      for (const e of entries) {
        if (isImageFileName(e.name) && (await kindOf(dir, e)) === 'file') names.push(e.name);
        else ignored++;
      }
      perDir[k] = names.sort(byName);
    }
  };
  await Promise.all(Array.from({ length: Math.min(SCAN_CONCURRENCY, dirs.length) }, worker));
  const identities: string[] = [], emptyIdentities: string[] = [], files: string[] = [], labels: number[] = [];
  dirs.forEach((d, k) => {
    if (perDir[k].length === 0) { emptyIdentities.push(d); return; }
    const label = identities.length;
    identities.push(d);
    for (const f of perDir[k]) { files.push(path.join(root, d, f)); labels.push(label); }
  });
  if (files.length === 0) {
    throw new DataNotFoundError(root, `no images found (expected ${path.join(root, '<identity>', '<image>')}` +
      ` with extension ${IMAGE_EXTENSIONS.join(', ')}; found ${dirs.length} sub-folders and ${ignored} other entries)`);
  }
  const index: ImageFolderIndex = { root, identities, files, labels: Int32Array.from(labels), emptyIdentities, ignored };
  if (log) {
    const e = emptyIdentities.length;
    const empty = e ? `, ${e} empty identity folder${e === 1 ? '' : 's'}` : '';
    log(`${root}: ${identities.length} identities, ${files.length} images (${ignored} other entries ignored${empty})`);
  }
  return index;
}

/** Reads one image file; a read failure is an {@link ImageDecodeError} (the image is skipped). */
async function readImageFile(file: string): Promise<Uint8Array> {
  try {
    return await fs.promises.readFile(file);
  } catch (e) {
    const code = (e as { code?: unknown }).code;
    throw new ImageDecodeError(file, `cannot read file${typeof code === 'string' ? ` (${code})` : ''}`);
  }
}

/** Streams the images of a scanned folder in batches, labelled by identity (see stream.ts for options). */
export function imageFolderStream(index: ImageFolderIndex, opts: StreamOptions = {}): ImageStream {
  const { files, labels } = index;
  const open = async (): Promise<ItemSource> => ({
    count: files.length,
    source: (i) => files[i],
    load: async (i) => ({ bytes: await readImageFile(files[i]), label: labels[i] }),
  });
  return new ImageStream(index.root, files.length, open, opts);
}

/** {@link scanImageFolder} + {@link imageFolderStream}. */
export async function openImageFolder(root: string, opts: StreamOptions = {}): Promise<{ index: ImageFolderIndex; stream: ImageStream }> {
  const index = await scanImageFolder(root, { log: opts.log });
  return { index, stream: imageFolderStream(index, opts) };
}

/** A folder loaded into memory. */
export interface LoadedImageFolder {
  /** The decoded images; `labels` index into `identities`. */
  set: ImageSet;
  identities: string[];
  /** Number of identities (labels are 0..numClasses-1). */
  numClasses: number;
  /** Path of each image in `set`. */
  sources: string[];
  /** Images read and skipped. */
  summary: ReadSummary;
}

/** Scans and decodes a whole folder into one {@link ImageSet} (for small evaluation sets). */
export async function loadImageFolder(root: string, opts: StreamOptions = {}): Promise<LoadedImageFolder> {
  const { index, stream } = await openImageFolder(root, opts);
  const { set, sources, summary } = await stream.collect();
  return { set, identities: index.identities, numClasses: index.identities.length, sources, summary };
}
