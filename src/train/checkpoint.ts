import { createHash } from 'crypto';
import * as fs from 'fs';
import { writeFileAtomic } from '../util/atomic';

/** One named float32 array in a checkpoint. */
export interface TensorEntry {
  name: string;
  shape: number[];
  data: Float32Array;
}

/** A checkpoint: a JSON header (anything serialisable) plus named float32 tensors, in one file. */
export interface Checkpoint<H> {
  header: H;
  tensors: TensorEntry[];
}

const MAGIC = 'CFCK';
const VERSION = 1;

/** sha256 (hex) of the header JSON without its checksum and of the data section. */
function digest(meta: string, data: Uint8Array): string {
  return createHash('sha256').update(meta, 'utf8').update(data).digest('hex');
}

/**
 * Writes a checkpoint as one file, atomically (temp file, fsync, rename): a crash at any point leaves the
 * previous checkpoint intact. Layout: 'CFCK', u32 version, u32 header length, header JSON (with the tensor
 * table and a sha256 of the header and data), then the float32 data (little endian, 4-byte aligned).
 */
export function saveCheckpoint<H>(file: string, ckpt: Checkpoint<H>): void {
  let offset = 0;
  const table = ckpt.tensors.map((t) => {
    const size = t.shape.reduce((a, b) => a * b, 1);
    if (size !== t.data.length) throw new Error(`checkpoint tensor ${t.name}: shape ${JSON.stringify(t.shape)} does not match ${t.data.length} values`);
    const e = { name: t.name, shape: t.shape, offset };
    offset += size;
    return e;
  });
  const body = new Float32Array(offset);
  for (let i = 0; i < ckpt.tensors.length; i++) body.set(ckpt.tensors[i].data, table[i].offset);
  const bodyBytes = new Uint8Array(body.buffer);
  const meta = { header: ckpt.header, tensors: table };
  const sha256 = digest(JSON.stringify(meta), bodyBytes);
  let headerBytes = Buffer.from(JSON.stringify({ ...meta, sha256 }), 'utf8');
  const pad = (4 - ((12 + headerBytes.length) % 4)) % 4;
  headerBytes = Buffer.concat([headerBytes, Buffer.alloc(pad, 0x20)]);
  const buf = Buffer.alloc(12 + headerBytes.length + bodyBytes.length);
  buf.write(MAGIC, 0, 'latin1');
  buf.writeUInt32LE(VERSION, 4);
  buf.writeUInt32LE(headerBytes.length, 8);
  headerBytes.copy(buf, 12);
  buf.set(bodyBytes, 12 + headerBytes.length);
  writeFileAtomic(file, buf);
}

function isSize(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}

/**
 * Reads a checkpoint written by `saveCheckpoint`. Anything that is not such a file (wrong magic or version,
 * truncation, a corrupt header or tensor table, trailing bytes) stops with an Error naming the file and the
 * problem, never another exception type and never silently wrong data.
 */
export function loadCheckpoint<H>(file: string): Checkpoint<H> {
  if (!fs.existsSync(file)) throw new Error(`checkpoint not found: ${file}`);
  const buf = fs.readFileSync(file);
  if (buf.length < 12 || buf.toString('latin1', 0, 4) !== MAGIC) throw new Error(`${file} is not a coreface checkpoint (bad magic at offset 0)`);
  const version = buf.readUInt32LE(4);
  if (version !== VERSION) throw new Error(`${file}: checkpoint version ${version} not supported (expected ${VERSION})`);
  const hlen = buf.readUInt32LE(8);
  if (12 + hlen > buf.length) throw new Error(`${file}: truncated checkpoint (header of ${hlen} bytes at offset 12 runs past the end, ${buf.length} bytes)`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(buf.toString('utf8', 12, 12 + hlen));
  } catch (e) {
    throw new Error(`${file}: corrupt checkpoint header (${(e as Error).message})`);
  }
  const p = parsed as { header?: unknown; tensors?: unknown; sha256?: unknown };
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error(`${file}: corrupt checkpoint header (not a JSON object)`);
  if (typeof p.header !== 'object' || p.header === null || Array.isArray(p.header)) throw new Error(`${file}: corrupt checkpoint header (no header object)`);
  if (!Array.isArray(p.tensors)) throw new Error(`${file}: corrupt checkpoint header (no tensor table)`);
  const start = 12 + hlen;
  const total = Math.floor((buf.length - start) / 4);
  const aligned = new Float32Array(total);
  new Uint8Array(aligned.buffer).set(buf.subarray(start, start + total * 4));
  const tensors = (p.tensors as unknown[]).map((t, i) => {
    const e = t as { name?: unknown; shape?: unknown; offset?: unknown };
    if (typeof t !== 'object' || t === null || typeof e.name !== 'string' || !Array.isArray(e.shape) || !e.shape.every(isSize) || !isSize(e.offset)) {
      throw new Error(`${file}: corrupt checkpoint tensor table (entry ${i}: ${JSON.stringify(t)?.slice(0, 100)})`);
    }
    const shape = e.shape as number[];
    const size = shape.reduce((a, b) => a * b, 1);
    if (e.offset + size > total) throw new Error(`${file}: truncated checkpoint (tensor ${e.name} ends at value ${e.offset + size}, file has ${total})`);
    return { name: e.name, shape, data: aligned.subarray(e.offset, e.offset + size) };
  });
  if ((buf.length - start) % 4 !== 0) throw new Error(`${file}: corrupt checkpoint (data section of ${buf.length - start} bytes is not whole float32 values)`);
  // Files written before the checksum existed have none; every file written since is verified.
  if (p.sha256 !== undefined && digest(JSON.stringify({ header: p.header, tensors: p.tensors }), buf.subarray(start)) !== p.sha256) {
    throw new Error(`${file}: corrupt checkpoint (sha256 of the header and data does not match: damaged on disk or in transfer)`);
  }
  return { header: p.header as H, tensors };
}
