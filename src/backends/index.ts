// Temporary minimal version; the backends helper replaces this file with the full selection logic.
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';

export async function initBackend(opts: { backend?: string; quiet?: boolean } = {}): Promise<string> {
  const name = opts.backend ?? process.env.COREFACE_BACKEND ?? 'wasm';
  await tf.setBackend(name);
  await tf.ready();
  return tf.getBackend();
}
