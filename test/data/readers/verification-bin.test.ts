import { strict as assert } from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import {
  DataFormatError, DataNotFoundError, ImageBatch, openVerificationBin, readVerificationBin, UNKNOWN_LABEL, VerificationSet,
} from '../../../src/data/readers';
import { verificationAccuracy } from '../../../src/eval/verification';
import { assertClose, expectError, fixture, pixel, tmpDir } from './helpers';

const bin = (name: string): string => fixture('bin', `${name}.bin`);
const SAME = [1, 0, 1, 0, 1, 0, 1, 0, 1, 0];

describe('data/readers/verification-bin', () => {
  const loaded: Record<string, VerificationSet> = {};
  before(async () => {
    for (const name of ['pairs_p2', 'pairs_p3', 'pairs_p4', 'pairs_p5', 'pairs_py2']) loaded[name] = await readVerificationBin(bin(name), { size: 8, log: null });
  });

  it('reads (bins, issame_list) written by Python 3 (protocols 2-5) and Python 2 identically', () => {
    const ref = loaded.pairs_p4;
    assert.equal(ref.images.count, 20);
    assert.deepEqual([ref.images.height, ref.images.width, ref.images.channels], [8, 8, 3]);
    assert.deepEqual(Array.from(ref.images.labels), new Array(20).fill(UNKNOWN_LABEL));
    assert.deepEqual(Array.from(ref.pairs.left), [0, 2, 4, 6, 8, 10, 12, 14, 16, 18]);
    assert.deepEqual(Array.from(ref.pairs.right), [1, 3, 5, 7, 9, 11, 13, 15, 17, 19]);
    assert.deepEqual(Array.from(ref.pairs.isSame), SAME);
    assert.deepEqual(Array.from(ref.pairs.fold), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    assert.equal(ref.identities, null);
    assert.equal(ref.droppedPairs, 0);
    assert.equal(ref.sources[3], `${bin('pairs_p4')}#3`);
    for (const [name, v] of Object.entries(loaded)) {
      assert.deepEqual(Array.from(v.pairs.isSame), SAME, name);
      assert.deepEqual(v.images.images, ref.images.images, `${name}: same pixels`);
    }
    // image 0 alice (left (220,40,40)); image 3 = right of a different pair = bob (right half (200,200,40))
    assertClose(pixel(ref.images.images, 8, 3, 0, 0, 4), [220, 40, 40], 10);
    assertClose(pixel(ref.images.images, 8, 3, 3, 7, 4), [200, 200, 40], 10);
  });

  it('pairs are ready for the evaluation (contiguous folds); pixel-mean distances verify the toy pairs', () => {
    const v = loaded.pairs_p4;
    const per = 8 * 8 * 3;
    const mean = (i: number): number[] => [0, 1, 2].map((c) => {
      let s = 0;
      for (let k = c; k < per; k += 3) s += v.images.images[i * per + k];
      return s / 64;
    });
    const scores = Float64Array.from(v.pairs.left, (l, k) => -Math.hypot(...mean(l).map((x, c) => x - mean(v.pairs.right[k])[c])));
    const acc = verificationAccuracy(scores, v.pairs.isSame, { folds: 10 });
    assert.equal(acc.foldAccuracies.length, 10);
    assert.ok(acc.accuracy >= 0.9, `accuracy ${acc.accuracy}`);
  });

  it('streams without decoding up front: pairs first, then batches of images', async () => {
    const src = openVerificationBin(bin('pairs_p4'), { size: 4, batchSize: 8, log: null, folds: 5 });
    assert.equal(src.imageCount, 20);
    assert.deepEqual(Array.from(src.pairs.fold), [0, 0, 1, 1, 2, 2, 3, 3, 4, 4]);
    const batches: ImageBatch[] = [];
    for await (const b of src.stream) batches.push(b);
    assert.deepEqual(batches.map((b) => b.count), [8, 8, 4]);
    assert.deepEqual(Array.from(batches[2].indices), [16, 17, 18, 19]);
  });

  it('a corrupt image is skipped and counted; the pairs using it are dropped, the others keep their folds', async () => {
    const lines: string[] = [];
    const v = await readVerificationBin(bin('pairs_corrupt'), { size: 8, log: (l) => lines.push(l) });
    assert.equal(v.images.count, 19);
    assert.equal(v.droppedPairs, 1);
    assert.deepEqual(Array.from(v.pairs.fold), [0, 1, 3, 4, 5, 6, 7, 8, 9]);
    assert.deepEqual(Array.from(v.pairs.left), [0, 2, 5, 7, 9, 11, 13, 15, 17]);
    assert.deepEqual(Array.from(v.pairs.right), [1, 3, 6, 8, 10, 12, 14, 16, 18]);
    assert.deepEqual(Array.from(v.pairs.isSame), [1, 0, 0, 1, 0, 1, 0, 1, 0]);
    assert.deepEqual(v.summary.reasons, [{ source: `${bin('pairs_corrupt')}#5`, reason: 'corrupt or truncated JPEG: unknown JPEG marker 0' }]);
    assert.equal(lines.length, 1);
    assert.match(lines[0], /read 19 of 20 images, skipped 1/);
  });

  it('a pickle of another shape -> DataFormatError naming the file, offset and what was found', async () => {
    await expectError(() => openVerificationBin(bin('shape_dict')), DataFormatError,
      `${bin('shape_dict')} at byte 11: expected a pickled tuple (bins, issame_list), got a dict with 2 entries`, { offset: 11 });
    const t3 = fs.statSync(bin('shape_tuple3')).size - 3; // the TUPLE3 opcode, before MEMOIZE and STOP
    await expectError(() => openVerificationBin(bin('shape_tuple3')), DataFormatError,
      `${bin('shape_tuple3')} at byte ${t3}: expected a pickled tuple (bins, issame_list), got a tuple of 3 items`);
    await expectError(() => openVerificationBin(bin('shape_count')), DataFormatError,
      `${bin('shape_count')} at byte 11: 3 images for 1 pair; expected 2 images per pair (2)`);
    const t = tmpDir();
    try {
      const f = path.join(t.dir, 'x.bin');
      // ([1, 2], [True]) at protocol 2: ] ( K1 K2 e ] ( NEWTRUE e TUPLE2 .
      fs.writeFileSync(f, Uint8Array.from([0x80, 2, 0x5d, 0x28, 0x4b, 1, 0x4b, 2, 0x65, 0x5d, 0x28, 0x88, 0x65, 0x86, 0x2e]));
      await expectError(() => openVerificationBin(f), DataFormatError, `${f} at byte 2: bins[0] is a number (1), expected bytes (an encoded image)`);
      // ([b'a', b'b'], ['x'])
      fs.writeFileSync(f, Uint8Array.from([0x80, 3, 0x5d, 0x28, 0x43, 1, 0x61, 0x43, 1, 0x62, 0x65, 0x5d, 0x8c, 1, 0x78, 0x61, 0x86, 0x2e]));
      await expectError(() => openVerificationBin(f), DataFormatError, `${f} at byte 11: issame_list[0] is a str of 1 character, expected a bool`);
      // ([], [])
      fs.writeFileSync(f, Uint8Array.from([0x80, 3, 0x5d, 0x5d, 0x86, 0x2e]));
      await expectError(() => openVerificationBin(f), DataFormatError, `${f} at byte 3: issame_list is empty: no pairs`);
      // (b'', [])
      fs.writeFileSync(f, Uint8Array.from([0x80, 3, 0x43, 0, 0x5d, 0x86, 0x2e]));
      await expectError(() => openVerificationBin(f), DataFormatError, `${f} at byte 5: bins (item 0 of the tuple) is bytes (0 bytes), expected a list of image bytes`);
      fs.writeFileSync(f, '');
      await expectError(() => openVerificationBin(f), DataFormatError, `${f} at byte 0: file is empty`);
    } finally {
      t.cleanup();
    }
  });

  it('unsupported opcodes, a missing file, too few pairs for the folds', async () => {
    const setAt = fs.statSync(bin('opcode_set')).size - 8; // EMPTY_SET, then MEMOIZE MARK NEWTRUE ADDITEMS TUPLE2 MEMOIZE STOP
    await expectError(() => openVerificationBin(bin('opcode_set')), DataFormatError,
      `${bin('opcode_set')} at byte ${setAt}: unsupported pickle opcode 0x8f (EMPTY_SET)`, { offset: setAt });
    await expectError(() => openVerificationBin(bin('opcode_proto0')), DataFormatError,
      `${bin('opcode_proto0')} at byte 3: unsupported pickle opcode 0x70 (PUT)`);
    const missing = fixture('bin', 'agedb_30.bin');
    await expectError(() => readVerificationBin(missing), DataNotFoundError, `${missing}: no such file`, { file: missing });
    await expectError(() => openVerificationBin(bin('pairs_p4'), { folds: 20 }), DataFormatError, `${bin('pairs_p4')}: 10 pairs cannot fill 20 folds`);
    assert.throws(() => openVerificationBin(bin('pairs_p4'), { folds: 0 }), /^RangeError: folds must be a positive integer, got 0$/);
  });
});
