/** Benchmarks: contracts, registry, built-in datasets (each entry file registers itself on import). */
export * from './types';
export * from './errors';
export * from './registry';
export * from './splits';
export * from './synthetic';
export * from './realbench';
export * from './readers';
export * from './user';
