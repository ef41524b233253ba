/**
 * One entry point for a `--model` argument: a registered embedder name (`faceres`, `face-api`) or the run
 * directory of a model trained by `coreface train`.
 */
import { loadCheckpointEmbedder } from './checkpoint';
import { createEmbedder, EmbedderSpec, resolveEmbedderSpec } from './registry';
import type { Embedder, EmbedderCreateOptions } from './types';

/**
 * Loads the embedder `spec` names (see `resolveEmbedderSpec`). Needs an initialised tfjs backend.
 * @throws UnknownEmbedderError (lists the registered names), EmbedderPackageError (names the npm package to
 *   install), or the checkpoint loader's errors.
 */
export async function loadEmbedder(spec: string | EmbedderSpec, opts: EmbedderCreateOptions = {}): Promise<Embedder> {
  const s = typeof spec === 'string' ? resolveEmbedderSpec(spec) : spec;
  if (s.kind === 'registered') return createEmbedder(s.name, opts);
  return loadCheckpointEmbedder(s.dir, { batchSize: opts.batchSize });
}
