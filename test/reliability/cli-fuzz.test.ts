/**
 * Property-based fuzzing of the CLI entry point, in-process: `main(argv)` from src/cli/main.ts with fast-check
 * argv (unknown commands and flags, missing values, wrong types, bad paths, config files of random bytes /
 * invalid JSON / wrong schema, broken checkpoints). Every generated argv is invalid by construction; main must
 * resolve (never reject) to a non-zero exit code and write exactly one `coreface: ...` line to stderr (besides
 * the usage hint and the backend line), never a stack trace. Trainer.prototype.run is stubbed to throw, so a
 * generator mistake can never start a real training run.
 */
import { strict as assert } from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import fc from 'fast-check';
import * as tf from '@tensorflow/tfjs';
import { main } from '../../src/cli/main';
import { resolveTrainConfig } from '../../src/config';
import { initBackend } from '../../src/backends';
import { Trainer } from '../../src/train';
import { saveCheckpoint } from '../../src/train/checkpoint';
import { TINY_CONFIG, tmpDir, writeJson } from './helpers';

const SEED = 4242;
const counts: Record<string, number> = {};
/** Exit codes seen per property, for the report. */
const codes: Record<string, Record<number, number>> = {};

interface Call { code: number; out: string; err: string; ms: number }

/** Runs main(argv) with stdout/stderr captured; rejects only if main rejects or takes longer than `limitMs`. */
async function call(argv: string[], limitMs = 30000): Promise<Call> {
  const write = { out: process.stdout.write, err: process.stderr.write };
  let out = '', err = '';
  const capture = (sink: (s: string) => void) => ((chunk: string | Uint8Array, ...rest: unknown[]): boolean => {
    sink(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8'));
    const cb = rest.find((r) => typeof r === 'function') as (() => void) | undefined;
    cb?.();
    return true;
  }) as typeof process.stdout.write;
  process.stdout.write = capture((s) => { out += s; });
  process.stderr.write = capture((s) => { err += s; });
  const t0 = Date.now();
  let timer: NodeJS.Timeout | undefined;
  try {
    const code = await Promise.race([
      main(argv),
      new Promise<never>((_, reject) => { timer = setTimeout(() => reject(new Error(`main(${JSON.stringify(argv)}) did not settle in ${limitMs} ms`)), limitMs); }),
    ]);
    return { code, out, err, ms: Date.now() - t0 };
  } finally {
    if (timer) clearTimeout(timer);
    process.stdout.write = write.out;
    process.stderr.write = write.err;
  }
}

const STACK_LINE = /^\s+at .+(:\d+:\d+\)?|\(native\)|<anonymous>\)?)$/;
/** Lines allowed on stderr next to the one `coreface:` line. */
const ALLOWED_EXTRA = [/^Run 'coreface --help' for usage\.$/, /^\[coreface\] backend: /];

/** Asserts the failure contract: non-zero code, one `coreface: ...` line, no stack trace, nothing long. */
function assertCleanFailure(argv: string[], r: Call, what: string): void {
  const show = `${what}: main(${JSON.stringify(argv).slice(0, 300)}) -> ${r.code}\n${r.err.slice(0, 2000)}`;
  assert.ok(Number.isInteger(r.code) && r.code !== 0, `non-zero exit code expected; ${show}`);
  assert.ok([1, 2, 3].includes(r.code), `exit code 1, 2 or 3; ${show}`);
  const lines = r.err.split('\n').filter((l) => l !== '');
  const msgs = lines.filter((l) => l.startsWith('coreface: '));
  assert.equal(msgs.length, 1, `exactly one 'coreface: ' line; ${show}`);
  for (const l of lines) {
    assert.ok(!STACK_LINE.test(l), `no stack trace; ${show}`);
    assert.ok(l.startsWith('coreface: ') || ALLOWED_EXTRA.some((re) => re.test(l)), `unexpected stderr line ${JSON.stringify(l.slice(0, 200))}; ${show}`);
  }
  assert.ok(msgs[0].length < 2000, `message of ${msgs[0].length} characters; ${show}`);
  // eslint-disable-next-line no-control-regex
  assert.ok(!/[\u0000-\u0008\u000b-\u001f\u007f]/.test(r.err), `no raw control characters (terminal escapes) on stderr; ${show}`);
  codes[what] = codes[what] ?? {};
  codes[what][r.code] = (codes[what][r.code] ?? 0) + 1;
}

async function checkAsync<T>(name: string, arb: fc.Arbitrary<T>, numRuns: number, pred: (v: T) => Promise<void>): Promise<void> {
  await fc.assert(fc.asyncProperty(arb, pred), { seed: SEED, numRuns, endOnFailure: true });
  counts[name] = (counts[name] ?? 0) + numRuns;
}

describe('reliability: CLI fuzz (fast-check, in-process main)', function () {
  this.timeout(600000);
  const tmp = tmpDir('clifuzz');
  const origRun = Object.getOwnPropertyDescriptor(Trainer.prototype, 'run') as PropertyDescriptor;
  const envDebug = process.env.COREFACE_DEBUG;
  let fileNo = 0;
  const file = (content: string | Uint8Array, ext = '.json'): string => {
    const f = path.join(tmp, `f${fileNo++}${ext}`);
    fs.writeFileSync(f, content);
    return f;
  };
  const F: Record<string, string> = {};
  const D: Record<string, string> = {};

  before(() => {
    delete process.env.COREFACE_DEBUG;
    Object.defineProperty(Trainer.prototype, 'run', {
      value: () => { throw new Error('FUZZ BUG: the CLI fuzz started a training run'); }, configurable: true, writable: true,
    });
    F.missing = path.join(tmp, 'missing.json');
    F.dir = path.join(tmp, 'a-dir.json');
    fs.mkdirSync(F.dir);
    F.empty = file('');
    F.null = file('null');
    F.array = file('[1, 2, 3]');
    F.string = file('"config"');
    F.typo = file(JSON.stringify({ traning: { epochs: 1 } }));
    F.crossField = file(JSON.stringify({ training: { epochs: 2 }, coreface: { enabled: true, startEpoch: 5 } }));
    F.huge = file(JSON.stringify({ optimizer: { milestones: Array.from({ length: 300000 }, (_, i) => (i === 299999 ? 'x' : i + 1)) } }));
    F.deep = file(`{"dataset":{"options":{"a":${'['.repeat(100000)}${']'.repeat(100000)}}}}`);
    F.escape = file(`{"seed": \u001b[31m1}`);
    F.newlineKey = file(JSON.stringify({ 'bad\nkey\u001b[2J': 1 }));
    F.bom = file('\ufeff{"seed": -1}');
    F.cut = file('{"seed": ');
    // Checkpoint directories for `eval` (and `train --resume`).
    const ckDir = (name: string, content?: Uint8Array | string): string => {
      const d = path.join(tmp, `ck-${name}`);
      fs.mkdirSync(d, { recursive: true });
      if (content !== undefined) fs.writeFileSync(path.join(d, 'checkpoint.ckpt'), content);
      return d;
    };
    D.none = path.join(tmp, 'no-such-dir');
    D.empty = ckDir('empty');
    D.text = ckDir('text', 'hello, not a checkpoint');
    D.magicOnly = ckDir('magic', 'CFCK');
    const header = (json: string, ver = 1, len?: number): Buffer => {
      const h = Buffer.from(json, 'utf8');
      const b = Buffer.alloc(12 + h.length);
      b.write('CFCK', 0, 'latin1');
      b.writeUInt32LE(ver, 4);
      b.writeUInt32LE(len ?? h.length, 8);
      h.copy(b, 12);
      return b;
    };
    D.version = ckDir('version', header('{}', 7));
    D.hugeLen = ckDir('hugelen', header('{}', 1, 0xffffffff));
    D.badJson = ckDir('badjson', header('{"header": {"config": '));
    D.nullHeader = ckDir('nullheader', header('null'));
    D.noTensors = ckDir('notensors', header('{"header": {"config": {}}}'));
    D.badTable = ckDir('badtable', header('{"header": {"config": {}}, "tensors": [{"name": "x", "shape": "big", "offset": -1}]}'));
    D.badConfig = ckDir('badconfig', header(JSON.stringify({ header: { config: { optimizer: { lr: -1 } } }, tensors: [] })));
    const good = path.join(ckDir('truncated'), 'checkpoint.ckpt');
    saveCheckpoint(good, { header: { config: TINY_CONFIG }, tensors: [{ name: 'w', shape: [1000], data: new Float32Array(1000) }] });
    const buf = fs.readFileSync(good);
    fs.writeFileSync(good, buf.subarray(0, buf.length - 100));
    D.truncated = path.dirname(good);
  });

  after(async () => {
    Object.defineProperty(Trainer.prototype, 'run', origRun);
    if (envDebug !== undefined) process.env.COREFACE_DEBUG = envDebug;
    if (tf.getBackend() !== 'wasm') await initBackend({ quiet: true });
    fs.rmSync(tmp, { recursive: true, force: true });
    const total = Object.values(counts).reduce((a, b) => a + b, 0);
    console.log(`      ${total} fuzz cases (seed ${SEED}): ${Object.entries(counts).map(([k, n]) => `${k} ${n}`).join(', ')}`);
    console.log(`      exit codes: ${Object.entries(codes).map(([k, c]) => `${k} ${JSON.stringify(c)}`).join('; ')}`);
  });

  /** Restores the wasm backend if a `--backend cpu` in the argv switched it (main runs in this process). */
  async function restoreBackend(): Promise<void> {
    if (tf.getBackend() !== 'wasm') await initBackend({ quiet: true });
  }

  // ---- generators ----------------------------------------------------------------------------------------
  const junk = fc.string({ maxLength: 12 });
  const junkFlag = fc.stringMatching(/^[a-z][a-z0-9-]{0,12}$/).map((s) => `--zz${s}`);
  const badInt = fc.oneof(
    fc.constantFrom('0', '-1', '1.5', 'abc', 'NaN', 'Infinity', '1e400', '', ' ', '-0', '2.0000001'),
    fc.string().filter((s) => !(Number.isInteger(Number(s)) && Number(s) >= 1)),
  );
  const backendValue = fc.constantFrom('wasm', 'cpu', 'tfjs-node-gpu', 'tpu', '', 'WASM', 'wasm ');
  /** A config file that readJson + resolveTrainConfig must refuse. */
  const badConfigFile = fc.oneof(
    fc.constantFrom(...['missing', 'dir', 'empty', 'null', 'array', 'string', 'typo', 'crossField', 'huge', 'deep', 'escape', 'newlineKey', 'bom', 'cut'].map((k) => () => F[k])),
    fc.uint8Array({ maxLength: 200 }).map((b) => () => file(b)),
    fc.string({ maxLength: 60 }).filter((s) => { try { JSON.parse(s); return false; } catch { return true; } }).map((s) => () => file(s)),
    fc.jsonValue({ maxDepth: 3 }).filter((v) => { try { resolveTrainConfig(v); return false; } catch { return true; } }).map((v) => () => file(JSON.stringify(v))),
  );
  const ckptDir = fc.constantFrom(...['none', 'empty', 'text', 'magicOnly', 'version', 'hugeLen', 'badJson', 'nullHeader', 'noTensors', 'badTable', 'badConfig', 'truncated'].map((k) => () => D[k]));
  const outDir = fc.nat(5).map((i) => () => path.join(tmp, `out${i}`));
  type Tok = (() => string)[];
  const pair = (flag: string, v: fc.Arbitrary<() => string>): fc.Arbitrary<Tok> =>
    fc.tuple(v, fc.boolean()).map(([val, inline]): Tok => (inline ? [() => `${flag}=${val()}`] : [() => flag, val]));
  const val = (a: fc.Arbitrary<string>): fc.Arbitrary<() => string> => a.map((s) => () => s);
  /** Optional extra tokens that keep the argv invalid (never make it valid). */
  const noise = (known: fc.Arbitrary<Tok>[]): fc.Arbitrary<Tok[]> => fc.array(fc.oneof(...known), { maxLength: 3 });
  /** Tokens that alone make any argv of the command invalid. */
  const breaker = (stringFlags: string[], booleanFlags: string[], positionalsAllowed: boolean): fc.Arbitrary<Tok> => fc.oneof(
    junkFlag.map((f): Tok => [() => f]),
    pair('--zzunknown', val(junk)),
    ...(positionalsAllowed ? [] : [junk.filter((s) => !s.startsWith('-')).map((s): Tok => [() => s])]),
    ...(stringFlags.length ? [fc.constantFrom(...stringFlags).map((f): Tok => [() => f])] : []), // a string option with its value missing (placed last)
    ...(booleanFlags.length ? [fc.tuple(fc.constantFrom(...booleanFlags), junk).map(([f, v]): Tok => [() => `${f}=${v}`])] : []),
  );
  const assemble = (cmd: string, parts: Tok[], last?: Tok): fc.Arbitrary<string[]> =>
    fc.shuffledSubarray(parts, { minLength: parts.length, maxLength: parts.length }).map((shuffled) => [cmd, ...[...shuffled, ...(last ? [last] : [])].flat().map((t) => t())]);

  const trainArgv = fc.tuple(
    pair('--config', badConfigFile),
    noise([pair('--out', outDir), fc.constant<Tok>([() => '--resume']), pair('--label', val(junk)), pair('--backend', val(backendValue))]),
    fc.option(breaker(['--config', '--out', '--label', '--backend'], ['--resume'], false), { freq: 3 }),
  ).chain(([cfg, extra, br]) => {
    // a string option with its value missing must be the last token
    const lastIsBare = br !== null && br.length === 1 && /^--(config|out|label|backend)$/.test(br[0]());
    return assemble('train', [cfg, ...extra, ...(br && !lastIsBare ? [br] : [])], lastIsBare ? br ?? undefined : undefined);
  });
  const evalArgv = fc.tuple(
    fc.option(pair('--checkpoint', ckptDir), { freq: 8 }),
    noise([fc.constant<Tok>([() => '--json']), pair('--backend', val(backendValue))]),
    fc.option(breaker(['--checkpoint', '--backend'], ['--json'], false), { freq: 3 }),
  ).chain(([ck, extra, br]) => {
    const lastIsBare = br !== null && br.length === 1 && /^--(checkpoint|backend)$/.test(br[0]());
    return assemble('eval', [...(ck ? [ck] : []), ...extra, ...(br && !lastIsBare ? [br] : [])], lastIsBare ? br ?? undefined : undefined);
  });
  /** reproduce: always one definite error (the valid forms would start the real job). */
  const reproduceArgv = fc.tuple(
    fc.oneof(
      breaker(['--preset', '--seeds', '--jobs'], ['--estimate-only'], false),
      pair('--preset', val(junk.filter((s) => !['quick', 'full'].includes(s)))),
      pair('--seeds', val(badInt)),
      pair('--jobs', val(badInt)),
    ),
    // (no valid --preset/--seeds/--jobs in the noise: the last occurrence of an option wins, and could undo the error)
    noise([pair('--backend', val(backendValue)), fc.constant<Tok>([() => '--estimate-only'])]),
  ).chain(([bad, extra]) => {
    const bare = bad.length === 1 && /^--(preset|seeds|jobs)$/.test(bad[0]());
    return assemble('reproduce', [...extra, ...(bare ? [] : [bad])], bare ? bad : undefined);
  });
  /** ablate / collect (experiment commands): a name that is no experiment and no file, or no name at all. */
  const experimentArgv = fc.tuple(
    fc.constantFrom('ablate', 'collect'),
    fc.option(fc.stringMatching(/^[a-z0-9-]{1,12}$/).map((s) => `zz-no-such-experiment-${s}`), { freq: 5 }),
    noise([pair('--results', outDir), pair('--backend', val(backendValue)), pair('--seeds', val(fc.constantFrom('1', '2', '0,1')))]),
  ).chain(([cmd, name, extra]) => assemble(cmd, [...(name ? [[() => name] as Tok] : []), ...extra]));
  const otherArgv = fc.oneof(
    // unknown commands (anything but the real ones and the help words)
    fc.tuple(junk.filter((s) => !['train', 'eval', 'reproduce', 'ablate', 'collect', 'runs', 'list', 'config', 'help', '-h', '--help', ''].includes(s)), fc.array(junk, { maxLength: 3 }))
      .map(([c, rest]) => [c, ...rest]),
    fc.tuple(fc.constantFrom('list', 'config'), breaker([], ['--defaults', '--docs'], false)).map(([c, br]) => [c, ...br.map((t) => t())]),
  );

  // ---- properties ----------------------------------------------------------------------------------------
  it('train with bad config files, bad flags and bad values', async () => {
    await checkAsync('train', trainArgv, 800, async (argv) => {
      const r = await call(argv);
      await restoreBackend();
      assertCleanFailure(argv, r, 'train');
    });
  });

  it('eval with missing, corrupt and truncated checkpoints', async () => {
    await checkAsync('eval', evalArgv, 300, async (argv) => {
      const r = await call(argv);
      await restoreBackend();
      assertCleanFailure(argv, r, 'eval');
    });
  });

  it('reproduce, ablate and collect with invalid options or names (never the real job)', async () => {
    await checkAsync('reproduce', reproduceArgv, 300, async (argv) => {
      const r = await call(argv);
      await restoreBackend();
      assertCleanFailure(argv, r, 'reproduce');
    });
    await checkAsync('experiments', experimentArgv, 150, async (argv) => {
      const r = await call(argv);
      await restoreBackend();
      assertCleanFailure(argv, r, 'ablate/collect');
    });
  });

  it('unknown commands, and list/config with unknown flags or arguments', async () => {
    await checkAsync('other', otherArgv, 500, async (argv) => {
      const r = await call(argv);
      await restoreBackend();
      assertCleanFailure(argv, r, 'other');
    });
  });

  it('config file problems exit 2 with the file or the field named', async () => {
    const cases: [string, RegExp][] = [
      [F.missing, /config file not found/], [F.empty, /not valid JSON/], [F.cut, /not valid JSON/],
      [F.null, /config must be an object, got null/], [F.array, /config must be an object/], [F.typo, /unknown field config\.traning/],
      [F.crossField, /config\.coreface\.startEpoch \(5\) must be < config\.training\.epochs \(2\)/],
      [F.huge, /config\.optimizer\.milestones\[299999\] must be a finite number, got "x"/],
      [F.deep, /config\.dataset\.options\.a(\[0\])+ is nested more than \d+ levels deep/],
      [F.dir, /a-dir\.json/], [F.escape, /not valid JSON/], [F.newlineKey, /unknown field/], [F.bom, /config\.seed must be >= 0|not valid JSON/],
    ];
    for (const [f, re] of cases) {
      const argv = ['train', '--config', f, '--out', path.join(tmp, 'o')];
      const r = await call(argv);
      assertCleanFailure(argv, r, 'config files');
      assert.equal(r.code, 2, `${f}: ${r.err}`);
      assert.match(r.err, re);
      counts['config-files'] = (counts['config-files'] ?? 0) + 1;
    }
  });

  it('empty argv prints the usage (exit 2); --help prints it (exit 0)', async () => {
    const r = await call([]);
    assert.equal(r.code, 2);
    assert.match(r.err, /^coreface: CoReFace research workbench/);
    for (const argv of [['--help'], ['-h'], ['help'], ['train', '--help'], ['eval', '-h']]) {
      const h = await call(argv);
      assert.equal(h.code, 0, JSON.stringify(argv));
      assert.match(h.out, /Usage:/);
    }
  });

  it('bad paths with a valid config: --out under a file, a foreign or corrupt checkpoint with --resume', async () => {
    Object.defineProperty(Trainer.prototype, 'run', origRun); // these stop before or at the first file write
    try {
      const cfg = writeJson(path.join(tmp, 'tiny.json'), { ...TINY_CONFIG, training: { ...TINY_CONFIG.training, epochs: 1 }, coreface: { enabled: false } });
      const aFile = file('x', '.txt');
      const cases: [string[], RegExp][] = [
        [['train', '--config', cfg, '--out', path.join(aFile, 'run')], /ENOTDIR|not a directory/],
        [['train', '--config', cfg, '--out', aFile], /EEXIST|ENOTDIR|not a directory|already exists/],
        [['train', '--config', cfg, '--out', D.text, '--resume'], /not a coreface checkpoint/],
        [['train', '--config', cfg, '--out', D.truncated, '--resume'], /truncated checkpoint/],
        [['train', '--config', cfg, '--out', D.badConfig, '--resume'], /written by a different config|config/],
      ];
      for (const [argv, re] of cases) {
        const r = await call(argv, 60000);
        assertCleanFailure(argv, r, 'bad paths');
        assert.match(r.err, re);
        counts['bad-paths'] = (counts['bad-paths'] ?? 0) + 1;
      }
    } finally {
      Object.defineProperty(Trainer.prototype, 'run', { value: () => { throw new Error('FUZZ BUG: the CLI fuzz started a training run'); }, configurable: true, writable: true });
    }
  });
});
