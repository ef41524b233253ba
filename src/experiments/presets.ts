import { deepMerge } from '../config';

/** A method of the comparison: a name and the config fields it changes. */
export interface MethodSpec {
  name: string;
  label: string;
  description: string;
  overrides: Record<string, unknown>;
}

/** A preset of `coreface reproduce`: the shared base config, the methods and the default seeds. */
export interface ReproducePreset {
  name: string;
  description: string;
  base: Record<string, unknown>;
  methods: MethodSpec[];
  seeds: number;
}

/**
 * The three methods of the CoReFace paper's main comparison, as config overrides on a shared base:
 * - ArcFace (no dropout, Deng et al. 2019),
 * - ArcFace + dropout 0.4 on the same schedule (the paper's stronger baseline),
 * - CoReFace: dropout 0.4 until the first LR drop, then two dropout-0.6 views, the one-way-N contrastive term
 *   with the supervised zero mask and the adaptive margin (batch weight 0.99), w = (0.5, 0.5, 0.05, 0).
 * `startEpoch` is the first LR milestone of the preset, as in the reference schedule.
 */
export function paperMethods(firstMilestone: number): MethodSpec[] {
  return [
    {
      name: 'arcface',
      label: 'ArcFace',
      description: 'ArcFace head (s 64, m 0.5), no dropout',
      overrides: { head: { name: 'arcface' }, dropout: { before: 0 } },
    },
    {
      name: 'arcface-dropout',
      label: 'ArcFace + dropout 0.4',
      description: 'ArcFace head, neck dropout 0.4 throughout (single view)',
      overrides: { head: { name: 'arcface' }, dropout: { before: 0.4 } },
    },
    {
      name: 'coreface',
      label: 'CoReFace (one-way N)',
      description: 'ArcFace + CoReFace contrastive term from the first LR drop (dropout 0.4 -> 0.6, two views)',
      overrides: {
        head: { name: 'arcface' },
        dropout: { before: 0.4, after: 0.6 },
        coreface: { enabled: true, startEpoch: firstMilestone, protocol: 'one-way-n', mask: 'zero', margin: 'adaptive', batchWeight: 0.99 },
      },
    },
  ];
}

/**
 * Quick preset: synthfaces 500 x 16 training images at 32x32x3, iresnet-tiny, 6 epochs, LR drops at 3 and 5
 * (6 runs in about 20 minutes on 2 cores: one run per core at ~120 img/s).
 * The nuisance strength (1.25) was calibrated on the ArcFace baseline alone, seed 0, with an 8-epoch schedule,
 * before any CoReFace run (verification accuracy: nuisance 1.0 -> 95.4%, 1.25 -> 93.3%, 1.5 -> the ArcFace run
 * collapsed to 57%: without the easy-margin fix, cos(theta + m) is not monotonic near theta = pi, and the plain
 * ArcFace of the reference can settle in that degenerate solution on hard data).
 */
const QUICK_BASE = {
  dataset: { name: 'synthfaces', options: { trainIdentities: 500, imagesPerIdentity: 16, testIdentities: 300, resolution: 32, channels: 3, nuisance: 1.25 } },
  model: { backbone: 'iresnet-tiny', embeddingDim: 128 },
  head: { name: 'arcface', options: { scale: 64, margin: 0.5 } },
  optimizer: { lr: 0.1, momentum: 0.9, weightDecay: 5e-4, clipNorm: 5, warmupEpochs: 1, milestones: [3, 5], gamma: 0.1 },
  training: { epochs: 6, batchSize: 64, sampler: 'random', evalEvery: 0, checkpointEvery: 1, logEvery: 10 },
};

const FULL_BASE = deepMerge(QUICK_BASE, {
  dataset: { options: { trainIdentities: 2000, imagesPerIdentity: 30, testIdentities: 600 } },
  model: { backbone: 'iresnet-small' },
  optimizer: { milestones: [8, 14, 20], warmupEpochs: 1 },
  training: { epochs: 24, evalEvery: 4 },
});

/** Presets of `coreface reproduce`. */
export const REPRODUCE_PRESETS: Record<string, ReproducePreset> = {
  quick: {
    name: 'quick',
    description: 'synthfaces 500 train identities x 16 images at 32x32x3 (nuisance 1.25), iresnet-tiny, 6 epochs (LR drops at 3, 5)',
    base: QUICK_BASE,
    methods: paperMethods(3),
    seeds: 2,
  },
  full: {
    name: 'full',
    description: 'synthfaces 2000 train identities x 30 images at 32x32x3 (nuisance 1.25), iresnet-small, 24 epochs (LR drops at 8, 14, 20, as the reference)',
    base: FULL_BASE,
    methods: paperMethods(8),
    seeds: 5,
  },
};
