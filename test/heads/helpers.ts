// Test helpers: an in-memory VariableFactory and float64 reference implementations written as plain loops.
import * as tf from '@tensorflow/tfjs';
import { Rng } from '../../src/util/rng';
import type { VariableFactory, VariableInit } from '../../src/heads/types';

/** Minimal VariableFactory: names must be unique; values drawn from the given rng or a fixed seed. */
export class TestFactory implements VariableFactory {
  readonly vars = new Map<string, tf.Variable>();
  private readonly rng: Rng;
  constructor(seed: number | string = 1) {
    this.rng = new Rng(seed);
  }
  variable(name: string, shape: number[], init: VariableInit, rng?: Rng): tf.Variable {
    if (this.vars.has(name)) throw new Error(`duplicate variable ${name}`);
    const r = rng ?? this.rng;
    const n = shape.reduce((a, b) => a * b, 1);
    const vals = new Float32Array(n);
    const fanIn = shape[0], fanOut = shape.length > 1 ? shape[1] : shape[0];
    for (let i = 0; i < n; i++) {
      if (init === 'zeros') vals[i] = 0;
      else if (init === 'ones') vals[i] = 1;
      else if (init === 'normal') vals[i] = r.normal(0, 0.01);
      else {
        const lim = Math.sqrt(6 / (fanIn + fanOut));
        vals[i] = r.uniform(-lim, lim);
      }
    }
    const v = tf.tidy(() => tf.variable(tf.tensor(vals, shape), true, name));
    this.vars.set(name, v);
    return v;
  }
  dispose(): void {
    for (const v of this.vars.values()) v.dispose();
    this.vars.clear();
  }
}

export type Mat = number[][];

export function norm(v: number[]): number {
  let s = 0;
  for (const x of v) s += x * x;
  return Math.sqrt(s);
}

export function cosine(a: number[], b: number[]): number {
  let d = 0;
  for (let i = 0; i < a.length; i++) d += a[i] * b[i];
  const c = d / (norm(a) * norm(b));
  return Math.min(1, Math.max(-1, c));
}

/** cos[b][c] of embeddings X [B][E] against the columns of W [E][C]. */
export function cosineTable(X: Mat, W: Mat): Mat {
  const C = W[0].length;
  return X.map((x) => {
    const row: number[] = [];
    for (let c = 0; c < C; c++) row.push(cosine(x, W.map((r) => r[c])));
    return row;
  });
}

/** Mean cross-entropy by explicit log-sum-exp loops. */
export function crossEntropy(logits: Mat, labels: number[]): number {
  let total = 0;
  for (let b = 0; b < logits.length; b++) {
    let mx = -Infinity;
    for (const z of logits[b]) mx = Math.max(mx, z);
    let s = 0;
    for (const z of logits[b]) s += Math.exp(z - mx);
    total += -(logits[b][labels[b]] - mx - Math.log(s));
  }
  return total / logits.length;
}

/** ArcFace by angles: s cos(acos(c) + m) on the label, with the insightface fallback when asked. */
export function arcLogits(cos: Mat, labels: number[], s: number, m: number, easy: boolean): Mat {
  return cos.map((row, b) =>
    row.map((c, j) => {
      if (j !== labels[b]) return s * c;
      const theta = Math.acos(c);
      if (easy && c <= Math.cos(Math.PI - m)) return s * (c - Math.sin(Math.PI - m) * m);
      return s * Math.cos(theta + m);
    }),
  );
}

export function cosLogits(cos: Mat, labels: number[], s: number, m: number): Mat {
  return cos.map((row, b) => row.map((c, j) => s * (j === labels[b] ? c - m : c)));
}

export function normLogits(cos: Mat, s: number): Mat {
  return cos.map((row) => row.map((c) => s * c));
}

/** Embeddings in 2-D from angles (radians) and radii. */
export function fromAngles(angles: number[], radii?: number[]): Mat {
  return angles.map((a, i) => [(radii?.[i] ?? 1) * Math.cos(a), (radii?.[i] ?? 1) * Math.sin(a)]);
}

/** Transpose. */
export function transpose(m: Mat): Mat {
  return m[0].map((_, j) => m.map((r) => r[j]));
}

/** Central finite differences of f at X (float64). */
export function numericGrad(f: (X: Mat) => number, X: Mat, eps = 1e-5): Mat {
  return X.map((row, i) =>
    row.map((_, j) => {
      const plus = X.map((r) => r.slice());
      const minus = X.map((r) => r.slice());
      plus[i][j] += eps;
      minus[i][j] -= eps;
      return (f(plus) - f(minus)) / (2 * eps);
    }),
  );
}

/** Asserts |a - b| <= atol + rtol * |b| elementwise. */
export function assertClose(actual: ArrayLike<number>, expected: ArrayLike<number>, rtol: number, atol: number, what = ''): void {
  if (actual.length !== expected.length) throw new Error(`${what}: length ${actual.length} != ${expected.length}`);
  for (let i = 0; i < actual.length; i++) {
    const a = actual[i], e = expected[i];
    if (!(Math.abs(a - e) <= atol + rtol * Math.abs(e))) {
      throw new Error(`${what}[${i}]: got ${a}, expected ${e} (rtol ${rtol}, atol ${atol})`);
    }
  }
}

export function flat(m: Mat): number[] {
  return m.flat();
}

/** Random matrix from an Rng. */
export function randomMat(rng: Rng, rows: number, cols: number, std = 1): Mat {
  return Array.from({ length: rows }, () => Array.from({ length: cols }, () => rng.normal(0, std)));
}
