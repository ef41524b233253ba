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

/**
 * Writes a checkpoint as one file, atomically (temp file, fsync, rename): a crash at any point leaves the
 * previous checkpoint intact. Layout: 'CFCK', u32 version, u32 header length, header JSON (with the tensor
 * table), then the float32 data (little endian, 4-byte aligned).
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
  let headerBytes = Buffer.from(JSON.stringify({ header: ckpt.header, tensors: table }), 'utf8');
  const pad = (4 - ((12 + headerBytes.length) % 4)) % 4;
  headerBytes = Buffer.concat([headerBytes, Buffer.alloc(pad, 0x20)]);
  const buf = Buffer.alloc(12 + headerBytes.length + offset * 4);
  buf.write(MAGIC, 0, 'latin1');
  buf.writeUInt32LE(VERSION, 4);
  buf.writeUInt32LE(headerBytes.length, 8);
  headerBytes.copy(buf, 12);
  const body = new Float32Array(buf.buffer, buf.byteOffset + 12 + headerBytes.length, offset);
  for (let i = 0; i < ckpt.tensors.length; i++) body.set(ckpt.tensors[i].data, table[i].offset);
  writeFileAtomic(file, buf);
}

/** Reads a checkpoint written by `saveCheckpoint`; a wrong magic, version or size stops with a clear message. */
export function loadCheckpoint<H>(file: string): Checkpoint<H> {
  if (!fs.existsSync(file)) throw new Error(`checkpoint not found: ${file}`);
  const buf = fs.readFileSync(file);
  if (buf.length < 12 || buf.toString('latin1', 0, 4) !== MAGIC) throw new Error(`${file} is not a coreface checkpoint (bad magic at offset 0)`);
  const version = buf.readUInt32LE(4);
  if (version !== VERSION) throw new Error(`${file}: checkpoint version ${version} not supported (expected ${VERSION})`);
  const hlen = buf.readUInt32LE(8);
  if (12 + hlen > buf.length) throw new Error(`${file}: truncated checkpoint (header of ${hlen} bytes at offset 12 runs past the end, ${buf.length} bytes)`);
  const parsed = JSON.parse(buf.toString('utf8', 12, 12 + hlen)) as {
    header: H;
    tensors: { name: string; shape: number[]; offset: number }[];
  };
  const start = 12 + hlen;
  const total = (buf.length - start) / 4;
  const aligned = new Float32Array(total);
  new Uint8Array(aligned.buffer).set(buf.subarray(start, start + total * 4));
  const tensors = parsed.tensors.map((t) => {
    const size = t.shape.reduce((a, b) => a * b, 1);
    if (t.offset + size > total) throw new Error(`${file}: truncated checkpoint (tensor ${t.name} ends at value ${t.offset + size}, file has ${total})`);
    return { name: t.name, shape: t.shape, data: aligned.subarray(t.offset, t.offset + size) };
  });
  return { header: parsed.header, tensors };
}
