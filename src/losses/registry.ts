/**
 * Pair/batch loss registry: each loss file calls `registerPairLoss` at import time; `src/losses/index.ts` imports
 * every loss file. `createPairLoss(name, opts)` rejects unknown losses and options, type-checks options against
 * the declared defaults, merges the defaults in, and calls the entry's `create`.
 */
import { listingOf, type RegistryListing } from '../util/listing';
import { PairLoss, PairLossCreateOptions, PairLossEntry, PairLossOptionValue } from './types';

const registry = new Map<string, PairLossEntry>();

/** Registers a pair loss under `name` (throws if the name is taken or malformed). */
export function registerPairLoss(name: string, entry: PairLossEntry): void {
  if (typeof name !== 'string' || !/^[a-z][a-z0-9_-]*$/.test(name)) {
    throw new Error(`pair loss name must match /^[a-z][a-z0-9_-]*$/, got '${String(name)}'`);
  }
  if (registry.has(name)) throw new Error(`pair loss '${name}' is already registered`);
  for (const [k, v] of Object.entries(entry.defaults)) {
    if (typeof v !== 'number' && typeof v !== 'boolean') {
      throw new Error(`pair loss '${name}': default of '${k}' must be a number or boolean, got ${String(v)}`);
    }
  }
  registry.set(name, entry);
}

/** A registered pair loss as `listPairLosses` lists it. */
export interface PairLossListing extends RegistryListing {
  /** The paper the loss comes from. */
  paper: string;
}

/** Every registered pair loss (name, description, paper), sorted by name. */
export function listPairLosses(): PairLossListing[] {
  return listingOf(registry, ['paper']);
}

/** The registry entry of `name`; throws for unknown names listing the registered ones. */
export function getPairLossEntry(name: string): PairLossEntry {
  const entry = registry.get(name);
  if (!entry) {
    throw new Error(`unknown pair loss '${name}'; registered pair losses: ${listPairLosses().map((l) => l.name).join(', ') || '(none)'}`);
  }
  return entry;
}

/**
 * Creates the pair loss `name`. Unknown option keys throw listing the allowed ones; an option whose type differs
 * from its default's throws naming the field and value; undefined options take the default.
 */
export function createPairLoss(name: string, opts: PairLossCreateOptions = {}): PairLoss {
  const entry = getPairLossEntry(name);
  if (!opts || typeof opts !== 'object') throw new Error(`createPairLoss('${name}') needs an options object`);
  const allowed = Object.keys(entry.defaults);
  const resolved: Record<string, PairLossOptionValue> = { ...entry.defaults };
  for (const [k, v] of Object.entries(opts)) {
    if (!allowed.includes(k)) {
      throw new Error(`unknown option '${k}' for pair loss '${name}'; allowed: ${allowed.join(', ') || '(none)'}`);
    }
    if (v === undefined) continue;
    const want = typeof entry.defaults[k];
    if (typeof v !== want) throw new Error(`${k} must be a ${want} for pair loss '${name}', got ${String(v)}`);
    resolved[k] = v as PairLossOptionValue;
  }
  return entry.create(resolved);
}
