import { strict as assert } from 'assert';
import * as tf from '@tensorflow/tfjs';
import {
  CoReFaceContrastiveLoss,
  ContrastiveMask,
  ContrastiveProtocol,
  REFERENCE_WEIGHTS,
  coreFaceObjective,
} from '../../src/coreface';
import { createHead } from '../../src/heads';
import type { LabelsLike } from '../../src/util/labels';
import { Rng } from '../../src/util/rng';
import { Mat, TestFactory, assertClose, flat, numericGrad, randomMat } from '../heads/helpers';
import { ReferenceContrastive, contrastiveLoss, batchMargin } from './reference';

const PROTOCOLS: ContrastiveProtocol[] = ['one-way-n', 'two-way-n', '2n'];
const MASKS: ContrastiveMask[] = ['zero', 'exclude', 'none'];
const LABELS = [0, 1, 0, 2]; // images 0 and 2 share a label

/** Three batches of two views (base + independent noise), N = 4, E = 3. */
function batches(seed: number): Array<[Mat, Mat]> {
  const rng = new Rng(seed);
  return [0, 1, 2].map(() => {
    const base = randomMat(rng, 4, 3);
    const noisy = (): Mat => base.map((r) => r.map((v) => v + rng.normal(0, 0.4)));
    return [noisy(), noisy()];
  });
}

function computeNumber(loss: CoReFaceContrastiveLoss, v1: Mat, v2: Mat, labels: LabelsLike): number {
  return tf.tidy(() => loss.compute(tf.tensor2d(v1), tf.tensor2d(v2), labels).dataSync()[0]);
}

describe('coreface: CoReFaceContrastiveLoss vs the float64 loop', () => {
  const modes: Array<{ label: string; margin: 'adaptive' | 'none' | number; batchWeight: number }> = [
    { label: 'adaptive, batchWeight 0.99 (reference)', margin: 'adaptive', batchWeight: 0.99 },
    { label: 'adaptive, batchWeight 0.01 (EMA ablation)', margin: 'adaptive', batchWeight: 0.01 },
    { label: 'fixed 0.2', margin: 0.2, batchWeight: 0.99 },
    { label: 'none', margin: 'none', batchWeight: 0.99 },
  ];
  for (const protocol of PROTOCOLS) {
    for (const mask of MASKS) {
      for (const mode of modes) {
        it(`${protocol} / mask ${mask} / margin ${mode.label}: loss and margin over three calls`, () => {
          const ours = new CoReFaceContrastiveLoss({ protocol, mask, margin: mode.margin, batchWeight: mode.batchWeight });
          const ref = new ReferenceContrastive(protocol, mask, 64, mode.margin, mode.batchWeight);
          assert.equal(ours.margin, ref.margin, 'initial margin');
          for (const [v1, v2] of batches(11)) {
            const got = computeNumber(ours, v1, v2, LABELS);
            const want = ref.step(v1, v2, LABELS);
            assertClose([ours.margin], [ref.margin], 0, 2e-6, 'margin');
            assertClose([got], [want], 1e-4, 2e-4, 'loss');
            const st = ours.lastStats;
            assert.ok(st);
            assert.equal(st.rows, protocol === 'one-way-n' ? 4 : 8);
            assertClose([st.marginBatch], [batchMargin(v1, v2, LABELS, protocol, mask)], 0, 2e-6, 'm_batch');
            assertClose([st.posMean - st.negMean], [st.marginBatch], 0, 1e-9, 'pos - neg');
            assert.ok(st.negMean >= 0);
            assert.equal(st.margin, ours.margin);
          }
          if (mode.margin === 'none') assert.equal(ours.margin, 0);
          if (mode.margin === 0.2) assert.equal(ours.margin, 0.2);
        });
      }
    }
  }

  it('defaults: scale 64, batchWeight 0.99, one-way-n, zero mask, adaptive margin starting at 0', () => {
    const l = new CoReFaceContrastiveLoss();
    assert.equal(l.scale, 64);
    assert.equal(l.batchWeight, 0.99);
    assert.equal(l.protocol, 'one-way-n');
    assert.equal(l.mask, 'zero');
    assert.equal(l.marginMode, 'adaptive');
    assert.equal(l.margin, 0);
    assert.equal(l.lastStats, null);
    const [v1, v2] = batches(3)[0];
    const ref = new ReferenceContrastive('one-way-n', 'zero', 64, 'adaptive', 0.99);
    assertClose([computeNumber(l, v1, v2, LABELS)], [ref.step(v1, v2, LABELS)], 1e-4, 2e-4, 'loss');
  });

  it('the margin uses the batch weight exactly: m <- w m_batch + (1 - w) m', () => {
    const l = new CoReFaceContrastiveLoss({ batchWeight: 0.3 });
    l.setState({ margin: 0.5 });
    const [v1, v2] = batches(5)[1];
    computeNumber(l, v1, v2, LABELS);
    const mb = batchMargin(v1, v2, LABELS, 'one-way-n', 'zero');
    assertClose([l.margin], [0.3 * mb + 0.7 * 0.5], 0, 2e-6, 'margin');
  });

  it('accepts labels as number[], Int32Array and int32 tensors', () => {
    const [v1, v2] = batches(6)[0];
    const vals = [LABELS, Int32Array.from(LABELS)].map((y) => computeNumber(new CoReFaceContrastiveLoss(), v1, v2, y));
    const t = tf.tensor1d(LABELS, 'int32');
    vals.push(computeNumber(new CoReFaceContrastiveLoss(), v1, v2, t));
    t.dispose();
    assert.equal(vals[0], vals[1]);
    assert.equal(vals[0], vals[2]);
  });

  it('excluded entries give finite values and gradients even when every negative is excluded', () => {
    const [v1, v2] = batches(7)[0];
    for (const protocol of PROTOCOLS) {
      const l = new CoReFaceContrastiveLoss({ protocol, mask: 'exclude', margin: 0.3 });
      const { value, grads } = tf.tidy(() => {
        const f = (a: tf.Tensor, b: tf.Tensor): tf.Scalar => l.compute(a as tf.Tensor2D, b as tf.Tensor2D, [1, 1, 1, 1]);
        const vg = tf.valueAndGrads(f)([tf.tensor2d(v1), tf.tensor2d(v2)]);
        return { value: vg.value.dataSync()[0], grads: vg.grads.map((g) => Array.from(g.dataSync())) };
      });
      assert.ok(Math.abs(value) < 1e-6, `${protocol}: only the positive remains, CE = 0, got ${value}`);
      assert.ok(grads.flat().every(Number.isFinite));
    }
  });

  it('does not leak tensors', () => {
    const [v1, v2] = batches(8)[0];
    const a = tf.tensor2d(v1), b = tf.tensor2d(v2);
    for (const protocol of PROTOCOLS) {
      for (const mask of MASKS) {
        const l = new CoReFaceContrastiveLoss({ protocol, mask });
        l.compute(a, b, LABELS).dispose(); // warm-up
        const before = tf.memory().numTensors;
        l.compute(a, b, LABELS).dispose();
        const g = tf.grads((x: tf.Tensor, y: tf.Tensor) => l.compute(x as tf.Tensor2D, y as tf.Tensor2D, LABELS))([a, b]);
        tf.dispose(g);
        assert.equal(tf.memory().numTensors, before, `${protocol}/${mask} leaks`);
      }
    }
    tf.dispose([a, b]);
  });
});

describe('coreface: contrastive gradients vs central finite differences (float64 loop)', () => {
  for (const protocol of PROTOCOLS) {
    for (const mask of MASKS) {
      for (const scale of [4, 16]) {
        it(`${protocol} / ${mask} / s=${scale}: d/dview1 and d/dview2`, () => {
          const [v1, v2] = batches(21 + scale)[0];
          const l = new CoReFaceContrastiveLoss({ protocol, mask, scale, margin: 'adaptive' });
          l.setState({ margin: 0.1 });
          const [g1, g2] = tf.tidy(() =>
            tf
              .grads((a: tf.Tensor, b: tf.Tensor) => l.compute(a as tf.Tensor2D, b as tf.Tensor2D, LABELS))([
                tf.tensor2d(v1),
                tf.tensor2d(v2),
              ])
              .map((g) => Array.from(g.dataSync())),
          );
          const m = l.margin; // the margin of this call: a constant for the gradient
          const fd1 = flat(numericGrad((a) => contrastiveLoss(a, v2, LABELS, protocol, mask, scale, m), v1, 1e-6));
          const fd2 = flat(numericGrad((b) => contrastiveLoss(v1, b, LABELS, protocol, mask, scale, m), v2, 1e-6));
          const ref = Math.max(...fd1.map(Math.abs), ...fd2.map(Math.abs));
          assertClose(g1, fd1, 2e-2, 1e-3 * ref, 'dL/dview1');
          assertClose(g2, fd2, 2e-2, 1e-3 * ref, 'dL/dview2');
        });
      }
    }
  }

  it("'zero' and 'exclude' mask entries carry no gradient; 'none' does", () => {
    // two images with the same label. view1[1] lies along z; image 0's views lie in the x-y plane. One-way:
    // view2[0] enters row 0 as the positive (in-plane gradient) and row 1 as a same-label entry (the only source
    // of a z component).
    const v1: Mat = [[1, 0.2, 0], [0.1, 0.3, 1]];
    const v2: Mat = [[0.8, 0.5, 0], [0.2, 0.1, 1]];
    const zGrad = (mask: ContrastiveMask): number =>
      tf.tidy(() => {
        const l = new CoReFaceContrastiveLoss({ mask, scale: 8, margin: 0.1 });
        const g = tf.grad((b: tf.Tensor) => l.compute(tf.tensor2d(v1), b as tf.Tensor2D, [5, 5]))(tf.tensor2d(v2));
        return (g.arraySync() as number[][])[0][2];
      });
    assert.equal(zGrad('zero'), 0);
    assert.equal(zGrad('exclude'), 0);
    assert.ok(Math.abs(zGrad('none')) > 1e-3);
  });
});

describe('coreface: state and option validation', () => {
  it('getState / setState round-trip; fixed and none margins are checked', () => {
    const a = new CoReFaceContrastiveLoss();
    const [v1, v2] = batches(9)[0];
    computeNumber(a, v1, v2, LABELS);
    const b = new CoReFaceContrastiveLoss();
    b.setState(a.getState());
    assert.equal(b.margin, a.margin);
    assert.deepEqual(Object.keys(a.getState()), ['margin']);
    assert.throws(() => b.setState({ margin: 0.1, m: 2 }), /unknown contrastive state key\(s\): m; allowed: margin/);
    assert.throws(() => b.setState({ margin: NaN }), /state margin must be a finite number, got NaN/);
    const f = new CoReFaceContrastiveLoss({ margin: 0.25 });
    f.setState({ margin: 0.25 });
    assert.throws(() => f.setState({ margin: 0.3 }), /state margin 0.3 differs from the configured 0.25 margin 0.25/);
    assert.throws(() => new CoReFaceContrastiveLoss({ margin: 'none' }).setState({ margin: 0.3 }), /configured 'none' margin 0/);
  });

  it('option errors name the field, the value and what is allowed', () => {
    const mk = (o: object) => () => new CoReFaceContrastiveLoss(o as never);
    assert.throws(mk({ scale: -1 }), /scale must be a positive finite number, got -1/);
    assert.throws(mk({ batchWeight: 1.5 }), /batchWeight must be a number in \[0, 1\], got 1.5/);
    assert.throws(mk({ protocol: '3n' }), /protocol must be one of 'one-way-n', 'two-way-n', '2n', got '3n'/);
    assert.throws(mk({ mask: 'drop' }), /mask must be one of 'zero', 'exclude', 'none', got 'drop'/);
    assert.throws(mk({ margin: 'ema' }), /margin must be 'adaptive', 'none' or a finite number in \[-2, 2\], got 'ema'/);
    assert.throws(mk({ margin: 3 }), /got 3/);
    assert.throws(mk({ temperature: 0.1 }), /unknown CoReFaceContrastiveLoss option 'temperature'; allowed: scale, batchWeight, protocol, mask, margin/);
  });

  it('input errors', () => {
    const l = new CoReFaceContrastiveLoss();
    assert.throws(() => l.compute(tf.zeros([4, 3]) as tf.Tensor2D, tf.zeros([4, 2]) as tf.Tensor2D, LABELS), /same shape, got \[4,3\] and \[4,2\]/);
    assert.throws(() => l.compute(tf.ones([4, 3]) as tf.Tensor2D, tf.ones([4, 3]) as tf.Tensor2D, [0, 1]), /one entry per row \(4\), got 2/);
    assert.throws(() => l.compute(tf.ones([2, 3]) as tf.Tensor2D, tf.ones([2, 3]) as tf.Tensor2D, [0, 0.5]), /non-negative integers, got 0.5 at index 1/);
  });
});

describe('coreface: coreFaceObjective', () => {
  const C = 3, E = 3;
  const y = [0, 1, 0, 2];
  function setup(seed: string) {
    const f = new TestFactory(seed);
    const head = createHead('arcface', { store: f, numClasses: C, embeddingDim: E, scale: 16 });
    const [v1, v2] = batches(31)[0];
    return { f, head, x1: tf.tensor2d(v1), x2: tf.tensor2d(v2), labels: tf.tensor1d(y, 'int32'), v1, v2 };
  }

  it('REFERENCE_WEIGHTS = 0.5, 0.5, 0.05, 0', () => {
    assert.deepEqual({ ...REFERENCE_WEIGHTS }, { w1: 0.5, w2: 0.5, wC: 0.05, wC2: 0 });
  });

  it('total equals the weighted sum of the terms, each term equals its own computation', () => {
    const s = setup('obj1');
    try {
      const contrast = new CoReFaceContrastiveLoss({ scale: 8 });
      const w = { w1: 0.3, w2: 0.7, wC: 0.2, wC2: 0.15 };
      const out = coreFaceObjective(s.head, contrast, s.x1, s.x2, s.labels, w);
      const t = Object.fromEntries(Object.entries(out.terms).map(([k, v]) => [k, v.dataSync()[0]]));
      const total = out.total.dataSync()[0];
      assertClose([total], [0.3 * t.ce1 + 0.7 * t.ce2 + 0.2 * t.con12 + 0.15 * t.con21], 1e-5, 1e-6, 'total');
      const h1 = s.head.forward(s.x1, s.labels);
      const h2 = s.head.forward(s.x2, s.labels);
      assertClose([t.ce1, t.ce2], [h1.loss.dataSync()[0], h2.loss.dataSync()[0]], 1e-6, 1e-6, 'ce');
      assertClose(out.logits1.dataSync(), h1.logits.dataSync(), 1e-6, 1e-6, 'logits1');
      // contrastive terms against the reference (two updates: x1 -> x2, then x2 -> x1)
      const ref = new ReferenceContrastive('one-way-n', 'zero', 8, 'adaptive', 0.99);
      const c12 = ref.step(s.v1, s.v2, y);
      const c21 = ref.step(s.v2, s.v1, y);
      assertClose([t.con12, t.con21], [c12, c21], 1e-4, 1e-4, 'con');
      assertClose([contrast.margin], [ref.margin], 0, 2e-6, 'margin');
      tf.dispose([out.total, out.logits1, ...Object.values(out.terms), h1.loss, h1.logits, h2.loss, h2.logits]);
    } finally {
      tf.dispose([s.x1, s.x2, s.labels]);
      s.f.dispose();
    }
  });

  it('referenceQuirk evaluates L(x2 -> x1) with weight 0 and updates the margin twice per call', () => {
    const s = setup('obj2');
    try {
      const once = new CoReFaceContrastiveLoss();
      const twice = new CoReFaceContrastiveLoss();
      const ref1 = new ReferenceContrastive('one-way-n', 'zero', 64, 'adaptive', 0.99);
      const ref2 = new ReferenceContrastive('one-way-n', 'zero', 64, 'adaptive', 0.99);
      for (let step = 0; step < 3; step++) {
        const a = coreFaceObjective(s.head, once, s.x1, s.x2, s.labels, REFERENCE_WEIGHTS);
        const b = coreFaceObjective(s.head, twice, s.x1, s.x2, s.labels, { ...REFERENCE_WEIGHTS, referenceQuirk: true });
        ref1.step(s.v1, s.v2, y);
        const r12 = ref2.step(s.v1, s.v2, y);
        const r21 = ref2.step(s.v2, s.v1, y);
        assertClose([once.margin], [ref1.margin], 0, 2e-6, 'margin without quirk');
        assertClose([twice.margin], [ref2.margin], 0, 2e-6, 'margin with quirk');
        assert.equal(a.terms.con21.dataSync()[0], 0, 'not computed without the quirk');
        assertClose([b.terms.con12.dataSync()[0], b.terms.con21.dataSync()[0]], [r12, r21], 1e-4, 2e-4, 'quirk terms');
        // weight 0: the quirk does not change the total given the same con12
        const tb = b.terms;
        assertClose(
          [b.total.dataSync()[0]],
          [0.5 * tb.ce1.dataSync()[0] + 0.5 * tb.ce2.dataSync()[0] + 0.05 * tb.con12.dataSync()[0]],
          1e-5, 1e-6, 'total',
        );
        tf.dispose([a.total, a.logits1, ...Object.values(a.terms), b.total, b.logits1, ...Object.values(b.terms)]);
      }
      assert.notEqual(once.margin, twice.margin);
    } finally {
      tf.dispose([s.x1, s.x2, s.labels]);
      s.f.dispose();
    }
  });

  it('no contrast: contrastive terms are 0; gradients reach the head and both views; no leak', () => {
    const s = setup('obj3');
    try {
      const contrast = new CoReFaceContrastiveLoss();
      const w = { w1: 0.5, w2: 0.5, wC: 0.05, wC2: 0.05 };
      const warm = coreFaceObjective(s.head, contrast, s.x1, s.x2, s.labels, w);
      tf.dispose([warm.total, warm.logits1, ...Object.values(warm.terms)]);
      const before = tf.memory().numTensors;
      const { value, grads } = tf.variableGrads(() => coreFaceObjective(s.head, contrast, s.x1, s.x2, s.labels, w).total, s.head.variables);
      assert.ok(Object.values(grads).every((g) => g.dataSync().some((v) => v !== 0)));
      const gx = tf.grads((a: tf.Tensor, b: tf.Tensor) =>
        coreFaceObjective(s.head, contrast, a as tf.Tensor2D, b as tf.Tensor2D, s.labels, w).total,
      )([s.x1, s.x2]);
      assert.ok(gx.every((g) => g.dataSync().every(Number.isFinite) && g.dataSync().some((v) => v !== 0)));
      tf.dispose([value, ...Object.values(grads), ...gx]);
      const none = coreFaceObjective(s.head, null, s.x1, s.x2, s.labels, { w1: 1, w2: 0, wC: 0, wC2: 0 });
      assert.equal(none.terms.con12.dataSync()[0], 0);
      assert.equal(none.terms.con21.dataSync()[0], 0);
      assertClose([none.total.dataSync()[0]], [none.terms.ce1.dataSync()[0]], 1e-7, 0, 'total = ce1');
      tf.dispose([none.total, none.logits1, ...Object.values(none.terms)]);
      assert.equal(tf.memory().numTensors, before, 'objective leaks tensors');
    } finally {
      tf.dispose([s.x1, s.x2, s.labels]);
      s.f.dispose();
    }
  });

  it('validates weights and the contrast/weights combination', () => {
    const s = setup('obj4');
    try {
      const c = new CoReFaceContrastiveLoss();
      const run = (w: object, contrast: CoReFaceContrastiveLoss | null = c) => () =>
        coreFaceObjective(s.head, contrast, s.x1, s.x2, s.labels, w as never);
      assert.throws(run({ w1: -1, w2: 0.5, wC: 0, wC2: 0 }), /w1 must be a finite non-negative number, got -1/);
      assert.throws(run({ w1: 0.5, w2: 0.5, wC: 0.05 }), /wC2 must be a finite non-negative number, got undefined/);
      assert.throws(run({ ...REFERENCE_WEIGHTS, referenceQuirk: 'yes' }), /referenceQuirk must be a boolean, got yes/);
      assert.throws(run(REFERENCE_WEIGHTS, null), /contrast is null but wC = 0.05, wC2 = 0, referenceQuirk = false/);
      assert.throws(
        () => coreFaceObjective(s.head, c, s.x1, tf.zeros([3, 3]) as tf.Tensor2D, s.labels, REFERENCE_WEIGHTS),
        /x1 and x2 must both be \[B, E\] with the same shape, got \[4,3\] and \[3,3\]/,
      );
    } finally {
      tf.dispose([s.x1, s.x2, s.labels]);
      s.f.dispose();
    }
  });
});
