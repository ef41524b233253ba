/** Helpers of the user-dataset tests: small image folders and insightface .rec files written in a temporary folder. */
import { strict as assert } from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import type { FaceBenchmark } from '../../../src/data';
import { makePng } from '../readers/helpers';

/**
 * Image `j` of identity `k`: a distinct pattern per identity (colour, stripe direction and period), shifted per
 * image. 12 x 10 pixels (not square, so the resize and crop run).
 */
export function identityPng(k: number, j: number): Uint8Array {
  const period = 2 + (k % 5), dir = k % 3;
  const base: [number, number, number] = [(k * 53) % 256, (k * 97 + 40) % 256, (k * 31 + 90) % 256];
  return makePng(12, 10, (x, y) => {
    const t = dir === 0 ? x + j : dir === 1 ? y + j : x + y + j;
    const on = Math.floor(t / period) % 2 === 0;
    return on ? base : [255 - base[0], 255 - base[1], 255 - base[2]];
  });
}

export function write(file: string, data: Uint8Array | string): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, data);
}

/**
 * The standard test folder under `root`:
 * - `id00` .. `id{n-1}`: `perIdentity` good PNGs each (`img0.png` ...); `id03` also holds `zz_corrupt.png` (text);
 * - `solo`: one image (dropped: fewer than 2);
 * - `fragile`: one good image and one truncated PNG (dropped after the skip);
 * - `empty/`: no image (only `notes.txt`); `README.txt` directly in root (ignored).
 * Listed images: n * perIdentity + 1 + 1 + 2; skipped: 2; dropped identities: 3.
 */
export function makeFaceFolder(root: string, n = 26, perIdentity = 4): void {
  for (let k = 0; k < n; k++) {
    for (let j = 0; j < perIdentity; j++) write(path.join(root, `id${String(k).padStart(2, '0')}`, `img${j}.png`), identityPng(k, j));
  }
  write(path.join(root, 'id03', 'zz_corrupt.png'), 'this is not a PNG\n');
  write(path.join(root, 'solo', 'only.png'), identityPng(90, 0));
  write(path.join(root, 'fragile', 'a.png'), identityPng(91, 0));
  const good = identityPng(91, 1);
  write(path.join(root, 'fragile', 'b.png'), good.subarray(0, Math.floor(good.length / 2)));
  write(path.join(root, 'empty', 'notes.txt'), 'no images here\n');
  write(path.join(root, 'README.txt'), 'ignored\n');
}

// ---- RecordIO writer (as test/fixtures/readers/make-fixtures.py) -------------------------------------------
const MAGIC = 0xced7230a;

/** dmlc RecordIOWriter::WriteRecord: split where the magic occurs at an aligned position; pad to 4 bytes. */
export function recEncode(payload: Uint8Array): Buffer {
  const out: Buffer[] = [];
  const head = (cflag: number, len: number): Buffer => {
    const b = Buffer.alloc(8);
    b.writeUInt32LE(MAGIC, 0);
    b.writeUInt32LE(((cflag << 29) | len) >>> 0, 4);
    return b;
  };
  const dv = new DataView(payload.buffer, payload.byteOffset, payload.byteLength);
  const lower = (payload.length >> 2) << 2;
  let dptr = 0;
  for (let i = 0; i < lower; i += 4) {
    if (dv.getUint32(i, true) === MAGIC) {
      out.push(head(dptr === 0 ? 1 : 2, i - dptr), Buffer.from(payload.subarray(dptr, i)));
      const pad = (4 - ((i - dptr) % 4)) % 4;
      if (pad) out.push(Buffer.alloc(pad));
      dptr = i + 4;
    }
  }
  const rest = payload.subarray(dptr);
  out.push(head(dptr !== 0 ? 3 : 0, rest.length), Buffer.from(rest));
  const pad = (4 - (rest.length % 4)) % 4;
  if (pad) out.push(Buffer.alloc(pad));
  return Buffer.concat(out);
}

/** mx.recordio.pack: 'IfQQ' header (+ float32 label vector when `labels` is given) + image bytes. */
export function irPack(label: number, image: Uint8Array, recId: number, labels?: number[]): Buffer {
  const h = Buffer.alloc(24 + 4 * (labels?.length ?? 0));
  h.writeUInt32LE(labels?.length ?? 0, 0);
  h.writeFloatLE(labels ? 0 : label, 4);
  h.writeBigUInt64LE(BigInt(recId), 8);
  labels?.forEach((v, i) => h.writeFloatLE(v, 24 + 4 * i));
  return Buffer.concat([h, Buffer.from(image)]);
}

/** The float whose bits are the RecordIO magic (a label vector holding it makes the writer split the record). */
export const MAGIC_AS_FLOAT = (() => {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(MAGIC, 0);
  return b.readFloatLE(0);
})();

/** Writes `<base>.rec` and `<base>.idx` from (record id, payload) pairs. */
export function writeRec(base: string, records: [number, Uint8Array][]): void {
  const parts: Buffer[] = [];
  const idx: string[] = [];
  let at = 0;
  for (const [id, payload] of records) {
    const enc = recEncode(payload);
    idx.push(`${id}\t${at}\n`);
    parts.push(enc);
    at += enc.length;
  }
  write(`${base}.rec`, Buffer.concat(parts));
  write(`${base}.idx`, idx.join(''));
}

/**
 * An insightface-layout .rec: header record 0 = [A, B], images 1..A-1, identity records A..B-1. `images` lists
 * (label, bytes, packAsVector); identities must be contiguous per label as face2rec2 writes them.
 */
export function writeInsightfaceRec(base: string, images: [number, Uint8Array, boolean?][]): void {
  const labels = [...new Set(images.map(([l]) => l))];
  const a = images.length + 1, b = a + labels.length;
  const records: [number, Uint8Array][] = [[0, irPack(0, new Uint8Array(0), 0, [a, b])]];
  images.forEach(([label, img, vector], i) => {
    records.push([i + 1, vector ? irPack(0, img, i + 1, [label, MAGIC_AS_FLOAT]) : irPack(label, img, i + 1)]);
  });
  labels.forEach((l, k) => {
    const ids = images.map(([x], i) => (x === l ? i + 1 : -1)).filter((i) => i > 0);
    records.push([a + k, irPack(0, new Uint8Array(0), a + k, [ids[0], ids[ids.length - 1] + 1])]);
  });
  writeRec(base, records);
}

/** Structural checks every user benchmark must pass. */
export function checkBenchmark(b: FaceBenchmark): void {
  const per = b.train.height * b.train.width * b.train.channels;
  for (const s of [b.train, b.test]) {
    assert.equal(s.images.length, s.count * per);
    assert.equal(s.labels.length, s.count);
    for (let i = 0; i < s.images.length; i++) assert.ok(s.images[i] >= -1 && s.images[i] <= 1, `pixel ${s.images[i]}`);
  }
  // labels 0..K-1 (0..T-1), identity-major, each used
  const checkLabels = (labels: Int32Array, n: number): void => {
    let prev = -1;
    for (const l of labels) {
      assert.ok(l === prev || l === prev + 1, `labels identity-major and contiguous (${prev} -> ${l})`);
      prev = l;
    }
    assert.equal(prev, n - 1);
  };
  checkLabels(b.train.labels, b.numClasses);
  const T = (b.meta.counts as { heldOutIdentities: number }).heldOutIdentities;
  checkLabels(b.test.labels, T);
  // pairs: 10 folds, P same then P different, left < right, identity-disjoint folds, distinct
  const { left, right, isSame, fold } = b.pairs;
  const P = (b.meta.counts as { pairsPerFold: number }).pairsPerFold;
  assert.equal(left.length, 10 * 2 * P);
  const foldOf = new Map<number, number>();
  const seen = new Set<string>();
  for (let i = 0; i < left.length; i++) {
    const k = Math.floor(i / (2 * P));
    assert.equal(fold[i], k);
    assert.equal(isSame[i], i % (2 * P) < P ? 1 : 0);
    assert.ok(left[i] < right[i] && left[i] >= 0 && right[i] < b.test.count, `pair ${i} indices`);
    assert.equal(b.test.labels[left[i]] === b.test.labels[right[i]] ? 1 : 0, isSame[i], `pair ${i} same flag`);
    for (const x of [left[i], right[i]]) {
      const id = b.test.labels[x];
      assert.equal(foldOf.get(id) ?? k, k, `identity ${id} in two folds`);
      foldOf.set(id, k);
    }
    const key = `${left[i]},${right[i]}`;
    assert.ok(!seen.has(key), `pair ${key} repeated`);
    seen.add(key);
  }
  // identification split covers the test set exactly once
  const { gallery, knownProbes, unknownProbes } = b.identification;
  const all = [...gallery, ...knownProbes, ...unknownProbes].sort((x, y) => x - y);
  assert.deepEqual(all, Array.from({ length: b.test.count }, (_, i) => i));
}
