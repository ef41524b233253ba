/**
 * What a training run records: one line of metrics.jsonl per logged step and per epoch, and result.json at the end
 * (src/train/trainer.ts writes them; the run store, the summaries and the notebooks read them).
 */
import type { TrainConfig } from '../config';
import type { EvalReport } from '../eval';
import type { FitReport } from './fit';

/** One training step, as logged to metrics.jsonl. */
export interface StepRecord {
  type: 'step';
  epoch: number;
  step: number;
  globalStep: number;
  lr: number;
  loss: number;
  terms: Record<string, number>;
  accuracy: number;
  margin: number | null;
  views: 1 | 2;
  dropout: number;
  gradNorm: number;
  imgPerSec: number;
}

/** One finished epoch, with its evaluation when one ran. */
export interface EpochRecord {
  type: 'epoch';
  epoch: number;
  globalStep: number;
  lr: number;
  meanLoss: number;
  meanAccuracy: number;
  /** Mean of each loss term over the epoch's steps (`ce`, or `ce1`, `ce2`, `con12`, `con21`, and `pair`); unweighted. */
  meanTerms?: Record<string, number>;
  /** CoReFace's contrastive margin at the end of the epoch (null in single-view epochs and without CoReFace). */
  margin?: number | null;
  seconds: number;
  eval?: EvalReport;
  /** Fitting measurements of the same evaluation: training accuracy, verification on training identities, gap. */
  fit?: FitReport;
}

/** What `Trainer.run` returns and writes to result.json. */
export interface RunResult {
  name: string;
  configHash: string;
  config: TrainConfig;
  seed: number;
  backend: string;
  versions: Record<string, string>;
  steps: number;
  wallSeconds: number;
  trainSeconds: number;
  imgPerSec: number;
  finalLoss: number;
  final: EvalReport;
  /** Fitting measurements of the final evaluation (absent in results of coreface-lab < 0.2.0). */
  fit?: FitReport;
  epochs: EpochRecord[];
}

/** The loop's counters: what a checkpoint holds besides the tensors, and restores. */
export interface TrainingState {
  /** Epochs completed. */
  epochsDone: number;
  /** Optimisation steps taken. */
  globalStep: number;
  /** Seconds spent in steps (not in evaluation or I/O), over every attempt of the run. */
  trainSeconds: number;
  /** Loss of the last step, NaN before the first (kept in checkpoints: a run resumed after its last epoch reports it). */
  lastLoss: number;
  /** The finished epochs' records. */
  epochs: EpochRecord[];
}
