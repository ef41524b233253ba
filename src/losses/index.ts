/**
 * Pair and batch losses (metric learning). Importing this module registers every loss; to add one, write
 * src/losses/<name>.ts that calls `registerPairLoss` and add one import line below.
 */
export * from './types';
export * from './registry';
// common.ts holds internal helpers (similarityMatrix, masks); not re-exported to keep the public names unique.
export * from './contrastive';
export * from './triplet';
export * from './npair';
export * from './ntxent';
export * from './supcon';
export * from './circle';
