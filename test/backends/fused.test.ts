// Fused losses (src/backends/fused.ts: one native kernel forward and one backward for the cosine margin heads'
// cross-entropy and for CoReFace's contrastive term) against the same heads and loss computed with tfjs ops on the
// cpu backend: values, the adaptive margin, and gradients with respect to every input, within 1e-4 (max abs error
// / max abs reference). The inputs include rows at cos = +1 and -1 (sqrt floor, clipping, ArcFace's easy-margin
// fallback) and repeated labels (the contrastive masks). Skipped without the addon, except under CI=true.
import { strict as assert } from 'assert';
import * as tf from '@tensorflow/tfjs';
import { disableNativeKernels, enableNativeKernels } from '../../src/backends';
import { fusedLossesAvailable } from '../../src/backends/fused';
import { createHead } from '../../src/heads';
import { CoReFaceContrastiveLoss, type ContrastiveMask, type ContrastiveProtocol } from '../../src/coreface/contrastive';
import { Rng } from '../../src/util/rng';
import { TestFactory } from '../heads/helpers';
import { compare, randn, requireNativeKernels } from './compare';

const B = 6;
const E = 5;
const C = 7;
const LABELS = [3, 0, 3, 6, 1, 0];

/**
 * A head's loss, logits and the gradients of loss + sum(logits * r) w.r.t. the embeddings and the class weights.
 * Rows 0 and 1 are +- the weight column of their label (cos t_y = +1 and -1).
 */
function headRun(name: string, opts: Record<string, number | boolean>, seed: number): () => Float32Array[] {
  return () => tf.tidy(() => {
    const store = new TestFactory(`fused/${seed}`);
    const head = createHead(name, { store, numClasses: C, embeddingDim: E, ...opts });
    const rng = new Rng(`fused/x/${seed}`);
    const w = head.variables[0].arraySync() as number[][];
    const xs = Array.from({ length: B }, (_, i) => (i < 2 ? w.map((row) => (i === 0 ? 3 : -2) * row[LABELS[i]]) : Array.from(randn(rng, E))));
    const x = tf.variable(tf.tensor2d(xs));
    const y = tf.tensor1d(LABELS, 'int32');
    const r = tf.tensor2d(randn(rng, B * C, 0.1), [B, C]);
    let loss: Float32Array = new Float32Array(0);
    let logits: Float32Array = new Float32Array(0);
    const { grads } = tf.variableGrads(() => {
      const o = head.forward(x as tf.Tensor2D, y);
      loss = o.loss.dataSync() as Float32Array;
      logits = o.logits.dataSync() as Float32Array;
      return tf.add(o.loss, tf.sum(tf.mul(o.logits, r))) as tf.Scalar;
    }, [x, head.variables[0]]);
    const out = [loss, logits, grads[x.name].dataSync() as Float32Array, grads[head.variables[0].name].dataSync() as Float32Array];
    x.dispose();
    store.dispose();
    return out;
  });
}

/** Two compute() calls (the second sees the margin the first set): loss, gradients w.r.t. both views, margin, stats. */
function contrastRun(protocol: ContrastiveProtocol, mask: ContrastiveMask, margin: 'adaptive' | number, seed: number): () => Float32Array[] {
  return () => tf.tidy(() => {
    const loss = new CoReFaceContrastiveLoss({ protocol, mask, margin, scale: 16 });
    const rng = new Rng(`fused/c/${seed}`);
    const a0 = randn(rng, B * E);
    const b0 = a0.map((v) => v + 0.5 * rng.normal());
    const [a, b] = [tf.variable(tf.tensor2d(a0, [B, E])), tf.variable(tf.tensor2d(b0, [B, E]))];
    tf.dispose(loss.compute(a as tf.Tensor2D, b as tf.Tensor2D, LABELS));
    const first = loss.margin;
    let value: Float32Array = new Float32Array(0);
    const { grads } = tf.variableGrads(() => {
      const l = loss.compute(a as tf.Tensor2D, b as tf.Tensor2D, LABELS);
      value = l.dataSync() as Float32Array;
      return l;
    }, [a, b]);
    const s = loss.lastStats;
    assert.ok(s);
    const out = [value, grads[a.name].dataSync() as Float32Array, grads[b.name].dataSync() as Float32Array,
      Float32Array.of(first, loss.margin, s.posMean, s.negMean)];
    a.dispose();
    b.dispose();
    return out;
  });
}

describe('backends: fused losses (native kernels) match the tfjs ops on the cpu backend', function () {
  before(async function () {
    await requireNativeKernels(this);
  });
  afterEach(() => {
    enableNativeKernels();
  });

  const heads: [string, Record<string, number | boolean>][] = [
    ['arcface', {}],
    ['arcface', { easyMargin: true }],
    ['arcface', { scale: 16, margin: 0.3 }],
    ['cosface', {}],
    ['normface', { scale: 8 }],
  ];
  heads.forEach(([name, opts], i) => {
    it(`${name} ${JSON.stringify(opts)}: loss, logits and both gradients`, async () => {
      await compare(`${name} ${JSON.stringify(opts)}`, headRun(name, opts, i));
    });
  });

  for (const protocol of ['one-way-n', 'two-way-n', '2n'] as const) {
    for (const mask of ['zero', 'exclude', 'none'] as const) {
      for (const margin of ['adaptive', 0.2] as const) {
        it(`contrastive ${protocol} / ${mask} / margin ${margin}: loss, gradients, margin and statistics`, async () => {
          await compare(`${protocol}/${mask}/${margin}`, contrastRun(protocol, mask, margin, protocol.length + mask.length));
        });
      }
    }
  }

  it('runs the fused kernels on wasm with the native kernels, the tfjs ops without them', async () => {
    const names = async (): Promise<string[]> => {
      const p = await tf.profile(() => { headRun('arcface', {}, 0)(); contrastRun('one-way-n', 'zero', 'adaptive', 0)(); });
      return p.kernelNames;
    };
    assert.ok(fusedLossesAvailable());
    const on = await names();
    for (const k of ['CorefaceMarginCE', 'CorefaceMarginCEGrad', 'CorefaceContrastStats', 'CorefaceContrastLoss', 'CorefaceContrastGrad']) {
      assert.ok(on.includes(k), `${k} ran`);
    }
    assert.ok(!on.includes('Exp'), `no tfjs softmax with the fused path: ${on.join(' ')}`);
    disableNativeKernels();
    assert.equal(fusedLossesAvailable(), false);
    const off = await names();
    assert.ok(!off.some((k) => k.startsWith('Coreface')) && off.includes('Exp'), `tfjs ops without: ${off.join(' ')}`);
  });

  it('leaks no tensors and rejects labels outside the classes', () => {
    const f = headRun('arcface', {}, 1);
    const g = contrastRun('2n', 'exclude', 'adaptive', 1);
    f();
    g();
    const before = tf.memory().numTensors;
    f();
    g();
    assert.equal(tf.memory().numTensors, before);
    const store = new TestFactory('fused/labels');
    const head = createHead('cosface', { store, numClasses: 3, embeddingDim: 2 });
    assert.throws(() => tf.tidy(() => head.forward(tf.ones([2, 2]) as tf.Tensor2D, tf.tensor1d([0, 3], 'int32'))), /labels must be integers in \[0, 3\), got 3 at index 1/);
    store.dispose();
    assert.equal(tf.memory().numTensors, before);
  });
});
