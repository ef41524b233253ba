/**
 * The CoReFace sample-guided contrastive regulariser (Song & Wang, "CoReFace: Sample-Guided Contrastive
 * Regularization for Deep Face Recognition", Pattern Recognition 152, 2024; arXiv 2304.11668), see
 * the team's method specification (coreface-spec.md) and docs/coreface.md.
 *
 * Every protocol is expressed as one R x K similarity matrix S (rows = anchors, columns = candidates) with
 * - a positive column p(r) per row (the other view of the same image),
 * - "self" entries (the anchor itself, only in the 2N protocol): always excluded (logit NEG_INF_LOGIT = -1e9),
 * - same-label entries (another image with the anchor's label, either view): masked per `mask`.
 * one-way-n: S = x1^ x2^T (N x N), p(i) = i. two-way-n: S = [x1^ x2^T ; x2^ x1^T] (2N x N), p(r) = r mod N.
 * 2n: z = [x1^; x2^], S = z z^T (2N x 2N), p(a) = (a + N) mod 2N, self = a.
 */
import * as tf from '@tensorflow/tfjs';
import type { LabelsLike } from '../util/labels';
import { fusedContrastLoss, fusedContrastStats, fusedLossesAvailable, type FusedContrastTerm, type TwoViews } from '../backends/fused';
import {
  CONTRASTIVE_BATCH_WEIGHT_RANGE, CONTRASTIVE_MARGIN_MODES, CONTRASTIVE_MARGIN_RANGE, CONTRASTIVE_MASKS, CONTRASTIVE_PROTOCOLS,
  DEFAULT_BATCH_WEIGHT, DEFAULT_CONTRASTIVE_SCALE, DEFAULT_MARGIN_MODE, DEFAULT_MASK, DEFAULT_PROTOCOL, NEG_INF_LOGIT,
  checkScale, checkedLabels, isContrastiveMargin, l2Normalize,
  type ContrastiveMargin, type ContrastiveMask, type ContrastiveProtocol,
} from '../ops';

// The options' values, ranges and defaults are declared once in src/ops/coreface-options.ts; they are part of
// this module's API.
export {
  CONTRASTIVE_MARGIN_MODES, CONTRASTIVE_MARGIN_RANGE, CONTRASTIVE_MASKS, CONTRASTIVE_PROTOCOLS,
  DEFAULT_BATCH_WEIGHT, DEFAULT_CONTRASTIVE_SCALE, DEFAULT_MARGIN_MODE, DEFAULT_MASK, DEFAULT_PROTOCOL,
  type ContrastiveMargin, type ContrastiveMask, type ContrastiveProtocol,
};
/** Logit given to excluded entries: {@link NEG_INF_LOGIT} (finite, so exp underflows to exactly 0 and nothing becomes NaN). */
export const EXCLUDED_LOGIT = NEG_INF_LOGIT;

const OPTION_KEYS = ['scale', 'batchWeight', 'protocol', 'mask', 'margin'];

/** Options of `CoReFaceContrastiveLoss`. */
export interface CoReFaceContrastiveOptions {
  /** Scale s of the logits Z = s (S - m I), > 0; default 64. */
  scale?: number;
  /**
   * Weight of the current batch in the adaptive margin update m <- w m_batch + (1 - w) m, in [0, 1];
   * default 0.99 (reference). 0.01 gives a conventional EMA (ablation). Ignored unless margin = 'adaptive'.
   */
  batchWeight?: number;
  /** Pair coupling protocol; default 'one-way-n' (released setting). */
  protocol?: ContrastiveProtocol;
  /**
   * Same-label entries: 'zero' (default, reference) = similarity replaced by the constant 0 (stays in the
   * denominator as exp(0), no gradient); 'exclude' = logit NEG_INF_LOGIT (out of the softmax); 'none' = kept as negatives.
   */
  mask?: ContrastiveMask;
  /** 'adaptive' (default, reference), a fixed number in [-2, 2], or 'none' (= fixed 0). */
  margin?: ContrastiveMargin;
}

/** Batch statistics of the last `compute` call (plain numbers, for logging). */
export interface ContrastiveStats {
  /** Mean of pos_r = S[r][p(r)] over the rows. */
  posMean: number;
  /** Mean of neg_r = max(0, max over the row's negatives of the masked S). */
  negMean: number;
  /** m_batch = posMean - negMean. */
  marginBatch: number;
  /** The margin used for this batch (after the update). */
  margin: number;
  /** Number of anchor rows the statistics were taken over (N, 2N or 2N). */
  rows: number;
}

/** Checkpointable state. */
export interface ContrastiveState extends Record<string, number> {
  margin: number;
}

interface Layout {
  rows: number;
  cols: number;
  /** row-major rows x cols, 1 at (r, p(r)) */
  positive: Float32Array;
  /** 1 at the anchor itself (2N protocol) */
  self: Uint8Array;
  /** 1 at other images sharing the anchor's label (both views in 2N) */
  same: Uint8Array;
  /** p(r) per row */
  target: Int32Array;
}

function buildLayout(protocol: ContrastiveProtocol, labels: Int32Array): Layout {
  const n = labels.length;
  const rows = protocol === 'one-way-n' ? n : 2 * n;
  const cols = protocol === '2n' ? 2 * n : n;
  const positive = new Float32Array(rows * cols);
  const self = new Uint8Array(rows * cols);
  const same = new Uint8Array(rows * cols);
  const target = new Int32Array(rows);
  for (let r = 0; r < rows; r++) {
    const img = r % n;
    const p = protocol === '2n' ? (r + n) % (2 * n) : img;
    target[r] = p;
    positive[r * cols + p] = 1;
    if (protocol === '2n') self[r * cols + r] = 1;
    for (let k = 0; k < cols; k++) {
      const other = k % n;
      if (other !== img && labels[other] === labels[img]) same[r * cols + k] = 1;
    }
  }
  return { rows, cols, positive, self, same, target };
}

/** A value in a message: strings quoted, other values with String(). */
function quote(v: unknown): string {
  return typeof v === 'string' ? `'${v}'` : String(v);
}

/** The values of a list, each quoted, comma-separated. */
function quoted(values: readonly string[]): string {
  return values.map(quote).join(', ');
}

/**
 * CoReFace contrastive loss with the adaptive margin. `compute(view1, view2, labels)` first updates `margin`
 * from the batch (without gradient), then returns mean_r CE(s (S[r] - m e_{p(r)}), p(r)).
 * Defaults: scale 64, batchWeight 0.99, protocol 'one-way-n', mask 'zero', margin 'adaptive' (all as the
 * reference implementation).
 */
export class CoReFaceContrastiveLoss {
  /** Scale s. */
  readonly scale: number;
  /** Weight of the batch in the margin update. */
  readonly batchWeight: number;
  /** Pair coupling protocol. */
  readonly protocol: ContrastiveProtocol;
  /** Same-label treatment. */
  readonly mask: ContrastiveMask;
  /** Margin mode as configured. */
  readonly marginMode: ContrastiveMargin;
  /** Current margin m: starts at 0 (adaptive / 'none') or at the fixed value, which it keeps. */
  margin: number;
  /** Statistics of the last `compute` call, null before the first. */
  lastStats: ContrastiveStats | null = null;

  constructor(opts: CoReFaceContrastiveOptions = {}) {
    if (opts === null || typeof opts !== 'object') throw new Error(`options must be an object, got ${String(opts)}`);
    for (const k of Object.keys(opts)) {
      if (!OPTION_KEYS.includes(k)) {
        throw new Error(`unknown CoReFaceContrastiveLoss option '${k}'; allowed: ${OPTION_KEYS.join(', ')}`);
      }
    }
    const scale = opts.scale ?? DEFAULT_CONTRASTIVE_SCALE;
    checkScale(scale);
    const { min: bwMin, max: bwMax } = CONTRASTIVE_BATCH_WEIGHT_RANGE;
    const bw = opts.batchWeight ?? DEFAULT_BATCH_WEIGHT;
    if (typeof bw !== 'number' || !Number.isFinite(bw) || bw < bwMin || bw > bwMax) {
      throw new Error(`batchWeight must be a number in [${bwMin}, ${bwMax}], got ${quote(bw)}`);
    }
    const protocol = opts.protocol ?? DEFAULT_PROTOCOL;
    if (!CONTRASTIVE_PROTOCOLS.includes(protocol)) {
      throw new Error(`protocol must be one of ${quoted(CONTRASTIVE_PROTOCOLS)}, got ${quote(protocol)}`);
    }
    const mask = opts.mask ?? DEFAULT_MASK;
    if (!CONTRASTIVE_MASKS.includes(mask)) {
      throw new Error(`mask must be one of ${quoted(CONTRASTIVE_MASKS)}, got ${quote(mask)}`);
    }
    const margin = opts.margin ?? DEFAULT_MARGIN_MODE;
    if (!isContrastiveMargin(margin)) {
      const { min, max } = CONTRASTIVE_MARGIN_RANGE;
      throw new Error(`margin must be ${quoted(CONTRASTIVE_MARGIN_MODES)} or a finite number in [${min}, ${max}], got ${quote(margin)}`);
    }
    this.scale = scale;
    this.batchWeight = bw;
    this.protocol = protocol;
    this.mask = mask;
    this.marginMode = margin;
    this.margin = typeof margin === 'number' ? margin : 0;
  }

  /** The margin state for checkpoints. */
  getState(): ContrastiveState {
    return { margin: this.margin };
  }

  /**
   * Restores `getState()` output. With a fixed or 'none' margin the state must equal the configured value
   * (a mismatch means the checkpoint comes from a different configuration and throws).
   */
  setState(s: Record<string, number>): void {
    const keys = Object.keys(s ?? {});
    const extra = keys.filter((k) => k !== 'margin');
    if (extra.length > 0) throw new Error(`unknown contrastive state key(s): ${extra.join(', ')}; allowed: margin`);
    const m = s.margin;
    if (typeof m !== 'number' || !Number.isFinite(m)) throw new Error(`state margin must be a finite number, got ${String(m)}`);
    if (this.marginMode !== 'adaptive' && m !== this.margin) {
      throw new Error(`state margin ${m} differs from the configured ${quote(this.marginMode)} margin ${this.margin}`);
    }
    this.margin = m;
  }

  /**
   * Updates the margin state from this batch (adaptive mode), then returns the contrastive loss.
   * view1, view2: [N, E] embeddings of the same N images (not necessarily normalised); labels: N identities.
   * The returned scalar is owned by the caller; the margin update reads 2 vectors of R numbers synchronously.
   */
  compute(view1: tf.Tensor2D, view2: tf.Tensor2D, labels: LabelsLike): tf.Scalar {
    if (view1.rank !== 2 || view2.rank !== 2 || view1.shape[0] !== view2.shape[0] || view1.shape[1] !== view2.shape[1]) {
      throw new Error(`view1 and view2 must both be [N, E] with the same shape, got [${view1.shape}] and [${view2.shape}]`);
    }
    const n = view1.shape[0];
    if (n < 1) throw new Error('view1 and view2 must have at least one row');
    const lab = checkedLabels(labels);
    if (lab.length !== n) throw new Error(`labels must have one entry per row (${n}), got ${lab.length}`);
    if (fusedLossesAvailable()) {
      // the same equations in two native kernels (src/backends/fused.ts): statistics, then the loss
      const t = this.fusedTerm([view1, view2], lab);
      return fusedContrastLoss(view1, view2, t.spec, t.scale, t.margin);
    }
    const L = buildLayout(this.protocol, lab);
    const shape: [number, number] = [L.rows, L.cols];
    return tf.tidy(() => {
      const a = l2Normalize(view1, 1);
      const b = l2Normalize(view2, 1);
      let sim: tf.Tensor2D;
      if (this.protocol === '2n') {
        const z = tf.concat([a, b], 0);
        sim = tf.matMul(z, z, false, true);
      } else {
        const s12: tf.Tensor2D = tf.matMul(a, b, false, true);
        sim = this.protocol === 'one-way-n' ? s12 : (tf.concat([s12, tf.transpose(s12)], 0) as tf.Tensor2D);
      }
      const S = tf.clipByValue(sim, -1, 1);
      const P = tf.tensor2d(L.positive, shape);
      const same = tf.cast(tf.tensor2d(L.same, shape, 'int32'), 'bool');
      const self = tf.cast(tf.tensor2d(L.self, shape, 'int32'), 'bool');
      const zeros = tf.zerosLike(S);
      // 1. supervised mask ('zero': constant 0, no gradient through tf.where's unselected branch)
      const Sm = this.mask === 'zero' ? tf.where(same, zeros, S) : S;

      // 2. margin statistics (no gradient: read back as numbers)
      this.updateMargin(S, Sm, P, same, self, zeros);

      // 3. logits and loss
      const Z = tf.mul(tf.sub(Sm, tf.mul(P, this.margin)), this.scale);
      const drop = this.mask === 'exclude' ? tf.logicalOr(self, same) : self;
      const Zx = tf.where(drop, tf.fill(shape, NEG_INF_LOGIT), Z);
      return tf.div(tf.neg(tf.sum(tf.mul(P, tf.logSoftmax(Zx, 1)))), L.rows) as tf.Scalar;
    });
  }

  /**
   * The fused path's first half (native kernels only): updates the margin state from this batch's statistics
   * (CorefaceContrastStats) and returns what the fused loss kernels need for it. `views`: [view1, view2], or both
   * stacked [2N, E] with view 1's rows first. `labels` as checked by compute.
   */
  fusedTerm(views: TwoViews, labels: Int32Array): FusedContrastTerm {
    const spec = { labels, protocol: this.protocol, mask: this.mask };
    const { pos, neg } = fusedContrastStats(views, spec);
    this.applyStats(pos, neg);
    return { spec, scale: this.scale, margin: this.margin };
  }

  private updateMargin(
    S: tf.Tensor2D, Sm: tf.Tensor2D, P: tf.Tensor2D, same: tf.Tensor2D, self: tf.Tensor2D, zeros: tf.Tensor2D,
  ): void {
    const [posArr, negArr] = tf.tidy(() => {
      const pos = tf.sum(tf.mul(S, P), 1);
      // S' = masked S with the positive (diagonal) and self entries set to 0; excluded entries can never be the max
      let Sp: tf.Tensor = tf.where(tf.logicalOr(tf.cast(P, 'bool'), self), zeros, Sm);
      if (this.mask === 'exclude') Sp = tf.where(same, tf.fill(Sp.shape, -2), Sp);
      const neg = tf.max(Sp, 1);
      return [pos.dataSync(), neg.dataSync()];
    });
    this.applyStats(posArr, negArr);
  }

  /** Margin update and {@link lastStats} from the per-row positives and hardest negatives of a batch. */
  private applyStats(posArr: ArrayLike<number>, negArr: ArrayLike<number>): void {
    const rows = posArr.length;
    let ps = 0, ns = 0;
    for (let r = 0; r < rows; r++) {
      ps += posArr[r];
      ns += negArr[r];
    }
    const posMean = ps / rows, negMean = ns / rows;
    const marginBatch = posMean - negMean;
    if (this.marginMode === 'adaptive') this.margin = this.batchWeight * marginBatch + (1 - this.batchWeight) * this.margin;
    this.lastStats = { posMean, negMean, marginBatch, margin: this.margin, rows };
  }
}
