import { strict as assert } from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import {
  createDataset, createImageFolderBenchmark, DataNotFoundError, listDatasets, loadImageFolder, resolveUserDatasetOptions,
  scanImageFolder, scanImageFolderSync, userDatasetForPath, UserDatasetError,
} from '../../../src/data';
import type { FaceBenchmark } from '../../../src/data';
import { checkBenchmark, identityPng, makeFaceFolder, write } from './helpers';

const FIXTURE_FOLDER = path.join(__dirname, '..', '..', 'fixtures', 'readers', 'folder');
const quiet = { log: null };

function throwsUser(fn: () => unknown, re: RegExp): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof UserDatasetError, `expected UserDatasetError, got ${String(e)}`);
    assert.match(e.message, re);
    return true;
  });
}

describe('data/user: image-folder', function () {
  this.timeout(60000);
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'coreface-user-folder-'));
  const root = path.join(tmp, 'faces');
  const OPTS = { path: root, size: 16, channels: 3 as const, testIdentities: 21 };
  let bench: FaceBenchmark;

  before(() => {
    makeFaceFolder(root);
    bench = createImageFolderBenchmark(OPTS, quiet);
  });
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it('registers image-folder and recordio', () => {
    const names = listDatasets().map((d) => d.name);
    assert.ok(names.includes('image-folder') && names.includes('recordio'), names.join(', '));
  });

  it('scanImageFolderSync lists exactly what the readers\' scanImageFolder lists, with the same errors', async () => {
    for (const dir of [FIXTURE_FOLDER, root]) {
      const lines: string[] = [], asyncLines: string[] = [];
      const a = scanImageFolderSync(dir, (l) => lines.push(l));
      const b = await scanImageFolder(dir, { log: (l) => asyncLines.push(l) });
      assert.deepEqual(a, b);
      assert.deepEqual(lines, asyncLines);
    }
    for (const bad of [path.join(tmp, 'nope'), path.join(root, 'README.txt'), path.join(root, 'empty')]) {
      let sync: unknown = null, async: unknown = null;
      try { scanImageFolderSync(bad, null); } catch (e) { sync = e; }
      try { await scanImageFolder(bad, { log: null }); } catch (e) { async = e; }
      assert.ok(sync instanceof DataNotFoundError && async instanceof DataNotFoundError, bad);
      assert.equal(sync.message, async.message);
    }
  });

  it('holds out identities disjoint from training; labels 0..K-1 and 0..T-1; counts, drops and skips in meta', () => {
    checkBenchmark(bench);
    const m = bench.meta as {
      counts: Record<string, number>; droppedIdentities: { names: string[] }; trainIdentities: { names: string[] };
      heldOutIdentities: { names: string[] }; skipped: { count: number; first: { source: string; reason: string }[] };
      timings: Record<string, number>; source: Record<string, unknown>; options: Record<string, unknown>;
    };
    const c = m.counts;
    assert.equal(c.identitiesFound, 29);
    assert.equal(c.identitiesDropped, 3);
    assert.deepEqual([...m.droppedIdentities.names].sort(), ['empty', 'fragile', 'solo']);
    assert.equal(c.identitiesKept, 26);
    assert.equal(c.imagesListed, 26 * 4 + 1 + 1 + 2);
    assert.equal(c.imagesSkipped, 2);
    assert.deepEqual(m.skipped.first.map((s) => path.basename(s.source)).sort(), ['b.png', 'zz_corrupt.png']);
    assert.match(m.skipped.first.find((s) => s.source.endsWith('zz_corrupt.png'))?.reason ?? '', /not a JPEG or PNG/);
    assert.equal(c.heldOutIdentities, bench.test.labels[bench.test.count - 1] + 1);
    // fragile (2 listed, 1 decodable) was dropped after the skip, from whichever side it was dealt to
    assert.ok(c.heldOutIdentities === 21 || c.heldOutIdentities === 20, String(c.heldOutIdentities));
    assert.equal(c.trainIdentities + c.heldOutIdentities, 26);
    assert.equal(bench.numClasses, c.trainIdentities);
    assert.equal(c.train, bench.train.count);
    assert.equal(c.test, bench.test.count);
    assert.equal(c.train + c.test, 26 * 4);
    assert.equal(c.imagesRead, 26 * 4 + 1); // fragile's good image was read, then dropped
    const train = new Set(m.trainIdentities.names), held = new Set(m.heldOutIdentities.names);
    assert.equal(train.size, c.trainIdentities);
    assert.equal(held.size, c.heldOutIdentities);
    for (const n of held) assert.ok(!train.has(n), `${n} in both`);
    assert.deepEqual([...train, ...held].sort(), Array.from({ length: 26 }, (_, k) => `id${String(k).padStart(2, '0')}`));
    assert.deepEqual(m.trainIdentities.names, [...m.trainIdentities.names].sort(), 'train labels in name order');
    assert.equal(m.source.ignoredEntries, 2); // README.txt, empty/notes.txt
    assert.equal(m.options.path, root);
    assert.equal(m.options.pairsPerFold, 'auto');
    for (const k of ['scanMs', 'decodeMs', 'buildMs', 'totalMs']) assert.ok(typeof m.timings[k] === 'number' && m.timings[k] >= 0, k);
  });

  it('gives the same pixels as the readers (resize, crop, insightface normalisation), under the right labels', async () => {
    const loaded = await loadImageFolder(root, { size: 16, channels: 3, log: null });
    const per = 16 * 16 * 3;
    const m = bench.meta as { trainIdentities: { names: string[] }; heldOutIdentities: { names: string[] } };
    for (const [set, names] of [[bench.train, m.trainIdentities.names], [bench.test, m.heldOutIdentities.names]] as const) {
      for (let i = 0; i < set.count; i++) {
        const name = names[set.labels[i]];
        const j = i - set.labels.indexOf(set.labels[i]); // image j of its identity
        const src = loaded.sources.indexOf(path.join(root, name, `img${j}.png`));
        assert.ok(src >= 0, `${name}/img${j}.png`);
        assert.deepEqual(set.images.subarray(i * per, (i + 1) * per), loaded.set.images.subarray(src * per, (src + 1) * per), `${name} image ${j}`);
      }
    }
  });

  it('is deterministic for a seed; another seed holds out other identities', () => {
    const again = createImageFolderBenchmark(OPTS, quiet);
    assert.deepEqual(again.train, bench.train);
    assert.deepEqual(again.test, bench.test);
    assert.deepEqual(again.pairs, bench.pairs);
    assert.deepEqual(again.identification, bench.identification);
    assert.deepEqual((again.meta as { heldOutIdentities: unknown }).heldOutIdentities, (bench.meta as { heldOutIdentities: unknown }).heldOutIdentities);
    const other = createImageFolderBenchmark({ ...OPTS, seed: 1 }, quiet);
    checkBenchmark(other);
    assert.notDeepEqual((other.meta as { heldOutIdentities: unknown }).heldOutIdentities, (bench.meta as { heldOutIdentities: unknown }).heldOutIdentities);
  });

  it('pairsPerFold: automatic is the most every fold holds; an explicit value is used, too many is refused', () => {
    const P = (bench.meta.counts as { pairsPerFold: number }).pairsPerFold;
    assert.ok(P >= 1 && P <= 12, String(P)); // 2 identities x 4 images per fold: at most 12 same pairs
    throwsUser(() => createImageFolderBenchmark({ ...OPTS, pairsPerFold: P + 1 }, quiet),
      new RegExp(`pairsPerFold=${P + 1} is more than the \\d+ held-out identities hold in 10 identity-disjoint folds \\(at most ${P} `));
    const two = createImageFolderBenchmark({ ...OPTS, pairsPerFold: 2 }, quiet);
    checkBenchmark(two);
    assert.equal(two.pairs.left.length, 40);
    assert.deepEqual(two.test, bench.test, 'the pair count does not change the sets');
  });

  it('memory guard: refuses more than maxImages with the estimate and how to raise it', () => {
    throwsUser(() => createImageFolderBenchmark({ ...OPTS, maxImages: 50 }, quiet),
      /has 107 images \(of 27 identities with >= 2 images\); held as float32 at 16x16x3 they take about 329 KB \(107 x 16 x 16 x 3 x 4 bytes\), above the memory guard maxImages=50 \(154 KB\)\. If the machine has the memory, raise it: "dataset": \{"options": \{"maxImages": 107\}\}/);
    assert.doesNotThrow(() => createImageFolderBenchmark({ ...OPTS, maxImages: 107 }, quiet));
  });

  it('too few identities for 10 folds: says how many are needed', () => {
    throwsUser(() => createImageFolderBenchmark({ ...OPTS, testIdentities: 0.2 }, quiet),
      /27 identities with >= 2 images listed, 5 held out for evaluation \(testIdentities=0\.2\); 10 identity-disjoint verification folds need at least 20 held-out identities \(2 per fold\).*raise testIdentities \(e\.g\. "testIdentities": 20, a count\) or add identities \(98 are needed with testIdentities=0\.2\)/);
    throwsUser(() => createImageFolderBenchmark({ ...OPTS, testIdentities: 26 }, quiet), /leaving 1 to train; at least 2 training identities are needed \(lower testIdentities to at most 25\)/);
    const small = path.join(tmp, 'small');
    for (let k = 0; k < 12; k++) for (let j = 0; j < 6; j++) write(path.join(small, `p${k}`, `${j}.png`), identityPng(k, j));
    throwsUser(() => createImageFolderBenchmark({ path: small }, quiet),
      /image-folder: 12 identities with >= 2 images listed, 2 held out .* add identities: at least 22 with >= 2 images each are needed \(20 held out \+ 2 to train\), 98 with testIdentities=0\.2/);
    throwsUser(() => createImageFolderBenchmark({ path: small, minImagesPerIdentity: 7 }, quiet), /0 identities with >= 7 images listed/);
  });

  it('validates options, naming the field', () => {
    throwsUser(() => resolveUserDatasetOptions('image-folder', {}), /image-folder needs options\.path \(the folder of <identity>\/<image> files\)/);
    throwsUser(() => resolveUserDatasetOptions('image-folder', { path: root, chanels: 3 }), /unknown image-folder option 'chanels'; allowed: path, size, channels/);
    throwsUser(() => resolveUserDatasetOptions('image-folder', { path: root, channels: 2 }), /channels must be 1 or 3, got 2/);
    throwsUser(() => resolveUserDatasetOptions('image-folder', { path: root, testIdentities: 1.5 }), /testIdentities must be a count \(an integer >= 1\) or a fraction/);
    throwsUser(() => resolveUserDatasetOptions('image-folder', { path: root, minImagesPerIdentity: 1 }), /minImagesPerIdentity must be an integer >= 2, got 1/);
    throwsUser(() => resolveUserDatasetOptions('image-folder', { path: root, size: 4 }), /size must be an integer >= 8 and <= 1024, got 4/);
    const r = resolveUserDatasetOptions('image-folder', { path: root });
    assert.deepEqual(r, { path: root, size: 32, channels: 3, testIdentities: 0.2, minImagesPerIdentity: 2, maxImages: 200000, seed: 0, pairsPerFold: null, unknownFraction: 0.3 });
    assert.throws(() => createDataset('image-folder', { path: path.join(tmp, 'nope') }), (e: unknown) => e instanceof DataNotFoundError && /no such folder/.test(e.message));
  });

  it('userDatasetForPath: folder -> image-folder, .rec -> recordio, anything else refused', () => {
    assert.equal(userDatasetForPath(root), 'image-folder');
    write(path.join(tmp, 'x.REC'), '');
    assert.equal(userDatasetForPath(path.join(tmp, 'x.REC')), 'recordio');
    throwsUser(() => userDatasetForPath(path.join(root, 'README.txt')), /README\.txt is neither a folder \(<identity>\/<image> files\) nor an insightface \.rec file/);
    throwsUser(() => userDatasetForPath(path.join(tmp, 'nope')), /nope: no such file or folder/);
  });

  it('progress lines on long loads, then the readers\' summary', () => {
    const lines: string[] = [];
    createImageFolderBenchmark(OPTS, { log: (l) => lines.push(l), progressEvery: 25 });
    assert.match(lines[0], /faces: 28 identities, 108 images \(2 other entries ignored, 1 empty identity folder\)/);
    assert.deepEqual(lines.filter((l) => / images \(\d+ skipped/.test(l)).map((l) => l.replace(/^.*: (\d+\/\d+) .*$/, '$1')), ['25/107', '50/107', '75/107', '100/107']);
    assert.ok(lines.some((l) => /faces: read 105 of 107 images, skipped 2 \(/.test(l)), lines.join('\n'));
    assert.ok(lines.some((l) => /skipped .*zz_corrupt\.png: not a JPEG or PNG/.test(l)));
    assert.match(lines[lines.length - 1], /image-folder: \d+ training identities \(\d+ images\), \d+ held-out identities \(\d+ images\), 3 identities dropped \(< 2 images\), 2 images skipped; 10 folds x \d+ same \+ \d+ different pairs/);
  });
});
