/**
 * Synthetic data: `synthfaces`, the procedural face benchmark. identity.ts draws identities and per-image
 * nuisances, render.ts renders them (with painter.ts and layers.ts), synthfaces.ts builds and registers the
 * benchmark.
 */
export {
  DEFAULT_NUISANCE_PARAMS, MAX_MOLES, TEXTURE_COMPONENTS, effectiveNuisance, freezeIdentity, identityVector, sampleIdentity, sampleNuisance,
} from './identity';
export type { NuisanceParams, NuisanceSample, RGB, SynthIdentity } from './identity';
export * from './render';
export { VIEW_HALF_EXTENT } from './painter';
export * from './synthfaces';
