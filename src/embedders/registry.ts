/**
 * Embedder registry: each pretrained-model file (faceres.ts, face-api.ts) calls `registerEmbedder` at import time;
 * `src/embedders/index.ts` imports every such file. The entries only describe the model; their npm packages are
 * loaded lazily by `create`, so importing the library never loads them and works when they are not installed.
 *
 * Models trained by `coreface train` are not registered names: load them from their run directory with
 * `loadCheckpointEmbedder` (checkpoint.ts), or let `loadEmbedder` (load.ts) tell the two apart.
 */
import * as fs from 'fs';
import * as path from 'path';
import { createRequire } from 'module';
import type { Embedder, EmbedderCreateOptions, EmbedderInfo } from './types';

/** Bad user input about an embedder (an unknown name, a missing npm package); the CLI exits with code 2. */
export class EmbedderError extends Error {
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

/** The name is neither registered nor a run directory. */
export class UnknownEmbedderError extends EmbedderError {}

/** The npm package an embedder needs is not installed (or failed to load). */
export class EmbedderPackageError extends EmbedderError {
  constructor(readonly packageName: string, message: string) {
    super(message);
  }
}

/** What an embedder file registers. */
export interface EmbedderEntry {
  /** One-line description (model, training data, source). */
  description: string;
  /** npm package with the code/weights, or null when built in. */
  package: string | null;
  inputSize: number;
  channels: 1 | 3;
  embeddingDim: number;
  /** Loads the model (the package is already known to resolve). */
  create(opts: EmbedderCreateOptions): Promise<Embedder>;
}

const registry = new Map<string, EmbedderEntry>();

/** Registers an embedder under `name` (throws if the name is taken or malformed). */
export function registerEmbedder(name: string, entry: EmbedderEntry): void {
  if (typeof name !== 'string' || !/^[a-z][a-z0-9_-]*$/.test(name)) {
    throw new Error(`embedder name must match /^[a-z][a-z0-9_-]*$/, got '${String(name)}'`);
  }
  if (registry.has(name)) throw new Error(`embedder '${name}' is already registered`);
  for (const k of ['inputSize', 'embeddingDim'] as const) {
    if (!Number.isInteger(entry[k]) || entry[k] <= 0) throw new Error(`embedder '${name}': ${k} must be a positive integer, got ${entry[k]}`);
  }
  if (entry.channels !== 1 && entry.channels !== 3) throw new Error(`embedder '${name}': channels must be 1 or 3, got ${String(entry.channels)}`);
  registry.set(name, entry);
}

const localRequire = createRequire(__filename);

/**
 * Absolute path of `pkg`'s entry file, or null when it cannot be resolved from this library. (Only resolves:
 * nothing is loaded. Some packages, e.g. @vladmandic/human, do not export their package.json, so this resolves
 * the main entry.)
 */
export function resolvePackage(pkg: string): string | null {
  try {
    return localRequire.resolve(pkg);
  } catch {
    return null;
  }
}

/** The root folder of an installed package (the nearest folder above its entry holding its package.json). */
export function packageRoot(pkg: string): string {
  const entry = resolvePackage(pkg);
  if (entry === null) throw new EmbedderPackageError(pkg, missingPackageMessage(pkg));
  let dir = path.dirname(entry);
  for (;;) {
    const manifest = path.join(dir, 'package.json');
    if (fs.existsSync(manifest)) {
      try {
        if ((JSON.parse(fs.readFileSync(manifest, 'utf8')) as { name?: unknown }).name === pkg) return dir;
      } catch {
        // not a readable manifest: keep climbing
      }
    }
    const up = path.dirname(dir);
    if (up === dir) throw new EmbedderPackageError(pkg, `cannot find the folder of npm package ${pkg} above ${entry}`);
    dir = up;
  }
}

/** Loads `pkg` (or one of its files, `pkg/sub/path.js`) lazily with Node's require. */
export function requirePackage(pkg: string, subpath?: string): unknown {
  if (resolvePackage(pkg) === null) throw new EmbedderPackageError(pkg, missingPackageMessage(pkg));
  const spec = subpath ? `${pkg}/${subpath}` : pkg;
  try {
    return localRequire(spec) as unknown;
  } catch (e) {
    throw new EmbedderPackageError(pkg, `npm package ${pkg} is installed but ${spec} failed to load: ${(e as Error).message.split('\n')[0]}`);
  }
}

function missingPackageMessage(pkg: string, name?: string): string {
  return `${name ? `the '${name}' embedder needs` : 'this needs'} the npm package ${pkg}, which is not installed: npm install ${pkg}`;
}

/** Names of all registered embedders, sorted. */
function embedderNames(): string[] {
  return [...registry.keys()].sort();
}

/** Every registered embedder with its dimensions and whether its package is installed, sorted by name. */
export function listEmbedders(): EmbedderInfo[] {
  return embedderNames().map((name) => {
    const e = registry.get(name) as EmbedderEntry;
    return {
      name, description: e.description, package: e.package,
      available: e.package === null || resolvePackage(e.package) !== null,
      inputSize: e.inputSize, channels: e.channels, embeddingDim: e.embeddingDim,
    };
  });
}

/** The registry entry of `name`; throws {@link UnknownEmbedderError} listing the registered names. */
export function getEmbedderEntry(name: string): EmbedderEntry {
  const entry = registry.get(name);
  if (!entry) throw new UnknownEmbedderError(`unknown embedder '${name}'; registered embedders: ${embedderNames().join(', ') || '(none)'}`);
  return entry;
}

/**
 * Throws {@link EmbedderPackageError} naming the package to install when `name`'s npm package is missing (checks
 * only that it resolves; nothing is loaded). Unknown names throw {@link UnknownEmbedderError}.
 */
export function checkEmbedderAvailable(name: string): void {
  const entry = getEmbedderEntry(name);
  if (entry.package !== null && resolvePackage(entry.package) === null) {
    throw new EmbedderPackageError(entry.package, missingPackageMessage(entry.package, name));
  }
}

/**
 * Loads the registered embedder `name`. Needs an initialised tfjs backend (`initBackend`).
 * @throws UnknownEmbedderError for an unknown name, EmbedderPackageError when its npm package is missing.
 */
export async function createEmbedder(name: string, opts: EmbedderCreateOptions = {}): Promise<Embedder> {
  checkEmbedderAvailable(name);
  const entry = getEmbedderEntry(name);
  if (opts.batchSize !== undefined && (!Number.isInteger(opts.batchSize) || opts.batchSize <= 0)) {
    throw new RangeError(`batchSize must be a positive integer, got ${opts.batchSize}`);
  }
  const e = await entry.create(opts);
  if (e.inputSize !== entry.inputSize || e.channels !== entry.channels || e.embeddingDim !== entry.embeddingDim) {
    e.dispose();
    throw new Error(`embedder '${name}' loaded as ${e.inputSize}x${e.inputSize}x${e.channels} -> ${e.embeddingDim}, ` +
      `but is registered as ${entry.inputSize}x${entry.inputSize}x${entry.channels} -> ${entry.embeddingDim}`);
  }
  return e;
}

/** What a `--model` argument names. */
export type EmbedderSpec = { kind: 'registered'; name: string } | { kind: 'checkpoint'; dir: string };

/**
 * Tells a registered embedder name from a run directory of `coreface train` (a folder with checkpoint.ckpt).
 * A registered name wins over a folder of the same name in the working directory.
 * @throws UnknownEmbedderError naming the registered embedders when `spec` is neither.
 */
export function resolveEmbedderSpec(spec: string): EmbedderSpec {
  if (registry.has(spec)) return { kind: 'registered', name: spec };
  const isDir = fs.existsSync(spec) && fs.statSync(spec).isDirectory();
  if (isDir && fs.existsSync(path.join(spec, 'checkpoint.ckpt'))) return { kind: 'checkpoint', dir: spec };
  const what = isDir ? `folder '${spec}' holds no checkpoint.ckpt (not a run directory of coreface train)` : `unknown model '${spec}'`;
  throw new UnknownEmbedderError(`${what}; give a run directory or a registered embedder: ${embedderNames().join(', ') || '(none)'}`);
}
