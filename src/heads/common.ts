/**
 * Helpers shared by the margin-head zoo (SphereFace ... Angular Sparsemax): option range checks with precise
 * messages, state-key checks for `setState`, target-column surgery without `tf.gather`, and the ArcFace target
 * with a per-sample (tensor) margin.
 */
import * as tf from '@tensorflow/tfjs';
import { SIN_EPSILON } from './functional';

/**
 * Returns `v` if it is a finite number accepted by `ok`, else throws `${field} must be ${allowed}, got ${v}`
 * (e.g. `margin must be a positive integer, got 2.5`).
 */
export function checkOption(field: string, v: unknown, ok: (x: number) => boolean, allowed: string): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || !ok(v)) {
    throw new Error(`${field} must be ${allowed}, got ${String(v)}`);
  }
  return v;
}

/** Checks a boolean option: `${field} must be a boolean, got ${v}`. */
export function checkBoolean(field: string, v: unknown): boolean {
  if (typeof v !== 'boolean') throw new Error(`${field} must be a boolean, got ${String(v)}`);
  return v;
}

/**
 * Validates a `setState` argument of a stateful head: every key of `keys` present with a finite number
 * (an integer where `integerKeys` says so), no other key. Messages name the head, the key and the value.
 */
export function checkStateKeys(
  head: string,
  s: Record<string, number>,
  keys: readonly string[],
  integerKeys: readonly string[] = [],
): void {
  if (!s || typeof s !== 'object') throw new Error(`${head}: state must be an object, got ${String(s)}`);
  for (const k of Object.keys(s)) {
    if (!keys.includes(k)) throw new Error(`${head}: unknown state key '${k}'; expected: ${keys.join(', ')}`);
  }
  for (const k of keys) {
    const v = s[k];
    if (v === undefined) throw new Error(`${head}: state key '${k}' is missing; expected: ${keys.join(', ')}`);
    if (typeof v !== 'number' || !Number.isFinite(v)) {
      throw new Error(`${head}: state '${k}' must be a finite number, got ${String(v)}`);
    }
    if (integerKeys.includes(k) && !Number.isInteger(v)) {
      throw new Error(`${head}: state '${k}' must be an integer, got ${v}`);
    }
  }
}

/** cos t_y per row: sum(cos * oneHot, 1), [B] (no gather). */
export function targetColumn(cosine: tf.Tensor2D, oneHot: tf.Tensor2D): tf.Tensor1D {
  return tf.sum(tf.mul(cosine, oneHot), 1) as tf.Tensor1D;
}

/**
 * `m` with its label column replaced by `phi` ([B]): m + oneHot * (phi - m_y). The label entry equals `phi` with
 * `phi`'s gradient; the other entries keep theirs.
 */
export function replaceTarget(m: tf.Tensor2D, oneHot: tf.Tensor2D, phi: tf.Tensor1D): tf.Tensor2D {
  const b = m.shape[0];
  const delta = tf.reshape(tf.sub(phi, targetColumn(m, oneHot)), [b, 1]);
  return tf.add(m, tf.mul(oneHot, delta)) as tf.Tensor2D;
}

/**
 * ArcFace target cos(t + m) = cos t cos m - sin t sin m for a [B] vector of cosines, with `margin` a number or a
 * per-sample [B] tensor, sin t = sqrt(max(1 - cos^2, 1e-12)). With `easyMargin`, rows with cos t <= cos(pi - m)
 * get insightface's cos t - m sin m instead (switch by `tf.step`, which has a zero gradient).
 */
export function arcTarget(cosY: tf.Tensor1D, margin: number | tf.Tensor1D, easyMargin = false): tf.Tensor1D {
  return tf.tidy(() => {
    const m = typeof margin === 'number' ? tf.scalar(margin) : margin;
    const cosM = tf.cos(m);
    const sinM = tf.sin(m);
    const sinY = tf.sqrt(tf.maximum(tf.sub(1, tf.square(cosY)), SIN_EPSILON));
    let phi = tf.sub(tf.mul(cosY, cosM), tf.mul(sinY, sinM));
    if (easyMargin) {
      // cos t > cos(pi - m)  <=>  cos t + cos m > 0
      const keep = tf.step(tf.add(cosY, cosM));
      const fallback = tf.sub(cosY, tf.mul(sinM, m));
      phi = tf.add(tf.mul(keep, phi), tf.mul(tf.sub(1, keep), fallback));
    }
    return phi as tf.Tensor1D;
  });
}

/** Row L2 norms sqrt(max(sum x^2, 1e-12)), [B] (finite gradient at x = 0). */
export function rowNorms(x: tf.Tensor2D): tf.Tensor1D {
  return tf.tidy(() => tf.sqrt(tf.maximum(tf.sum(tf.square(x), 1), 1e-12)) as tf.Tensor1D);
}

/**
 * A tensor with the same values as `t` that is NOT connected to the gradient tape (read back and re-uploaded):
 * the tfjs counterpart of PyTorch's `detach()`, for quantities the reference code computes under `no_grad`.
 */
export function detached<T extends tf.Tensor>(t: T): T {
  return tf.tensor(t.dataSync(), t.shape, t.dtype) as T;
}
