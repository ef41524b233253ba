// The plain wasm CorefaceDropout kernel (src/backends/wasm-dropout.ts): tfjs's mask bit for bit, against tfjs's own
// tf.randomUniform and the ops dropout was built from.
import { strict as assert } from 'assert';
import * as tf from '@tensorflow/tfjs';
import { aleaUniform, DROPOUT_KERNEL } from '../../src/backends';
import { dropout } from '../../src/models/ops';
import { Rng } from '../../src/util/rng';
import { randn, tfjsDropout, usePlainWasm } from './compare';

const bits = (a: Float32Array): Buffer => Buffer.from(a.buffer, a.byteOffset, a.byteLength);

describe('plain wasm dropout kernel (issue 17)', function () {
  this.timeout(60000);
  usePlainWasm();

  before(() => {
    assert.ok(tf.getKernel(DROPOUT_KERNEL, 'wasm') !== undefined, 'initBackend registers the wasm dropout kernel');
  });

  it('aleaUniform draws tf.randomUniform\'s numbers for a numeric seed, bit for bit', () => {
    for (const seed of [0, 1, 12345, -7, 0.25, 2147483646, 1e21, 3.5e-7]) {
      const want = tf.tidy(() => tf.randomUniform([4099], 0, 1, 'float32', seed).dataSync() as Float32Array);
      const got = new Float32Array(4099);
      aleaUniform(String(seed), got);
      assert.ok(bits(got).equals(bits(want)), `seed ${seed}`);
    }
  });

  it('dropout through the kernel equals the tfjs ops bit for bit, its gradient too, without leaks', () => {
    const xd = randn(new Rng('wasm/dropout'), 3 * 5000);
    xd[0] = -0;
    xd[1] = -1e-40;
    xd[2] = Infinity;
    const first = new Float32Array(1);
    aleaUniform('3', first); // p equal to a draw: that element is kept (u >= p)
    for (const [p, seed] of [[0.4, 12345], [0.6, 2147483646], [0.2, 7], [0.5, 0.25], [0.6, 0], [0.999, 3], [first[0], 3]]) {
      const r = tf.tensor2d(xd.map((v) => v * 0.5 + 1), [3, 5000]);
      const run = (f: (x: tf.Tensor) => tf.Tensor): Float32Array[] => tf.tidy(() => {
        const x = tf.tensor2d(xd, [3, 5000]);
        const { grads } = tf.valueAndGrads((a: tf.Tensor) => tf.sum(tf.mul(f(a), r)))([x]);
        return [f(x).dataSync() as Float32Array, grads[0].dataSync() as Float32Array];
      });
      const before = tf.memory().numTensors;
      const ours = run((x) => dropout(x, p, seed));
      assert.equal(tf.memory().numTensors, before, 'no tensor leak');
      const ref = run((x) => tfjsDropout(x, p, seed));
      assert.ok(bits(ours[0]).equals(bits(ref[0])), `dropout(p ${p}, seed ${seed})`);
      assert.ok(bits(ours[1]).equals(bits(ref[1])), `its gradient (p ${p}, seed ${seed})`);
      r.dispose();
    }
  });

  it('runs one kernel per call and leaves only its output behind', async () => {
    const x = tf.ones([16, 32]);
    const before = tf.memory().numTensors;
    const info = await tf.profile(() => dropout(x, 0.3, 5));
    // '' is the customGrad wrapper around the kernel (it carries the gradient dy * mask)
    assert.deepEqual(info.kernels.map((k) => k.name).filter((n) => n !== ''), [DROPOUT_KERNEL]);
    assert.equal(tf.memory().numTensors, before + 1, 'the result only');
    tf.dispose([x, info.result as tf.Tensor]);
  });
});
