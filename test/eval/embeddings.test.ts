import { strict as assert } from 'assert';
import { flipFuse, gatherRows, l2Normalize, pairCosineScores, similarityMatrix } from '../../src/eval';

const close = (a: number, b: number, tol = 1e-6): void => assert.ok(Math.abs(a - b) <= tol, `${a} != ${b}`);

describe('eval/embeddings', () => {
  it('l2Normalize scales rows to unit norm and leaves zero rows at zero', () => {
    // [3, 4] / 5 = [0.6, 0.8]; [0, 0] stays [0, 0]; [0, -2] -> [0, -1].
    const out = l2Normalize(Float32Array.from([3, 4, 0, 0, 0, -2]), 3, 2);
    assert.deepEqual(Array.from(out), [Math.fround(0.6), Math.fround(0.8), 0, 0, 0, -1]);
  });

  it('flipFuse sums the two views, then L2-normalises (insightface)', () => {
    // Row 0: [1, 2] + [2, 2] = [3, 4] -> [0.6, 0.8]. Row 1: [0, 1] + [0, -1] = 0 -> stays 0 (no NaN).
    // Row 2: [10, 0] + [0, 0.1]: a sum, not a normalised average: [10, 0.1] / sqrt(100.01).
    const e = Float32Array.from([1, 2, 0, 1, 10, 0]);
    const f = Float32Array.from([2, 2, 0, -1, 0, 0.1]);
    const out = flipFuse(e, f, 3, 2);
    close(out[0], 0.6);
    close(out[1], 0.8);
    assert.equal(out[2], 0);
    assert.equal(out[3], 0);
    close(out[4], 10 / Math.sqrt(100 + Math.fround(0.1) ** 2));
    close(out[5], Math.fround(0.1) / Math.sqrt(100 + Math.fround(0.1) ** 2));
    for (const i of [0, 2]) close(Math.hypot(out[2 * i], out[2 * i + 1]), 1);
    assert.throws(() => flipFuse(e, f.subarray(0, 4), 3, 2), /embFlip must have length n \* d \(3 \* 2\) = 6, got 4/);
  });

  it('pairCosineScores computes cosines (rows normalised internally)', () => {
    // rows: a = [1, 0], b = [0, 2], c = [1, 1].
    // (a,b) = 0; (a,c) = 1/sqrt2; (b,c) = 2 / (2 * sqrt2) = 1/sqrt2; (c,c) = 1; zero row -> 0.
    const emb = Float32Array.from([1, 0, 0, 2, 1, 1, 0, 0]);
    const s = pairCosineScores(emb, 4, 2, Int32Array.from([0, 0, 1, 2, 3]), Int32Array.from([1, 2, 2, 2, 0]));
    close(s[0], 0);
    close(s[1], Math.SQRT1_2);
    close(s[2], Math.SQRT1_2);
    close(s[3], 1);
    assert.equal(s[4], 0);
    assert.throws(() => pairCosineScores(emb, 4, 2, Int32Array.from([0]), Int32Array.from([4])),
      /right must be indices in \[0, 4\), got 4 at position 0/);
    assert.throws(() => pairCosineScores(emb, 4, 2, Int32Array.from([0, 1]), Int32Array.from([1])),
      /right must have length left.length = 2, got 1/);
  });

  it('similarityMatrix is row-major na x nb cosine', () => {
    // a rows [1, 0], [0, 1]; b rows [1, 1], [-3, 0], [0, 5]:
    // row 0: [1/sqrt2, -1, 0]; row 1: [1/sqrt2, 0, 1].
    const m = similarityMatrix(Float32Array.from([1, 0, 0, 1]), 2, Float32Array.from([1, 1, -3, 0, 0, 5]), 3, 2);
    const want = [Math.SQRT1_2, -1, 0, Math.SQRT1_2, 0, 1];
    assert.equal(m.length, 6);
    want.forEach((w, i) => close(m[i], w));
    assert.throws(() => similarityMatrix(Float32Array.from([1, NaN]), 1, Float32Array.from([1, 0]), 1, 2),
      /a must be finite, got NaN at index 1/);
  });

  it('gatherRows copies rows by index', () => {
    const g = gatherRows(Float32Array.from([1, 2, 3, 4, 5, 6]), 3, 2, Int32Array.from([2, 0]));
    assert.deepEqual(Array.from(g), [5, 6, 1, 2]);
  });
});
