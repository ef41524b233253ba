// The SIMD BatchMatMul of the plain wasm backend (src/backends/wasm-matmul.ts): its products must be tfjs's own bit
// for bit, against a hand-written float32 loop of tfjs's slow-loop arithmetic and against tfjs's kernel itself.
import { strict as assert } from 'assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { registerWasmMatMul, unregisterWasmMatMul, wasmMatMulCalls } from '../../src/backends';
import { simdMatMul } from '../../src/backends/wasm-matmul';
import { Rng } from '../../src/util/rng';
import { assembleWat, renderBinaryModule, WAT_TARGETS } from '../../scripts/assemble-wat';
import { randn, usePlainWasm } from './compare';

/**
 * The reference: out[i][j] = sum over blocks of 48 along k of (the block's products added one by one from +0), each
 * product and sum rounded to float32 (Math.fround of a double product or sum of two floats is the float32 result).
 */
function slowLoop(a: Float32Array, b: Float32Array, m: number, k: number, n: number, ta: boolean, tb: boolean): Float32Array {
  const out = new Float32Array(m * n);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let o = 0;
      for (let k0 = 0; k0 < k; k0 += 48) {
        let s = 0;
        for (let p = k0; p < Math.min(k0 + 48, k); p++) {
          const x = ta ? a[p * m + i] : a[i * k + p];
          const y = tb ? b[j * k + p] : b[p * n + j];
          s = Math.fround(s + Math.fround(x * y));
        }
        o = Math.fround(o + s);
      }
      out[i * n + j] = o;
    }
  }
  return out;
}

/** Index of the first element whose bits differ (Object.is: -0 and +0 differ, NaN equals NaN), or -1. */
function firstDiff(got: Float32Array, want: Float32Array): number {
  assert.equal(got.length, want.length, 'length');
  for (let i = 0; i < want.length; i++) if (!Object.is(got[i], want[i])) return i;
  return -1;
}

/** Runs `f` with tfjs's own BatchMatMul (ours unregistered, and registered again afterwards). */
function withTfjsMatMul<T>(f: () => T): T {
  unregisterWasmMatMul();
  try {
    return f();
  } finally {
    registerWasmMatMul();
  }
}

const SHAPES: [number, number, number][] = [
  [1, 1, 1], [3, 5, 7], [7, 47, 9], [8, 48, 32], [5, 49, 33], [64, 64, 500], [128, 64, 500], [64, 500, 128], [2, 97, 65], [4, 0, 3],
];

describe('SIMD BatchMatMul for plain wasm (issue 17)', function () {
  this.timeout(120000);
  usePlainWasm(); // BatchMatMul is ours in front of tfjs's

  before(() => {
    assert.ok(registerWasmMatMul(), 'WebAssembly SIMD compiles in Node 20');
  });

  it('the committed binary is the assembly of wasm-matmul.wat', async () => {
    for (const t of WAT_TARGETS) {
      const committed = fs.readFileSync(path.resolve(__dirname, '../..', t.out), 'utf8');
      assert.equal(committed, renderBinaryModule(t, await assembleWat(t.wat)), `${t.out} is stale: run npm run wasm`);
    }
  });

  it('equals the hand-written float32 loop bit for bit (every transpose, ragged sizes, blocks of 48)', () => {
    const rng = new Rng('simd-matmul');
    for (const [m, k, n] of SHAPES) {
      for (const ta of [false, true]) {
        for (const tb of [false, true]) {
          const a = randn(rng, m * k, 3);
          const b = randn(rng, k * n);
          const got = new Float32Array(m * n).fill(NaN);
          simdMatMul(a, b, got, m, k, n, ta, tb);
          const want = slowLoop(a, b, m, k, n, ta, tb);
          const d = firstDiff(got, want);
          assert.equal(d, -1, `[${m},${k}]x[${k},${n}] ta=${ta} tb=${tb}: element ${d} is ${got[d]}, want ${want[d]}`);
        }
      }
    }
  });

  it('keeps signed zeros, infinities, NaN and subnormals as the float32 loop does', () => {
    const specials = [0, -0, 1, -1, Infinity, -Infinity, NaN, 1e-40, -3e-39, 3.4e38, -3.4e38, 1e-20];
    const rng = new Rng('simd-matmul-special');
    const [m, k, n] = [6, 53, 37];
    const pick = (len: number): Float32Array => Float32Array.from({ length: len }, () => specials[rng.int(specials.length)]);
    for (let trial = 0; trial < 4; trial++) {
      const a = pick(m * k);
      const b = pick(k * n);
      const got = new Float32Array(m * n);
      simdMatMul(a, b, got, m, k, n, trial % 2 === 1, trial >= 2);
      const want = slowLoop(a, b, m, k, n, trial % 2 === 1, trial >= 2);
      const d = firstDiff(got, want);
      assert.equal(d, -1, `trial ${trial}: element ${d} is ${got[d]}, want ${want[d]}`);
    }
    // all-negative-zero products sum to +0, as in tfjs (its output starts at +0)
    const got = new Float32Array(1);
    simdMatMul(Float32Array.of(-0, 0), Float32Array.of(1, -1), got, 1, 2, 1, false, false);
    assert.ok(Object.is(got[0], 0));
  });

  it('tf.matMul gives tfjs\'s own kernel\'s bits, through ours only for the slow-loop products', () => {
    const rng = new Rng('simd-matmul-tf');
    const cases: { a: number[]; b: number[]; ta: boolean; tb: boolean; ours: boolean }[] = [
      { a: [64, 128], b: [64, 500], ta: true, tb: false, ours: true }, // a margin head's dW
      { a: [64, 500], b: [128, 500], ta: false, tb: true, ours: true }, // its d(embedding)
      { a: [9, 50], b: [20, 9], ta: true, tb: true, ours: true },
      { a: [3, 7, 50], b: [3, 50, 20], ta: false, tb: false, ours: true }, // batched: tfjs's slow loop too
      { a: [2, 3, 50, 7], b: [2, 3, 20, 50], ta: true, tb: true, ours: true },
      { a: [64, 100], b: [100, 40], ta: false, tb: false, ours: false }, // XNNPACK's, left alone
      { a: [1, 64, 100], b: [100, 40], ta: false, tb: false, ours: false },
    ];
    for (const c of cases) {
      const size = (s: number[]): number => s.reduce((p, q) => p * q, 1);
      const a = tf.tensor(randn(rng, size(c.a)), c.a);
      const b = tf.tensor(randn(rng, size(c.b)), c.b);
      const before = tf.memory().numTensors;
      const calls = wasmMatMulCalls();
      const ours = tf.tidy(() => tf.matMul(a, b, c.ta, c.tb));
      assert.equal(wasmMatMulCalls() - calls, c.ours ? 1 : 0, `${JSON.stringify(c)}: ran on ${c.ours ? 'tfjs' : 'ours'}`);
      const theirs = withTfjsMatMul(() => tf.tidy(() => tf.matMul(a, b, c.ta, c.tb)));
      assert.deepEqual(ours.shape, theirs.shape);
      const d = firstDiff(ours.dataSync() as Float32Array, theirs.dataSync() as Float32Array);
      assert.equal(d, -1, `${JSON.stringify(c)}: element ${d} differs`);
      tf.dispose([ours, theirs]);
      assert.equal(tf.memory().numTensors, before, 'no tensors leak');
      tf.dispose([a, b]);
    }
  });

  it('the gradients of a dense product are tfjs\'s bit for bit, without leaks', () => {
    const rng = new Rng('simd-matmul-grad');
    const x = tf.tensor2d(randn(rng, 32 * 96), [32, 96]);
    const w = tf.tensor2d(randn(rng, 96 * 50), [96, 50]);
    const r = tf.tensor2d(randn(rng, 32 * 50), [32, 50]);
    const grads = (): Float32Array[] => tf.tidy(() => {
      const g = tf.grads((xx: tf.Tensor, ww: tf.Tensor) => tf.sum(tf.mul(tf.matMul(xx, ww), r)))([x, w]);
      return g.map((t) => t.dataSync() as Float32Array);
    });
    const before = tf.memory().numTensors;
    const calls = wasmMatMulCalls();
    const ours = grads();
    assert.equal(wasmMatMulCalls() - calls, 2, 'both gradient products (transposed operands) ran on the SIMD kernel');
    assert.equal(tf.memory().numTensors, before);
    const theirs = withTfjsMatMul(grads);
    for (let i = 0; i < 2; i++) assert.equal(firstDiff(ours[i], theirs[i]), -1, `gradient ${i}`);
    tf.dispose([x, w, r]);
  });

  it('register and unregister are idempotent', () => {
    assert.ok(registerWasmMatMul());
    assert.ok(registerWasmMatMul());
    unregisterWasmMatMul();
    unregisterWasmMatMul();
    const calls = wasmMatMulCalls();
    tf.tidy(() => tf.matMul(tf.ones([2, 3]), tf.ones([2, 4]), true, false).dataSync());
    assert.equal(wasmMatMulCalls(), calls, 'tfjs\'s kernel after unregister');
    assert.ok(registerWasmMatMul());
    tf.tidy(() => tf.matMul(tf.ones([2, 3]), tf.ones([2, 4]), true, false).dataSync());
    assert.equal(wasmMatMulCalls(), calls + 1);
  });
});
