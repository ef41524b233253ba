// Float64 reference implementations of the head zoo, written as plain loops over JS numbers (independent of src).
import { Mat, cosineTable, crossEntropy, norm } from './helpers';

/** SphereFace: logits ||x|| cos t_j, target ||x|| (lambda cos t_y + psi(t_y)) / (1 + lambda). */
export function sphereLogits(X: Mat, W: Mat, Y: number[], m: number, lambda: number): Mat {
  const cos = cosineTable(X, W);
  return cos.map((row, b) => {
    const n = norm(X[b]);
    return row.map((c, j) => {
      if (j !== Y[b]) return n * c;
      const t = Math.acos(c);
      const k = Math.min(m - 1, Math.floor((m * t) / Math.PI));
      const psi = (k % 2 === 0 ? 1 : -1) * Math.cos(m * t) - 2 * k;
      return (n * (lambda * c + psi)) / (1 + lambda);
    });
  });
}

/** lambda of SphereFace at iteration `iter`. */
export function sphereLambda(iter: number, min = 5, base = 1500, gamma = 0.1): number {
  return Math.max(min, base / (1 + gamma * iter));
}

/** Combined margin: s (cos(m1 t_y + m2) - m3) on the label, s cos t_j elsewhere. */
export function combinedLogits(cos: Mat, Y: number[], s: number, m1: number, m2: number, m3: number): Mat {
  return cos.map((row, b) => row.map((c, j) => (j === Y[b] ? s * (Math.cos(m1 * Math.acos(c) + m2) - m3) : s * c)));
}

/** One CurricularFace step: t updated first, then hard negatives modulated. */
export function curricularStep(cos: Mat, Y: number[], s: number, m: number, t: number): { logits: Mat; t: number } {
  let mean = 0;
  for (let b = 0; b < cos.length; b++) mean += cos[b][Y[b]];
  mean /= cos.length;
  const tNew = 0.01 * mean + 0.99 * t;
  const logits = cos.map((row, b) => {
    const ctm = Math.cos(Math.acos(row[Y[b]]) + m);
    return row.map((c, j) => {
      if (j === Y[b]) return s * ctm;
      return s * (c > ctm ? c * (tNew + c) : c);
    });
  });
  return { logits, t: tNew };
}

export interface MagOpts { s: number; la: number; ua: number; lm: number; um: number; lambdaG: number }

/** MagFace loss: CE with target s cos(t_y + m(a)) plus lambda_g mean g(a). */
export function magfaceLoss(X: Mat, W: Mat, Y: number[], o: MagOpts): number {
  const cos = cosineTable(X, W);
  let reg = 0;
  const logits = cos.map((row, b) => {
    const a = Math.min(o.ua, Math.max(o.la, norm(X[b])));
    const m = ((o.um - o.lm) / (o.ua - o.la)) * (a - o.la) + o.lm;
    reg += a / (o.ua * o.ua) + 1 / a;
    return row.map((c, j) => (j === Y[b] ? o.s * Math.cos(Math.acos(c) + m) : o.s * c));
  });
  return crossEntropy(logits, Y) + (o.lambdaG * reg) / X.length;
}

export interface AdaState { mean: number; std: number }

/** One AdaFace step (EMAs first), returning the loss and the new state. */
export function adafaceStep(
  X: Mat, W: Mat, Y: number[], st: AdaState, o: { s: number; m: number; h: number; alpha: number },
): { loss: number; state: AdaState } {
  const eps = 1e-3;
  const norms = X.map((x) => Math.min(100, Math.max(0.001, norm(x))));
  const B = norms.length;
  let mu = 0;
  for (const n of norms) mu += n;
  mu /= B;
  let v = 0;
  for (const n of norms) v += (n - mu) * (n - mu);
  const sd = B > 1 ? Math.sqrt(v / (B - 1)) : 0;
  const state = { mean: o.alpha * mu + (1 - o.alpha) * st.mean, std: o.alpha * sd + (1 - o.alpha) * st.std };
  const cos = cosineTable(X, W);
  const logits = cos.map((row, b) => {
    let z = (o.h * (norms[b] - state.mean)) / (state.std + eps);
    z = Math.min(1, Math.max(-1, z));
    return row.map((c, j) => {
      if (j !== Y[b]) return o.s * c;
      const cy = Math.min(1 - eps, Math.max(-1 + eps, c));
      const th = Math.min(Math.PI - eps, Math.max(eps, Math.acos(cy) - o.m * z));
      return o.s * (Math.cos(th) - (o.m + o.m * z));
    });
  });
  return { loss: crossEntropy(logits, Y), state };
}

/** ArcFace logits with a per-sample margin. */
export function arcPerSample(cos: Mat, Y: number[], s: number, margins: number[]): Mat {
  return cos.map((row, b) => row.map((c, j) => (j === Y[b] ? s * Math.cos(Math.acos(c) + margins[b]) : s * c)));
}

/** CosFace logits with a per-sample margin. */
export function cosPerSample(cos: Mat, Y: number[], s: number, margins: number[]): Mat {
  return cos.map((row, b) => row.map((c, j) => (j === Y[b] ? s * (c - margins[b]) : s * c)));
}

/** Sub-center cosines: max over the K columns c*K .. c*K + K-1 of W [E][C*K]. */
export function subcenterCos(X: Mat, W: Mat, C: number, K: number): Mat {
  const all = cosineTable(X, W);
  return all.map((row) => {
    const out: number[] = [];
    for (let c = 0; c < C; c++) {
      let mx = -Infinity;
      for (let k = 0; k < K; k++) mx = Math.max(mx, row[c * K + k]);
      out.push(mx);
    }
    return out;
  });
}

/** Cam-Softmax logits at angle gamma. */
export function camLogits(cos: Mat, Y: number[], s: number, gamma: number): Mat {
  const k = 1 / (1 - Math.log(1 + Math.cos(gamma)) / Math.LN2);
  return cos.map((row, b) => row.map((c, j) => (j === Y[b] ? s * (Math.pow(c + 1, k) / Math.pow(2, k - 1) - 1) : s * c)));
}

/** sparsemax of a vector by sorting (Martins & Astudillo, Algorithm 1). */
export function sparsemaxVec(z: number[]): { p: number[]; tau: number } {
  const sorted = z.slice().sort((a, b) => b - a);
  let cum = 0, k = 0, cumK = 0;
  for (let i = 0; i < sorted.length; i++) {
    cum += sorted[i];
    if (1 + (i + 1) * sorted[i] > cum) {
      k = i + 1;
      cumK = cum;
    }
  }
  const tau = (cumK - 1) / k;
  return { p: z.map((v) => Math.max(v - tau, 0)), tau };
}

/** Mean Fenchel-Young sparsemax loss -z_y + 1/2 sum_{S}(z_j^2 - tau^2) + 1/2. */
export function sparsemaxLossLoop(Z: Mat, Y: number[]): number {
  let total = 0;
  for (let b = 0; b < Z.length; b++) {
    const { tau } = sparsemaxVec(Z[b]);
    let q = 0;
    for (const v of Z[b]) if (v > tau) q += v * v - tau * tau;
    total += -Z[b][Y[b]] + 0.5 * q + 0.5;
  }
  return total / Z.length;
}
