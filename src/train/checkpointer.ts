/**
 * The run's checkpoint (checkpoint.ckpt, one file written atomically): model weights and BN statistics, SGD
 * velocities, head and contrastive-margin state, and the loop's counters and epoch records. Written after every
 * `training.checkpointEvery`-th epoch and after the last; restored by a trainer created with `resume`. Randomness is
 * a function of (seed, epoch, step), so these are all the state an exact resume needs.
 */
import type { TrainConfig } from '../config';
import { loadCheckpoint, saveCheckpoint, TensorEntry } from './checkpoint';
import type { TrainerCallback } from './callbacks';
import type { EpochRecord } from './records';
import type { Trainer } from './trainer';

/** The checkpoint's JSON header. */
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

/** Whether a checkpoint is written after epoch `epoch` (0-based): every `checkpointEvery` epochs and after the last. */
export function checkpointDue(training: TrainConfig['training'], epoch: number): boolean {
  return epoch === training.epochs - 1 || (training.checkpointEvery > 0 && (epoch + 1) % training.checkpointEvery === 0);
}

/** Saves and restores a trainer's checkpoint file (see the file comment). */
export class Checkpointer implements TrainerCallback {
  constructor(readonly file: string) {}

  onEpoch(rec: EpochRecord, t: Trainer): void {
    if (checkpointDue(t.config.training, rec.epoch)) this.save(t);
  }

  /** Writes the checkpoint atomically: weights, BN statistics, optimizer velocities, head/margin state, counters. */
  save(t: Trainer): void {
    const tensors: TensorEntry[] = [];
    for (const e of t.model.store.snapshot()) {
      tensors.push({ name: `${e.trainable ? 'param' : 'state'}:${e.name}`, shape: e.shape, data: Float32Array.from(e.data) });
    }
    for (const [n, v] of t.optimizer.state()) {
      tensors.push({ name: `sgd:${n}`, shape: v.shape, data: v.dataSync() as Float32Array });
    }
    const st = t.state;
    const header: CheckpointHeader = {
      configHash: t.hash,
      config: t.config,
      epochsDone: st.epochsDone,
      globalStep: st.globalStep,
      headState: t.head.getState(),
      contrastState: t.contrast ? t.contrast.getState() : null,
      epochs: st.epochs,
      trainSeconds: st.trainSeconds,
      lastLoss: Number.isFinite(st.lastLoss) ? st.lastLoss : null,
    };
    saveCheckpoint(this.file, { header, tensors });
  }

  /** Loads the checkpoint into the trainer; throws when it was written by another config. */
  restore(t: Trainer): void {
    const ck = loadCheckpoint<CheckpointHeader>(this.file);
    if (ck.header.configHash !== t.hash) {
      throw new Error(`${this.file} was written by a different config (hash ${ck.header.configHash}, this run ${t.hash}); use another output directory or drop --resume`);
    }
    const params = ck.tensors
      .filter((e) => e.name.startsWith('param:') || e.name.startsWith('state:'))
      .map((e) => ({ name: e.name.slice(6), shape: e.shape, trainable: e.name.startsWith('param:'), data: e.data }));
    t.model.store.load(params);
    t.optimizer.setState(
      ck.tensors.filter((e) => e.name.startsWith('sgd:')).map((e) => ({ name: e.name.slice(4), shape: e.shape, data: e.data })),
    );
    t.head.setState(ck.header.headState);
    if (t.contrast && ck.header.contrastState) t.contrast.setState(ck.header.contrastState);
    const st = t.state;
    st.epochsDone = ck.header.epochsDone;
    st.globalStep = ck.header.globalStep;
    st.epochs = ck.header.epochs;
    st.trainSeconds = ck.header.trainSeconds;
    st.lastLoss = typeof ck.header.lastLoss === 'number' ? ck.header.lastLoss : NaN;
  }
}
