import { createHash } from 'crypto';
import { ConfigError, resolveObject, Schema } from './schema';
import { createPairLoss, getPairLossEntry, listPairLosses } from '../losses';
import { listDatasets, resolveDatasetOptions } from '../data';
import { getHeadEntry, listHeads } from '../heads';
import { getBackboneEntry, listBackbones } from '../models';
import {
  CONTRASTIVE_BATCH_WEIGHT_RANGE, CONTRASTIVE_MARGIN_MODES, CONTRASTIVE_MARGIN_RANGE, CONTRASTIVE_MASKS, CONTRASTIVE_PROTOCOLS,
  DEFAULT_BATCH_WEIGHT, DEFAULT_CONTRASTIVE_SCALE, DEFAULT_MARGIN_MODE, DEFAULT_MASK, DEFAULT_PROTOCOL,
  type ContrastiveMargin, type ContrastiveMask, type ContrastiveProtocol,
} from '../ops/coreface-options';

/**
 * The full, validated configuration of one training run. Every field has a default (see TRAIN_SCHEMA and
 * docs/config.md); a JSON config file only states what differs.
 */
export interface TrainConfig {
  name: string;
  seed: number;
  dataset: { name: string; options: Record<string, unknown> };
  model: { backbone: string; backboneOptions: Record<string, unknown>; embeddingDim: number };
  head: { name: string; options: Record<string, unknown> };
  pairLoss: { name: string; weight: number; options: Record<string, unknown>; headWeight: number };
  coreface: {
    enabled: boolean;
    startEpoch: number;
    protocol: ContrastiveProtocol;
    mask: ContrastiveMask;
    margin: ContrastiveMargin;
    batchWeight: number;
    scale: number;
    w1: number;
    w2: number;
    wC: number;
    wC2: number;
    referenceQuirk: boolean;
  };
  dropout: { before: number; after: number };
  optimizer: {
    lr: number;
    momentum: number;
    weightDecay: number;
    clipNorm: number;
    warmupEpochs: number;
    milestones: number[];
    gamma: number;
  };
  training: {
    epochs: number;
    batchSize: number;
    sampler: 'random' | 'identity-balanced';
    samplesPerIdentity: number;
    flip: boolean;
    evalEvery: number;
    checkpointEvery: number;
    logEvery: number;
  };
}

export const TRAIN_SCHEMA: Schema = {
  name: { kind: 'string', default: 'run', doc: 'Name of the run (used in output paths and tables).' },
  seed: { kind: 'number', integer: true, min: 0, default: 0, doc: 'Seed of every random choice (init, sampling, dropout).' },
  dataset: {
    kind: 'object',
    doc: 'Benchmark to train and evaluate on.',
    fields: {
      name: { kind: 'string', default: 'synthfaces', doc: 'Registered dataset name (`listDatasets()`).' },
      options: { kind: 'record', default: {}, doc: 'Dataset options (validated by the dataset).' },
    },
  },
  model: {
    kind: 'object',
    doc: 'Backbone and embedding neck.',
    fields: {
      backbone: { kind: 'string', default: 'iresnet-tiny', doc: 'Registered backbone name (`listBackbones()`).' },
      backboneOptions: { kind: 'record', default: {}, doc: 'Backbone options (validated by the backbone).' },
      embeddingDim: { kind: 'number', integer: true, min: 2, default: 128, doc: 'Embedding size E of the neck.' },
    },
  },
  head: {
    kind: 'object',
    doc: 'Margin-softmax head.',
    fields: {
      name: { kind: 'string', default: 'arcface', doc: 'Registered head name (`listHeads()`).' },
      options: { kind: 'record', default: {}, doc: 'Head options, e.g. {"scale": 64, "margin": 0.5}.' },
    },
  },
  pairLoss: {
    kind: 'object',
    doc: 'Pair/batch metric-learning loss on the embeddings, alone or beside the head (docs/losses.md).',
    fields: {
      name: {
        kind: 'string',
        default: 'none',
        doc: `Registered pair loss (\`listPairLosses()\`: ${listPairLosses().map((l) => l.name).join(', ')}) or 'none' (default 'none': no pair loss, and the other pairLoss fields are ignored).`,
      },
      weight: { kind: 'number', min: 0, default: 1, doc: 'Weight of the pair loss in the total (default 1). With CoReFace it is applied to view 1.' },
      options: { kind: 'record', default: {}, doc: 'Options of the pair loss, validated by the loss (default {}: its own defaults), e.g. {"temperature": 0.1}.' },
      headWeight: { kind: 'number', min: 0, default: 1, doc: 'Weight of the margin head\'s CE (default 1; 0 = the pair loss alone). With CoReFace it scales `w1` and `w2`, not the contrastive terms.' },
    },
  },
  coreface: {
    kind: 'object',
    doc: 'CoReFace contrastive regularisation (Song & Wang 2024).',
    fields: {
      enabled: { kind: 'boolean', default: false, doc: 'Two dropout views and the contrastive term from `startEpoch` on.' },
      startEpoch: { kind: 'number', integer: true, min: 0, default: 0, doc: 'Epoch (0-based) at which two views and the contrastive term start (reference: the first LR drop).' },
      // values, ranges and defaults of the CoReFace loss options: src/ops/coreface-options.ts (also read by the loss and the fused kernels)
      protocol: { kind: 'string', oneOf: CONTRASTIVE_PROTOCOLS, default: DEFAULT_PROTOCOL, doc: 'Pair-coupling protocol.' },
      mask: { kind: 'string', oneOf: CONTRASTIVE_MASKS, default: DEFAULT_MASK, doc: 'Same-identity entries: replaced by 0 (reference), excluded, or kept.' },
      margin: {
        kind: 'numberOrEnum', oneOf: CONTRASTIVE_MARGIN_MODES, min: CONTRASTIVE_MARGIN_RANGE.min, max: CONTRASTIVE_MARGIN_RANGE.max,
        default: DEFAULT_MARGIN_MODE,
        doc: `Adaptive margin state (reference), a fixed margin in [${CONTRASTIVE_MARGIN_RANGE.min}, ${CONTRASTIVE_MARGIN_RANGE.max}], or none (0).`,
      },
      batchWeight: {
        kind: 'number', min: CONTRASTIVE_BATCH_WEIGHT_RANGE.min, max: CONTRASTIVE_BATCH_WEIGHT_RANGE.max, default: DEFAULT_BATCH_WEIGHT,
        doc: 'Weight of the current batch in the margin update (reference 0.99; a conventional EMA is 0.01).',
      },
      scale: { kind: 'number', min: 0, exclusiveMin: true, default: DEFAULT_CONTRASTIVE_SCALE, doc: 'Scale s of the contrastive logits.' },
      w1: { kind: 'number', min: 0, default: 0.5, doc: 'Weight of CE on view 1.' },
      w2: { kind: 'number', min: 0, default: 0.5, doc: 'Weight of CE on view 2.' },
      wC: { kind: 'number', min: 0, default: 0.05, doc: 'Weight of L_con(x1 -> x2).' },
      wC2: { kind: 'number', min: 0, default: 0, doc: 'Weight of L_con(x2 -> x1).' },
      referenceQuirk: { kind: 'boolean', default: false, doc: 'Also evaluate L_con(x2 -> x1) with weight 0 (updates the margin twice per step, as the reference code).' },
    },
  },
  dropout: {
    kind: 'object',
    doc: 'Neck dropout before and after the contrastive start epoch.',
    fields: {
      before: { kind: 'number', min: 0, max: 0.95, default: 0, doc: 'Dropout before `coreface.startEpoch` (or always, when CoReFace is off).' },
      after: { kind: 'number', min: 0, max: 0.95, default: 0, doc: 'Dropout from `coreface.startEpoch` on (CoReFace only; reference 0.6).' },
    },
  },
  optimizer: {
    kind: 'object',
    doc: 'SGD with momentum and weight decay (PyTorch semantics).',
    fields: {
      lr: { kind: 'number', min: 0, exclusiveMin: true, default: 0.1, doc: 'Base learning rate.' },
      momentum: { kind: 'number', min: 0, max: 0.999, default: 0.9, doc: 'Momentum.' },
      weightDecay: { kind: 'number', min: 0, default: 5e-4, doc: 'L2 weight decay added to the gradients.' },
      clipNorm: { kind: 'number', min: 0, default: 5, doc: 'Global gradient-norm clip of the backbone parameters (0 = off).' },
      warmupEpochs: { kind: 'number', min: 0, default: 0, doc: 'Linear LR warm-up length in epochs (fractional allowed).' },
      milestones: { kind: 'numberList', integer: true, min: 1, increasing: true, default: [8, 14, 20], doc: 'Epochs at which the LR is multiplied by `gamma`.' },
      gamma: { kind: 'number', min: 0, exclusiveMin: true, max: 1, default: 0.1, doc: 'LR decay factor at each milestone.' },
    },
  },
  training: {
    kind: 'object',
    doc: 'Loop, sampling, evaluation and checkpoints.',
    fields: {
      epochs: { kind: 'number', integer: true, min: 1, default: 24, doc: 'Number of epochs.' },
      batchSize: { kind: 'number', integer: true, min: 2, default: 64, doc: 'Batch size (the contrastive matrix is batch x batch).' },
      sampler: { kind: 'string', oneOf: ['random', 'identity-balanced'], default: 'random', doc: 'Random permutation per epoch, or k images per identity per batch.' },
      samplesPerIdentity: { kind: 'number', integer: true, min: 1, default: 2, doc: 'k of the identity-balanced sampler.' },
      flip: { kind: 'boolean', default: true, doc: 'Random horizontal flip of training images (same for every method).' },
      evalEvery: { kind: 'number', integer: true, min: 0, default: 1, doc: 'Evaluate every n epochs (0 = only after the last epoch).' },
      checkpointEvery: { kind: 'number', integer: true, min: 0, default: 1, doc: 'Write a checkpoint every n epochs (0 = only at the end).' },
      logEvery: { kind: 'number', integer: true, min: 1, default: 10, doc: 'Write a metrics line every n steps.' },
    },
  },
};

/**
 * Validates a (partial) config and fills in every default; `undefined` gives the default config. Every default
 * means the registered ones too: the dataset's options (`DatasetEntry.resolveOptions`), the backbone's, the
 * head's and the pair loss's option defaults are written into the config, so a config (its hash, its run key,
 * config.json) states everything that determines the run, and changing a registered default changes it. Throws
 * ConfigError naming the field for any invalid input (including `null`: a config file holding `null` is a
 * mistake, not a request for the 24-epoch default run), never another error type.
 */
export function resolveTrainConfig(partial: unknown): TrainConfig {
  const cfg = resolveObject('config', TRAIN_SCHEMA, partial === undefined ? {} : partial) as unknown as TrainConfig;
  const { coreface, training } = cfg;
  if (coreface.enabled && coreface.startEpoch >= training.epochs) {
    throw new ConfigError(
      'config.coreface.startEpoch',
      `config.coreface.startEpoch (${coreface.startEpoch}) must be < config.training.epochs (${training.epochs})`,
    );
  }
  if (training.sampler === 'identity-balanced' && training.batchSize % training.samplesPerIdentity !== 0) {
    throw new ConfigError(
      'config.training.batchSize',
      `config.training.batchSize (${training.batchSize}) must be a multiple of config.training.samplesPerIdentity (${training.samplesPerIdentity})`,
    );
  }
  checkPairLoss(cfg.pairLoss);
  cfg.dataset.options = resolveRegistered('config.dataset', 'dataset', cfg.dataset.name, () => listDatasets().map((d) => d.name),
    () => resolveDatasetOptions(cfg.dataset.name, cfg.dataset.options), Object.keys(cfg.dataset.options));
  cfg.model.backboneOptions = resolveRegistered('config.model', 'backbone', cfg.model.backbone, () => listBackbones().map((b) => b.name),
    () => withDefaults(getBackboneEntry(cfg.model.backbone).defaults, cfg.model.backboneOptions, `backbone '${cfg.model.backbone}'`),
    Object.keys(cfg.model.backboneOptions), 'backboneOptions');
  cfg.head.options = resolveRegistered('config.head', 'head', cfg.head.name, () => listHeads().map((h) => h.name),
    () => withDefaults(getHeadEntry(cfg.head.name).defaults, cfg.head.options, `head '${cfg.head.name}'`), Object.keys(cfg.head.options));
  if (cfg.pairLoss.name !== 'none') {
    cfg.pairLoss.options = withDefaults(getPairLossEntry(cfg.pairLoss.name).defaults, cfg.pairLoss.options, `pair loss '${cfg.pairLoss.name}'`);
  }
  return cfg;
}

/**
 * `given` over `defaults`: unknown keys and values of another type than the default's throw (messages name the
 * option); `undefined` takes the default. Array and object defaults accept any array / object.
 */
function withDefaults(defaults: Record<string, unknown>, given: Record<string, unknown>, owner: string): Record<string, unknown> {
  const out: Record<string, unknown> = { ...defaults };
  const allowed = Object.keys(defaults);
  const kind = (v: unknown): string => (Array.isArray(v) ? 'array' : v === null ? 'null' : typeof v);
  for (const [k, v] of Object.entries(given)) {
    if (!allowed.includes(k)) throw new Error(`unknown option '${k}' of ${owner} (allowed: ${allowed.join(', ') || 'none'})`);
    if (v === undefined) continue;
    if (kind(v) !== kind(defaults[k])) throw new Error(`${k} must be a${kind(defaults[k]) === 'array' ? 'n' : ''} ${kind(defaults[k])} for ${owner}, got ${JSON.stringify(v)}`);
    out[k] = v;
  }
  return out;
}

/**
 * Runs `resolve` for a registered component at `path` (e.g. 'config.head'), turning its errors into ConfigErrors:
 * an unknown name at `<path>.name` (or the name field), an option error at `<path>.<optionsField>.<option>` when
 * the message names a given option, else at `<path>.<optionsField>`.
 */
function resolveRegistered(path: string, what: string, name: string, names: () => string[], resolve: () => Record<string, unknown>,
  givenKeys: string[], optionsField = 'options'): Record<string, unknown> {
  const nameField = what === 'backbone' ? 'backbone' : 'name';
  if (!names().includes(name)) {
    throw new ConfigError(`${path}.${nameField}`, `${path}.${nameField} must be a registered ${what} (${names().join(', ')}), got ${JSON.stringify(name.length > 80 ? `${name.slice(0, 80)}...` : name)}`);
  }
  try {
    return resolve();
  } catch (e) {
    const msg = String((e as Error)?.message ?? e).slice(0, REGISTERED_MESSAGE_MAX);
    const field = /^(\w+) must be/.exec(msg)?.[1] ?? /option '(\w+)'/.exec(msg)?.[1];
    const at = field !== undefined && givenKeys.includes(field) ? `${path}.${optionsField}.${field}` : `${path}.${optionsField}`;
    throw new ConfigError(at, `${at}: ${msg}`);
  }
}

/** Longest part of a registered component's message kept in a ConfigError (it may list every allowed option). */
const REGISTERED_MESSAGE_MAX = 500;

/** Longest part of a pair-loss message kept in a ConfigError (option values may be long strings). */
const PAIR_MESSAGE_MAX = 200;

/**
 * Validates `pairLoss` against the pair-loss registry (at config time, so `coreface train`, `ablate`'s check of
 * every variant and the CLI's exit code 2 cover it): the name must be 'none' or registered, and the options must
 * be accepted by the loss. Errors are ConfigErrors at the offending path.
 */
function checkPairLoss(p: TrainConfig['pairLoss']): void {
  if (p.name === 'none') return;
  const names = listPairLosses().map((l) => l.name);
  if (!names.includes(p.name)) {
    const shown = JSON.stringify(p.name.length > 80 ? `${p.name.slice(0, 80)}...` : p.name);
    throw new ConfigError('config.pairLoss.name', `config.pairLoss.name must be 'none' or a registered pair loss (${names.join(', ')}), got ${shown}`);
  }
  const allowed = Object.keys(getPairLossEntry(p.name).defaults);
  for (const key of Object.keys(p.options)) {
    if (!allowed.includes(key)) {
      const path = `config.pairLoss.options.${key}`;
      throw new ConfigError(path, `unknown field ${path} of pair loss '${p.name}' (allowed: ${allowed.join(', ') || 'none'})`);
    }
  }
  try {
    createPairLoss(p.name, p.options);
  } catch (e) {
    const msg = String((e as Error)?.message ?? e).slice(0, PAIR_MESSAGE_MAX);
    const field = /^(\w+) must be/.exec(msg)?.[1];
    const path = field !== undefined && allowed.includes(field) ? `config.pairLoss.options.${field}` : 'config.pairLoss.options';
    throw new ConfigError(path, `${path}: ${msg}`);
  }
}

/** Deep merge of plain objects (arrays and scalars in `b` replace those in `a`). */
export function deepMerge<T>(a: T, b: unknown): T {
  if (typeof a !== 'object' || a === null || Array.isArray(a) || typeof b !== 'object' || b === null || Array.isArray(b)) {
    return (b === undefined ? a : b) as T;
  }
  const out: Record<string, unknown> = { ...(a as Record<string, unknown>) };
  for (const [k, v] of Object.entries(b as Record<string, unknown>)) out[k] = deepMerge(out[k], v);
  return out as T;
}

function canonical(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(canonical);
  if (typeof v === 'object' && v !== null) {
    return Object.fromEntries(Object.keys(v).sort().map((k) => [k, canonical((v as Record<string, unknown>)[k])]));
  }
  return v;
}

/**
 * Content hash (12 hex) of a resolved config: identifies a run. A `pairLoss` named 'none' has no effect on the
 * run and is left out, so configs written before the section existed keep their hash (checkpoints, run store).
 */
export function configHash(cfg: TrainConfig): string {
  const hashed = cfg.pairLoss === undefined || cfg.pairLoss.name === 'none'
    ? Object.fromEntries(Object.entries(cfg).filter(([k]) => k !== 'pairLoss'))
    : cfg;
  return createHash('sha256').update(JSON.stringify(canonical(hashed))).digest('hex').slice(0, 12);
}
