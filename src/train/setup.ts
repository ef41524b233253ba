/**
 * What a training run is made of, built from its resolved config: the benchmark (checked: labels in range, at least
 * one batch), the model, the head, the contrastive loss, the pair loss and the optimizer. The construction order is
 * fixed (it decides parameter names, their order in checkpoints, and the random streams).
 */
import { createDataset } from '../data';
import type { FaceBenchmark } from '../data/types';
import type { TrainConfig } from '../config';
import { FaceModel } from '../models';
import { createHead } from '../heads';
import type { MarginHead } from '../heads';
import { CoReFaceContrastiveLoss } from '../coreface';
import { createPairLoss } from '../losses';
import type { PairLoss } from '../losses';
import { Rng } from '../util/rng';
import { Sgd } from './sgd';

/** The parts of a run (see the file comment). */
export interface TrainingParts {
  benchmark: FaceBenchmark;
  /** floor(training images / batch size). */
  stepsPerEpoch: number;
  model: FaceModel;
  head: MarginHead;
  /** The CoReFace contrastive loss, null when `coreface.enabled` is false. */
  contrast: CoReFaceContrastiveLoss | null;
  /** The configured pair loss, null for 'none'. */
  pairLoss: PairLoss | null;
  optimizer: Sgd;
}

/** Builds the parts of a run from `cfg`, on `benchmark` when given (else the one `cfg.dataset` names). */
export function buildTrainingParts(cfg: TrainConfig, benchmark?: FaceBenchmark): TrainingParts {
  const bench = benchmark ?? createDataset(cfg.dataset.name, cfg.dataset.options);
  const tr = bench.train;
  if (tr.count === 0) throw new Error(`dataset ${bench.name} has an empty training set`);
  for (let i = 0; i < tr.count; i++) {
    const l = tr.labels[i];
    if (!Number.isInteger(l) || l < 0 || l >= bench.numClasses) {
      throw new Error(`dataset ${bench.name}: training label ${l} at index ${i} is outside [0, ${bench.numClasses})`);
    }
  }
  if (tr.count < cfg.training.batchSize) {
    throw new Error(`dataset ${bench.name} has ${tr.count} training images, fewer than one batch (config.training.batchSize = ${cfg.training.batchSize})`);
  }
  const model = new FaceModel({
    backbone: cfg.model.backbone,
    backboneOptions: cfg.model.backboneOptions,
    inputShape: [tr.height, tr.width, tr.channels],
    embeddingDim: cfg.model.embeddingDim,
    seed: cfg.seed,
  });
  const head = createHead(cfg.head.name, {
    ...cfg.head.options,
    store: model.store,
    numClasses: bench.numClasses,
    embeddingDim: cfg.model.embeddingDim,
    rng: new Rng(`${cfg.seed}/head`),
  });
  const c = cfg.coreface;
  const contrast = c.enabled
    ? new CoReFaceContrastiveLoss({ scale: c.scale, batchWeight: c.batchWeight, protocol: c.protocol, mask: c.mask, margin: c.margin })
    : null;
  const pairLoss = cfg.pairLoss.name === 'none' ? null : createPairLoss(cfg.pairLoss.name, cfg.pairLoss.options);
  const optimizer = new Sgd({ momentum: cfg.optimizer.momentum, weightDecay: cfg.optimizer.weightDecay, clipNorm: cfg.optimizer.clipNorm });
  return { benchmark: bench, stepsPerEpoch: Math.floor(tr.count / cfg.training.batchSize), model, head, contrast, pairLoss, optimizer };
}
