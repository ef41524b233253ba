/**
 * Step learning-rate schedule with optional linear warm-up (insightface / CoReFace reference:
 * LR x0.1 at the milestone epochs).
 *
 * @param epoch fractional epoch (completed epochs + fraction of the current one)
 */
export function learningRate(
  epoch: number,
  opts: { lr: number; milestones: number[]; gamma: number; warmupEpochs: number },
): number {
  let lr = opts.lr;
  for (const m of opts.milestones) if (epoch >= m) lr *= opts.gamma;
  if (opts.warmupEpochs > 0 && epoch < opts.warmupEpochs) lr *= Math.max(epoch / opts.warmupEpochs, 1e-3);
  return lr;
}
