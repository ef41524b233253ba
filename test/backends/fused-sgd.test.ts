// The fused SGD step (src/backends/fused-sgd.ts: norms and the whole update in one native kernel) against Sgd's
// tfjs-op path on the cpu backend and on plain wasm: weights, velocities and norms over three steps (one of them
// clipped), within 1e-4; a non-finite gradient leaves everything unchanged; no tensor leaks. Skipped without the
// addon, except under CI=true.
import { strict as assert } from 'assert';
import * as tf from '@tensorflow/tfjs';
import { disableNativeKernels, enableNativeKernels } from '../../src/backends';
import { fusedSgdAvailable } from '../../src/backends/fused-sgd';
import { Sgd } from '../../src/train/sgd';
import { Rng } from '../../src/util/rng';
import { compare, maxRelErr, randn, requireNativeKernels, TOLERANCE } from './compare';

// a large parameter (several work chunks of the native kernel), small ones, inside and outside the clipped group
const SHAPES: Record<string, number[]> = { 'backbone/conv': [3, 3, 64, 96], 'backbone/bn': [96], 'neck/fc': [96, 16], 'head/w': [16, 10] };

/** Three Sgd steps (gradient scales 1, 40 (clipped), 0.5): final weights, velocities, and each step's norms. */
function sgdRun(seed: number): () => Float32Array[] {
  const rng = new Rng(`fused-sgd/${seed}`);
  const init = Object.fromEntries(Object.entries(SHAPES).map(([n, s]) => [n, randn(rng, s.reduce((a, b) => a * b, 1))]));
  const gradData = [1, 40, 0.5].map((scale) => Object.fromEntries(Object.entries(SHAPES).map(([n, s]) => [n, randn(rng, s.reduce((a, b) => a * b, 1), scale * 0.01)])));
  return () => {
    const vars = new Map(Object.entries(SHAPES).map(([n, s]) => [n, tf.tidy(() => tf.variable(tf.tensor(init[n], s)))]));
    const opt = new Sgd({ momentum: 0.9, weightDecay: 5e-4, clipNorm: 5 });
    const norms: number[] = [];
    for (const g of gradData) {
      const grads = Object.fromEntries(Object.entries(SHAPES).map(([n, s]) => [n, tf.tensor(g[n], s)]));
      const info = opt.apply(vars, grads, 0.1);
      norms.push(info.clippedNorm, info.totalNorm);
      tf.dispose(Object.values(grads));
    }
    const out = [...vars.values(), ...opt.state().values()].map((v) => v.dataSync() as Float32Array);
    out.push(Float32Array.from(norms));
    opt.dispose();
    for (const v of vars.values()) v.dispose();
    return out;
  };
}

describe('backends: fused SGD step (native) matches Sgd on tfjs ops', function () {
  before(async function () {
    await requireNativeKernels(this);
  });
  afterEach(() => {
    enableNativeKernels();
  });

  it('is used with the native kernels on wasm, not on cpu or plain wasm', async () => {
    const p = [{ weight: tf.tidy(() => tf.variable(tf.zeros([2]))), grad: tf.zeros([2]) }];
    assert.equal(fusedSgdAvailable(p), true);
    disableNativeKernels();
    assert.equal(fusedSgdAvailable(p), false);
    enableNativeKernels();
    await tf.setBackend('cpu');
    assert.equal(fusedSgdAvailable(p), false);
    await tf.setBackend('wasm');
    tf.dispose([p[0].weight, p[0].grad]);
  });

  it('weights, velocities and norms over three steps (one clipped) match the cpu backend and plain wasm', async () => {
    await compare('sgd', sgdRun(1));
    const before = tf.memory().numTensors;
    const fused = sgdRun(1)();
    assert.equal(tf.memory().numTensors, before, 'no tensor leak');
    disableNativeKernels();
    const plain = sgdRun(1)();
    enableNativeKernels();
    fused.forEach((v, k) => assert.ok(maxRelErr(v, plain[k]) < TOLERANCE, `output ${k}`));
    const norms = fused[fused.length - 1];
    assert.ok(norms[2] > 5, `the second step is clipped (backbone norm ${norms[2]})`);
  });

  it('a non-finite gradient is reported and changes no weight or velocity', () => {
    const w = tf.tidy(() => tf.variable(tf.tensor1d([1, 2, 3])));
    const h = tf.tidy(() => tf.variable(tf.tensor1d([4, 5])));
    const vars = new Map([['backbone/a', w], ['head/b', h]]);
    const opt = new Sgd();
    const g1 = { 'backbone/a': tf.tensor1d([0.1, 0.2, 0.3]), 'head/b': tf.tensor1d([1, 1]) };
    opt.apply(vars, g1, 0.1);
    const snap = [...vars.values(), ...opt.state().values()].map((v) => Array.from(v.dataSync()));
    const g2 = { 'backbone/a': tf.tensor1d([NaN, 1, 1]), 'head/b': tf.tensor1d([1, 1]) };
    const info = opt.apply(vars, g2, 0.1);
    assert.ok(!Number.isFinite(info.totalNorm));
    assert.deepEqual([...vars.values(), ...opt.state().values()].map((v) => Array.from(v.dataSync())), snap);
    tf.dispose([...Object.values(g1), ...Object.values(g2), w, h]);
    opt.dispose();
  });
});
