import { strict as assert } from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import {
  createDataset, createRecordIOBenchmark, DataFormatError, DataNotFoundError, DataReaderError, RecordIODataset, recordLabel,
  RecordIOFileSync, UserDatasetError,
} from '../../../src/data';
import type { FaceBenchmark, ImageSet } from '../../../src/data';
import { checkBenchmark, identityPng, writeInsightfaceRec, writeRec, irPack } from './helpers';

const FIXTURES = path.join(__dirname, '..', '..', 'fixtures', 'readers', 'recordio');
const quiet = { log: null };

/** Same error class and message from the sync reader as from the readers' async one. */
async function sameError(sync: () => unknown, async: () => Promise<unknown>): Promise<DataReaderError> {
  let a: unknown = null, b: unknown = null;
  try { sync(); } catch (e) { a = e; }
  try { await async(); } catch (e) { b = e; }
  assert.ok(a instanceof DataReaderError, `sync: ${String(a)}`);
  assert.ok(b instanceof DataReaderError, `async: ${String(b)}`);
  assert.equal(a.constructor, b.constructor);
  assert.equal(a.message, b.message);
  return a;
}

/** Images of each label, in order. */
function byLabel(set: ImageSet, per: number): Map<number, Float32Array[]> {
  const m = new Map<number, Float32Array[]>();
  for (let i = 0; i < set.count; i++) {
    const l = set.labels[i];
    if (!m.has(l)) m.set(l, []);
    m.get(l)?.push(set.images.subarray(i * per, (i + 1) * per));
  }
  return m;
}

describe('data/user: recordio', function () {
  this.timeout(60000);
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'coreface-user-rec-'));
  const rec = path.join(tmp, 'train.rec');
  const OPTS = { path: rec, size: 16, channels: 1 as const, testIdentities: 20 };
  let bench: FaceBenchmark;

  before(() => {
    // 24 identities x 3 images; identity 5's 2nd image packed as a label vector holding the magic (a 2-part record);
    // identity 7 has a 4th, truncated image (skipped); identity 100 has 1 image (dropped)
    const images: [number, Uint8Array, boolean?][] = [];
    for (let k = 0; k < 24; k++) {
      for (let j = 0; j < 3; j++) images.push([k, identityPng(k, j), k === 5 && j === 1]);
      if (k === 7) { const g = identityPng(7, 3); images.push([7, g.subarray(0, g.length - 20)]); }
    }
    images.push([100, identityPng(100, 0)]);
    writeInsightfaceRec(path.join(tmp, 'train'), images);
    bench = createRecordIOBenchmark(OPTS, quiet);
  });
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it('RecordIOFileSync reads the fixtures as the readers\' RecordIODataset does (layout, labels, image bytes)', async () => {
    for (const name of ['train', 'noheader', 'corrupt']) {
      const file = path.join(FIXTURES, `${name}.rec`);
      const a = RecordIOFileSync.open(file);
      const b = await RecordIODataset.open(file);
      try {
        assert.deepEqual(a.layout, b.layout, name);
        assert.deepEqual(a.keys, b.keys);
        for (const id of a.layout.imageIds) {
          const r = await b.readRecord(id);
          assert.equal(a.label(id), recordLabel(r.header, file, id, r.offset), `${name}#${id} label`);
          assert.deepEqual(a.image(id), r.image, `${name}#${id} image`);
          assert.deepEqual(a.payload(id).length, 24 + 4 * r.header.flag + r.image.length);
        }
      } finally {
        a.close();
        await b.close();
      }
    }
  });

  it('broken containers: the same typed errors and messages as the readers', async () => {
    const src = fs.readFileSync(path.join(FIXTURES, 'train.rec'));
    const idx = fs.readFileSync(path.join(FIXTURES, 'train.idx'), 'utf8');
    const dir = path.join(tmp, 'broken');
    fs.mkdirSync(dir);
    const cut = path.join(dir, 'cut.rec');
    fs.writeFileSync(cut, src.subarray(0, src.length - 200));
    fs.writeFileSync(path.join(dir, 'cut.idx'), idx.split('\n').filter((l) => l && Number(l.split('\t')[1]) < src.length - 200).join('\n'));
    const lastImage = 6;
    const sa = RecordIOFileSync.open(cut), sb = await RecordIODataset.open(cut);
    try {
      const e = await sameError(() => sa.image(lastImage), () => sb.readRecord(lastImage));
      assert.ok(e instanceof DataFormatError && /truncated/.test(e.message), e.message);
      await sameError(() => sa.image(99), () => sb.readRecord(99));
    } finally {
      sa.close();
      await sb.close();
    }
    fs.writeFileSync(path.join(dir, 'magic.rec'), src);
    fs.writeFileSync(path.join(dir, 'magic.idx'), idx.replace(/^0\t0$/m, '0\t4'));
    await sameError(() => RecordIOFileSync.open(path.join(dir, 'magic.rec')), () => RecordIODataset.open(path.join(dir, 'magic.rec')));
    fs.writeFileSync(path.join(dir, 'badidx.rec'), src);
    fs.writeFileSync(path.join(dir, 'badidx.idx'), '0\t0\nnot a line\n');
    await sameError(() => RecordIOFileSync.open(path.join(dir, 'badidx.rec')), () => RecordIODataset.open(path.join(dir, 'badidx.rec')));
    fs.writeFileSync(path.join(dir, 'noidx.rec'), src);
    const e = await sameError(() => RecordIOFileSync.open(path.join(dir, 'noidx.rec')), () => RecordIODataset.open(path.join(dir, 'noidx.rec')));
    assert.ok(e instanceof DataNotFoundError);
    await sameError(() => RecordIOFileSync.open(path.join(dir, 'none.rec')), () => RecordIODataset.open(path.join(dir, 'none.rec')));
    assert.throws(() => createDataset('recordio', { path: path.join(dir, 'none.rec') }), /none\.rec: no such file/);
  });

  it('builds the benchmark: held-out identities disjoint, labels 0..K-1, drops and skips counted', () => {
    // the writer split one record in 2 parts (cflag 1 then 3): the label pass joins them
    const bytes = fs.readFileSync(rec);
    const cflags: number[] = [];
    for (let pos = 0; pos < bytes.length;) {
      const lrec = bytes.readUInt32LE(pos + 4);
      cflags.push(lrec >>> 29);
      pos += 8 + (((lrec & 0x1fffffff) + 3) & ~3);
    }
    assert.deepEqual(cflags.filter((f) => f !== 0), [1, 3]);
    checkBenchmark(bench);
    const m = bench.meta as { counts: Record<string, number>; droppedIdentities: { names: string[] }; trainIdentities: { names: string[] };
      heldOutIdentities: { names: string[] }; skipped: { first: { source: string }[] }; source: Record<string, unknown> };
    const c = m.counts;
    assert.equal(c.identitiesFound, 25);
    assert.equal(c.identitiesDropped, 1);
    assert.deepEqual(m.droppedIdentities.names, ['100']);
    assert.equal(c.trainIdentities, 4);
    assert.equal(c.heldOutIdentities, 20);
    assert.equal(bench.numClasses, 4);
    assert.equal(c.imagesListed, 24 * 3 + 2);
    assert.equal(c.imagesSkipped, 1);
    assert.deepEqual(m.skipped.first.map((s) => s.source), [`${rec}#25`]); // identity 7's 4th image is record 25
    assert.equal(c.train + c.test, 72);
    const train = m.trainIdentities.names, held = m.heldOutIdentities.names;
    assert.equal(new Set([...train, ...held]).size, 24);
    assert.deepEqual([...train].map(Number), [...train].map(Number).sort((a, b) => a - b), 'identities in label order');
    assert.deepEqual(m.source, { format: 'insightface RecordIO (.rec + .idx)', idx: 'train.idx', headerIdentities: 25, records: 1 + 74 + 25, path: rec });
  });

  it('gives the same pixels as the readers\' stream, per identity', async () => {
    const ds = await RecordIODataset.open(rec);
    await ds.close();
    const { set } = await ds.stream({ size: 16, channels: 1, log: null }).collect();
    const per = 16 * 16;
    const ref = byLabel(set, per);
    const m = bench.meta as { trainIdentities: { names: string[] }; heldOutIdentities: { names: string[] } };
    for (const [s, names] of [[bench.train, m.trainIdentities.names], [bench.test, m.heldOutIdentities.names]] as const) {
      for (const [label, imgs] of byLabel(s, per)) {
        const want = ref.get(Number(names[label])) as Float32Array[];
        assert.equal(imgs.length, want.length);
        imgs.forEach((im, j) => assert.deepEqual(im, want[j], `identity ${names[label]} image ${j}`));
      }
    }
  });

  it('is deterministic for a seed', () => {
    const again = createRecordIOBenchmark(OPTS, quiet);
    assert.deepEqual(again.train, bench.train);
    assert.deepEqual(again.test, bench.test);
    assert.deepEqual(again.pairs, bench.pairs);
    assert.deepEqual(again.identification, bench.identification);
    const other = createRecordIOBenchmark({ ...OPTS, seed: 7 }, quiet);
    assert.notDeepEqual((other.meta as { trainIdentities: unknown }).trainIdentities, (bench.meta as { trainIdentities: unknown }).trainIdentities);
  });

  it('a .rec without header record: every idx record is an image', () => {
    const base = path.join(tmp, 'plain');
    const records: [number, Uint8Array][] = [];
    let id = 0;
    for (let k = 0; k < 22; k++) for (let j = 0; j < 2; j++) records.push([id++, irPack(k, identityPng(k, j), id)]);
    writeRec(base, records);
    const b = createRecordIOBenchmark({ path: `${base}.rec`, size: 8, testIdentities: 20 }, quiet);
    checkBenchmark(b);
    assert.equal(b.numClasses, 2);
    assert.equal((b.meta.counts as { pairsPerFold: number }).pairsPerFold, 2); // 2 identities x 2 images per fold
  });

  it('memory guard and too few identities (the 3-identity fixture)', () => {
    assert.throws(() => createRecordIOBenchmark({ ...OPTS, maxImages: 10 }, quiet), (e: unknown) => e instanceof UserDatasetError &&
      /recordio: .*train\.rec has 73 images \(of 24 identities with >= 2 images\); held as float32 at 16x16x1 they take about 74.8 KB .*maxImages=10 .*"maxImages": 73/.test(e.message));
    assert.throws(() => createRecordIOBenchmark({ path: path.join(FIXTURES, 'train.rec') }, quiet), (e: unknown) => e instanceof UserDatasetError &&
      /recordio: 2 identities with >= 2 images listed, 0 held out for evaluation \(testIdentities=0\.2\); .*at least 20 held-out identities .*add identities: at least 22/.test(e.message));
    assert.throws(() => createRecordIOBenchmark({}, quiet), /recordio needs options\.path \(the \.rec file; its \.idx beside it\)/);
  });
});
