import { strict as assert } from 'assert';
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { resolveDatasetOptions } from '../../../src/data';
import { makeFaceFolder, write } from './helpers';

const ROOT = path.join(__dirname, '..', '..', '..');
const BIN = path.join(ROOT, 'bin', 'coreface.js');
const built = fs.existsSync(path.join(ROOT, 'dist', 'src', 'data', 'user', 'index.js'));

function cli(args: string[]): { code: number; out: string; err: string } {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', timeout: 240000, env: { ...process.env, COREFACE_BACKEND: process.env.COREFACE_BACKEND ?? 'wasm' } });
  return { code: r.status ?? -1, out: r.stdout, err: r.stderr };
}

/** A 1-epoch tiny model (as test/train/trainer.test.ts TINY) on the user dataset options below. */
const TINY = {
  name: 'mine',
  dataset: { name: 'image-folder', options: { size: 16, channels: 1, testIdentities: 21 } },
  model: { backbone: 'iresnet-tiny', embeddingDim: 16 },
  head: { name: 'arcface', options: { scale: 16, margin: 0.2 } },
  training: { epochs: 1, batchSize: 8, evalEvery: 0 },
  optimizer: { lr: 0.05, milestones: [4] },
};

describe('data/user: coreface train --data', function () {
  this.timeout(300000);
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'coreface-user-cli-'));
  const faces = path.join(tmp, 'faces');
  before(function () {
    if (!built) this.skip(); // needs dist (npm run build)
    makeFaceFolder(faces);
  });
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it('trains 1 epoch of a tiny model on a folder: exit 0, result.json, dataset options from the config', () => {
    const cfg = path.join(tmp, 'tiny.json');
    write(cfg, JSON.stringify(TINY));
    const out = path.join(tmp, 'run');
    const t0 = Date.now();
    const r = cli(['train', '--data', faces, '--config', cfg, '--out', out]);
    assert.equal(r.code, 0, r.err);
    console.log(`      train --data: ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    assert.match(r.out, /^mine \(seed 0, .*\): verification \d+\.\d+% ± .*; .*run\/result\.json\n$/);
    assert.match(r.err, /faces: read 105 of 107 images, skipped 2/);
    assert.match(r.err, /image-folder: \d training identities \(\d+ images\), 2\d held-out identities/);
    const result = JSON.parse(fs.readFileSync(path.join(out, 'result.json'), 'utf8')) as { config: { dataset: { name: string; options: Record<string, unknown> } }; final: { counts: { pairs: number } } };
    // the config's dataset options with --data's path, every default written out (issue 15: fully resolved configs)
    const options = resolveDatasetOptions('image-folder', { size: 16, channels: 1, testIdentities: 21, path: faces });
    assert.deepEqual(result.config.dataset, { name: 'image-folder', options });
    assert.equal(result.final.counts.pairs, 240);
    // eval --checkpoint rebuilds the same benchmark from the stored config (synchronously, in the Trainer)
    const ev = cli(['eval', '--checkpoint', out, '--json']);
    assert.equal(ev.code, 0, ev.err);
    assert.equal((JSON.parse(ev.out) as { counts: { pairs: number } }).counts.pairs, 240);
  });

  it('a bad path, or data too small for 10 folds: exit 2 with the message', () => {
    const none = cli(['train', '--data', path.join(tmp, 'nope')]);
    assert.equal(none.code, 2);
    assert.match(none.err, /^coreface: .*nope: no such file or folder\n$/);
    const txt = path.join(tmp, 'notes.txt');
    write(txt, 'x');
    const other = cli(['train', '--data', txt]);
    assert.equal(other.code, 2);
    assert.match(other.err, /notes\.txt is neither a folder \(<identity>\/<image> files\) nor an insightface \.rec file/);
    const few = cli(['train', '--data', faces]); // default testIdentities 0.2 holds out 5 of 27
    assert.equal(few.code, 2);
    assert.match(few.err, /coreface: image-folder: 27 identities with >= 2 images listed, 5 held out .*need at least 20 held-out identities/);
    const rec = path.join(tmp, 'empty.rec');
    write(rec, '');
    const broken = cli(['train', '--data', rec]);
    assert.equal(broken.code, 2);
    assert.match(broken.err, /coreface: .*empty\.idx: no such file \(the index of .*empty\.rec\)/);
    const noArgs = cli(['train']);
    assert.equal(noArgs.code, 2);
    assert.match(noArgs.err, /train needs --config FILE\.json, or --data FOLDER\|FILE\.rec/);
  });
});
