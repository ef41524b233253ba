/**
 * Built-in experiments. Scales: QUICK_BASE (minutes per run on 2 cores) and FULL_BASE (the reference schedule
 * shape at a larger synthfaces size); the quick schedule on glyphs, and on mnist / fashion-mnist repeated over
 * class partitions (`replicates`). Every experiment is plain data (ExperimentSpec); `registerExperiment`
 * adds more, and `coreface ablate FILE.json` runs one from a file.
 */
import { deepMerge } from '../config';
import { listHeads } from '../heads';
import type { ExperimentSpec, ExperimentVariant } from './spec';

/**
 * Quick scale: synthfaces 500 x 16 training images at 32x32x3, iresnet-tiny, 6 epochs, LR drops at 3 and 5
 * (about 7.5 minutes per run on one core at ~110 img/s).
 * The nuisance strength (1.25) was calibrated on the ArcFace baseline alone, seed 0, with an 8-epoch schedule,
 * before any CoReFace run (verification accuracy: nuisance 1.0 -> 95.4%, 1.25 -> 93.3%, 1.5 -> the ArcFace run
 * collapsed to 57%: without the easy-margin fix, cos(theta + m) is not monotonic near theta = pi, and the plain
 * ArcFace of the reference can settle in that degenerate solution on hard data).
 */
export const QUICK_BASE: Record<string, unknown> = {
  dataset: { name: 'synthfaces', options: { trainIdentities: 500, imagesPerIdentity: 16, testIdentities: 300, resolution: 32, channels: 3, nuisance: 1.25 } },
  model: { backbone: 'iresnet-tiny', embeddingDim: 128 },
  head: { name: 'arcface' }, // head defaults: s 64, m 0.5 (every head's options default as documented in docs/heads.md)
  optimizer: { lr: 0.1, momentum: 0.9, weightDecay: 5e-4, clipNorm: 5, warmupEpochs: 1, milestones: [3, 5], gamma: 0.1 },
  training: { epochs: 6, batchSize: 64, sampler: 'random', evalEvery: 0, checkpointEvery: 1, logEvery: 10 },
};

/** Full scale: synthfaces 2000 x 30, iresnet-small, 24 epochs with LR drops at 8, 14, 20 (as the reference). */
export const FULL_BASE: Record<string, unknown> = deepMerge(QUICK_BASE, {
  dataset: { options: { trainIdentities: 2000, imagesPerIdentity: 30, testIdentities: 600 } },
  model: { backbone: 'iresnet-small' },
  optimizer: { milestones: [8, 14, 20], warmupEpochs: 1 },
  training: { epochs: 24, evalEvery: 4 },
});

/** CoReFace as released: dropout 0.4, then from the first LR drop two dropout-0.6 views and the one-way-N term. */
function corefaceOn(startEpoch: number, coreface: Record<string, unknown> = {}, head: Record<string, unknown> = { name: 'arcface' }): Record<string, unknown> {
  return {
    head,
    dropout: { before: 0.4, after: 0.6 },
    coreface: { enabled: true, startEpoch, protocol: 'one-way-n', mask: 'zero', margin: 'adaptive', batchWeight: 0.99, ...coreface },
  };
}

/**
 * The fixed margin of the fixed-margin ablation: 0.2, the level the adaptive margin reaches on the quick preset
 * (0.16-0.23 over the CoReFace phase of seed 0).
 */
export const FIXED_MARGIN_ABLATION = 0.2;

/** The variants of the CoReFace ablation (Song & Wang 2024, and the ablations coreface-spec.md asks for). */
export function corefaceAblationVariants(firstMilestone: number, startEpochs: number[], fixedMargin: number = FIXED_MARGIN_ABLATION): ExperimentVariant[] {
  const m1 = firstMilestone;
  return [
    { name: 'arcface', label: 'ArcFace', description: 'ArcFace head (s 64, m 0.5), no dropout (Deng et al. 2019)', overrides: { head: { name: 'arcface' }, dropout: { before: 0 } } },
    { name: 'arcface-dropout', label: 'ArcFace + dropout 0.4', description: 'ArcFace, neck dropout 0.4 throughout (single view): the paper\'s stronger baseline', overrides: { head: { name: 'arcface' }, dropout: { before: 0.4 } } },
    { name: 'two-view-ce', label: 'two-view CE, no contrast', description: 'CoReFace schedule and two dropout views with CE on each, contrastive weight 0', overrides: corefaceOn(m1, { wC: 0 }) },
    { name: 'contrast-plain', label: '+ contrast, no mask, no margin', description: 'contrastive term without the supervised mask and without margin', overrides: corefaceOn(m1, { mask: 'none', margin: 'none' }) },
    { name: 'mask-zero', label: '+ mask (zero)', description: 'same-identity entries replaced by 0 (reference), no margin', overrides: corefaceOn(m1, { mask: 'zero', margin: 'none' }) },
    { name: 'mask-exclude', label: '+ mask (exclude)', description: 'same-identity entries excluded from the softmax, no margin', overrides: corefaceOn(m1, { mask: 'exclude', margin: 'none' }) },
    { name: 'fixed-margin', label: `+ fixed margin ${fixedMargin}`, description: `zero mask and a fixed margin of ${fixedMargin}`, overrides: corefaceOn(m1, { margin: fixedMargin }) },
    { name: 'coreface', label: 'CoReFace (one-way N)', description: 'full CoReFace: zero mask, adaptive margin (batch weight 0.99), one-way N, wC 0.05', overrides: corefaceOn(m1) },
    { name: 'protocol-two-way-n', label: 'CoReFace, two-way N', description: 'both directions (every pair counted twice)', overrides: corefaceOn(m1, { protocol: 'two-way-n' }) },
    { name: 'protocol-2n', label: 'CoReFace, 2N (NT-Xent style)', description: 'all 2N embeddings as candidates (repeated semantics)', overrides: corefaceOn(m1, { protocol: '2n' }) },
    { name: 'batch-weight-0.01', label: 'CoReFace, margin EMA (batch weight 0.01)', description: 'conventional EMA of the margin instead of the reference 0.99 on the current batch', overrides: corefaceOn(m1, { batchWeight: 0.01 }) },
    ...[0.01, 0.02, 0.1, 0.2].map((w) => ({ name: `wc-${w}`, label: `CoReFace, wC = ${w}`, description: 'contrastive weight sweep (reference 0.05)', overrides: corefaceOn(m1, { wC: w }) })),
    ...startEpochs.filter((e) => e !== m1).map((e) => ({ name: `start-${e}`, label: `CoReFace from epoch ${e}`, description: `contrastive phase from epoch ${e} (reference: the first LR drop, epoch ${m1})`, overrides: corefaceOn(e) })),
    { name: 'cosface-dropout', label: 'CosFace + dropout 0.4', description: 'CosFace head (s 64, m 0.35), neck dropout 0.4 (Wang et al. 2018)', overrides: { head: { name: 'cosface' }, dropout: { before: 0.4 } } },
    { name: 'cosface-coreface', label: 'CoReFace on CosFace', description: 'CoReFace with CosFace as the base head', overrides: corefaceOn(m1, {}, { name: 'cosface' }) },
  ];
}

/**
 * The regime study (issue 15): a scale where the baseline FITS its training identities, so that a regulariser has
 * something to do. Calibrated on ArcFace + dropout 0.4 alone, seed 0 (docs/regime/synthfaces-calibration.json, the
 * runs and why this point in docs/regime/README.md), before any CoReFace run in this regime: synthfaces 500
 * identities x 5 images at nuisance 1.0 (plus 4 held-back images per identity for verification on training
 * identities), iresnet-tiny, 40 epochs with LR drops at 13, 23, 33 (the reference's 1/3, 7/12, 5/6), evaluated every
 * 5 epochs. Smaller sets at nuisance 1.25 (500 x 6, 300 x 10) made the baseline fall into ArcFace's degenerate
 * solution within 10 epochs, with or without insightface's monotonic target; 500 x 8 at nuisance 1.0 fits too
 * (training accuracy 0.994) but at 1.6x the run time.
 */
export const REGIME_BASE: Record<string, unknown> = {
  dataset: { name: 'synthfaces', options: { trainIdentities: 500, imagesPerIdentity: 5, testIdentities: 300, resolution: 32, channels: 3, nuisance: 1.0, heldOutPerIdentity: 4 } },
  model: { backbone: 'iresnet-tiny', embeddingDim: 128 },
  head: { name: 'arcface' },
  optimizer: { lr: 0.1, momentum: 0.9, weightDecay: 5e-4, clipNorm: 5, warmupEpochs: 1, milestones: [13, 23, 33], gamma: 0.1 },
  training: { epochs: 40, batchSize: 64, sampler: 'random', evalEvery: 5, checkpointEvery: 1, logEvery: 10 },
};

/** First LR drop of the regime schedule: where the CoReFace phase starts (as the reference's epoch 8 of 24). */
export const REGIME_START_EPOCH = 13;

/** The regime's main comparison: the baselines, two views without the contrastive term, and CoReFace. */
export const REGIME_MAIN = ['arcface', 'arcface-dropout', 'two-view-ce', 'coreface'];

/** The regime's pair-coupling and margin comparison (its baseline and CoReFace runs are shared with REGIME_MAIN's). */
export const REGIME_COUPLING = ['arcface-dropout', 'coreface', 'protocol-two-way-n', 'protocol-2n', 'fixed-margin'];

/**
 * The fixed margin of the regime's fixed-vs-adaptive comparison: 0.4, the level the adaptive margin holds in the
 * regime (0.37-0.43 over the contrastive phase of `coreface-regime`'s CoReFace runs, seeds 0 and 1), so that the
 * comparison isolates the adaptation, not the level.
 */
export const REGIME_FIXED_MARGIN = 0.4;

/**
 * The regime on real images: glyphs 800 characters x 3 renderings at distortion 0.5 (plus 4 held-back renderings
 * per character), the regime's schedule and model (REGIME_BASE). Calibrated on ArcFace + dropout 0.4 alone, seed 0
 * (docs/regime/glyphs-calibration.json, docs/regime/README.md): it fits its training characters (training accuracy
 * 0.995 in evaluation mode, 0.988 with dropout) with room on the test characters (90.3%); 800 x 5 fits as well
 * (97.1%, less headroom), 800 x 3 at the default distortion 1 does not fit (0.22). On glyphs no train-minus-test
 * gap opens at any of these points (+0.18, -0.40 and +1.02 points): a character's renderings teach what transfers
 * to other characters.
 */
export const GLYPHS_REGIME_BASE: Record<string, unknown> = {
  ...REGIME_BASE, // the dataset is replaced, not merged
  dataset: { name: 'glyphs', options: { trainIdentities: 800, imagesPerIdentity: 3, testIdentities: 300, resolution: 32, channels: 1, distortion: 0.5, heldOutPerIdentity: 4 } },
};

/** Variants of the quick subset run by `coreface reproduce` (the paper's main comparison). */
export const QUICK_SUBSET = ['arcface', 'arcface-dropout', 'coreface'];

/** Every registered head with its default options, no dropout, same data and seeds. */
export function headsVariants(): ExperimentVariant[] {
  return listHeads().map(({ name }) => ({ name, label: name, description: `${name} head with its defaults (docs/heads.md)`, overrides: { head: { name } } }));
}

/**
 * The quick-scale training schedule on the `glyphs` real-image benchmark (CJK characters rendered from Debian
 * fonts): 800 training characters x 10 renderings (8,000 images, as many as the quick synthfaces scale), 300 test
 * characters, 32x32x1, iresnet-tiny, 6 epochs, distortion 0.5.
 *
 * Distortion 0.5 (half the default rotation, shear, scale, shift, blur and noise) was calibrated on the baseline
 * alone, ArcFace + dropout 0.4, seeds 0 and 1 (2026-12-03, experiment file in docs/NOTES.md): at the default
 * distortion 1 it fell into ArcFace's degenerate solution (verification 55.15 ± 0.85%, training accuracy ~0), and
 * so did 500 characters x 16 renderings at distortion 1 (52.17 ± 2.06%); at 0.5 it trains (95.46 ± 0.44%,
 * TAR@FAR=1e-3 64.7%, rank-1 76.5%: far from saturated). Neither CoReFace nor plain ArcFace was run to choose it.
 */
export const GLYPHS_QUICK_BASE: Record<string, unknown> = {
  ...QUICK_BASE, // the dataset is replaced, not merged (synthfaces options mean nothing to glyphs)
  dataset: { name: 'glyphs', options: { trainIdentities: 800, imagesPerIdentity: 10, testIdentities: 300, resolution: 32, channels: 1, distortion: 0.5 } },
};

/**
 * The quick-scale schedule on a class-disjoint 10-class benchmark (`mnist`, `fashion-mnist`; see
 * src/data/realbench/class-disjoint.ts): per partition 6 training classes x 700 images (4,200 training images,
 * 65 steps of 64 per epoch) and 4 test classes x 500 images (10 image-disjoint folds of 300 + 300 pairs), 28x28
 * grey centred at 32x32x1, iresnet-tiny, 6 epochs with LR drops at 3 and 5 (CoReFace from epoch 3, the first drop).
 * 700 per class (the dataset default is 1000) makes one run about 3.5-4 minutes on one idle core of the reference
 * machine: the network trains at the speed of the quick synthfaces scale (~110 img/s; one input channel instead of
 * three changes little, and CoReFace's two views are neck dropout views that share one backbone pass) on about half
 * its images (measured under load against the synthfaces quick config: 0.49 of its run time, i.e. ~3.7 of ~7.5
 * minutes), so 5 partitions x 3 variants take about half an hour on 2 idle cores. The quick schedule is kept
 * unchanged so that results compare across the synthfaces, glyphs and class-disjoint benchmarks. The partition is
 * not set here: the experiments repeat every run over partitions 0-4.
 */
export function classDisjointQuickBase(dataset: 'mnist' | 'fashion-mnist'): Record<string, unknown> {
  return {
    ...QUICK_BASE, // the dataset is replaced, not merged (synthfaces options mean nothing here)
    dataset: { name: dataset, options: { testClasses: 4, trainPerClass: 700, testPerClass: 500, resolution: 32, channels: 1 } },
  };
}

/**
 * Class partitions 0-4 of the class-disjoint benchmarks as replicates: with 4 test classes of 10 these make every
 * class a test class exactly twice (`classPartitions`), so the spread over them is the spread over test classes.
 */
export const CLASS_PARTITION_REPLICATES: { path: string; values: number[]; label: string } = {
  path: 'dataset.options.partition',
  values: [0, 1, 2, 3, 4],
  label: 'partition',
};

/**
 * The smoke scale of the notebooks' quick mode (issue 16): the regime's shape (held-back images of the training
 * identities, so the fit and the train-vs-test gap are measured; the quick schedule's LR drops) shrunk until a run
 * takes seconds: synthfaces 40 training identities x 6 images (+ 2 held back) at 16x16x1, nuisance 0.6, 40 test
 * identities x 4 images (10 folds of 15 + 15 pairs), iresnet-nano + 32-d neck, batch 32, 6 epochs with LR drops at 3
 * and 5 (CoReFace from 3), one evaluation at the end. Measured: ~2 s per run in a child process on one busy core.
 * Numbers at this scale mean nothing; the runs exist so that the notebooks exercise the engine (store, paired
 * statistics, views) in CI and the results notebook has something to read.
 */
export const SMOKE_BASE: Record<string, unknown> = {
  dataset: { name: 'synthfaces', options: { trainIdentities: 40, imagesPerIdentity: 6, heldOutPerIdentity: 2, testIdentities: 40, testImagesPerIdentity: 4, pairsPerFold: 15, resolution: 16, channels: 1, nuisance: 0.6 } },
  model: { backbone: 'iresnet-nano', embeddingDim: 32 },
  head: { name: 'arcface' },
  optimizer: { lr: 0.1, momentum: 0.9, weightDecay: 5e-4, clipNorm: 5, warmupEpochs: 1, milestones: [3, 5], gamma: 0.1 },
  training: { epochs: 6, batchSize: 32, sampler: 'random', evalEvery: 0, checkpointEvery: 0, logEvery: 5 },
};

/** First LR drop of the smoke schedule: where the CoReFace phase starts. */
export const SMOKE_START_EPOCH = 3;

/** The variants of the pair-coupling comparison: the dropout baseline, CoReFace with each protocol, and a fixed margin. */
export const COUPLING_VARIANTS = ['arcface-dropout', 'coreface', 'protocol-two-way-n', 'protocol-2n', 'fixed-margin'];

/**
 * The notebooks' quick experiments (`NOTEBOOK_MODE=quick`, the default, and CI): the variants of the full experiment
 * each notebook runs (03: the regime's main comparison, 04: the pair-coupling protocols, 05: every head) on
 * {@link SMOKE_BASE}. Runs with equal configs share store entries across them (e.g. 03's and 04's `coreface`).
 */
export const NOTEBOOK_SMOKE_EXPERIMENTS: ExperimentSpec[] = [
  {
    name: 'notebook-ablation-smoke',
    description: 'Smoke test of the regime comparison for notebook 03 (seconds per run): synthfaces 40 x 6 (+2 held back) at 16x16x1, iresnet-nano, 6 epochs (LR drops at 3, 5; CoReFace from 3), 2 seeds',
    base: SMOKE_BASE,
    variants: corefaceAblationVariants(SMOKE_START_EPOCH, []).filter((v) => REGIME_MAIN.includes(v.name)),
    baseline: 'arcface-dropout',
    seeds: 2,
  },
  {
    name: 'notebook-coupling-smoke',
    description: 'Smoke test of the pair-coupling comparison for notebook 04 (seconds per run): one-way N, two-way N, 2N and a fixed margin against ArcFace + dropout on the smoke scale, 2 seeds',
    base: SMOKE_BASE,
    variants: corefaceAblationVariants(SMOKE_START_EPOCH, []).filter((v) => COUPLING_VARIANTS.includes(v.name)),
    baseline: 'arcface-dropout',
    seeds: 2,
  },
  {
    name: 'notebook-heads-smoke',
    description: 'Smoke test of the head zoo for notebook 05 (seconds per run): every registered head with its defaults on the smoke scale, no dropout, 2 seeds',
    base: SMOKE_BASE,
    variants: headsVariants(),
    baseline: 'arcface',
    seeds: 2,
  },
];

/** The built-in experiments. */
export const BUILTIN_EXPERIMENTS: ExperimentSpec[] = [
  {
    name: 'coreface-ablation',
    description: 'CoReFace ablation at full scale: synthfaces 2000 x 30 at 32x32x3 (nuisance 1.25), iresnet-small, 24 epochs (LR drops at 8, 14, 20)',
    base: FULL_BASE,
    variants: corefaceAblationVariants(8, [0, 4, 14]),
    baseline: 'arcface-dropout',
    seeds: 5,
  },
  {
    name: 'coreface-ablation-quick',
    description: 'CoReFace ablation at quick scale: synthfaces 500 x 16 at 32x32x3 (nuisance 1.25), iresnet-tiny, 6 epochs (LR drops at 3, 5)',
    base: QUICK_BASE,
    variants: corefaceAblationVariants(3, [0, 1, 4]),
    baseline: 'arcface-dropout',
    seeds: 2,
  },
  {
    name: 'coreface-glyphs-quick',
    description: 'The paper\'s main comparison on real images: glyphs 800 x 10 at 32x32x1 (CJK characters from 8 fonts, distortion 0.5, ' +
      'calibrated on ArcFace + dropout alone), iresnet-tiny, 6 epochs (LR drops at 3, 5), 5 seeds',
    base: GLYPHS_QUICK_BASE,
    variants: corefaceAblationVariants(3, []).filter((v) => QUICK_SUBSET.includes(v.name)),
    baseline: 'arcface-dropout',
    seeds: 5,
  },
  {
    name: 'heads',
    description: 'Every registered margin head on the quick scale (synthfaces 500 x 16, iresnet-tiny, 6 epochs), no dropout',
    base: QUICK_BASE,
    variants: headsVariants(),
    baseline: 'arcface',
    seeds: 2,
  },
  {
    name: 'coreface-regime',
    description: 'Does CoReFace reproduce where the baseline fits? synthfaces 500 x 5 at 32x32x3 (nuisance 1.0, 4 held-back images per identity), ' +
      'iresnet-tiny, 40 epochs (LR drops at 13, 23, 33; CoReFace from 13), calibrated on ArcFace + dropout alone to fit its training identities; 5 seeds',
    base: REGIME_BASE,
    variants: corefaceAblationVariants(REGIME_START_EPOCH, []).filter((v) => REGIME_MAIN.includes(v.name)),
    baseline: 'arcface-dropout',
    seeds: 5,
  },
  {
    name: 'coreface-regime-coupling',
    description: 'The pair-coupling protocols (one-way N, two-way N, 2N) and the adaptive vs a fixed margin (0.4, the adaptive level) ' +
      'in the synthfaces regime of coreface-regime (its ArcFace + dropout and CoReFace runs are shared); 5 seeds',
    base: REGIME_BASE,
    variants: corefaceAblationVariants(REGIME_START_EPOCH, [], REGIME_FIXED_MARGIN).filter((v) => REGIME_COUPLING.includes(v.name)),
    baseline: 'arcface-dropout',
    seeds: 5,
  },
  {
    name: 'coreface-regime-glyphs',
    description: 'The regime study on real images: glyphs 800 x 3 at 32x32x1 (distortion 0.5, 4 held-back renderings per character), ' +
      'iresnet-tiny, 40 epochs (LR drops at 13, 23, 33; CoReFace from 13), calibrated on ArcFace + dropout alone to fit its training characters; 5 seeds',
    base: GLYPHS_REGIME_BASE,
    variants: corefaceAblationVariants(REGIME_START_EPOCH, []).filter((v) => REGIME_MAIN.includes(v.name)),
    baseline: 'arcface-dropout',
    seeds: 5,
  },
  ...(['mnist', 'fashion-mnist'] as const).map((dataset): ExperimentSpec => ({
    name: `coreface-${dataset}-quick`,
    description: `The paper's main comparison on ${dataset === 'mnist' ? 'MNIST digits' : 'Fashion-MNIST clothing'}, class-disjoint open set ` +
      'repeated over class partitions 0-4 (4 test classes each, every class tested twice): 6 train classes x 700 images at 32x32x1, ' +
      '4 test classes x 500, iresnet-tiny, the quick schedule unchanged for comparability with synthfaces and glyphs (6 epochs, LR drops at 3, 5; ' +
      'CoReFace from epoch 3), 700 images per class for about 4 min per run on one idle core; ' +
      'statistics over the (seed, partition) runs, with the spread across partitions',
    base: classDisjointQuickBase(dataset),
    variants: corefaceAblationVariants(3, []).filter((v) => QUICK_SUBSET.includes(v.name)),
    baseline: 'arcface-dropout',
    seeds: [0],
    replicates: { ...CLASS_PARTITION_REPLICATES, values: [...CLASS_PARTITION_REPLICATES.values] },
  })),
  ...NOTEBOOK_SMOKE_EXPERIMENTS,
];
