/**
 * coreface-lab: the public entry. Everything a notebook, a script or another package needs is exported here.
 *
 * - backends: initBackend (tfjs-node-gpu -> wasm -> cpu), wasm gradient kernels
 * - data: dataset registry, synthfaces
 * - models: ParamStore, IResNet backbones (registry), CoReFace neck, FaceModel
 * - ops: the softmax cross-entropy and the masked-logit constant shared by heads, losses and CoReFace
 * - heads: softmax, normface, cosface, arcface and the margin-head zoo (registry) and their logits functions
 * - coreface: CoReFaceContrastiveLoss, coreFaceObjective
 * - train: Trainer, Sgd, schedules, samplers, checkpoints
 * - eval: verification, ROC/AUC/EER/TAR@FAR, CMC, DIR@FPIR
 * - experiments: experiments as data, the run store (locks, shards), ablate/collect, statistics, views
 * - stats: Student-t intervals, paired t-test, exact sign-flip permutation test
 * - report: tables (Markdown, HTML, CSV, LaTeX), plotly figures, the HTML experiment report, notebook display
 */
export * from './backends';
export * from './config';
export * from './data';
export * from './models';
export {
  arcfaceLogits, cosfaceLogits, normfaceLogits, cosineLogits,
  registerHead, createHead, listHeads, getHeadEntry,
  SoftmaxHead, NormFaceHead, CosFaceHead, ArcFaceHead,
  SphereFaceHead, CombinedHead, CurricularFaceHead, MagFaceHead, AdaFaceHead, ElasticArcHead, ElasticCosHead,
  SubcenterArcFaceHead, CamSoftmaxHead, AngularSparsemaxHead,
  DEFAULT_SCALE, DEFAULT_ARCFACE_MARGIN, DEFAULT_COSFACE_MARGIN,
} from './heads';
export type { MarginHead, HeadCreateOptions, HeadEntry } from './heads';
export { softmaxCrossEntropy, NEG_INF_LOGIT } from './ops';
export * from './coreface';
export * from './eval';
export * from './train';
export * from './experiments';
export * from './losses';
export { Rng } from './util/rng';
export { ProgressBar, formatDuration } from './util/progress';
export type { LabelsLike } from './util/labels';
export * from './stats';
export * from './report';
export * from './notebook';
export * from './embedders'; // face embedders: run checkpoints and pretrained npm models (faceres, face-api)
