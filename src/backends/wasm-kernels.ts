/**
 * Gradient kernels that `@tensorflow/tfjs-backend-wasm` 4.22 lacks, composed from kernels it has.
 *
 * Training a conv net on wasm otherwise fails with "Kernel 'Conv2DBackpropFilter' not registered for backend
 * 'wasm'". Each kernel below runs ordinary tfjs ops (which dispatch to native wasm/XNNPACK kernels) inside a
 * `tf.tidy`, so intermediates are freed and only the result survives; the result is a `tf.Tensor`, which the
 * engine accepts as a kernel output as is (a Tensor is a TensorInfo that already carries `rank`).
 *
 * Kernels are only added where wasm has none, so a future wasm release that ships its own wins.
 */
import * as tf from '@tensorflow/tfjs';

/** Name of the backend the kernels are registered for. */
export const WASM_BACKEND_NAME = 'wasm';

/** Names of the kernels {@link registerWasmGradientKernels} adds to the wasm backend. */
export const WASM_GRADIENT_KERNELS: readonly string[] = [
  'Conv2DBackpropFilter',
  'DepthwiseConv2dNativeBackpropFilter',
  'DepthwiseConv2dNativeBackpropInput',
  'UnsortedSegmentSum',
];

type Pad = 'valid' | 'same' | number | tf.backend_util.ExplicitPadding;
type Rounding = 'floor' | 'round' | 'ceil' | undefined;
type KernelArgs = Parameters<tf.KernelFunc>[0];

/**
 * Wraps a kernel input as a Tensor owned by the current tidy scope. Inputs coming from ops are already
 * Tensors; a bare TensorInfo gets a wrapper plus a backend ref-count increment so disposing the wrapper at the
 * end of the tidy leaves the caller's data alive.
 */
function asTensor(info: tf.TensorInfo, backend: unknown): tf.Tensor {
  if (info instanceof tf.Tensor) {
    return info;
  }
  const t = tf.engine().makeTensorFromTensorInfo(info);
  const b = backend as { incRef?: (dataId: tf.DataId) => void };
  if (typeof b.incRef === 'function') {
    b.incRef(info.dataId);
  }
  return t;
}

function as4D(info: tf.TensorInfo | undefined, name: string, kernel: string, backend: unknown): tf.Tensor4D {
  if (info == null) {
    throw new Error(`${kernel}: missing input '${name}'`);
  }
  const t = asTensor(info, backend);
  if (t.rank !== 4) {
    throw new Error(`${kernel}: input '${name}' must be rank 4, got shape [${t.shape.join(', ')}]`);
  }
  return t as tf.Tensor4D;
}

/** Zero-pads (positive amounts) or crops (negative amounts) axes 1 and 2 (the spatial axes of NHWC). */
function padOrCrop(t: tf.Tensor4D, top: number, bottom: number, left: number, right: number): tf.Tensor4D {
  const [n, h, w, c] = t.shape;
  let out = t;
  if (top < 0 || bottom < 0 || left < 0 || right < 0) {
    const t0 = Math.max(0, -top);
    const l0 = Math.max(0, -left);
    const hh = h - t0 - Math.max(0, -bottom);
    const ww = w - l0 - Math.max(0, -right);
    out = tf.slice(out, [0, t0, l0, 0], [n, Math.max(0, hh), Math.max(0, ww), c]);
  }
  if (top > 0 || bottom > 0 || left > 0 || right > 0) {
    out = tf.pad(out, [[0, 0], [Math.max(0, top), Math.max(0, bottom)], [Math.max(0, left), Math.max(0, right)], [0, 0]]);
  }
  return out;
}

/**
 * Pads (or crops) spatial axes 1 and 2 of `t` as the forward convolution padded its input, to exactly the
 * extent the output windows reach: (out - 1) * stride + (kernel - 1) * dilation + 1. Rows/columns no window
 * touches (e.g. 'valid' with stride 2 on an even size) are cropped; windows reaching past the input (e.g.
 * dimRoundingMode 'ceil') get extra zeros. Works for [N, H, W, C] and [C, H, W, N] layouts alike.
 */
function padToWindows(t: tf.Tensor4D, info: tf.backend_util.Conv2DInfo): tf.Tensor4D {
  const { top, left } = info.padInfo;
  const needH = (info.outHeight - 1) * info.strideHeight + info.effectiveFilterHeight;
  const needW = (info.outWidth - 1) * info.strideWidth + info.effectiveFilterWidth;
  return padOrCrop(t, top, needH - top - info.inHeight, left, needW - left - info.inWidth);
}

/*
 * Conv2DBackpropFilter, two formulations measured on wasm 4.22 (SIMD, 1 thread, this 2-core machine; median
 * of 15 runs, 3x3 filter, 'same', batch 32, forward shape given as HxWxCin -> Cout):
 *                        per-offset slice + matMul    one transposed XNNPACK conv2d
 *   32x32x16 -> 32, s1          85 ms                          49 ms
 *   16x16x32 -> 64, s1          51 ms                          32 ms
 *   32x32x16 -> 32, s2         349 ms                           9 ms
 *   16x16x32 -> 64, s2         166 ms                          15 ms
 *   56x56x64 -> 64, s1, N64   6013 ms                        2193 ms
 * The per-offset form loses because wasm's Slice copies the whole input through JS on every call, its
 * StridedSlice is slow for stride 2, and BatchMatMul with transposeA/transposeB is ~25x slower than without
 * (a [32768,16]^T x [32768,32] product: 37 ms with transposeA vs 1.5 ms on pre-transposed operands). The
 * transposed conv is kept: it always applies, since conv2d gradients only exist for dilation 1.
 * The registered kernel end to end (pads and transposes included, median of 9) on the first four shapes:
 * 67, 51, 15, 11 ms, against forward conv2d 32, 19, 6, 5 ms and wasm's own native Conv2DBackpropInput
 * 279, 209, 63, 54 ms; tfjs cpu takes 54 s for the 16x16x32 -> 64 s1 filter gradient.
 */

/**
 * dL/dfilter of conv2d as one convolution: the padded input as [Cin, Hp, Wp, N] (N acting as channels)
 * convolved with dy as a [Ho, Wo, N, Cout] filter at dilation = stride gives [Cin, kh, kw, Cout].
 */
function conv2dBackpropFilter({ inputs, backend, attrs }: KernelArgs): tf.TensorInfo {
  const { strides, pad, dataFormat, dimRoundingMode, filterShape } =
    attrs as unknown as tf.Conv2DBackpropFilterAttrs;
  return tf.tidy(() => {
    const x = as4D(inputs.x, 'x', 'Conv2DBackpropFilter', backend);
    const dy = as4D(inputs.dy, 'dy', 'Conv2DBackpropFilter', backend);
    const nchw = dataFormat === 'NCHW';
    const xShape: [number, number, number, number] =
      nchw ? [x.shape[0], x.shape[2], x.shape[3], x.shape[1]] : x.shape;
    const info = tf.backend_util.computeConv2DInfo(
      xShape, filterShape, strides, 1, pad as Pad, dimRoundingMode as Rounding, false, 'channelsLast');
    const xT = padToWindows(tf.transpose(x, nchw ? [1, 2, 3, 0] : [3, 1, 2, 0]), info); // [Cin, Hp, Wp, N]
    const dyT = tf.transpose(dy, nchw ? [2, 3, 0, 1] : [1, 2, 0, 3]); // [Ho, Wo, N, Cout]
    const dw = tf.conv2d(xT, dyT, 1, 'valid', 'NHWC', [info.strideHeight, info.strideWidth]); // [Cin, kh, kw, Cout]
    return tf.transpose(dw, [1, 2, 0, 3]);
  });
}

/*
 * DepthwiseConv2dNativeBackpropFilter, measured like Conv2DBackpropFilter above (3x3, 'same', batch 32,
 * median of 7):
 *                          per-offset stridedSlice + batched matMul    one depthwise conv over C*N channels
 *   32x32x32, m1, s1                    101 ms                                   62 ms
 *   16x16x64, m1, s1                     43 ms                                   27 ms
 *   32x32x32, m1, s2                    562 ms                                   23 ms
 *   56x56x64, m1, s1, N64              1369 ms                                  877 ms
 * End to end as registered (median of 9): 32x32x32 m1 s1 67 ms, 16x16x64 m1 s1 31 ms, 32x32x32 m1 s2 23 ms,
 * 16x16x64 m2 s1 35 ms (forward depthwiseConv2d: 8, 2.4, 1.8, 20 ms; tfjs cpu: 2.8 s for the first). The
 * input gradient below runs 19, 3.6, 13, 8 ms on the same shapes (cpu: 169 ms). The depthwise form is used;
 * the per-offset form remains as the fallback for stride > 1 together with dilation > 1, which one tfjs
 * depthwise conv cannot express (tfjs gradients never request it). Rank-5 transposes are avoided: wasm runs
 * them ~40x slower than rank-4 ones.
 */

/** dL/dfilter of depthwiseConv2d; see the note above for the formulation. */
function depthwiseBackpropFilter({ inputs, backend, attrs }: KernelArgs): tf.TensorInfo {
  const { strides, dilations, pad, dimRoundingMode, filterShape } =
    attrs as unknown as tf.DepthwiseConv2dNativeBackpropFilterAttrs;
  return tf.tidy(() => {
    const x = as4D(inputs.x, 'x', 'DepthwiseConv2dNativeBackpropFilter', backend);
    const dy = as4D(inputs.dy, 'dy', 'DepthwiseConv2dNativeBackpropFilter', backend);
    const info = tf.backend_util.computeConv2DInfo(
      x.shape, filterShape, strides, dilations ?? 1, pad as Pad, dimRoundingMode as Rounding, true, 'channelsLast');
    const [kh, kw, c, m] = filterShape;
    const n = info.batchSize;
    const ho = info.outHeight;
    const wo = info.outWidth;
    const { strideHeight: sh, strideWidth: sw, dilationHeight: dh, dilationWidth: dw } = info;
    const xPad = padToWindows(x, info); // [N, Hp, Wp, C]
    if ((sh > 1 || sw > 1) && (dh > 1 || dw > 1)) {
      // Fallback: per filter offset, window [C, 1, P] x dy [C, P, M], batched over channels.
      const p = n * ho * wo;
      const xT = tf.transpose(xPad, [3, 0, 1, 2]); // [C, N, Hp, Wp]
      const dyT = tf.transpose(tf.reshape(dy, [p, c, m]), [1, 0, 2]); // [C, P, M]
      const parts: tf.Tensor3D[] = [];
      for (let i = 0; i < kh; i++) {
        for (let j = 0; j < kw; j++) {
          parts.push(tf.tidy(() => {
            const win = tf.stridedSlice(
              xT, [0, 0, i * dh, j * dw], [c, n, i * dh + (ho - 1) * sh + 1, j * dw + (wo - 1) * sw + 1],
              [1, 1, sh, sw]);
            return tf.matMul(tf.reshape(win, [c, 1, p]), dyT) as tf.Tensor3D; // [C, 1, M]
          }));
        }
      }
      return tf.reshape(tf.stack(parts), [kh, kw, c, m]);
    }
    const [, hp, wp] = xPad.shape;
    // Input as one image with C*N channels ordered (c, n); dy as a [Ho, Wo, C*N, M] filter.
    const xT = tf.reshape(tf.transpose(xPad, [1, 2, 3, 0]), [1, hp, wp, c * n]) as tf.Tensor4D;
    const f = tf.reshape(
      tf.transpose(tf.reshape(dy, [n, ho * wo, c, m]), [1, 2, 0, 3]), [ho, wo, c * n, m]) as tf.Tensor4D;
    // Channel (c, n, m) at [i, j] = sum over (p, q) of x[n, i*dh + p*sh, j*dw + q*sw, c] * dy[n, p, q, c*M + m].
    const out = tf.depthwiseConv2d(xT, f, [dh, dw], 'valid', 'NHWC', [sh, sw]); // [1, kh, kw, C*N*M]
    if (m === 1) {
      return tf.reshape(tf.sum(tf.reshape(out, [kh * kw * c, n]), -1), [kh, kw, c, 1]);
    }
    // Sum over n (a middle axis) as a broadcast matMul: wasm's Sum would transpose first.
    const summed = tf.matMul(tf.ones([1, 1, n]), tf.reshape(out, [kh * kw * c, n, m])); // [kh*kw*C, 1, M]
    return tf.reshape(summed, [kh, kw, c, m]);
  });
}

/**
 * dL/dx of depthwiseConv2d as a transposed convolution: dy is upsampled by the stride (zeros between rows and
 * columns, rank-4 pads only), padded so a 'valid' dilated depthwise conv with the spatially flipped filter
 * (channels C*M, multiplier 1) yields exactly the input's H x W, then the M multiplier channels are summed.
 */
function depthwiseBackpropInput({ inputs, backend, attrs }: KernelArgs): tf.TensorInfo {
  const { strides, dilations, pad, dimRoundingMode, inputShape } =
    attrs as unknown as tf.DepthwiseConv2dNativeBackpropInputAttrs;
  return tf.tidy(() => {
    const dy = as4D(inputs.dy, 'dy', 'DepthwiseConv2dNativeBackpropInput', backend);
    const filter = as4D(inputs.filter, 'filter', 'DepthwiseConv2dNativeBackpropInput', backend);
    const info = tf.backend_util.computeConv2DInfo(
      inputShape, filter.shape, strides, dilations ?? 1, pad as Pad, dimRoundingMode as Rounding, true,
      'channelsLast');
    const [kh, kw, c, m] = filter.shape;
    const [n, h, w] = inputShape;
    const { strideHeight: sh, strideWidth: sw, dilationHeight: dh, dilationWidth: dw } = info;
    const ho = info.outHeight;
    const wo = info.outWidth;
    const cm = c * m;
    // Upsample: row p of dy goes to row p * sh (followed by sh - 1 zero rows); likewise columns.
    let up: tf.Tensor4D = dy;
    if (sh > 1) {
      up = tf.reshape(
        tf.pad(tf.reshape(up, [n * ho, 1, wo, cm]), [[0, 0], [0, sh - 1], [0, 0], [0, 0]]), [n, ho * sh, wo, cm]);
    }
    if (sw > 1) {
      up = tf.reshape(
        tf.pad(tf.reshape(up, [n * ho * sh * wo, 1, 1, cm]), [[0, 0], [0, sw - 1], [0, 0], [0, 0]]),
        [n, ho * sh, wo * sw, cm]);
    }
    // g[k] = up[k - (kh - 1) * dh + top] for k in [0, h + (kh - 1) * dh); negative pads crop.
    const padTop = (kh - 1) * dh - info.padInfo.top;
    const padLeft = (kw - 1) * dw - info.padInfo.left;
    const padBottom = h + (kh - 1) * dh - padTop - up.shape[1];
    const padRight = w + (kw - 1) * dw - padLeft - up.shape[2];
    const g = padOrCrop(up, padTop, padBottom, padLeft, padRight);
    const flipped = tf.reshape(tf.reverse(filter, [0, 1]), [kh, kw, cm, 1]) as tf.Tensor4D;
    const dxAll = tf.depthwiseConv2d(g, flipped, 1, 'valid', 'NHWC', [dh, dw]); // [N, H, W, C*M]
    return m === 1 ? dxAll : tf.reshape(tf.sum(tf.reshape(dxAll, [n * h * w * c, m]), -1), [n, h, w, c]);
  });
}

/*
 * UnsortedSegmentSum: wasm's ScatterNd accumulates duplicate indices, which makes it an O(K*D) segment sum.
 * Timing (wasm, 1 thread, median of 15): K ids into S segments of D floats
 *   K=64,   S=1000,  D=128:  ScatterNd 0.65 ms   oneHot^T x data matMul 17.7 ms
 *   K=4096, S=100,   D=64:   ScatterNd 0.32 ms   oneHot^T x data matMul 39 ms
 *   K=512,  S=10000, D=128:  ScatterNd 5.3 ms    oneHot^T x data matMul 900 ms
 * so ScatterNd is used (the oneHot form also needs an int32 oneHot plus a cast: wasm's OneHot with dtype
 * 'float32' returns all zeros in 4.22). Ids outside [0, numSegments) are routed to a spare row that is dropped,
 * as TF ignores negative ids.
 */

/** Segment sum of `x` over `segmentIds` (any rank <= x's rank) into `numSegments` rows. */
function unsortedSegmentSum({ inputs, backend, attrs }: KernelArgs): tf.TensorInfo {
  const { numSegments } = attrs as unknown as tf.UnsortedSegmentSumAttrs;
  return tf.tidy(() => {
    if (inputs.x == null || inputs.segmentIds == null) {
      throw new Error("UnsortedSegmentSum: missing input 'x' or 'segmentIds'");
    }
    const x = asTensor(inputs.x, backend);
    const ids = asTensor(inputs.segmentIds, backend);
    const k = ids.size;
    const rest = x.shape.slice(ids.rank);
    const d = rest.reduce((a, b) => a * b, 1);
    const flatIds = tf.cast(tf.reshape(ids, [k]), 'int32');
    const valid = tf.logicalAnd(tf.greaterEqual(flatIds, 0), tf.less(flatIds, numSegments));
    const safeIds = tf.where(valid, flatIds, tf.fill([k], numSegments, 'int32'));
    const summed = tf.scatterND(tf.reshape(safeIds, [k, 1]), tf.reshape(x, [k, d]), [numSegments + 1, d]);
    return tf.reshape(tf.slice(summed, [0, 0], [numSegments, d]), [numSegments, ...rest]);
  });
}

const KERNEL_FUNCS: Record<string, tf.KernelFunc> = {
  Conv2DBackpropFilter: conv2dBackpropFilter,
  DepthwiseConv2dNativeBackpropFilter: depthwiseBackpropFilter,
  DepthwiseConv2dNativeBackpropInput: depthwiseBackpropInput,
  UnsortedSegmentSum: unsortedSegmentSum,
};

/**
 * Registers Conv2DBackpropFilter, DepthwiseConv2dNativeBackpropFilter, DepthwiseConv2dNativeBackpropInput and
 * UnsortedSegmentSum for the 'wasm' backend (see {@link WASM_GRADIENT_KERNELS}), built from existing wasm ops,
 * so conv-net training steps (and gradients of `tf.gather`) run on wasm.
 *
 * Idempotent: a kernel that is already registered for 'wasm' (by an earlier call or by tfjs itself) is left
 * alone. Safe to call before the wasm backend is initialised. Returns nothing; {@link initBackend} calls it
 * whenever it selects wasm.
 */
export function registerWasmGradientKernels(): void {
  for (const kernelName of WASM_GRADIENT_KERNELS) {
    if (tf.getKernel(kernelName, WASM_BACKEND_NAME) != null) {
      continue;
    }
    const kernelFunc = KERNEL_FUNCS[kernelName];
    if (kernelFunc == null) {
      throw new Error(`registerWasmGradientKernels: no implementation for kernel '${kernelName}'`);
    }
    tf.registerKernel({ kernelName, backendName: WASM_BACKEND_NAME, kernelFunc });
  }
}
