import { strict as assert } from 'assert';
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { schemaMarkdown, TRAIN_SCHEMA } from '../../src/config';

const ROOT = path.join(__dirname, '..', '..');
const BIN = path.join(ROOT, 'bin', 'coreface.js');
const built = fs.existsSync(path.join(ROOT, 'dist', 'src', 'cli', 'main.js'));

function cli(args: string[], env: Record<string, string> = {}): { code: number; out: string; err: string } {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', env: { ...process.env, ...env }, timeout: 120000 });
  return { code: r.status ?? -1, out: r.stdout, err: r.stderr };
}

describe('cli: coreface', function () {
  this.timeout(180000);
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'coreface-cli-'));
  before(function () {
    if (!built) this.skip(); // npm test builds first; a bare `mocha` run without dist skips these
  });
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  const write = (name: string, value: unknown): string => {
    const f = path.join(tmp, name);
    fs.writeFileSync(f, typeof value === 'string' ? value : JSON.stringify(value));
    return f;
  };

  it('prints usage with --help (exit 0) and rejects unknown commands and options (exit 2)', () => {
    const h = cli(['--help']);
    assert.equal(h.code, 0);
    assert.match(h.out, /coreface reproduce/);
    const u = cli(['fly']);
    assert.equal(u.code, 2);
    assert.match(u.err, /unknown command 'fly' \(commands: reproduce, ablate, collect, runs, train, eval, list, config\)/);
    const o = cli(['train', '--confg', 'x.json']);
    assert.equal(o.code, 2);
    assert.match(o.err, /Unknown option '--confg'/);
    const p = cli(['reproduce', '--preset', 'huge']);
    assert.equal(p.code, 2);
    assert.match(p.err, /--preset must be one of quick, full, got 'huge'/);
    const s = cli(['reproduce', '--seeds', '0']);
    assert.equal(s.code, 2);
    assert.match(s.err, /--seeds must be a positive integer, got "0"/);
  });

  it('names the field of a bad config, a missing file and invalid JSON', () => {
    const bad = cli(['train', '--config', write('bad.json', { optimizer: { lr: 0 } })]);
    assert.equal(bad.code, 2);
    assert.match(bad.err, /config error: config\.optimizer\.lr must be > 0, got 0/);
    const unknown = cli(['train', '--config', write('unk.json', { traning: {} })]);
    assert.equal(unknown.code, 2);
    assert.match(unknown.err, /unknown field config\.traning \(allowed: .*training/);
    const missing = cli(['train', '--config', path.join(tmp, 'nope.json')]);
    assert.equal(missing.code, 2);
    assert.match(missing.err, /config file not found/);
    const json = cli(['train', '--config', write('broken.json', '{"seed": ')]);
    assert.equal(json.code, 2);
    assert.match(json.err, /broken\.json is not valid JSON/);
    const backend = cli(['train', '--config', write('ok.json', {}), '--backend', 'tpu']);
    assert.notEqual(backend.code, 0);
    assert.match(backend.err, /backend must be one of 'tfjs-node-gpu', 'wasm', 'cpu', got 'tpu'/);
  });

  it('lists the registries and prints the default config', () => {
    const l = cli(['list']);
    assert.equal(l.code, 0);
    assert.match(l.out, /heads: .*arcface/);
    assert.match(l.out, /datasets: .*synthfaces/);
    const c = cli(['config']);
    assert.equal(JSON.parse(c.out).coreface.batchWeight, 0.99);
  });

  it('trains a tiny model, then evaluates its checkpoint to the same numbers', () => {
    const cfg = {
      name: 'tiny',
      dataset: { options: { trainIdentities: 16, imagesPerIdentity: 12, testIdentities: 30, testImagesPerIdentity: 4, pairsPerFold: 10, resolution: 16, channels: 1, nuisance: 0.6 } },
      model: { backbone: 'iresnet-tiny', embeddingDim: 32 },
      head: { options: { scale: 16, margin: 0.2 } },
      training: { epochs: 2, batchSize: 32 },
      optimizer: { lr: 0.05, milestones: [1] },
      coreface: { enabled: true, startEpoch: 1, scale: 16 },
      dropout: { before: 0.4, after: 0.6 },
    };
    const out = path.join(tmp, 'run');
    const t = cli(['train', '--config', write('tiny.json', cfg), '--out', out]);
    assert.equal(t.code, 0, t.err);
    assert.match(t.err, /\[coreface\] backend: wasm/);
    assert.match(t.out, /tiny \(seed 0, wasm\): verification \d+\.\d+% ± \d+\.\d+%/);
    for (const f of ['config.json', 'metrics.jsonl', 'checkpoint.ckpt', 'result.json']) assert.ok(fs.existsSync(path.join(out, f)), f);
    const result = JSON.parse(fs.readFileSync(path.join(out, 'result.json'), 'utf8')) as { final: { verification: { accuracy: number } } };
    const e = cli(['eval', '--checkpoint', out, '--json']);
    assert.equal(e.code, 0, e.err);
    assert.equal(JSON.parse(e.out).verification.accuracy, result.final.verification.accuracy);
  });
});

describe('docs/config.md', () => {
  it('is the current schema reference (regenerate: node bin/coreface.js config --docs)', () => {
    const doc = fs.readFileSync(path.join(ROOT, 'docs', 'config.md'), 'utf8');
    assert.ok(doc.includes(schemaMarkdown(TRAIN_SCHEMA)), 'docs/config.md is out of date');
  });
});
