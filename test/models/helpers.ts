// Shared helpers for the model tests.
import { strict as assert } from 'assert';
import * as tf from '@tensorflow/tfjs';

/** Max |a - b| / max(|b|, tiny) over all entries. */
export function relErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length, 'length mismatch');
  let num = 0;
  let den = 1e-12;
  for (let i = 0; i < a.length; i++) {
    num = Math.max(num, Math.abs(a[i] - b[i]));
    den = Math.max(den, Math.abs(b[i]));
  }
  return num / den;
}

/** Plain copy of a tensor's values. */
export function values(t: tf.Tensor): Float32Array {
  return Float32Array.from(t.dataSync() as Float32Array);
}

/** Run `f` on the cpu backend, restoring the previous backend afterwards. */
export async function onCpu<T>(f: () => T): Promise<T> {
  const prev = tf.getBackend();
  await tf.setBackend('cpu');
  try {
    return f();
  } finally {
    await tf.setBackend(prev);
  }
}

/** Deterministic pseudo-random data (no tfjs random state involved). */
export function data(n: number, seed: number): Float32Array {
  const out = new Float32Array(n);
  let s = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = s / 4294967296 * 2 - 1;
  }
  return out;
}

/** Asserts `f` leaves `tf.memory().numTensors` unchanged. */
export function assertNoLeak(label: string, f: () => void): void {
  const before = tf.memory().numTensors;
  f();
  assert.equal(tf.memory().numTensors, before, `${label}: tensor leak`);
}
