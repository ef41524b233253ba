/**
 * Head registry: each head file calls `registerHead` at import time; `src/heads/index.ts` imports every head file.
 * `createHead(name, opts)` rejects unknown heads and options, type-checks options against the declared defaults,
 * merges the defaults in, and calls the entry's `create`.
 */
import { checkPositiveInt } from '../ops';
import { listingOf, type RegistryListing } from '../util/listing';
import { HeadCreateOptions, HeadOptionValue, MarginHead } from './types';

/** What a head file registers. */
export interface HeadEntry {
  /** One-line description. */
  description: string;
  /** The paper the head comes from (authors, title, venue). */
  paper: string;
  /** Every option the head accepts with its default; the only keys `createHead` lets through. */
  defaults: Record<string, HeadOptionValue>;
  /** Builds the head; `opts` already has the defaults merged in and types checked. */
  create(opts: HeadCreateOptions): MarginHead;
}

/** Keys of `HeadCreateOptions` that every head accepts. */
export const BASE_HEAD_OPTIONS: readonly string[] = ['store', 'numClasses', 'embeddingDim', 'rng'];

const registry = new Map<string, HeadEntry>();

/** Registers a head under `name` (throws if the name is taken or the entry is malformed). */
export function registerHead(name: string, entry: HeadEntry): void {
  if (typeof name !== 'string' || !/^[a-z][a-z0-9_-]*$/.test(name)) {
    throw new Error(`head name must match /^[a-z][a-z0-9_-]*$/, got '${String(name)}'`);
  }
  if (registry.has(name)) throw new Error(`head '${name}' is already registered`);
  for (const [k, v] of Object.entries(entry.defaults)) {
    if (BASE_HEAD_OPTIONS.includes(k)) throw new Error(`head '${name}': option '${k}' is reserved`);
    if (typeof v !== 'number' && typeof v !== 'boolean') {
      throw new Error(`head '${name}': default of '${k}' must be a number or boolean, got ${String(v)}`);
    }
  }
  registry.set(name, entry);
}

/** A registered head as `listHeads` lists it. */
export interface HeadListing extends RegistryListing {
  /** The paper the head comes from. */
  paper: string;
}

/** Every registered head (name, description, paper), sorted by name. */
export function listHeads(): HeadListing[] {
  return listingOf(registry, ['paper']);
}

/** The registry entry of `name` (description, paper, defaults); throws for unknown names. */
export function getHeadEntry(name: string): HeadEntry {
  const entry = registry.get(name);
  if (!entry) throw new Error(`unknown head '${name}'; registered heads: ${listHeads().map((h) => h.name).join(', ') || '(none)'}`);
  return entry;
}

/**
 * Creates the head `name` with `opts` = `{ store, numClasses, embeddingDim, rng?, ...headOptions }`.
 * Unknown head names and option keys throw an error listing the allowed ones; an option whose type differs from
 * its default's type throws naming the field and value; undefined options take the default.
 */
export function createHead(name: string, opts: HeadCreateOptions): MarginHead {
  const entry = getHeadEntry(name);
  if (!opts || typeof opts !== 'object') throw new Error(`createHead('${name}') needs an options object`);
  if (!opts.store || typeof opts.store.variable !== 'function') {
    throw new Error(`store must implement variable(name, shape, init, rng?), got ${String(opts.store)}`);
  }
  checkPositiveInt('numClasses', opts.numClasses);
  checkPositiveInt('embeddingDim', opts.embeddingDim);
  const allowed = Object.keys(entry.defaults);
  const resolved: HeadCreateOptions = {
    store: opts.store,
    numClasses: opts.numClasses,
    embeddingDim: opts.embeddingDim,
    rng: opts.rng,
    ...entry.defaults,
  };
  for (const [k, v] of Object.entries(opts)) {
    if (BASE_HEAD_OPTIONS.includes(k)) continue;
    if (!allowed.includes(k)) {
      throw new Error(
        `unknown option '${k}' for head '${name}'; allowed: ${allowed.join(', ') || '(none)'} ` +
          `(besides ${BASE_HEAD_OPTIONS.join(', ')})`,
      );
    }
    if (v === undefined) continue;
    const want = typeof entry.defaults[k];
    if (typeof v !== want) throw new Error(`${k} must be a ${want} for head '${name}', got ${String(v)}`);
    resolved[k] = v;
  }
  return entry.create(resolved);
}
