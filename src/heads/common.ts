/**
 * Helpers shared by the margin-head zoo (SphereFace ... Angular Sparsemax): state-key checks for `setState`,
 * target-column surgery without `tf.gather`, and row norms. Option checks are in src/ops (checkNumber,
 * checkBoolean), the ArcFace target in functional.ts (arcTarget).
 */
import * as tf from '@tensorflow/tfjs';

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

/** Row L2 norms sqrt(max(sum x^2, 1e-12)), [B] (finite gradient at x = 0). */
export function rowNorms(x: tf.Tensor2D): tf.Tensor1D {
  return tf.tidy(() => tf.sqrt(tf.maximum(tf.sum(tf.square(x), 1), 1e-12)) as tf.Tensor1D);
}
