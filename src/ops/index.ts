/**
 * Shared building blocks below heads/, losses/ and coreface/: option checks, label checks, generic tensor
 * functions and the declaration of the CoReFace loss options (also read by the config schema and the fused kernels).
 */
export * from './checks';
export * from './labels';
export * from './tensor';
export * from './coreface-options';
