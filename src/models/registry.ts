/**
 * Backbone registry. Each backbone family lives in its own file that calls {@link registerBackbone}
 * for its presets; `src/models/index.ts` imports every family file. Adding a backbone = one new file
 * plus one import line.
 */
import * as tf from '@tensorflow/tfjs';
import { ParamStore } from './params';
import { Rng } from '../util/rng';
import { listingOf, type RegistryListing } from '../util/listing';

/** A feature extractor: images `[B, H, W, C]` -> flattened feature map `[B, featureDim]`. */
export interface Backbone {
  /** Registered name it was created from. */
  name: string;
  /** Input shape `[H, W, C]` it was built for. */
  inputShape: [number, number, number];
  /** Length of the flattened output. */
  featureDim: number;
  /** Final feature-map shape `[h, w, c]` (featureDim = h * w * c). */
  outputShape: [number, number, number];
  /** Forward pass; `training` selects batch statistics (and updates BN running statistics). */
  apply(x: tf.Tensor4D, training: boolean): tf.Tensor2D;
}

/** Options every backbone receives, plus its own family options (validated against the entry's defaults). */
export interface BackboneCreateOptions {
  /** Where parameters and state are created. */
  store: ParamStore;
  /** Input shape `[H, W, C]`. */
  inputShape: [number, number, number];
  /** Prefix of every variable name. Default `'backbone/'`. */
  prefix?: string;
  /** Initialisation stream; default: the store's per-name streams. */
  rng?: Rng;
  /** Family options (e.g. `depths`, `widths`). */
  [option: string]: unknown;
}

/** Registry entry of one backbone preset. */
export interface BackboneEntry {
  /** One line: what it is and what input it is meant for. */
  description: string;
  /** Family options with their preset values; the allowed option names are exactly these keys. */
  defaults: Record<string, unknown>;
  /** Nominal input shape of the preset (informational; tests use it to pick a resolution). */
  inputShape?: [number, number, number];
  /** Smallest input height/width the preset accepts with its defaults (informational). */
  minResolution?: number;
  /** Build the backbone. Receives `defaults` merged with the caller's options. */
  create(opts: BackboneCreateOptions): Backbone;
}

/** Option names every backbone accepts in addition to its family options. */
export const COMMON_BACKBONE_OPTIONS = ['store', 'inputShape', 'prefix', 'rng'] as const;

const registry = new Map<string, BackboneEntry>();

/** Register a backbone preset; a duplicate name throws. */
export function registerBackbone(name: string, entry: BackboneEntry): void {
  if (registry.has(name)) throw new Error(`backbone '${name}' is already registered`);
  registry.set(name, entry);
}

/** Every registered backbone (name, description), sorted by name. */
export function listBackbones(): RegistryListing[] {
  return listingOf(registry);
}

/** The registry entry of a backbone (throws listing the registered names when unknown). */
export function getBackboneEntry(name: string): BackboneEntry {
  const e = registry.get(name);
  if (!e) throw new Error(`unknown backbone '${name}'; registered: ${listBackbones().map((b) => b.name).join(', ')}`);
  return e;
}

/**
 * Create a registered backbone. Unknown option names throw, listing the allowed ones; the entry's
 * defaults fill in the options not given.
 */
export function createBackbone(name: string, opts: BackboneCreateOptions): Backbone {
  const entry = getBackboneEntry(name);
  const allowed = Object.keys(entry.defaults);
  const common: readonly string[] = COMMON_BACKBONE_OPTIONS;
  const unknown = Object.keys(opts).filter((k) => !common.includes(k) && !allowed.includes(k));
  if (unknown.length > 0) {
    throw new Error(
      `unknown option${unknown.length > 1 ? 's' : ''} ${unknown.map((k) => `'${k}'`).join(', ')} for backbone '${name}'; ` +
        `allowed: ${[...allowed, ...common].join(', ')}`,
    );
  }
  if (!(opts.store instanceof ParamStore)) throw new Error(`createBackbone('${name}'): store must be a ParamStore`);
  const merged: BackboneCreateOptions = { ...entry.defaults, ...stripUndefined(opts) } as BackboneCreateOptions;
  return entry.create(merged);
}

function stripUndefined(o: BackboneCreateOptions): Record<string, unknown> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));
}
