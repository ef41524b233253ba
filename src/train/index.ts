/**
 * Training: the Trainer (a small loop, trainer.ts) and its parts: setup.ts builds a run's model, head, losses and
 * optimizer; callbacks.ts, evaluator.ts, metrics-log.ts, collapse.ts and checkpointer.ts do what happens around the
 * loop; records.ts is what a run writes. Also the SGD optimizer, LR schedule, samplers, the checkpoint file format,
 * test-set embedding and the fitting measurements.
 */
export * from './trainer';
export type { StepRecord, EpochRecord, RunResult, TrainingState } from './records';
export { NumericalError } from './guards';
export { evalLine, evaluationDue } from './evaluator';
export { checkpointDue } from './checkpointer';
export type { TrainerCallback, StepContext } from './callbacks';
export * from './sgd';
export * from './schedule';
export * from './sampler';
export * from './checkpoint';
export * from './embed';
export * from './fit';
