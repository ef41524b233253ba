/**
 * Named parameter storage for the functional model system (no `tf.layers`).
 *
 * Every trainable weight and every piece of non-trainable state (batch-norm running statistics)
 * lives in a {@link ParamStore} under a unique, slash-separated name (`backbone/stage1/block0/conv1`,
 * `neck/fc`, `head/weight`). Checkpointing, weight decay and gradient clipping all work over these
 * names. Initial values are generated in JavaScript from the seeded {@link Rng} and only then
 * uploaded with `tf.tensor`, so initialisation is bit-identical on every backend.
 */
import * as tf from '@tensorflow/tfjs';
import { Rng } from '../util/rng';

/**
 * Initialisers understood by {@link VariableFactory.variable}. Fan-in / fan-out follow the tfjs
 * weight layouts: conv kernels `[kh, kw, cin, cout]` (fanIn = kh*kw*cin, fanOut = kh*kw*cout),
 * dense kernels `[in, out]`, rank-1 shapes use fanIn = fanOut = length.
 * - `he`: He/Kaiming normal, N(0, sqrt(2 / fanIn)) (He et al. 2015), used for convs and dense layers.
 * - `glorot`: Glorot/Xavier uniform, U(-l, l) with l = sqrt(6 / (fanIn + fanOut)) (Glorot & Bengio 2010).
 * - `normal`: N(0, 0.01) (the small-normal init insightface uses for margin-head proxies).
 * - `zeros`, `ones`: constants.
 */
export type InitKind = 'glorot' | 'normal' | 'zeros' | 'ones' | 'he';

/** Standard deviation of the `normal` initialiser. */
export const NORMAL_INIT_STD = 0.01;

/**
 * Creates named trainable variables. Backbones, the neck and margin heads receive one of these
 * (normally a {@link ParamStore}) instead of creating `tf.Variable`s themselves.
 */
export interface VariableFactory {
  /**
   * Create (and register) a trainable variable.
   * @param name unique name; a duplicate name throws.
   * @param shape variable shape.
   * @param init initialiser, see {@link InitKind}.
   * @param rng stream to draw the initial values from; default: a stream derived from the
   *   factory's seed and `name` (so adding a variable does not change the others' values).
   */
  variable(name: string, shape: number[], init: InitKind, rng?: Rng): tf.Variable;
}

/** A {@link VariableFactory} that can also hold non-trainable state (batch-norm running statistics). */
export interface ParamFactory extends VariableFactory {
  /**
   * Create (and register) a non-trainable state variable.
   * @param initValue a constant fill value, or the full initial data (length = product of shape).
   */
  state(name: string, shape: number[], initValue: number | ArrayLike<number>): tf.Variable;
}

/** One entry of {@link ParamStore.snapshot}: plain data, JSON-serialisable after `Array.from(data)`. */
export interface ParamSnapshotEntry {
  name: string;
  shape: number[];
  trainable: boolean;
  data: number[] | Float32Array;
}

/** Options of {@link ParamStore}. */
export interface ParamStoreOptions {
  /** Seed of the default initialisation streams. Default 0. Ignored when `rng` is given. */
  seed?: number | string;
  /** Base stream; per-variable streams are `rng.fork(name)` (the base stream is never advanced). */
  rng?: Rng;
}

/** Options of {@link ParamStore.load}. */
export interface ParamLoadOptions {
  /**
   * Require the snapshot to contain exactly the store's variables (no missing, no unknown names).
   * Default true. With false, unknown names in the snapshot and store variables absent from the
   * snapshot are skipped; shape mismatches still throw.
   */
  strict?: boolean;
}

function product(shape: number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** Fan-in and fan-out of a weight shape in the tfjs layouts (see {@link InitKind}). */
export function fans(shape: number[]): { fanIn: number; fanOut: number } {
  if (shape.length === 0) return { fanIn: 1, fanOut: 1 };
  if (shape.length === 1) return { fanIn: shape[0], fanOut: shape[0] };
  if (shape.length === 2) return { fanIn: shape[0], fanOut: shape[1] };
  const receptive = product(shape.slice(0, shape.length - 2));
  return { fanIn: receptive * shape[shape.length - 2], fanOut: receptive * shape[shape.length - 1] };
}

/** Initial values for `shape` drawn from `rng` (pure JS, backend independent). */
export function initValues(shape: number[], init: InitKind, rng: Rng): Float32Array {
  const n = product(shape);
  const out = new Float32Array(n);
  const { fanIn, fanOut } = fans(shape);
  switch (init) {
    case 'zeros':
      break;
    case 'ones':
      out.fill(1);
      break;
    case 'he': {
      const std = Math.sqrt(2 / fanIn);
      for (let i = 0; i < n; i++) out[i] = rng.normal(0, std);
      break;
    }
    case 'normal':
      for (let i = 0; i < n; i++) out[i] = rng.normal(0, NORMAL_INIT_STD);
      break;
    case 'glorot': {
      const limit = Math.sqrt(6 / (fanIn + fanOut));
      for (let i = 0; i < n; i++) out[i] = rng.uniform(-limit, limit);
      break;
    }
    default: {
      const bad: never = init;
      throw new Error(`init must be one of glorot, normal, zeros, ones, he, got ${String(bad)}`);
    }
  }
  return out;
}

function checkShape(name: string, shape: number[]): void {
  if (!Array.isArray(shape) || !shape.every((d) => Number.isInteger(d) && d > 0)) {
    throw new Error(`shape of '${name}' must be an array of positive integers, got [${String(shape)}]`);
  }
}

function makeVariable(values: Float32Array, shape: number[], trainable: boolean): tf.Variable {
  const init = tf.tensor(values, shape, 'float32');
  const v = tf.variable(init, trainable);
  init.dispose(); // the variable holds its own reference to the data
  return v;
}

/**
 * Named trainable variables plus non-trainable state. The underlying `tf.Variable`s are created
 * without a tfjs name (tfjs names are global), so several stores (models) can coexist.
 */
export class ParamStore implements ParamFactory {
  private readonly trainables = new Map<string, tf.Variable>();
  private readonly states = new Map<string, tf.Variable>();
  private readonly baseRng: Rng;
  private disposed = false;

  constructor(opts: ParamStoreOptions = {}) {
    this.baseRng = opts.rng ?? new Rng(opts.seed ?? 0);
  }

  private checkNew(name: string): void {
    if (this.disposed) throw new Error('ParamStore has been disposed');
    if (typeof name !== 'string' || name.length === 0) throw new Error('variable name must be a non-empty string');
    if (this.trainables.has(name) || this.states.has(name)) {
      throw new Error(`duplicate variable name '${name}': every parameter and state name must be unique`);
    }
  }

  /** @inheritdoc */
  variable(name: string, shape: number[], init: InitKind, rng?: Rng): tf.Variable {
    this.checkNew(name);
    checkShape(name, shape);
    const values = initValues(shape, init, rng ?? this.baseRng.fork(name));
    const v = makeVariable(values, shape, true);
    this.trainables.set(name, v);
    return v;
  }

  /** @inheritdoc */
  state(name: string, shape: number[], initValue: number | ArrayLike<number>): tf.Variable {
    this.checkNew(name);
    checkShape(name, shape);
    const n = product(shape);
    let values: Float32Array;
    if (typeof initValue === 'number') {
      values = new Float32Array(n).fill(initValue);
    } else {
      if (initValue.length !== n) {
        throw new Error(`state '${name}': initValue has ${initValue.length} values, shape [${shape}] needs ${n}`);
      }
      values = Float32Array.from(initValue);
    }
    const v = makeVariable(values, shape, false);
    this.states.set(name, v);
    return v;
  }

  /** Trainable variables by name, in creation order. */
  trainable(): Map<string, tf.Variable> {
    return new Map(this.trainables);
  }

  /** Non-trainable state variables by name, in creation order. */
  stateVars(): Map<string, tf.Variable> {
    return new Map(this.states);
  }

  /** A trainable or state variable by name (throws when unknown). */
  get(name: string): tf.Variable {
    const v = this.trainables.get(name) ?? this.states.get(name);
    if (!v) throw new Error(`unknown variable '${name}'`);
    return v;
  }

  /** Whether a trainable or state variable with this name exists. */
  has(name: string): boolean {
    return this.trainables.has(name) || this.states.has(name);
  }

  /** Number of scalar values in the trainable variables (plus state ones when `includeState`). */
  numParams(includeState = false): number {
    let n = 0;
    for (const v of this.trainables.values()) n += v.size;
    if (includeState) for (const v of this.states.values()) n += v.size;
    return n;
  }

  /** Copies of every variable's values (trainable first, then state), for checkpoints. */
  snapshot(): ParamSnapshotEntry[] {
    const out: ParamSnapshotEntry[] = [];
    for (const [trainable, map] of [[true, this.trainables], [false, this.states]] as const) {
      for (const [name, v] of map) {
        out.push({ name, shape: v.shape.slice(), trainable, data: Float32Array.from(v.dataSync() as Float32Array) });
      }
    }
    return out;
  }

  /**
   * Assign values from a {@link snapshot}. Everything is validated before anything is assigned,
   * so a failing load leaves the store unchanged.
   */
  load(snapshot: ParamSnapshotEntry[], opts: ParamLoadOptions = {}): void {
    const strict = opts.strict ?? true;
    const seen = new Set<string>();
    const plan: [tf.Variable, ParamSnapshotEntry][] = [];
    for (const e of snapshot) {
      if (seen.has(e.name)) throw new Error(`snapshot contains '${e.name}' twice`);
      seen.add(e.name);
      const v = this.trainables.get(e.name) ?? this.states.get(e.name);
      if (!v) {
        if (strict) throw new Error(`snapshot variable '${e.name}' does not exist in this model`);
        continue;
      }
      const isTrainable = this.trainables.has(e.name);
      if (e.trainable !== isTrainable) {
        throw new Error(
          `variable '${e.name}' is ${isTrainable ? 'trainable' : 'state'} here but ${e.trainable ? 'trainable' : 'state'} in the snapshot`,
        );
      }
      if (e.shape.length !== v.shape.length || e.shape.some((d, i) => d !== v.shape[i])) {
        throw new Error(`shape mismatch for variable '${e.name}': snapshot [${e.shape}], model [${v.shape}]`);
      }
      if (e.data.length !== v.size) {
        throw new Error(`variable '${e.name}': snapshot has ${e.data.length} values, shape [${e.shape}] needs ${v.size}`);
      }
      plan.push([v, e]);
    }
    if (strict) {
      const missing = [...this.trainables.keys(), ...this.states.keys()].filter((n) => !seen.has(n));
      if (missing.length > 0) {
        throw new Error(`snapshot is missing ${missing.length} variable(s): ${missing.slice(0, 5).join(', ')}${missing.length > 5 ? ', ...' : ''}`);
      }
    }
    for (const [v, e] of plan) {
      tf.tidy(() => v.assign(tf.tensor(Float32Array.from(e.data), e.shape, 'float32')));
    }
  }

  /** Dispose every variable; the store cannot be used afterwards. */
  dispose(): void {
    for (const v of this.trainables.values()) v.dispose();
    for (const v of this.states.values()) v.dispose();
    this.trainables.clear();
    this.states.clear();
    this.disposed = true;
  }
}
