/**
 * The full CoReFace training objective (Song & Wang, Pattern Recognition 152, 2024; arXiv 2304.11668):
 * L = w1 CE(head(x1)) + w2 CE(head(x2)) + wC L_con(x1 -> x2) + wC2 L_con(x2 -> x1).
 */
import * as tf from '@tensorflow/tfjs';
import type { MarginHead } from '../heads/types';
import { CoReFaceContrastiveLoss } from './contrastive';
import { CosineHead, checkForwardInputs } from '../heads/base';
import { fusedTwoViewObjective, type TwoViews } from '../backends/fused';
import { classLabels } from '../ops';

/** Weights of the objective's terms. */
export interface CoReFaceWeights {
  /** Weight of the head's CE on view 1 (reference 0.5). */
  w1: number;
  /** Weight of the head's CE on view 2 (reference 0.5). */
  w2: number;
  /** Weight of L_con(x1 -> x2) (reference 0.05). */
  wC: number;
  /** Weight of L_con(x2 -> x1) (reference 0). */
  wC2: number;
  /**
   * Reproduce the reference quirk: evaluate L_con(x2 -> x1) every step even when wC2 = 0, which updates the
   * adaptive margin a second time (after the x1 -> x2 update). Default false.
   */
  referenceQuirk?: boolean;
}

/** The reference weights: w1 = w2 = 0.5, wC = 0.05, wC2 = 0 (no quirk). */
export const REFERENCE_WEIGHTS: Readonly<CoReFaceWeights> = Object.freeze({ w1: 0.5, w2: 0.5, wC: 0.05, wC2: 0 });

/** Result of `coreFaceObjective`; every tensor is owned by the caller. */
export interface CoReFaceObjectiveResult {
  /** w1 ce1 + w2 ce2 + wC con12 + wC2 con21. */
  total: tf.Scalar;
  /** The unweighted terms; a term that was not computed is the constant 0. */
  terms: { ce1: tf.Scalar; ce2: tf.Scalar; con12: tf.Scalar; con21: tf.Scalar };
  /** The head's (margin-free) logits on view 1, for accuracy. */
  logits1: tf.Tensor2D;
}

function checkWeight(field: string, v: unknown): void {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) {
    throw new Error(`${field} must be a finite non-negative number, got ${String(v)}`);
  }
}

/** Checks the weights (and that contrastive weights come with a contrastive loss); returns referenceQuirk. */
function checkWeights(contrast: CoReFaceContrastiveLoss | null, w: CoReFaceWeights): boolean {
  if (!w || typeof w !== 'object') throw new Error(`weights must be an object, got ${String(w)}`);
  checkWeight('w1', w.w1);
  checkWeight('w2', w.w2);
  checkWeight('wC', w.wC);
  checkWeight('wC2', w.wC2);
  const quirk = w.referenceQuirk ?? false;
  if (typeof quirk !== 'boolean') throw new Error(`referenceQuirk must be a boolean, got ${String(quirk)}`);
  if (contrast === null && (w.wC > 0 || w.wC2 > 0 || quirk)) {
    throw new Error(
      `contrastive weights need a contrastive loss: contrast is null but wC = ${w.wC}, wC2 = ${w.wC2}, referenceQuirk = ${quirk}`,
    );
  }
  return quirk;
}

/**
 * The objective as one composite native kernel each way (src/backends/fused.ts fusedTwoViewObjective; the same results
 * as the tape's path), on the views stacked [2B, E] with view 1's rows first (a pair is stacked for the call and the
 * copy disposed after it: the gradient keeps its own); null when it does not apply (composite kernels off, a head
 * without a fused target, the reverse term or the reference quirk).
 */
function compositeObjective(
  head: MarginHead, contrast: CoReFaceContrastiveLoss | null, views: TwoViews, labels: tf.Tensor1D, w: CoReFaceWeights, quirk: boolean,
): CoReFaceObjectiveResult | null {
  const cosineHead = head instanceof CosineHead && !(w.wC2 > 0 || quirk) ? head : null;
  const target = cosineHead?.compositeTarget() ?? null;
  if (!cosineHead || !target) return null;
  const x = Array.isArray(views) ? (tf.concat(views, 0) as tf.Tensor2D) : views;
  try {
    const b = x.shape[0] / 2;
    checkForwardInputs(head, x, labels, b);
    const lab = classLabels(labels, b, head.numClasses);
    const con = contrast ? contrast.fusedTerm(x, lab) : null;
    const o = fusedTwoViewObjective(x, cosineHead.weight as tf.Tensor2D, lab, target, [w.w1, w.w2, w.wC, w.wC2], con);
    return { total: o.total, terms: { ce1: o.ce1, ce2: o.ce2, con12: o.con12, con21: tf.scalar(0) }, logits1: o.logits1 };
  } finally {
    if (x !== views) x.dispose();
  }
}

/** The objective through the tape: the head on each view, the contrastive terms, their weighted sum. */
function tapeObjective(
  head: MarginHead, contrast: CoReFaceContrastiveLoss | null, x1: tf.Tensor2D, x2: tf.Tensor2D, labels: tf.Tensor1D,
  w: CoReFaceWeights, quirk: boolean,
): CoReFaceObjectiveResult {
  return tf.tidy(() => {
    const o1 = head.forward(x1, labels);
    const o2 = head.forward(x2, labels);
    const con12 = contrast ? contrast.compute(x1, x2, labels) : tf.scalar(0);
    const con21 = contrast && (w.wC2 > 0 || quirk) ? contrast.compute(x2, x1, labels) : tf.scalar(0);
    const total = tf.addN([
      tf.mul(o1.loss, w.w1),
      tf.mul(o2.loss, w.w2),
      tf.mul(con12, w.wC),
      tf.mul(con21, w.wC2),
    ]) as tf.Scalar;
    return { total, terms: { ce1: o1.loss, ce2: o2.loss, con12, con21 }, logits1: o1.logits };
  });
}

/**
 * Computes the CoReFace objective on two views x1, x2 ([B, E]) of the same images.
 * - ce1, ce2: `head.forward` on each view (always computed; the same weight matrix serves both).
 * - con12 = contrast.compute(x1, x2, labels) whenever `contrast` is given (this updates the margin state).
 * - con21 = contrast.compute(x2, x1, labels) only when wC2 > 0 or `referenceQuirk` (second margin update,
 *   after con12's, so con12 of the next step sees it); otherwise the constant 0.
 * With `contrast` null the contrastive terms are 0 and wC, wC2, referenceQuirk must be 0 / false.
 * {@link coreFaceObjectiveStacked} takes the views stacked, as `FaceModel.twoViewEmbedStacked` gives them.
 */
export function coreFaceObjective(
  head: MarginHead,
  contrast: CoReFaceContrastiveLoss | null,
  x1: tf.Tensor2D,
  x2: tf.Tensor2D,
  labels: tf.Tensor1D,
  w: CoReFaceWeights,
): CoReFaceObjectiveResult {
  const quirk = checkWeights(contrast, w);
  if (x1.rank !== 2 || x1.shape.join() !== x2.shape.join()) {
    throw new Error(`x1 and x2 must both be [B, E] with the same shape, got [${x1.shape}] and [${x2.shape}]`);
  }
  return compositeObjective(head, contrast, [x1, x2], labels, w, quirk) ??
    tapeObjective(head, contrast, x1, x2, labels, w, quirk);
}

/**
 * {@link coreFaceObjective} on the two views stacked, `views` [2B, E] with view 1's rows first (the composite
 * neck's output, `FaceModel.twoViewEmbedStacked`): the composite kernel reads both views from it without copies.
 * Same results, bit for bit.
 */
export function coreFaceObjectiveStacked(
  head: MarginHead,
  contrast: CoReFaceContrastiveLoss | null,
  views: tf.Tensor2D,
  labels: tf.Tensor1D,
  w: CoReFaceWeights,
): CoReFaceObjectiveResult {
  const quirk = checkWeights(contrast, w);
  if (views.rank !== 2 || views.shape[0] % 2 !== 0 || views.shape[0] === 0) {
    throw new Error(`views must be [2B, E] (two views stacked), got [${views.shape}]`);
  }
  const fused = compositeObjective(head, contrast, views, labels, w, quirk);
  if (fused) return fused;
  const [x1, x2] = tf.split(views, 2, 0) as [tf.Tensor2D, tf.Tensor2D];
  return tapeObjective(head, contrast, x1, x2, labels, w, quirk);
}
