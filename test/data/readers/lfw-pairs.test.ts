import { strict as assert } from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import {
  DataFormatError, DataNotFoundError, lfwImagePath, openLfwPairs, parseLfwPairs, readLfwPairs,
} from '../../../src/data/readers';
import { assertClose, expectError, fixture, pixel, tmpDir } from './helpers';

const PAIRS = fixture('lfw', 'pairs.txt');
const IMAGES = fixture('lfw', 'images');
const GOOD = fs.readFileSync(PAIRS, 'utf8');

describe('data/readers/lfw-pairs', () => {
  let t: { dir: string; cleanup: () => void };
  beforeEach(() => { t = tmpDir('lfw-'); });
  afterEach(() => t.cleanup());
  const pairsFile = (text: string): string => {
    const f = path.join(t.dir, 'pairs.txt');
    fs.writeFileSync(f, text);
    return f;
  };

  it('reads pairs.txt over <root>/<name>/<name>_<nnnn>.jpg: distinct images, identity labels, LFW folds', async () => {
    const v = await readLfwPairs(PAIRS, IMAGES, { size: 8, log: null });
    assert.deepEqual(v.identities, ['Alice_Smith', 'Bob_Jones', 'Carol_White']);
    assert.deepEqual(v.sources.map((s) => path.relative(IMAGES, s)), [
      'Alice_Smith/Alice_Smith_0001.jpg', 'Alice_Smith/Alice_Smith_0002.jpg', 'Bob_Jones/Bob_Jones_0001.jpg',
      'Bob_Jones/Bob_Jones_0003.jpg', 'Bob_Jones/Bob_Jones_0002.jpg', 'Carol_White/Carol_White_0001.jpg',
      'Alice_Smith/Alice_Smith_0003.jpg', 'Carol_White/Carol_White_0002.jpg',
    ]);
    assert.deepEqual(Array.from(v.images.labels), [0, 0, 1, 1, 1, 2, 0, 2]);
    assert.deepEqual(Array.from(v.pairs.left), [0, 2, 0, 5, 5, 4, 2, 1]);
    assert.deepEqual(Array.from(v.pairs.right), [1, 3, 4, 6, 7, 3, 7, 5]);
    assert.deepEqual(Array.from(v.pairs.isSame), [1, 1, 0, 0, 1, 1, 0, 0]);
    assert.deepEqual(Array.from(v.pairs.fold), [0, 0, 0, 0, 1, 1, 1, 1]);
    for (let k = 0; k < 8; k++) {
      assert.equal(v.images.labels[v.pairs.left[k]] === v.images.labels[v.pairs.right[k]], v.pairs.isSame[k] === 1, `pair ${k}`);
    }
    assertClose(pixel(v.images.images, 8, 3, 2, 0, 4), [46, 206, 46], 10, 'Bob_Jones_0001 left half (40,200,40) + 6');
    assert.equal(v.droppedPairs, 0);
    assert.equal(lfwImagePath('/r', 'A_B', 12), path.join('/r', 'A_B', 'A_B_0012.jpg'));
  });

  it('a single-number header (View 1 files) is one fold; blank lines and CRLF are accepted', () => {
    const p = parseLfwPairs('2\r\n\r\nA\t1\t2\r\nB\t1\t2\r\nA\t1\tB\t2\r\nA\t2\tB\t1\r\n\r\n', 'dev.txt');
    assert.equal(p.folds, 1);
    assert.equal(p.pairsPerFold, 2);
    assert.deepEqual(p.pairs.map((x) => [x.name1, x.n1, x.name2, x.n2, x.same, x.line]), [
      ['A', 1, 'A', 2, true, 3], ['B', 1, 'B', 2, true, 4], ['A', 1, 'B', 2, false, 5], ['A', 2, 'B', 1, false, 6],
    ]);
  });

  it('bad counts, fields, numbers and headers -> DataFormatError naming the file and line', async () => {
    const lines = GOOD.trimEnd().split('\n');
    let f = pairsFile(lines.slice(0, 8).join('\n'));
    await expectError(() => openLfwPairs(f, IMAGES), DataFormatError,
      `${f} line 8: the header promises 2 folds x 2 x 2 = 8 pair lines, but the file ends after 7`, { file: f, line: 8 });
    f = pairsFile(`${GOOD}Alice_Smith\t1\t2\n`);
    await expectError(() => openLfwPairs(f, IMAGES), DataFormatError, `${f} line 10: more pair lines than the header's 2 folds x 2 x 2 = 8`);
    f = pairsFile(GOOD.replace('Bob_Jones\t1\t3', 'Bob_Jones\t1'));
    await expectError(() => openLfwPairs(f, IMAGES), DataFormatError,
      `${f} line 3: expected 3 fields (name n1 n2) or 4 fields (name1 n1 name2 n2), got 2`, { line: 3 });
    f = pairsFile(GOOD.replace('Bob_Jones\t1\t3', 'Bob_Jones\t1\tx'));
    await expectError(() => openLfwPairs(f, IMAGES), DataFormatError, `${f} line 3: image number "x" is not a positive integer`);
    f = pairsFile(GOOD.replace('Bob_Jones\t1\t3', 'Bob_Jones\t0\t3'));
    await expectError(() => openLfwPairs(f, IMAGES), DataFormatError, `${f} line 3: image number "0" is not a positive integer`);
    f = pairsFile(GOOD.replace('2\t2\n', 'ten\t300\n'));
    await expectError(() => openLfwPairs(f, IMAGES), DataFormatError,
      `${f} line 1: expected a header "<folds>\\t<pairs per fold>" (or "<pairs>"), got "ten\\t300"`, { line: 1 });
    f = pairsFile(GOOD.replace('2\t2\n', '2\t2\t2\n'));
    await expectError(() => openLfwPairs(f, IMAGES), DataFormatError, /line 1: expected a header/);
    // the header says 2 per fold, but fold 1 has 1 same pair then 3 different pairs
    f = pairsFile(GOOD.replace('Bob_Jones\t1\t3', 'Bob_Jones\t1\tAlice_Smith\t3'));
    await expectError(() => openLfwPairs(f, IMAGES), DataFormatError,
      `${f} line 3: fold 1 should have 2 same pairs then 2 different pairs (header 2 x 2), but its pair 2 is a different pair`);
    f = pairsFile('\n\n');
    await expectError(() => openLfwPairs(f, IMAGES), DataFormatError, `${f}: file is empty (expected a header line "<folds>\\t<pairs per fold>")`);
  });

  it('missing pairs file, root or image -> DataNotFoundError', async () => {
    const none = path.join(t.dir, 'none.txt');
    await expectError(() => readLfwPairs(none, IMAGES), DataNotFoundError, `${none}: no such file`, { file: none });
    const noRoot = path.join(t.dir, 'lfw');
    await expectError(() => readLfwPairs(PAIRS, noRoot), DataNotFoundError, `${noRoot}: no such folder (expected the LFW image folder)`);
    const f = pairsFile(GOOD.replace('Bob_Jones\t1\t3', 'Bob_Jones\t1\t9').replace('Bob_Jones\t2\t3', 'Bob_Jones\t2\t7'));
    await expectError(() => readLfwPairs(f, IMAGES), DataNotFoundError,
      `${f} line 3: image ${path.join(IMAGES, 'Bob_Jones', 'Bob_Jones_0009.jpg')} does not exist (and 1 more missing images)`, { line: 3 });
    await expectError(() => readLfwPairs(PAIRS, IMAGES, { extension: 'png' }), DataNotFoundError,
      `${PAIRS} line 2: image ${path.join(IMAGES, 'Alice_Smith', 'Alice_Smith_0001.png')} does not exist (and 7 more missing images)`);
  });

  it('a corrupt image is skipped and its pairs dropped; stream before decoding', async () => {
    const root = path.join(t.dir, 'images');
    fs.cpSync(IMAGES, root, { recursive: true });
    const broken = path.join(root, 'Carol_White', 'Carol_White_0001.jpg');
    fs.writeFileSync(broken, fs.readFileSync(broken).subarray(0, 100));
    const src = await openLfwPairs(PAIRS, root, { size: 4, log: null });
    assert.equal(src.imageCount, 8);
    assert.deepEqual(src.identities, ['Alice_Smith', 'Bob_Jones', 'Carol_White']);
    const v = await src.load();
    assert.equal(v.images.count, 7);
    assert.equal(v.droppedPairs, 3); // Carol_White 1 is in pairs 4, 5 and 8
    assert.deepEqual(Array.from(v.pairs.fold), [0, 0, 0, 1, 1]);
    assert.deepEqual(Array.from(v.pairs.isSame), [1, 1, 0, 1, 0]);
    assert.equal(v.summary.reasons[0].source, broken);
  });
});
