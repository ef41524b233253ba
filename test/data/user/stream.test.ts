/**
 * Streamed training sets of the user datasets (option `stream`): the training ImageSet holds no pixels and
 * `fetch` decodes each image from the source, bit-identical to the in-memory build; the memory guard counts the
 * held-out test images only; a source changed after the validation pass is an error naming the file, never
 * wrong pixels; training (losses, resume) is the same as in memory.
 */
import { strict as assert } from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import * as jpeg from 'jpeg-js';
import {
  createDataset, createImageFolderBenchmark, createRecordIOBenchmark, isStreamedSet, readImageInto, resolveUserDatasetOptions,
  StreamedImageError, UserDatasetError,
} from '../../../src/data';
import type { FaceBenchmark, ImageSet } from '../../../src/data';
import { embedImageSet, Trainer } from '../../../src/train';
import { batchTensors } from '../../../src/train/batch';
import { Rng } from '../../../src/util/rng';
import type { StepRecord } from '../../../src/train';
import { identityPng, makeFaceFolder, writeInsightfaceRec } from './helpers';

const quiet = { log: null };

/** A `w x h` JPEG (quality 90) of identity `k`, image `j`: a smooth colour gradient with a per-identity stripe. */
function identityJpeg(k: number, j: number, w = 20, h = 16): Uint8Array {
  const data = Buffer.alloc(w * h * 4);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const o = (y * w + x) * 4;
      const stripe = Math.floor((x + (k % 3) * y + j) / (2 + (k % 4))) % 2 ? 60 : 0;
      data[o] = (k * 41 + x * 7 + stripe) % 256;
      data[o + 1] = (k * 89 + y * 9 + j * 13) % 256;
      data[o + 2] = (k * 17 + (x + y) * 5 + stripe) % 256;
      data[o + 3] = 255;
    }
  }
  return new Uint8Array(jpeg.encode({ data, width: w, height: h }, 90).data);
}

/** Every image of `set` gathered in `order` through readImageInto (the trainer's path). */
function gather(set: ImageSet, order: number[]): Float32Array {
  const pix = set.height * set.width * set.channels;
  const out = new Float32Array(order.length * pix);
  order.forEach((k, i) => readImageInto(set, k, out, i * pix));
  return out;
}

/** In-memory pixels of `set` in `order`. */
function slices(set: ImageSet, order: number[]): Float32Array {
  const pix = set.height * set.width * set.channels;
  const out = new Float32Array(order.length * pix);
  order.forEach((k, i) => out.set(set.images.subarray(k * pix, (k + 1) * pix), i * pix));
  return out;
}

/** A shuffled 0..n-1 (fixed permutation). */
function scrambled(n: number): number[] {
  const a = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = (i * 7919 + 13) % (i + 1);
    [a[i], a[j]] = [a[j], a[i]];
  }
  return a;
}

/** Streamed and in-memory builds of the same data agree on everything but where the training pixels are. */
function assertSameBenchmark(streamed: FaceBenchmark, inMemory: FaceBenchmark): void {
  assert.ok(isStreamedSet(streamed.train) && !isStreamedSet(inMemory.train) && !isStreamedSet(streamed.test));
  assert.equal(streamed.train.images.length, 0, 'a streamed training set holds no pixels');
  assert.ok(inMemory.train.images.length > 0);
  for (const k of ['count', 'height', 'width', 'channels'] as const) assert.equal(streamed.train[k], inMemory.train[k], k);
  assert.deepEqual(streamed.train.labels, inMemory.train.labels);
  assert.equal(streamed.numClasses, inMemory.numClasses);
  assert.deepEqual(streamed.test, inMemory.test);
  assert.deepEqual(streamed.pairs, inMemory.pairs);
  assert.deepEqual(streamed.identification, inMemory.identification);
  for (const k of ['counts', 'droppedIdentities', 'trainIdentities', 'heldOutIdentities', 'skipped', 'source']) {
    assert.deepEqual(streamed.meta[k], inMemory.meta[k], `meta.${k}`);
  }
  // bit-identical pixels, in order and in a batch-like scrambled order; in-memory readImageInto is the plain copy
  const all = Array.from({ length: inMemory.train.count }, (_, i) => i);
  const want = slices(inMemory.train, all);
  assert.deepEqual(gather(streamed.train, all), want);
  assert.deepEqual(gather(inMemory.train, all), want);
  const order = scrambled(inMemory.train.count);
  assert.deepEqual(gather(streamed.train, order), slices(inMemory.train, order));
}

function throwsUser(fn: () => unknown, re: RegExp): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof UserDatasetError, `expected UserDatasetError, got ${String(e)}`);
    assert.match(e.message, re);
    return true;
  });
}

function throwsStreamed(fn: () => unknown, re: RegExp, fields: { file: string; offset?: number; index?: number }): StreamedImageError {
  let caught: unknown = null;
  try { fn(); } catch (e) { caught = e; }
  assert.ok(caught instanceof StreamedImageError, `expected StreamedImageError, got ${String(caught)}`);
  assert.match(caught.message, re);
  assert.equal(caught.file, fields.file);
  if (fields.offset !== undefined) assert.equal(caught.offset, fields.offset);
  if (fields.index !== undefined) assert.equal(caught.index, fields.index);
  return caught;
}

/** record id -> byte offset, from an idx file. */
function idxOffsets(idx: string): Map<number, number> {
  const m = new Map<number, number>();
  for (const line of fs.readFileSync(idx, 'utf8').split('\n')) if (line.trim()) m.set(Number(line.split('\t')[0]), Number(line.split('\t')[1]));
  return m;
}

describe('data/user: streamed training sets (option stream)', function () {
  this.timeout(300000);
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'coreface-user-stream-'));
  const rec = path.join(tmp, 'train.rec');
  const OPTS = { path: rec, size: 16, channels: 1 as const, testIdentities: 20 };
  /** (label, bytes, packed as a label vector) of records 1.. in order; corrupt ones marked. */
  const images: [number, Uint8Array, boolean?][] = [];
  const corrupt = new Set<number>(); // record ids of the corrupt images
  let inMemory: FaceBenchmark;
  let streamed: FaceBenchmark;
  let streamLines: string[] = [];

  before(() => {
    // 30 identities x 4 images (JPEG for even identities, PNG for odd ones); identity 5's 2nd image packed as a
    // label vector holding the magic (a 2-part record); identities 4 and 9 have a 5th image that is corrupt
    // (truncated JPEG, text); identity 200 has 1 image (dropped)
    for (let k = 0; k < 30; k++) {
      for (let j = 0; j < 4; j++) images.push([k, k % 2 ? identityPng(k, j) : identityJpeg(k, j), k === 5 && j === 1]);
      if (k === 4) { const g = identityJpeg(4, 9); images.push([4, g.subarray(0, g.length - 30)]); corrupt.add(images.length); }
      if (k === 9) { images.push([9, new TextEncoder().encode('not an image at all')]); corrupt.add(images.length); }
    }
    images.push([200, identityPng(200, 0)]);
    writeInsightfaceRec(path.join(tmp, 'train'), images);
    inMemory = createRecordIOBenchmark({ ...OPTS, stream: false }, quiet);
    streamLines = [];
    streamed = createRecordIOBenchmark({ ...OPTS, stream: true }, { log: (l) => streamLines.push(l) });
  });
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  /** Record ids of the training images of `b` built from `images` (label order, then input order; corrupt ones skipped). */
  function trainRecordIds(b: FaceBenchmark): number[] {
    const names = (b.meta as { trainIdentities: { names: string[] } }).trainIdentities.names;
    const ids: number[] = [];
    for (const name of names) images.forEach(([l], i) => { if (l === Number(name) && !corrupt.has(i + 1)) ids.push(i + 1); });
    assert.equal(ids.length, b.train.count);
    return ids;
  }

  it('recordio: the streamed training set holds no pixels; fetch gives the in-memory pixels bit for bit', () => {
    assertSameBenchmark(streamed, inMemory);
    assert.equal(streamed.train.count, 10 * 4);
    const c = streamed.meta.counts as Record<string, number>;
    assert.equal(c.imagesSkipped, 2, 'the validation pass skipped and counted the corrupt records');
    assert.equal(c.imagesRead, 120);
    assert.deepEqual((streamed.meta.skipped as { first: { source: string }[] }).first.map((s) => s.source), [...corrupt].map((id) => `${rec}#${id}`));
    const mem = streamed.meta.memory as Record<string, unknown>;
    assert.equal(mem.bytes, streamed.test.count * 16 * 16 * 4, 'only the test images are held');
    assert.equal(mem.training, 'streamed');
    assert.equal((inMemory.meta.memory as Record<string, unknown>).training, 'in memory');
    assert.equal((streamed.meta.options as Record<string, unknown>).stream, true);
    const held = new Set((inMemory.meta as { heldOutIdentities: { names: string[] } }).heldOutIdentities.names.map(Number));
    const testListed = images.filter(([l]) => held.has(l)).length;
    assert.equal(streamLines[1], `recordio: streaming the ${122 - testListed} training images from ${rec} ("stream": true): a validation pass decodes ` +
      `each once now, then every batch decodes its images again; the ${testListed} held-out test images are held in memory`);
    assert.throws(() => readImageInto(streamed.train, 40, new Float32Array(256), 0), /image index 40 outside \[0, 40\)/);
    // a fetch reads the record again: the same pixels every time (determinism)
    const again = createRecordIOBenchmark({ ...OPTS, stream: true }, quiet);
    assert.deepEqual(gather(again.train, scrambled(40)), gather(streamed.train, scrambled(40)));
  });

  it('image-folder: the same, with the corrupt and dropped images of the standard test folder', () => {
    const root = path.join(tmp, 'faces');
    makeFaceFolder(root);
    const opts = { path: root, size: 16, channels: 3 as const, testIdentities: 21 };
    const mem = createImageFolderBenchmark({ ...opts, stream: false }, quiet);
    const str = createImageFolderBenchmark({ ...opts, stream: true }, quiet);
    assertSameBenchmark(str, mem);
    assert.equal((str.meta.counts as Record<string, number>).imagesSkipped, 2);
    // the default ('auto') keeps this small folder in memory, exactly as before the option existed
    const auto = createImageFolderBenchmark(opts, quiet);
    assert.ok(!isStreamedSet(auto.train));
    assert.deepEqual(auto.train, mem.train);
    assert.deepEqual(auto.test, mem.test);
  });

  it('embedImageSet embeds a streamed set as the in-memory one (readImageInto)', () => {
    const flat = (x: tf.Tensor4D): tf.Tensor2D => tf.reshape(x, [x.shape[0], -1]);
    const before = tf.memory().numTensors;
    const a = embedImageSet(flat, streamed.train, { batchSize: 16 });
    const b = embedImageSet(flat, inMemory.train, { batchSize: 16 });
    assert.deepEqual(a.embeddings, b.embeddings);
    assert.equal(tf.memory().numTensors, before, 'tensor leak');
  });

  it('memory guard: when streaming it counts the held-out test images only; "auto" streams exactly when all listed images exceed it', () => {
    const listed = 30 * 4 + 2; // identity 200 (1 image) is dropped before the guard
    const held = new Set((inMemory.meta as { heldOutIdentities: { names: string[] } }).heldOutIdentities.names.map(Number));
    const testListed = images.filter(([l]) => held.has(l)).length;
    assert.ok(testListed < listed && testListed >= 80, String(testListed));
    const build = (o: Record<string, unknown>): { b: FaceBenchmark; lines: string[] } => {
      const lines: string[] = [];
      return { b: createRecordIOBenchmark({ ...OPTS, ...o }, { log: (l) => lines.push(l) }), lines };
    };
    // stream: true: the guard counts the test images only (the training images are over it too)
    const atTest = build({ stream: true, maxImages: testListed }).b;
    assert.ok(isStreamedSet(atTest.train) && atTest.train.count > 0);
    throwsUser(() => build({ stream: true, maxImages: testListed - 1 }), new RegExp(`recordio: "stream": true streams the training images of .*train\\.rec, but ` +
      `the ${testListed} images of the 20 held-out identities stay in memory for evaluation \\(.* as float32 at 16x16x1\\) and alone exceed ` +
      `maxImages=${testListed - 1}; lower testIdentities, or raise maxImages to at least ${testListed} to stream the training images \\(or all ${listed}: "stream": false\\)`));
    // auto (the default): in memory up to maxImages = listed, streamed above
    const fits = build({ maxImages: listed });
    assert.ok(!isStreamedSet(fits.b.train));
    assert.ok(fits.lines.includes(`recordio: all ${listed} images in memory ("stream": "auto": ${listed} listed images <= maxImages=${listed})`), fits.lines.join('\n'));
    const over = build({ maxImages: listed - 1 });
    assert.ok(isStreamedSet(over.b.train));
    assert.ok(over.lines.includes(`recordio: streaming the ${listed - testListed} training images from ${rec} ("stream": "auto": ${listed} listed images > ` +
      `maxImages=${listed - 1}): a validation pass decodes each once now, then every batch decodes its images again; the ${testListed} held-out test ` +
      'images are held in memory'), over.lines.join('\n'));
    assert.match(over.lines[over.lines.length - 1], /\(test images; training images streamed\)$/);
    assertSameBenchmark(over.b, inMemory);
    const explicit = build({ stream: 'auto', maxImages: listed - 1 });
    assert.ok(isStreamedSet(explicit.b.train));
    // auto, test images alone over the guard: the in-memory message, and why streaming does not help
    throwsUser(() => build({ maxImages: testListed - 1 }), new RegExp(`recordio: .*train\\.rec has ${listed} images \\(of 30 identities with >= 2 images\\); ` +
      `held as float32 at 16x16x1 .*above the memory guard maxImages=${testListed - 1} .*"maxImages": ${listed}\\}\\} in the config; or lower size/channels, or train on a subset\\. ` +
      `Streaming the training images \\("stream": "auto", the default\\) does not help: the ${testListed} images of the 20 held-out identities`));
    // false: the guard counts everything, as before the option existed
    throwsUser(() => build({ stream: false, maxImages: listed - 1 }), new RegExp(`has ${listed} images .*maxImages=${listed - 1} .*or stream the training images \\("stream": true or "auto"`));
  });

  it('validates the option; the resolved options carry it only when given', () => {
    throwsUser(() => resolveUserDatasetOptions('recordio', { path: rec, stream: 'yes' }),
      /recordio: stream must be true \(stream the training images\), false \(hold them in memory\) or 'auto', got "yes"/);
    throwsUser(() => resolveUserDatasetOptions('recordio', { path: rec, stream: 1 }), /stream must be .*got 1/);
    throwsUser(() => resolveUserDatasetOptions('recordio', { path: rec, streem: true }), /unknown recordio option 'streem'; allowed: .*unknownFraction, stream/);
    assert.equal('stream' in resolveUserDatasetOptions('recordio', { path: rec }), false);
    assert.equal(resolveUserDatasetOptions('recordio', { path: rec, stream: 'auto' }).stream, 'auto');
    assert.equal(resolveUserDatasetOptions('recordio', { path: rec, stream: false }).stream, false);
    assert.equal((inMemory.meta.options as Record<string, unknown>).stream, false);
    assert.equal((createRecordIOBenchmark(OPTS, quiet).meta.options as Record<string, unknown>).stream, 'auto');
    // through the registry (a config's dataset.options); its default log is standard error: silenced here
    const write = process.stderr.write;
    process.stderr.write = (() => true) as typeof process.stderr.write;
    try {
      assert.ok(isStreamedSet(createDataset('recordio', { ...OPTS, stream: true }).train));
    } finally {
      process.stderr.write = write;
    }
  });

  it('validation pass: the same progress lines, skips and summary as the in-memory load', () => {
    const memLines: string[] = [], strLines: string[] = [];
    createRecordIOBenchmark({ ...OPTS, stream: false }, { log: (l) => memLines.push(l), progressEvery: 25 });
    createRecordIOBenchmark({ ...OPTS, stream: true }, { log: (l) => strLines.push(l), progressEvery: 25 });
    const progress = (lines: string[]): string[] => lines.filter((l) => / images \(\d+ skipped/.test(l)).map((l) => l.replace(/, \d+ images\/s\)$/, ')'));
    assert.deepEqual(progress(strLines), progress(memLines));
    assert.deepEqual(progress(strLines).map((l) => l.replace(/^.*: (\d+\/\d+) .*$/, '$1')), ['25/122', '50/122', '75/122', '100/122']);
    const summary = (lines: string[]): string | undefined => lines.find((l) => /: read \d+ of \d+ images, skipped/.test(l))?.replace(/ \(\d+\.\d s\)/, '');
    assert.ok(summary(strLines));
    assert.equal(summary(strLines), summary(memLines));
    assert.match(summary(strLines) ?? '', new RegExp(`train\\.rec: read 120 of 122 images, skipped 2\n  skipped .*train\\.rec#${[...corrupt][0]}: corrupt or truncated JPEG`));
    assert.match(memLines[1], /recordio: all 122 images in memory \("stream": false\)/);
    assert.match(strLines[1], /recordio: streaming the \d+ training images from .*\("stream": true\)/);
    assert.equal(strLines.length, memLines.length);
  });

  it('a .rec truncated or rewritten after the validation pass: an error naming the file and byte offset, never wrong pixels', () => {
    const dir = path.join(tmp, 'changed');
    fs.mkdirSync(dir);
    const cut = path.join(dir, 'cut.rec');
    fs.copyFileSync(rec, cut);
    fs.copyFileSync(path.join(tmp, 'train.idx'), path.join(dir, 'cut.idx'));
    const b = createRecordIOBenchmark({ ...OPTS, path: cut, stream: true }, quiet);
    const ids = trainRecordIds(b);
    const offsets = idxOffsets(path.join(dir, 'cut.idx'));
    const pix = 16 * 16;
    // the last training record in the file, and the first
    const byOffset = ids.map((id, k) => ({ id, k, off: offsets.get(id) as number })).sort((x, y) => x.off - y.off);
    const last = byOffset[byOffset.length - 1], first = byOffset[0];
    // rewrite one byte inside the first training record's image (same length): a checksum mismatch
    const bytes = fs.readFileSync(cut);
    const at = first.off + 8 + 24 + 40;
    fs.writeFileSync(cut, Buffer.concat([bytes.subarray(0, at), Buffer.from([bytes[at] ^ 0x5a]), bytes.subarray(at + 1)]));
    const out = new Float32Array(pix).fill(7);
    throwsStreamed(() => b.train.fetch?.(first.k, out, 0), new RegExp(`^${cut.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} at byte ${first.off}: training image ${first.k} of recordio ` +
      `\\(.*cut\\.rec#${first.id}\\) changed: its \\d+ bytes differ from those decoded by the validation pass; .*restarting the run`), { file: cut, offset: first.off, index: first.k });
    assert.ok(out.every((v) => v === 7), 'nothing written on failure');
    // truncate inside the last training record: a DataFormatError from the container, wrapped with the image
    fs.truncateSync(cut, last.off + 12);
    throwsStreamed(() => b.train.fetch?.(last.k, out, 0), new RegExp(`cut\\.rec at byte ${last.off}: training image ${last.k} of recordio \\(.*cut\\.rec#${last.id}\\) ` +
      `can no longer be read \\(record ${last.id} is truncated: .*\\); it was read by the validation pass when the dataset was built, so its source changed since`), { file: cut, offset: last.off });
    // untouched records still read exactly
    const mid = byOffset[Math.floor(byOffset.length / 2)];
    readImageInto(b.train, mid.k, out, 0);
    assert.deepEqual(out, inMemory.train.images.subarray(mid.k * pix, (mid.k + 1) * pix));
    // the trainer stops with that error, without leaking tensors
    fs.truncateSync(cut, first.off + 100);
    const before = tf.memory().numTensors;
    const t = new Trainer(tinyConfig(cut), { benchmark: b, progress: false });
    const model = tf.memory().numTensors;
    assert.throws(() => t.run(), (e: unknown) => e instanceof StreamedImageError && e.file === cut && /can no longer be read|changed/.test(e.message));
    assert.equal(tf.memory().numTensors, model, 'tensor leak in the failed step');
    t.dispose();
    assert.equal(tf.memory().numTensors, before);
  });

  it('image-folder: a file removed or replaced after the validation pass is an error naming it', () => {
    const root = path.join(tmp, 'faces2');
    makeFaceFolder(root);
    const b = createImageFolderBenchmark({ path: root, size: 16, channels: 3, testIdentities: 21, stream: true }, quiet);
    const names = (b.meta as { trainIdentities: { names: string[] } }).trainIdentities.names;
    const id = names.find((n) => n !== 'id03') as string; // 4 good images img0..img3: training images k0..k0+3
    const k0 = b.train.labels.indexOf(names.indexOf(id));
    const out = new Float32Array(16 * 16 * 3);
    fs.rmSync(path.join(root, id, 'img1.png'));
    const file1 = path.join(root, id, 'img1.png');
    throwsStreamed(() => readImageInto(b.train, k0 + 1, out, 0),
      new RegExp(`^${file1.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: training image ${k0 + 1} of image-folder can no longer be read \\(cannot read file \\(ENOENT\\)\\)`), { file: file1, index: k0 + 1 });
    fs.writeFileSync(path.join(root, id, 'img2.png'), identityPng(77, 0));
    throwsStreamed(() => readImageInto(b.train, k0 + 2, out, 0), /img2\.png: training image \d+ of image-folder changed: its \d+ bytes differ/, { file: path.join(root, id, 'img2.png') });
    readImageInto(b.train, k0, out, 0); // untouched
  });

  /** A tiny ArcFace run on the user dataset at `p` (as test/train/trainer.test.ts TINY). */
  function tinyConfig(p: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
    return {
      name: 'stream', seed: 3,
      dataset: { name: 'recordio', options: { ...OPTS, path: p } },
      model: { backbone: 'iresnet-tiny', embeddingDim: 16 },
      head: { name: 'arcface', options: { scale: 16, margin: 0.2 } },
      training: { epochs: 2, batchSize: 8, evalEvery: 0 },
      optimizer: { lr: 0.05, milestones: [1] },
      ...extra,
    };
  }

  it('a tiny training run on a streamed .rec gives exactly the losses of the in-memory run (same seed), without leaking tensors', () => {
    const run = (b: FaceBenchmark): { losses: number[]; acc: number; final: number } => {
      const recs: StepRecord[] = [];
      const before = tf.memory().numTensors;
      const t = new Trainer(tinyConfig(rec), { benchmark: b, progress: false, onStep: (r) => recs.push(r) });
      const res = t.run();
      t.dispose();
      assert.equal(tf.memory().numTensors, before, 'tensor leak');
      return { losses: recs.map((r) => r.loss), acc: res.final.verification.accuracy, final: res.finalLoss };
    };
    const a = run(inMemory), b = run(streamed);
    assert.equal(a.losses.length, 2 * 5);
    assert.deepEqual(b, a);
    assert.ok(a.losses.every(Number.isFinite));
  });

  it('--resume of a streamed run (the benchmark rebuilt, as the CLI does) ends as the uninterrupted run', () => {
    const cfg = tinyConfig(rec, { training: { epochs: 3, batchSize: 8, evalEvery: 0, checkpointEvery: 1 }, optimizer: { lr: 0.05, milestones: [2] } });
    const straight = new Trainer(cfg, { benchmark: createRecordIOBenchmark({ ...OPTS, stream: true }, quiet), progress: false, outDir: path.join(tmp, 'run-a') });
    const ra = straight.run();
    straight.dispose();
    const dir = path.join(tmp, 'run-b');
    const broken = new Trainer(cfg, { benchmark: createRecordIOBenchmark({ ...OPTS, stream: true }, quiet), progress: false, outDir: dir, maxSteps: 5 + 2 });
    assert.throws(() => broken.run(), /stopped after maxSteps/);
    broken.dispose();
    const resumed = new Trainer(cfg, { benchmark: createRecordIOBenchmark({ ...OPTS, stream: true }, quiet), progress: false, outDir: dir, resume: true });
    assert.equal(resumed.completedEpochs, 1);
    const rb = resumed.run();
    resumed.dispose();
    assert.equal(rb.finalLoss, ra.finalLoss);
    assert.deepEqual(rb.epochs.map((e) => e.meanLoss), ra.epochs.map((e) => e.meanLoss));
    assert.deepEqual(rb.final.verification.foldAccuracies, ra.final.verification.foldAccuracies);
  });

  it('the trainer\'s batches of an in-memory set are those of the gathering code before streaming (copy, seeded flips)', () => {
    /** The batch gathering of src/train/trainer.ts before readImageInto (a copy, or a mirrored copy); now src/train/batch.ts. */
    const oldBatch = (set: ImageSet, idx: Int32Array, rng: Rng, flip: boolean): Float32Array => {
      const { height: h, width: w, channels: c } = set;
      const pix = h * w * c;
      const buf = new Float32Array(idx.length * pix);
      for (let i = 0; i < idx.length; i++) {
        const src = set.images.subarray(idx[i] * pix, (idx[i] + 1) * pix);
        if (flip && rng.next() < 0.5) {
          const dst = buf.subarray(i * pix, (i + 1) * pix);
          for (let r = 0; r < h; r++) {
            for (let col = 0; col < w; col++) for (let ch = 0; ch < c; ch++) dst[(r * w + col) * c + ch] = src[(r * w + (w - 1 - col)) * c + ch];
          }
        } else {
          buf.set(src, i * pix);
        }
      }
      return buf;
    };
    for (const [res, channels] of [[17, 3], [16, 1]] as const) {
      const bench = createDataset('synthfaces', { trainIdentities: 6, imagesPerIdentity: 6, testIdentities: 20, testImagesPerIdentity: 2, pairsPerFold: 2, resolution: res, channels });
      for (const flip of [true, false]) {
        // what Trainer.step gathers: batchTensors(train set, batch indices, config.training.flip, the step's rng)
        const idx = Int32Array.from(scrambled(bench.train.count).slice(0, 24));
        const { x, y } = batchTensors(bench.train, idx, flip, new Rng('batch'));
        assert.deepEqual(x.dataSync(), oldBatch(bench.train, idx, new Rng('batch'), flip), `${res}x${res}x${channels} flip ${flip}`);
        assert.deepEqual(Array.from(y.dataSync()), Array.from(idx, (i) => bench.train.labels[i]));
        tf.dispose([x, y]);
      }
    }
  });

  it('decode time of a streamed batch of 64 (112x112 JPEGs -> 32x32 RGB)', () => {
    // 36 identities x 4 JPEGs of 112x112 (quality 90); 20 held out: 16 training identities = 64 images
    const list: [number, Uint8Array][] = [];
    for (let k = 0; k < 36; k++) for (let j = 0; j < 4; j++) list.push([k, identityJpeg(k, j, 112, 112)]);
    const base = path.join(tmp, 'big');
    writeInsightfaceRec(base, list);
    const meanBytes = list.reduce((s, [, b]) => s + b.length, 0) / list.length;
    for (const size of [32]) {
      const b = createRecordIOBenchmark({ path: `${base}.rec`, size, channels: 3, testIdentities: 20, stream: true }, quiet);
      assert.equal(b.train.count, 64);
      const out = new Float32Array(64 * size * size * 3);
      const ms: number[] = [];
      for (let rep = 0; rep < 5; rep++) {
        const t0 = performance.now();
        for (let k = 0; k < 64; k++) readImageInto(b.train, k, out, k * size * size * 3);
        ms.push(performance.now() - t0);
      }
      ms.sort((x, y) => x - y);
      console.log(`      streamed batch of 64 (112x112 JPEG, ${meanBytes.toFixed(0)} bytes each) -> ${size}x${size}x3: median ${ms[2].toFixed(0)} ms, best ${ms[0].toFixed(0)} ms`);
      assert.ok(ms[0] < 10000);
    }
  });
});
