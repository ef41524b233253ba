import * as tf from '@tensorflow/tfjs';
import { fusedSgdAvailable, fusedSgdStep } from '../backends/fused-sgd';

/** Options of `Sgd`. Defaults follow the CoReFace reference (insightface): momentum 0.9, weight decay 5e-4, clip 5. */
export interface SgdOptions {
  /** Momentum mu (default 0.9): v <- mu * v + g; w <- w - lr * v (PyTorch semantics, no dampening). */
  momentum?: number;
  /** L2 weight decay added to the gradient, g <- g + wd * w (default 5e-4). */
  weightDecay?: number;
  /** Global gradient-norm clip applied to the variables selected by `clipFilter` (default 5; 0 = off). */
  clipNorm?: number;
  /** Which variables the clip applies to (default: names starting with 'backbone/', as the reference). */
  clipFilter?: (name: string) => boolean;
}

/** What one update did: the gradient norms before clipping. */
export interface SgdStepInfo {
  clippedNorm: number;
  totalNorm: number;
}

/**
 * SGD with momentum, decoupled-by-name gradient clipping and weight decay, over named variables. Its velocity
 * buffers are named like the variables, so they are saved in checkpoints and restored exactly.
 */
export class Sgd {
  readonly momentum: number;
  readonly weightDecay: number;
  readonly clipNorm: number;
  private readonly clipFilter: (name: string) => boolean;
  private readonly velocity = new Map<string, tf.Variable>();

  constructor(opts: SgdOptions = {}) {
    this.momentum = opts.momentum ?? 0.9;
    this.weightDecay = opts.weightDecay ?? 5e-4;
    this.clipNorm = opts.clipNorm ?? 5;
    this.clipFilter = opts.clipFilter ?? ((n) => n.startsWith('backbone/'));
  }

  /**
   * Applies one update. `grads` maps variable names to gradients (not disposed here). Returns the norms
   * (a non-finite total norm is returned, not applied: the caller stops the run).
   */
  apply(vars: Map<string, tf.Variable>, grads: Record<string, tf.Tensor>, lr: number): SgdStepInfo {
    const names = [...vars.keys()].filter((n) => grads[n] !== undefined);
    // with the native kernels: the same update in one call (src/backends/fused-sgd.ts)
    const params = names.map((n) => ({ weight: vars.get(n) as tf.Variable, grad: grads[n], clip: this.clipFilter(n) }));
    if (fusedSgdAvailable(params)) {
      const fused = params.map((p, i) => ({ ...p, velocity: this.velocityOf(names[i], p.weight) }));
      return fusedSgdStep(fused, { lr, momentum: this.momentum, weightDecay: this.weightDecay, clipNorm: this.clipNorm });
    }
    const [clippedNorm, totalNorm] = tf.tidy(() => {
      const sq = names.map((n) => tf.sum(tf.square(grads[n])));
      const clipSq = names.map((n, i) => (this.clipFilter(n) ? sq[i] : tf.scalar(0)));
      const c = clipSq.length ? tf.sqrt(tf.addN(clipSq)) : tf.scalar(0);
      const t = sq.length ? tf.sqrt(tf.addN(sq)) : tf.scalar(0);
      return [c.dataSync()[0], t.dataSync()[0]];
    });
    if (!Number.isFinite(totalNorm)) return { clippedNorm, totalNorm };
    const clipScale = this.clipNorm > 0 && clippedNorm > this.clipNorm ? this.clipNorm / (clippedNorm + 1e-6) : 1;
    tf.tidy(() => {
      for (const n of names) {
        const w = vars.get(n) as tf.Variable;
        let g = grads[n];
        if (clipScale !== 1 && this.clipFilter(n)) g = tf.mul(g, clipScale);
        if (this.weightDecay > 0) g = tf.add(g, tf.mul(w, this.weightDecay));
        const v = this.velocityOf(n, w);
        v.assign(tf.add(tf.mul(v, this.momentum), g));
        w.assign(tf.sub(w, tf.mul(v, lr)));
      }
    });
    return { clippedNorm, totalNorm };
  }

  /** The velocity buffer of variable `n` (zeros, created on first use). */
  private velocityOf(n: string, w: tf.Variable): tf.Variable {
    let v = this.velocity.get(n);
    if (!v) {
      v = tf.tidy(() => tf.variable(tf.zerosLike(w), false));
      this.velocity.set(n, v);
    }
    return v;
  }

  /** Velocity buffers by variable name (for checkpoints). */
  state(): Map<string, tf.Variable> {
    return this.velocity;
  }

  /** Restores velocity buffers saved by `state()`. */
  setState(entries: { name: string; shape: number[]; data: Float32Array }[]): void {
    this.dispose();
    for (const e of entries) {
      this.velocity.set(e.name, tf.tidy(() => tf.variable(tf.tensor(e.data, e.shape), false)));
    }
  }

  dispose(): void {
    for (const v of this.velocity.values()) v.dispose();
    this.velocity.clear();
  }
}
