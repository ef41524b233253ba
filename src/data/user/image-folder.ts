/**
 * `image-folder`: train on the user's own `root/<identity>/<image>` folder (CASIA-WebFace, VGGFace2, LFW-style or
 * hand-made sets). The layout rules are the readers' (src/data/readers/image-folder.ts): every sub-folder is an
 * identity, sorted by name; images are `.jpg`, `.jpeg`, `.png` files (any case; the content is sniffed), sorted by
 * name; hidden entries, other files and deeper folders are ignored and counted; symbolic links are followed.
 * {@link scanImageFolderSync} is the synchronous twin of the readers' `scanImageFolder` (same result, same
 * errors): registered datasets are built synchronously (see common.ts).
 *
 * Options (see {@link UserDatasetOptions}): `path` (required), `size` (32), `channels` (3), `testIdentities` (0.2),
 * `minImagesPerIdentity` (2), `maxImages` (200000), `seed` (0), `pairsPerFold` (auto, <= 300),
 * `unknownFraction` (0.3), `stream` ('auto'). The build is common.ts's {@link buildUserBenchmark}; a streamed
 * training set reads each image file again when a batch needs it.
 */
import * as fs from 'fs';
import * as path from 'path';
import { DataNotFoundError, ImageDecodeError } from '../readers/errors';
import { IMAGE_EXTENSIONS, isImageFileName } from '../readers/image-folder';
import type { ImageFolderIndex } from '../readers/image-folder';
import { stderrLog } from '../readers/stream';
import type { LogFn } from '../readers/stream';
import { registerDataset } from '../registry';
import type { FaceBenchmark } from '../types';
import { buildUserBenchmark } from './build';
import { resolveUserDatasetOptions, type UserDatasetOptions, type UserLoadOptions } from './options';

const byName = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

function kindOfSync(dir: string, e: fs.Dirent): 'dir' | 'file' | 'other' {
  if (e.isDirectory()) return 'dir';
  if (e.isFile()) return 'file';
  if (e.isSymbolicLink()) {
    try {
      const st = fs.statSync(path.join(dir, e.name));
      return st.isDirectory() ? 'dir' : st.isFile() ? 'file' : 'other';
    } catch {
      return 'other';
    }
  }
  return 'other';
}

/**
 * Synchronous {@link ImageFolderIndex} of `root` (the readers' `scanImageFolder` rules and errors), logging
 * `"<root>: K identities, N images (M other entries ignored)"` unless `log` is null.
 * @throws DataNotFoundError if `root` is missing, not a folder, or holds no image.
 */
export function scanImageFolderSync(root: string, log: LogFn | null = stderrLog): ImageFolderIndex {
  let top: fs.Dirent[];
  try {
    top = fs.readdirSync(root, { withFileTypes: true });
  } catch (e) {
    const code = (e as { code?: unknown }).code;
    if (code === 'ENOENT') throw new DataNotFoundError(root, 'no such folder');
    if (code === 'ENOTDIR') throw new DataNotFoundError(root, 'is a file, expected a folder of identity folders');
    throw e;
  }
  top.sort((a, b) => byName(a.name, b.name));
  let ignored = 0;
  const dirs: string[] = [];
  for (const e of top) {
    if (!e.name.startsWith('.') && kindOfSync(root, e) === 'dir') dirs.push(e.name);
    else ignored++;
  }
  const identities: string[] = [], emptyIdentities: string[] = [], files: string[] = [], labels: number[] = [];
  for (const d of dirs) {
    const dir = path.join(root, d);
    const names: string[] = [];
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      if (isImageFileName(e.name) && kindOfSync(dir, e) === 'file') names.push(e.name);
      else ignored++;
    }
    if (names.length === 0) { emptyIdentities.push(d); continue; }
    names.sort(byName);
    const label = identities.length;
    identities.push(d);
    for (const f of names) { files.push(path.join(dir, f)); labels.push(label); }
  }
  if (files.length === 0) {
    throw new DataNotFoundError(root, `no images found (expected ${path.join(root, '<identity>', '<image>')}` +
      ` with extension ${IMAGE_EXTENSIONS.join(', ')}; found ${dirs.length} sub-folders and ${ignored} other entries)`);
  }
  if (log) {
    const n = emptyIdentities.length;
    const empty = n ? `, ${n} empty identity folder${n === 1 ? '' : 's'}` : '';
    log(`${root}: ${identities.length} identities, ${files.length} images (${ignored} other entries ignored${empty})`);
  }
  return { root, identities, files, labels: Int32Array.from(labels), emptyIdentities, ignored };
}

/** Reads one image file; a read failure skips the image (as the readers do). */
function readImageFileSync(file: string): Uint8Array {
  try {
    return fs.readFileSync(file);
  } catch (e) {
    const code = (e as { code?: unknown }).code;
    throw new ImageDecodeError(file, `cannot read file${typeof code === 'string' ? ` (${code})` : ''}`);
  }
}

/**
 * Builds the `image-folder` benchmark (see the file comment and common.ts).
 * @throws UserDatasetError for bad options, too few identities, the memory guard; DataNotFoundError for a missing
 *   or image-less folder.
 */
export function createImageFolderBenchmark(opts: UserDatasetOptions | Record<string, unknown> = {}, load: UserLoadOptions = {}): FaceBenchmark {
  const r = resolveUserDatasetOptions('image-folder', opts);
  const log = load.log === undefined ? stderrLog : load.log;
  const t0 = Date.now();
  const index = scanImageFolderSync(r.path, log);
  const scanMs = Date.now() - t0;
  const groups: number[][] = index.identities.map(() => []);
  index.labels.forEach((l, i) => groups[l].push(i));
  return buildUserBenchmark('image-folder', {
    name: r.path,
    identities: index.identities,
    groups,
    count: index.files.length,
    source: (i) => index.files[i],
    read: (i) => readImageFileSync(index.files[i]),
    streamItems: (items) => {
      // a streamed training set reads its files again for every batch: keep their paths only
      const files = Array.from(items, (i) => index.files[i]);
      return { read: (k) => readImageFileSync(files[k]), source: (k) => files[k], where: (k) => ({ file: files[k] }) };
    },
    emptyIdentities: index.emptyIdentities,
    describe: { format: 'image folder (<identity>/<image>)', ignoredEntries: index.ignored, emptyIdentityFolders: index.emptyIdentities.length },
  }, r, { ...load, log }, { scanMs });
}

registerDataset('image-folder', {
  description: "the user's own face images, <path>/<identity>/<image> (options.path); held-out identities for evaluation",
  resolveOptions: (opts) => ({ ...resolveUserDatasetOptions('image-folder', opts ?? {}) }),
  create: (opts) => createImageFolderBenchmark(opts ?? {}),
});
