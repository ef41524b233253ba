/**
 * The trainer's guards: a NumericalError stops a run whose loss, gradients or weights stop being finite (naming the
 * step, the loss terms and the last good checkpoint), and a one-time warning says when a pair loss gets a batch
 * without a positive pair.
 */
import * as fs from 'fs';
import { learningRate } from './schedule';
import { hasPositivePair } from './pair-objective';
import type { StepRecord } from './records';
import type { Trainer } from './trainer';

/** Thrown when the loss or the gradients stop being finite. */
export class NumericalError extends Error {
  constructor(message: string, readonly record: StepRecord) {
    super(message);
    this.name = 'NumericalError';
  }
}

/** The NumericalError for a non-finite `what` at the step of `rec`, with a hint and the last good checkpoint. */
export function numericalError(t: Trainer, what: string, rec: StepRecord): NumericalError {
  const last = t.opts.outDir && fs.existsSync(t.checkpointPath()) ? t.checkpointPath() : 'none written yet';
  return new NumericalError(
    `non-finite ${what} at epoch ${rec.epoch} step ${rec.step} (global step ${rec.globalStep}): ` +
      `loss ${rec.loss}, terms ${JSON.stringify(rec.terms)}, lr ${rec.lr}. ` +
      `Hint: lower optimizer.lr, add optimizer.warmupEpochs, lower the head's scale/margin, or check the data for NaN. ` +
      `Last good checkpoint: ${last}`,
    rec,
  );
}

/**
 * Throws a NumericalError when a weight, a BN statistic or an SGD velocity is no longer finite (checked once
 * per epoch, before its evaluation and checkpoint: one dataSync of the parameters). NaN/Inf weights can pass the
 * step guards (an update that overflows after a finite gradient, or a head whose clipping hides NaN logits).
 */
export function assertFiniteState(t: Trainer, epoch: number, step: number): void {
  const bad: string[] = [];
  for (const e of t.model.store.snapshot()) if (!e.data.every(Number.isFinite)) bad.push(e.name);
  for (const [n, v] of t.optimizer.state()) if (!(v.dataSync() as Float32Array).every(Number.isFinite)) bad.push(`sgd:${n}`);
  if (bad.length === 0) return;
  const rec: StepRecord = {
    type: 'step', epoch, step, globalStep: t.state.globalStep - 1, lr: learningRate(epoch + step / t.stepsPerEpoch, t.config.optimizer),
    loss: t.state.lastLoss, terms: {}, accuracy: NaN, margin: null, views: t.isTwoViewEpoch(epoch) ? 2 : 1, dropout: t.dropoutAt(epoch),
    gradNorm: NaN, imgPerSec: 0,
  };
  throw numericalError(t, `weights (${bad.slice(0, 3).join(', ')}${bad.length > 3 ? `, +${bad.length - 3} more` : ''}) after the update`, rec);
}

/** Warns once (stderr) when a batch holds no two images of one identity: pair losses get no positive pair. */
export class PositivePairCheck {
  private warned = false;

  check(t: Trainer, idx: Int32Array, epoch: number, stepInEpoch: number): void {
    if (this.warned || hasPositivePair(Array.from(idx, (i) => t.benchmark.train.labels[i]))) return;
    this.warned = true;
    const c = t.config;
    process.stderr.write(
      `warning: ${c.name}: pairLoss '${c.pairLoss.name}': batch ${stepInEpoch} of epoch ${epoch} has no two images of one identity ` +
        `(no positive pair; training.sampler '${c.training.sampler}', samplesPerIdentity ${c.training.samplesPerIdentity}). ` +
        `Use training.sampler 'identity-balanced' with samplesPerIdentity >= 2 (warned once per trainer).\n`,
    );
  }
}
