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

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function show(v: unknown): string {
  return JSON.stringify(v) ?? String(v);
}

function checkNumber(path: string, v: unknown, spec: { min?: number; max?: number; integer?: boolean; exclusiveMin?: boolean }): number {
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new ConfigError(path, `${path} must be a finite number, got ${show(v)}`);
  if (spec.integer && !Number.isInteger(v)) throw new ConfigError(path, `${path} must be an integer, got ${show(v)}`);
  if (spec.min !== undefined && (spec.exclusiveMin ? v <= spec.min : v < spec.min)) {
    throw new ConfigError(path, `${path} must be ${spec.exclusiveMin ? '>' : '>='} ${spec.min}, got ${v}`);
  }
  if (spec.max !== undefined && v > spec.max) throw new ConfigError(path, `${path} must be <= ${spec.max}, got ${v}`);
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
      const out = v.map((x, i) => checkNumber(`${path}[${i}]`, x, spec));
      if (spec.increasing) {
        for (let i = 1; i < out.length; i++) {
          if (out[i] <= out[i - 1]) throw new ConfigError(path, `${path} must be strictly increasing, got ${show(v)}`);
        }
      }
      return out;
    }
    case 'record':
      if (!isPlainObject(v)) throw new ConfigError(path, `${path} must be an object, got ${show(v)}`);
      return structuredClone(v);
  }
}

/** Validates `value` against `schema`, filling defaults; unknown fields are errors naming the allowed ones. */
export function resolveObject(path: string, schema: Schema, value: unknown): Record<string, unknown> {
  if (!isPlainObject(value)) throw new ConfigError(path, `${path} must be an object, got ${show(value)}`);
  for (const key of Object.keys(value)) {
    if (!(key in schema)) {
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
