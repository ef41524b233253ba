/**
 * Functional building blocks (NHWC, channels last) for the backbones and the neck: convolution
 * without bias, batch normalisation with running statistics, per-channel PReLU, dense without bias
 * and seeded inverted dropout. Parameters are passed in explicitly (created by a {@link ParamFactory}).
 */
import * as tf from '@tensorflow/tfjs';
import { ParamFactory } from './params';
import { nativeKernelsInUse } from '../backends/native-kernels';

/** Batch-norm epsilon (PyTorch / insightface default). */
export const DEFAULT_BN_EPS = 1e-5;
/**
 * Fraction of the old running statistic kept per training step: running = 0.9 * running + 0.1 * batch
 * (PyTorch's `momentum=0.1`).
 */
export const DEFAULT_BN_MOMENTUM = 0.9;
/** Initial PReLU slope (PyTorch / insightface default). */
export const DEFAULT_PRELU_ALPHA = 0.25;

type ExplicitPad = [[number, number], [number, number], [number, number], [number, number]];

/**
 * 2-D convolution without bias. `w` is `[kh, kw, cin, cout]` (square kernel).
 *
 * The gradient is a custom one built only from forward `tf.conv2d` calls (plus transposes and a
 * zero-insertion reshape for strides > 1) instead of tfjs's `Conv2DBackpropInput` /
 * `Conv2DBackpropFilter` kernels: on the wasm backend forward convs run in XNNPACK while the
 * backprop kernels are naive loops (or missing), which makes a training step 5-10x faster; on the
 * cpu backend it is faster too. Both gradients match tfjs's to float precision (tested).
 * - dx = conv(zero-inserted dy, w rotated 180 degrees with in/out swapped, stride 1)
 * - dw = conv(x^T `[cin, H, W, B]`, dy^T `[Ho, Wo, B, cout]` as the filter, dilation = stride)^T
 * With the native kernels on (src/backends/native-kernels.ts) tfjs's own gradient is used instead: it calls
 * the Conv2DBackpropInput / Conv2DBackpropFilter kernels, which are then native im2col + BLAS.
 * @param stride default 1.
 * @param pad symmetric zero padding; default `floor((kh - 1) / 2)` (PyTorch `padding=k//2`, so a
 *   3x3 stride-2 conv maps H to ceil(H / 2) exactly as in insightface).
 */
export function conv2d(x: tf.Tensor4D, w: tf.Tensor4D | tf.Variable, stride = 1, pad?: number): tf.Tensor4D {
  const k = w.shape[0];
  if (w.rank !== 4 || w.shape[1] !== k) throw new Error(`conv2d expects a square [k, k, cin, cout] kernel, got [${w.shape}]`);
  const s = stride;
  const p = pad ?? Math.floor((k - 1) / 2);
  if (!Number.isInteger(s) || s < 1) throw new Error(`stride must be a positive integer, got ${s}`);
  if (!Number.isInteger(p) || p < 0 || p > k - 1) throw new Error(`pad must be an integer in [0, ${k - 1}], got ${p}`);
  if (nativeKernelsInUse()) return tf.conv2d(x, w as tf.Tensor4D, s, p);
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const xx = args[0] as tf.Tensor4D;
    const ww = args[1] as tf.Tensor4D;
    const save = args[2] as tf.GradSaveFunc;
    save([xx, ww]);
    return {
      value: tf.conv2d(xx, ww, s, p),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [sx, sw] = saved as tf.Tensor4D[];
        const [b, h, wd, cin] = sx.shape;
        const cout = sw.shape[3];
        const [, ho, wo] = dy.shape;
        // dx: full correlation of the (zero-inserted) output gradient with the flipped kernel
        let dyUp = dy as tf.Tensor4D;
        if (s > 1) {
          const spread = tf.pad(tf.reshape(dy, [b, ho, 1, wo, 1, cout]), [[0, 0], [0, 0], [0, s - 1], [0, 0], [0, s - 1], [0, 0]]);
          dyUp = tf.slice(tf.reshape(spread, [b, ho * s, wo * s, cout]) as tf.Tensor4D, [0, 0, 0, 0], [b, (ho - 1) * s + 1, (wo - 1) * s + 1, cout]);
        }
        const wFlip = tf.transpose(tf.reverse(sw, [0, 1]), [0, 1, 3, 2]) as tf.Tensor4D;
        const top = k - 1 - p;
        const dxPad: ExplicitPad = [[0, 0], [top, h - (ho - 1) * s - 1 + p], [top, wd - (wo - 1) * s - 1 + p], [0, 0]];
        const dx = tf.conv2d(dyUp, wFlip, 1, dxPad);
        // dw: batch becomes the contraction (channel) axis, dy the filter, stride becomes dilation
        const xT = tf.transpose(sx, [3, 1, 2, 0]) as tf.Tensor4D;
        const dyT = tf.transpose(dy, [1, 2, 0, 3]) as tf.Tensor4D;
        const dwPad: ExplicitPad = [[0, 0], [p, Math.max(0, (ho - 1) * s + k - h - p)], [p, Math.max(0, (wo - 1) * s + k - wd - p)], [0, 0]];
        let dw = tf.conv2d(xT, dyT, 1, dwPad, 'NHWC', s);
        if (dw.shape[1] !== k || dw.shape[2] !== k) dw = tf.slice(dw, [0, 0, 0, 0], [cin, k, k, cout]);
        return [dx, tf.transpose(dw, [1, 2, 0, 3])];
      },
    };
  });
  return op(x, w) as tf.Tensor4D;
}

/** Output spatial size of {@link conv2d} for an input size `n`. */
export function convOutSize(n: number, kernel: number, stride: number, pad = Math.floor((kernel - 1) / 2)): number {
  return Math.floor((n + 2 * pad - kernel) / stride) + 1;
}

/** Parameters and running statistics of one batch-norm layer (over the last axis). */
export interface BatchNormParams {
  /** Scale; `null` = frozen at 1 (the CoReFace neck). */
  gamma: tf.Variable | null;
  /** Shift (trainable). */
  beta: tf.Variable;
  /** Running mean (non-trainable state, initial 0). */
  runningMean: tf.Variable;
  /** Running variance (non-trainable state, initial 1). */
  runningVar: tf.Variable;
}

/** Options of {@link createBatchNorm}. */
export interface CreateBatchNormOptions {
  /** Freeze gamma at 1 (no gamma variable). Default false. */
  frozenGamma?: boolean;
}

/**
 * Create batch-norm parameters `${name}/gamma` (ones, unless frozen), `${name}/beta` (zeros) and
 * state `${name}/running_mean` (0), `${name}/running_var` (1).
 */
export function createBatchNorm(
  store: ParamFactory,
  name: string,
  channels: number,
  opts: CreateBatchNormOptions = {},
): BatchNormParams {
  return {
    gamma: opts.frozenGamma ? null : store.variable(`${name}/gamma`, [channels], 'ones'),
    beta: store.variable(`${name}/beta`, [channels], 'zeros'),
    runningMean: store.state(`${name}/running_mean`, [channels], 0),
    runningVar: store.state(`${name}/running_var`, [channels], 1),
  };
}

/** Options of {@link batchNorm}. */
export interface BatchNormOptions {
  /** Training mode: normalise with batch moments and update the running statistics. Default false. */
  training?: boolean;
  /** Running-statistics momentum, see {@link DEFAULT_BN_MOMENTUM}. Default 0.9. */
  momentum?: number;
  /** Variance epsilon. Default 1e-5. */
  eps?: number;
}

/** Per-channel (column) sum of a `[N, C]` matrix. */
export function columnSum(x: tf.Tensor2D): tf.Tensor1D {
  // Note: `ones[1, N] @ x` looks cheaper but XNNPACK re-packs the fresh right operand on every
  // call, which makes it 2-4x slower than the Sum kernel on wasm.
  return tf.sum(x, 0);
}

/**
 * Batch normalisation over the last (channel) axis of a rank-2 `[B, C]` or rank-4 `[B, H, W, C]`
 * tensor (Ioffe & Szegedy 2015).
 *
 * Training: normalises with the biased batch variance and updates the running statistics like
 * PyTorch (`running = m * running + (1 - m) * batch`, the running variance uses the unbiased batch
 * variance). The update is an in-place `variable.assign` inside the op, so it happens once per call
 * even under `tf.variableGrads`. The backward pass is the closed-form batch-norm gradient in one
 * custom op (instead of differentiating through the moments, which also tiles): this matters on the single-threaded wasm backend.
 *
 * Inference: `x * (gamma / sqrt(runningVar + eps)) + (beta - runningMean * gamma / sqrt(...))`.
 */
export function batchNorm<T extends tf.Tensor>(x: T, p: BatchNormParams, opts: BatchNormOptions = {}): T {
  const { eps, momentum, n } = checkBatchNorm(x.shape, p, opts);
  const c = x.shape[x.rank - 1];
  if (nativeKernelsInUse() && x.dtype === 'float32') {
    return opts.training ? nativeBatchNorm(x, p, momentum, eps) : channelAffine(x, p, eps);
  }
  if (!opts.training) {
    return tf.tidy(() => {
      const rstd = tf.rsqrt(tf.add(p.runningVar, eps));
      const scale = p.gamma ? tf.mul(p.gamma, rstd) : rstd;
      const shift = tf.sub(p.beta, tf.mul(p.runningMean, scale));
      return tf.add(tf.mul(x, scale), shift) as T;
    });
  }
  const gamma = p.gamma;
  const shape = x.shape;

  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const x2 = tf.reshape(args[0] as tf.Tensor, [n, c]) as tf.Tensor2D;
    const g = gamma ? (args[1] as tf.Tensor1D) : null;
    const b = args[gamma ? 2 : 1] as tf.Tensor1D;
    const save = args[args.length - 1] as tf.GradSaveFunc;

    const mean = tf.div(columnSum(x2), n);
    const xc = tf.sub(x2, mean) as tf.Tensor2D;
    const variance = tf.div(columnSum(tf.square(xc)), n);
    // running statistics (PyTorch: unbiased variance for the running estimate)
    p.runningMean.assign(tf.add(tf.mul(p.runningMean, momentum), tf.mul(mean, 1 - momentum)));
    p.runningVar.assign(tf.add(tf.mul(p.runningVar, momentum), tf.mul(variance, (1 - momentum) * (n / (n - 1)))));

    const rstd = tf.rsqrt(tf.add(variance, eps));
    const a = g ? tf.mul(g, rstd) : rstd; // per-channel scale gamma / std
    const y = tf.reshape(tf.add(tf.mul(xc, a), b), shape);
    save([xc, rstd, a]);
    return {
      value: y,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [sxc, srstd, sa] = saved;
        const dy2 = tf.reshape(dy, [n, c]) as tf.Tensor2D;
        const dbeta = columnSum(dy2);
        const dyXc = columnSum(tf.mul(dy2, sxc) as tf.Tensor2D); // dgamma = rstd * dyXc
        // dx = a * (dy - dbeta / n - xhat * dgamma / n),  xhat = xc * rstd
        const coefXc = tf.mul(tf.mul(sa, tf.square(srstd)), tf.div(dyXc, -n));
        const shift = tf.mul(sa, tf.div(dbeta, -n));
        const dx = tf.reshape(tf.add(tf.add(tf.mul(dy2, sa), tf.mul(sxc, coefXc)), shift), shape);
        return g ? [dx, tf.mul(dyXc, srstd), dbeta] : [dx, dbeta];
      },
    };
  });
  return (gamma ? op(x, gamma, p.beta) : op(x, p.beta)) as T;
}


/** Validates batchNorm's arguments; returns eps, momentum and the number of values per channel. */
function checkBatchNorm(shape: readonly number[], p: BatchNormParams, opts: BatchNormOptions): { eps: number; momentum: number; n: number } {
  const eps = opts.eps ?? DEFAULT_BN_EPS;
  if (shape.length !== 2 && shape.length !== 4) throw new Error(`batchNorm expects a rank-2 or rank-4 tensor, got shape [${shape}]`);
  const c = shape[shape.length - 1];
  if (c !== p.beta.shape[0]) throw new Error(`batchNorm: input has ${c} channels, parameters have ${p.beta.shape[0]}`);
  const momentum = opts.momentum ?? DEFAULT_BN_MOMENTUM;
  const n = shape.reduce((a, b) => a * b, 1) / c;
  if (opts.training) {
    if (!(momentum >= 0 && momentum <= 1)) throw new Error(`momentum must be in [0, 1], got ${momentum}`);
    if (n < 2) throw new Error(`batch norm in training mode needs more than one value per channel, got input shape [${shape}]`);
  }
  return { eps, momentum, n };
}

/**
 * `prelu(batchNorm(x, p, opts), alpha)` as one op. With the native kernels (src/backends/native-kernels.ts) it is
 * one fused kernel each way in training mode (the batch-norm output is never stored: the gradient recomputes it
 * from x) and one per-channel pass in inference mode; otherwise it is exactly `prelu(batchNorm(x, p, opts), alpha)`.
 */
export function batchNormPrelu<T extends tf.Tensor>(x: T, p: BatchNormParams, alpha: tf.Tensor | tf.Variable, opts: BatchNormOptions = {}): T {
  const c = x.shape[x.rank - 1];
  if (alpha.rank !== 1 || alpha.shape[0] !== c) throw new Error(`prelu: alpha must have shape [${c}], got [${alpha.shape}]`);
  if (!nativeKernelsInUse() || x.dtype !== 'float32') return prelu(batchNorm(x, p, opts), alpha);
  const { eps, momentum } = checkBatchNorm(x.shape, p, opts);
  return opts.training ? nativeBatchNorm(x, p, momentum, eps, alpha) : channelAffine(x, p, eps, alpha);
}

/**
 * Inference-mode batch norm (and PReLU) through the native CorefaceChannelAffine kernel, one pass over x. Its
 * gradient (inference-mode gradients are rare; the running statistics are constants here) is built from tfjs ops:
 * with r = 1 / sqrt(var + eps), s = gamma r and z = (x - mean) s + beta, g = dy (or dy * PReLU'(z)): dx = g s,
 * dgamma = r sum g (x - mean), dbeta = sum g, dalpha = sum dy min(z, 0).
 */
function channelAffine<T extends tf.Tensor>(x: T, p: BatchNormParams, eps: number, alpha?: tf.Tensor): T {
  const gamma = p.gamma;
  const c = x.shape[x.rank - 1];
  const n = x.size / c;
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const xx = args[0] as tf.Tensor;
    const g = gamma ? (args[1] as tf.Tensor) : undefined;
    const b = args[gamma ? 2 : 1] as tf.Tensor;
    const al = alpha ? (args[gamma ? 3 : 2] as tf.Tensor) : undefined;
    const save = args[args.length - 1] as tf.GradSaveFunc;
    const inputs: tf.NamedTensorMap = { x: xx, mean: p.runningMean, variance: p.runningVar, beta: b };
    if (g) inputs.gamma = g;
    if (al) inputs.alpha = al;
    save([xx, b, ...(g ? [g] : []), ...(al ? [al] : [])]);
    return {
      value: tf.engine().runKernel('CorefaceChannelAffine', inputs, { eps }) as tf.Tensor,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [sx, sb] = saved;
        const sg = gamma ? saved[2] : undefined;
        const sal = alpha ? saved[saved.length - 1] : undefined;
        const x2 = tf.reshape(sx, [n, c]);
        const dy2 = tf.reshape(dy, [n, c]);
        const rstd = tf.rsqrt(tf.add(p.runningVar, eps));
        const scale = sg ? tf.mul(sg, rstd) : rstd;
        const xc = tf.sub(x2, p.runningMean);
        const z = tf.add(tf.mul(xc, scale), sb);
        const gr = sal ? tf.where(tf.greater(z, 0), dy2, tf.mul(dy2, sal)) : dy2;
        const grads = [tf.reshape(tf.mul(gr, scale), sx.shape)];
        if (sg) grads.push(tf.mul(tf.sum(tf.mul(gr, xc), 0), rstd));
        grads.push(tf.sum(gr, 0));
        if (sal) grads.push(tf.sum(tf.mul(dy2, tf.minimum(z, 0)), 0));
        return grads;
      },
    };
  });
  const ins: tf.Tensor[] = [x, ...(gamma ? [gamma] : []), p.beta, ...(alpha ? [alpha] : [])];
  return op(...ins) as T;
}

/**
 * Training-mode {@link batchNorm} (and {@link batchNormPrelu} when alpha is given) through the fused native kernels
 * (CorefaceBatchNormTrain / ...Grad): the same equations in three passes over the data forward and two backward
 * instead of ~14 elementwise tfjs ops (and PReLU's own passes).
 */
function nativeBatchNorm<T extends tf.Tensor>(x: T, p: BatchNormParams, momentum: number, eps: number, alpha?: tf.Tensor): T {
  const gamma = p.gamma;
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const xx = args[0] as tf.Tensor;
    const g = gamma ? (args[1] as tf.Tensor1D) : undefined;
    const b = args[gamma ? 2 : 1] as tf.Tensor1D;
    const al = alpha ? (args[gamma ? 3 : 2] as tf.Tensor1D) : undefined;
    const save = args[args.length - 1] as tf.GradSaveFunc;
    const inputs: tf.NamedTensorMap = { x: xx, beta: b, runningMean: p.runningMean, runningVar: p.runningVar };
    if (g) inputs.gamma = g;
    if (al) inputs.alpha = al;
    // the kernel also returns the updated running statistics (same equations as the tfjs path above)
    const [y, mean, variance, rstd, runMean, runVar] = tf.engine().runKernel('CorefaceBatchNormTrain', inputs, { eps, momentum }) as tf.Tensor[];
    p.runningMean.assign(runMean);
    p.runningVar.assign(runVar);
    tf.dispose([variance, runMean, runVar]);
    // the gradient needs beta and alpha only to recompute the PReLU input
    save([xx, mean, rstd, ...(g ? [g] : []), ...(al ? [b, al] : [])]);
    return {
      value: y,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [sx, smean, srstd] = saved;
        const grads: tf.NamedTensorMap = { dy, x: sx, mean: smean, rstd: srstd };
        if (gamma) grads.gamma = saved[3];
        if (alpha) {
          grads.beta = saved[saved.length - 2];
          grads.alpha = saved[saved.length - 1];
        }
        const [dx, dgamma, dbeta, dalpha] = tf.engine().runKernel('CorefaceBatchNormGrad', grads) as tf.Tensor[];
        if (!gamma) dgamma.dispose();
        return [dx, ...(gamma ? [dgamma] : []), dbeta, ...(alpha ? [dalpha] : [])];
      },
    };
  });
  const ins: tf.Tensor[] = [x, ...(gamma ? [gamma] : []), p.beta, ...(alpha ? [alpha] : [])];
  return op(...ins) as T;
}

/** Create a per-channel PReLU slope variable `[channels]` initialised to {@link DEFAULT_PRELU_ALPHA} (0.25). */
export function createPrelu(store: ParamFactory, name: string, channels: number, init = DEFAULT_PRELU_ALPHA): tf.Variable {
  const v = store.variable(name, [channels], 'zeros');
  tf.tidy(() => v.assign(tf.fill([channels], init)));
  return v;
}

/**
 * Per-channel PReLU (He et al. 2015): `max(0, x) + alpha * min(0, x)`, alpha `[C]` broadcast over
 * the last axis. Custom gradient (dx = dy * (x > 0 ? 1 : alpha), dalpha = sum(dy * min(x, 0)))
 * with fewer full-size passes than tfjs's where-based one.
 */
export function prelu<T extends tf.Tensor>(x: T, alpha: tf.Tensor | tf.Variable): T {
  const c = x.shape[x.rank - 1];
  if (alpha.rank !== 1 || alpha.shape[0] !== c) throw new Error(`prelu: alpha must have shape [${c}], got [${alpha.shape}]`);
  const n = x.size / c;
  const native = nativeKernelsInUse();
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const xx = args[0] as T;
    const al = args[1] as tf.Tensor1D;
    const save = args[2] as tf.GradSaveFunc;
    save([xx, al]);
    return {
      value: tf.prelu(xx, al as unknown as T),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [sx, sal] = saved;
        if (native) return tf.engine().runKernel('CorefacePreluGrad', { dy, x: sx, alpha: sal }) as tf.Tensor[];
        const x2 = tf.reshape(sx, [n, c]);
        const dy2 = tf.reshape(dy, [n, c]);
        const pos = tf.step(x2); // 1 where x > 0, else 0
        const neg = tf.sub(x2, tf.relu(x2)); // min(x, 0)
        const dAlpha = columnSum(tf.mul(dy2, neg) as tf.Tensor2D);
        // slope = alpha + (1 - alpha) * pos
        const slope = tf.add(tf.mul(pos, tf.sub(1, sal)), sal);
        return [tf.reshape(tf.mul(dy2, slope), sx.shape), dAlpha];
      },
    };
  });
  return op(x, alpha) as T;
}

/**
 * Dense layer without bias: `x @ w`, `w` is `[in, out]`. Custom gradient with explicit transposes
 * (`dx = dy @ w^T`, `dw = x^T @ dy`): tfjs-wasm's transposed-operand matmul is ~10x slower. With the native kernels
 * the transposes are BLAS flags instead (no copies).
 */
export function dense(x: tf.Tensor2D, w: tf.Tensor2D | tf.Variable): tf.Tensor2D {
  if (w.rank !== 2 || x.shape[1] !== w.shape[0]) throw new Error(`dense: input [${x.shape}] does not match weight [${w.shape}]`);
  const native = nativeKernelsInUse();
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const xx = args[0] as tf.Tensor2D;
    const ww = args[1] as tf.Tensor2D;
    const save = args[2] as tf.GradSaveFunc;
    save([xx, ww]);
    return {
      value: tf.matMul(xx, ww),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [sx, sw] = saved as tf.Tensor2D[];
        if (native) return [tf.matMul(dy as tf.Tensor2D, sw, false, true), tf.matMul(sx, dy as tf.Tensor2D, true, false)];
        return [tf.matMul(dy as tf.Tensor2D, tf.transpose(sw)), tf.matMul(tf.transpose(sx), dy as tf.Tensor2D)];
      },
    };
  });
  return op(x, w) as tf.Tensor2D;
}

/** Check a dropout probability: a finite number in [0, 1). */
export function checkDropout(p: number, field = 'dropout'): void {
  if (typeof p !== 'number' || !Number.isFinite(p) || p < 0 || p >= 1) {
    throw new Error(`${field} must be a number in [0, 1), got ${String(p)}`);
  }
}

/**
 * Inverted dropout with an explicit tfjs seed: `x * mask / (1 - p)` with
 * `mask = randomUniform(x.shape, seed) >= p`. The mask comes from tfjs's seeded JS generator, so it
 * is identical on every backend (the wasm and native CorefaceDropout kernels reproduce that generator and apply the
 * mask in one call).
 * `p = 0` returns `x` itself (identity, no random numbers drawn).
 * @param p drop probability in [0, 1).
 * @param seed tfjs seed (e.g. `rng.tfSeed()`); required when p > 0.
 */
export function dropout<T extends tf.Tensor>(x: T, p: number, seed: number): T {
  checkDropout(p);
  if (p === 0) return x;
  if (typeof seed !== 'number' || !Number.isFinite(seed)) throw new Error(`dropout seed must be a finite number, got ${String(seed)}`);
  if (x.dtype === 'float32' && tf.getKernel('CorefaceDropout', tf.getBackend()) !== undefined) return kernelDropout(x, p, seed);
  return tf.tidy(() => {
    const u = tf.randomUniform(x.shape, 0, 1, 'float32', seed);
    const mask = tf.mul(tf.cast(tf.greaterEqual(u, p), 'float32'), 1 / (1 - p));
    return tf.mul(x, mask) as T;
  });
}

/**
 * {@link dropout} as one kernel (CorefaceDropout: the native kernels' or, on plain wasm, backends/wasm-dropout.ts):
 * the same mask, bit for bit (both reproduce tfjs's seeded generator), drawn and applied in one call; the gradient
 * is dy * mask, as tfjs's Multiply gradient computes it.
 */
function kernelDropout<T extends tf.Tensor>(x: T, p: number, seed: number): T {
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const save = args[1] as tf.GradSaveFunc;
    const [y, mask] = tf.engine().runKernel('CorefaceDropout', { x: args[0] as tf.Tensor }, { p, seed }) as tf.Tensor[];
    save([mask]); // a clone when the tape records
    mask.dispose();
    return { value: y, gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => [tf.mul(dy, saved[0])] };
  });
  return op(x) as T;
}

/**
 * The training-mode embedding neck of neck.ts, `batchNorm(dense(dropout(h, p, seed), fc), bn)` with gamma frozen at
 * 1, for one view per seed, as one native kernel each way (CorefaceNeckTrain, src/backends/native-composite.ts): the
 * views stacked `[V * B, E]`, bit for bit what those three ops give one view after the other (the running statistics
 * updated view after view too). With `p = 0` there is no dropout and the seeds only count the views. Only while
 * {@link compositeKernelsInUse}.
 */
export function neckTrainComposite(h: tf.Tensor2D, fc: tf.Variable, bn: BatchNormParams, p: number, seeds: number[], opts: BatchNormOptions = {}): tf.Tensor2D {
  if (bn.gamma) throw new Error('neckTrainComposite: the neck batch norm has gamma frozen at 1 (gamma must be null)');
  if (seeds.length < 1) throw new Error('neckTrainComposite: at least one view (seed) is needed');
  checkDropout(p);
  if (p > 0 && !seeds.every((s) => typeof s === 'number' && Number.isFinite(s))) throw new Error(`dropout seeds must be finite numbers, got [${seeds.map(String).join(', ')}]`);
  if (h.rank !== 2 || fc.rank !== 2 || h.shape[1] !== fc.shape[0]) throw new Error(`neckTrainComposite: input [${h.shape}] does not match fc [${fc.shape}]`);
  // the batch norm's checks on the dense layer's output [B, E] (each view has B rows)
  const { eps, momentum } = checkBatchNorm([h.shape[0], (fc.shape as [number, number])[1]], bn, { ...opts, training: true });
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [hh, w, beta] = args as tf.Tensor[];
    const save = args[3] as tf.GradSaveFunc;
    const [x, rm, rv, z, mean, rstd, d, mask] = tf.engine().runKernel('CorefaceNeckTrain',
      { h: hh, fc: w, beta, runningMean: bn.runningMean, runningVar: bn.runningVar }, { p, seeds, momentum, eps }) as tf.Tensor[];
    bn.runningMean.assign(rm);
    bn.runningVar.assign(rv);
    save([hh, w, z, mean, rstd, d, mask]);
    return {
      value: x,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [sh, sw, sz, smean, srstd, sd, smask] = saved;
        return tf.engine().runKernel('CorefaceNeckTrainGrad', { dx: dy, h: sh, fc: sw, z: sz, mean: smean, rstd: srstd, d: sd, mask: smask }) as tf.Tensor[];
      },
    };
  });
  return op(h, fc, bn.beta) as tf.Tensor2D;
}
