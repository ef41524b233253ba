/**
 * The evaluation schedule: after every `training.evalEvery`-th epoch and after the last, the test-set evaluation
 * (`Trainer.evaluate`: verification, identification, open set) and the fitting measurements (`Trainer.evaluateFit`:
 * training accuracy, verification on held-back training identities, the gap) go into the epoch's record, and one
 * line on stderr says them when progress is on.
 */
import type { TrainConfig } from '../config';
import type { TrainerCallback } from './callbacks';
import type { EpochRecord } from './records';
import type { Trainer } from './trainer';

/** Whether epoch `epoch` (0-based) is evaluated: every `evalEvery` epochs (0 = never) and always the last. */
export function evaluationDue(training: TrainConfig['training'], epoch: number): boolean {
  return epoch === training.epochs - 1 || (training.evalEvery > 0 && (epoch + 1) % training.evalEvery === 0);
}

/** One line on an evaluated epoch: test verification, training accuracy and, with held-back images, the gap. */
export function evalLine(rec: EpochRecord): string {
  const pct = (x: number): string => `${(100 * x).toFixed(2)}%`;
  const parts = [`epoch ${rec.epoch + 1}: loss ${rec.meanLoss.toFixed(3)}, train acc ${pct(rec.meanAccuracy)} (dropout on)`];
  if (rec.fit) parts.push(`${pct(rec.fit.trainAccuracy)} (eval mode)`);
  if (rec.eval) parts.push(`verification ${pct(rec.eval.verification.accuracy)} (test identities)`);
  if (rec.fit?.heldOut) parts.push(`${pct(rec.fit.heldOut.accuracy)} (training identities), gap ${(100 * (rec.fit.gap ?? NaN)).toFixed(2)} pts`);
  return parts.join(', ');
}

/** Evaluates the scheduled epochs into their records (see the file comment). */
export class Evaluator implements TrainerCallback {
  /** `report`: write the {@link evalLine} of each evaluated epoch to stderr. */
  constructor(private readonly report: boolean) {}

  onEpoch(rec: EpochRecord, t: Trainer): void {
    if (!evaluationDue(t.config.training, rec.epoch)) return;
    rec.eval = t.evaluate();
    rec.fit = t.evaluateFit(rec.eval.verification.accuracy);
    if (this.report) process.stderr.write(`${t.opts.label ?? t.config.name}: ${evalLine(rec)}\n`);
  }
}
