import { strict as assert } from 'assert';
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Trainer } from '../../src/train';

const ROOT = path.join(__dirname, '..', '..');
const BIN = path.join(ROOT, 'bin', 'coreface.js');
const FIXTURES = path.join(ROOT, 'test', 'fixtures', 'readers');
const PAIRS_BIN = path.join(FIXTURES, 'bin', 'pairs_p3.bin');
const built = fs.existsSync(path.join(ROOT, 'dist', 'src', 'cli', 'main.js'));

function cli(args: string[]): { code: number; out: string; err: string } {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', timeout: 240000 });
  return { code: r.status ?? -1, out: r.stdout, err: r.stderr };
}

const TINY = {
  name: 'tiny-cli-eval',
  dataset: { name: 'synthfaces', options: { trainIdentities: 16, imagesPerIdentity: 12, testIdentities: 30, testImagesPerIdentity: 4, pairsPerFold: 10, resolution: 16, channels: 1, nuisance: 0.6 } },
  model: { backbone: 'iresnet-tiny', embeddingDim: 32 },
  head: { name: 'arcface', options: { scale: 16, margin: 0.2 } },
  training: { epochs: 1, batchSize: 32, evalEvery: 0 },
  optimizer: { lr: 0.05, milestones: [1] },
};

describe('cli: coreface eval --data --model', function () {
  this.timeout(300000);
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'coreface-cli-eval-'));
  const run = path.join(tmp, 'run');
  before(function () {
    if (!built) this.skip(); // npm test builds first; a bare `mocha` run without dist skips these
    const t = new Trainer(TINY, { outDir: run, progress: false });
    t.run();
    t.dispose();
  });
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it('evaluates a trained run on a .bin (text and --json), and the --checkpoint form still works', () => {
    const r = cli(['eval', '--data', PAIRS_BIN, '--model', run]);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /^model checkpoint:.*run \(32-d, input 16x16x1\) on .*pairs_p3\.bin: 20 images, 10 pairs \(5 same, 5 different\), 10 folds, flip fusion$/m);
    assert.match(r.out, /^verification accuracy \d+\.\d\d% ± \d+\.\d\d%, AUC \d+\.\d\d%, EER \d+\.\d\d%$/m);
    assert.match(r.out, /^TAR@FAR 1e-1: n\/a/m);
    assert.match(r.err, /read 20 of 20 images, skipped 0/);
    const j = cli(['eval', '--data', PAIRS_BIN, '--model', run, '--json', '--size', '8']);
    assert.equal(j.code, 0, j.err);
    const report = JSON.parse(j.out) as { data: { adapted: boolean; imageShape: number[]; pairs: number }; verification: { accuracy: number; foldAccuracies: number[] } };
    assert.deepEqual([report.data.adapted, report.data.imageShape, report.data.pairs], [true, [8, 8, 1], 10]);
    assert.equal(report.verification.foldAccuracies.length, 10);
    const lfw = cli(['eval', '--data', path.join(FIXTURES, 'lfw', 'images'), '--pairs', path.join(FIXTURES, 'lfw', 'pairs.txt'), '--model', run]);
    assert.equal(lfw.code, 0, lfw.err);
    assert.match(lfw.out, /8 images, 8 pairs \(4 same, 4 different\), 2 folds/);
    const legacy = cli(['eval', '--checkpoint', run]);
    assert.equal(legacy.code, 0, legacy.err);
    assert.match(legacy.out, /^checkpoint .*checkpoint\.ckpt \(epoch 1, synthfaces/m);
  });

  it('bad model names, bad data and bad arguments: one-line messages, exit 2', () => {
    const unknown = cli(['eval', '--data', PAIRS_BIN, '--model', 'resnet']);
    assert.equal(unknown.code, 2);
    assert.equal(unknown.err, "coreface: unknown model 'resnet'; give a run directory or a registered embedder: face-api, faceres\n");
    const bad = cli(['eval', '--data', path.join(FIXTURES, 'bin', 'shape_dict.bin'), '--model', run]);
    assert.equal(bad.code, 2);
    assert.match(bad.err, /^coreface: .*shape_dict\.bin at byte \d+: expected a pickled tuple \(bins, issame_list\), got a dict with 2 entries\n$/);
    fs.writeFileSync(path.join(tmp, 'junk.bin'), 'definitely not a pickle');
    const junk = cli(['eval', '--data', path.join(tmp, 'junk.bin'), '--model', run]);
    assert.equal(junk.code, 2);
    assert.match(junk.err, /^coreface: .*junk\.bin at byte 0: .*\n$/);
    const missing = cli(['eval', '--data', path.join(tmp, 'nope.bin'), '--model', run]);
    assert.equal(missing.code, 2);
    assert.match(missing.err, /^coreface: .*nope\.bin: no such file or folder\n$/);
    const folder = cli(['eval', '--data', path.join(FIXTURES, 'lfw', 'images'), '--model', run]);
    assert.equal(folder.code, 2);
    assert.match(folder.err, /is a folder: give its pairs file with --pairs pairs\.txt/);
    const badPairs = path.join(tmp, 'pairs.txt');
    fs.writeFileSync(badPairs, '2\t1\nAlice\t1\n');
    const pairs = cli(['eval', '--data', path.join(FIXTURES, 'lfw', 'images'), '--pairs', badPairs, '--model', run]);
    assert.equal(pairs.code, 2);
    assert.match(pairs.err, /^coreface: .*pairs\.txt line 2: expected 3 fields .* got 2\n$/);
    const noModel = cli(['eval', '--data', PAIRS_BIN]);
    assert.equal(noModel.code, 2);
    assert.match(noModel.err, /eval --data needs --model RUN_DIR \| faceres \| face-api/);
    const noData = cli(['eval', '--model', 'faceres']);
    assert.equal(noData.code, 2);
    assert.match(noData.err, /eval --model needs --data/);
    const size = cli(['eval', '--data', PAIRS_BIN, '--model', run, '--size', '0']);
    assert.equal(size.code, 2);
    assert.match(size.err, /--size must be a positive integer/);
  });
});
