import { strict as assert } from 'assert';
import { createRequire } from 'node:module';
import * as tf from '@tensorflow/tfjs';
import {
  backendInfo, BACKEND_ENV_VAR, initBackend, NODE_GPU_PACKAGE, type BackendName,
} from '../../src/backends';

/** True if the optional native package happens to be installed (then the "not installed" tests are skipped). */
function nodeGpuInstalled(): boolean {
  try {
    createRequire(__filename).resolve(NODE_GPU_PACKAGE);
    return true;
  } catch {
    return false;
  }
}

/** Runs `fn` with COREFACE_BACKEND set to `value` (or unset), restoring the previous value afterwards. */
async function withEnv<T>(value: string | undefined, fn: () => Promise<T>): Promise<T> {
  const saved = process.env[BACKEND_ENV_VAR];
  if (value === undefined) delete process.env[BACKEND_ENV_VAR];
  else process.env[BACKEND_ENV_VAR] = value;
  try {
    return await fn();
  } finally {
    if (saved === undefined) delete process.env[BACKEND_ENV_VAR];
    else process.env[BACKEND_ENV_VAR] = saved;
  }
}

/** Captures what `fn` writes to stderr. */
async function captureStderr(fn: () => Promise<unknown>): Promise<string> {
  const original = process.stderr.write.bind(process.stderr);
  let text = '';
  process.stderr.write = ((chunk: string | Uint8Array): boolean => {
    text += typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString();
    return true;
  }) as typeof process.stderr.write;
  try {
    await fn();
  } finally {
    process.stderr.write = original;
  }
  return text;
}

describe('backends/select', () => {
  after(async () => {
    // Other test files assume the backend test/setup.ts selected (wasm unless COREFACE_BACKEND says otherwise).
    await initBackend({ quiet: true });
  });

  it('selects wasm by default here, with the gradient kernels registered', async () => {
    const info = await withEnv(undefined, () => initBackend({ quiet: true }));
    assert.equal(info.name, 'wasm');
    assert.equal(info.tfBackend, 'wasm');
    assert.equal(tf.getBackend(), 'wasm');
    assert.match(info.version, /^\d+\.\d+\.\d+/);
    assert.match(info.note, /^wasm, (no )?SIMD, \d+ threads?/);
    assert.deepEqual(backendInfo(), info);
    assert.ok(tf.getKernel('Conv2DBackpropFilter', 'wasm') != null);
  });

  it('forced cpu works and reports cpu; backendInfo follows', async () => {
    const info = await initBackend({ backend: 'cpu', quiet: true });
    assert.equal(info.name, 'cpu');
    assert.equal(info.tfBackend, 'cpu');
    assert.equal(tf.getBackend(), 'cpu');
    assert.deepEqual(backendInfo(), info);
    const s = tf.tidy(() => tf.sum(tf.tensor1d([1, 2, 3])).dataSync()[0]);
    assert.equal(s, 6);
    const fromEnv = await withEnv('cpu', () => initBackend({ quiet: true }));
    assert.equal(fromEnv.name, 'cpu');
    await initBackend({ backend: 'wasm', quiet: true });
    assert.equal(tf.getBackend(), 'wasm');
  });

  it('prints one line unless quiet, and a repeated identical call is cached and silent', async () => {
    let first: unknown;
    const printed = await captureStderr(async () => { first = await initBackend({ backend: 'cpu' }); });
    assert.match(printed, /^\[coreface\] backend: cpu \(.+\)\n$/);
    let second: unknown;
    const again = await captureStderr(async () => { second = await initBackend({ backend: 'cpu' }); });
    assert.equal(again, '');
    assert.equal(second, first);
    const quiet = await captureStderr(() => initBackend({ backend: 'wasm', quiet: true }));
    assert.equal(quiet, '');
    assert.equal(tf.getBackend(), 'wasm');
    // Switching tfjs behind initBackend's back invalidates backendInfo; the next call re-selects.
    await tf.setBackend('cpu');
    assert.equal(backendInfo(), undefined);
    const re = await initBackend({ backend: 'wasm', quiet: true });
    assert.equal(re.tfBackend, 'wasm');
    assert.equal(tf.getBackend(), 'wasm');
  });

  it('an unknown name throws listing the allowed values (option and environment)', async () => {
    await assert.rejects(initBackend({ backend: 'gpu' as BackendName, quiet: true }),
      { message: "backend must be one of 'tfjs-node-gpu', 'wasm', 'cpu', got 'gpu'" });
    await withEnv('webgl', () => assert.rejects(initBackend({ quiet: true }),
      { message: "COREFACE_BACKEND must be one of 'tfjs-node-gpu', 'wasm', 'cpu', got 'webgl'" }));
    assert.equal(tf.getBackend(), 'wasm');
  });

  it('forcing tfjs-node-gpu when it is not installed throws the install hint', async function () {
    if (nodeGpuInstalled()) this.skip();
    await assert.rejects(initBackend({ backend: 'tfjs-node-gpu', quiet: true }), {
      message: "backend 'tfjs-node-gpu' requested but @tensorflow/tfjs-node-gpu is not installed: " +
        'npm install @tensorflow/tfjs-node-gpu (needs CUDA 11.2, cuDNN 8.1)',
    });
    await withEnv('tfjs-node-gpu', () => assert.rejects(initBackend({ quiet: true }), {
      message: 'COREFACE_BACKEND=tfjs-node-gpu requested but @tensorflow/tfjs-node-gpu is not installed: ' +
        'npm install @tensorflow/tfjs-node-gpu (needs CUDA 11.2, cuDNN 8.1)',
    }));
    assert.equal(tf.getBackend(), 'wasm');
  });

  it('the option takes precedence over the environment variable', async () => {
    const info = await withEnv('tfjs-node-gpu', () => initBackend({ backend: 'wasm', quiet: true }));
    assert.equal(info.name, 'wasm');
  });
});
