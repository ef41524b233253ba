// Registry-driven backbone tests (timm style): every registered backbone gets the same checks.
import { strict as assert } from 'assert';
import * as tf from '@tensorflow/tfjs';
import '../../src/models';
import { Backbone, createBackbone, getBackboneEntry, listBackbones, registerBackbone } from '../../src/models/registry';
import { ParamStore } from '../../src/models/params';
import { data, values } from './helpers';

/** Heavy presets (112x112 nominal input) are exercised at their smallest valid resolution. */
function testSetup(name: string): { shape: [number, number, number]; batch: number; heavy: boolean } {
  const e = getBackboneEntry(name);
  const nominal = e.inputShape ?? [32, 32, 3];
  const heavy = nominal[0] > 64;
  if (!heavy) return { shape: nominal, batch: 4, heavy };
  const r = e.minResolution ?? 32;
  return { shape: [r, r, nominal[2]], batch: 2, heavy };
}

function input(batch: number, shape: [number, number, number], seed = 1): tf.Tensor4D {
  return tf.tensor4d(data(batch * shape[0] * shape[1] * shape[2], seed), [batch, ...shape]);
}

function build(name: string, shape: [number, number, number], seed = 0): { store: ParamStore; bb: Backbone } {
  const store = new ParamStore({ seed });
  return { store, bb: createBackbone(name, { store, inputShape: shape }) };
}

describe('models/registry: backbones', () => {
  it('registers the IResNet presets', () => {
    for (const n of ['iresnet-nano', 'iresnet-tiny', 'iresnet-small', 'iresnet18', 'iresnet34', 'iresnet50', 'iresnet100']) {
      assert.ok(listBackbones().some((b) => b.name === n), n);
    }
  });

  for (const { name } of listBackbones()) {
    describe(name, function () {
      this.timeout(300000);
      const { shape, batch, heavy } = testSetup(name);
      let store: ParamStore;
      let bb: Backbone;
      let x: tf.Tensor4D;
      before(() => {
        ({ store, bb } = build(name, shape));
        x = input(batch, shape);
      });
      after(() => {
        store.dispose();
        x.dispose();
      });

      it(`forward [${batch}, ${shape}] -> [B, featureDim], finite, both modes`, () => {
        assert.equal(bb.featureDim, bb.outputShape.reduce((a, b) => a * b));
        for (const training of [true, false]) {
          const y = tf.tidy(() => {
            const out = bb.apply(x, training);
            assert.deepEqual(out.shape, [batch, bb.featureDim]);
            return values(out);
          });
          assert.ok(y.every(Number.isFinite), 'NaN/Inf in output');
        }
        assert.ok(store.trainable().size > 0);
        for (const n of store.trainable().keys()) assert.ok(n.startsWith('backbone/'), n);
      });

      it('every trainable parameter receives a non-zero gradient; no tensor leak', () => {
        const r = tf.tensor2d(data(batch * bb.featureDim, 7), [batch, bb.featureDim]);
        const vars = [...store.trainable().entries()];
        const before = tf.memory().numTensors;
        let norms: (readonly [string, number])[] = [];
        tf.tidy(() => {
          const { value, grads } = tf.variableGrads(() => tf.sum(tf.mul(bb.apply(x, true), r)) as tf.Scalar, vars.map(([, v]) => v));
          assert.ok(Number.isFinite(value.dataSync()[0]));
          norms = vars.map(([n, v]) => [n, tf.norm(grads[v.name]).dataSync()[0]] as const);
        });
        assert.equal(tf.memory().numTensors, before, 'tensor leak in gradient');
        const zero = norms.filter(([, g]) => !(g > 0 && Number.isFinite(g))).map(([n]) => n);
        assert.deepEqual(zero, [], 'parameters without gradient');
        tf.tidy(() => {
          bb.apply(x, false);
        });
        assert.equal(tf.memory().numTensors, before, 'tensor leak in forward');
        r.dispose();
      });

      it('BN running statistics change in training mode only', () => {
        const names = [...store.stateVars().keys()];
        const snap = (): Float32Array[] => [...store.stateVars().values()].map(values);
        const s0 = snap();
        tf.tidy(() => {
          bb.apply(x, false);
        });
        assert.deepEqual(snap(), s0, 'inference must not touch running stats');
        tf.tidy(() => {
          bb.apply(x, true);
        });
        const s1 = snap();
        const changed = names.filter((_, i) => s1[i].some((e, j) => e !== s0[i][j]));
        // Every running variance moves. A running mean may legitimately stay put when its input is
        // a sum of BN outputs with beta = 0 (exactly zero batch mean), e.g. the final BN of a net
        // whose last block has a projection shortcut, so only most of them are required to move.
        const vars = names.filter((n) => n.endsWith('running_var'));
        assert.deepEqual(vars.filter((n) => !changed.includes(n)), [], 'running variances not updated');
        const means = names.filter((n) => n.endsWith('running_mean'));
        assert.ok(means.filter((n) => changed.includes(n)).length >= means.length / 2, 'running means not updated');
      });

      if (!heavy) {
        it('is deterministic per seed (init and outputs); another seed differs', () => {
          const a = build(name, shape, 5);
          const b = build(name, shape, 5);
          const c = build(name, shape, 6);
          const out = (m: { bb: Backbone }): Float32Array => tf.tidy(() => values(m.bb.apply(x, true)));
          const first = (m: { store: ParamStore }): Float32Array => values([...m.store.trainable().values()][0]);
          assert.deepEqual(first(a), first(b));
          assert.notDeepEqual(first(a), first(c));
          assert.deepEqual(out(a), out(b));
          assert.notDeepEqual(out(a), out(c));
          for (const m of [a, b, c]) m.store.dispose();
        });
      }

      it('nominal input shape gives the expected feature size', () => {
        const e = getBackboneEntry(name);
        const nominal = e.inputShape ?? shape;
        const m = heavy ? build(name, nominal) : { store, bb };
        const [h, w] = nominal;
        const opts = e.defaults as { depths: number[]; widths: number[]; stemStride: number };
        const down = 2 ** (opts.depths.length + (opts.stemStride === 2 ? 1 : 0));
        assert.deepEqual(m.bb.outputShape, [Math.ceil(h / down), Math.ceil(w / down), opts.widths[opts.widths.length - 1]]);
        console.log(`      ${name}: ${m.store.numParams().toLocaleString('en')} params, features ${m.bb.outputShape.join('x')} = ${m.bb.featureDim} at ${nominal.join('x')}`);
        if (heavy) m.store.dispose();
      });
    });
  }

  it('iresnet18 runs at 112x112 (insightface layout: 7x7x512 features)', function () {
    this.timeout(120000);
    const { store, bb } = build('iresnet18', [112, 112, 3]);
    assert.equal(bb.featureDim, 7 * 7 * 512);
    const x = input(1, [112, 112, 3]);
    const y = tf.tidy(() => values(bb.apply(x, false)));
    assert.equal(y.length, 25088);
    assert.ok(y.every(Number.isFinite));
    x.dispose();
    store.dispose();
  });

  it('errors: too-small resolution, unknown option, unknown backbone, bad options, duplicate registration', () => {
    const store = new ParamStore();
    assert.throws(
      () => createBackbone('iresnet-small', { store, inputShape: [16, 16, 3], depths: [1, 1, 1, 1, 1], widths: [8, 8, 8, 8, 8] }),
      /resolution 16 too small for 5 stride-2 stages: needs >= 32/,
    );
    assert.throws(() => createBackbone('iresnet-nano', { store, inputShape: [8, 8, 3] }), /resolution 8 too small for 4 stride-2 stages: needs >= 16/);
    assert.throws(
      () => createBackbone('iresnet-tiny', { store, inputShape: [32, 32, 3], depth: [1] }),
      /unknown option 'depth' for backbone 'iresnet-tiny'; allowed: depths, widths, stemWidth, stemStride, store, inputShape, prefix, rng/,
    );
    assert.throws(() => createBackbone('resnet9000', { store, inputShape: [32, 32, 3] }), /unknown backbone 'resnet9000'; registered: .*iresnet-tiny/);
    assert.throws(() => createBackbone('iresnet-tiny', { store, inputShape: [32, 32, 3], depths: [1, 1] }), /depths and widths must have the same length, got 2 and 3/);
    assert.throws(() => createBackbone('iresnet-tiny', { store, inputShape: [32, 32, 3], stemStride: 3 }), /stemStride must be 1 or 2, got 3/);
    assert.throws(() => createBackbone('iresnet-tiny', { store, inputShape: [32, 32, 3], widths: [16, 0, 4] }), /widths must be a non-empty array of positive integers/);
    assert.throws(() => registerBackbone('iresnet-tiny', getBackboneEntry('iresnet-tiny')), /already registered/);
    const bb = createBackbone('iresnet-tiny', { store, inputShape: [32, 32, 3], prefix: 'b2/' });
    const x = tf.zeros([1, 16, 16, 3]) as tf.Tensor4D;
    assert.throws(() => bb.apply(x, false), /expected input \[B, 32, 32, 3\], got \[1, 16, 16, 3\]/);
    x.dispose();
    store.dispose();
  });
});
