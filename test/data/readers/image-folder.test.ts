import { strict as assert } from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import {
  DataNotFoundError, ImageBatch, imageFolderStream, isImageFileName, loadImageFolder, openImageFolder, scanImageFolder,
} from '../../../src/data/readers';
import { assertClose, expectError, fixture, pixel, tmpDir } from './helpers';

const ROOT = fixture('folder');

describe('data/readers/image-folder', () => {
  it('scans root/<identity>/<image>: sorted identities and files, case-insensitive extensions, counts', async () => {
    const lines: string[] = [];
    const index = await scanImageFolder(ROOT, { log: (l) => lines.push(l) });
    assert.deepEqual(index.identities, ['alice', 'bob', 'carol']);
    assert.deepEqual(index.files.map((f) => path.relative(ROOT, f)), [
      'alice/0001.jpg', 'alice/0002.png',
      'bob/IMG_0001.JPG', 'bob/grey.png', 'bob/img_0002.jpeg', 'bob/rgba.png',
      'carol/0001.jpg', 'carol/broken.jpg', 'carol/fake.png',
    ]);
    assert.deepEqual(Array.from(index.labels), [0, 0, 1, 1, 1, 1, 2, 2, 2]);
    assert.deepEqual(index.emptyIdentities, ['zed_empty']);
    assert.equal(index.ignored, 4); // README.txt in root, alice/.hidden.jpg, carol/notes.txt, zed_empty/README.txt
    assert.deepEqual(lines, [`${ROOT}: 3 identities, 9 images (4 other entries ignored, 1 empty identity folder)`]);
    assert.ok(isImageFileName('A.JPEG') && isImageFileName('b.Png') && !isImageFileName('.jpg') && !isImageFileName('x.gif'));
  });

  it('streams batches; skips the truncated JPEG and the fake PNG with reasons; summary printed once', async () => {
    const lines: string[] = [];
    const { stream } = await openImageFolder(ROOT, { size: 8, batchSize: 3, log: (l) => lines.push(l) });
    const batches: ImageBatch[] = [];
    for await (const b of stream) batches.push(b);
    assert.deepEqual(batches.map((b) => Array.from(b.labels)), [[0, 0, 1], [1, 1, 1], [2]]);
    assert.deepEqual(batches.map((b) => Array.from(b.indices)), [[0, 1, 2], [3, 4, 5], [6]]);
    assert.deepEqual([batches[0].height, batches[0].width, batches[0].channels], [8, 8, 3]);
    const s = stream.summary;
    assert.deepEqual([s.total, s.read, s.skipped, s.complete], [9, 7, 2, true]);
    assert.deepEqual(s.reasons, [
      { source: path.join(ROOT, 'carol', 'broken.jpg'), reason: 'corrupt or truncated JPEG: unknown JPEG marker 0' },
      { source: path.join(ROOT, 'carol', 'fake.png'), reason: 'not a JPEG or PNG (31 bytes, starting 74 68 69 73)' },
    ]);
    assert.equal(lines.length, 2); // scan line + summary
    assert.equal(lines[1].split('\n')[0].replace(/\(\d+\.\d s\)/, '(T)'), `${ROOT}: read 7 of 9 images, skipped 2 (T)`);
    assert.equal(lines[1].split('\n')[1], `  skipped ${path.join(ROOT, 'carol', 'broken.jpg')}: corrupt or truncated JPEG: unknown JPEG marker 0`);
  });

  it('loads a folder into one ImageSet: exact PNG pixels at native size, JPEG colours, crop of portrait images', async () => {
    const { set, identities, numClasses, sources, summary } = await loadImageFolder(ROOT, { size: 4, log: null });
    assert.deepEqual(identities, ['alice', 'bob', 'carol']);
    assert.equal(numClasses, 3);
    assert.equal(set.count, 7);
    assert.deepEqual(Array.from(set.labels), [0, 0, 1, 1, 1, 1, 2]);
    assert.equal(sources[1], path.join(ROOT, 'alice', '0002.png'));
    assert.equal(summary.skipped, 2);
    // alice/0002.png is 4x4: copied exactly; pixel (x, y) = (17k mod 256, 255 - 16k, 40y + 10x), k = 4y + x
    for (let y = 0; y < 4; y++) {
      for (let x = 0; x < 4; x++) {
        const k = 4 * y + x;
        assertClose(pixel(set.images, 4, 3, 1, x, y), [(17 * k) % 256, 255 - 16 * k, 40 * y + 10 * x], 1e-4, `png (${x},${y})`);
      }
    }
    // alice/0001.jpg 16x12, left half (220,40,40), right half (40,40,220): resized to 5x4, cropped to 4x4
    assertClose(pixel(set.images, 4, 3, 0, 0, 0), [220, 40, 40], 8, 'jpeg left');
    assertClose(pixel(set.images, 4, 3, 0, 3, 3), [40, 40, 220], 8, 'jpeg right');
    // bob/IMG_0001.JPG is portrait 12x16 (left (40,200,40), right (200,200,40)): resized to 4x5, rows 0..3 kept
    assertClose(pixel(set.images, 4, 3, 2, 0, 0), [40, 200, 40], 8, 'portrait left');
    assertClose(pixel(set.images, 4, 3, 2, 3, 3), [200, 200, 40], 8, 'portrait right');
    // bob/grey.png: grey ramp 100 + 10x over 8 columns, 8x8 -> 4x4 averages column pairs: 105, 125, 145, 165
    assertClose([0, 1, 2, 3].map((x) => pixel(set.images, 4, 3, 3, x, 2)[0]), [105, 125, 145, 165], 1e-3, 'grey png');
    // bob/rgba.png: alpha 0 on the left half is ignored, the stored colour is used
    assertClose(pixel(set.images, 4, 3, 5, 0, 0), [40, 200, 40], 1e-3, 'rgba left');
  });

  it('channels 1 and flip', async () => {
    const grey = await loadImageFolder(ROOT, { size: 4, channels: 1, log: null });
    assert.equal(grey.set.channels, 1);
    assert.equal(grey.set.images.length, 7 * 16);
    assertClose(pixel(grey.set.images, 4, 1, 0, 0, 0), [0.299 * 220 + 0.587 * 40 + 0.114 * 40], 8, 'luma');
    const flipped = await loadImageFolder(ROOT, { size: 4, flip: true, log: null });
    assertClose(pixel(flipped.set.images, 4, 3, 0, 0, 0), [40, 40, 220], 8, 'flipped jpeg left is the right half');
    assertClose(pixel(flipped.set.images, 4, 3, 1, 0, 0), pixel((await loadImageFolder(ROOT, { size: 4, log: null })).set.images, 4, 3, 1, 3, 0), 1e-6);
  });

  it('missing root, root that is a file, folder without images -> DataNotFoundError', async () => {
    const t = tmpDir();
    try {
      const missing = path.join(t.dir, 'nope');
      await expectError(() => scanImageFolder(missing, { log: null }), DataNotFoundError, `${missing}: no such folder`, { file: missing });
      const file = path.join(t.dir, 'file.txt');
      fs.writeFileSync(file, 'x');
      await expectError(() => scanImageFolder(file, { log: null }), DataNotFoundError, `${file}: is a file, expected a folder of identity folders`);
      await expectError(() => loadImageFolder(t.dir, { log: null }), DataNotFoundError,
        `${t.dir}: no images found (expected ${path.join(t.dir, '<identity>', '<image>')} with extension .jpg, .jpeg, .png; found 0 sub-folders and 1 other entries)`);
      fs.mkdirSync(path.join(t.dir, 'someone'));
      fs.writeFileSync(path.join(t.dir, 'someone', 'a.txt'), 'x');
      await expectError(() => scanImageFolder(t.dir, { log: null }), DataNotFoundError,
        /no images found \(.*found 1 sub-folders and 2 other entries\)$/);
    } finally {
      t.cleanup();
    }
  });

  it('an image deleted after the scan is skipped with the read error', async () => {
    const t = tmpDir();
    try {
      fs.mkdirSync(path.join(t.dir, 'x'));
      for (const f of ['a.jpg', 'b.jpg']) fs.copyFileSync(fixture('folder', 'alice', '0001.jpg'), path.join(t.dir, 'x', f));
      const index = await scanImageFolder(t.dir, { log: null });
      fs.unlinkSync(path.join(t.dir, 'x', 'a.jpg'));
      const { set, summary } = await imageFolderStream(index, { size: 4, log: null }).collect();
      assert.equal(set.count, 1);
      assert.deepEqual(summary.reasons, [{ source: path.join(t.dir, 'x', 'a.jpg'), reason: 'cannot read file (ENOENT)' }]);
    } finally {
      t.cleanup();
    }
  });

  it('streams 1200 files with progress every 500 (linear scan, bounded memory)', async function () {
    this.timeout(60000);
    const t = tmpDir();
    try {
      const jpg = fs.readFileSync(fixture('lfw', 'images', 'Alice_Smith', 'Alice_Smith_0001.jpg'));
      for (let k = 0; k < 12; k++) {
        const d = path.join(t.dir, `id${String(k).padStart(2, '0')}`);
        fs.mkdirSync(d);
        for (let i = 0; i < 100; i++) fs.writeFileSync(path.join(d, `${i}.jpg`), jpg);
      }
      const progress: number[] = [];
      const lines: string[] = [];
      const { index, stream } = await openImageFolder(t.dir, { size: 8, batchSize: 100, progressEvery: 500, onProgress: (p) => progress.push(p.done), log: (l) => lines.push(l) });
      assert.equal(index.identities.length, 12);
      let n = 0, maxBatch = 0;
      for await (const b of stream) { n += b.count; maxBatch = Math.max(maxBatch, b.count); }
      assert.equal(n, 1200);
      assert.equal(maxBatch, 100);
      assert.deepEqual(progress, [500, 1000, 1200]);
      assert.equal(lines.length, 4); // scan, 2 progress lines, summary
      assert.match(lines[1], /: 500\/1200 images \(0 skipped/);
    } finally {
      t.cleanup();
    }
  });
});
