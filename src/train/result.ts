/** result.json: what a finished run reports (final evaluation, fitting measurements, every epoch, versions, speed). */
import * as tf from '@tensorflow/tfjs';
import { backendInfo } from '../backends';
import type { EvalReport } from '../eval';
import { PACKAGE } from '../util/package';
import type { FitReport } from './fit';
import type { RunResult } from './records';
import type { Trainer } from './trainer';

/** The result of a finished run of `t`: its final evaluation and fit, after `wallSeconds` of this attempt. */
export function runResult(t: Trainer, final: EvalReport, fit: FitReport, wallSeconds: number): RunResult {
  const cfg = t.config;
  const st = t.state;
  const bi = backendInfo();
  return {
    name: cfg.name,
    configHash: t.hash,
    config: cfg,
    seed: cfg.seed,
    backend: bi?.name ?? tf.getBackend(),
    versions: {
      'coreface-lab': PACKAGE.version, tfjs: tf.version.tfjs, node: process.version,
      // The backend package's own version and build (SIMD, threads): numbers are exact only on the same one.
      ...(bi ? { [`backend:${bi.name}`]: `${bi.version} (${bi.note})` } : {}),
    },
    steps: st.globalStep,
    wallSeconds,
    trainSeconds: st.trainSeconds,
    imgPerSec: (st.globalStep * cfg.training.batchSize) / Math.max(st.trainSeconds, 1e-9),
    finalLoss: st.lastLoss,
    final,
    fit,
    epochs: st.epochs,
  };
}
