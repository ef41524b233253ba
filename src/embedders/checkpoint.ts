/**
 * A model trained by `coreface train`, loaded from its run directory as an {@link Embedder}.
 *
 * The run's `checkpoint.ckpt` (src/train/checkpoint.ts) holds the resolved config and every weight. The model is
 * rebuilt the way `coreface eval --checkpoint` does it, through a {@link Trainer} of the stored config (so the
 * architecture, input shape and embedding size are exactly the trained ones), and the checkpoint's weights and
 * batch-norm statistics are loaded into it. Unlike a resumed Trainer this never writes to the run directory
 * (read-only runs and concurrent readers are fine). Building the Trainer builds the run's benchmark, as
 * `coreface eval --checkpoint` does; {@link CheckpointEmbedder.trainer} exposes it for evaluating on that benchmark.
 *
 * `embed` runs the model in inference mode (batch-norm running statistics, no dropout), exactly
 * `model.embed(x, { training: false })` as `Trainer.evaluate` uses, so flip-fused embeddings from
 * `embedImages` equal the Trainer's own evaluation embeddings.
 */
import * as path from 'path';
import { loadCheckpoint } from '../train/checkpoint';
import { Trainer } from '../train/trainer';
import { embedImageSet } from '../train/embed';
import type { FaceBenchmark, ImageSet } from '../data/types';
import { embedInBatches, Embedder } from './types';

/** Options of {@link loadCheckpointEmbedder}. */
export interface CheckpointEmbedderOptions {
  /** Images per forward pass. Default 256 (as `embedImageSet`). */
  batchSize?: number;
  /** A benchmark already built for this run's config (skips building it again). */
  benchmark?: FaceBenchmark;
}

interface StoredHeader {
  configHash?: unknown;
  config?: unknown;
  epochsDone?: unknown;
}

/** A trained coreface model as an {@link Embedder}. */
export class CheckpointEmbedder implements Embedder {
  readonly name: string;
  readonly inputSize: number;
  readonly channels: 1 | 3;
  readonly embeddingDim: number;
  private disposed = false;

  constructor(
    /** The run directory. */
    readonly runDir: string,
    /** The Trainer holding the loaded model (and the run's benchmark). */
    readonly trainer: Trainer,
    /** Epochs the checkpoint had completed. */
    readonly epochs: number,
    private readonly batchSize: number,
  ) {
    const [h, w, c] = trainer.model.inputShape;
    if (h !== w) throw new Error(`${runDir}: the model's input is ${h}x${w}; embedders take square images`);
    if (c !== 1 && c !== 3) throw new Error(`${runDir}: the model's input has ${c} channels; embedders take 1 or 3`);
    this.name = `checkpoint:${runDir}`;
    this.inputSize = h;
    this.channels = c;
    this.embeddingDim = trainer.model.embeddingDim;
  }

  async embed(images: Float32Array, count: number): Promise<Float32Array> {
    if (this.disposed) throw new Error(`${this.name}: used after dispose()`);
    return embedInBatches(this, images, count, this.batchSize, (x) => this.trainer.model.embed(x, { training: false }));
  }

  /**
   * Flip-fused, L2-normalised embeddings of every image of `set`, computed exactly as `Trainer.evaluate` computes
   * them (`embedImageSet` over the model in inference mode, in float32 on the backend), so a run evaluated on its
   * own benchmark gives the numbers of `coreface eval --checkpoint` bit for bit. (`embedImages` fuses in float64
   * instead: equal to ~1e-7.) `set` must have the model's input shape; nothing is resized here.
   * @throws RangeError when the images are not `inputSize x inputSize x channels`.
   */
  embedSetAsTrainer(set: ImageSet, opts: { onProgress?: (done: number, total: number) => void } = {}): { embeddings: Float32Array; dim: number; count: number } {
    if (this.disposed) throw new Error(`${this.name}: used after dispose()`);
    if (set.height !== this.inputSize || set.width !== this.inputSize || set.channels !== this.channels) {
      throw new RangeError(`${this.name}: images are ${set.height}x${set.width}x${set.channels}, the model takes ` +
        `${this.inputSize}x${this.inputSize}x${this.channels}`);
    }
    return embedImageSet((x) => this.trainer.model.embed(x, { training: false }), set, { batchSize: this.batchSize, onProgress: opts.onProgress });
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.trainer.dispose();
  }
}

/**
 * Loads the model of a `coreface train` run directory (needs `DIR/checkpoint.ckpt`; an initialised tfjs backend).
 * @throws Error naming the file when the checkpoint is missing or damaged, or does not match its own config.
 */
export async function loadCheckpointEmbedder(runDir: string, opts: CheckpointEmbedderOptions = {}): Promise<CheckpointEmbedder> {
  const batchSize = opts.batchSize ?? 256;
  if (!Number.isInteger(batchSize) || batchSize <= 0) throw new RangeError(`batchSize must be a positive integer, got ${batchSize}`);
  const file = path.join(runDir, 'checkpoint.ckpt');
  const ck = loadCheckpoint<StoredHeader>(file);
  if (ck.header.config === undefined) throw new Error(`${file}: checkpoint header has no config (not written by coreface train)`);
  const trainer = new Trainer(ck.header.config, { progress: false, benchmark: opts.benchmark });
  try {
    if (ck.header.configHash !== undefined && ck.header.configHash !== trainer.hash) {
      throw new Error(`${file}: its config hashes to ${trainer.hash} but the checkpoint says ${String(ck.header.configHash)} (written by another version?)`);
    }
    const params = ck.tensors
      .filter((t) => t.name.startsWith('param:') || t.name.startsWith('state:'))
      .map((t) => ({ name: t.name.slice(6), shape: t.shape, trainable: t.name.startsWith('param:'), data: t.data }));
    trainer.model.store.load(params);
  } catch (e) {
    trainer.dispose();
    throw e;
  }
  const epochs = typeof ck.header.epochsDone === 'number' ? ck.header.epochsDone : 0;
  return new CheckpointEmbedder(runDir, trainer, epochs, batchSize);
}
