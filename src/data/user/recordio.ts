/**
 * `recordio`: train on an insightface training set in MXNet RecordIO (`train.rec` + `train.idx` beside it), e.g.
 * CASIA-WebFace or MS1M as distributed by insightface. The container format and the insightface layout are
 * documented in src/data/readers/recordio.ts; {@link RecordIOFileSync} is a synchronous reader of the same format
 * with the same rules and errors (registered datasets are built synchronously, see common.ts): the idx is parsed,
 * record 0 decides the layout (header record `[A, B]`: images are records 1..A-1; no header: every idx record is
 * an image), and an image's identity is its record's label (the first extra label when the record packs a label
 * vector). Identities are the distinct labels, in increasing order; their names are the labels.
 *
 * Labels are read first from the records' headers only (a few bytes per record), so identities are filtered,
 * held out and checked against the memory guard before any image is decoded. A corrupt image in a well-formed
 * record is skipped and counted; a broken container (bad magic, truncated record) is a DataFormatError naming
 * the file and byte offset.
 *
 * Options: as `image-folder` (common.ts), `path` being the .rec file. A streamed training set (option `stream`)
 * re-reads its records at their idx offsets for every batch (the .rec is opened per read).
 */
import * as fs from 'fs';
import * as path from 'path';
import { DataFormatError, DataNotFoundError } from '../readers/errors';
import { checkPartHeaderFits, decodePartHeader, IR_HEADER_BYTES, joinRecordParts, parseImageRecord, recordLabel } from '../readers/recordio';
import type { IRHeader, RecordIOLayout } from '../readers/recordio';
import { stderrLog } from '../readers/stream';
import { registerDataset } from '../registry';
import type { FaceBenchmark } from '../types';
import { buildUserBenchmark } from './build';
import { resolveUserDatasetOptions, type UserDatasetOptions, type UserLoadOptions } from './options';
import type { UserItemReader } from './source';

/** Largest identity label / record id accepted (as the readers). */
const MAX_LABEL = 0x7fffffff;

function readAtSync(fd: number, length: number, position: number): Uint8Array {
  const out = new Uint8Array(length);
  let got = 0;
  while (got < length) {
    const n = fs.readSync(fd, out, got, length - got, position + got);
    if (n === 0) break;
    got += n;
  }
  return got === length ? out : out.subarray(0, got);
}

/** Parses idx text: record id -> offset (a repeated id keeps the last offset) and the ids in first-seen order. */
function parseIdxSync(text: string, idxPath: string, recPath: string, recSize: number): { offsets: Map<number, number>; keys: number[] } {
  const offsets = new Map<number, number>(), keys: number[] = [];
  const lines = text.split('\n');
  for (let k = 0; k < lines.length; k++) {
    const line = lines[k].trim();
    if (line === '') continue;
    const m = /^(\d+)\s+(\d+)$/.exec(line);
    if (!m) {
      const shown = line.length > 40 ? `${line.slice(0, 40)}...` : line;
      throw new DataFormatError(idxPath, `expected "<record id><TAB><byte offset>", got ${JSON.stringify(shown)}`, { line: k + 1 });
    }
    const id = Number(m[1]), offset = Number(m[2]);
    if (!Number.isSafeInteger(id) || id > MAX_LABEL) throw new DataFormatError(idxPath, `record id ${m[1]} is too large`, { line: k + 1 });
    if (!Number.isSafeInteger(offset) || offset >= recSize) {
      throw new DataFormatError(idxPath, `offset ${m[2]} of record ${id} is past the end of ${recPath} (${recSize} bytes)`, { line: k + 1 });
    }
    if (!offsets.has(id)) keys.push(id);
    offsets.set(id, offset);
  }
  if (keys.length === 0) throw new DataFormatError(idxPath, 'index lists no records');
  return { offsets, keys };
}

/** The payload of record `id` at byte `offset` of the open .rec `fd` of `size` bytes (all parts joined, the magic put back). */
function readPayloadSync(fd: number, recPath: string, size: number, id: number, offset: number): Uint8Array {
  const parts: Uint8Array[] = [];
  let pos = offset;
  for (let part = 0; ; part++) {
    checkPartHeaderFits(recPath, id, part, pos, size);
    const { cflag, len } = decodePartHeader(readAtSync(fd, 8, pos), recPath, id, part, pos, size);
    const data = readAtSync(fd, len, pos + 8);
    if (data.length < len) throw new DataFormatError(recPath, `record ${id} is truncated: file ended while reading it`, { offset: pos });
    parts.push(data);
    pos += 8 + ((len + 3) & ~3);
    if (cflag === 0 || cflag === 3) break;
  }
  return joinRecordParts(parts);
}

/**
 * Reader of chosen image records of a .rec after its build (a streamed training set): keeps only their record ids
 * and byte offsets, and opens the .rec for each read (so no descriptor is held between batches, and a file
 * replaced since is read as it is now; the caller's checksum catches the change).
 */
function recordReader(recPath: string, ids: Int32Array, offsets: Float64Array): UserItemReader {
  return {
    read(k: number): Uint8Array {
      const fd = fs.openSync(recPath, 'r');
      try {
        const payload = readPayloadSync(fd, recPath, fs.fstatSync(fd).size, ids[k], offsets[k]);
        return parseImageRecord(payload, recPath, ids[k], offsets[k]).image;
      } finally {
        fs.closeSync(fd);
      }
    },
    source: (k) => `${recPath}#${ids[k]}`,
    where: (k) => ({ file: recPath, offset: offsets[k] }),
  };
}

/** An opened .rec (synchronous, positional reads). Call {@link close} when done. */
export class RecordIOFileSync {
  private constructor(
    readonly recPath: string,
    readonly idxPath: string,
    /** Size of the .rec in bytes. */
    readonly size: number,
    private readonly offsets: Map<number, number>,
    /** Record ids in idx order. */
    readonly keys: number[],
    private fd: number,
    /** Image ids, identity count and header record (as the readers' RecordIODataset). */
    public layout: RecordIOLayout,
  ) {}

  /**
   * Opens `recPath` and its idx (default: beside it, same base name, `.idx`) and reads the layout from record 0.
   * @throws DataNotFoundError for a missing file; DataFormatError for a malformed idx or header record.
   */
  static open(recPath: string, idxPath?: string): RecordIOFileSync {
    const idx = idxPath ?? path.join(path.dirname(recPath), `${path.basename(recPath, path.extname(recPath))}.idx`);
    let fd: number;
    try {
      fd = fs.openSync(recPath, 'r');
    } catch (e) {
      if ((e as { code?: unknown }).code === 'ENOENT') throw new DataNotFoundError(recPath, 'no such file');
      throw e;
    }
    try {
      const st = fs.fstatSync(fd);
      if (st.isDirectory()) throw new DataNotFoundError(recPath, 'is a directory, expected a file');
      let text: string;
      try {
        text = fs.readFileSync(idx, 'utf8');
      } catch (e) {
        if ((e as { code?: unknown }).code === 'ENOENT') throw new DataNotFoundError(idx, `no such file (the index of ${recPath})`);
        throw e;
      }
      const { offsets, keys } = parseIdxSync(text, idx, recPath, st.size);
      const f = new RecordIOFileSync(recPath, idx, st.size, offsets, keys, fd, { imageIds: new Int32Array(0), numClasses: null, header0: null });
      f.layout = f.readLayout();
      return f;
    } catch (e) {
      fs.closeSync(fd);
      throw e;
    }
  }

  private readLayout(): RecordIOLayout {
    const off0 = this.offsets.get(0);
    if (off0 !== undefined) {
      const { header } = parseImageRecord(this.payload(0), this.recPath, 0, off0);
      if (header.flag > 0) {
        if (header.flag < 2) {
          throw new DataFormatError(this.recPath, `header record 0 has ${header.flag} label, expected 2 ([first identity record, end])`, { offset: off0 });
        }
        const a = header.labels[0], b = header.labels[1];
        if (!Number.isInteger(a) || !Number.isInteger(b) || a < 1 || b < a || a > MAX_LABEL || b > MAX_LABEL) {
          throw new DataFormatError(this.recPath, `header record 0 has labels [${a}, ${b}], expected integers 1 <= A <= B`, { offset: off0 });
        }
        if (a - 1 > this.keys.length) {
          throw new DataFormatError(this.recPath, `header record 0 announces ${a - 1} image records (labels [${a}, ${b}]), ` +
            `but ${this.idxPath} lists only ${this.keys.length} records`, { offset: off0 });
        }
        const imageIds = new Int32Array(a - 1);
        for (let i = 1; i < a; i++) {
          if (!this.offsets.has(i)) {
            throw new DataFormatError(this.idxPath, `image record ${i} (record 0 announces images 1..${a - 1}) is missing from the index`);
          }
          imageIds[i - 1] = i;
        }
        return { imageIds, numClasses: b - a, header0: [a, b] };
      }
    }
    return { imageIds: Int32Array.from(this.keys), numClasses: null, header0: null };
  }

  /** Byte offset of record `id` (from the idx). */
  offsetOf(id: number): number {
    const offset = this.offsets.get(id);
    if (offset === undefined) throw new DataFormatError(this.idxPath, `record ${id} is not in the index`);
    return offset;
  }

  /** Reads the 8-byte part header at `pos`; returns the continuation flag and length. */
  private partHeader(id: number, part: number, pos: number): { cflag: number; len: number } {
    checkPartHeaderFits(this.recPath, id, part, pos, this.size);
    return decodePartHeader(readAtSync(this.fd, 8, pos), this.recPath, id, part, pos, this.size);
  }

  /** The payload of record `id` (all parts joined, the magic put back between them). */
  payload(id: number): Uint8Array {
    return readPayloadSync(this.fd, this.recPath, this.size, id, this.offsetOf(id));
  }

  /**
   * The identity label of image record `id`, reading only its header bytes (the whole record when its first part
   * is too short to hold them).
   */
  label(id: number): number {
    const offset = this.offsetOf(id);
    const { len } = this.partHeader(id, 0, offset);
    let head = readAtSync(this.fd, Math.min(len, IR_HEADER_BYTES + 4), offset + 8);
    const flagOf = (b: Uint8Array): number => (b.length >= 4 ? new DataView(b.buffer, b.byteOffset, b.byteLength).getUint32(0, true) : 0);
    const needed = (b: Uint8Array): number => IR_HEADER_BYTES + (flagOf(b) > 0 ? 4 : 0);
    // the first part ends inside the header or the label vector (the writer split the record there): join the parts
    if (head.length < needed(head)) head = this.payload(id);
    if (head.length < needed(head)) return recordLabel(parseImageRecord(head, this.recPath, id, offset).header, this.recPath, id, offset);
    const dv = new DataView(head.buffer, head.byteOffset, head.byteLength);
    const flag = dv.getUint32(0, true);
    const header: IRHeader = {
      flag, label: dv.getFloat32(4, true), labels: flag > 0 ? Float32Array.of(dv.getFloat32(IR_HEADER_BYTES, true)) : new Float32Array(0),
      id: dv.getBigUint64(8, true), id2: dv.getBigUint64(16, true),
    };
    return recordLabel(header, this.recPath, id, offset);
  }

  /** The encoded image of record `id`. */
  image(id: number): Uint8Array {
    return parseImageRecord(this.payload(id), this.recPath, id, this.offsetOf(id)).image;
  }

  /** Closes the file (idempotent). */
  close(): void {
    if (this.fd >= 0) {
      fs.closeSync(this.fd);
      this.fd = -1;
    }
  }
}

/**
 * Builds the `recordio` benchmark (see the file comment and common.ts).
 * @throws UserDatasetError for bad options, too few identities, the memory guard; DataNotFoundError and
 *   DataFormatError for a missing or broken .rec/.idx.
 */
export function createRecordIOBenchmark(opts: UserDatasetOptions | Record<string, unknown> = {}, load: UserLoadOptions = {}): FaceBenchmark {
  const r = resolveUserDatasetOptions('recordio', opts);
  const log = load.log === undefined ? stderrLog : load.log;
  const t0 = Date.now();
  const rec = RecordIOFileSync.open(r.path);
  try {
    const ids = rec.layout.imageIds;
    const labels = new Float64Array(ids.length);
    for (let i = 0; i < ids.length; i++) labels[i] = rec.label(ids[i]);
    const distinct = [...new Set(labels)].sort((a, b) => a - b);
    const identityOf = new Map(distinct.map((l, k) => [l, k]));
    const groups: number[][] = distinct.map(() => []);
    labels.forEach((l, i) => groups[identityOf.get(l) as number].push(i));
    const scanMs = Date.now() - t0;
    if (log) {
      const header = rec.layout.numClasses === null ? 'no header record' : `header announces ${rec.layout.numClasses} identities`;
      log(`${r.path}: ${distinct.length} identities, ${ids.length} images (${header})`);
    }
    return buildUserBenchmark('recordio', {
      name: r.path,
      identities: distinct.map(String),
      groups,
      count: ids.length,
      source: (i) => `${r.path}#${ids[i]}`,
      read: (i) => rec.image(ids[i]),
      // a streamed training set reads its records after the build (which closes rec): their ids and offsets only
      streamItems: (items) => recordReader(r.path, Int32Array.from(items, (i) => ids[i]), Float64Array.from(items, (i) => rec.offsetOf(ids[i]))),
      describe: {
        format: 'insightface RecordIO (.rec + .idx)', idx: path.basename(rec.idxPath),
        headerIdentities: rec.layout.numClasses, records: rec.keys.length,
      },
    }, r, { ...load, log }, { scanMs });
  } finally {
    rec.close();
  }
}

registerDataset('recordio', {
  description: 'an insightface training set in MXNet RecordIO (options.path: the .rec, its .idx beside it); held-out identities for evaluation',
  resolveOptions: (opts) => ({ ...resolveUserDatasetOptions('recordio', opts ?? {}) }),
  create: (opts) => createRecordIOBenchmark(opts ?? {}),
});
