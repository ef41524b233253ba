/**
 * metrics.jsonl, the run's log as data: a `step` line every `training.logEvery` steps and at the end of each epoch,
 * an `epoch` line per epoch (with its evaluation), and `warning` lines (the collapse monitor's). A resumed run keeps
 * only the lines of what its checkpoint holds and writes the rest again, so the file of an interrupted and resumed
 * run equals that of an uninterrupted one (but the clock).
 */
import * as fs from 'fs';
import { writeFileAtomic } from '../util/atomic';
import type { StepContext, TrainerCallback } from './callbacks';
import type { EpochRecord, StepRecord } from './records';
import type { Trainer } from './trainer';

/** Writes metrics.jsonl (see the file comment). */
export class MetricsWriter implements TrainerCallback {
  /** Whether the file kept a `warning` line when it was cut back to a restored checkpoint. */
  restoredWarning = false;

  constructor(readonly file: string) {}

  /** Drops the lines written after the checkpoint (they will be written again). */
  onRestore(t: Trainer): void {
    if (!fs.existsSync(this.file)) return;
    const { globalStep, epochsDone } = t.state;
    const keep = fs.readFileSync(this.file, 'utf8').split('\n').filter((line) => {
      if (!line.trim()) return false;
      try {
        const r = JSON.parse(line) as { type: string; globalStep: number; epoch: number };
        const keepLine = r.type === 'step' ? r.globalStep < globalStep : r.epoch < epochsDone;
        if (keepLine && r.type === 'warning') this.restoredWarning = true;
        return keepLine;
      } catch {
        return false;
      }
    });
    writeFileAtomic(this.file, keep.map((l) => l + '\n').join(''));
  }

  /**
   * A run that starts from scratch owns metrics.jsonl: lines left by an attempt killed before its first checkpoint
   * (or by an earlier run without --resume) would otherwise be duplicated.
   */
  onRunStart(t: Trainer): void {
    if (t.state.globalStep === 0) fs.writeFileSync(this.file, '');
  }

  onStep(rec: StepRecord, t: Trainer, ctx: StepContext): void {
    if (rec.globalStep % t.config.training.logEvery === 0 || rec.step === ctx.stepsInEpoch - 1) this.append(rec);
  }

  onEpoch(rec: EpochRecord): void {
    this.append(rec);
  }

  /** Appends a `warning` line for the given epoch. */
  warning(epoch: number, message: string): void {
    this.append({ type: 'warning', epoch, message });
  }

  private append(rec: object): void {
    fs.appendFileSync(this.file, JSON.stringify(rec) + '\n');
  }
}
