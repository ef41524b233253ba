/**
 * Evaluation metrics for face recognition (pure TypeScript, no tfjs): k-fold verification accuracy, ROC / AUC /
 * EER / TAR@FAR, CMC identification, open-set DIR@FPIR, embedding helpers and a one-call JSON report.
 */
export { DEFAULT_FOLDS, bestThreshold, verificationAccuracy } from './verification';
export type { VerificationOptions, VerificationResult } from './verification';
export { DEFAULT_FAR_LEVELS, eer, rocAuc, rocCurve, tarAtFar, tarAtFarLevels } from './roc';
export type { RocCurve } from './roc';
export { DEFAULT_MAX_RANK, cmc, identificationReport } from './identification';
export type { IdentificationReport } from './identification';
export { DEFAULT_FPIR_LEVELS, dirAtFpir, openSetReport } from './openset';
export type { OpenSetReport } from './openset';
export { flipFuse, gatherRows, l2Normalize, pairCosineScores, similarityMatrix } from './embeddings';
export { evaluateEmbeddings, evaluateVerification } from './report';
export type { EvalIdentificationSplit, EvalPairs, EvalReport, EvaluateOptions } from './report';
export type { BinaryLabels } from './validate';
export { pca2d } from './pca';
export type { Pca2d } from './pca';
