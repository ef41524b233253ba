/**
 * SGD with momentum over all parameters in one native kernel (CorefaceSgdStep, native/coreface_native.cc): the
 * gradient norms and the update of every weight and velocity in one call, instead of ~6 small tfjs kernels per
 * parameter (issue 17). Same equations as src/train/sgd.ts, which calls this while {@link fusedSgdAvailable}:
 * clipped-group and total gradient norms (sums of squares in double), clip scale s = clipNorm / (norm + 1e-6)
 * when the clipped group's norm exceeds clipNorm > 0, then per element g' = g * (clipped ? s : 1) + wd * w,
 * v' = momentum * v + g', w' = w - lr * v'. A non-finite total norm is reported and nothing is updated.
 */
import * as tf from '@tensorflow/tfjs';
import { nativeKernelsInUse } from './native-kernels';

/** One parameter of {@link fusedSgdStep}. */
export interface FusedSgdParam {
  weight: tf.Variable;
  grad: tf.Tensor;
  velocity: tf.Variable;
  /** Whether its gradient belongs to the clipped group. */
  clip: boolean;
}

/** Hyper-parameters of one {@link fusedSgdStep} (see {@link SgdOptions} in src/train/sgd.ts). */
export interface FusedSgdHyper {
  lr: number;
  momentum: number;
  weightDecay: number;
  /** 0 = no clipping. */
  clipNorm: number;
}

/** True when the fused update can run on these parameters (native kernels in use, float32 weights and gradients). */
export function fusedSgdAvailable(params: readonly Pick<FusedSgdParam, 'weight' | 'grad'>[]): boolean {
  return nativeKernelsInUse() && params.every((p) => p.weight.dtype === 'float32' && p.grad.dtype === 'float32');
}

/**
 * Applies one SGD step to every parameter (weights and velocities are replaced by new buffers through `assign`) and
 * returns the gradient norms before clipping. Only while {@link fusedSgdAvailable}.
 */
export function fusedSgdStep(params: readonly FusedSgdParam[], hyper: FusedSgdHyper): { clippedNorm: number; totalNorm: number } {
  const inputs: tf.NamedTensorMap = {};
  params.forEach((p, i) => {
    if (p.grad.size !== p.weight.size || p.velocity.size !== p.weight.size || p.velocity.dtype !== 'float32') {
      throw new Error(`fusedSgdStep: parameter ${i} has weight [${p.weight.shape}], gradient [${p.grad.shape}] and velocity [${p.velocity.shape}]`);
    }
    inputs[`w${i}`] = p.weight;
    inputs[`g${i}`] = p.grad;
    inputs[`v${i}`] = p.velocity;
  });
  const attrs = { count: params.length, clip: params.map((p) => (p.clip ? 1 : 0)), hyper: [hyper.clipNorm, hyper.lr, hyper.momentum, hyper.weightDecay] };
  const [norms, ...outs] = tf.engine().runKernel('CorefaceSgdStep', inputs, attrs) as tf.Tensor[];
  const [clippedNorm, totalNorm] = norms.dataSync();
  norms.dispose();
  if (Number.isFinite(totalNorm)) {
    params.forEach((p, i) => {
      p.weight.assign(outs[2 * i]);
      p.velocity.assign(outs[2 * i + 1]);
    });
  }
  tf.dispose(outs);
  return { clippedNorm, totalNorm };
}
