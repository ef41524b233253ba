import { strict as assert } from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import {
  DataFormatError, DataNotFoundError, ImageBatch, RECORDIO_MAGIC, RecordIODataset, streamRecordIO,
} from '../../../src/data/readers';
import { assertClose, expectError, fixture, pixel, tmpDir } from './helpers';

const REC = fixture('recordio', 'train.rec');
const IDX = fixture('recordio', 'train.idx');
/** Byte offsets of train.rec's records 0..9, as listed in train.idx. */
const OFFSETS = fs.readFileSync(IDX, 'utf8').trim().split('\n').map((l) => Number(l.split('\t')[1]));

/** One whole RecordIO record (cflag 0) around `payload`, padded to 4 bytes. */
function record(payload: Uint8Array, cflag = 0, lengthOverride?: number): Uint8Array {
  const len = payload.length;
  const out = new Uint8Array(8 + ((len + 3) & ~3));
  const dv = new DataView(out.buffer);
  dv.setUint32(0, RECORDIO_MAGIC, true);
  dv.setUint32(4, ((cflag << 29) | (lengthOverride ?? len)) >>> 0, true);
  out.set(payload, 8);
  return out;
}

/** An image record payload ('IfQQ' header, flag 0, label). */
function irPayload(label: number, image: Uint8Array): Uint8Array {
  const out = new Uint8Array(24 + image.length);
  const dv = new DataView(out.buffer);
  dv.setFloat32(4, label, true);
  out.set(image, 24);
  return out;
}

async function collect(it: AsyncIterable<ImageBatch>): Promise<ImageBatch[]> {
  const out: ImageBatch[] = [];
  for await (const b of it) out.push(b);
  return out;
}

describe('data/readers/recordio', () => {
  let t: { dir: string; cleanup: () => void };
  beforeEach(() => { t = tmpDir('recordio-'); });
  afterEach(() => t.cleanup());

  /** Writes `rec` bytes and `idx` text to the temp folder; returns the .rec path. */
  const write = (rec: Uint8Array, idx: string, name = 'train'): string => {
    fs.writeFileSync(path.join(t.dir, `${name}.rec`), rec);
    fs.writeFileSync(path.join(t.dir, `${name}.idx`), idx);
    return path.join(t.dir, `${name}.rec`);
  };
  const idxText = (offsets: number[]): string => offsets.map((o, i) => `${i}\t${o}\n`).join('');

  it('reads the insightface layout from header record 0: images 1..A-1, identities A..B-1', async () => {
    const ds = await RecordIODataset.open(REC);
    try {
      assert.equal(ds.idxPath, IDX);
      assert.deepEqual(ds.layout.header0, [7, 10]);
      assert.equal(ds.layout.numClasses, 3);
      assert.deepEqual(Array.from(ds.layout.imageIds), [1, 2, 3, 4, 5, 6]);
      assert.deepEqual(ds.keys, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
      const h0 = (await ds.readRecord(0)).header;
      assert.deepEqual([h0.flag, Array.from(h0.labels), h0.id, h0.id2], [2, [7, 10], 0n, 0n]);
      // identity records: [first image id, end)
      const ranges = await Promise.all([7, 8, 9].map(async (id) => Array.from((await ds.readRecord(id)).header.labels)));
      assert.deepEqual(ranges, [[1, 3], [3, 6], [6, 7]]);
      const r1 = await ds.readRecord(1);
      assert.deepEqual([r1.header.flag, r1.header.label, r1.header.id, r1.offset], [0, 0, 1n, OFFSETS[1]]);
      assert.deepEqual(Array.from(r1.image.subarray(0, 3)), [0xff, 0xd8, 0xff]);
    } finally {
      await ds.close();
    }
  });

  it('joins a multi-part record (the writer split it where the magic number appeared) and puts the magic back', async () => {
    const raw = fs.readFileSync(REC);
    const dv = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
    assert.equal(dv.getUint32(OFFSETS[4] + 4, true) >>> 29, 1, 'record 4 starts with a first part (cflag 1)');
    const ds = await RecordIODataset.open(REC);
    try {
      const r4 = await ds.readRecord(4);
      assert.equal(r4.header.flag, 2);
      assert.equal(r4.header.labels[0], 1); // identity 1
      const bits = new DataView(r4.header.labels.buffer).getUint32(4, true);
      assert.equal(bits, RECORDIO_MAGIC);
      assert.deepEqual(Array.from(r4.image.subarray(0, 4)), [0x89, 0x50, 0x4e, 0x47]); // PNG
    } finally {
      await ds.close();
    }
  });

  it('streams image records in batches with labels from their headers', async () => {
    const { stream, layout } = await streamRecordIO(REC, { size: 8, batchSize: 4, log: null });
    assert.equal(layout.numClasses, 3);
    const batches = await collect(stream);
    assert.deepEqual(batches.map((b) => Array.from(b.labels)), [[0, 0, 1, 1], [1, 2]]);
    assert.deepEqual(batches[1].sources, [`${REC}#5`, `${REC}#6`]);
    assert.deepEqual(stream.summary.skipped, 0);
    // record 1: alice (left (220,40,40), right (40,40,220)); record 6: carol (left grey 160, right 30)
    assertClose(pixel(batches[0].images, 8, 3, 0, 0, 4), [220, 40, 40], 8);
    assertClose(pixel(batches[1].images, 8, 3, 1, 7, 4), [30, 30, 30], 8);
    // a stream works after the random-access handle is closed, and can be iterated again
    assert.equal((await stream.collect()).set.count, 6);
  });

  it('a record whose image is corrupt is skipped and counted; without a header record every record is an image', async () => {
    const ds = await RecordIODataset.open(fixture('recordio', 'corrupt.rec'));
    await ds.close();
    const { set, summary } = await ds.stream({ size: 4, log: null }).collect();
    assert.equal(set.count, 1);
    assert.deepEqual(summary.reasons, [{ source: `${fixture('recordio', 'corrupt.rec')}#2`, reason: 'corrupt or truncated JPEG: unknown JPEG marker 0' }]);
    const nh = await streamRecordIO(fixture('recordio', 'noheader.rec'), { size: 4, log: null });
    assert.deepEqual(nh.layout, { imageIds: Int32Array.from([0, 1]), numClasses: null, header0: null });
    assert.deepEqual(Array.from((await nh.stream.collect()).set.labels), [1, 0]);
  });

  it('truncated .rec -> DataFormatError naming the file, byte offset and record', async () => {
    const raw = fs.readFileSync(REC);
    // cut inside record 6 (the last image); the idx lists records 0..6 only
    const len6 = raw.readUInt32LE(OFFSETS[6] + 4) & 0x1fffffff;
    const rec = write(raw.subarray(0, OFFSETS[6] + 100), idxText(OFFSETS.slice(0, 7)));
    const ds = await RecordIODataset.open(rec);
    await ds.close();
    const seen: number[] = [];
    await expectError(async () => {
      for await (const b of ds.stream({ size: 4, batchSize: 2, log: null })) seen.push(...b.indices);
    }, DataFormatError, `${rec} at byte ${OFFSETS[6]}: record 6 is truncated: it needs ${len6} bytes after its header, only 92 remain`,
    { file: rec, offset: OFFSETS[6] });
    assert.deepEqual(seen, [0, 1, 2, 3]); // the batches before the broken record were delivered
    // cut inside a record header
    const rec2 = write(raw.subarray(0, OFFSETS[9] + 6), idxText(OFFSETS), 'cut');
    const ds2 = await RecordIODataset.open(rec2);
    try {
      await expectError(() => ds2.readRecord(9), DataFormatError,
        `${rec2} at byte ${OFFSETS[9]}: record 9 is truncated: the 8-byte header of the record is cut off (6 bytes remain)`);
    } finally {
      await ds2.close();
    }
  });

  it('wrong magic number -> DataFormatError at the record offset', async () => {
    const raw = Uint8Array.from(fs.readFileSync(REC));
    raw.set([0xde, 0xad, 0xbe, 0xef], OFFSETS[3]);
    const rec = write(raw, idxText(OFFSETS));
    const ds = await RecordIODataset.open(rec);
    await ds.close();
    await expectError(() => ds.stream({ size: 4, log: null }).collect(), DataFormatError,
      `${rec} at byte ${OFFSETS[3]}: bad RecordIO magic 0xefbeadde at record 3 (expected 0xced7230a); ` +
      'the file is not MXNet RecordIO, or the .idx belongs to another .rec', { offset: OFFSETS[3] });
    // an idx from another file: record 0 at a wrong offset is caught when opening
    const rec2 = write(fs.readFileSync(REC), `0\t4\n1\t${OFFSETS[1]}\n`, 'other');
    await expectError(() => RecordIODataset.open(rec2), DataFormatError, new RegExp(`^${rec2} at byte 4: bad RecordIO magic 0x00000020 at record 0`));
    // not a RecordIO file at all
    const rec3 = write(fs.readFileSync(fixture('folder', 'alice', '0001.jpg')), '0\t0\n', 'jpeg');
    await expectError(() => RecordIODataset.open(rec3), DataFormatError, /^.*jpeg\.rec at byte 0: bad RecordIO magic 0xe0ffd8ff at record 0 /);
  });

  it('idx offset past the end of the .rec, malformed idx lines -> DataFormatError naming the idx line', async () => {
    const size = fs.statSync(REC).size;
    const lines = idxText(OFFSETS).split('\n');
    lines[7] = `7\t${size + 100}`;
    const rec = write(fs.readFileSync(REC), lines.join('\n'));
    const idx = path.join(t.dir, 'train.idx');
    await expectError(() => RecordIODataset.open(rec), DataFormatError,
      `${idx} line 8: offset ${size + 100} of record 7 is past the end of ${rec} (${size} bytes)`, { file: idx, line: 8 });
    fs.writeFileSync(idx, '0\t0\n1 x\n');
    await expectError(() => RecordIODataset.open(rec), DataFormatError, `${idx} line 2: expected "<record id><TAB><byte offset>", got "1 x"`);
    fs.writeFileSync(idx, '\n\n');
    await expectError(() => RecordIODataset.open(rec), DataFormatError, `${idx}: index lists no records`);
  });

  it('header record announcing images the idx lacks, bad header records and payloads -> DataFormatError', async () => {
    const idx = path.join(t.dir, 'train.idx');
    const lines = idxText(OFFSETS).split('\n').filter((l) => !l.startsWith('3\t')).join('\n');
    const rec = write(fs.readFileSync(REC), lines);
    await expectError(() => RecordIODataset.open(rec), DataFormatError, `${idx}: image record 3 (record 0 announces images 1..6) is missing from the index`);
    // header record with A = 100: more images than records
    const h = new Uint8Array(32);
    const dv = new DataView(h.buffer);
    dv.setUint32(0, 2, true); dv.setFloat32(24, 100, true); dv.setFloat32(28, 103, true);
    const rec2 = write(record(h), '0\t0\n', 'big');
    await expectError(() => RecordIODataset.open(rec2), DataFormatError,
      `${rec2} at byte 0: header record 0 announces 99 image records (labels [100, 103]), but ${path.join(t.dir, 'big.idx')} lists only 1 records`);
    dv.setFloat32(24, 2.5, true);
    const rec3 = write(record(h), '0\t0\n', 'frac');
    await expectError(() => RecordIODataset.open(rec3), DataFormatError, `${rec3} at byte 0: header record 0 has labels [2.5, 103], expected integers 1 <= A <= B`);
    // a payload shorter than the image record header; extra labels running past the payload; a bad continuation flag
    const short = write(record(new Uint8Array(10)), '0\t0\n', 'short');
    await expectError(() => RecordIODataset.open(short), DataFormatError,
      `${short} at byte 0: record 0 payload is 10 bytes, shorter than the 24-byte image record header`);
    const p = new Uint8Array(28);
    new DataView(p.buffer).setUint32(0, 5, true);
    const flags = write(record(p), '0\t0\n', 'flags');
    await expectError(() => RecordIODataset.open(flags), DataFormatError,
      `${flags} at byte 0: record 0 header announces 5 extra labels (20 bytes), but only 4 bytes follow the header`);
    const cont = write(record(irPayload(0, new Uint8Array(4)), 2), '0\t0\n', 'cont');
    await expectError(() => RecordIODataset.open(cont), DataFormatError,
      `${cont} at byte 0: record 0 part 0 has continuation flag 2, expected 0 (whole) or 1 (first part)`);
    const neg = write(record(irPayload(-3, new Uint8Array(4))), '0\t0\n', 'neg');
    const ds = await RecordIODataset.open(neg);
    await ds.close();
    await expectError(() => ds.stream({ log: null }).collect(), DataFormatError, `${neg} at byte 0: record 0 has label -3, expected a non-negative integer identity`);
  });

  it('missing .rec or .idx -> DataNotFoundError', async () => {
    const rec = path.join(t.dir, 'none.rec');
    await expectError(() => RecordIODataset.open(rec), DataNotFoundError, `${rec}: no such file`, { file: rec });
    fs.copyFileSync(REC, rec);
    const idx = path.join(t.dir, 'none.idx');
    await expectError(() => RecordIODataset.open(rec), DataNotFoundError, `${idx}: no such file (the index of ${rec})`);
    await expectError(() => RecordIODataset.open(REC, { idxPath: idx }), DataNotFoundError, `${idx}: no such file (the index of ${REC})`);
  });
});
