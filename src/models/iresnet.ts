/**
 * IResNet family: the "improved residual network" backbone (Duta et al. 2020, "Improved Residual
 * Networks for Image and Video Recognition") in the form insightface uses for ArcFace (Deng et al.
 * 2019, "ArcFace: Additive Angular Margin Loss for Deep Face Recognition") and CoReFace (Song & Wang
 * 2024) trains on.
 *
 * Layout (NHWC): stem conv3x3(stemStride) -> BN -> PReLU; then stages of IBasicBlocks
 * `BN -> conv3x3 -> BN -> PReLU -> conv3x3(stride) -> BN` plus a shortcut `conv1x1(stride) -> BN`
 * when the shape changes, no activation after the sum; the first block of every stage has stride 2.
 * Output: the final feature map after one more BN, flattened to `[B, h * w * widths.last]` (the
 * insightface `bn2` output; dropout / fc / feature BN belong to the neck).
 *
 * Registers the presets `iresnet-nano` (stem stride 2, fastest), `iresnet-tiny`, `iresnet-small` (32x32) and `iresnet18`,
 * `iresnet34`, `iresnet50`, `iresnet100` (insightface depths, widths 64-128-256-512, 112x112).
 */
import * as tf from '@tensorflow/tfjs';
import { BatchNormParams, batchNorm, batchNormPrelu, conv2d, convOutSize, createBatchNorm, createPrelu } from './ops';
import { ParamStore } from './params';
import { Backbone, BackboneCreateOptions, registerBackbone } from './registry';
import { Rng } from '../util/rng';

/** Family options of the IResNet backbones. */
export interface IResNetOptions {
  /** Number of IBasicBlocks per stage. Default `[1, 2, 2]`. */
  depths?: number[];
  /** Channels per stage (same length as depths). Default `[16, 32, 64]`. */
  widths?: number[];
  /** Stem channels. Default `widths[0]`. */
  stemWidth?: number;
  /** Stem stride (2 halves the resolution once more, cheaper on large inputs). Default 1. */
  stemStride?: 1 | 2;
}

/** Family defaults (a small network for 32x32 inputs). */
export const IRESNET_DEFAULTS = { depths: [1, 2, 2], widths: [16, 32, 64], stemWidth: undefined, stemStride: 1 } as const;

/** insightface widths of the 112x112 IResNets. */
export const INSIGHTFACE_WIDTHS = [64, 128, 256, 512];

function isPosIntArray(v: unknown): v is number[] {
  return Array.isArray(v) && v.length > 0 && v.every((d) => Number.isInteger(d) && d > 0);
}

/** Validated, fully resolved IResNet options. */
export interface ResolvedIResNetOptions {
  depths: number[];
  widths: number[];
  stemWidth: number;
  stemStride: 1 | 2;
}

/** Validate and fill IResNet options (field-naming error messages). */
export function resolveIResNetOptions(o: IResNetOptions): ResolvedIResNetOptions {
  const depths = o.depths ?? [...IRESNET_DEFAULTS.depths];
  const widths = o.widths ?? [...IRESNET_DEFAULTS.widths];
  if (!isPosIntArray(depths)) throw new Error(`depths must be a non-empty array of positive integers, got ${JSON.stringify(depths)}`);
  if (!isPosIntArray(widths)) throw new Error(`widths must be a non-empty array of positive integers, got ${JSON.stringify(widths)}`);
  if (depths.length !== widths.length) {
    throw new Error(`depths and widths must have the same length, got ${depths.length} and ${widths.length}`);
  }
  const stemWidth = o.stemWidth ?? widths[0];
  if (!Number.isInteger(stemWidth) || stemWidth <= 0) throw new Error(`stemWidth must be a positive integer, got ${String(stemWidth)}`);
  const stemStride = o.stemStride ?? IRESNET_DEFAULTS.stemStride;
  if (stemStride !== 1 && stemStride !== 2) throw new Error(`stemStride must be 1 or 2, got ${String(stemStride)}`);
  return { depths: [...depths], widths: [...widths], stemWidth, stemStride };
}

/** Number of stride-2 layers on the path (stages, plus the stem when stemStride = 2). */
export function iresnetStride2Count(o: ResolvedIResNetOptions): number {
  return o.depths.length + (o.stemStride === 2 ? 1 : 0);
}

/** Smallest input height/width the IResNet accepts: 2^(number of stride-2 stages). */
export function iresnetMinResolution(o: IResNetOptions): number {
  return 2 ** iresnetStride2Count(resolveIResNetOptions(o));
}

interface Block {
  stride: number;
  bn1: BatchNormParams;
  conv1: tf.Variable;
  bn2: BatchNormParams;
  alpha: tf.Variable;
  conv2: tf.Variable;
  bn3: BatchNormParams;
  down: { conv: tf.Variable; bn: BatchNormParams } | null;
}

/** An IResNet instance (see the module doc). Create through the registry or {@link createIResNet}. */
export class IResNet implements Backbone {
  readonly name: string;
  readonly inputShape: [number, number, number];
  readonly featureDim: number;
  readonly outputShape: [number, number, number];
  readonly options: ResolvedIResNetOptions;
  private readonly stem: { conv: tf.Variable; bn: BatchNormParams; alpha: tf.Variable };
  private readonly blocks: Block[] = [];
  private readonly finalBn: BatchNormParams;

  constructor(name: string, store: ParamStore, inputShape: [number, number, number], opts: IResNetOptions, prefix = 'backbone/', rng?: Rng) {
    this.name = name;
    const o = resolveIResNetOptions(opts);
    this.options = o;
    if (!Array.isArray(inputShape) || inputShape.length !== 3 || !inputShape.every((d) => Number.isInteger(d) && d > 0)) {
      throw new Error(`inputShape must be [height, width, channels] of positive integers, got ${JSON.stringify(inputShape)}`);
    }
    this.inputShape = [inputShape[0], inputShape[1], inputShape[2]];
    const [h, w, c] = this.inputShape;
    const n2 = iresnetStride2Count(o);
    const need = 2 ** n2;
    const res = Math.min(h, w);
    if (res < need) throw new Error(`resolution ${res} too small for ${n2} stride-2 stages: needs >= ${need}`);

    const r = (name2: string): Rng | undefined => (rng ? rng.fork(name2) : undefined);
    const conv = (name2: string, k: number, cin: number, cout: number): tf.Variable =>
      store.variable(`${prefix}${name2}`, [k, k, cin, cout], 'he', r(name2));
    const bn = (name2: string, ch: number): BatchNormParams => createBatchNorm(store, `${prefix}${name2}`, ch);
    const alpha = (name2: string, ch: number): tf.Variable => createPrelu(store, `${prefix}${name2}`, ch);

    this.stem = { conv: conv('stem/conv', 3, c, o.stemWidth), bn: bn('stem/bn', o.stemWidth), alpha: alpha('stem/prelu', o.stemWidth) };
    let hh = convOutSize(h, 3, o.stemStride);
    let ww = convOutSize(w, 3, o.stemStride);
    let cin = o.stemWidth;
    o.depths.forEach((depth, s) => {
      const cout = o.widths[s];
      for (let j = 0; j < depth; j++) {
        const stride = j === 0 ? 2 : 1;
        const p = `stage${s + 1}/block${j}/`;
        this.blocks.push({
          stride,
          bn1: bn(`${p}bn1`, cin),
          conv1: conv(`${p}conv1`, 3, cin, cout),
          bn2: bn(`${p}bn2`, cout),
          alpha: alpha(`${p}prelu`, cout),
          conv2: conv(`${p}conv2`, 3, cout, cout),
          bn3: bn(`${p}bn3`, cout),
          down: stride !== 1 || cin !== cout ? { conv: conv(`${p}down/conv`, 1, cin, cout), bn: bn(`${p}down/bn`, cout) } : null,
        });
        if (stride === 2) {
          hh = convOutSize(hh, 3, 2);
          ww = convOutSize(ww, 3, 2);
        }
        cin = cout;
      }
    });
    this.finalBn = bn('final_bn', cin);
    this.outputShape = [hh, ww, cin];
    this.featureDim = hh * ww * cin;
  }

  /** Forward pass `[B, H, W, C]` -> `[B, featureDim]`; training mode uses batch statistics. */
  apply(x: tf.Tensor4D, training: boolean): tf.Tensor2D {
    const [, h, w, c] = x.shape;
    if (h !== this.inputShape[0] || w !== this.inputShape[1] || c !== this.inputShape[2]) {
      throw new Error(`${this.name}: expected input [B, ${this.inputShape.join(', ')}], got [${x.shape.join(', ')}]`);
    }
    const bnOpts = { training };
    return tf.tidy(() => {
      let y = conv2d(x, this.stem.conv, this.options.stemStride);
      y = batchNormPrelu(y, this.stem.bn, this.stem.alpha, bnOpts);
      for (const b of this.blocks) {
        let m = batchNorm(y, b.bn1, bnOpts);
        m = conv2d(m, b.conv1, 1);
        m = batchNormPrelu(m, b.bn2, b.alpha, bnOpts);
        m = conv2d(m, b.conv2, b.stride);
        m = batchNorm(m, b.bn3, bnOpts);
        const id = b.down ? batchNorm(conv2d(y, b.down.conv, b.stride, 0), b.down.bn, bnOpts) : y;
        y = tf.add(m, id);
      }
      y = batchNorm(y, this.finalBn, bnOpts);
      return tf.reshape(y, [x.shape[0], this.featureDim]);
    });
  }
}

/** Build an IResNet from registry-style options (family options validated, common ones extracted). */
export function createIResNet(name: string, opts: BackboneCreateOptions): IResNet {
  const { store, inputShape, prefix, rng, depths, widths, stemWidth, stemStride } = opts;
  return new IResNet(
    name,
    store,
    inputShape,
    { depths: depths as number[] | undefined, widths: widths as number[] | undefined, stemWidth: stemWidth as number | undefined, stemStride: stemStride as 1 | 2 | undefined },
    prefix ?? 'backbone/',
    rng,
  );
}

interface Preset {
  name: string;
  description: string;
  defaults: { depths: number[]; widths: number[]; stemWidth?: number; stemStride: 1 | 2 };
  inputShape: [number, number, number];
}

const PRESETS: Preset[] = [
  {
    name: 'iresnet-nano',
    description:
      'IResNet for the fastest 32x32 runs: stem stride 2, depths [1,1,1], widths [16,32,64] -> 2x2x64 features ' +
      '(~0.15-0.25 s per batch-64 training step on single-thread wasm)',
    defaults: { depths: [1, 1, 1], widths: [16, 32, 64], stemWidth: 16, stemStride: 2 },
    inputShape: [32, 32, 3],
  },
  {
    name: 'iresnet-tiny',
    description:
      'IResNet for 32x32 quick runs: stem stride 1, depths [1,1,1], widths [16,32,64] -> 4x4x64 features ' +
      '(~0.5-0.6 s per batch-64 training step on single-thread wasm)',
    defaults: { depths: [1, 1, 1], widths: [16, 32, 64], stemWidth: 16, stemStride: 1 },
    inputShape: [32, 32, 3],
  },
  {
    name: 'iresnet-small',
    description:
      'IResNet for 32x32 runs (the family defaults): stem stride 1, depths [1,2,2], widths [16,32,64] -> 4x4x64 features ' +
      '(~0.65-1 s per batch-64 training step on single-thread wasm)',
    defaults: { depths: [1, 2, 2], widths: [16, 32, 64], stemWidth: 16, stemStride: 1 },
    inputShape: [32, 32, 3],
  },
  {
    name: 'iresnet18',
    description: 'insightface iresnet18: depths [2,2,2,2], widths [64,128,256,512], 112x112 input',
    defaults: { depths: [2, 2, 2, 2], widths: INSIGHTFACE_WIDTHS, stemWidth: 64, stemStride: 1 },
    inputShape: [112, 112, 3],
  },
  {
    name: 'iresnet34',
    description: 'insightface iresnet34: depths [3,4,6,3], widths [64,128,256,512], 112x112 input',
    defaults: { depths: [3, 4, 6, 3], widths: INSIGHTFACE_WIDTHS, stemWidth: 64, stemStride: 1 },
    inputShape: [112, 112, 3],
  },
  {
    name: 'iresnet50',
    description: 'insightface iresnet50: depths [3,4,14,3], widths [64,128,256,512], 112x112 input',
    defaults: { depths: [3, 4, 14, 3], widths: INSIGHTFACE_WIDTHS, stemWidth: 64, stemStride: 1 },
    inputShape: [112, 112, 3],
  },
  {
    name: 'iresnet100',
    description: 'insightface iresnet100 (the CoReFace paper backbone): depths [3,13,30,3], widths [64,128,256,512], 112x112 input',
    defaults: { depths: [3, 13, 30, 3], widths: INSIGHTFACE_WIDTHS, stemWidth: 64, stemStride: 1 },
    inputShape: [112, 112, 3],
  },
];

for (const p of PRESETS) {
  registerBackbone(p.name, {
    description: p.description,
    defaults: { ...p.defaults, widths: [...p.defaults.widths], depths: [...p.defaults.depths] },
    inputShape: p.inputShape,
    minResolution: iresnetMinResolution(p.defaults),
    create: (opts) => createIResNet(p.name, opts),
  });
}
