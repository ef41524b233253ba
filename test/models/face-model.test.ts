import { strict as assert } from 'assert';
import * as tf from '@tensorflow/tfjs';
import { FaceModel } from '../../src/models';
import { assertNoLeak, data, values } from './helpers';

const SHAPE: [number, number, number] = [32, 32, 3];

function batch(n: number, seed = 1): tf.Tensor4D {
  return tf.tensor4d(data(n * 32 * 32 * 3, seed), [n, ...SHAPE]);
}

describe('models/face-model: FaceModel', function () {
  this.timeout(120000);
  let model: FaceModel;
  let x: tf.Tensor4D;
  before(() => {
    model = new FaceModel({ backbone: 'iresnet-tiny', inputShape: SHAPE, embeddingDim: 32, seed: 3 });
    x = batch(8);
  });
  after(() => {
    model.dispose();
    x.dispose();
  });

  it('prefixes trainable names with backbone/ and neck/', () => {
    const names = [...model.store.trainable().keys()];
    assert.ok(names.every((n) => n.startsWith('backbone/') || n.startsWith('neck/')));
    assert.ok(names.includes('neck/fc') && names.includes('neck/bn_beta'));
    assert.ok(names.some((n) => n.startsWith('backbone/')));
    assert.equal(model.neck.inputDim, model.backbone.featureDim);
    assert.equal(model.numParams(), model.store.numParams());
  });

  it('embed: [B, E]; inference is deterministic and ignores dropout; boolean form accepted', () => {
    const a = tf.tidy(() => values(model.embed(x)));
    const b = tf.tidy(() => values(model.embed(x, { dropout: 0.5, seed: 9 })));
    const c = tf.tidy(() => values(model.embed(x, false)));
    assert.equal(a.length, 8 * 32);
    assert.deepEqual(a, b);
    assert.deepEqual(a, c);
    const t = tf.tidy(() => values(model.embed(x, { training: true, dropout: 0.4, seed: 1 })));
    assert.ok(t.every(Number.isFinite));
  });

  it('twoViewEmbed runs the trunk once; views differ with dropout > 0, equal with dropout = 0', () => {
    let calls = 0;
    const trunk = model.trunk.bind(model);
    model.trunk = (xx: tf.Tensor4D, training: boolean): tf.Tensor2D => {
      calls++;
      return trunk(xx, training);
    };
    try {
      const [a, b] = model.twoViewEmbed(x, { dropout: 0.5, seeds: [1, 2] });
      assert.equal(calls, 1);
      assert.deepEqual(a.shape, [8, 32]);
      assert.notDeepEqual(values(a), values(b));
      const [c, d] = model.twoViewEmbed(x, { dropout: 0 });
      assert.equal(calls, 2);
      assert.deepEqual(values(c), values(d));
      tf.dispose([a, b, c, d]);
    } finally {
      model.trunk = trunk;
    }
  });

  it('a two-view training step gives every parameter a gradient and leaks nothing', () => {
    const vars = [...model.store.trainable().values()];
    assertNoLeak('two-view step', () => {
      tf.tidy(() => {
        const { grads } = tf.variableGrads(() => {
          const [a, b] = model.twoViewEmbed(x, { dropout: 0.4, seeds: [3, 4] });
          return tf.add(tf.sum(tf.mul(a, b)), tf.sum(tf.mul(a, tf.tensor2d(data(8 * 32, 5), [8, 32])))) as tf.Scalar;
        }, vars);
        const missing = [...model.store.trainable().entries()].filter(([, v]) => !(tf.norm(grads[v.name]).dataSync()[0] > 0));
        assert.deepEqual(missing.map(([n]) => n), []);
      });
    });
  });

  it('same seed -> same init and outputs; different seed -> different', () => {
    const m1 = new FaceModel({ backbone: 'iresnet-tiny', inputShape: SHAPE, embeddingDim: 32, seed: 11 });
    const m2 = new FaceModel({ backbone: 'iresnet-tiny', inputShape: SHAPE, embeddingDim: 32, seed: 11 });
    const m3 = new FaceModel({ backbone: 'iresnet-tiny', inputShape: SHAPE, embeddingDim: 32, seed: 12 });
    const out = (m: FaceModel): Float32Array => tf.tidy(() => values(m.embed(x)));
    const views = (m: FaceModel): Float32Array[] => tf.tidy(() => m.twoViewEmbed(x, { dropout: 0.3 }).map(values));
    assert.deepEqual(out(m1), out(m2));
    assert.notDeepEqual(out(m1), out(m3));
    // default dropout seeds come from the model's seeded stream
    assert.deepEqual(views(m1), views(m2));
    for (const m of [m1, m2, m3]) m.dispose();
  });

  it('snapshot / load round trip reproduces the outputs exactly', () => {
    tf.tidy(() => {
      model.embed(x, { training: true }); // move the running statistics away from their init
    });
    const other = new FaceModel({ backbone: 'iresnet-tiny', inputShape: SHAPE, embeddingDim: 32, seed: 99 });
    const ref = tf.tidy(() => values(model.embed(x)));
    assert.notDeepEqual(tf.tidy(() => values(other.embed(x))), ref);
    other.store.load(model.store.snapshot());
    assert.deepEqual(tf.tidy(() => values(other.embed(x))), ref);
    other.dispose();
  });

  it('backbone options pass through; errors are clear', () => {
    const m = new FaceModel({ backbone: 'iresnet-tiny', backboneOptions: { widths: [8, 8, 16], stemWidth: 8 }, inputShape: SHAPE });
    assert.equal(m.backbone.featureDim, 4 * 4 * 16);
    assert.equal(m.embeddingDim, 128);
    m.dispose();
    const before = tf.memory().numTensors;
    assert.throws(() => new FaceModel({ backbone: 'iresnet-tiny', backboneOptions: { width: 3 }, inputShape: SHAPE }), /unknown option 'width'/);
    assert.throws(() => new FaceModel({ backbone: 'iresnet-small', inputShape: [4, 4, 3] }), /resolution 4 too small for 3 stride-2 stages: needs >= 8/);
    assert.throws(() => new FaceModel({ backbone: 'iresnet-tiny', inputShape: SHAPE, embeddingDim: 0 }), /embeddingDim must be a positive integer, got 0/);
    assert.equal(tf.memory().numTensors, before, 'a failed construction frees its variables');
  });

  for (const name of ['iresnet-nano', 'iresnet-tiny']) it(`prints the training-step time of ${name}, batch 64 at 32x32x3`, function () {
    this.timeout(300000);
    const m = new FaceModel({ backbone: name, inputShape: SHAPE, seed: 1 });
    const xb = batch(64, 2);
    const vars = [...m.store.trainable().values()];
    const step = (): void =>
      tf.tidy(() => {
        const { value, grads } = tf.variableGrads(() => {
          const [a, b] = m.twoViewEmbed(xb, { dropout: 0.5 });
          return tf.add(tf.mean(tf.square(a)), tf.mean(tf.mul(a, b))) as tf.Scalar;
        }, vars);
        value.dataSync();
        for (const g of Object.values(grads)) g.dataSync();
      });
    const fwd = (): void => tf.tidy(() => void m.embed(xb, { training: true }).dataSync());
    step();
    fwd();
    const time = (f: () => void, n: number): { wall: number; cpu: number } => {
      const t = process.hrtime.bigint();
      const u = process.cpuUsage();
      for (let i = 0; i < n; i++) f();
      const du = process.cpuUsage(u);
      return { wall: Number(process.hrtime.bigint() - t) / 1e6 / n, cpu: (du.user + du.system) / 1000 / n };
    };
    const f = time(fwd, 5);
    const s = time(step, 5);
    console.log(
      `      [timing] ${name} (${m.numParams().toLocaleString('en')} params), batch 64 x 32x32x3 on ${tf.getBackend()}: ` +
        `forward ${f.wall.toFixed(0)} ms (cpu ${f.cpu.toFixed(0)}), two-view forward+backward ${s.wall.toFixed(0)} ms (cpu ${s.cpu.toFixed(0)})`,
    );
    xb.dispose();
    m.dispose();
  });
});
