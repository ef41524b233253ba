import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { TrainConfig, resolveTrainConfig, configHash } from '../config';
import type { FaceBenchmark } from '../data/types';
import type { FaceModel } from '../models';
import type { MarginHead } from '../heads';
import { CoReFaceContrastiveLoss, coreFaceObjectiveStacked } from '../coreface';
import type { PairLoss } from '../losses';
import { evaluateEmbeddings } from '../eval';
import type { EvalReport } from '../eval';
import { Rng } from '../util/rng';
import { writeJsonAtomic } from '../util/atomic';
import { formatDuration } from '../util/progress';
import { learningRate } from './schedule';
import { epochBatches } from './sampler';
import type { Sgd } from './sgd';
import { embedImageSet } from './embed';
import { runArtifacts } from './artifacts';
import { pairObjective } from './pair-objective';
import { fitReport } from './fit';
import type { FitReport } from './fit';
import { batchTensors } from './batch';
import { buildTrainingParts } from './setup';
import { epochHook, ProgressReporter, stepHook, TrainerCallback } from './callbacks';
import { Evaluator } from './evaluator';
import { CollapseMonitor } from './collapse';
import { MetricsWriter } from './metrics-log';
import { Checkpointer } from './checkpointer';
import { assertFiniteState, numericalError, PositivePairCheck } from './guards';
import { runResult } from './result';
import type { EpochRecord, RunResult, StepRecord, TrainingState } from './records';

/** Options of the Trainer beyond the config. */
export interface TrainerOptions {
  /** Directory for metrics.jsonl, checkpoint.ckpt and result.json (default: none, nothing written). */
  outDir?: string;
  /** Continue from outDir/checkpoint.ckpt when it exists (default false). */
  resume?: boolean;
  /** A benchmark already built (default: built from config.dataset). */
  benchmark?: FaceBenchmark;
  /** Progress display: true (bar on a TTY, lines otherwise), false (default true). */
  progress?: boolean;
  /** Prefix of progress lines (default the run name). */
  label?: string;
  /** Called after every step (notebooks use it to trace the loss terms and the margin). */
  onStep?: (rec: StepRecord) => void;
  /** Called after every epoch, with its evaluation when one ran. */
  onEpoch?: (rec: EpochRecord) => void;
  /** Stop after this many global steps (default: all). The run is then incomplete and has no result.json. */
  maxSteps?: number;
}

/**
 * Trains one model on one benchmark as configured: SGD with momentum and weight decay, step LR with warm-up,
 * backbone gradient clipping, an optional CoReFace phase (two dropout views + contrastive term from
 * `coreface.startEpoch`), per-epoch evaluation, JSONL metrics and atomic checkpoints with exact resume.
 * Every random choice is a function of (seed, epoch, step) (no hidden RNG state: the checkpoint's step count
 * is the RNG state), so the same seed on the same backend gives the same numbers, with or without an
 * interruption.
 *
 * The loop (`run`, `step`) is small: evaluation, metrics.jsonl, the progress bar, the collapse warning and the
 * checkpoints are callbacks (callbacks.ts), called in a fixed order after each step and epoch.
 */
export class Trainer {
  readonly config: TrainConfig;
  readonly hash: string;
  readonly benchmark: FaceBenchmark;
  readonly model: FaceModel;
  readonly head: MarginHead;
  readonly contrast: CoReFaceContrastiveLoss | null;
  /** The configured pair loss (config `pairLoss`), null for 'none'. */
  readonly pairLoss: PairLoss | null;
  readonly optimizer: Sgd;
  readonly stepsPerEpoch: number;
  /** The loop's counters (what the checkpoint restores). */
  readonly state: TrainingState = { epochsDone: 0, globalStep: 0, trainSeconds: 0, lastLoss: NaN, epochs: [] };
  /** The callbacks, in the order they are called (see callbacks.ts). */
  private readonly callbacks: TrainerCallback[];
  private readonly checkpointer: Checkpointer | null;
  /** Trainable variables (model + head) by store name, and the store name of each tfjs variable name. */
  private readonly vars: Map<string, tf.Variable>;
  private readonly storeNameOf = new Map<string, string>();
  /** Test embeddings of the last evaluation (for artifacts.json). */
  private lastEmbeddings: { embeddings: Float32Array; dim: number; globalStep: number } | null = null;
  private readonly positives = new PositivePairCheck();

  constructor(config: unknown, readonly opts: TrainerOptions = {}) {
    this.config = resolveTrainConfig(config);
    this.hash = configHash(this.config);
    const parts = buildTrainingParts(this.config, opts.benchmark);
    this.benchmark = parts.benchmark;
    this.stepsPerEpoch = parts.stepsPerEpoch;
    this.model = parts.model;
    this.head = parts.head;
    this.contrast = parts.contrast;
    this.pairLoss = parts.pairLoss;
    this.optimizer = parts.optimizer;
    // The set of trainable variables is fixed from here on (restore assigns values in place).
    this.vars = this.model.store.trainable();
    for (const [n, v] of this.vars) this.storeNameOf.set(v.name, n);
    const metrics = opts.outDir ? new MetricsWriter(path.join(opts.outDir, 'metrics.jsonl')) : null;
    this.checkpointer = opts.outDir ? new Checkpointer(this.checkpointPath()) : null;
    this.callbacks = [
      stepHook(opts.onStep),
      new Evaluator(opts.progress !== false),
      new CollapseMonitor(metrics),
      ...(metrics ? [metrics] : []),
      new ProgressReporter(opts.progress !== false),
      epochHook(opts.onEpoch),
      ...(this.checkpointer ? [this.checkpointer] : []),
    ];
    if (opts.resume && this.checkpointer && fs.existsSync(this.checkpointer.file)) {
      this.checkpointer.restore(this);
      for (const cb of this.callbacks) cb.onRestore?.(this);
    }
  }

  /** Path of the run's checkpoint file (only with outDir). */
  checkpointPath(): string {
    if (!this.opts.outDir) throw new Error('no outDir: this trainer writes no checkpoint');
    return path.join(this.opts.outDir, 'checkpoint.ckpt');
  }

  /** Epochs completed so far (after a resume: those restored). */
  get completedEpochs(): number {
    return this.state.epochsDone;
  }

  /** Whether the given epoch trains with two views and the contrastive term. */
  isTwoViewEpoch(epoch: number): boolean {
    return this.contrast !== null && epoch >= this.config.coreface.startEpoch;
  }

  /** Dropout probability used in the given epoch. */
  dropoutAt(epoch: number): number {
    return this.isTwoViewEpoch(epoch) ? this.config.dropout.after : this.config.dropout.before;
  }

  /** Runs one optimisation step on the given batch indices; returns its record. */
  step(idx: Int32Array, epoch: number, stepInEpoch: number): StepRecord {
    const cfg = this.config;
    const st = this.state;
    const t0 = Date.now();
    const stepRng = new Rng(`${cfg.seed}/step/${st.globalStep}`);
    const lr = learningRate(epoch + stepInEpoch / this.stepsPerEpoch, cfg.optimizer);
    const twoView = this.isTwoViewEpoch(epoch);
    const dropout = this.dropoutAt(epoch);
    const { x, y } = batchTensors(this.benchmark.train, idx, cfg.training.flip, stepRng);
    const seeds: [number, number] = [stepRng.tfSeed(), stepRng.tfSeed()];
    if (this.pairLoss) this.positives.check(this, idx, epoch, stepInEpoch);
    // headWeight scales the head's CE (and only it: not CoReFace's contrastive terms); 1 without a pair loss.
    const headWeight = this.pairLoss ? cfg.pairLoss.headWeight : 1;
    let termT: Record<string, tf.Scalar> = {};
    let accT: tf.Scalar | null = null;
    const { value, grads } = tf.variableGrads(() => {
      let total: tf.Scalar;
      let logits: tf.Tensor2D;
      let pairOn: () => tf.Tensor2D; // the embeddings the pair loss sees: view 1 with CoReFace
      if (twoView) {
        // the views stacked [2B, E]: the composite kernels pass them from the neck to the objective without a split
        const views = this.model.twoViewEmbedStacked(x, { dropout, seeds });
        const c = cfg.coreface;
        const out = coreFaceObjectiveStacked(this.head, this.contrast, views, y, {
          w1: headWeight * c.w1, w2: headWeight * c.w2, wC: c.wC, wC2: c.wC2, referenceQuirk: c.referenceQuirk,
        });
        total = out.total;
        logits = out.logits1;
        termT = { ce1: out.terms.ce1, ce2: out.terms.ce2, con12: out.terms.con12, con21: out.terms.con21 };
        pairOn = () => tf.slice(views, [0, 0], [y.shape[0], -1]) as tf.Tensor2D;
      } else {
        const e = this.model.embed(x, { training: true, dropout, seed: seeds[0] });
        const out = this.head.forward(e, y);
        total = out.loss;
        logits = out.logits;
        termT = { ce: out.loss };
        pairOn = () => e;
      }
      if (this.pairLoss) {
        const p = pairObjective(this.pairLoss, total, pairOn(), y, { weight: cfg.pairLoss.weight, headWeight: twoView ? 1 : headWeight });
        total = p.total;
        termT.pair = p.pair;
      }
      for (const k of Object.keys(termT)) termT[k] = tf.keep(termT[k]);
      accT = tf.keep(tf.mean(tf.cast(tf.equal(tf.argMax(logits, 1), y), 'float32')) as tf.Scalar);
      return total;
    }, [...this.vars.values()]);
    const byName: Record<string, tf.Tensor> = {};
    for (const [vname, g] of Object.entries(grads)) byName[this.storeNameOf.get(vname) ?? vname] = g;
    const loss = value.dataSync()[0];
    const terms: Record<string, number> = {};
    for (const [k, t] of Object.entries(termT)) terms[k] = t.dataSync()[0];
    const accuracy = accT ? (accT as tf.Scalar).dataSync()[0] : NaN;
    const record: StepRecord = {
      type: 'step', epoch, step: stepInEpoch, globalStep: st.globalStep, lr, loss, terms, accuracy,
      margin: this.contrast && twoView ? this.contrast.margin : null, views: twoView ? 2 : 1, dropout,
      gradNorm: NaN, imgPerSec: 0,
    };
    try {
      if (!Number.isFinite(loss)) throw numericalError(this, 'loss', record);
      const info = this.optimizer.apply(this.vars, byName, lr);
      record.gradNorm = info.totalNorm;
      if (!Number.isFinite(info.totalNorm)) throw numericalError(this, 'gradient norm', record);
    } finally {
      tf.dispose([x, y, value, ...Object.values(grads), ...Object.values(termT)]);
      if (accT) (accT as tf.Scalar).dispose();
    }
    st.globalStep++;
    const dt = (Date.now() - t0) / 1000;
    st.trainSeconds += dt;
    record.imgPerSec = idx.length / Math.max(dt, 1e-6);
    return record;
  }

  /**
   * Training accuracy (evaluation mode, margin-free), verification on the held-back images of the training
   * identities and the gap to `testAccuracy` (src/train/fit.ts).
   */
  evaluateFit(testAccuracy: number): FitReport {
    return fitReport((x) => this.model.embed(x, { training: false }), this.head, this.benchmark, testAccuracy);
  }

  /** Flip-fused, normalised embeddings of the test set and the open-set metrics over them. */
  evaluate(): EvalReport {
    const b = this.benchmark;
    const { embeddings, dim } = embedImageSet((x) => this.model.embed(x, { training: false }), b.test);
    this.lastEmbeddings = { embeddings, dim, globalStep: this.state.globalStep };
    return evaluateEmbeddings(embeddings, b.test.count, dim, b.test.labels, b.pairs, b.identification);
  }

  /** Trains every remaining epoch, evaluating and checkpointing as configured; returns the result. */
  run(): RunResult {
    const cfg = this.config;
    const st = this.state;
    const wall0 = Date.now();
    if (this.opts.outDir) {
      fs.mkdirSync(this.opts.outDir, { recursive: true });
      writeJsonAtomic(path.join(this.opts.outDir, 'config.json'), cfg);
    }
    for (const cb of this.callbacks) cb.onRunStart?.(this);
    let speed = 0;
    for (let epoch = st.epochsDone; epoch < cfg.training.epochs; epoch++) {
      const e0 = Date.now();
      const batches = epochBatches(this.benchmark.train.labels, cfg.training, new Rng(`${cfg.seed}/epoch/${epoch}`));
      let sumLoss = 0;
      let sumAcc = 0;
      const sumTerms: Record<string, number> = {};
      for (let s = 0; s < batches.length; s++) {
        if (this.opts.maxSteps !== undefined && st.globalStep >= this.opts.maxSteps) {
          throw new Error(`stopped after maxSteps=${this.opts.maxSteps} (${formatDuration((Date.now() - wall0) / 1000)})`);
        }
        const rec = this.step(batches[s], epoch, s);
        sumLoss += rec.loss;
        sumAcc += rec.accuracy;
        for (const [k, v] of Object.entries(rec.terms)) sumTerms[k] = (sumTerms[k] ?? 0) + v;
        st.lastLoss = rec.loss;
        speed = speed === 0 ? rec.imgPerSec : 0.9 * speed + 0.1 * rec.imgPerSec;
        rec.imgPerSec = speed;
        for (const cb of this.callbacks) cb.onStep?.(rec, this, { stepsInEpoch: batches.length });
      }
      const rec: EpochRecord = {
        type: 'epoch', epoch, globalStep: st.globalStep,
        lr: learningRate(epoch, cfg.optimizer),
        meanLoss: sumLoss / batches.length, meanAccuracy: sumAcc / batches.length,
        meanTerms: Object.fromEntries(Object.entries(sumTerms).map(([k, v]) => [k, v / batches.length])),
        margin: this.contrast && this.isTwoViewEpoch(epoch) ? this.contrast.margin : null,
        seconds: (Date.now() - e0) / 1000,
      };
      // Stop here, before non-finite weights are evaluated or checkpointed as "good".
      assertFiniteState(this, epoch, batches.length - 1);
      st.epochs.push(rec);
      st.epochsDone = epoch + 1;
      for (const cb of this.callbacks) cb.onEpoch?.(rec, this);
    }
    return this.finish(wall0);
  }

  /** The final evaluation (the last epoch's), artifacts.json and result.json. */
  private finish(wall0: number): RunResult {
    const lastEpoch = this.state.epochs[this.state.epochs.length - 1];
    const final = lastEpoch?.eval ?? this.evaluate();
    const fit = lastEpoch?.fit ?? this.evaluateFit(final.verification.accuracy);
    const outDir = this.opts.outDir;
    if (outDir) {
      // The final embeddings (evaluation is deterministic, so a resumed run recomputes the same ones).
      if (this.lastEmbeddings?.globalStep !== this.state.globalStep) this.evaluate();
      const { embeddings, dim } = this.lastEmbeddings as { embeddings: Float32Array; dim: number };
      writeJsonAtomic(path.join(outDir, 'artifacts.json'), runArtifacts(embeddings, dim, this.benchmark));
    }
    const result = runResult(this, final, fit, (Date.now() - wall0) / 1000);
    if (outDir) writeJsonAtomic(path.join(outDir, 'result.json'), result);
    return result;
  }

  /** Writes the checkpoint atomically (checkpointer.ts): weights, BN statistics, optimizer velocities, head/margin state. */
  save(): void {
    (this.checkpointer ?? new Checkpointer(this.checkpointPath())).save(this);
  }

  /** Frees every tensor of the model, head and optimizer. */
  dispose(): void {
    this.optimizer.dispose();
    this.model.dispose();
  }
}
