/**
 * Inverted dropout as one kernel for the plain wasm backend (issue 17), with tfjs's mask bit for bit.
 *
 * ops.ts `dropout` draws `tf.randomUniform(x.shape, 0, 1, 'float32', seed)` (seedrandom's alea generator, seeded with
 * `String(seed)`, in JavaScript), keeps `u >= p`, scales by `1 / (1 - p)` and multiplies: five kernels and a generic
 * per-element loop, ~1.2 ms for a [64, 1024] neck input on this machine, twice per CoReFace step. The kernel here
 * runs the same generator (alea's recurrence in the same double arithmetic, so the same numbers) in one tight loop
 * and writes the mask and the output in the same pass. The native kernels register their own CorefaceDropout over
 * it (the same mask again).
 */
import * as tf from '@tensorflow/tfjs';
import type { Args, WasmHeapBackend } from './native-addon';
import { heap, outputs } from './native-addon';

/** The kernel name, shared with the native kernels' version. */
export const DROPOUT_KERNEL = 'CorefaceDropout';

const TWO_POW_MINUS_32 = 2.3283064365386963e-10;

/** seedrandom's Mash: hashes strings into alea's initial state, with state `n` carried between calls. */
function mash(): (data: string) => number {
  let n = 0xefc8249d;
  return (data: string): number => {
    for (let i = 0; i < data.length; i++) {
      n += data.charCodeAt(i);
      let h = 0.02519603282416938 * n;
      n = h >>> 0;
      h -= n;
      h *= n;
      n = h >>> 0;
      h -= n;
      n += h * 0x100000000;
    }
    return (n >>> 0) * TWO_POW_MINUS_32;
  };
}

/**
 * The first `out.length` numbers of seedrandom's `alea(seed)` (what `tf.randomUniform(shape, 0, 1, 'float32', seed)`
 * draws for a numeric seed, `String(seed)`), rounded to float32 into `out`.
 */
export function aleaUniform(seed: string, out: Float32Array): void {
  const m = mash();
  let s0 = m(' ');
  let s1 = m(' ');
  let s2 = m(' ');
  s0 -= m(seed);
  if (s0 < 0) s0 += 1;
  s1 -= m(seed);
  if (s1 < 0) s1 += 1;
  s2 -= m(seed);
  if (s2 < 0) s2 += 1;
  let c = 1;
  const n = out.length;
  for (let i = 0; i < n; i++) {
    const t = 2091639 * s0 + c * TWO_POW_MINUS_32;
    s0 = s1;
    s1 = s2;
    c = Math.trunc(t); // alea's t | 0: t is in [0, 2091640), so the same integer (V8 runs trunc ~2x faster here)
    s2 = t - c;
    out[i] = s2;
  }
}

/**
 * CorefaceDropout on wasm: input {x}, attrs {p, seed}; outputs [y, mask], mask_i = float32(1 / (1 - p)) where
 * float32(u_i) >= float32(p) (u = alea(String(seed))) and 0 elsewhere, y = x * mask (one float32 rounding).
 */
function dropoutKernel(args: Args): tf.TensorInfo[] {
  const { x } = args.inputs as { x: tf.TensorInfo };
  const { p, seed } = args.attrs as { p: number; seed: number };
  const b = args.backend as WasmHeapBackend;
  const { infos, views: [y, mask] } = outputs(b, [x.shape, x.shape]);
  const xv = heap(b, x);
  aleaUniform(String(seed), mask);
  const pf = Math.fround(p);
  const scale = Math.fround(1 / (1 - p));
  const n = mask.length;
  for (let i = 0; i < n; i++) {
    const k = +(mask[i] >= pf) * scale; // branch-free (a branch on random bits mispredicts): scale or +0
    mask[i] = k;
    y[i] = xv[i] * k;
  }
  return infos;
}

/** Registers {@link DROPOUT_KERNEL} for the wasm backend unless one is registered (idempotent). */
export function registerWasmDropout(): void {
  if (tf.getKernel(DROPOUT_KERNEL, 'wasm') === undefined) {
    tf.registerKernel({ kernelName: DROPOUT_KERNEL, backendName: 'wasm', kernelFunc: dropoutKernel });
  }
}
