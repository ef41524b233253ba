// Composite native kernels (src/backends/native-composite.ts: the training neck and CoReFace's two-view objective in
// one kernel each way) against the single native kernels they replace (setCompositeKernels(false)): values, running
// statistics, the adaptive margin and every gradient must be equal BIT FOR BIT, so switching the composites on changes
// no result. The single kernels are held to the cpu backend by fused.test.ts and native-kernels.test.ts. Also the
// addon's two elementwise functions against float32 arithmetic done by hand. Skipped without the addon, except under
// CI=true.
import { strict as assert } from 'assert';
import * as tf from '@tensorflow/tfjs';

import { compositeKernelsInUse, setCompositeKernels } from '../../src/backends/fused';
import { loadAddon } from '../../src/backends/native-addon';
import { enableNativeKernels, setNativeConvEngine } from '../../src/backends';
import { createHead } from '../../src/heads';
import { CoReFaceContrastiveLoss, coreFaceObjective, coreFaceObjectiveStacked, type ContrastiveMask, type ContrastiveProtocol } from '../../src/coreface';
import { EmbeddingNeck } from '../../src/models/neck';
import { ParamStore } from '../../src/models/params';
import { deepMerge } from '../../src/config';
import { SMOKE_BASE, corefaceAblationVariants } from '../../src/experiments/builtin';
import { Trainer } from '../../src/train/trainer';
import { Rng } from '../../src/util/rng';
import { TestFactory } from '../heads/helpers';
import { randn, requireNativeKernels } from './compare';

/** Asserts two lists of arrays are equal bit for bit (as float32 words; NaN payloads and signed zeros included). */
function assertBits(got: Float32Array[], want: Float32Array[], what: string): void {
  assert.equal(got.length, want.length, `${what}: number of outputs`);
  got.forEach((g, k) => {
    assert.equal(g.length, want[k].length, `${what}: output ${k} length`);
    const a = new Uint32Array(g.buffer, g.byteOffset, g.length);
    const b = new Uint32Array(want[k].buffer, want[k].byteOffset, want[k].length);
    const i = a.findIndex((v, j) => v !== b[j]);
    assert.equal(i, -1, `${what}: output ${k} differs at ${i}: ${g[i]} vs ${want[k][i]}`);
  });
}

/** Runs fn with the composite kernels on and off; returns both results and how often `kernel` ran with them on. */
function bothPaths(kernel: string, fn: () => Float32Array[]): { composite: Float32Array[]; single: Float32Array[]; calls: number } {
  const config = tf.getKernel(kernel, 'wasm');
  assert.ok(config, `${kernel} is registered`);
  let calls = 0;
  tf.unregisterKernel(kernel, 'wasm');
  tf.registerKernel({ ...config, kernelFunc: (args) => { calls++; return config.kernelFunc(args); } });
  try {
    const composite = fn();
    const prev = setCompositeKernels(false);
    try {
      return { composite, single: fn(), calls };
    } finally {
      setCompositeKernels(prev);
    }
  } finally {
    tf.unregisterKernel(kernel, 'wasm');
    tf.registerKernel(config);
  }
}

const B = 8;
const D = 12;
const E = 6;
const C = 9;
const LABELS = [3, 0, 3, 6, 1, 0, 8, 3];

/** Neck outputs (views stacked), running statistics after the call, and the gradients of sum(x * r). */
function neckRun(views: 1 | 2, p: number, seed: number, stacked = false, [B, D, E] = [8, 12, 6]): () => Float32Array[] {
  return () => tf.tidy(() => {
    const store = new ParamStore({ seed: `composite/neck/${seed}` });
    const neck = new EmbeddingNeck({ store, inputDim: D, embeddingDim: E });
    const rng = new Rng(`composite/h/${seed}`);
    tf.tidy(() => neck.bn.runningVar.assign(tf.tensor1d(randn(rng, E).map((v) => 1 + v * v))));
    const h = tf.variable(tf.tensor2d(randn(rng, B * D), [B, D]));
    const r = tf.tensor2d(randn(rng, views * B * E), [views * B, E]);
    let x: Float32Array = new Float32Array(0);
    const { grads } = tf.variableGrads(() => {
      const two = { dropout: p, seeds: [11, 12] as [number, number] };
      const out = views === 1 ? neck.apply(h, { training: true, dropout: p, seed: 11 }) : stacked ? neck.twoViewsStacked(h, two) : tf.concat(neck.twoViews(h, two), 0);
      x = out.dataSync() as Float32Array;
      return tf.sum(tf.mul(out, r)) as tf.Scalar;
    }, [h, neck.fc, neck.bn.beta]);
    const out = [x, neck.bn.runningMean.dataSync(), neck.bn.runningVar.dataSync(), ...[h, neck.fc, neck.bn.beta].map((v) => grads[v.name].dataSync())] as Float32Array[];
    h.dispose();
    store.dispose();
    return out;
  });
}

interface ObjectiveCase {
  head: string;
  headOpts?: Record<string, number | boolean>;
  contrast: { protocol: ContrastiveProtocol; mask: ContrastiveMask; margin: 'adaptive' | 'none' | number } | null;
  wC: number;
}

/** Two objective calls (the second sees the adaptive margin of the first): total, terms, logits, gradients, margin. */
function objectiveRun(c: ObjectiveCase, seed: number, weights: { wC2?: number; referenceQuirk?: boolean } = {}, stacked = false): () => Float32Array[] {
  return () => tf.tidy(() => {
    const store = new TestFactory(`composite/o/${seed}`);
    const head = createHead(c.head, { store, numClasses: C, embeddingDim: E, ...(c.headOpts ?? {}) });
    const contrast = c.contrast ? new CoReFaceContrastiveLoss({ ...c.contrast, scale: 16 }) : null;
    const rng = new Rng(`composite/x/${seed}`);
    const w = head.variables[0].arraySync() as number[][];
    // row 0 on its label's weight column (cos = 1: clipping and the easy-margin branch), the rest random
    const x0 = Array.from({ length: B }, (_, i) => (i === 0 ? w.map((row) => 2 * row[LABELS[0]]) : Array.from(randn(rng, E)))).flat();
    const x1 = tf.variable(tf.tensor2d(x0, [B, E]));
    const x2 = tf.variable(tf.tensor2d(x0.map((v) => v + 0.3 * rng.normal()), [B, E]));
    const y = tf.tensor1d(LABELS, 'int32');
    const out: Float32Array[] = [];
    // stacked: the same views as one [2B, E] variable through coreFaceObjectiveStacked; its gradient is returned in
    // halves, so both forms give outputs in the same order
    const xs = tf.variable(tf.concat([x1, x2], 0));
    const wts = { w1: 0.5, w2: 0.5, wC: c.wC, wC2: weights.wC2 ?? 0, referenceQuirk: weights.referenceQuirk };
    for (let call = 0; call < 2; call++) {
      const vars = stacked ? [xs, head.variables[0]] : [x1, x2, head.variables[0]];
      const { value, grads } = tf.variableGrads(() => {
        const o = stacked ? coreFaceObjectiveStacked(head, contrast, xs as tf.Tensor2D, y, wts) : coreFaceObjective(head, contrast, x1 as tf.Tensor2D, x2 as tf.Tensor2D, y, wts);
        out.push(...[o.terms.ce1, o.terms.ce2, o.terms.con12, o.terms.con21, o.logits1].map((t) => t.dataSync() as Float32Array));
        return o.total;
      }, vars);
      const g = vars.map((v) => grads[v.name].dataSync() as Float32Array);
      out.push(value.dataSync() as Float32Array, ...(stacked ? [g[0].slice(0, B * E), g[0].slice(B * E), g[1]] : g));
      out.push(Float32Array.of(contrast?.margin ?? 0));
    }
    tf.dispose([x1, x2, xs]);
    store.dispose();
    return out;
  });
}

describe('backends: composite kernels equal the single native kernels bit for bit', function () {
  before(async function () {
    await requireNativeKernels(this);
    assert.ok(compositeKernelsInUse(), 'the composite kernels run by default with the native kernels');
  });

  it('neck at the quick preset size, two views (one per thread with two threads), 1 and 2 threads, both engines: bit for bit', () => {
    try {
      for (const threads of [1, 2]) {
        enableNativeKernels({ threads });
        for (const engine of ['onednn', 'blas'] as const) {
          const prev = setNativeConvEngine(engine);
          try {
            for (const p of [0.6, 0]) {
              const r = bothPaths('CorefaceNeckTrain', neckRun(2, p, 7, true, [64, 1024, 128]));
              assert.equal(r.calls, 1);
              assertBits(r.composite, r.single, `neck [64, 1024] -> 128, dropout ${p}, ${engine}, ${threads} thread(s)`);
            }
          } finally {
            setNativeConvEngine(prev);
          }
        }
      }
    } finally {
      enableNativeKernels(); // the default thread count again
    }
  });

  const necks: [1 | 2, number][] = [[1, 0], [1, 0.4], [2, 0.6], [2, 0]];
  necks.forEach(([views, p], i) => {
    it(`neck, ${views} view(s), dropout ${p}: embeddings, running statistics and gradients`, () => {
      const r = bothPaths('CorefaceNeckTrain', neckRun(views, p, i));
      assert.equal(r.calls, 1);
      assertBits(r.composite, r.single, 'neck');
      if (views === 2) {
        // the stacked form: the composite kernel's output as is, or the single kernels' views concatenated
        const s = bothPaths('CorefaceNeckTrain', neckRun(views, p, i, true));
        assertBits(s.composite, r.composite, 'stacked neck, composite');
        assertBits(s.single, r.single, 'stacked neck, single kernels');
      }
    });
  });

  const objectives: ObjectiveCase[] = [
    { head: 'arcface', contrast: { protocol: 'one-way-n', mask: 'zero', margin: 'adaptive' }, wC: 0.05 },
    { head: 'arcface', headOpts: { easyMargin: true }, contrast: { protocol: 'two-way-n', mask: 'exclude', margin: 0.2 }, wC: 0.1 },
    { head: 'cosface', contrast: { protocol: '2n', mask: 'none', margin: 'none' }, wC: 0.05 },
    { head: 'normface', headOpts: { scale: 8 }, contrast: { protocol: 'one-way-n', mask: 'zero', margin: 'adaptive' }, wC: 0 },
    { head: 'arcface', contrast: null, wC: 0 },
  ];
  objectives.forEach((c, i) => {
    it(`objective, ${c.head} ${JSON.stringify(c.headOpts ?? {})}, contrast ${JSON.stringify(c.contrast)}, wC ${c.wC}`, () => {
      const r = bothPaths('CorefaceTwoViewObjective', objectiveRun(c, i));
      assert.equal(r.calls, 2);
      assertBits(r.composite, r.single, 'objective');
      // the views stacked (coreFaceObjectiveStacked): the kernel reads them in place; the tape splits them
      const s = bothPaths('CorefaceTwoViewObjective', objectiveRun(c, i, {}, true));
      assert.equal(s.calls, 2);
      assertBits(s.composite, r.composite, 'stacked objective, composite');
      assertBits(s.single, r.single, 'stacked objective, single kernels');
    });
  });

  it('the pair form leaves only its results behind (its stacked copy of the views is freed), gradients still right', () => {
    const store = new TestFactory('composite/pair-leak');
    const head = createHead('arcface', { store, numClasses: C, embeddingDim: E });
    const contrast = new CoReFaceContrastiveLoss({ protocol: 'one-way-n', mask: 'zero', margin: 'adaptive', scale: 16 });
    const rng = new Rng('composite/pair-leak');
    const x1 = tf.tensor2d(randn(rng, B * E), [B, E]);
    const x2 = tf.tensor2d(randn(rng, B * E), [B, E]);
    const y = tf.tensor1d(LABELS, 'int32');
    const w = { w1: 0.5, w2: 0.5, wC: 0.05, wC2: 0 };
    const before = tf.memory().numTensors;
    const o = coreFaceObjective(head, contrast, x1, x2, y, w);
    tf.dispose([o.total, o.logits1, ...Object.values(o.terms)]);
    assert.equal(tf.memory().numTensors, before, 'only the results were new');
    const g = tf.grads((a: tf.Tensor, b: tf.Tensor) => coreFaceObjective(head, contrast, a as tf.Tensor2D, b as tf.Tensor2D, y, w).total)([x1, x2]);
    assert.ok(g.every((t) => t.shape.join() === `${B},${E}` && (t.dataSync() as Float32Array).some((v) => v !== 0)));
    tf.dispose([...g, x1, x2, y]);
    store.dispose();
  });

  it('coreFaceObjectiveStacked rejects views that are not two stacked [B, E] blocks', () => {
    const store = new TestFactory('composite/stacked-errors');
    const head = createHead('arcface', { store, numClasses: C, embeddingDim: E });
    const y = tf.tensor1d(LABELS, 'int32');
    const before = tf.memory().numTensors;
    for (const shape of [[2 * B + 1, E], [0, E], [2 * B, E, 1]]) {
      const v = tf.zeros(shape);
      assert.throws(() => coreFaceObjectiveStacked(head, null, v as tf.Tensor2D, y, { w1: 0.5, w2: 0.5, wC: 0, wC2: 0 }), /two views stacked/);
      v.dispose();
    }
    const v = tf.zeros([2 * B, E + 1]);
    assert.throws(() => coreFaceObjectiveStacked(head, null, v as tf.Tensor2D, y, { w1: 0.5, w2: 0.5, wC: 0, wC2: 0 }), /embeddings must be/);
    v.dispose();
    assert.equal(tf.memory().numTensors, before, 'no tensor leak');
    tf.dispose(y);
    store.dispose();
  });

  it('falls back to the single kernels for the reverse term, the reference quirk and heads without a fused target', () => {
    const arc: ObjectiveCase = { head: 'arcface', contrast: { protocol: 'one-way-n', mask: 'zero', margin: 'adaptive' }, wC: 0.05 };
    for (const [c, w] of [[arc, { wC2: 0.05 }], [arc, { referenceQuirk: true }], [{ ...arc, head: 'curricularface' }, {}]] as [ObjectiveCase, { wC2?: number; referenceQuirk?: boolean }][]) {
      const r = bothPaths('CorefaceTwoViewObjective', objectiveRun(c, 9, w));
      assert.equal(r.calls, 0);
      assertBits(r.composite, r.single, 'fallback');
    }
  });

  it('trains a CoReFace model to the same weights and running statistics, without leaking tensors', () => {
    const m = corefaceAblationVariants(1, []).find((v) => v.name === 'coreface');
    assert.ok(m);
    const cfg = deepMerge(deepMerge(SMOKE_BASE, m.overrides ?? {}), { name: 'composite', seed: 3 }) as Record<string, unknown>;
    let benchmark: Trainer['benchmark'] | undefined;
    const run = (): Float32Array[] => {
      const before = tf.memory().numTensors;
      const t = new Trainer(cfg, { progress: false, benchmark });
      benchmark = t.benchmark;
      const losses: number[] = [];
      for (let s = 0; s < 3; s++) {
        const rng = new Rng(`composite/idx/${s}`);
        const rec = t.step(Int32Array.from({ length: 32 }, () => rng.int(t.benchmark.train.count)), 1, s);
        assert.equal(rec.views, 2);
        losses.push(rec.loss, ...Object.values(rec.terms));
      }
      const out = [Float32Array.from(losses), ...t.model.store.snapshot().map((e) => Float32Array.from(e.data))];
      t.dispose();
      assert.equal(tf.memory().numTensors, before, 'tensors after dispose');
      return out;
    };
    const r = bothPaths('CorefaceNeckTrain', run);
    assert.equal(r.calls, 3);
    assertBits(r.composite, r.single, 'trainer');
  });

  it('rejects what the single kernels reject (a non-finite or missing dropout seed), leaking nothing', () => {
    const store = new ParamStore({ seed: 'composite/bad' });
    const neck = new EmbeddingNeck({ store, inputDim: D, embeddingDim: E });
    const h = tf.zeros([B, D]) as tf.Tensor2D;
    const before = tf.memory().numTensors;
    for (const on of [true, false]) {
      const prev = setCompositeKernels(on);
      try {
        assert.throws(() => neck.twoViews(h, { dropout: 0.5, seeds: [1, NaN] }), /seed/);
        assert.throws(() => neck.apply(h, { training: true, dropout: 0.5 }), /seed/);
      } finally {
        setCompositeKernels(prev);
      }
    }
    assert.equal(tf.memory().numTensors, before);
    h.dispose();
    store.dispose();
  });

  it('addInPlace and mulMask round as float32 Add and Multiply (no fused multiply-add)', () => {
    const addon = loadAddon();
    assert.ok(addon.addInPlace && addon.mulMask);
    const rng = new Rng('composite/elementwise');
    const n = 4099;
    const a = randn(rng, n);
    const d = randn(rng, n);
    const m = Float32Array.from(randn(rng, n), (v) => (v > 0 ? 1 / 0.4 : 0) + v * 1e-3);
    const sum = a.slice();
    addon.addInPlace(sum, d);
    assertBits([sum], [Float32Array.from(a, (v, i) => v + d[i])], 'addInPlace');
    const prod = new Float32Array(n);
    addon.mulMask(prod, d, m, false);
    assertBits([prod], [Float32Array.from(d, (v, i) => v * m[i])], 'mulMask');
    const acc = a.slice();
    addon.mulMask(acc, d, m, true);
    assertBits([acc], [Float32Array.from(a, (v, i) => v + Math.fround(d[i] * m[i]))], 'mulMask accumulate');
    assert.throws(() => addon.addInPlace?.(new Float32Array(4), new Float32Array(3)), /x/);
  });
});
