/**
 * `synthfaces`: the built-in procedural face benchmark. Identities are continuous parameter vectors (face
 * outline, eyes, brows, nose, mouth, skin, hair, beard, skin texture, moles; see `sampleIdentity`); every
 * image adds per-image nuisance (pose, scale, shift, illumination, expression, occluders, clutter, blur,
 * noise; see `NuisanceParams`) whose strengths all scale with `nuisance`. Everything is a pure function of
 * `seed`: train identities, test identities, images, pairs and the identification split come from separate
 * forks of the seed, so train and test identities are disjoint draws and, e.g., changing the pair count does
 * not change the images.
 *
 * Layout: images are identity-major (all images of identity 0, then identity 1, ...); train labels are
 * 0..trainIdentities-1, test labels 0..testIdentities-1.
 */
import { Rng } from '../../util/rng';
import { registerDataset } from '../registry';
import { checkHeldOutOption, defaultHeldOutPerIdentity, makeHeldOutSet, makeIdentificationSplit, makeVerificationPairs, minIdentitiesPerFold } from '../splits';
import type { FaceBenchmark, ImageSet } from '../types';
import {
  DEFAULT_NUISANCE_PARAMS, effectiveNuisance, sampleIdentity, sampleNuisance,
  type NuisanceParams, type SynthIdentity,
} from './identity';
import { renderInto } from './render';
import { channelsOpt, checkOptionNames, fmt, intOpt, numOpt } from '../options';
import { DatasetError } from '../errors';

export const DEFAULT_TRAIN_IDENTITIES = 500;
export const DEFAULT_TEST_IDENTITIES = 300;
export const DEFAULT_IMAGES_PER_IDENTITY = 20;
export const DEFAULT_TEST_IMAGES_PER_IDENTITY = 10;
export const DEFAULT_RESOLUTION = 32;
export const DEFAULT_CHANNELS = 3;
export const DEFAULT_SEED = 0;
export const DEFAULT_NUISANCE = 1.0;
export const DEFAULT_UNKNOWN_FRACTION = 0.3;
export const DEFAULT_PAIRS_PER_FOLD = 300;
export const DEFAULT_SYNTH_FOLDS = 10;

/** Options of the `synthfaces` benchmark (a type alias, so it is also a valid `DatasetOptions` record). */
export type SynthFacesOptions = {
  /** Number of training identities (classes) (default 500). */
  trainIdentities?: number;
  /** Number of test identities, disjoint from the training identities (default 300). */
  testIdentities?: number;
  /** Images per training identity (default 20). */
  imagesPerIdentity?: number;
  /** Images per test identity, >= 2 (default 10). */
  testImagesPerIdentity?: number;
  /** Image height and width in pixels, an integer >= 16 (default 32). */
  resolution?: number;
  /** 3 (RGB) or 1 (grey) (default 3). */
  channels?: number;
  /** Seed of everything (default 0). */
  seed?: number;
  /** Global nuisance strength, >= 0; 0 gives clean, frontal, neutral, unoccluded pictures (default 1.0). */
  nuisance?: number;
  /** Per-field nuisance strengths at nuisance = 1 (defaults: `DEFAULT_NUISANCE_PARAMS`), each scaled by `nuisance`. */
  nuisanceParams?: Partial<NuisanceParams>;
  /** Fraction of test identities left out of the gallery as unknown probes, in [0, 1) (default 0.3). */
  unknownFraction?: number;
  /** Same pairs per fold, and as many different pairs (default 300). */
  pairsPerFold?: number;
  /** Number of verification folds (default 10). */
  folds?: number;
  /**
   * Held-back images per training identity, never trained on: 0 (none) or >= 2 (default 4; 0 when the folds cannot
   * hold two training identities each, i.e. trainIdentities < 2 * folds). They are images
   * `imagesPerIdentity ..` of each training identity's own image stream, so the training images do not depend on
   * it; verification pairs over them (`FaceBenchmark.heldOut`) measure verification on training identities.
   */
  heldOutPerIdentity?: number;
};

/** Fully resolved options. */
export type ResolvedSynthFacesOptions = Required<Omit<SynthFacesOptions, 'nuisanceParams' | 'channels'>> & {
  channels: 1 | 3;
  nuisanceParams: Partial<NuisanceParams>;
};

const OPTION_NAMES: readonly (keyof SynthFacesOptions)[] = [
  'trainIdentities', 'testIdentities', 'imagesPerIdentity', 'testImagesPerIdentity', 'resolution', 'channels', 'seed',
  'nuisance', 'nuisanceParams', 'unknownFraction', 'pairsPerFold', 'folds', 'heldOutPerIdentity',
];

/**
 * Validate and complete options; messages name the field, the value and what is allowed. Unless
 * `checkProtocols` is false, also checks that the test set can hold the requested identity-disjoint pairs
 * (stating the minimum testIdentities if not) and leaves at least one known identity.
 */
export function resolveSynthFacesOptions(opts: SynthFacesOptions | Record<string, unknown> = {}, checkProtocols = true): ResolvedSynthFacesOptions {
  const o = checkOptionNames('synthfaces', opts, OPTION_NAMES);
  const channels = channelsOpt(o, DEFAULT_CHANNELS);
  const np = o.nuisanceParams ?? {};
  if (np === null || typeof np !== 'object' || Array.isArray(np)) throw new DatasetError(`nuisanceParams must be an object, got ${fmt(np)}`);
  const nuisanceParams: Partial<NuisanceParams> = {};
  for (const [k, v] of Object.entries(np)) {
    if (!(k in DEFAULT_NUISANCE_PARAMS)) {
      throw new DatasetError(`unknown nuisanceParams field '${k}'; allowed: ${Object.keys(DEFAULT_NUISANCE_PARAMS).join(', ')}`);
    }
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) throw new DatasetError(`nuisanceParams.${k} must be a finite number >= 0, got ${fmt(v)}`);
    nuisanceParams[k as keyof NuisanceParams] = v;
  }
  const r: ResolvedSynthFacesOptions = {
    trainIdentities: intOpt(o, 'trainIdentities', DEFAULT_TRAIN_IDENTITIES, 1),
    testIdentities: intOpt(o, 'testIdentities', DEFAULT_TEST_IDENTITIES, 2),
    imagesPerIdentity: intOpt(o, 'imagesPerIdentity', DEFAULT_IMAGES_PER_IDENTITY, 1),
    testImagesPerIdentity: intOpt(o, 'testImagesPerIdentity', DEFAULT_TEST_IMAGES_PER_IDENTITY, 2),
    resolution: intOpt(o, 'resolution', DEFAULT_RESOLUTION, 16),
    channels,
    seed: numOpt(o, 'seed', DEFAULT_SEED, () => true, 'a finite number'),
    nuisance: numOpt(o, 'nuisance', DEFAULT_NUISANCE, (x) => x >= 0, 'a finite number >= 0'),
    nuisanceParams,
    unknownFraction: numOpt(o, 'unknownFraction', DEFAULT_UNKNOWN_FRACTION, (x) => x >= 0 && x < 1, 'a number in [0, 1)'),
    pairsPerFold: intOpt(o, 'pairsPerFold', DEFAULT_PAIRS_PER_FOLD, 1),
    folds: intOpt(o, 'folds', DEFAULT_SYNTH_FOLDS, 1),
    heldOutPerIdentity: 0,
  };
  r.heldOutPerIdentity = intOpt(o, 'heldOutPerIdentity', defaultHeldOutPerIdentity(r.trainIdentities, r.folds), 0);
  checkHeldOutOption(r);
  if (r.resolution > 1024) throw new DatasetError(`resolution must be an integer >= 16 and <= 1024, got ${r.resolution}`);
  if (!checkProtocols) return r;
  const perFold = minIdentitiesPerFold(r.pairsPerFold, r.testImagesPerIdentity);
  const minTest = perFold * r.folds;
  if (r.testIdentities < minTest) {
    throw new DatasetError(`testIdentities=${r.testIdentities} is too small for ${r.folds} identity-disjoint folds x ${r.pairsPerFold} same + ` +
      `${r.pairsPerFold} different pairs with testImagesPerIdentity=${r.testImagesPerIdentity}: need testIdentities >= ${minTest}`);
  }
  if (r.testIdentities - Math.round(r.unknownFraction * r.testIdentities) < 1) {
    throw new DatasetError(`unknownFraction=${r.unknownFraction} leaves no known test identity for the gallery`);
  }
  return r;
}

/** The train and test identities of a seed (separate forks, so the two sets are independent draws). */
export function synthIdentities(opts: SynthFacesOptions = {}): { train: SynthIdentity[]; test: SynthIdentity[] } {
  const r = resolveSynthFacesOptions(opts, false);
  const root = new Rng(`synthfaces/${r.seed}`);
  return {
    train: drawIdentities(root.fork('train-identities'), r.trainIdentities),
    test: drawIdentities(root.fork('test-identities'), r.testIdentities),
  };
}

function drawIdentities(rng: Rng, n: number): SynthIdentity[] {
  return Array.from({ length: n }, (_, i) => sampleIdentity(rng.fork(i)));
}

/**
 * Render `perIdentity` images of each identity (identity-major) into an ImageSet: images `firstImage ..
 * firstImage + perIdentity - 1` (default from 0). Image j of identity i uses its own stream `rng.fork(i).fork(j)`,
 * so it does not depend on how many images or identities are rendered.
 */
export function renderIdentitySet(identities: SynthIdentity[], perIdentity: number, resolution: number, channels: 1 | 3,
  nuisance: NuisanceParams, rng: Rng, firstImage = 0): ImageSet {
  const count = identities.length * perIdentity;
  const size = resolution * resolution * channels;
  const images = new Float32Array(count * size);
  const labels = new Int32Array(count);
  let k = 0;
  identities.forEach((id, i) => {
    const idRng = rng.fork(i);
    for (let j = 0; j < perIdentity; j++, k++) {
      const r = idRng.fork(firstImage + j);
      renderInto(id, sampleNuisance(r, nuisance), resolution, channels, r, images, k * size, true);
      labels[k] = i;
    }
  });
  return { images, labels, count, height: resolution, width: resolution, channels };
}

/** Build the `synthfaces` benchmark. */
export function createSynthFaces(opts: SynthFacesOptions | Record<string, unknown> = {}): FaceBenchmark {
  const r = resolveSynthFacesOptions(opts);
  const t0 = Date.now();
  const root = new Rng(`synthfaces/${r.seed}`);
  const trainIds = drawIdentities(root.fork('train-identities'), r.trainIdentities);
  const testIds = drawIdentities(root.fork('test-identities'), r.testIdentities);
  const nuisance = effectiveNuisance(r.nuisance, r.nuisanceParams);
  const train = renderIdentitySet(trainIds, r.imagesPerIdentity, r.resolution, r.channels, nuisance, root.fork('train-images'));
  const test = renderIdentitySet(testIds, r.testImagesPerIdentity, r.resolution, r.channels, nuisance, root.fork('test-images'));
  const pairs = makeVerificationPairs(test.labels, r.testIdentities, { folds: r.folds, pairsPerFold: r.pairsPerFold }, root.fork('pairs'));
  const identification = makeIdentificationSplit(test.labels, r.testIdentities, r.unknownFraction, root.fork('identification'));
  const h = r.heldOutPerIdentity;
  const heldOut = h > 0
    ? makeHeldOutSet(renderIdentitySet(trainIds, h, r.resolution, r.channels, nuisance, root.fork('train-images'), r.imagesPerIdentity),
      r.trainIdentities, h, { folds: r.folds, pairsPerFold: r.pairsPerFold }, root.fork('held-out-pairs'))
    : undefined;
  return {
    name: 'synthfaces',
    train,
    numClasses: r.trainIdentities,
    test,
    pairs,
    identification,
    ...(heldOut ? { heldOut } : {}),
    meta: {
      options: { ...r, nuisanceParams: { ...r.nuisanceParams } },
      effectiveNuisance: { ...nuisance },
      counts: { train: train.count, test: test.count, pairs: pairs.left.length, gallery: identification.gallery.length,
        knownProbes: identification.knownProbes.length, unknownProbes: identification.unknownProbes.length,
        heldOut: heldOut?.set.count ?? 0, heldOutPairs: heldOut?.pairs.left.length ?? 0 },
      pairLayout: 'fold k = pairs [k*2P, (k+1)*2P): P same then P different; folds are identity-disjoint',
      generationMs: Date.now() - t0,
    },
  };
}

/** Human-readable description of the benchmark and its options. */
export function describeSynthFaces(): string {
  return [
    'synthfaces: procedural face images, deterministic from a seed (pure TypeScript renderer).',
    '  identity: face outline (axes, forehead/jaw taper), eyes (size, spacing, height, tilt, iris colour), brows (length,',
    '    thickness, angle, arch, height), nose (length, width, shading), mouth (width, lips, curvature, position), skin and',
    '    lip colour, blush, hair colour/volume/hairline/fringe/length, beard, moustache, ears, skin texture, moles.',
    '  nuisance (per image, all scaled by `nuisance`): rotation, scale, shift, directional illumination, brightness/contrast,',
    '    colour cast, expression (smile, open mouth, squint, brow raise), glasses, mask, hand, background clutter, blur, noise.',
    '  options (defaults): trainIdentities 500, testIdentities 300, imagesPerIdentity 20, testImagesPerIdentity 10,',
    '    resolution 32, channels 3, seed 0, nuisance 1.0, nuisanceParams {}, unknownFraction 0.3, pairsPerFold 300, folds 10,',
    '    heldOutPerIdentity 4 (held-back images of each training identity, never trained on: verification on training identities).',
    '  protocols: train/test identities disjoint; LFW-style pairs in identity-disjoint folds (P same then P different per',
    '    fold); open-set split with one gallery image per known identity and unknownFraction identities as unknown probes.',
  ].join('\n');
}

registerDataset('synthfaces', {
  description: 'procedural faces: continuous identity parameters plus scalable per-image nuisance (built in, deterministic)',
  resolveOptions: (opts) => {
    const r = resolveSynthFacesOptions(opts ?? {});
    return { ...r, nuisanceParams: { ...DEFAULT_NUISANCE_PARAMS, ...r.nuisanceParams } };
  },
  create: (opts) => createSynthFaces(opts ?? {}),
});
