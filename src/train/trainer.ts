import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { TrainConfig, resolveTrainConfig, configHash } from '../config';
import { createDataset } from '../data';
import { readImageInto } from '../data/types';
import type { FaceBenchmark } from '../data/types';
import { FaceModel } from '../models';
import { createHead } from '../heads';
import type { MarginHead } from '../heads';
import { CoReFaceContrastiveLoss, coreFaceObjective } from '../coreface';
import { createPairLoss } from '../losses';
import type { PairLoss } from '../losses';
import { evaluateEmbeddings } from '../eval';
import type { EvalReport } from '../eval';
import { Rng } from '../util/rng';
import { writeFileAtomic, writeJsonAtomic } from '../util/atomic';
import { PACKAGE } from '../util/package';
import { backendInfo } from '../backends';
import { learningRate } from './schedule';
import { epochBatches } from './sampler';
import { Sgd } from './sgd';
import { saveCheckpoint, loadCheckpoint, TensorEntry } from './checkpoint';
import { embedImageSet } from './embed';
import { runArtifacts } from './artifacts';
import { ProgressBar, formatDuration } from '../util/progress';
import { collapseWarning } from './collapse';
import { hasPositivePair, pairObjective } from './pair-objective';
import { fitReport } from './fit';
import type { FitReport } from './fit';

/** Mirrors left-right the h x w x c image at `offset` of `buf`, in place. */
function flipInPlace(buf: Float32Array, offset: number, h: number, w: number, c: number): void {
  for (let r = 0; r < h; r++) {
    const row = offset + r * w * c;
    for (let col = 0; col < w >> 1; col++) {
      const a = row + col * c, b = row + (w - 1 - col) * c;
      for (let ch = 0; ch < c; ch++) {
        const t = buf[a + ch];
        buf[a + ch] = buf[b + ch];
        buf[b + ch] = t;
      }
    }
  }
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

/** Thrown when the loss or the gradients stop being finite. */
export class NumericalError extends Error {
  constructor(message: string, readonly record: StepRecord) {
    super(message);
    this.name = 'NumericalError';
  }
}

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

interface CheckpointHeader {
  configHash: string;
  config: TrainConfig;
  epochsDone: number;
  globalStep: number;
  headState: Record<string, number>;
  contrastState: Record<string, number> | null;
  epochs: EpochRecord[];
  trainSeconds: number;
  /** Loss of the last step before the checkpoint (null in JSON when NaN; absent in older checkpoints). */
  lastLoss?: number | null;
}

const PKG_VERSION = PACKAGE.version;

/**
 * Trains one model on one benchmark as configured: SGD with momentum and weight decay, step LR with warm-up,
 * backbone gradient clipping, an optional CoReFace phase (two dropout views + contrastive term from
 * `coreface.startEpoch`), per-epoch evaluation, JSONL metrics and atomic checkpoints with exact resume.
 * Every random choice is a function of (seed, epoch, step) (no hidden RNG state: the checkpoint's step count
 * is the RNG state), so the same seed on the same backend gives the same numbers, with or without an
 * interruption.
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
  private epochsDone = 0;
  private globalStep = 0;
  private trainSeconds = 0;
  /** Loss of the last step (kept in checkpoints, so a run resumed after its last epoch reports the same finalLoss). */
  private lastLoss = NaN;
  private epochs: EpochRecord[] = [];
  /** Trainable variables (model + head) by store name, and the store name of each tfjs variable name. */
  private readonly vars: Map<string, tf.Variable>;
  private readonly storeNameOf = new Map<string, string>();
  /** Test embeddings of the last evaluation (for artifacts.json). */
  private lastEmbeddings: { embeddings: Float32Array; dim: number; globalStep: number } | null = null;
  /** Whether the "batch without a positive pair" warning was written (once per trainer). */
  private warnedNoPositives = false;
  /** Whether the collapse warning was written (once per trainer). */
  private warnedCollapse = false;

  constructor(config: unknown, readonly opts: TrainerOptions = {}) {
    this.config = resolveTrainConfig(config);
    this.hash = configHash(this.config);
    const cfg = this.config;
    this.benchmark = opts.benchmark ?? createDataset(cfg.dataset.name, cfg.dataset.options);
    const tr = this.benchmark.train;
    if (tr.count === 0) throw new Error(`dataset ${this.benchmark.name} has an empty training set`);
    for (let i = 0; i < tr.count; i++) {
      const l = tr.labels[i];
      if (!Number.isInteger(l) || l < 0 || l >= this.benchmark.numClasses) {
        throw new Error(`dataset ${this.benchmark.name}: training label ${l} at index ${i} is outside [0, ${this.benchmark.numClasses})`);
      }
    }
    if (tr.count < cfg.training.batchSize) {
      throw new Error(`dataset ${this.benchmark.name} has ${tr.count} training images, fewer than one batch (config.training.batchSize = ${cfg.training.batchSize})`);
    }
    this.stepsPerEpoch = Math.floor(tr.count / cfg.training.batchSize);
    this.model = new FaceModel({
      backbone: cfg.model.backbone,
      backboneOptions: cfg.model.backboneOptions,
      inputShape: [tr.height, tr.width, tr.channels],
      embeddingDim: cfg.model.embeddingDim,
      seed: cfg.seed,
    });
    this.head = createHead(cfg.head.name, {
      ...cfg.head.options,
      store: this.model.store,
      numClasses: this.benchmark.numClasses,
      embeddingDim: cfg.model.embeddingDim,
      rng: new Rng(`${cfg.seed}/head`),
    });
    const c = cfg.coreface;
    this.contrast = c.enabled
      ? new CoReFaceContrastiveLoss({ scale: c.scale, batchWeight: c.batchWeight, protocol: c.protocol, mask: c.mask, margin: c.margin })
      : null;
    this.pairLoss = cfg.pairLoss.name === 'none' ? null : createPairLoss(cfg.pairLoss.name, cfg.pairLoss.options);
    // The set of trainable variables is fixed from here on (restore assigns values in place).
    this.vars = this.model.store.trainable();
    for (const [n, v] of this.vars) this.storeNameOf.set(v.name, n);
    this.optimizer = new Sgd({
      momentum: cfg.optimizer.momentum,
      weightDecay: cfg.optimizer.weightDecay,
      clipNorm: cfg.optimizer.clipNorm,
    });
    if (opts.resume && opts.outDir && fs.existsSync(this.checkpointPath())) this.restore();
  }

  /** Path of the run's metrics.jsonl, or null without outDir. */
  private metricsPath(): string | null {
    return this.opts.outDir ? path.join(this.opts.outDir, 'metrics.jsonl') : null;
  }

  /** Path of the run's checkpoint file (only with outDir). */
  checkpointPath(): string {
    if (!this.opts.outDir) throw new Error('no outDir: this trainer writes no checkpoint');
    return path.join(this.opts.outDir, 'checkpoint.ckpt');
  }

  /** Epochs completed so far (after a resume: those restored). */
  get completedEpochs(): number {
    return this.epochsDone;
  }

  /** Whether the given epoch trains with two views and the contrastive term. */
  isTwoViewEpoch(epoch: number): boolean {
    return this.contrast !== null && epoch >= this.config.coreface.startEpoch;
  }

  /** Dropout probability used in the given epoch. */
  dropoutAt(epoch: number): number {
    return this.isTwoViewEpoch(epoch) ? this.config.dropout.after : this.config.dropout.before;
  }

  /** Gathers a training batch (with the seeded random flips) as tensors. */
  private batchTensors(idx: Int32Array, rng: Rng): { x: tf.Tensor4D; y: tf.Tensor1D } {
    const set = this.benchmark.train;
    const { height: h, width: w, channels: c } = set;
    const pix = h * w * c;
    const buf = new Float32Array(idx.length * pix);
    const labels = new Int32Array(idx.length);
    for (let i = 0; i < idx.length; i++) {
      // in memory: a copy; a streamed set (large user datasets) decodes the image from its source here
      readImageInto(set, idx[i], buf, i * pix);
      labels[i] = set.labels[idx[i]];
      if (this.config.training.flip && rng.next() < 0.5) flipInPlace(buf, i * pix, h, w, c);
    }
    return { x: tf.tensor4d(buf, [idx.length, h, w, c]), y: tf.tensor1d(labels, 'int32') };
  }

  /** Runs one optimisation step on the given batch indices; returns its record. */
  step(idx: Int32Array, epoch: number, stepInEpoch: number): StepRecord {
    const cfg = this.config;
    const t0 = Date.now();
    const stepRng = new Rng(`${cfg.seed}/step/${this.globalStep}`);
    const lr = learningRate(epoch + stepInEpoch / this.stepsPerEpoch, cfg.optimizer);
    const twoView = this.isTwoViewEpoch(epoch);
    const dropout = this.dropoutAt(epoch);
    const { x, y } = this.batchTensors(idx, stepRng);
    const seeds: [number, number] = [stepRng.tfSeed(), stepRng.tfSeed()];
    if (this.pairLoss) this.checkPositives(idx, epoch, stepInEpoch);
    // headWeight scales the head's CE (and only it: not CoReFace's contrastive terms); 1 without a pair loss.
    const headWeight = this.pairLoss ? cfg.pairLoss.headWeight : 1;
    let termT: Record<string, tf.Scalar> = {};
    let accT: tf.Scalar | null = null;
    const { value, grads } = tf.variableGrads(() => {
      let total: tf.Scalar;
      let logits: tf.Tensor2D;
      let pairOn: tf.Tensor2D; // the embeddings the pair loss sees: view 1 with CoReFace
      if (twoView) {
        const [x1, x2] = this.model.twoViewEmbed(x, { dropout, seeds });
        const c = cfg.coreface;
        const out = coreFaceObjective(this.head, this.contrast, x1, x2, y, {
          w1: headWeight * c.w1, w2: headWeight * c.w2, wC: c.wC, wC2: c.wC2, referenceQuirk: c.referenceQuirk,
        });
        total = out.total;
        logits = out.logits1;
        termT = { ce1: out.terms.ce1, ce2: out.terms.ce2, con12: out.terms.con12, con21: out.terms.con21 };
        pairOn = x1;
      } else {
        const e = this.model.embed(x, { training: true, dropout, seed: seeds[0] });
        const out = this.head.forward(e, y);
        total = out.loss;
        logits = out.logits;
        termT = { ce: out.loss };
        pairOn = e;
      }
      if (this.pairLoss) {
        const p = pairObjective(this.pairLoss, total, pairOn, y, { weight: cfg.pairLoss.weight, headWeight: twoView ? 1 : headWeight });
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
      type: 'step', epoch, step: stepInEpoch, globalStep: this.globalStep, lr, loss, terms, accuracy,
      margin: this.contrast && twoView ? this.contrast.margin : null, views: twoView ? 2 : 1, dropout,
      gradNorm: NaN, imgPerSec: 0,
    };
    try {
      if (!Number.isFinite(loss)) throw this.numericalError('loss', record);
      const info = this.optimizer.apply(this.vars, byName, lr);
      record.gradNorm = info.totalNorm;
      if (!Number.isFinite(info.totalNorm)) throw this.numericalError('gradient norm', record);
    } finally {
      tf.dispose([x, y, value, ...Object.values(grads), ...Object.values(termT)]);
      if (accT) (accT as tf.Scalar).dispose();
    }
    this.globalStep++;
    const dt = (Date.now() - t0) / 1000;
    this.trainSeconds += dt;
    record.imgPerSec = idx.length / Math.max(dt, 1e-6);
    return record;
  }

  /**
   * Warns once (stderr, and a `warning` line in metrics.jsonl) when the head's training accuracy sits at chance while
   * its loss falls: ArcFace's degenerate solution (src/train/collapse.ts). Not for runs whose head is unweighted.
   */
  private checkCollapse(): void {
    const cfg = this.config;
    if (this.warnedCollapse || (cfg.pairLoss.name !== 'none' && cfg.pairLoss.headWeight === 0)) return;
    const msg = collapseWarning(this.epochs, { numClasses: this.benchmark.numClasses, warmupEpochs: cfg.optimizer.warmupEpochs });
    if (!msg) return;
    this.warnedCollapse = true;
    process.stderr.write(`\nwarning: ${cfg.name}: ${msg}\n`);
    const metricsPath = this.metricsPath();
    if (metricsPath) fs.appendFileSync(metricsPath, JSON.stringify({ type: 'warning', epoch: this.epochsDone - 1, message: msg }) + '\n');
  }

  /** Warns once (stderr) when a batch holds no two images of one identity: pair losses get no positive pair. */
  private checkPositives(idx: Int32Array, epoch: number, stepInEpoch: number): void {
    if (this.warnedNoPositives || hasPositivePair(Array.from(idx, (i) => this.benchmark.train.labels[i]))) return;
    this.warnedNoPositives = true;
    const t = this.config.training;
    process.stderr.write(
      `warning: ${this.config.name}: pairLoss '${this.config.pairLoss.name}': batch ${stepInEpoch} of epoch ${epoch} has no two images of one identity ` +
        `(no positive pair; training.sampler '${t.sampler}', samplesPerIdentity ${t.samplesPerIdentity}). ` +
        `Use training.sampler 'identity-balanced' with samplesPerIdentity >= 2 (warned once per trainer).\n`,
    );
  }

  /**
   * Throws a NumericalError when a weight, a BN statistic or an SGD velocity is no longer finite (checked once
   * per epoch, before its evaluation and checkpoint: one dataSync of the parameters).
   */
  private assertFiniteState(epoch: number, step: number): void {
    const bad: string[] = [];
    for (const e of this.model.store.snapshot()) if (!e.data.every(Number.isFinite)) bad.push(e.name);
    for (const [n, v] of this.optimizer.state()) if (!(v.dataSync() as Float32Array).every(Number.isFinite)) bad.push(`sgd:${n}`);
    if (bad.length === 0) return;
    const rec: StepRecord = {
      type: 'step', epoch, step, globalStep: this.globalStep - 1, lr: learningRate(epoch + step / this.stepsPerEpoch, this.config.optimizer),
      loss: this.lastLoss, terms: {}, accuracy: NaN, margin: null, views: this.isTwoViewEpoch(epoch) ? 2 : 1, dropout: this.dropoutAt(epoch),
      gradNorm: NaN, imgPerSec: 0,
    };
    throw this.numericalError(`weights (${bad.slice(0, 3).join(', ')}${bad.length > 3 ? `, +${bad.length - 3} more` : ''}) after the update`, rec);
  }

  private numericalError(what: string, rec: StepRecord): NumericalError {
    const last = this.opts.outDir && fs.existsSync(this.checkpointPath()) ? this.checkpointPath() : 'none written yet';
    return new NumericalError(
      `non-finite ${what} at epoch ${rec.epoch} step ${rec.step} (global step ${rec.globalStep}): ` +
        `loss ${rec.loss}, terms ${JSON.stringify(rec.terms)}, lr ${rec.lr}. ` +
        `Hint: lower optimizer.lr, add optimizer.warmupEpochs, lower the head's scale/margin, or check the data for NaN. ` +
        `Last good checkpoint: ${last}`,
      rec,
    );
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
    this.lastEmbeddings = { embeddings, dim, globalStep: this.globalStep };
    return evaluateEmbeddings(embeddings, b.test.count, dim, b.test.labels, b.pairs, b.identification);
  }

  /** Trains every remaining epoch, evaluating and checkpointing as configured; returns the result. */
  run(): RunResult {
    const cfg = this.config;
    const wall0 = Date.now();
    const outDir = this.opts.outDir;
    const metricsPath = this.metricsPath();
    if (outDir) {
      fs.mkdirSync(outDir, { recursive: true });
      writeJsonAtomic(path.join(outDir, 'config.json'), cfg);
      // A run that starts from scratch owns metrics.jsonl: lines left by an attempt killed before its first
      // checkpoint (or by an earlier run without --resume) would otherwise be duplicated.
      if (metricsPath && this.globalStep === 0) fs.writeFileSync(metricsPath, '');
    }
    const totalSteps = cfg.training.epochs * this.stepsPerEpoch;
    const bar = new ProgressBar(totalSteps, this.opts.label ?? cfg.name, { enabled: this.opts.progress !== false });
    let speed = 0;
    for (let epoch = this.epochsDone; epoch < cfg.training.epochs; epoch++) {
      const e0 = Date.now();
      const batches = epochBatches(this.benchmark.train.labels, cfg.training, new Rng(`${cfg.seed}/epoch/${epoch}`));
      let sumLoss = 0;
      let sumAcc = 0;
      for (let s = 0; s < batches.length; s++) {
        if (this.opts.maxSteps !== undefined && this.globalStep >= this.opts.maxSteps) return this.partialResult(wall0);
        const rec = this.step(batches[s], epoch, s);
        sumLoss += rec.loss;
        sumAcc += rec.accuracy;
        this.lastLoss = rec.loss;
        speed = speed === 0 ? rec.imgPerSec : 0.9 * speed + 0.1 * rec.imgPerSec;
        rec.imgPerSec = speed;
        this.opts.onStep?.(rec);
        if (metricsPath && (rec.globalStep % cfg.training.logEvery === 0 || s === batches.length - 1)) {
          fs.appendFileSync(metricsPath, JSON.stringify(rec) + '\n');
        }
        const fields: Record<string, string | number> = { ep: `${epoch + 1}/${cfg.training.epochs}`, loss: rec.loss, acc: rec.accuracy };
        if (rec.margin !== null) fields.m = rec.margin;
        fields['img/s'] = speed;
        bar.update(this.globalStep, fields);
      }
      const isLast = epoch === cfg.training.epochs - 1;
      const evalDue = isLast || (cfg.training.evalEvery > 0 && (epoch + 1) % cfg.training.evalEvery === 0);
      const rec: EpochRecord = {
        type: 'epoch', epoch, globalStep: this.globalStep,
        lr: learningRate(epoch, cfg.optimizer),
        meanLoss: sumLoss / batches.length, meanAccuracy: sumAcc / batches.length,
        seconds: (Date.now() - e0) / 1000,
      };
      // NaN/Inf weights can pass the step guards (an update that overflows after a finite gradient, or a head
      // whose clipping hides NaN logits): stop here, before they are evaluated or checkpointed as "good".
      this.assertFiniteState(epoch, batches.length - 1);
      if (evalDue) {
        rec.eval = this.evaluate();
        rec.fit = this.evaluateFit(rec.eval.verification.accuracy);
        if (this.opts.progress !== false) process.stderr.write(`${this.opts.label ?? cfg.name}: ${evalLine(rec)}\n`);
      }
      this.epochs.push(rec);
      this.epochsDone = epoch + 1;
      this.checkCollapse();
      if (metricsPath) fs.appendFileSync(metricsPath, JSON.stringify(rec) + '\n');
      this.opts.onEpoch?.(rec);
      const ckptDue = isLast || (cfg.training.checkpointEvery > 0 && (epoch + 1) % cfg.training.checkpointEvery === 0);
      if (outDir && ckptDue) this.save();
    }
    const lastEpoch = this.epochs[this.epochs.length - 1];
    const final = lastEpoch?.eval ?? this.evaluate();
    const fit = lastEpoch?.fit ?? this.evaluateFit(final.verification.accuracy);
    const bi = backendInfo();
    if (outDir) {
      // The final embeddings (evaluation is deterministic, so a resumed run recomputes the same ones).
      if (this.lastEmbeddings?.globalStep !== this.globalStep) this.evaluate();
      const { embeddings, dim } = this.lastEmbeddings as { embeddings: Float32Array; dim: number };
      writeJsonAtomic(path.join(outDir, 'artifacts.json'), runArtifacts(embeddings, dim, this.benchmark));
    }
    const result: RunResult = {
      name: cfg.name,
      configHash: this.hash,
      config: cfg,
      seed: cfg.seed,
      backend: bi?.name ?? tf.getBackend(),
      versions: {
        'coreface-lab': PKG_VERSION, tfjs: tf.version.tfjs, node: process.version,
        // The backend package's own version and build (SIMD, threads): numbers are exact only on the same one.
        ...(bi ? { [`backend:${bi.name}`]: `${bi.version} (${bi.note})` } : {}),
      },
      steps: this.globalStep,
      wallSeconds: (Date.now() - wall0) / 1000,
      trainSeconds: this.trainSeconds,
      imgPerSec: (this.globalStep * cfg.training.batchSize) / Math.max(this.trainSeconds, 1e-9),
      finalLoss: this.lastLoss,
      final,
      fit,
      epochs: this.epochs,
    };
    if (outDir) writeJsonAtomic(path.join(outDir, 'result.json'), result);
    return result;
  }

  private partialResult(wall0: number): never {
    throw new Error(`stopped after maxSteps=${this.opts.maxSteps} (${formatDuration((Date.now() - wall0) / 1000)})`);
  }

  /** Writes the checkpoint atomically: weights, BN statistics, optimizer velocities, head/margin state. */
  save(): void {
    const tensors: TensorEntry[] = [];
    for (const e of this.model.store.snapshot()) {
      tensors.push({ name: `${e.trainable ? 'param' : 'state'}:${e.name}`, shape: e.shape, data: Float32Array.from(e.data) });
    }
    for (const [n, v] of this.optimizer.state()) {
      tensors.push({ name: `sgd:${n}`, shape: v.shape, data: v.dataSync() as Float32Array });
    }
    const header: CheckpointHeader = {
      configHash: this.hash,
      config: this.config,
      epochsDone: this.epochsDone,
      globalStep: this.globalStep,
      headState: this.head.getState(),
      contrastState: this.contrast ? this.contrast.getState() : null,
      epochs: this.epochs,
      trainSeconds: this.trainSeconds,
      lastLoss: Number.isFinite(this.lastLoss) ? this.lastLoss : null,
    };
    saveCheckpoint(this.checkpointPath(), { header, tensors });
  }

  private restore(): void {
    const file = this.checkpointPath();
    const ck = loadCheckpoint<CheckpointHeader>(file);
    if (ck.header.configHash !== this.hash) {
      throw new Error(`${file} was written by a different config (hash ${ck.header.configHash}, this run ${this.hash}); use another output directory or drop --resume`);
    }
    const params = ck.tensors
      .filter((t) => t.name.startsWith('param:') || t.name.startsWith('state:'))
      .map((t) => ({ name: t.name.slice(6), shape: t.shape, trainable: t.name.startsWith('param:'), data: t.data }));
    this.model.store.load(params);
    this.optimizer.setState(
      ck.tensors.filter((t) => t.name.startsWith('sgd:')).map((t) => ({ name: t.name.slice(4), shape: t.shape, data: t.data })),
    );
    this.head.setState(ck.header.headState);
    if (this.contrast && ck.header.contrastState) this.contrast.setState(ck.header.contrastState);
    this.epochsDone = ck.header.epochsDone;
    this.globalStep = ck.header.globalStep;
    this.epochs = ck.header.epochs;
    this.trainSeconds = ck.header.trainSeconds;
    this.lastLoss = typeof ck.header.lastLoss === 'number' ? ck.header.lastLoss : NaN;
    // Drop metric lines written after the checkpoint (they will be written again).
    const metricsPath = this.metricsPath() as string;
    if (fs.existsSync(metricsPath)) {
      const keep = fs.readFileSync(metricsPath, 'utf8').split('\n').filter((line) => {
        if (!line.trim()) return false;
        try {
          const r = JSON.parse(line) as { type: string; globalStep: number; epoch: number };
          const keepLine = r.type === 'step' ? r.globalStep < this.globalStep : r.epoch < this.epochsDone;
          if (keepLine && r.type === 'warning') this.warnedCollapse = true;
          return keepLine;
        } catch {
          return false;
        }
      });
      writeFileAtomic(metricsPath, keep.map((l) => l + '\n').join(''));
    }
  }

  /** Frees every tensor of the model, head and optimizer. */
  dispose(): void {
    this.optimizer.dispose();
    this.model.dispose();
  }
}
