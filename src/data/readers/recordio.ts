/**
 * insightface training sets in MXNet RecordIO (`train.rec` + `train.idx`), read without MXNet.
 *
 * `train.idx` (text): one line per record, `<record id>\t<byte offset of the record in train.rec>\n`, written by
 * `MXIndexedRecordIO.write_idx`. Blank lines are ignored; a repeated id keeps the last offset (as Python's dict).
 *
 * `train.rec` (binary, dmlc-core RecordIO; all integers little-endian). A record is one or more parts:
 *
 * | bytes       | field                                                                                  |
 * |-------------|----------------------------------------------------------------------------------------|
 * | 0..3        | magic `0xced7230a` (uint32)                                                            |
 * | 4..7        | lrecord (uint32): bits 0..28 = part length L, bits 29..31 = continuation flag cflag    |
 * | 8..8+L-1    | part data                                                                              |
 * | ..          | zero padding up to a multiple of 4 bytes (`(L + 3) & ~3` data+padding bytes)           |
 *
 * cflag 0 = a whole record; 1 = first part, 2 = middle part, 3 = last part. The writer splits a record wherever its
 * data holds the magic number at a 4-byte-aligned position, dropping those 4 bytes; the reader joins the parts and
 * puts the magic back between them. (Rare in practice, but handled.)
 *
 * Record payload = image record (`mx.recordio.pack`, struct format `'IfQQ'`, 24 bytes, little-endian):
 *
 * | bytes        | field                                                                                 |
 * |--------------|---------------------------------------------------------------------------------------|
 * | 0..3         | flag (uint32): number of extra float32 labels                                         |
 * | 4..7         | label (float32): the label when flag = 0 (0 otherwise)                                |
 * | 8..15        | id (uint64)                                                                           |
 * | 16..23       | id2 (uint64)                                                                          |
 * | 24..24+4f-1  | flag x float32 labels (only when flag > 0)                                            |
 * | then         | encoded image (JPEG or PNG; empty for the meta records below)                         |
 *
 * insightface layout (`face2rec2.py`, read back by `MXFaceDataset` in arcface_torch), checked against their sources:
 * - Record 0 is a header record: flag 2, labels `[A, B]`. Records `1 .. A-1` are the images (so A = images + 1);
 *   records `A .. B-1` are identity records, one per identity (so B - A = number of identities).
 * - Identity record A + k: flag 2, labels `[first, end)`: the image record ids of identity k.
 * - Image record: flag 0 and label = identity (a float holding an integer 0..K-1); writers that pack a label
 *   vector use flag > 0, and then the identity is the FIRST extra label (as `MXFaceDataset`: `label[0]`).
 * - If record 0 has flag 0 (no header, e.g. some re-packed sets), every record listed in the idx is an image, in
 *   idx order, and the number of identities is unknown (`numClasses` null).
 *
 * The reader: {@link RecordIODataset.open} parses the idx and record 0; `readRecord(id)` is random access by
 * record id; `stream(opts)` streams the image records in id order in batches (see stream.ts), labels from the
 * image records' headers. A corrupt image inside a well-formed record is skipped and counted; a broken container
 * (wrong magic, truncated record, offset past the end, bad header) throws a {@link DataFormatError} naming the
 * file and byte offset (or the idx line).
 */
import * as fs from 'fs';
import * as path from 'path';
import { DataFormatError, DataNotFoundError, isNotFound } from './errors';
import { openForRead, readAt } from './files';
import { ImageStream, ItemSource, StreamOptions } from './stream';

/** RecordIO magic number (uint32, little-endian in the file). */
export const RECORDIO_MAGIC = 0xced7230a;
/** Bytes of the image record header (`'IfQQ'`). */
export const IR_HEADER_BYTES = 24;
/** Largest identity label accepted. */
const MAX_LABEL = 0x7fffffff;

/** The image record header (`mx.recordio.IRHeader`). */
export interface IRHeader {
  /** Number of extra float32 labels. */
  flag: number;
  /** The float label field (meaningful when flag = 0). */
  label: number;
  /** The `flag` extra labels (empty when flag = 0). */
  labels: Float32Array;
  id: bigint;
  id2: bigint;
}

/** One record: its header and its image bytes. */
export interface RecordIORecord {
  /** Record id (the key in the idx). */
  id: number;
  /** Byte offset of the record in the .rec file. */
  offset: number;
  header: IRHeader;
  /** Encoded image (may be empty for meta records). */
  image: Uint8Array;
}

/** How a .rec is laid out (see the file comment). */
export interface RecordIOLayout {
  /** Record ids of the image records, in streaming order. */
  imageIds: Int32Array;
  /** Number of identities, from the header record; null when there is no header record. */
  numClasses: number | null;
  /** Record 0's labels `[A, B]` when present. */
  header0: [number, number] | null;
}

/** Options of {@link RecordIODataset.open}. */
export interface RecordIOOpenOptions {
  /** Path of the index. Default: the .rec path with its extension replaced by `.idx`. */
  idxPath?: string;
}

/** Record id -> byte offset, compact for dense ids (insightface ids are 0..N). */
class RecordIndex {
  readonly keys: number[] = [];
  private dense: Float64Array | null = null;
  private sparse: Map<number, number> | null = null;

  constructor(ids: number[], offsets: number[]) {
    let max = -1;
    for (const id of ids) if (id > max) max = id;
    if (max >= 0 && max < 8 * ids.length + 1024) {
      this.dense = new Float64Array(max + 1).fill(-1);
      for (let i = 0; i < ids.length; i++) {
        if (this.dense[ids[i]] < 0) this.keys.push(ids[i]);
        this.dense[ids[i]] = offsets[i];
      }
    } else {
      this.sparse = new Map();
      for (let i = 0; i < ids.length; i++) {
        if (!this.sparse.has(ids[i])) this.keys.push(ids[i]);
        this.sparse.set(ids[i], offsets[i]);
      }
    }
  }

  get(id: number): number | undefined {
    if (this.dense) {
      const v = id >= 0 && id < this.dense.length ? this.dense[id] : -1;
      return v >= 0 ? v : undefined;
    }
    return this.sparse?.get(id);
  }
}

/** Parses `train.idx` text (see the file comment); offsets must be inside the .rec (`recSize` bytes). */
function parseIdx(buf: Uint8Array, idxPath: string, recPath: string, recSize: number): RecordIndex {
  const ids: number[] = [], offsets: number[] = [];
  let lineNo = 0;
  let start = 0;
  const text = new TextDecoder('utf-8').decode(buf);
  while (start <= text.length) {
    let end = text.indexOf('\n', start);
    if (end < 0) end = text.length;
    lineNo++;
    const line = text.slice(start, end).trim();
    start = end + 1;
    if (line === '') {
      if (end === text.length) break;
      continue;
    }
    const m = /^(\d+)\s+(\d+)$/.exec(line);
    if (!m) {
      const shown = line.length > 40 ? `${line.slice(0, 40)}...` : line;
      throw new DataFormatError(idxPath, `expected "<record id><TAB><byte offset>", got ${JSON.stringify(shown)}`, { line: lineNo });
    }
    const id = Number(m[1]), offset = Number(m[2]);
    if (!Number.isSafeInteger(id) || id > MAX_LABEL) throw new DataFormatError(idxPath, `record id ${m[1]} is too large`, { line: lineNo });
    if (!Number.isSafeInteger(offset) || offset >= recSize) {
      throw new DataFormatError(idxPath, `offset ${m[2]} of record ${id} is past the end of ${recPath} (${recSize} bytes)`, { line: lineNo });
    }
    ids.push(id);
    offsets.push(offset);
  }
  if (ids.length === 0) throw new DataFormatError(idxPath, 'index lists no records');
  return new RecordIndex(ids, offsets);
}

/**
 * Reads the record starting at `offset` (all its parts), returning its payload. `size` is the file size.
 * @throws DataFormatError for a wrong magic number, a truncated record or a bad continuation sequence.
 */
export async function readRecordPayload(fh: fs.promises.FileHandle, size: number, offset: number, file: string, id: number): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  let pos = offset;
  for (let part = 0; ; part++) {
    checkPartHeaderFits(file, id, part, pos, size);
    const { cflag, len } = decodePartHeader(await readAt(fh, 8, pos), file, id, part, pos, size);
    const data = await readAt(fh, len, pos + 8);
    if (data.length < len) throw new DataFormatError(file, `record ${id} is truncated: file ended while reading it`, { offset: pos });
    parts.push(data);
    pos += 8 + ((len + 3) & ~3);
    if (cflag === 0 || cflag === 3) break;
  }
  return joinRecordParts(parts);
}

/** Throws when the 8-byte header of part `part` of record `id`, at byte `pos`, does not fit in a file of `size` bytes. */
export function checkPartHeaderFits(file: string, id: number, part: number, pos: number, size: number): void {
  if (pos + 8 > size) {
    const what = part ? `part ${part}` : 'the record';
    throw new DataFormatError(file, `record ${id} is truncated: the 8-byte header of ${what} is cut off (${size - pos} bytes remain)`, { offset: pos });
  }
}

/**
 * Decodes the 8-byte header `head` of part `part` of record `id` at byte `pos` (magic, then the length word whose
 * top 3 bits are the continuation flag) and checks it: magic, flag sequence, and that the part fits in `size`.
 */
export function decodePartHeader(head: Uint8Array, file: string, id: number, part: number, pos: number, size: number): { cflag: number; len: number } {
  if (head.length < 8) throw new DataFormatError(file, `record ${id} is truncated: file ends inside its 8-byte header`, { offset: pos });
  const dv = new DataView(head.buffer, head.byteOffset, 8);
  const magic = dv.getUint32(0, true);
  if (magic !== RECORDIO_MAGIC) {
    throw new DataFormatError(file, `bad RecordIO magic 0x${magic.toString(16).padStart(8, '0')} at record ${id} (expected 0x${RECORDIO_MAGIC.toString(16)}); ` +
      'the file is not MXNet RecordIO, or the .idx belongs to another .rec', { offset: pos });
  }
  const lrec = dv.getUint32(4, true);
  const cflag = lrec >>> 29, len = lrec & 0x1fffffff;
  const expectFirst = part === 0;
  if (cflag > 3 || (expectFirst && cflag >= 2) || (!expectFirst && cflag < 2)) {
    throw new DataFormatError(file, `record ${id} part ${part} has continuation flag ${cflag}, ` +
      `expected ${expectFirst ? '0 (whole) or 1 (first part)' : '2 (middle part) or 3 (last part)'}`, { offset: pos });
  }
  if (len > size - pos - 8) {
    throw new DataFormatError(file, `record ${id} is truncated: it needs ${len} bytes after its header, only ${size - pos - 8} remain`, { offset: pos });
  }
  return { cflag, len };
}

/** One payload from the parts of a multi-part record: MXNet splits a record at magic words, so they go back between parts. */
export function joinRecordParts(parts: Uint8Array[]): Uint8Array {
  if (parts.length === 1) return parts[0];
  let total = 4 * (parts.length - 1);
  for (const p of parts) total += p.length;
  const out = new Uint8Array(total);
  const magicBytes = new Uint8Array(4);
  new DataView(magicBytes.buffer).setUint32(0, RECORDIO_MAGIC, true);
  let at = 0;
  parts.forEach((p, i) => {
    if (i > 0) { out.set(magicBytes, at); at += 4; }
    out.set(p, at);
    at += p.length;
  });
  return out;
}

/**
 * Splits a record payload into its {@link IRHeader} and image bytes.
 * @throws DataFormatError if the payload is shorter than the header and its extra labels.
 */
export function parseImageRecord(payload: Uint8Array, file: string, id: number, offset: number): { header: IRHeader; image: Uint8Array } {
  if (payload.length < IR_HEADER_BYTES) {
    throw new DataFormatError(file, `record ${id} payload is ${payload.length} bytes, shorter than the ${IR_HEADER_BYTES}-byte image record header`, { offset });
  }
  const dv = new DataView(payload.buffer, payload.byteOffset, payload.byteLength);
  const flag = dv.getUint32(0, true);
  if (flag > (payload.length - IR_HEADER_BYTES) / 4) {
    throw new DataFormatError(file, `record ${id} header announces ${flag} extra labels (${4 * flag} bytes), ` +
      `but only ${payload.length - IR_HEADER_BYTES} bytes follow the header`, { offset });
  }
  const labels = new Float32Array(flag);
  for (let i = 0; i < flag; i++) labels[i] = dv.getFloat32(IR_HEADER_BYTES + 4 * i, true);
  return {
    header: { flag, label: dv.getFloat32(4, true), labels, id: dv.getBigUint64(8, true), id2: dv.getBigUint64(16, true) },
    image: payload.subarray(IR_HEADER_BYTES + 4 * flag),
  };
}

/** The identity label of an image record: `label` when flag = 0, else the first extra label (insightface). */
export function recordLabel(header: IRHeader, file: string, id: number, offset: number): number {
  const v = header.flag > 0 ? header.labels[0] : header.label;
  if (!Number.isInteger(v) || v < 0 || v > MAX_LABEL) {
    throw new DataFormatError(file, `record ${id} has label ${v}, expected a non-negative integer identity`, { offset });
  }
  return v;
}

/** An opened insightface RecordIO training set. Call {@link close} when done with random access. */
export class RecordIODataset {
  private constructor(
    /** Path of the .rec file. */
    readonly recPath: string,
    /** Path of the .idx file. */
    readonly idxPath: string,
    /** Size of the .rec file in bytes. */
    readonly size: number,
    private readonly index: RecordIndex,
    /** Image ids, identity count and header record. */
    readonly layout: RecordIOLayout,
    private readonly fh: fs.promises.FileHandle,
  ) {}

  /**
   * Opens `recPath` and its idx, parses the idx and record 0 (see the file comment).
   * @throws DataNotFoundError for a missing file; DataFormatError for a malformed idx or header record.
   */
  static async open(recPath: string, opts: RecordIOOpenOptions = {}): Promise<RecordIODataset> {
    const idxPath = opts.idxPath ?? path.join(path.dirname(recPath), `${path.basename(recPath, path.extname(recPath))}.idx`);
    const { fh, size } = await openForRead(recPath);
    try {
      let idxBytes: Uint8Array;
      try {
        idxBytes = await fs.promises.readFile(idxPath);
      } catch (e) {
        if (isNotFound(e)) throw new DataNotFoundError(idxPath, `no such file (the index of ${recPath})`);
        throw e;
      }
      const index = parseIdx(idxBytes, idxPath, recPath, size);
      const layout = await RecordIODataset.readLayout(fh, size, index, recPath, idxPath);
      return new RecordIODataset(recPath, idxPath, size, index, layout, fh);
    } catch (e) {
      await fh.close();
      throw e;
    }
  }

  private static async readLayout(fh: fs.promises.FileHandle, size: number, index: RecordIndex, recPath: string, idxPath: string): Promise<RecordIOLayout> {
    const off0 = index.get(0);
    if (off0 !== undefined) {
      const { header } = parseImageRecord(await readRecordPayload(fh, size, off0, recPath, 0), recPath, 0, off0);
      if (header.flag > 0) {
        if (header.flag < 2) {
          throw new DataFormatError(recPath, `header record 0 has ${header.flag} label, expected 2 ([first identity record, end])`, { offset: off0 });
        }
        const a = header.labels[0], b = header.labels[1];
        if (!Number.isInteger(a) || !Number.isInteger(b) || a < 1 || b < a || a > MAX_LABEL || b > MAX_LABEL) {
          throw new DataFormatError(recPath, `header record 0 has labels [${a}, ${b}], expected integers 1 <= A <= B`, { offset: off0 });
        }
        if (a - 1 > index.keys.length) {
          throw new DataFormatError(recPath, `header record 0 announces ${a - 1} image records (labels [${a}, ${b}]), ` +
            `but ${idxPath} lists only ${index.keys.length} records`, { offset: off0 });
        }
        const imageIds = new Int32Array(a - 1);
        for (let i = 1; i < a; i++) {
          if (index.get(i) === undefined) {
            throw new DataFormatError(idxPath, `image record ${i} (record 0 announces images 1..${a - 1}) is missing from the index`);
          }
          imageIds[i - 1] = i;
        }
        return { imageIds, numClasses: b - a, header0: [a, b] };
      }
    }
    return { imageIds: Int32Array.from(index.keys), numClasses: null, header0: null };
  }

  /** Record ids in idx order. */
  get keys(): readonly number[] {
    return this.index.keys;
  }

  /** Number of image records. */
  get imageCount(): number {
    return this.layout.imageIds.length;
  }

  /** Byte offset of record `id`, or undefined if the idx does not list it. */
  offsetOf(id: number): number | undefined {
    return this.index.get(id);
  }

  /**
   * Random access: the record with id `id` (header and image bytes, not decoded).
   * @throws DataFormatError if `id` is not in the idx or the record is malformed.
   */
  async readRecord(id: number): Promise<RecordIORecord> {
    return this.readWith(this.fh, id);
  }

  private async readWith(fh: fs.promises.FileHandle, id: number): Promise<RecordIORecord> {
    const offset = this.index.get(id);
    if (offset === undefined) throw new DataFormatError(this.idxPath, `record ${id} is not in the index`);
    const payload = await readRecordPayload(fh, this.size, offset, this.recPath, id);
    const { header, image } = parseImageRecord(payload, this.recPath, id, offset);
    return { id, offset, header, image };
  }

  /**
   * Streams the image records (ids `layout.imageIds`, in that order) as batches of preprocessed images labelled by
   * identity. Each pass opens its own file handle, so the stream works after {@link close}.
   */
  stream(opts: StreamOptions = {}): ImageStream {
    const ids = this.layout.imageIds;
    const open = async (): Promise<ItemSource> => {
      const { fh } = await openForRead(this.recPath);
      return {
        count: ids.length,
        source: (i) => `${this.recPath}#${ids[i]}`,
        load: async (i) => {
          const rec = await this.readWith(fh, ids[i]);
          return { bytes: rec.image, label: recordLabel(rec.header, this.recPath, rec.id, rec.offset) };
        },
        close: () => fh.close(),
      };
    };
    return new ImageStream(this.recPath, ids.length, open, opts);
  }

  /** Closes the random-access file handle. */
  async close(): Promise<void> {
    await this.fh.close();
  }
}

/** Opens a RecordIO set and returns its image stream (the random-access handle is closed at once). */
export async function streamRecordIO(recPath: string, opts: StreamOptions & RecordIOOpenOptions = {}): Promise<{ stream: ImageStream; layout: RecordIOLayout }> {
  const ds = await RecordIODataset.open(recPath, opts);
  await ds.close();
  return { stream: ds.stream(opts), layout: ds.layout };
}
