/**
 * Property-based fuzzing of resolveTrainConfig with fast-check (fixed seeds and run counts, so every run checks
 * the same cases): whatever the input, it either returns a config or throws a ConfigError whose message names
 * the offending path; never another exception type, never a slow case.
 */
import { strict as assert } from 'assert';
import fc from 'fast-check';
import { resolveTrainConfig, configHash, ConfigError, TRAIN_SCHEMA, MAX_RECORD_DEPTH } from '../../src/config';
import type { FieldSpec, Schema, TrainConfig } from '../../src/config';
import { listDatasets, resolveDatasetOptions } from '../../src/data';
import { listHeads } from '../../src/heads';
import { listPairLosses } from '../../src/losses';
import { listBackbones } from '../../src/models';

const SEED = 20261123;
/** Slowest acceptable single call (a huge array takes a few ms; a hang or quadratic blow-up would not). */
const MAX_MS = 1000;
/** Cases run per property, summed in `after` for the report. */
const counts: Record<string, number> = {};

type Leaf = { path: string; keys: string[]; spec: Exclude<FieldSpec, { kind: 'object' }> };
type Obj = { path: string; keys: string[]; schema: Schema };

/** Every leaf field and every object of the schema, with its path ('config.optimizer.lr') and key chain. */
function walk(schema: Schema, keys: string[] = [], leaves: Leaf[] = [], objects: Obj[] = []): { leaves: Leaf[]; objects: Obj[] } {
  objects.push({ path: ['config', ...keys].join('.'), keys, schema });
  for (const [k, spec] of Object.entries(schema)) {
    if (spec.kind === 'object') walk(spec.fields, [...keys, k], leaves, objects);
    else leaves.push({ path: ['config', ...keys, k].join('.'), keys: [...keys, k], spec });
  }
  return { leaves, objects };
}
const { leaves: LEAVES, objects: OBJECTS } = walk(TRAIN_SCHEMA);

/** A copy of `base` with `value` set at the key chain (creating objects on the way). */
function setAt(base: Record<string, unknown>, keys: string[], value: unknown): Record<string, unknown> {
  const out = structuredClone(base);
  let o: Record<string, unknown> = out;
  for (const k of keys.slice(0, -1)) {
    if (typeof o[k] !== 'object' || o[k] === null) o[k] = {};
    o = o[k] as Record<string, unknown>;
  }
  // defineProperty: '__proto__' must become an own field, as JSON.parse makes it.
  Object.defineProperty(o, keys[keys.length - 1], { value, enumerable: true, writable: true, configurable: true });
  return out;
}

/** Calls resolveTrainConfig and classifies the outcome; any other exception type, or a slow call, fails. */
function outcome(input: unknown): { ok: TrainConfig } | { err: ConfigError } {
  const t0 = performance.now();
  let res: { ok: TrainConfig } | { err: ConfigError };
  try {
    res = { ok: resolveTrainConfig(input) };
  } catch (e) {
    if (!(e instanceof ConfigError)) {
      throw new Error(`resolveTrainConfig threw ${(e as Error)?.constructor?.name ?? typeof e} instead of ConfigError: ${String((e as Error)?.message ?? e)}`);
    }
    assert.match(e.path, /^config(\.|\[|$)/, `ConfigError.path ${e.path}`);
    assert.ok(e.message.includes(e.path), `the message names the path ${e.path}: ${e.message}`);
    // Messages stay short whatever the value (a huge array must not become a huge message); unknown-field
    // messages hold the key itself, which may be long.
    assert.ok(e.message.length < 400 + e.path.length, `message of ${e.message.length} characters`);
    res = { err: e };
  }
  const ms = performance.now() - t0;
  assert.ok(ms < MAX_MS, `resolveTrainConfig took ${ms.toFixed(0)} ms`);
  if ('ok' in res) {
    // A resolved config is a fixed point: saved as JSON (config.json, checkpoints) and resolved again, it is
    // the same config with the same hash.
    const again = resolveTrainConfig(JSON.parse(JSON.stringify(res.ok)));
    assert.deepEqual(again, res.ok);
    assert.equal(configHash(again), configHash(res.ok));
  }
  return res;
}

function check<T>(name: string, arb: fc.Arbitrary<T>, numRuns: number, pred: (v: T) => void, seed = SEED): void {
  fc.assert(fc.property(arb, (v) => { pred(v); }), { seed, numRuns, endOnFailure: false });
  counts[name] = (counts[name] ?? 0) + numRuns;
}

/** Values no number field accepts: other JSON types, NaN, +-Infinity. */
const notANumber = fc.oneof(
  fc.string(), fc.boolean(), fc.constant(null), fc.array(fc.integer(), { maxLength: 3 }), fc.dictionary(fc.string(), fc.integer(), { maxKeys: 2 }),
  fc.constantFrom(NaN, Infinity, -Infinity),
);

/** A value the leaf must reject. */
function invalidFor(spec: Leaf['spec']): fc.Arbitrary<unknown> {
  switch (spec.kind) {
    case 'number': {
      const bad: fc.Arbitrary<unknown>[] = [notANumber];
      if (spec.min !== undefined) bad.push(fc.double({ max: spec.min, maxExcluded: !spec.exclusiveMin, noNaN: true }));
      if (spec.max !== undefined) bad.push(fc.double({ min: spec.max, minExcluded: true, noNaN: true }));
      if (spec.integer) {
        bad.push(fc.double({ min: Math.max(spec.min ?? 0, 0), max: 1e6, noNaN: true }).filter((x) => !Number.isInteger(x)));
        bad.push(fc.constantFrom(2 ** 53, 1e20, Number.MAX_VALUE));
      }
      return fc.oneof(...bad);
    }
    case 'boolean':
      return fc.oneof(fc.string(), fc.integer(), fc.constant(null), fc.constantFrom('true', 0, 1, []));
    case 'string':
      return fc.oneof(
        fc.integer(), fc.boolean(), fc.constant(null), fc.array(fc.string(), { maxLength: 2 }),
        ...(spec.oneOf ? [fc.string().filter((s) => !(spec.oneOf as readonly string[]).includes(s))] : []),
      );
    case 'numberOrEnum':
      return fc.oneof(
        fc.string().filter((s) => !spec.oneOf.includes(s)), fc.boolean(), fc.constant(null), fc.constantFrom(NaN, Infinity, -Infinity),
        ...(spec.min !== undefined ? [fc.double({ max: spec.min, maxExcluded: true, noNaN: true })] : []),
        ...(spec.max !== undefined ? [fc.double({ min: spec.max, minExcluded: true, noNaN: true })] : []),
      );
    case 'numberList':
      return fc.oneof(
        notANumber.filter((v) => !Array.isArray(v)),
        // one bad element somewhere in an otherwise valid list
        fc.tuple(fc.nat(5), notANumber).map(([i, bad]) => { const l: unknown[] = [1, 2, 3, 4, 5, 6].slice(0, i); l.push(bad); return l; }),
        ...(spec.increasing ? [fc.constantFrom([3, 3], [5, 4], [1, 8, 2])] : []),
        ...(spec.integer ? [fc.constantFrom([1.5], [2, 2.5])] : []),
      );
    case 'record':
      return fc.oneof(fc.string(), fc.integer(), fc.boolean(), fc.constant(null), fc.array(fc.jsonValue({ maxDepth: 2 }), { maxLength: 3 }));
  }
}

/** A value the leaf accepts (to build valid configs around the mutated field). */
function validFor(spec: Leaf['spec']): fc.Arbitrary<unknown> {
  switch (spec.kind) {
    case 'number': {
      const lo = spec.min ?? -1e6, hi = spec.max ?? Math.max(lo + 100, 100);
      if (spec.integer) return fc.integer({ min: Math.ceil(lo) + (spec.exclusiveMin ? 1 : 0), max: Math.floor(Math.min(hi, lo + 1000)) });
      return fc.double({ min: lo, max: hi, minExcluded: spec.exclusiveMin, noNaN: true, noDefaultInfinity: true });
    }
    case 'boolean': return fc.boolean();
    case 'string': return spec.oneOf ? fc.constantFrom(...spec.oneOf) : fc.string();
    case 'numberOrEnum': return fc.oneof(fc.constantFrom(...spec.oneOf), fc.double({ min: spec.min ?? -1e6, max: spec.max ?? 1e6, noNaN: true }));
    case 'numberList':
      return fc.uniqueArray(fc.integer({ min: spec.min ?? 0, max: 1000 }), { maxLength: 6 }).map((l) => (spec.increasing ? l.sort((a, b) => a - b) : l));
    // the registered component validates its record since coreface-lab 0.2.0 (fully resolved configs): {} is what
    // every one accepts, other records mostly name unknown options
    case 'record': return fc.oneof({ arbitrary: fc.constant({}), weight: 4 }, { arbitrary: fc.dictionary(fc.string(), fc.jsonValue({ maxDepth: 3 }), { maxKeys: 4 }), weight: 1 });
  }
}

/**
 * Valid values of the fields that name a registered component (checked at config time since coreface-lab 0.2.0):
 * the registered names (datasets whose default options resolve without a path or a file).
 */
const REGISTERED: Record<string, string[]> = {
  'config.dataset.name': listDatasets().map((d) => d.name).filter((n) => {
    try {
      resolveDatasetOptions(n, {});
      return true;
    } catch {
      return false;
    }
  }),
  'config.model.backbone': listBackbones().map((b) => b.name),
  'config.head.name': listHeads().map((h) => h.name),
  'config.pairLoss.name': ['none', ...listPairLosses().map((l) => l.name)],
};

/** A schema-guided config: mostly known keys with valid or wrong values, sometimes unknown keys or junk. */
function configArb(schema: Schema, path = 'config'): fc.Arbitrary<unknown> {
  const fields: Record<string, fc.Arbitrary<unknown>> = {};
  for (const [k, spec] of Object.entries(schema)) {
    const names = REGISTERED[`${path}.${k}`];
    fields[k] = spec.kind === 'object'
      ? fc.oneof({ arbitrary: configArb(spec.fields, `${path}.${k}`), weight: 30 }, { arbitrary: fc.jsonValue({ maxDepth: 2 }), weight: 1 })
      : fc.oneof({ arbitrary: names ? fc.constantFrom(...names) : validFor(spec), weight: 60 }, { arbitrary: invalidFor(spec), weight: 1 }, { arbitrary: fc.jsonValue({ maxDepth: 2 }), weight: 1 });
  }
  return fc.tuple(
    fc.record(fields, { requiredKeys: [] }),
    fc.oneof(
      { arbitrary: fc.constant(null), weight: 30 },
      { arbitrary: fc.dictionary(fc.string({ maxLength: 12 }), fc.jsonValue({ maxDepth: 1 }), { minKeys: 1, maxKeys: 2 }), weight: 1 },
    ),
  ).map(([known, extra]) => (extra ? { ...extra, ...known } : known));
}

/** Typos of a field name: a letter dropped, doubled, swapped or its case changed. */
function typosOf(key: string): string[] {
  const t = new Set<string>([key.toLowerCase(), key.toUpperCase(), `${key}s`, ` ${key}`, `${key} `, key.replace(/_/g, '')]);
  for (let i = 0; i < key.length; i++) {
    t.add(key.slice(0, i) + key.slice(i + 1));
    t.add(key.slice(0, i) + key[i] + key.slice(i));
    if (i + 1 < key.length) t.add(key.slice(0, i) + key[i + 1] + key[i] + key.slice(i + 2));
  }
  t.delete(key);
  return [...t];
}

describe('reliability: config fuzz (fast-check)', function () {
  this.timeout(120000);
  after(() => {
    const total = Object.values(counts).reduce((a, b) => a + b, 0);
    console.log(`      ${total} cases (seed ${SEED}): ${Object.entries(counts).map(([k, n]) => `${k} ${n}`).join(', ')}`);
  });

  it('arbitrary JSON values: a config or a ConfigError naming the path, nothing else', () => {
    check('json', fc.jsonValue({ maxDepth: 4 }), 1500, (v) => { outcome(v); });
    // Also wrapped in every object of the schema, so arbitrary values reach every level.
    check('json-at-object', fc.tuple(fc.constantFrom(...OBJECTS.filter((o) => o.keys.length > 0)), fc.jsonValue({ maxDepth: 3 })), 1000, ([o, v]) => {
      outcome(setAt({}, o.keys, v));
    });
  });

  it('schema-guided configs (valid, wrong, unknown and junk fields mixed): a config or a ConfigError naming the path', () => {
    let ok = 0;
    check('guided', configArb(TRAIN_SCHEMA), 2000, (v) => { if ('ok' in outcome(v)) ok++; });
    assert.ok(ok > 50 && ok < 1950, `both outcomes are exercised (${ok} valid of 2000)`);
  });

  it('a wrong type or an out-of-range value at each schema path is a ConfigError at exactly that path', () => {
    for (const leaf of LEAVES) {
      check('wrong-value', invalidFor(leaf.spec), 60, (bad) => {
        const r = outcome(setAt({}, leaf.keys, bad));
        assert.ok('err' in r, `${leaf.path} = ${fc.stringify(bad)} was accepted`);
        const p = r.err.path;
        assert.ok(p === leaf.path || p.startsWith(`${leaf.path}[`), `error at ${p}, expected ${leaf.path}: ${r.err.message}`);
      });
    }
  });

  it('NaN, +-Infinity and unsafe integers are refused at every numeric path', () => {
    const numeric = LEAVES.filter((l) => l.spec.kind === 'number' || l.spec.kind === 'numberOrEnum' || l.spec.kind === 'numberList');
    for (const leaf of numeric) {
      const vals: unknown[] = [NaN, Infinity, -Infinity];
      if (leaf.spec.kind === 'number' && leaf.spec.integer) vals.push(2 ** 53, 1e300);
      for (const v of vals) {
        const r = outcome(setAt({}, leaf.keys, leaf.spec.kind === 'numberList' ? [1, v] : v));
        assert.ok('err' in r && r.err.path.startsWith(leaf.path), `${leaf.path} = ${String(v)}`);
        counts['non-finite'] = (counts['non-finite'] ?? 0) + 1;
      }
    }
  });

  it('unknown fields and typos at every level are a ConfigError naming the unknown field', () => {
    const protoKeys = ['constructor', 'toString', 'valueOf', 'hasOwnProperty', '__proto__', 'isPrototypeOf', '__defineGetter__'];
    for (const o of OBJECTS) {
      const typos = Object.keys(o.schema).flatMap(typosOf).filter((k) => !(k in o.schema) || protoKeys.includes(k));
      const keyArb = fc.oneof(fc.constantFrom(...typos, ...protoKeys), fc.string({ minLength: 1, maxLength: 20 }));
      check('unknown-field', fc.tuple(keyArb.filter((k) => !Object.prototype.hasOwnProperty.call(o.schema, k)), fc.jsonValue({ maxDepth: 2 })), 200, ([key, v]) => {
        const r = outcome(setAt({}, [...o.keys, key], v));
        assert.ok('err' in r, `${o.path}.${fc.stringify(key)} was accepted`);
        assert.equal(r.err.path, `${o.path}.${key}`);
        assert.match(r.err.message, /^unknown field .* \(allowed: /);
      });
    }
    // The keys of Object.prototype are no fields (they used to pass the `key in schema` test silently).
    const r = outcome(JSON.parse('{"training": {"__proto__": {"epochs": 1}}, "constructor": 1}'));
    assert.ok('err' in r);
  });

  it('huge arrays and strings: linear time and short messages', () => {
    const n = 200000;
    const big = Array.from({ length: n }, (_, i) => i + 1);
    assert.equal((outcome({ optimizer: { milestones: big } }) as { ok: TrainConfig }).ok.optimizer.milestones.length, n);
    for (const [keys, v] of [
      [['seed'], big], [['optimizer', 'milestones'], [...big.slice(0, n - 1), 0]], [['optimizer', 'milestones'], big.map(String)],
      [['name'], big], [['coreface', 'margin'], big], [['dataset', 'options'], big], [['training'], big],
      [['dataset', 'options', 'x'], 'x'.repeat(5e6)],
    ] as [string[], unknown][]) {
      outcome(setAt({}, keys, v));
      counts.huge = (counts.huge ?? 0) + 1;
    }
    check('huge-random', fc.tuple(fc.constantFrom(...LEAVES), fc.integer({ min: 1000, max: 50000 }), fc.jsonValue({ maxDepth: 1 })), 40, ([leaf, len, item]) => {
      outcome(setAt({}, leaf.keys, Array.from({ length: len }, () => item)));
    });
  });

  it('deeply nested options: a ConfigError beyond the depth limit, never a stack overflow', () => {
    let deep: unknown = 1;
    for (let i = 0; i < 100000; i++) deep = [deep];
    for (const keys of [['dataset', 'options', 'a'], ['head', 'options', 'a'], ['model', 'backboneOptions', 'a'], ['seed'], ['name'], ['optimizer', 'milestones']]) {
      const r = outcome(setAt({}, keys, deep));
      assert.ok('err' in r);
      counts.deep = (counts.deep ?? 0) + 1;
    }
    check('nesting', fc.integer({ min: 1, max: 3 * MAX_RECORD_DEPTH }), 100, (depth) => {
      let v: unknown = { leaf: true };
      for (let i = 0; i < depth; i++) v = i % 2 ? [v] : { k: v };
      // within the limit the schema takes the value and the dataset refuses the unknown option 'x' (a ConfigError too)
      const r = outcome({ dataset: { options: { x: v } } });
      assert.equal('err' in r && /nested more than/.test(r.err.message), depth >= MAX_RECORD_DEPTH, `depth ${depth}`);
    });
  });

  it('cross-field rules are ConfigErrors too (they used to be plain Errors: CLI exit 1 instead of 2)', () => {
    check('cross-field', fc.tuple(fc.integer({ min: 1, max: 50 }), fc.integer({ min: 0, max: 60 }), fc.integer({ min: 1, max: 9 }), fc.integer({ min: 2, max: 80 })), 300, ([epochs, start, k, bs]) => {
      const r = outcome({ training: { epochs, sampler: 'identity-balanced', samplesPerIdentity: k, batchSize: bs }, coreface: { enabled: true, startEpoch: start } });
      if (start >= epochs) assert.ok('err' in r && r.err.path === 'config.coreface.startEpoch', r.toString());
      else if (bs % k !== 0) assert.ok('err' in r && r.err.path === 'config.training.batchSize');
      else assert.ok('ok' in r);
    });
    assert.ok('err' in outcome(null), 'null is not a config (undefined is: the defaults)');
    assert.ok('ok' in outcome(undefined));
  });

  it('non-JSON values from in-process callers: sparse arrays, class instances, functions', () => {
    const cases: [string[], unknown][] = [
      // eslint-disable-next-line no-sparse-arrays
      [['optimizer', 'milestones'], [1, , 3]],
      [['dataset', 'options'], new Map([['a', 1]])], [['dataset', 'options'], new Date(0)], [['dataset', 'options', 'f'], () => 1],
      [['dataset', 'options', 'n'], 10n], [['dataset', 'options', 's'], Symbol('s')], [['training'], new Date(0)], [['seed'], 1n],
    ];
    for (const [keys, v] of cases) {
      const r = outcome(setAt({}, keys, v));
      assert.ok('err' in r, `${keys.join('.')} = ${fc.stringify(v)} accepted`);
      counts['non-json'] = (counts['non-json'] ?? 0) + 1;
    }
  });
});
