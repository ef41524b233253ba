import { strict as assert } from 'assert';
import * as tf from '@tensorflow/tfjs';
import { EmbeddingNeck } from '../../src/models/neck';
import { ParamStore } from '../../src/models/params';
import { assertNoLeak, data, values } from './helpers';

describe('models/neck: EmbeddingNeck (CoReFace)', () => {
  let store: ParamStore;
  let neck: EmbeddingNeck;
  let h: tf.Tensor2D;
  const B = 16;
  const D = 40;
  beforeEach(() => {
    store = new ParamStore({ seed: 1 });
    neck = new EmbeddingNeck({ store, inputDim: D, embeddingDim: 8 });
    h = tf.tensor2d(data(B * D, 3).map((v) => v + 0.5), [B, D]);
  });
  afterEach(() => {
    store.dispose();
    h.dispose();
  });

  it('creates neck/fc, neck/bn_beta (gamma frozen: no gamma variable) and BN running stats', () => {
    assert.deepEqual([...store.trainable().keys()], ['neck/fc', 'neck/bn_beta']);
    assert.deepEqual([...store.stateVars().keys()], ['neck/bn_running_mean', 'neck/bn_running_var']);
    assert.deepEqual(neck.fc.shape, [D, 8]);
    assert.equal(neck.bn.gamma, null);
    const s2 = new ParamStore();
    assert.equal(new EmbeddingNeck({ store: s2, inputDim: 4, prefix: 'n2/' }).embeddingDim, 128);
    assert.ok(s2.has('n2/fc'));
    s2.dispose();
  });

  it('training output is batch-normalised with gamma = 1 (per-feature mean = beta = 0, variance 1)', () => {
    const x = tf.tidy(() => values(neck.apply(h, { training: true })));
    for (let j = 0; j < 8; j++) {
      let s = 0;
      let s2 = 0;
      for (let i = 0; i < B; i++) {
        s += x[i * 8 + j];
        s2 += x[i * 8 + j] ** 2;
      }
      assert.ok(Math.abs(s / B) < 1e-5);
      assert.ok(Math.abs(s2 / B - 1) < 1e-3, `feature ${j} variance ${s2 / B}`);
    }
  });

  it('gamma stays frozen: only fc and beta are trained, beta gets a gradient', () => {
    const r = tf.tensor2d(data(B * 8, 4), [B, 8]);
    tf.tidy(() => {
      const { grads } = tf.variableGrads(() => tf.sum(tf.mul(neck.apply(h, { training: true, dropout: 0.3, seed: 1 }), r)) as tf.Scalar);
      const names = [...store.trainable().entries()].filter(([, v]) => grads[v.name]).map(([n]) => n);
      assert.deepEqual(names, ['neck/fc', 'neck/bn_beta']);
      assert.ok(tf.norm(grads[neck.fc.name]).dataSync()[0] > 0);
      assert.ok(tf.norm(grads[neck.bn.beta.name]).dataSync()[0] > 0);
    });
    r.dispose();
  });

  it('twoViews: independent masks give different views; dropout 0 gives identical views', () => {
    const [a, b] = neck.twoViews(h, { dropout: 0.5, seeds: [1, 2] });
    assert.notDeepEqual(values(a), values(b));
    const [c, d] = neck.twoViews(h, { dropout: 0, seeds: [1, 2] });
    assert.deepEqual(values(c), values(d));
    // each view = apply() with its own seed (same fc + BN, per-view batch statistics)
    const a2 = neck.apply(h, { training: true, dropout: 0.5, seed: 1 });
    assert.deepEqual(values(a2), values(a));
    tf.dispose([a, b, c, d, a2]);
  });

  it('twoViews updates the running statistics once per view (like calling the module twice)', () => {
    const viaTwo = tf.tidy(() => {
      neck.twoViews(h, { dropout: 0.2, seeds: [5, 6] });
      return [values(neck.bn.runningMean), values(neck.bn.runningVar)];
    });
    const s2 = new ParamStore({ seed: 1 });
    const n2 = new EmbeddingNeck({ store: s2, inputDim: D, embeddingDim: 8 });
    const viaApply = tf.tidy(() => {
      n2.apply(h, { training: true, dropout: 0.2, seed: 5 });
      n2.apply(h, { training: true, dropout: 0.2, seed: 6 });
      return [values(n2.bn.runningMean), values(n2.bn.runningVar)];
    });
    assert.deepEqual(viaTwo, viaApply);
    s2.dispose();
  });

  it('inference: no dropout, running statistics, deterministic, no state change', () => {
    const before = [values(neck.bn.runningMean), values(neck.bn.runningVar)];
    const a = tf.tidy(() => values(neck.apply(h, { dropout: 0.5, seed: 1 })));
    const b = tf.tidy(() => values(neck.apply(h, { dropout: 0.5, seed: 2 })));
    assert.deepEqual(a, b);
    assert.deepEqual([values(neck.bn.runningMean), values(neck.bn.runningVar)], before);
  });

  it('does not leak tensors', () => {
    assertNoLeak('neck', () => {
      tf.tidy(() => {
        neck.apply(h, { training: true, dropout: 0.4, seed: 3 });
        neck.twoViews(h, { dropout: 0.4, seeds: [1, 2] });
      });
      const { value, grads } = tf.variableGrads(() => {
        const [a, b] = neck.twoViews(h, { dropout: 0.4, seeds: [1, 2] });
        return tf.sum(tf.mul(a, b)) as tf.Scalar;
      });
      tf.dispose([value, ...Object.values(grads)]);
    });
  });

  it('validates its inputs', () => {
    assert.throws(() => neck.apply(h, { training: true, dropout: 0.5 }), /seed is required when training with dropout > 0/);
    assert.throws(() => neck.apply(h, { training: true, dropout: 1.5, seed: 1 }), /dropout must be a number in \[0, 1\), got 1.5/);
    const bad = tf.zeros([2, 3]) as tf.Tensor2D;
    assert.throws(() => neck.apply(bad), /neck expects \[B, 40\], got \[2, 3\]/);
    bad.dispose();
    assert.throws(() => new EmbeddingNeck({ store, inputDim: 0 }), /inputDim must be a positive integer, got 0/);
  });
});
