/**
 * A warning for a run that fell into ArcFace's degenerate solution: cos(t_y + m) rises again for t_y > pi - m, so
 * without the easy-margin fix (the CoReFace reference and our default omit it, coreface-spec.md) a network can
 * lower the margin loss by pointing embeddings away from their class centres. Seen on synthfaces at nuisance 1.5
 * and on glyphs at distortion 1 with dropout (docs/NOTES.md): the loss keeps falling while the margin-free
 * training accuracy stays at chance. Nothing is stopped; the run goes on and the trainer prints this once.
 */
import type { TrainerCallback } from './callbacks';
import type { MetricsWriter } from './metrics-log';
import type { EpochRecord } from './records';
import type { Trainer } from './trainer';

/** What {@link collapseWarning} reads of one finished epoch. */
export interface EpochTrend {
  epoch: number;
  meanLoss: number;
  meanAccuracy: number;
}

/** Thresholds of {@link collapseWarning}. */
export interface CollapseCheckOptions {
  /** Identities of the training head (the check needs >= 10, where chance is <= 10%). */
  numClasses: number;
  /** Epochs of linear warm-up: the check starts after them, and never on the first epoch. */
  warmupEpochs: number;
  /** The loss must be below this fraction of the first epoch's (default 0.5). */
  lossRatio?: number;
  /** The accuracy must be at most this multiple of chance (1 / numClasses) (default 2). */
  chanceMultiple?: number;
}

/**
 * The warning text when the latest epoch's margin-free training accuracy is at most `chanceMultiple` x chance
 * although the mean loss fell below `lossRatio` x the first epoch's; null otherwise (also for NaN accuracy, i.e.
 * no head, fewer than 10 classes, or an epoch inside the warm-up).
 */
export function collapseWarning(epochs: readonly EpochTrend[], o: CollapseCheckOptions): string | null {
  const first = epochs[0];
  const last = epochs[epochs.length - 1];
  if (!first || !last || o.numClasses < 10 || last.epoch < Math.max(1, o.warmupEpochs)) return null;
  const chance = 1 / o.numClasses;
  const maxAcc = (o.chanceMultiple ?? 2) * chance;
  const ratio = o.lossRatio ?? 0.5;
  if (!(last.meanAccuracy <= maxAcc) || !(last.meanLoss < ratio * first.meanLoss)) return null;
  const pct = (v: number): string => `${(100 * v).toFixed(2)}%`;
  return `training accuracy after epoch ${last.epoch + 1} is ${pct(last.meanAccuracy)} (chance ${pct(chance)}) while the loss fell ` +
    `from ${first.meanLoss.toFixed(3)} to ${last.meanLoss.toFixed(3)}: the embeddings have probably collapsed into ArcFace's degenerate ` +
    `solution (cos(t + m) rises again past t = pi - m). Verification will be near chance. Remedies: head.options.easyMargin true, ` +
    'a smaller margin, less dropout, or an easier dataset (docs/NOTES.md).';
}

/**
 * Warns once per run (stderr, and a `warning` line in metrics.jsonl) when the head's training accuracy sits at
 * chance while its loss falls ({@link collapseWarning}); a resumed run whose metrics.jsonl kept the warning does
 * not repeat it. Not for runs whose head is unweighted (pair loss alone).
 */
export class CollapseMonitor implements TrainerCallback {
  private warned = false;

  constructor(private readonly metrics: MetricsWriter | null) {}

  onEpoch(_rec: EpochRecord, t: Trainer): void {
    const cfg = t.config;
    if (this.warned || this.metrics?.restoredWarning || (cfg.pairLoss.name !== 'none' && cfg.pairLoss.headWeight === 0)) return;
    const msg = collapseWarning(t.state.epochs, { numClasses: t.benchmark.numClasses, warmupEpochs: cfg.optimizer.warmupEpochs });
    if (!msg) return;
    this.warned = true;
    process.stderr.write(`\nwarning: ${cfg.name}: ${msg}\n`);
    this.metrics?.warning(t.state.epochsDone - 1, msg);
  }
}
