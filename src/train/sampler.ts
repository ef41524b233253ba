import { Rng } from '../util/rng';

/** Options of `epochBatches`. */
export interface SamplerOptions {
  /** Batch size; the last incomplete batch is dropped. */
  batchSize: number;
  /** 'random': a permutation per epoch; 'identity-balanced': k images of each of batchSize/k identities. */
  sampler: 'random' | 'identity-balanced';
  /** k for the identity-balanced sampler (default 2). */
  samplesPerIdentity: number;
}

/**
 * The batches (indices into the training set) of one epoch, deterministic from `rng`. The identity-balanced
 * sampler gives the supervised contrastive mask work: every batch holds k images of each identity it contains.
 * An epoch of it has as many batches as the random sampler (floor(n / batchSize)).
 */
export function epochBatches(labels: Int32Array, opts: SamplerOptions, rng: Rng): Int32Array[] {
  const n = labels.length;
  const { batchSize } = opts;
  if (n < batchSize) throw new Error(`training set has ${n} images, fewer than one batch of ${batchSize}`);
  const numBatches = Math.floor(n / batchSize);
  const batches: Int32Array[] = [];
  if (opts.sampler === 'random') {
    const perm = Int32Array.from({ length: n }, (_, i) => i);
    rng.shuffle(perm);
    for (let b = 0; b < numBatches; b++) batches.push(perm.slice(b * batchSize, (b + 1) * batchSize));
    return batches;
  }
  const k = opts.samplesPerIdentity;
  const byId = new Map<number, number[]>();
  for (let i = 0; i < n; i++) {
    const list = byId.get(labels[i]);
    if (list) list.push(i);
    else byId.set(labels[i], [i]);
  }
  const ids = [...byId.keys()].filter((id) => (byId.get(id) as number[]).length >= k);
  const perBatch = batchSize / k;
  if (ids.length < perBatch) {
    throw new Error(`identity-balanced sampler needs ${perBatch} identities with >= ${k} images, found ${ids.length}`);
  }
  const cursor = new Map<number, number>();
  for (const id of ids) rng.shuffle(byId.get(id) as number[]);
  let order: number[] = [];
  for (let b = 0; b < numBatches; b++) {
    const batch = new Int32Array(batchSize);
    for (let j = 0; j < perBatch; j++) {
      if (order.length === 0) order = rng.shuffle(ids.slice()) as number[];
      const id = order.pop() as number;
      const imgs = byId.get(id) as number[];
      let c = cursor.get(id) ?? 0;
      for (let t = 0; t < k; t++) {
        if (c >= imgs.length) {
          rng.shuffle(imgs);
          c = 0;
        }
        batch[j * k + t] = imgs[c++];
      }
      cursor.set(id, c);
    }
    batches.push(batch);
  }
  return batches;
}
