/**
 * Experiments as data: a base config, named variants (partial overrides of it), parameter sweeps that expand
 * into variants, a baseline variant for paired comparisons, seeds, and optional replicates (every variant x seed
 * repeated over the values of one config path, e.g. the class partitions of a dataset). `resolveExperiment`
 * validates a spec (from TypeScript or JSON) and `planRuns` expands it into runs, each identified by a content
 * hash of its full resolved config plus the code version (see store.ts), so the same run is shared by every
 * experiment that contains it and is never recomputed.
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

/** A value a replicate path takes in one replicate. */
export type ReplicateValue = number | string | boolean;

/**
 * Repeats every variant x seed over the values of one config path, e.g.
 * `{ path: 'dataset.options.partition', values: [0, 1, 2, 3, 4] }` (the class partitions of mnist): each
 * (variant, seed, value) is one run, and the statistics treat each (seed, value) pair as one sample unit.
 */
export interface ExperimentReplicates {
  /** Dotted config path, e.g. 'dataset.options.partition'. No variant may set it (and it cannot be 'seed' or 'name'). */
  path: string;
  /** Distinct values, in report order (non-empty; numbers, strings or booleans, distinct also as text). */
  values: ReplicateValue[];
  /** Label in tables and notes (default: the path's last segment, e.g. 'partition'). */
  label?: string;
}

/** Validated replicates of an experiment. */
export interface ResolvedReplicates {
  path: string;
  values: ReplicateValue[];
  /** Label in tables and notes (the given one, or the path's last segment). */
  label: string;
  /** The path's last segment (e.g. 'partition'): the run-name tag, `<variant>-s<seed>-<tag>=<value>`. */
  tag: string;
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
  /** Repeat every variant x seed over these values of one config path (e.g. dataset partitions; default: none). */
  replicates?: ExperimentReplicates;
}

/** A validated experiment with its sweeps expanded into variants. */
export interface ResolvedExperiment {
  name: string;
  description: string;
  base: Record<string, unknown>;
  variants: Required<ExperimentVariant>[];
  baseline: string;
  seeds: number[];
  /** The replicates, or null when the experiment has none (one run per variant x seed). */
  replicates: ResolvedReplicates | null;
  /** The spec as given (shown in reports). */
  spec: ExperimentSpec;
}

/** One planned run: a variant at a seed (and a replicate value), its full config and its store key. */
export interface PlannedRun {
  key: string;
  variant: string;
  seed: number;
  /** The value of the replicate path in this run (only in experiments with replicates). */
  replicate?: ReplicateValue;
  /** Display name in progress lines and lists: see {@link runName}. */
  label: string;
  config: TrainConfig;
}

/** Default number of seeds of an experiment. */
export const DEFAULT_EXPERIMENT_SEEDS = 2;

/** Names an experiment cannot take: folders of the results store. */
const RESERVED_NAMES = ['runs', 'locks'];
const NAME_RE = /^[a-z0-9][a-z0-9._-]*$/;
const SPEC_FIELDS = ['name', 'description', 'base', 'variants', 'sweeps', 'baseline', 'seeds', 'replicates'];
const REPLICATE_FIELDS = ['path', 'values', 'label'];
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

/** `{a: {b: value}}` for path 'a.b'; an empty segment is a ConfigError naming the path as `what` (default 'sweep path'). */
export function pathObject(path: string, value: unknown, what = 'sweep path'): Record<string, unknown> {
  const parts = path.split('.');
  if (parts.some((p) => p.length === 0)) throw experimentError(`${what} '${path}' is not a dotted field path`);
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

/** A replicate value as text in run names and tables (whitespace replaced by '_'). */
export function replicateText(v: ReplicateValue): string {
  return String(v).replace(/\s+/g, '_');
}

/**
 * Display name of a run: `<variant>-s<seed>`, and with a replicate `<variant>-s<seed>-<tag>=<value>` where the tag
 * is the replicate path's last segment (e.g. `coreface-s0-partition=3`).
 */
export function runName(variant: string, seed: number, replicate?: { tag: string; value: ReplicateValue }): string {
  return replicate === undefined ? `${variant}-s${seed}` : `${variant}-s${seed}-${replicate.tag}=${replicateText(replicate.value)}`;
}

/** Whether the partial config `o` sets `parts` (or replaces one of its parent objects by a non-object). */
function setsPath(o: Record<string, unknown>, parts: string[]): boolean {
  let cur: Record<string, unknown> = o;
  for (let i = 0; i < parts.length; i++) {
    if (!(parts[i] in cur)) return false;
    const next = cur[parts[i]];
    if (i === parts.length - 1 || !isObject(next)) return true;
    cur = next;
  }
  return false;
}

function resolveReplicates(r: unknown): ResolvedReplicates {
  const where = 'experiment.replicates';
  if (!isObject(r)) throw experimentError(`${where} must be an object { path, values, label? }, got ${JSON.stringify(r)}`);
  checkFields(r, REPLICATE_FIELDS, where);
  if (typeof r.path !== 'string') throw experimentError(`${where}.path must be a dotted config path, got ${JSON.stringify(r.path)}`);
  const path = r.path;
  pathObject(path, 0, `${where}.path`);
  if (path === 'seed' || path === 'name') {
    throw experimentError(`${where}.path '${path}': runs take their seed from experiment.seeds and their name from the store key`);
  }
  if (!Array.isArray(r.values) || r.values.length === 0) throw experimentError(`${where}.values must be a non-empty array of numbers, strings or booleans`);
  const values: ReplicateValue[] = [];
  const seen = new Map<string, number>();
  r.values.forEach((v: unknown, j) => {
    const ok = typeof v === 'string' || typeof v === 'boolean' || (typeof v === 'number' && Number.isFinite(v));
    if (!ok) throw experimentError(`${where}.values[${j}] must be a finite number, a string or a boolean, got ${JSON.stringify(v)}`);
    const value = v as ReplicateValue;
    const text = replicateText(value);
    const first = seen.get(text);
    if (first !== undefined) throw experimentError(`${where}.values[${j}] (${JSON.stringify(v)}) repeats values[${first}]: replicate values must be distinct`);
    seen.set(text, j);
    values.push(value);
  });
  const parts = path.split('.');
  const tag = parts[parts.length - 1];
  return { path, values, label: optString(r.label, `${where}.label`) ?? tag, tag };
}

/**
 * Validates an experiment spec and expands its sweeps: unknown fields, bad names, duplicate variants, an unknown
 * baseline, bad seeds, bad replicates (empty or repeated values, a variant that sets the replicate path) and any
 * variant whose merged config (at every replicate value) does not resolve are `ConfigError`s naming the place.
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
  const replicates = spec.replicates === undefined ? null : resolveReplicates(spec.replicates);
  if (replicates) {
    const parts = replicates.path.split('.');
    for (const v of variants) {
      if (setsPath(v.overrides, parts)) {
        throw experimentError(`experiment '${name}', variant '${v.name}' overrides set '${replicates.path}', the replicate path: ` +
          'experiment.replicates sets it in every run (remove it from the variant, or drop the replicates)');
      }
    }
  }
  for (const v of variants) {
    const merged = deepMerge(base, v.overrides);
    if (!replicates) {
      try {
        resolveTrainConfig(merged);
      } catch (e) {
        throw experimentError(`experiment '${name}', variant '${v.name}': ${(e as Error).message}`);
      }
      continue;
    }
    replicates.values.forEach((value, j) => {
      try {
        resolveTrainConfig(deepMerge(merged, pathObject(replicates.path, value)));
      } catch (e) {
        throw experimentError(`experiment '${name}', variant '${v.name}' at experiment.replicates.values[${j}] ` +
          `(${replicates.path} = ${JSON.stringify(value)}): ${(e as Error).message}`);
      }
    });
  }
  const description = optString(spec.description, 'experiment.description') ?? '';
  return { name, description, base, variants, baseline, seeds, replicates, spec: spec as unknown as ExperimentSpec };
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

/**
 * Expands an experiment into runs (variant-major, then seed, then replicate value in the experiment's order), each
 * with its resolved config and store key. Without replicates: one run per variant x seed, config
 * `base + overrides + {seed}`; with replicates the replicate path is set to the value on top of the overrides.
 */
export function planRuns(exp: ResolvedExperiment, opts: PlanOptions = {}): PlannedRun[] {
  const known = new Set(exp.variants.map((v) => v.name));
  for (const v of opts.variants ?? []) {
    if (!known.has(v)) throw experimentError(`experiment '${exp.name}' has no variant '${v}' (variants: ${[...known].join(', ')})`);
  }
  const chosen = opts.variants ? exp.variants.filter((v) => opts.variants?.includes(v.name)) : exp.variants;
  const seeds = opts.seeds ?? exp.seeds;
  const reps = exp.replicates;
  const runs: PlannedRun[] = [];
  for (const v of chosen) {
    const merged = deepMerge(exp.base, v.overrides);
    for (const seed of seeds) {
      if (!reps) {
        const config = resolveTrainConfig(deepMerge(merged, { seed, name: 'run' }));
        const key = runKey(config);
        runs.push({ key, variant: v.name, seed, label: runName(v.name, seed), config: { ...config, name: key } });
        continue;
      }
      for (const value of reps.values) {
        const config = resolveTrainConfig(deepMerge(deepMerge(merged, pathObject(reps.path, value)), { seed, name: 'run' }));
        const key = runKey(config);
        runs.push({ key, variant: v.name, seed, replicate: value, label: runName(v.name, seed, { tag: reps.tag, value }), config: { ...config, name: key } });
      }
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
