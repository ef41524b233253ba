/**
 * The seam between the training loop (trainer.ts) and what happens around it: the loop calls every callback of its
 * list, in order, at four points. The built-in callbacks are, in this order: the user's `onStep` hook, the
 * evaluator (evaluator.ts), the collapse monitor (collapse.ts), the metrics writer (metrics-log.ts), the progress bar
 * (below), the user's `onEpoch` hook and the checkpointer (checkpointer.ts); so at the end of an epoch the record is
 * evaluated before it is checked, logged, handed to the user and checkpointed, and after a step the user's hook sees
 * the record before it is logged. (As insightface's arcface_torch hands logging and verification to callbacks.)
 */
import { ProgressBar } from '../util/progress';
import type { EpochRecord, StepRecord } from './records';
import type { Trainer } from './trainer';

/** Where a step stands in its epoch. */
export interface StepContext {
  /** Steps of the current epoch. */
  stepsInEpoch: number;
}

/** Something the training loop notifies; every method is optional. */
export interface TrainerCallback {
  /** After the trainer restored its checkpoint (constructor, `resume`), before any step. */
  onRestore?(trainer: Trainer): void;
  /** At the start of `run()`, after config.json is written (with an outDir). */
  onRunStart?(trainer: Trainer): void;
  /** After every step (the record's `imgPerSec` is the smoothed speed). */
  onStep?(rec: StepRecord, trainer: Trainer, ctx: StepContext): void;
  /**
   * After every epoch: the record is already in `trainer.state.epochs` and counted in `epochsDone`; callbacks before
   * this one in the list may have added to it (the evaluator adds `eval` and `fit`).
   */
  onEpoch?(rec: EpochRecord, trainer: Trainer): void;
}

/** The user's `onStep` hook (TrainerOptions) as a callback. */
export function stepHook(fn: ((rec: StepRecord) => void) | undefined): TrainerCallback {
  return { onStep: (rec) => fn?.(rec) };
}

/** The user's `onEpoch` hook (TrainerOptions) as a callback. */
export function epochHook(fn: ((rec: EpochRecord) => void) | undefined): TrainerCallback {
  return { onEpoch: (rec) => fn?.(rec) };
}

/** The progress bar on stderr (a redrawn bar on a terminal, a line every 15 s otherwise), when progress is on. */
export class ProgressReporter implements TrainerCallback {
  private bar: ProgressBar | null = null;

  constructor(private readonly enabled: boolean) {}

  onRunStart(t: Trainer): void {
    const cfg = t.config;
    this.bar = new ProgressBar(cfg.training.epochs * t.stepsPerEpoch, t.opts.label ?? cfg.name, { enabled: this.enabled });
  }

  onStep(rec: StepRecord, t: Trainer): void {
    const fields: Record<string, string | number> = { ep: `${rec.epoch + 1}/${t.config.training.epochs}`, loss: rec.loss, acc: rec.accuracy };
    if (rec.margin !== null) fields.m = rec.margin;
    fields['img/s'] = rec.imgPerSec;
    this.bar?.update(t.state.globalStep, fields);
  }
}
