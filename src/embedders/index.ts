/**
 * Face embedders: models trained here (run directories) and pretrained reference models from npm (faceres,
 * face-api; loaded lazily, only when used), behind one {@link Embedder} interface, plus evaluation of any
 * embedder on a verification set (verification.ts) or on a registered dataset's test split with the training runs'
 * open-set protocol (benchmark.ts). Importing this module registers `faceres` and `face-api` (descriptions only;
 * their packages are not loaded).
 */
export * from './types';
export * from './registry';
export * from './checkpoint';
export * from './faceres';
export * from './face-api';
export * from './verification';
export * from './benchmark';
export * from './load';
