/**
 * The fixed bench model of issue 5, built from the library's ops (so its speed tracks theirs):
 * input 64x64x1, conv3x3 (no bias) + BN + PReLU blocks 32 s1, max-pool 2, 64 s1, depthwise 3x3 s2 (+ BN + PReLU),
 * 128 s1, 128 s2, 256 s2, flatten, dropout 0.2, dense 128 (no bias), BN1d, ArcFace (s 64, m 0.5) over 500
 * classes, SGD momentum 0.9 (weight decay 5e-4, backbone clip 5: the library defaults). BN + PReLU is the library's
 * `batchNormPrelu` (= `prelu(batchNorm(...))`; one fused kernel each way with the native kernels).
 * bench/torch_bench.py builds the same network in PyTorch.
 */
import * as tf from '@tensorflow/tfjs';
import { ParamStore } from '../src/models/params';
import { BatchNormParams, batchNorm, batchNormPrelu, conv2d, createBatchNorm, createPrelu, dense, dropout } from '../src/models/ops';
import { createHead } from '../src/heads';
import type { MarginHead } from '../src/heads';
import { Sgd } from '../src/train/sgd';
import { Rng } from '../src/util/rng';

export const BENCH_INPUT: [number, number, number] = [64, 64, 1];
export const BENCH_BATCH = 64;
export const BENCH_CLASSES = 500;
export const BENCH_EMBEDDING = 128;
export const BENCH_DROPOUT = 0.2;

/** Floating-point operations of one bench-model training step, by part (see {@link benchModelFlops}). */
export interface BenchFlops {
  forward: number;
  backward: number;
  total: number;
}

/**
 * FLOPs of one training step of the bench model at batch `batch`, counted as 2 per multiply-add of the
 * convolutions (regular and depthwise), the dense layer and the head's cosine matrix. Forward: each layer's output
 * (2 N OH OW CO KH KW CI for a convolution, CI = 1 for depthwise); backward: the same count once for the weight
 * gradient and once for the input gradient, except the first convolution, whose input needs no gradient.
 * Not counted (memory-bound, a few % of the total): batch norm, PReLU, pooling, dropout, softmax, the optimizer.
 * At batch 64: 6.89 GFLOP forward + 13.63 GFLOP backward = 20.5 GFLOP per step, 0.32 GFLOP per image.
 */
export function benchModelFlops(batch = BENCH_BATCH): BenchFlops {
  const [h0, w0, c0] = BENCH_INPUT;
  // [cin, cout, stride, depthwise] per conv block, 3x3 'same' padding; a 2x2 max-pool after the first
  const layers: [number, number, number, boolean][] = [[c0, 32, 1, false], [32, 64, 1, false], [64, 64, 2, true], [64, 128, 1, false], [128, 128, 2, false], [128, 256, 2, false]];
  let h = h0;
  let w = w0;
  let forward = 0;
  let backward = 0;
  layers.forEach(([cin, cout, stride, dw], i) => {
    h = Math.ceil(h / stride);
    w = Math.ceil(w / stride);
    const f = 2 * batch * h * w * cout * 9 * (dw ? 1 : cin);
    forward += f;
    backward += i === 0 ? f : 2 * f;
    if (i === 0) {
      h /= 2;
      w /= 2;
    }
  });
  const dense = 2 * batch * h * w * 256 * BENCH_EMBEDDING;
  const head = 2 * batch * BENCH_EMBEDDING * BENCH_CLASSES;
  forward += dense + head;
  backward += 2 * (dense + head);
  return { forward, backward, total: forward + backward };
}

interface ConvBlock {
  kind: 'conv' | 'dw';
  w: tf.Variable;
  bn: BatchNormParams;
  alpha: tf.Variable;
  stride: number;
}

/** One bench model with its head, optimizer and a fixed random batch. */
export class BenchModel {
  readonly store: ParamStore;
  readonly head: MarginHead;
  readonly sgd: Sgd;
  private readonly blocks: ConvBlock[] = [];
  private readonly fc: tf.Variable;
  private readonly bnFc: BatchNormParams;
  private readonly x: tf.Tensor4D;
  private readonly y: tf.Tensor1D;
  private stepCount = 0;

  constructor(readonly batch = BENCH_BATCH, seed = 0) {
    this.store = new ParamStore({ seed });
    const s = this.store;
    const conv = (name: string, cin: number, cout: number, stride: number): void => {
      this.blocks.push({
        kind: 'conv', stride,
        w: s.variable(`backbone/${name}/conv`, [3, 3, cin, cout], 'he'),
        bn: createBatchNorm(s, `backbone/${name}/bn`, cout),
        alpha: createPrelu(s, `backbone/${name}/prelu`, cout),
      });
    };
    conv('b1', 1, 32, 1);
    conv('b2', 32, 64, 1);
    this.blocks.push({
      kind: 'dw', stride: 2,
      w: s.variable('backbone/dw/conv', [3, 3, 64, 1], 'he'),
      bn: createBatchNorm(s, 'backbone/dw/bn', 64),
      alpha: createPrelu(s, 'backbone/dw/prelu', 64),
    });
    conv('b3', 64, 128, 1);
    conv('b4', 128, 128, 2);
    conv('b5', 128, 256, 2);
    this.fc = s.variable('neck/fc', [4 * 4 * 256, BENCH_EMBEDDING], 'he');
    this.bnFc = createBatchNorm(s, 'neck/bn', BENCH_EMBEDDING);
    this.head = createHead('arcface', {
      store: s, numClasses: BENCH_CLASSES, embeddingDim: BENCH_EMBEDDING, rng: new Rng(`${seed}/head`), scale: 64, margin: 0.5,
    });
    this.sgd = new Sgd({ momentum: 0.9 });
    const rng = new Rng(`${seed}/data`);
    const [h, w, c] = BENCH_INPUT;
    const pix = new Float32Array(batch * h * w * c);
    for (let i = 0; i < pix.length; i++) pix[i] = rng.normal(0, 1);
    const labels = new Int32Array(batch);
    for (let i = 0; i < batch; i++) labels[i] = Math.floor(rng.next() * BENCH_CLASSES);
    this.x = tf.tensor4d(pix, [batch, h, w, c]);
    this.y = tf.tensor1d(labels, 'int32');
  }

  /** Embeddings [B, 128] in training mode (batch statistics, dropout with the given tfjs seed). */
  embed(x: tf.Tensor4D, dropSeed: number): tf.Tensor2D {
    let h = x;
    this.blocks.forEach((b, i) => {
      const z = b.kind === 'conv' ? conv2d(h, b.w, b.stride) : tf.depthwiseConv2d(h, b.w as tf.Tensor4D, b.stride, 1);
      h = batchNormPrelu(z, b.bn, b.alpha, { training: true });
      if (i === 0) h = tf.maxPool(h, 2, 2, 'valid');
    });
    const flat = tf.reshape(h, [h.shape[0], -1]) as tf.Tensor2D;
    return batchNorm(dense(dropout(flat, BENCH_DROPOUT, dropSeed), this.fc), this.bnFc, { training: true });
  }

  /** One full training step (forward, backward, SGD update) on the fixed batch; returns the loss. */
  step(lr = 0.01): number {
    const vars = this.store.trainable();
    const seed = 1000 + this.stepCount++;
    const { value, grads } = tf.variableGrads(() => this.head.forward(this.embed(this.x, seed), this.y).loss, [...vars.values()]);
    const nameById = new Map<string, string>();
    for (const [n, v] of vars) nameById.set(v.name, n);
    const byName: Record<string, tf.Tensor> = {};
    for (const [id, g] of Object.entries(grads)) byName[nameById.get(id) ?? id] = g;
    const loss = value.dataSync()[0];
    this.sgd.apply(vars, byName, lr);
    tf.dispose([value, ...Object.values(grads)]);
    return loss;
  }

  dispose(): void {
    tf.dispose([this.x, this.y]);
    this.sgd.dispose();
    this.store.dispose();
  }
}
