/**
 * Synthetic data: `synthfaces`, the procedural face benchmark. render.ts draws identities and per-image nuisances and renders them;
 * synthfaces.ts builds and registers the benchmark from them.
 */
export * from './render';
export * from './synthfaces';
