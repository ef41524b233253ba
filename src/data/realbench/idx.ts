/**
 * Reader of the IDX format of MNIST and Fashion-MNIST (http://yann.lecun.com/exdb/mnist/, "FILE FORMATS"):
 * a big-endian header `0x00 0x00 <type> <ndims>`, then `ndims` uint32 dimension sizes, then the values in
 * row-major order. Only the unsigned-byte type (0x08) is used by these datasets; the other IDX types are
 * recognised and rejected with a clear message. Gzipped files (`.gz`, or any buffer starting with the gzip
 * magic 1f 8b) are inflated with Node's zlib first.
 */
import * as fs from 'fs';
import * as path from 'path';
import * as zlib from 'zlib';
import { DatasetError } from '../errors';

/** A parsed IDX array of unsigned bytes. */
export interface IdxArray {
  /** Dimension sizes, e.g. [60000, 28, 28] for an images file, [60000] for a labels file. */
  shape: number[];
  /** The values, row-major (a view into the file buffer, no copy). */
  data: Uint8Array;
}

const IDX_TYPES: Record<number, string> = {
  0x08: 'unsigned byte', 0x09: 'signed byte', 0x0b: 'int16', 0x0c: 'int32', 0x0d: 'float32', 0x0e: 'float64',
};

function hex(b: number): string {
  return '0x' + b.toString(16).padStart(2, '0');
}

/** True when `buf` starts with the gzip magic bytes 1f 8b. */
export function isGzip(buf: Uint8Array): boolean {
  return buf.length >= 2 && buf[0] === 0x1f && buf[1] === 0x8b;
}

/**
 * Parse an IDX buffer (gzipped or not). `what` names the source in error messages (e.g. the file path).
 * Throws on a bad magic number, an unsupported element type, a truncated header or truncated data, or (unless
 * `allowTrailing`) bytes after the data.
 */
export function parseIdx(buf: Uint8Array, what = 'IDX buffer', allowTrailing = false): IdxArray {
  let b = buf;
  if (isGzip(b)) {
    try {
      b = zlib.gunzipSync(b);
    } catch (e) {
      throw new DatasetError(`${what}: gzip data is corrupt or truncated (${(e as Error).message})`);
    }
  }
  if (b.length < 4) throw new DatasetError(`${what}: truncated IDX header: ${b.length} bytes, need at least 4`);
  if (b[0] !== 0 || b[1] !== 0) {
    throw new DatasetError(`${what}: bad IDX magic number: first bytes are ${hex(b[0])} ${hex(b[1])}, expected 0x00 0x00 ` +
      '(is this an IDX file of MNIST/Fashion-MNIST?)');
  }
  const type = b[2], ndims = b[3];
  if (!(type in IDX_TYPES)) throw new DatasetError(`${what}: bad IDX magic number: unknown element type ${hex(type)}`);
  if (type !== 0x08) throw new DatasetError(`${what}: IDX element type ${hex(type)} (${IDX_TYPES[type]}) is not supported; only 0x08 (unsigned byte)`);
  if (ndims < 1) throw new DatasetError(`${what}: IDX header declares 0 dimensions`);
  const headerLen = 4 + 4 * ndims;
  if (b.length < headerLen) throw new DatasetError(`${what}: truncated IDX header: ${b.length} bytes, the ${ndims} dimension sizes need ${headerLen}`);
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const shape: number[] = [];
  let size = 1;
  for (let i = 0; i < ndims; i++) {
    const d = dv.getUint32(4 + 4 * i, false);
    shape.push(d);
    size *= d;
  }
  if (b.length - headerLen < size) {
    throw new DatasetError(`${what}: truncated IDX data: shape [${shape.join(', ')}] needs ${size} bytes after the ${headerLen}-byte header, ` +
      `found ${b.length - headerLen}`);
  }
  if (!allowTrailing && b.length - headerLen > size) {
    throw new DatasetError(`${what}: ${b.length - headerLen - size} unexpected bytes after the IDX data of shape [${shape.join(', ')}]`);
  }
  return { shape, data: b.subarray(headerLen, headerLen + size) };
}

/** Read and parse an IDX file (`.gz` or raw). A missing file throws with the path. */
export function readIdxFile(file: string): IdxArray {
  if (!fs.existsSync(file)) throw new DatasetError(`IDX file not found: ${file}`);
  return parseIdx(fs.readFileSync(file), file);
}

/** Build an IDX unsigned-byte buffer (for tests and for writing small fixtures). */
export function encodeIdx(shape: number[], data: Uint8Array): Uint8Array {
  const size = shape.reduce((a, b) => a * b, 1);
  if (data.length !== size) throw new DatasetError(`encodeIdx: data has ${data.length} values, shape [${shape.join(', ')}] needs ${size}`);
  const out = new Uint8Array(4 + 4 * shape.length + size);
  const dv = new DataView(out.buffer);
  out[2] = 0x08;
  out[3] = shape.length;
  shape.forEach((d, i) => dv.setUint32(4 + 4 * i, d, false));
  out.set(data, 4 + 4 * shape.length);
  return out;
}

/** An images file + labels file pair, checked for consistency. */
export interface IdxImages {
  /** count * rows * cols bytes, 0 = background. */
  pixels: Uint8Array;
  labels: Uint8Array;
  count: number;
  rows: number;
  cols: number;
}

/** Read an images file ([N, rows, cols]) and its labels file ([N]); shapes must agree. */
export function readIdxImages(imagesFile: string, labelsFile: string): IdxImages {
  const img = readIdxFile(imagesFile);
  const lab = readIdxFile(labelsFile);
  if (img.shape.length !== 3) throw new DatasetError(`${imagesFile}: expected a 3-dimensional images array [N, rows, cols], got shape [${img.shape.join(', ')}]`);
  if (lab.shape.length !== 1) throw new DatasetError(`${labelsFile}: expected a 1-dimensional labels array [N], got shape [${lab.shape.join(', ')}]`);
  if (img.shape[0] !== lab.shape[0]) {
    throw new DatasetError(`${imagesFile} has ${img.shape[0]} images but ${labelsFile} has ${lab.shape[0]} labels`);
  }
  return { pixels: img.data, labels: lab.data, count: img.shape[0], rows: img.shape[1], cols: img.shape[2] };
}

/** The standard MNIST-style file names (without `.gz`). */
export const IDX_FILE_NAMES = Object.freeze({
  trainImages: 'train-images-idx3-ubyte',
  trainLabels: 'train-labels-idx1-ubyte',
  testImages: 't10k-images-idx3-ubyte',
  testLabels: 't10k-labels-idx1-ubyte',
});

/** `dir/base` if it exists, else `dir/base.gz` if it exists, else null. */
export function locateIdxFile(dir: string, base: string): string | null {
  for (const f of [path.join(dir, base), path.join(dir, `${base}.gz`)]) if (fs.existsSync(f)) return f;
  return null;
}

/** Training and test files of an MNIST-style dataset folder. */
export interface IdxDataset {
  train: IdxImages;
  test: IdxImages;
  /** The four files read. */
  files: string[];
  /** Milliseconds spent reading and inflating (0 when served from memory). */
  loadMs: number;
}

const datasetMemo = new Map<string, { stamp: string; data: IdxDataset }>();

/**
 * Read the four standard IDX files of `dir` (raw or .gz). Parsed data stay in memory (keyed by the files'
 * paths, sizes and modification times), so building several partitions reads the files once.
 * `missing(dir, absent)` makes the error thrown when files are absent (it should say what to install).
 */
export function loadIdxDataset(dir: string, missing: (dir: string, absent: string[]) => Error): IdxDataset {
  const names = Object.values(IDX_FILE_NAMES);
  const files = names.map((n) => locateIdxFile(dir, n));
  const absent = names.filter((_, i) => files[i] === null).map((n) => `${n}[.gz]`);
  if (absent.length) throw missing(dir, absent);
  const paths = files as string[];
  const stamp = paths.map((f) => { const s = fs.statSync(f); return `${f}:${s.size}:${s.mtimeMs}`; }).join('|');
  const memo = datasetMemo.get(dir);
  if (memo && memo.stamp === stamp) return { ...memo.data, loadMs: 0 };
  const t0 = Date.now();
  const data: IdxDataset = {
    train: readIdxImages(paths[0], paths[1]),
    test: readIdxImages(paths[2], paths[3]),
    files: paths,
    loadMs: 0,
  };
  data.loadMs = Date.now() - t0;
  datasetMemo.set(dir, { stamp, data });
  return data;
}

/** Drop the parsed IDX datasets held in memory by `loadIdxDataset`. */
export function clearIdxDatasetMemo(): void {
  datasetMemo.clear();
}
