import * as fs from 'fs';
import { ConfigError } from '../config';
import { BUILTIN_EXPERIMENTS } from './builtin';
import type { RegistryListing } from '../util/listing';
import { ExperimentSpec, resolveExperiment, ResolvedExperiment } from './spec';

const registry = new Map<string, ExperimentSpec>();

/** Registers an experiment (validated now); registering a name twice is an error. */
export function registerExperiment(spec: ExperimentSpec): void {
  const exp = resolveExperiment(spec);
  if (registry.has(exp.name)) throw new Error(`experiment '${exp.name}' is already registered`);
  registry.set(exp.name, spec);
}

/** A registered experiment as `listExperiments` lists it. */
export interface ExperimentListing extends RegistryListing {
  /** Number of variants. */
  variants: number;
  /** Number of seeds. */
  seeds: number;
  /** Number of replicate values (0 without replicates). */
  replicates: number;
  /** Planned runs: variants x seeds x replicate values. */
  runs: number;
}

/**
 * Registered experiments, in registration order (the order they are presented in, unlike the other registries'
 * lists): counts of variants and seeds, the replicate values (0 without replicates) and the planned runs.
 */
export function listExperiments(): ExperimentListing[] {
  return [...registry.values()].map((s) => {
    const e = resolveExperiment(s);
    const replicates = e.replicates?.values.length ?? 0;
    return { name: e.name, description: e.description, variants: e.variants.length, seeds: e.seeds.length, replicates, runs: e.variants.length * e.seeds.length * Math.max(1, replicates) };
  });
}

/**
 * A registered experiment by name, or an experiment spec read from a JSON file when `nameOrFile` ends in .json.
 * Unknown names throw with the list of registered ones.
 */
export function getExperiment(nameOrFile: string): ResolvedExperiment {
  if (nameOrFile.endsWith('.json')) {
    if (!fs.existsSync(nameOrFile)) throw new ConfigError('experiment', `experiment file not found: ${nameOrFile}`);
    let spec: unknown;
    try {
      spec = JSON.parse(fs.readFileSync(nameOrFile, 'utf8'));
    } catch (e) {
      throw new ConfigError('experiment', `${nameOrFile} is not valid JSON: ${(e as Error).message}`);
    }
    return resolveExperiment(spec);
  }
  const spec = registry.get(nameOrFile);
  if (!spec) throw new ConfigError('experiment', `unknown experiment '${nameOrFile}' (registered: ${[...registry.keys()].join(', ')}; or pass a FILE.json)`);
  return resolveExperiment(spec);
}

for (const spec of BUILTIN_EXPERIMENTS) registerExperiment(spec);
