/**
 * Option parsing shared by every dataset (synthfaces, the real-image benchmarks, the user datasets): every error
 * names the dataset or the field, the value and what is allowed, e.g. `trainIdentities must be an integer >= 2, got 1`.
 */
import { DatasetError } from './errors';

/** A value as shown in messages: strings and arrays as JSON, everything else with String(). */
export function fmt(v: unknown): string {
  return typeof v === 'string' ? JSON.stringify(v) : Array.isArray(v) ? JSON.stringify(v) : String(v);
}

/** Throws on a non-object or on an option name not in `allowed`. */
export function checkOptionNames(dataset: string, opts: unknown, allowed: readonly string[]): Record<string, unknown> {
  if (opts === null || typeof opts !== 'object' || Array.isArray(opts)) throw new DatasetError(`${dataset} options must be an object, got ${fmt(opts)}`);
  const o = opts as Record<string, unknown>;
  for (const k of Object.keys(o)) {
    if (!allowed.includes(k)) throw new DatasetError(`unknown ${dataset} option '${k}'; allowed: ${allowed.join(', ')}`);
  }
  return o;
}

/** Option `name` of `o` as an integer in [min, max], `def` when undefined. */
export function intOpt(o: Record<string, unknown>, name: string, def: number, min: number, max = Infinity): number {
  const v = o[name];
  if (v === undefined) return def;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
    throw new DatasetError(`${name} must be an integer >= ${min}${Number.isFinite(max) ? ` and <= ${max}` : ''}, got ${fmt(v)}`);
  }
  return v;
}

/** Option `name` of `o` as a finite number accepted by `ok` (described by `allowed`), `def` when undefined. */
export function numOpt(o: Record<string, unknown>, name: string, def: number, ok: (x: number) => boolean, allowed: string): number {
  const v = o[name];
  if (v === undefined) return def;
  if (typeof v !== 'number' || !Number.isFinite(v) || !ok(v)) throw new DatasetError(`${name} must be ${allowed}, got ${fmt(v)}`);
  return v;
}

/** Option `channels`: 1 or 3, `def` when undefined. */
export function channelsOpt(o: Record<string, unknown>, def: 1 | 3): 1 | 3 {
  const c = o.channels === undefined ? def : o.channels;
  if (c !== 1 && c !== 3) throw new DatasetError(`channels must be 1 or 3, got ${fmt(c)}`);
  return c;
}

/** Option `name` as a boolean, `def` when undefined. */
export function boolOpt(o: Record<string, unknown>, name: string, def: boolean): boolean {
  const v = o[name];
  if (v === undefined) return def;
  if (typeof v !== 'boolean') throw new DatasetError(`${name} must be true or false, got ${fmt(v)}`);
  return v;
}

/** Option `name` as a non-empty string, `def` when undefined. */
export function stringOpt(o: Record<string, unknown>, name: string, def: string): string {
  const v = o[name];
  if (v === undefined) return def;
  if (typeof v !== 'string' || v.length === 0) throw new DatasetError(`${name} must be a non-empty string, got ${fmt(v)}`);
  return v;
}
