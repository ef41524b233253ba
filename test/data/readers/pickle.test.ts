import { strict as assert } from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import {
  BufferByteSource, DataFormatError, DataNotFoundError, describePickleValue, opcodeName, PickleBytesRef, PickleDict, pickleOffset,
  PickleTuple, PickleValue, unpickle, unpickleFile,
} from '../../../src/data/readers';
import { expectError, tmpDir } from './helpers';

const X300 = '78'.repeat(300);
/**
 * Python 3.11 `pickle.dumps(obj, protocol)` of
 * obj = (b'ab', [True, False], 'hé', 300, -5, 2**40, 1.5, None, {'k': 1}, (), 2**70, 70000, b'x' * 300).
 * Protocol 2 pickles bytes as `_codecs.encode(str, 'latin1')`; 3 uses BINBYTES; 4 and 5 add FRAME and MEMOIZE.
 */
const DUMPS: Record<number, string> = {
  2: '800228635f636f646563730a656e636f64650a710058020000006162710158060000006c6174696e3171028671035271045d710528888965580300000068c3a971064d2c014afbffffff8a06000000000001473ff80000000000004e7d710758010000006b71084b0173298a090000000000000000404a701101006800582c010000' + X300 + '7109680286710a52710b74710c2e',
  3: '8003284302616271005d710128888965580300000068c3a971024d2c014afbffffff8a06000000000001473ff80000000000004e7d710358010000006b71044b0173298a090000000000000000404a70110100422c010000' + X300 + '71057471062e',
  4: '8004957b010000000000002843026162945d94288889658c0368c3a9944d2c014afbffffff8a06000000000001473ff80000000000004e7d948c016b944b0173298a090000000000000000404a70110100422c010000' + X300 + '9474942e',
  5: '8005957b010000000000002843026162945d94288889658c0368c3a9944d2c014afbffffff8a06000000000001473ff80000000000004e7d948c016b944b0173298a090000000000000000404a70110100422c010000' + X300 + '9474942e',
};
const hex = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s, 'hex'));
const bytes = (...b: number[]): Uint8Array => Uint8Array.from(b);

function dict(...kv: [PickleValue, PickleValue][]): PickleDict {
  const d = new PickleDict();
  d.entries.push(...kv);
  return d;
}

const EXPECTED = new PickleTuple([
  bytes(0x61, 0x62), [true, false], 'hé', 300, -5, 2 ** 40, 1.5, null, dict(['k', 1]), new PickleTuple([]), 2n ** 70n, 70000,
  new Uint8Array(300).fill(0x78),
]);

describe('data/readers/pickle', () => {
  for (const p of [2, 3, 4, 5]) {
    it(`decodes what Python 3 writes at protocol ${p}`, () => {
      assert.deepStrictEqual(unpickle(hex(DUMPS[p])), EXPECTED);
    });
  }

  it('memo references return the same object (BINPUT/BINGET and MEMOIZE)', () => {
    for (const h of ['8004950a000000000000005d944b0161680086942e', '80025d71004b016168008671012e']) {
      const v = unpickle(hex(h)) as PickleTuple;
      assert.deepStrictEqual(v, new PickleTuple([[1], [1]]));
      assert.equal(v.items[0], v.items[1]);
    }
  });

  it('lazyBytes returns the location of long byte strings instead of reading them; offsets of containers', () => {
    const data = hex(DUMPS[4]);
    const v = unpickle(new BufferByteSource(data), { lazyBytes: 100 }) as PickleTuple;
    assert.deepStrictEqual(v.items[0], bytes(0x61, 0x62));
    const ref = v.items[12] as PickleBytesRef;
    assert.ok(ref instanceof PickleBytesRef);
    assert.equal(ref.length, 300);
    assert.deepStrictEqual(data.subarray(ref.offset, ref.offset + 300), new Uint8Array(300).fill(0x78));
    assert.equal(pickleOffset(v.items[1]), 17); // the EMPTY_LIST opcode of [True, False]
    assert.equal(pickleOffset(v), data.length - 3); // TUPLE, before MEMOIZE and STOP
  });

  it('Python 2 str (SHORT_BINSTRING / BINSTRING) reads as bytes; ints, floats, LONG1 negatives', () => {
    // (b'ab', b'c' * 3 as BINSTRING, -1 as LONG1 ff, 2.0, 65535 BININT2)
    const v = unpickle(bytes(0x80, 2, 0x28, 0x55, 2, 0x61, 0x62, 0x54, 3, 0, 0, 0, 0x63, 0x63, 0x63, 0x8a, 1, 0xff,
      0x47, 0x40, 0, 0, 0, 0, 0, 0, 0, 0x4d, 0xff, 0xff, 0x74, 0x2e));
    assert.deepStrictEqual(v, new PickleTuple([bytes(0x61, 0x62), bytes(0x63, 0x63, 0x63), -1, 2, 65535]));
  });

  it('unsupported or malformed input -> DataFormatError naming the opcode and byte offset', async () => {
    const bad = (b: Uint8Array): (() => PickleValue) => () => unpickle(b, { file: 'x.pkl' });
    await expectError(bad(bytes(0x80, 4, 0x8f, 0x2e)), DataFormatError, 'x.pkl at byte 2: unsupported pickle opcode 0x8f (EMPTY_SET)', { file: 'x.pkl', offset: 2 });
    await expectError(bad(bytes(0xff)), DataFormatError, 'x.pkl at byte 0: unsupported pickle opcode 0xff (not a pickle opcode)');
    await expectError(bad(bytes(0x80, 7)), DataFormatError, 'x.pkl at byte 0: unsupported pickle protocol 7 (at most 5)');
    await expectError(bad(bytes(0x80, 4, 0x43, 5, 0x61)), DataFormatError,
      'x.pkl at byte 2: truncated pickle: 0x43 (SHORT_BINBYTES) needs 5 more bytes, only 1 remain');
    await expectError(bad(bytes(0x8e, 0, 0, 0, 0, 0, 0, 0, 0x40)), DataFormatError,
      'x.pkl at byte 0: truncated pickle: 0x8e (BINBYTES8) needs 9007199254740991 more bytes, only 0 remain');
    await expectError(bad(bytes(0x80, 4, 0x4e)), DataFormatError, 'x.pkl at byte 3: pickle ends without STOP (3 bytes)');
    await expectError(bad(new Uint8Array(0)), DataFormatError, 'x.pkl at byte 0: pickle ends without STOP (0 bytes)');
    await expectError(bad(bytes(0x61)), DataFormatError, 'x.pkl at byte 0: 0x61 (APPEND) on an empty stack');
    await expectError(bad(bytes(0x4e, 0x4e, 0x61)), DataFormatError, 'x.pkl at byte 2: 0x61 (APPEND) on None, expected a list');
    await expectError(bad(bytes(0x74)), DataFormatError, 'x.pkl at byte 0: 0x74 (TUPLE) without a MARK');
    await expectError(bad(bytes(0x68, 5)), DataFormatError, 'x.pkl at byte 0: 0x68 (BINGET) of memo 5, which was never stored');
    await expectError(bad(bytes(0x7d, 0x28, 0x4e, 0x75)), DataFormatError, 'x.pkl at byte 3: 0x75 (SETITEMS) with an odd number (1) of keys and values');
    await expectError(bad(bytes(0x2e)), DataFormatError, 'x.pkl at byte 0: STOP on an empty stack');
    const numpy = Uint8Array.from(Buffer.from('\x80\x02cnumpy.core.multiarray\n_reconstruct\n', 'latin1'));
    await expectError(bad(numpy), DataFormatError,
      'x.pkl at byte 2: unsupported pickle global numpy.core.multiarray._reconstruct (only plain bytes, str, numbers, lists, tuples and dicts can be read)');
    const global = Uint8Array.from(Buffer.from('c_codecs\nencode\n.', 'latin1'));
    await expectError(bad(global), DataFormatError, 'x.pkl at byte 16: _codecs.encode used as a value (only bytes construction is supported)');
  });

  it('files: unpickleFile reads through a cache; missing file or a folder -> DataNotFoundError', async () => {
    const t = tmpDir();
    try {
      const f = path.join(t.dir, 'a.pkl');
      fs.writeFileSync(f, hex(DUMPS[3]));
      assert.deepStrictEqual(unpickleFile(f), EXPECTED);
      await expectError(() => unpickleFile(path.join(t.dir, 'none.pkl')), DataNotFoundError, `${path.join(t.dir, 'none.pkl')}: no such file`);
      await expectError(() => unpickleFile(t.dir), DataNotFoundError, `${t.dir}: is a directory, expected a file`);
      fs.writeFileSync(f, bytes(0x80, 4, 0x8f));
      await expectError(() => unpickleFile(f), DataFormatError, `${f} at byte 2: unsupported pickle opcode 0x8f (EMPTY_SET)`);
    } finally {
      t.cleanup();
    }
  });

  it('describes values for messages', () => {
    assert.equal(describePickleValue(dict(['a', 1])), 'a dict with 1 entry');
    assert.equal(describePickleValue(dict()), 'a dict with 0 entries');
    assert.equal(describePickleValue(new PickleTuple([1, 2, 3])), 'a tuple of 3 items');
    assert.equal(describePickleValue([1]), 'a list of 1 item');
    assert.equal(describePickleValue(bytes(1, 2)), 'bytes (2 bytes)');
    assert.equal(describePickleValue('ab'), 'a str of 2 characters');
    assert.equal(describePickleValue(null), 'None');
    assert.equal(describePickleValue(true), 'a bool (True)');
    assert.equal(opcodeName(0x86), '0x86 (TUPLE2)');
  });
});
