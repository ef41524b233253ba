/**
 * A small declarative schema for JSON configs: every field has a type, a default and a doc string, so
 * validation messages, defaults and the config reference (docs/config.md) come from one place.
 */
export type FieldSpec =
  | { kind: 'number'; default: number; doc: string; min?: number; max?: number; integer?: boolean; exclusiveMin?: boolean }
  | { kind: 'boolean'; default: boolean; doc: string }
  | { kind: 'string'; default: string; doc: string; oneOf?: readonly string[] }
  | { kind: 'numberOrEnum'; default: number | string; doc: string; oneOf: readonly string[]; min?: number; max?: number }
  | { kind: 'numberList'; default: number[]; doc: string; min?: number; integer?: boolean; increasing?: boolean }
  | { kind: 'record'; default: Record<string, unknown>; doc: string }
  | { kind: 'object'; fields: Schema; doc: string };

export type Schema = Record<string, FieldSpec>;

/** Thrown for any invalid config; `path` names the offending field. */
export class ConfigError extends Error {
  constructor(readonly path: string, message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

/** Longest rendering of a bad value in a message; longer ones are cut with '...'. */
const SHOW_MAX = 80;
/** Deepest nesting accepted inside a `record` field (deeper JSON would overflow the stack when cloned or hashed). */
export const MAX_RECORD_DEPTH = 64;

/** A plain object (from JSON or a literal): not null, not an array, not a Date/Map/class instance. */
function isPlainObject(v: unknown): v is Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return false;
  const proto = Object.getPrototypeOf(v) as unknown;
  return proto === Object.prototype || proto === null;
}

/**
 * A short rendering of a value for a message: never throws (deep or cyclic values, BigInt) and never gets
 * long (a huge array in a config must not make a megabyte error message).
 */
function show(v: unknown): string {
  let s: string;
  if (typeof v === 'number') {
    s = String(v); // NaN, Infinity and -0 as written, not JSON's null / 0
  } else {
    try {
      s = JSON.stringify(v) ?? String(v);
    } catch {
      s = Array.isArray(v) ? `an array of ${v.length} items` : Object.prototype.toString.call(v);
    }
  }
  return s.length > SHOW_MAX ? `${s.slice(0, SHOW_MAX)}...` : s;
}

/** Own field of the schema (not `toString`, `constructor`, `__proto__` inherited from Object.prototype). */
function hasField(schema: Schema, key: string): boolean {
  return Object.prototype.hasOwnProperty.call(schema, key);
}

/**
 * Deep copy of the JSON value of a `record` field, checking that it is JSON (null, booleans, strings, finite
 * numbers, arrays, plain objects; undefined members are kept) and at most MAX_RECORD_DEPTH deep.
 */
function cloneJson(path: string, v: unknown, depth: number): unknown {
  if (depth > MAX_RECORD_DEPTH) throw new ConfigError(path, `${path} is nested more than ${MAX_RECORD_DEPTH} levels deep`);
  if (v === null || v === undefined || typeof v === 'boolean' || typeof v === 'string') return v;
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) throw new ConfigError(path, `${path} must be a finite number (JSON), got ${show(v)}`);
    return v;
  }
  if (Array.isArray(v)) {
    const out: unknown[] = new Array<unknown>(v.length);
    for (let i = 0; i < v.length; i++) out[i] = cloneJson(`${path}[${i}]`, v[i], depth + 1);
    return out;
  }
  if (isPlainObject(v)) {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(v)) {
      // defineProperty: a "__proto__" key from JSON.parse stays a plain own field, as in the input.
      Object.defineProperty(out, k, { value: cloneJson(`${path}.${k}`, v[k], depth + 1), enumerable: true, writable: true, configurable: true });
    }
    return out;
  }
  throw new ConfigError(path, `${path} must be a JSON value, got ${typeof v === 'object' ? Object.prototype.toString.call(v) : typeof v}`);
}

function checkNumber(path: string, v: unknown, spec: { min?: number; max?: number; integer?: boolean; exclusiveMin?: boolean }): number {
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new ConfigError(path, `${path} must be a finite number, got ${show(v)}`);
  if (spec.integer && !Number.isInteger(v)) throw new ConfigError(path, `${path} must be an integer, got ${show(v)}`);
  if (spec.min !== undefined && (spec.exclusiveMin ? v <= spec.min : v < spec.min)) {
    throw new ConfigError(path, `${path} must be ${spec.exclusiveMin ? '>' : '>='} ${spec.min}, got ${v}`);
  }
  if (spec.max !== undefined && v > spec.max) throw new ConfigError(path, `${path} must be <= ${spec.max}, got ${v}`);
  // Beyond 2^53 integers are not exact (1e20 + 1 === 1e20); no count, size or seed needs that.
  if (spec.integer && !Number.isSafeInteger(v)) {
    throw new ConfigError(path, `${path} must be an integer of magnitude <= 2^53 - 1 (${Number.MAX_SAFE_INTEGER}), got ${show(v)}`);
  }
  return v;
}

function resolveField(path: string, spec: FieldSpec, v: unknown): unknown {
  if (spec.kind === 'object') return resolveObject(path, spec.fields, v === undefined ? {} : v);
  if (v === undefined) return structuredClone(spec.default);
  switch (spec.kind) {
    case 'number':
      return checkNumber(path, v, spec);
    case 'boolean':
      if (typeof v !== 'boolean') throw new ConfigError(path, `${path} must be true or false, got ${show(v)}`);
      return v;
    case 'string':
      if (typeof v !== 'string') throw new ConfigError(path, `${path} must be a string, got ${show(v)}`);
      if (spec.oneOf && !spec.oneOf.includes(v)) {
        throw new ConfigError(path, `${path} must be one of ${spec.oneOf.map((s) => `'${s}'`).join(', ')}, got ${show(v)}`);
      }
      return v;
    case 'numberOrEnum':
      if (typeof v === 'string') {
        if (!spec.oneOf.includes(v)) {
          throw new ConfigError(path, `${path} must be a number or one of ${spec.oneOf.map((s) => `'${s}'`).join(', ')}, got ${show(v)}`);
        }
        return v;
      }
      return checkNumber(path, v, spec);
    case 'numberList': {
      if (!Array.isArray(v)) throw new ConfigError(path, `${path} must be a list of numbers, got ${show(v)}`);
      // An index loop, not map: map skips the holes of a sparse array, which would then pass unchecked.
      const out: number[] = [];
      for (let i = 0; i < v.length; i++) out.push(checkNumber(`${path}[${i}]`, v[i], spec));
      if (spec.increasing) {
        for (let i = 1; i < out.length; i++) {
          if (out[i] <= out[i - 1]) throw new ConfigError(path, `${path} must be strictly increasing, got ${show(v)}`);
        }
      }
      return out;
    }
    case 'record':
      if (!isPlainObject(v)) throw new ConfigError(path, `${path} must be an object, got ${show(v)}`);
      return cloneJson(path, v, 0);
  }
}

/** Validates `value` against `schema`, filling defaults; unknown fields are errors naming the allowed ones. */
export function resolveObject(path: string, schema: Schema, value: unknown): Record<string, unknown> {
  if (!isPlainObject(value)) throw new ConfigError(path, `${path} must be an object, got ${show(value)}`);
  for (const key of Object.keys(value)) {
    if (!hasField(schema, key)) {
      throw new ConfigError(`${path}.${key}`, `unknown field ${path}.${key} (allowed: ${Object.keys(schema).join(', ')})`);
    }
  }
  const out: Record<string, unknown> = {};
  for (const [key, spec] of Object.entries(schema)) out[key] = resolveField(`${path}.${key}`, spec, value[key]);
  return out;
}

/** Markdown reference of a schema: one row per field with type, default and doc. */
export function schemaMarkdown(schema: Schema, prefix = ''): string {
  const rows: string[] = [];
  const walk = (s: Schema, p: string): void => {
    for (const [key, spec] of Object.entries(s)) {
      const name = p ? `${p}.${key}` : key;
      if (spec.kind === 'object') {
        walk(spec.fields, name);
        continue;
      }
      let type: string = spec.kind;
      if (spec.kind === 'string' && spec.oneOf) type = spec.oneOf.map((x) => `'${x}'`).join(' \\| ');
      if (spec.kind === 'numberOrEnum') type = `number \\| ${spec.oneOf.map((x) => `'${x}'`).join(' \\| ')}`;
      rows.push(`| \`${name}\` | ${type} | \`${JSON.stringify(spec.default)}\` | ${spec.doc} |`);
    }
  };
  walk(schema, prefix);
  return ['| field | type | default | meaning |', '|---|---|---|---|', ...rows].join('\n');
}
