/**
 * `face-api`: the face-recognition network of `@vladmandic/face-api` (face-api.js's tfjs port of dlib's ResNet-29
 * face descriptor, `dlib_face_recognition_resnet_model_v1`). Registered as `face-api`: 150 x 150 RGB in, 128-d out.
 * Plus {@link alignFaces} / {@link alignImageFolder}: its SSD MobileNet v1 detector and 68-landmark net, to cut
 * face crops the way the recognition net expects them out of raw photos.
 *
 * Loading pitfalls handled here
 * - Only the package's `dist/face-api.node-wasm.js` build is loaded, lazily. It requires `@tensorflow/tfjs` and
 *   `@tensorflow/tfjs-backend-wasm`, which resolve to the project's single tfjs 4.22 (checked: the module's tfjs
 *   engine must be ours, else loading stops with an explanation). The package's default `main`
 *   (`face-api.node.js`) requires `@tensorflow/tfjs-node`, which cannot be installed here.
 * - The build runs on whatever backend `initBackend` selected (wasm here); it does not set one itself.
 * - The weights are the package's own `model/*.bin` with their `*-weights_manifest.json`, read with `loadFromDisk`.
 * - The recognition net is a private instance (`new FaceRecognitionNet()`), so disposing one embedder does not
 *   break another; the detector and landmark nets are the module's shared `nets.*`, loaded once on first use
 *   (free them with {@link releaseFaceApiDetector}).
 *
 * Preprocessing (the net's own `forwardInput`): RGB pixels 0..255, each image padded to a square (centred) and
 * bilinearly resized to 150 x 150 (a no-op for our 150 x 150 input), minus the mean RGB (122.782, 117.001, 104.298),
 * divided by 255. Our [-1, 1] input is mapped back with `x * 127.5 + 127.5`. The 128-d descriptors are not
 * normalised (face-api compares them by Euclidean distance, threshold 0.6); cosine on normalised ones works too.
 */
import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import type { ImageSet } from '../data/types';
import type { VerificationSet } from '../data/readers/verification-set';
import { decodeImage, DecodedImage } from '../data/readers/decode';
import { scanImageFolder } from '../data/readers/image-folder';
import { errorMessage } from '../data/readers/errors';
import type { LogFn } from '../data/readers/stream';
import { packageRoot, registerEmbedder, requirePackage } from './registry';
import { embedInBatches, Embedder, EmbedderCreateOptions } from './types';

/** npm package of the face-api models. */
export const FACE_API_PACKAGE = '@vladmandic/face-api';
/** The build loaded: the one that uses `@tensorflow/tfjs` + the wasm backend package (no tfjs-node). */
export const FACE_API_BUILD = 'dist/face-api.node-wasm.js';
/** Input height = width of the recognition net. */
export const FACE_API_INPUT_SIZE = 150;
/** Descriptor length. */
export const FACE_API_EMBEDDING_DIM = 128;
/** Default images per forward pass. */
export const FACE_API_BATCH_SIZE = 16;

/** A loadable face-api network (the parts used here). */
interface FaceApiNet {
  readonly isLoaded: boolean;
  loadFromDisk(dir: string): Promise<void>;
  dispose(throwOnRedispose?: boolean): void;
}
interface FaceApiRecognitionNet extends FaceApiNet {
  forwardInput(input: unknown): tf.Tensor2D;
}
interface FaceApiRect {
  x: number;
  y: number;
  width: number;
  height: number;
}
interface FaceApiDetectionResult {
  detection: { score: number; box: FaceApiRect };
  landmarks: { align(detection: null, opts: { useDlibAlignment: boolean }): FaceApiRect };
}
/** The parts of the face-api module used here. */
interface FaceApiModule {
  version: string;
  tf: { engine(): unknown };
  FaceRecognitionNet: new () => FaceApiRecognitionNet;
  NetInput: new (inputs: tf.Tensor3D[], treatAsBatchInput?: boolean) => unknown;
  SsdMobilenetv1Options: new (opts: { minConfidence?: number; maxResults?: number }) => unknown;
  nets: { ssdMobilenetv1: FaceApiNet; faceLandmark68Net: FaceApiNet };
  detectAllFaces(input: tf.Tensor3D, opts: unknown): { withFaceLandmarks(): Promise<FaceApiDetectionResult[]> };
}

let cached: FaceApiModule | null = null;

/**
 * Loads `@vladmandic/face-api`'s node-wasm build once (lazily) and checks that it shares our tfjs.
 * @throws EmbedderPackageError when the package is missing; Error when it brought its own tfjs.
 */
export function loadFaceApiModule(): FaceApiModule {
  if (cached) return cached;
  const mod = requirePackage(FACE_API_PACKAGE, FACE_API_BUILD) as FaceApiModule;
  if (typeof mod?.tf?.engine !== 'function' || mod.tf.engine() !== tf.engine()) {
    throw new Error(`${FACE_API_PACKAGE} loaded a different copy of @tensorflow/tfjs than coreface-lab's ${tf.version_core}; ` +
      'make npm dedupe it (`npm ls @tensorflow/tfjs-core` must show one version)');
  }
  cached = mod;
  return mod;
}

/** Folder of the face-api weights: `modelDir`, or the installed package's `model/`. */
export function faceApiModelDir(modelDir?: string): string {
  return modelDir ?? path.join(packageRoot(FACE_API_PACKAGE), 'model');
}

/** The face-api recognition net as an {@link Embedder}. */
export class FaceApiEmbedder implements Embedder {
  readonly name = 'face-api';
  readonly inputSize = FACE_API_INPUT_SIZE;
  readonly channels = 3 as const;
  readonly embeddingDim = FACE_API_EMBEDDING_DIM;
  private net: FaceApiRecognitionNet | null;

  constructor(private readonly mod: FaceApiModule, net: FaceApiRecognitionNet, private readonly batchSize = FACE_API_BATCH_SIZE) {
    this.net = net;
  }

  async embed(images: Float32Array, count: number): Promise<Float32Array> {
    const net = this.net;
    if (!net) throw new Error('face-api: used after dispose()');
    return embedInBatches(this, images, count, this.batchSize, (x) => {
      const x255 = tf.add(tf.mul(x, 127.5), 127.5);
      // NetInput takes a list of 3-D images (a 4-D tensor only with batch size 1); true = always a batch.
      return net.forwardInput(new this.mod.NetInput(tf.unstack(x255) as tf.Tensor3D[], true));
    });
  }

  dispose(): void {
    this.net?.dispose(false);
    this.net = null;
  }
}

/** Loads the face-api recognition net (weights from the package or `opts.modelDir`). Needs a tfjs backend. */
export async function loadFaceApiEmbedder(opts: EmbedderCreateOptions = {}): Promise<FaceApiEmbedder> {
  const mod = loadFaceApiModule();
  const net = new mod.FaceRecognitionNet();
  await net.loadFromDisk(faceApiModelDir(opts.modelDir));
  return new FaceApiEmbedder(mod, net, opts.batchSize ?? FACE_API_BATCH_SIZE);
}

registerEmbedder('face-api', {
  description: 'dlib ResNet-29 face descriptor (face-api.js port) from @vladmandic/face-api: 150x150 RGB -> 128-d',
  package: FACE_API_PACKAGE,
  inputSize: FACE_API_INPUT_SIZE,
  channels: 3,
  embeddingDim: FACE_API_EMBEDDING_DIM,
  create: loadFaceApiEmbedder,
});

// ---------------------------------------------------------------------------------------------------------------
// Detection + alignment of raw photos

/** Options of {@link alignFaces}. */
export interface AlignFacesOptions {
  /** Output crop height = width. Default {@link FACE_API_INPUT_SIZE} (150). */
  size?: number;
  /** Minimum detector score. Default 0.5. */
  minConfidence?: number;
  /** Keep at most this many faces per photo, the most confident first. Default: all. */
  maxFacesPerImage?: number;
  /** Folder of the face-api weights. Default: the package's `model/`. */
  modelDir?: string;
  /** Called with one line per photo without a face or that fails to decode; `null` for silence. Default none. */
  log?: LogFn | null;
}

/** One detected face. */
export interface AlignedFace {
  /** Index of its photo in the input list. */
  image: number;
  /** The photo's name (path, or `#<index>` for bytes). */
  source: string;
  /** Detector score in [0, 1]. */
  score: number;
  /** The dlib-style alignment box in photo pixels (square unless clipped at the border). */
  box: FaceApiRect;
}

/** Result of {@link alignFaces}. */
export interface AlignedFaces {
  /** The crops, NHWC, normalised to [-1, 1]; `labels[i]` is the photo index of face i. */
  set: ImageSet;
  faces: AlignedFace[];
  /** Photos that gave no face, or failed to decode, with the reason. */
  skipped: { image: number; source: string; reason: string }[];
}

/** A photo given to {@link alignFaces}: a file path, or encoded JPEG/PNG bytes. */
export type PhotoInput = string | Uint8Array;

async function readPhoto(p: PhotoInput, i: number): Promise<{ img: DecodedImage; source: string }> {
  const source = typeof p === 'string' ? p : `#${i}`;
  const bytes = typeof p === 'string' ? new Uint8Array(await fs.promises.readFile(p)) : p;
  return { img: decodeImage(bytes, source), source };
}

/** Loads the shared detector and landmark nets once (no-op when already loaded). */
async function ensureDetector(mod: FaceApiModule, modelDir?: string): Promise<void> {
  const dir = faceApiModelDir(modelDir);
  if (!mod.nets.ssdMobilenetv1.isLoaded) await mod.nets.ssdMobilenetv1.loadFromDisk(dir);
  if (!mod.nets.faceLandmark68Net.isLoaded) await mod.nets.faceLandmark68Net.loadFromDisk(dir);
}

/** Frees face-api's shared detector and landmark nets (they are loaded again on the next {@link alignFaces}). */
export function releaseFaceApiDetector(): void {
  if (!cached) return;
  for (const net of [cached.nets.ssdMobilenetv1, cached.nets.faceLandmark68Net]) if (net.isLoaded) net.dispose(false);
}

/**
 * Detects faces in photos with face-api's SSD MobileNet v1, finds their 68 landmarks and cuts each face along
 * the dlib alignment box (`landmarks.align(null, { useDlibAlignment: true })`, as face-api's own descriptor
 * pipeline does: an axis-aligned square around eyes and mouth, no rotation), resized bilinearly to `size`
 * (a box clipped at the photo border is padded with black rather than stretched). Photos are processed one at
 * a time. Needs an initialised tfjs backend and `@vladmandic/face-api`.
 */
export async function alignFaces(photos: readonly PhotoInput[], opts: AlignFacesOptions = {}): Promise<AlignedFaces> {
  const size = opts.size ?? FACE_API_INPUT_SIZE;
  if (!Number.isInteger(size) || size <= 0) throw new RangeError(`size must be a positive integer, got ${size}`);
  const minConfidence = opts.minConfidence ?? 0.5;
  const maxFaces = opts.maxFacesPerImage ?? Infinity;
  const mod = loadFaceApiModule();
  await ensureDetector(mod, opts.modelDir);
  const options = new mod.SsdMobilenetv1Options({ minConfidence, maxResults: 100 });
  const crops: Float32Array[] = [];
  const faces: AlignedFace[] = [];
  const skipped: AlignedFaces['skipped'] = [];
  const skip = (image: number, source: string, reason: string): void => {
    skipped.push({ image, source, reason });
    opts.log?.(`${source}: skipped: ${reason}`);
  };
  for (let i = 0; i < photos.length; i++) {
    let photo: { img: DecodedImage; source: string };
    try {
      photo = await readPhoto(photos[i], i);
    } catch (e) {
      skip(i, typeof photos[i] === 'string' ? (photos[i] as string) : `#${i}`, errorMessage(e));
      continue;
    }
    const { img, source } = photo;
    const rgb = new Int32Array(img.width * img.height * 3);
    for (let p = 0, q = 0; p < rgb.length; p += 3, q += img.channels) {
      rgb[p] = img.data[q]; rgb[p + 1] = img.data[q + 1]; rgb[p + 2] = img.data[q + 2];
    }
    const t = tf.tensor3d(rgb, [img.height, img.width, 3], 'int32');
    try {
      const results = (await mod.detectAllFaces(t, options).withFaceLandmarks())
        .sort((a, b) => b.detection.score - a.detection.score)
        .slice(0, maxFaces);
      if (results.length === 0) {
        skip(i, source, `no face with score >= ${minConfidence}`);
        continue;
      }
      const boxes = results.map((r) => r.landmarks.align(null, { useDlibAlignment: true }));
      const crop = tf.tidy(() => {
        const side = boxes.map((b) => Math.max(b.width, b.height));
        // Square boxes centred on the alignment box, in cropAndResize's normalised [y1, x1, y2, x2] (outside = 0).
        const norm = boxes.map((b, k) => {
          const cx = b.x + b.width / 2, cy = b.y + b.height / 2, h = side[k] / 2;
          return [(cy - h) / img.height, (cx - h) / img.width, (cy + h) / img.height, (cx + h) / img.width];
        });
        const x = tf.expandDims(tf.cast(t, 'float32'), 0) as tf.Tensor4D;
        const c = tf.image.cropAndResize(x, tf.tensor2d(norm, [boxes.length, 4]), tf.zeros([boxes.length], 'int32'), [size, size], 'bilinear', 0);
        return tf.div(tf.sub(c, 127.5), 127.5);
      });
      crops.push(crop.dataSync() as Float32Array);
      crop.dispose();
      results.forEach((r, k) => {
        const b = boxes[k];
        faces.push({ image: i, source, score: r.detection.score, box: { x: b.x, y: b.y, width: b.width, height: b.height } });
      });
    } finally {
      t.dispose();
    }
  }
  const pix = size * size * 3;
  const images = new Float32Array(faces.length * pix);
  let offset = 0;
  for (const c of crops) {
    images.set(c, offset);
    offset += c.length;
  }
  const set: ImageSet = {
    images, labels: Int32Array.from(faces, (f) => f.image), count: faces.length, height: size, width: size, channels: 3,
  };
  return { set, faces, skipped };
}

/** Result of {@link alignImageFolder}. */
export interface AlignedImageFolder {
  /** One crop per photo with a face (its most confident one); labels are identity indices into `identities`. */
  set: ImageSet;
  identities: string[];
  /** Photo of each crop. */
  sources: string[];
  /** Photos without a face or that failed to decode. */
  skipped: { source: string; reason: string }[];
}

/**
 * {@link alignFaces} over an image folder `root/<identity>/<photo>` (layout rules of `scanImageFolder`): the most
 * confident face of each photo, labelled by its identity folder. Photos without a face are skipped and listed.
 */
export async function alignImageFolder(root: string, opts: Omit<AlignFacesOptions, 'maxFacesPerImage'> = {}): Promise<AlignedImageFolder> {
  const index = await scanImageFolder(root, { log: opts.log === undefined ? null : opts.log });
  const r = await alignFaces(index.files, { ...opts, maxFacesPerImage: 1 });
  const labels = Int32Array.from(r.faces, (f) => index.labels[f.image]);
  return {
    set: { ...r.set, labels },
    identities: index.identities,
    sources: r.faces.map((f) => f.source),
    skipped: r.skipped.map((s) => ({ source: s.source, reason: s.reason })),
  };
}

/** Result of {@link alignVerificationSet}. */
export interface AlignedVerificationSet {
  /** The set with one aligned crop per photo that has a face; pairs with a faceless photo are dropped (counted). */
  set: VerificationSet;
  /** Photos without a face (or that failed to decode again), with the reason. */
  noFace: { source: string; reason: string }[];
}

/**
 * Detection + alignment for raw photos in a verification set read from an image folder (LFW `pairs.txt`, whose
 * `sources` are file paths): each photo is replaced by the aligned crop of its most confident face
 * ({@link alignFaces}, `size` = the embedding model's input); a photo without a face is dropped with the pairs that
 * use it (added to `droppedPairs`, listed in `noFace`). Labels, identities and folds are kept.
 */
export async function alignVerificationSet(
  vs: VerificationSet,
  opts: Omit<AlignFacesOptions, 'maxFacesPerImage'> = {},
): Promise<AlignedVerificationSet> {
  const bad = vs.sources.find((s) => !fs.existsSync(s));
  if (bad !== undefined) throw new Error(`alignment needs photo files: ${vs.name}'s image source ${bad} is not a file`);
  const r = await alignFaces(vs.sources, { ...opts, maxFacesPerImage: 1 });
  const at = new Int32Array(vs.sources.length).fill(-1); // old image index -> crop index
  r.faces.forEach((f, k) => { at[f.image] = k; });
  const kept = Uint8Array.from(vs.pairs.left, (l, k) => (at[l] >= 0 && at[vs.pairs.right[k]] >= 0 ? 1 : 0));
  const sel = <T extends Int32Array | Uint8Array>(a: T): T => a.filter((_, k) => kept[k] === 1) as T;
  const left = sel(vs.pairs.left);
  const set: VerificationSet = {
    ...vs,
    images: { ...r.set, labels: Int32Array.from(r.faces, (f) => vs.images.labels[f.image]) },
    sources: r.faces.map((f) => f.source),
    pairs: {
      left: Int32Array.from(left, (i) => at[i]),
      right: Int32Array.from(sel(vs.pairs.right), (i) => at[i]),
      isSame: sel(vs.pairs.isSame),
      fold: sel(vs.pairs.fold),
    },
    droppedPairs: vs.droppedPairs + vs.pairs.left.length - left.length,
  };
  return { set, noFace: r.skipped.map((s) => ({ source: s.source, reason: s.reason })) };
}
