/**
 * Small-sample statistics for ablation tables (pure TypeScript, no tfjs): Student-t distribution, sample summaries
 * with t confidence intervals, the paired t-test and the exact sign-flip permutation test.
 */
export { logGamma, regularizedIncompleteBeta, studentTCdf, studentTQuantile, studentTTwoSidedPValue } from './tdist';
export { DEFAULT_CONFIDENCE, summarizeSample } from './sample';
export type { SampleSummary, SampleSummaryOptions } from './sample';
export { MAX_PERMUTATION_PAIRS, pairedPermutationTest, pairedTTest } from './paired';
export type { PairedPermutationTest, PairedTest, PairedTestOptions } from './paired';
