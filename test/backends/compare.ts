// Shared by the native-kernel and fused-loss tests: run a computation on wasm (native kernels) and on tfjs's cpu
// backend, and hold every output to TOLERANCE = max |got - want| / max |want| (issue 5: "gradients within 1e-4
// of the reference backend").
import { strict as assert } from 'assert';
import * as fs from 'node:fs';
import * as tf from '@tensorflow/tfjs';
import { disableNativeKernels, enableNativeKernels, initBackend, NATIVE_ADDON_PATH, nativeKernelsActive } from '../../src/backends';
import { Rng } from '../../src/util/rng';

export const TOLERANCE = 1e-4;

/** n draws of N(0, sd^2). */
export function randn(rng: Rng, n: number, sd = 1): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = rng.normal(0, sd);
  return a;
}

/** Runs `fn` on a backend and returns plain arrays; wasm is restored afterwards. */
async function onBackend(name: string, fn: () => Float32Array[]): Promise<Float32Array[]> {
  assert.ok(await tf.setBackend(name), `could not switch to ${name}`);
  try {
    return fn();
  } finally {
    await tf.setBackend('wasm');
  }
}

/** max |got - want| / max |want| (asserts equal lengths and finite values). */
export function maxRelErr(got: Float32Array, want: Float32Array): number {
  assert.equal(got.length, want.length, 'length');
  let maxRef = 0;
  let maxDiff = 0;
  for (let i = 0; i < want.length; i++) {
    maxRef = Math.max(maxRef, Math.abs(want[i]));
    maxDiff = Math.max(maxDiff, Math.abs(got[i] - want[i]));
  }
  assert.ok(Number.isFinite(maxDiff), 'non-finite values');
  return maxDiff / Math.max(maxRef, 1e-12);
}

/** Computes `fn` on wasm (native kernels) and on cpu; every output must agree within TOLERANCE. */
export async function compare(label: string, fn: () => Float32Array[]): Promise<void> {
  const got = await onBackend('wasm', fn);
  const want = await onBackend('cpu', fn);
  assert.equal(got.length, want.length);
  got.forEach((g, k) => {
    const rel = maxRelErr(g, want[k]);
    assert.ok(rel < TOLERANCE, `${label}: output ${k} relative error ${rel.toExponential(2)} >= ${TOLERANCE}`);
  });
}

/**
 * The `before` hook of the native-kernel suites: skips the suite when the addon is not built (fails under CI=true,
 * where `npm run setup` must have built it), else selects wasm and checks the native kernels are on.
 */
export async function requireNativeKernels(ctx: Mocha.Context): Promise<void> {
  if (!fs.existsSync(NATIVE_ADDON_PATH)) {
    if (process.env.CI === 'true') throw new Error(`native kernels are not built (${NATIVE_ADDON_PATH}): npm run setup builds them`);
    ctx.skip();
  }
  await initBackend({ backend: 'wasm', quiet: true });
  assert.ok(nativeKernelsActive(), 'initBackend(wasm) turns the native kernels on when the addon is built');
}

/**
 * Mocha hooks for a suite on plain wasm: the wasm backend with the native kernels off during the suite (the plain
 * wasm kernels in front), back on afterwards if they were on.
 */
export function usePlainWasm(): void {
  let nativeWasOn = false;
  before(async () => {
    await initBackend({ backend: 'wasm', quiet: true });
    nativeWasOn = nativeKernelsActive();
    disableNativeKernels();
  });
  after(() => {
    if (nativeWasOn) enableNativeKernels();
  });
}

/**
 * ops.ts dropout as tfjs ops (its path before the CorefaceDropout kernels, and still the path on backends without
 * one): the reference the kernels must equal bit for bit.
 */
export function tfjsDropout(x: tf.Tensor, p: number, seed: number): tf.Tensor {
  return tf.tidy(() => {
    const u = tf.randomUniform(x.shape, 0, 1, 'float32', seed);
    return tf.mul(x, tf.mul(tf.cast(tf.greaterEqual(u, p), 'float32'), 1 / (1 - p)));
  });
}
