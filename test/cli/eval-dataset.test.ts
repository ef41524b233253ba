// `coreface eval --dataset NAME [--dataset-options JSON] --model ... [--max-identities N] [--json]`: any embedder on a
// registered dataset's test split, with the protocol training runs report.
import { strict as assert } from 'assert';
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { listDatasets } from '../../src/data';
import { evaluateEmbeddings } from '../../src/eval';
import type { EvalReport } from '../../src/eval';
import { benchmarkTestSplit, listEmbedders, loadCheckpointEmbedder } from '../../src/embedders';
import type { BenchmarkEvalReport } from '../../src/embedders';
import { Trainer, embedImageSet } from '../../src/train';

const ROOT = path.join(__dirname, '..', '..');
const BIN = path.join(ROOT, 'bin', 'coreface.js');
const built = fs.existsSync(path.join(ROOT, 'dist', 'src', 'cli', 'main.js'));

function cli(args: string[]): { code: number; out: string; err: string } {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', timeout: 240000 });
  return { code: r.status ?? -1, out: r.stdout, err: r.stderr };
}

const OPTIONS = { trainIdentities: 16, imagesPerIdentity: 12, testIdentities: 30, testImagesPerIdentity: 4, pairsPerFold: 10, resolution: 16, channels: 1, nuisance: 0.6 };
const TINY = {
  name: 'tiny-eval-dataset',
  dataset: { name: 'synthfaces', options: OPTIONS },
  model: { backbone: 'iresnet-tiny', embeddingDim: 32 },
  head: { name: 'arcface', options: { scale: 16, margin: 0.2 } },
  training: { epochs: 1, batchSize: 32, evalEvery: 0 },
  optimizer: { lr: 0.05, milestones: [1] },
};
/** The metric part of a report: what `eval --checkpoint --json` prints. */
const pick = (r: EvalReport): Pick<EvalReport, 'verification' | 'identification' | 'openSet' | 'counts'> => ({
  verification: r.verification, identification: r.identification, openSet: r.openSet, counts: r.counts,
});

describe('cli: coreface eval --dataset --model', function () {
  this.timeout(300000);
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'coreface-eval-dataset-'));
  const run = path.join(tmp, 'run');
  const opts = JSON.stringify(OPTIONS);
  before(function () {
    if (!built) this.skip(); // npm test builds first; a bare `mocha` run without dist skips these
    const t = new Trainer(TINY, { outDir: run, progress: false });
    t.run();
    t.dispose();
  });
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it('a run on its own dataset and options gives exactly the numbers of eval --checkpoint (JSON and text)', () => {
    const ck = cli(['eval', '--checkpoint', run, '--json']);
    assert.equal(ck.code, 0, ck.err);
    const ds = cli(['eval', '--dataset', 'synthfaces', '--dataset-options', opts, '--model', run, '--json']);
    assert.equal(ds.code, 0, ds.err);
    const a = JSON.parse(ck.out) as EvalReport, b = JSON.parse(ds.out) as BenchmarkEvalReport;
    assert.deepEqual(pick(b), pick(a));
    assert.deepEqual(b.data, {
      dataset: 'synthfaces', options: OPTIONS, resolvedOptions: b.data.resolvedOptions, images: 120, identities: 30, totalImages: 120,
      totalIdentities: 30, maxIdentities: null, rebuilt: false, imageShape: [16, 16, 1], adapted: false, folds: 10, pairsPerFold: 10,
      foldLayout: 'identity-disjoint', unknownFraction: 0.3,
    });
    assert.deepEqual(b.model, { name: `checkpoint:${run}`, inputSize: 16, channels: 1, embeddingDim: 32 });
    assert.equal(b.flip, true);
    assert.equal(b.backend, /\[coreface\] backend: (\S+)/.exec(ds.err)?.[1]);
    assert.match(ds.err, /^\[eval\] synthfaces \{.*\}: 120 test images of 30 identities, 200 pairs in 10 identity-disjoint folds, gallery 21, probes 63 known \+ 36 unknown; flip fusion: 2 passes per image$/m);
    // text: the metric lines of eval --checkpoint, after a line naming model, dataset, options and backend
    const ckText = cli(['eval', '--checkpoint', run]).out.trim().split('\n');
    const dsText = cli(['eval', '--dataset', 'synthfaces', '--dataset-options', opts, '--model', run]).out.trim().split('\n');
    assert.equal(dsText.length, 7);
    assert.equal(dsText[0], `model checkpoint:${run} (32-d, input 16x16x1) on dataset synthfaces, options ${opts}, backend ${b.backend}`);
    assert.equal(dsText[1], 'test split: 120 images of 30 identities; 200 pairs (100 same, 100 different) in 10 identity-disjoint folds; ' +
      'gallery 21, probes 63 known + 36 unknown; flip fusion');
    assert.deepEqual(dsText.slice(2, 6), ckText.slice(1, 5));
    assert.match(dsText[6], /^120 images in [\d.]+ s \([\d.]+ img\/s, 2 passes each\)$/);
  });

  it('--max-identities: the numbers of evaluateEmbeddings on the first N identities, computed in-process', async () => {
    const r = cli(['eval', '--dataset', 'synthfaces', '--dataset-options', opts, '--model', run, '--max-identities', '20', '--json']);
    assert.equal(r.code, 0, r.err);
    const report = JSON.parse(r.out) as BenchmarkEvalReport;
    assert.match(r.err, /80 test images of 20 identities \(the first 20 of 30; pairs and identification split rebuilt on them\), 200 pairs in 10 identity-disjoint folds/);
    assert.deepEqual([report.data.images, report.data.identities, report.data.maxIdentities, report.data.rebuilt], [80, 20, 20, true]);
    const before = tf.memory().numTensors;
    const e = await loadCheckpointEmbedder(run);
    try {
      const split = benchmarkTestSplit(e.trainer.benchmark, 20);
      const { embeddings, dim } = embedImageSet((x) => e.trainer.model.embed(x, { training: false }), split.images);
      const want = evaluateEmbeddings(embeddings, split.images.count, dim, split.images.labels, split.pairs, split.identification);
      assert.deepEqual(pick(report), pick(want));
    } finally {
      e.dispose();
    }
    assert.equal(tf.memory().numTensors, before);
    // N >= the test identities: the full split, the numbers of eval --checkpoint
    const all = cli(['eval', '--dataset', 'synthfaces', '--dataset-options', opts, '--model', run, '--max-identities', '30', '--json']);
    const ck = cli(['eval', '--checkpoint', run, '--json']);
    assert.deepEqual(pick(JSON.parse(all.out) as EvalReport), pick(JSON.parse(ck.out) as EvalReport));
  });

  it('a run on another dataset: images converted to its input (32x32 mnist -> 16x16), finite metrics', () => {
    const r = cli(['eval', '--dataset', 'mnist', '--dataset-options', '{"testPerClass": 30, "pairsPerFold": 10}', '--model', run, '--json']);
    assert.equal(r.code, 0, r.err);
    const report = JSON.parse(r.out) as BenchmarkEvalReport;
    assert.deepEqual([report.data.adapted, report.data.imageShape, report.data.images, report.data.foldLayout], [true, [32, 32, 1], 120, 'image-disjoint']);
    for (const x of [report.verification.accuracy, report.verification.auc, report.identification.rank1, report.openSet?.dirAtFpir['1e-2']]) {
      assert.ok(typeof x === 'number' && Number.isFinite(x), String(x));
    }
  });

  it('unknown datasets, bad options, bad JSON and bad combinations: exit 2 with a one-line message', () => {
    const names = listDatasets().map((d) => d.name).join(', ');
    const unknown = cli(['eval', '--dataset', 'lfw', '--model', run]);
    assert.equal(unknown.code, 2);
    assert.equal(unknown.err, `coreface: unknown dataset 'lfw'; available: ${names}\n`);
    const field = cli(['eval', '--dataset', 'mnist', '--dataset-options', '{"testPerClass": 1}', '--model', run]);
    assert.equal(field.code, 2);
    assert.equal(field.err, 'coreface: mnist: testPerClass must be an integer >= 2, got 1\n');
    const unknownField = cli(['eval', '--dataset', 'synthfaces', '--dataset-options', '{"testIdentity": 20}', '--model', run]);
    assert.equal(unknownField.code, 2);
    assert.match(unknownField.err, /^coreface: unknown synthfaces option 'testIdentity'; allowed: .*testIdentities.*\n$/);
    const small = cli(['eval', '--dataset', 'synthfaces', '--dataset-options', opts, '--model', run, '--max-identities', '8']);
    assert.equal(small.code, 2);
    assert.match(small.err, /^coreface: --max-identities 8: the first 8 of the 30 test identities of synthfaces \(32 images\) cannot hold .* use at least 20 identities.*\n$/);
    const model = cli(['eval', '--dataset', 'mnist', '--model', 'resnet']);
    assert.equal(model.code, 2);
    assert.match(model.err, /^coreface: unknown model 'resnet'; give a run directory or a registered embedder: face-api, faceres\n$/);
    const usage = (args: string[], re: RegExp): void => {
      const r = cli(['eval', ...args]);
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.err}`);
      assert.match(r.err, re);
      assert.match(r.err, /^coreface: [^\n]*\nRun 'coreface --help' for usage\.\n$/); // the message is one line
      assert.equal(r.out, '');
    };
    usage(['--dataset', 'mnist', '--dataset-options', '{"seed": ', '--model', run], /--dataset-options is not valid JSON/);
    usage(['--dataset', 'mnist', '--dataset-options', '[1, 2]', '--model', run], /--dataset-options must be a JSON object/);
    usage(['--dataset', 'mnist', '--data', 'x.bin', '--model', run], /eval --dataset takes --model RUN_DIR \| faceres \| face-api, not --data/);
    usage(['--dataset', 'mnist', '--checkpoint', run], /eval --dataset takes --model RUN_DIR \| faceres \| face-api, not --checkpoint/);
    usage(['--dataset', 'mnist'], /eval --dataset needs --model RUN_DIR \| faceres \| face-api/);
    usage(['--dataset', 'mnist', '--model', run, '--size', '32'], /eval --size goes with --data, not with --dataset/);
    usage(['--dataset', 'mnist', '--model', run, '--max-identities', '0'], /--max-identities must be a positive integer, got "0"/);
    usage(['--dataset', 'mnist', '--model', run, '--max-identities', '1'], /--max-identities must be at least 2/);
    usage(['--checkpoint', run, '--max-identities', '4'], /eval --max-identities needs --dataset NAME/);
    usage(['--data', 'x.bin', '--model', run, '--dataset-options', '{}'], /eval --dataset-options needs --dataset NAME/);
  });

  it('faceres on the first 2 mnist classes (20 images each): the plumbing, progress with ETA, finite metrics', function () {
    if (!listEmbedders().find((e) => e.name === 'faceres')?.available) {
      console.log('      skipped: npm package @vladmandic/human is not installed');
      this.skip();
    }
    const r = cli(['eval', '--dataset', 'mnist', '--dataset-options', '{"testPerClass": 20, "pairsPerFold": 4}', '--max-identities', '2', '--model', 'faceres']);
    assert.equal(r.code, 0, r.err);
    const lines = r.out.trim().split('\n');
    assert.match(lines[0], /^model faceres \(1024-d, input 224x224x3\) on dataset mnist, options \{"testPerClass":20,"pairsPerFold":4\}, backend \S+$/);
    assert.equal(lines[1], 'test split: 40 images of 2 identities (the first 2 of 4; pairs and identification split rebuilt on them), resized from ' +
      '32x32x1; 40 pairs (20 same, 20 different) in 10 image-disjoint folds; gallery 1, probes 19 known + 20 unknown; flip fusion');
    assert.match(lines[2], /^verification accuracy \d+\.\d\d% ± \d+\.\d\d% \(40 pairs, 10 folds\), AUC \d+\.\d\d%, EER \d+\.\d\d%$/);
    assert.match(lines[4], /^identification rank-1 \d+\.\d\d%, rank-5 \d+\.\d\d%$/);
    assert.match(lines[5], /^open set DIR@FPIR 1e-1: \d+\.\d\d%, 1e-2: \d+\.\d\d%$/);
    assert.match(r.err, /^\[eval\] faceres on mnist: 32\/40 images, [\d.]+ img\/s, ETA \d+s$/m);
    assert.match(r.err, /^\[eval\] faceres on mnist: 40\/40 images, [\d.]+ img\/s, done in \d+s$/m);
  });
});
