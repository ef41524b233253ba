/**
 * Experiments as data: a base config, named variants (partial overrides of it), parameter sweeps that expand
 * into variants, a baseline variant for paired comparisons, and seeds. `resolveExperiment` validates a spec
 * (from TypeScript or JSON) and `planRuns` expands it into runs, each identified by a content hash of its full
 * resolved config plus the code version (see store.ts), so the same run is shared by every experiment that
 * contains it and is never recomputed.
 */
import { ConfigError, deepMerge, resolveTrainConfig, TrainConfig } from '../config';
import { runKey } from './store';

/** One arm of an experiment: a name, a table label, a description and the config fields it changes. */
export interface ExperimentVariant {
  /** Identifier ([a-z0-9._-]), unique in the experiment. */
  name: string;
  /** Label in tables and plots (default: the name). */
  label?: string;
  description?: string;
  /** Partial config merged over the experiment's base (deep merge; arrays replace). */
  overrides?: Record<string, unknown>;
}

/**
 * A one-parameter sweep that expands into one variant per value: name `<prefix>-<value>`, overrides
 * `deepMerge(overrides, {<path>: value})`, label `<label> = <value>`.
 */
export interface ExperimentSweep {
  prefix: string;
  /** Label stem (default: the path). */
  label?: string;
  description?: string;
  /** Dotted config path, e.g. 'coreface.wC'. */
  path: string;
  values: (number | string | boolean)[];
  /** Fields shared by every point of the sweep (e.g. enabling CoReFace). */
  overrides?: Record<string, unknown>;
}

/** An experiment definition (JSON-serialisable). */
export interface ExperimentSpec {
  /** Identifier ([a-z0-9._-]); results go to results/<name>/. */
  name: string;
  description?: string;
  /** Config shared by all variants (fields not given take the config defaults: `coreface config --defaults`). */
  base: Record<string, unknown>;
  variants: ExperimentVariant[];
  sweeps?: ExperimentSweep[];
  /** Variant the others are compared with, paired by seed (default: the first variant). */
  baseline?: string;
  /** Seeds: a count n (seeds 0..n-1) or an explicit list (default 2). */
  seeds?: number | number[];
}

/** A validated experiment with its sweeps expanded into variants. */
export interface ResolvedExperiment {
  name: string;
  description: string;
  base: Record<string, unknown>;
  variants: Required<ExperimentVariant>[];
  baseline: string;
  seeds: number[];
  /** The spec as given (shown in reports). */
  spec: ExperimentSpec;
}

/** One planned run: a variant at a seed, its full config and its store key. */
export interface PlannedRun {
  key: string;
  variant: string;
  seed: number;
  config: TrainConfig;
}

/** Default number of seeds of an experiment. */
export const DEFAULT_EXPERIMENT_SEEDS = 2;

/** Names an experiment cannot take: folders of the results store. */
const RESERVED_NAMES = ['runs', 'locks'];
const NAME_RE = /^[a-z0-9][a-z0-9._-]*$/;
const SPEC_FIELDS = ['name', 'description', 'base', 'variants', 'sweeps', 'baseline', 'seeds'];
const VARIANT_FIELDS = ['name', 'label', 'description', 'overrides'];
const SWEEP_FIELDS = ['prefix', 'label', 'description', 'path', 'values', 'overrides'];

/** A ConfigError about an experiment spec (the message names the place). */
function experimentError(message: string): ConfigError {
  return new ConfigError('experiment', message);
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function checkFields(v: Record<string, unknown>, allowed: string[], where: string): void {
  for (const k of Object.keys(v)) {
    if (!allowed.includes(k)) throw experimentError(`${where}: unknown field '${k}' (allowed: ${allowed.join(', ')})`);
  }
}

function checkName(v: unknown, where: string): string {
  if (typeof v !== 'string' || !NAME_RE.test(v)) {
    throw experimentError(`${where} must match ${NAME_RE} (lower-case letters, digits, '.', '_', '-'), got ${JSON.stringify(v)}`);
  }
  return v;
}

function optString(v: unknown, where: string): string | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== 'string') throw experimentError(`${where} must be a string, got ${JSON.stringify(v)}`);
  return v;
}

function optObject(v: unknown, where: string): Record<string, unknown> {
  if (v === undefined) return {};
  if (!isObject(v)) throw experimentError(`${where} must be an object, got ${JSON.stringify(v)}`);
  return v;
}

/** `{a: {b: value}}` for path 'a.b'. */
export function pathObject(path: string, value: unknown): Record<string, unknown> {
  const parts = path.split('.');
  if (parts.some((p) => p.length === 0)) throw experimentError(`sweep path '${path}' is not a dotted field path`);
  return parts.reduceRight<Record<string, unknown>>((acc, p, i) => ({ [p]: i === parts.length - 1 ? value : acc }), {});
}

function expandSweep(s: unknown, i: number): Required<ExperimentVariant>[] {
  const where = `sweeps[${i}]`;
  if (!isObject(s)) throw experimentError(`${where} must be an object`);
  checkFields(s, SWEEP_FIELDS, where);
  const prefix = checkName(s.prefix, `${where}.prefix`);
  if (typeof s.path !== 'string') throw experimentError(`${where}.path must be a dotted config path, got ${JSON.stringify(s.path)}`);
  const path = s.path;
  if (!Array.isArray(s.values) || s.values.length === 0) throw experimentError(`${where}.values must be a non-empty array`);
  const label = optString(s.label, `${where}.label`) ?? path;
  const description = optString(s.description, `${where}.description`) ?? `${path} swept over ${s.values.join(', ')}`;
  const shared = optObject(s.overrides, `${where}.overrides`);
  return s.values.map((v, j) => {
    if (!['number', 'string', 'boolean'].includes(typeof v)) throw experimentError(`${where}.values[${j}] must be a number, string or boolean`);
    return {
      name: checkName(`${prefix}-${String(v)}`, `${where}.values[${j}] (variant name)`),
      label: `${label} = ${String(v)}`,
      description,
      overrides: deepMerge(shared, pathObject(path, v)) as Record<string, unknown>,
    };
  });
}

/**
 * Validates an experiment spec and expands its sweeps: unknown fields, bad names, duplicate variants, an unknown
 * baseline, bad seeds, and any variant whose merged config does not resolve are `ConfigError`s naming the place.
 */
export function resolveExperiment(spec: unknown): ResolvedExperiment {
  if (!isObject(spec)) throw experimentError('an experiment must be a JSON object');
  checkFields(spec, SPEC_FIELDS, 'experiment');
  const name = checkName(spec.name, 'experiment.name');
  if (RESERVED_NAMES.includes(name)) throw experimentError(`experiment.name '${name}' is reserved (it is a folder of the results store)`);
  const base = optObject(spec.base, 'experiment.base');
  if (!Array.isArray(spec.variants)) throw experimentError('experiment.variants must be an array of variants');
  const variants: Required<ExperimentVariant>[] = spec.variants.map((v, i) => {
    const where = `variants[${i}]`;
    if (!isObject(v)) throw experimentError(`${where} must be an object`);
    checkFields(v, VARIANT_FIELDS, where);
    const vname = checkName(v.name, `${where}.name`);
    return {
      name: vname,
      label: optString(v.label, `${where}.label`) ?? vname,
      description: optString(v.description, `${where}.description`) ?? '',
      overrides: optObject(v.overrides, `${where}.overrides`),
    };
  });
  if (spec.sweeps !== undefined) {
    if (!Array.isArray(spec.sweeps)) throw experimentError('experiment.sweeps must be an array');
    spec.sweeps.forEach((s, i) => variants.push(...expandSweep(s, i)));
  }
  if (variants.length === 0) throw experimentError(`experiment '${name}' has no variants`);
  const seen = new Set<string>();
  for (const v of variants) {
    if (seen.has(v.name)) throw experimentError(`experiment '${name}': variant '${v.name}' is defined twice`);
    seen.add(v.name);
  }
  const baseline = spec.baseline === undefined ? variants[0].name : checkName(spec.baseline, 'experiment.baseline');
  if (!seen.has(baseline)) throw experimentError(`experiment.baseline '${baseline}' is not a variant (variants: ${[...seen].join(', ')})`);
  const seeds = resolveSeeds(spec.seeds ?? DEFAULT_EXPERIMENT_SEEDS, 'experiment.seeds');
  for (const [where, o] of [['experiment.base', base], ...variants.map((v) => [`variant '${v.name}' overrides`, v.overrides] as const)] as const) {
    for (const k of ['seed', 'name']) {
      if (k in o) throw experimentError(`${where} set '${k}': runs take their seed from experiment.seeds and their name from the store key`);
    }
  }
  for (const v of variants) {
    try {
      resolveTrainConfig(deepMerge(base, v.overrides));
    } catch (e) {
      throw experimentError(`experiment '${name}', variant '${v.name}': ${(e as Error).message}`);
    }
  }
  const description = optString(spec.description, 'experiment.description') ?? '';
  return { name, description, base, variants, baseline, seeds, spec: spec as unknown as ExperimentSpec };
}

/** Seeds from a count n (0..n-1) or a list of distinct non-negative integers. */
export function resolveSeeds(v: unknown, where = 'seeds'): number[] {
  if (typeof v === 'number') {
    if (!Number.isInteger(v) || v < 1) throw experimentError(`${where} must be a positive integer or a list of seeds, got ${v}`);
    return Array.from({ length: v }, (_, i) => i);
  }
  if (!Array.isArray(v) || v.length === 0 || !v.every((s) => Number.isInteger(s) && s >= 0)) {
    throw experimentError(`${where} must be a positive integer or a non-empty list of non-negative integers, got ${JSON.stringify(v)}`);
  }
  if (new Set(v).size !== v.length) throw experimentError(`${where} has repeated seeds: ${JSON.stringify(v)}`);
  return v as number[];
}

/** Options of `planRuns`. */
export interface PlanOptions {
  /** Only these variants (default all), in the experiment's order. */
  variants?: string[];
  /** Other seeds than the experiment's. */
  seeds?: number[];
}

/** Expands an experiment into runs (variant-major, then seed), each with its resolved config and store key. */
export function planRuns(exp: ResolvedExperiment, opts: PlanOptions = {}): PlannedRun[] {
  const known = new Set(exp.variants.map((v) => v.name));
  for (const v of opts.variants ?? []) {
    if (!known.has(v)) throw experimentError(`experiment '${exp.name}' has no variant '${v}' (variants: ${[...known].join(', ')})`);
  }
  const chosen = opts.variants ? exp.variants.filter((v) => opts.variants?.includes(v.name)) : exp.variants;
  const seeds = opts.seeds ?? exp.seeds;
  const runs: PlannedRun[] = [];
  for (const v of chosen) {
    for (const seed of seeds) {
      const config = resolveTrainConfig(deepMerge(deepMerge(exp.base, v.overrides), { seed, name: 'run' }));
      const key = runKey(config);
      runs.push({ key, variant: v.name, seed, config: { ...config, name: key } });
    }
  }
  return runs;
}

/** The runs of shard k of n (1-based k): every n-th run of the plan, starting at run k - 1. */
export function shardRuns<T>(runs: T[], shard: { index: number; count: number }): T[] {
  const { index, count } = shard;
  if (!Number.isInteger(count) || count < 1 || !Number.isInteger(index) || index < 1 || index > count) {
    throw experimentError(`shard must be k/n with 1 <= k <= n, got ${index}/${count}`);
  }
  return runs.filter((_, i) => i % count === index - 1);
}

/** Parses '--shard k/n'. */
export function parseShard(text: string): { index: number; count: number } {
  const m = /^(\d+)\/(\d+)$/.exec(text.trim());
  if (!m) throw experimentError(`--shard must look like k/n (e.g. 2/4), got '${text}'`);
  const shard = { index: Number(m[1]), count: Number(m[2]) };
  shardRuns([], shard);
  return shard;
}
