/**
 * Dataset registry. Each dataset lives in its own file and registers itself with `registerDataset`;
 * `src/data/index.ts` imports every entry file, so adding a dataset is one file plus one import line.
 */
import type { FaceBenchmark } from './types';
import { DatasetError } from './errors';
import { listingOf, type RegistryListing } from '../util/listing';

/** Options as passed to a dataset factory (e.g. parsed from a JSON config); each dataset validates them. */
export type DatasetOptions = Record<string, unknown>;

export interface DatasetEntry {
  /** One-line human-readable description (shown by `listDatasets`). */
  description: string;
  /**
   * Validates `opts` and returns them with every default filled in: everything that determines the data, so that a
   * run's config (and its store key) changes when a default changes. Options that only change how the data is
   * obtained (a cache folder, progress output) stay as given. Must be idempotent and plain JSON. Throws like
   * `create` for invalid options.
   */
  resolveOptions(opts?: DatasetOptions): DatasetOptions;
  /** Build the benchmark; must validate `opts` and throw with a message naming the offending field. */
  create(opts?: DatasetOptions): FaceBenchmark;
}

const registry = new Map<string, DatasetEntry>();

/** Register a dataset under `name`; registering the same name twice is an error. */
export function registerDataset(name: string, entry: DatasetEntry): void {
  if (typeof name !== 'string' || name.length === 0) throw new Error(`dataset name must be a non-empty string, got ${JSON.stringify(name)}`);
  if (registry.has(name)) throw new Error(`dataset '${name}' is already registered`);
  registry.set(name, entry);
}

/** Create a registered dataset; an unknown name throws an error listing the available names. */
export function createDataset(name: string, opts: DatasetOptions = {}): FaceBenchmark {
  return getDatasetEntry(name).create(opts);
}

/** Options of dataset `name` with every default filled in (see {@link DatasetEntry.resolveOptions}). */
export function resolveDatasetOptions(name: string, opts: DatasetOptions = {}): DatasetOptions {
  return getDatasetEntry(name).resolveOptions(opts);
}

/** The registry entry of `name`; an unknown name throws an error listing the available names. */
export function getDatasetEntry(name: string): DatasetEntry {
  const entry = registry.get(name);
  if (!entry) {
    const names = listDatasets().map((d) => d.name);
    throw new DatasetError(`unknown dataset '${name}'; available: ${names.length ? names.join(', ') : '(none registered)'}`);
  }
  return entry;
}

/** Every registered dataset (name, description), sorted by name. */
export function listDatasets(): RegistryListing[] {
  return listingOf(registry);
}
