import { strict as assert } from 'assert';
import * as tf from '@tensorflow/tfjs';
import { Sgd } from '../../src/train/sgd';
import { learningRate } from '../../src/train/schedule';
import { epochBatches } from '../../src/train/sampler';
import { Rng } from '../../src/util/rng';

describe('train: Sgd', () => {
  it('matches a hand-written SGD loop (momentum, weight decay, backbone-only clipping)', () => {
    const before = tf.memory().numTensors;
    const w0 = { 'backbone/a': [1, -2], 'head/w': [0.5, 0.25, -1] };
    const g = [
      { 'backbone/a': [3, 4], 'head/w': [1, 0, 0] },       // backbone norm 5.0 -> clip to 2
      { 'backbone/a': [0.3, -0.4], 'head/w': [0, 2, 0] },  // norm 0.5 -> no clip
    ];
    const mu = 0.9, wd = 0.1, clip = 2, lr = 0.5;
    // Hand loop (PyTorch SGD: g += wd*w; v = mu*v + g; w -= lr*v), clip by global norm of backbone grads.
    const w: Record<string, number[]> = { 'backbone/a': [...w0['backbone/a']], 'head/w': [...w0['head/w']] };
    const v: Record<string, number[]> = { 'backbone/a': [0, 0], 'head/w': [0, 0, 0] };
    for (const step of g) {
      const norm = Math.hypot(...step['backbone/a']);
      const s = norm > clip ? clip / (norm + 1e-6) : 1;
      for (const name of Object.keys(w)) {
        for (let i = 0; i < w[name].length; i++) {
          let gi = (step as Record<string, number[]>)[name][i] * (name.startsWith('backbone/') ? s : 1);
          gi += wd * w[name][i];
          v[name][i] = mu * v[name][i] + gi;
          w[name][i] -= lr * v[name][i];
        }
      }
    }
    const vars = new Map<string, tf.Variable>([
      ['backbone/a', tf.tidy(() => tf.variable(tf.tensor1d(w0['backbone/a'])))],
      ['head/w', tf.tidy(() => tf.variable(tf.tensor1d(w0['head/w'])))],
    ]);
    const opt = new Sgd({ momentum: mu, weightDecay: wd, clipNorm: clip });
    const infos = g.map((step) => {
      const grads = { 'backbone/a': tf.tensor1d(step['backbone/a']), 'head/w': tf.tensor1d(step['head/w']) };
      const info = opt.apply(vars, grads, lr);
      tf.dispose(Object.values(grads));
      return info;
    });
    assert.ok(Math.abs(infos[0].clippedNorm - 5) < 1e-5);
    assert.ok(Math.abs(infos[0].totalNorm - Math.sqrt(26)) < 1e-5);
    for (const [name, vv] of vars) {
      const got = Array.from(vv.dataSync());
      got.forEach((x, i) => assert.ok(Math.abs(x - w[name][i]) < 1e-5, `${name}[${i}] ${x} vs ${w[name][i]}`));
    }
    opt.dispose();
    for (const vv of vars.values()) vv.dispose();
    assert.equal(tf.memory().numTensors, before);
  });

  it('reports a non-finite gradient norm without applying the update', () => {
    const v = new Map([['backbone/a', tf.tidy(() => tf.variable(tf.tensor1d([1, 2])))]]);
    const opt = new Sgd();
    const grads = { 'backbone/a': tf.tensor1d([NaN, 1]) };
    const info = opt.apply(v, grads, 0.1);
    assert.ok(!Number.isFinite(info.totalNorm));
    assert.deepEqual(Array.from((v.get('backbone/a') as tf.Variable).dataSync()), [1, 2]);
    tf.dispose(Object.values(grads));
    (v.get('backbone/a') as tf.Variable).dispose();
    opt.dispose();
  });
});

describe('train: learningRate', () => {
  const o = { lr: 0.1, milestones: [8, 14, 20], gamma: 0.1, warmupEpochs: 0 };
  it('drops x0.1 at each milestone (reference schedule)', () => {
    assert.equal(learningRate(0, o), 0.1);
    assert.equal(learningRate(7.99, o), 0.1);
    assert.ok(Math.abs(learningRate(8, o) - 0.01) < 1e-12);
    assert.ok(Math.abs(learningRate(14, o) - 0.001) < 1e-12);
    assert.ok(Math.abs(learningRate(23, o) - 0.0001) < 1e-12);
  });
  it('warms up linearly', () => {
    const w = { ...o, warmupEpochs: 2 };
    assert.ok(Math.abs(learningRate(1, w) - 0.05) < 1e-12);
    assert.equal(learningRate(2, w), 0.1);
  });
});

describe('train: epochBatches', () => {
  const labels = Int32Array.from({ length: 100 }, (_, i) => i % 10);
  it('random sampler: a permutation cut into full batches, deterministic per seed', () => {
    const a = epochBatches(labels, { batchSize: 16, sampler: 'random', samplesPerIdentity: 2 }, new Rng(1));
    const b = epochBatches(labels, { batchSize: 16, sampler: 'random', samplesPerIdentity: 2 }, new Rng(1));
    assert.equal(a.length, 6);
    assert.deepEqual(a, b);
    const seen = new Set<number>();
    for (const batch of a) for (const i of batch) seen.add(i);
    assert.equal(seen.size, 96);
  });
  it('identity-balanced sampler: k images of each identity in every batch', () => {
    const batches = epochBatches(labels, { batchSize: 8, sampler: 'identity-balanced', samplesPerIdentity: 4 }, new Rng(2));
    assert.equal(batches.length, 12);
    for (const batch of batches) {
      const counts = new Map<number, number>();
      for (const i of batch) counts.set(labels[i], (counts.get(labels[i]) ?? 0) + 1);
      assert.deepEqual([...counts.values()], [4, 4]);
      assert.equal(new Set(batch).size, 8);
    }
  });
  it('explains a set smaller than a batch', () => {
    assert.throws(() => epochBatches(labels.slice(0, 5), { batchSize: 8, sampler: 'random', samplesPerIdentity: 2 }, new Rng(0)), /5 images, fewer than one batch of 8/);
  });
});
