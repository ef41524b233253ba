/**
 * `faceres`: the face-description model of `@vladmandic/human` (HSE-FaceRes, a MobileNet trained for identity, age
 * and gender by A. Savchenko's group; converted to a tfjs graph model with float16 weights). Registered as
 * `faceres`: 224 x 224 RGB in, 1024-d out.
 *
 * Loading: only the model files of the npm package are used (`models/faceres.json` + `models/faceres.bin`), read
 * from disk by a small IOHandler and given to `tf.loadGraphModel`; the package's own JavaScript (which bundles its
 * own tfjs) is never loaded, so there is exactly one tfjs. The package does not export its package.json; its
 * folder is found from its main entry.
 *
 * Preprocessing, as Human's `faceres.ts` does it: the face crop resized to 224 x 224, RGB, pixels 0..255 (float,
 * no mean subtraction: the converter merged the input scaling into the first convolution). Our [-1, 1] input is
 * mapped back with `x * 127.5 + 127.5`. The embedding is the graph's `global_pooling/Mean` output (1024 values,
 * non-negative: it follows a ReLU6), the descriptor Human compares faces with.
 */
import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { EmbedderPackageError, packageRoot, registerEmbedder } from './registry';
import { embedInBatches, Embedder, EmbedderCreateOptions } from './types';

/** npm package holding the model files. */
export const FACERES_PACKAGE = '@vladmandic/human';
/** Model file inside the package's `models/` folder. */
export const FACERES_MODEL_FILE = 'faceres.json';
/** Input height = width. */
export const FACERES_INPUT_SIZE = 224;
/** Embedding length. */
export const FACERES_EMBEDDING_DIM = 1024;
/** Graph node whose value is the embedding. */
export const FACERES_OUTPUT_NODE = 'global_pooling/Mean';
/** Default images per forward pass. */
export const FACERES_BATCH_SIZE = 16;

interface ModelJson {
  format?: string;
  generatedBy?: string;
  convertedBy?: string;
  signature?: object;
  modelTopology?: object;
  weightsManifest?: { paths: string[]; weights: tf.io.WeightsManifestEntry[] }[];
}

/**
 * An IOHandler reading a tfjs model (`model.json` + its weight files, in manifest order) from disk.
 * @throws Error naming the file when the JSON or a weight file is missing or malformed (at load time).
 */
export function fileModelHandler(jsonPath: string): tf.io.IOHandler {
  return {
    load: async (): Promise<tf.io.ModelArtifacts> => {
      let j: ModelJson;
      try {
        j = JSON.parse(await fs.promises.readFile(jsonPath, 'utf8')) as ModelJson;
      } catch (e) {
        throw new Error(`cannot read model ${jsonPath}: ${(e as Error).message}`);
      }
      if (!j.modelTopology || !Array.isArray(j.weightsManifest)) throw new Error(`${jsonPath}: not a tfjs model.json (no modelTopology / weightsManifest)`);
      const dir = path.dirname(jsonPath);
      const specs: tf.io.WeightsManifestEntry[] = [];
      const parts: Buffer[] = [];
      for (const group of j.weightsManifest) {
        specs.push(...group.weights);
        for (const p of group.paths) parts.push(await fs.promises.readFile(path.join(dir, p)));
      }
      const all = Buffer.concat(parts);
      const weightData = all.buffer.slice(all.byteOffset, all.byteOffset + all.byteLength) as ArrayBuffer;
      return {
        modelTopology: j.modelTopology, format: j.format, generatedBy: j.generatedBy, convertedBy: j.convertedBy,
        signature: j.signature, weightSpecs: specs, weightData,
      };
    },
  };
}

/** Folder of the faceres model files: `modelDir`, or the installed package's `models/`. */
export function faceresModelDir(modelDir?: string): string {
  return modelDir ?? path.join(packageRoot(FACERES_PACKAGE), 'models');
}

/** The faceres graph model as an {@link Embedder}. */
export class FaceresEmbedder implements Embedder {
  readonly name = 'faceres';
  readonly inputSize = FACERES_INPUT_SIZE;
  readonly channels = 3 as const;
  readonly embeddingDim = FACERES_EMBEDDING_DIM;
  private model: tf.GraphModel | null;

  constructor(model: tf.GraphModel, private readonly batchSize = FACERES_BATCH_SIZE) {
    this.model = model;
  }

  async embed(images: Float32Array, count: number): Promise<Float32Array> {
    const model = this.model;
    if (!model) throw new Error('faceres: used after dispose()');
    // faceres takes pixels in 0..255.
    return embedInBatches(this, images, count, this.batchSize, (x) => model.execute(tf.add(tf.mul(x, 127.5), 127.5), FACERES_OUTPUT_NODE) as tf.Tensor, FACERES_OUTPUT_NODE);
  }

  dispose(): void {
    this.model?.dispose();
    this.model = null;
  }
}

/** Loads faceres from `@vladmandic/human` (or `opts.modelDir`). Needs an initialised tfjs backend. */
export async function loadFaceresEmbedder(opts: EmbedderCreateOptions = {}): Promise<FaceresEmbedder> {
  const file = path.join(faceresModelDir(opts.modelDir), FACERES_MODEL_FILE);
  if (!fs.existsSync(file)) {
    throw new EmbedderPackageError(FACERES_PACKAGE, `faceres model file not found: ${file} (npm install ${FACERES_PACKAGE}, which ships models/faceres.json and faceres.bin)`);
  }
  const model = await tf.loadGraphModel(fileModelHandler(file));
  const input = model.inputs[0]?.shape;
  if (!input || input[1] !== FACERES_INPUT_SIZE || input[2] !== FACERES_INPUT_SIZE || input[3] !== 3) {
    model.dispose();
    throw new Error(`${file}: expected an input of [-1, ${FACERES_INPUT_SIZE}, ${FACERES_INPUT_SIZE}, 3], got [${input}]`);
  }
  return new FaceresEmbedder(model, opts.batchSize ?? FACERES_BATCH_SIZE);
}

registerEmbedder('faceres', {
  description: 'HSE-FaceRes (MobileNet; identity, age and gender) from @vladmandic/human: 224x224 RGB -> 1024-d',
  package: FACERES_PACKAGE,
  inputSize: FACERES_INPUT_SIZE,
  channels: 3,
  embeddingDim: FACERES_EMBEDDING_DIM,
  create: loadFaceresEmbedder,
});
