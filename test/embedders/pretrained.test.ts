// The npm reference models on real faces that exist offline: skimage's 100 unnamed 25x25 LFW crops (Debian
// python3-skimage) and face-api's demo photos. Each part skips (with a message) when its data or package is missing.
import { strict as assert } from 'assert';
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as jpeg from 'jpeg-js';
import { readLfwPairs } from '../../src/data/readers';
import type { ImageSet } from '../../src/data/types';
import { pairCosineScores } from '../../src/eval';
import {
  adaptImages, alignFaces, alignImageFolder, alignVerificationSet, createEmbedder, Embedder, embedImages, listEmbedders, packageRoot, releaseFaceApiDetector,
} from '../../src/embedders';

/** skimage's data folder, found through Debian's python (null when python3-skimage is not installed). */
function skimageDataDir(): string | null {
  const r = spawnSync('/usr/bin/python3', ['-c', 'import skimage, os; print(os.path.dirname(skimage.__file__))'], { encoding: 'utf8' });
  if (r.status !== 0) return null;
  const dir = path.join(r.stdout.trim(), 'data');
  return fs.existsSync(path.join(dir, 'lfw_subset.npy')) ? dir : null;
}

/** Reads a little-endian float64 C-order .npy file. */
function readNpyFloat64(file: string): { data: Float64Array; shape: number[] } {
  const buf = fs.readFileSync(file);
  assert.equal(buf.toString('latin1', 1, 6), 'NUMPY');
  const major = buf[6];
  const hlen = major === 1 ? buf.readUInt16LE(8) : buf.readUInt32LE(8);
  const start = (major === 1 ? 10 : 12) + hlen;
  const header = buf.toString('latin1', major === 1 ? 10 : 12, start);
  assert.match(header, /'descr': '<f8'/);
  assert.match(header, /'fortran_order': False/);
  const shape = ((/'shape': \(([^)]*)\)/.exec(header) as RegExpExecArray)[1]).split(',').filter((s) => s.trim()).map(Number);
  const n = shape.reduce((a, b) => a * b, 1);
  const data = new Float64Array(n);
  for (let i = 0; i < n; i++) data[i] = buf.readDoubleLE(start + 8 * i);
  return { data, shape };
}

/**
 * Two crops of each of `faces` LFW faces (25x25 grey in [0, 1]): A = rows/cols 0..22, B = rows/cols 2..24
 * (the same photo shifted by 2 px), as 23x23 grey ImageSets in [-1, 1].
 */
function twoCrops(lfw: { data: Float64Array }, faces: number): { a: ImageSet; b: ImageSet } {
  const c = 23;
  const make = (off: number): ImageSet => {
    const images = new Float32Array(faces * c * c);
    for (let f = 0; f < faces; f++) {
      for (let y = 0; y < c; y++) for (let x = 0; x < c; x++) images[(f * c + y) * c + x] = lfw.data[f * 625 + (y + off) * 25 + (x + off)] * 2 - 1;
    }
    return { images, labels: Int32Array.from({ length: faces }, (_, i) => i), count: faces, height: c, width: c, channels: 1 };
  };
  return { a: make(0), b: make(2) };
}

/** Skips the test (saying why) when the npm package of a pretrained embedder is not installed. */
function skipUnlessInstalled(ctx: Mocha.Context, name: string): void {
  const info = listEmbedders().find((e) => e.name === name);
  if (!info?.available) {
    console.log(`      skipped: npm package ${info?.package} is not installed`);
    ctx.skip();
  }
}

describe('embedders: pretrained npm models on real faces', function () {
  this.timeout(600000);
  const skimage = skimageDataDir();
  const FACES = 8;

  for (const name of ['faceres', 'face-api']) {
    it(`${name}: two crops of the same face are closer than crops of other faces (LFW subset)`, async function () {
      skipUnlessInstalled(this, name);
      if (!skimage) {
        if (process.env.CI === 'true') assert.fail('skimage/data/lfw_subset.npy missing: .ci/run must call npm run setup (data/setup.sh installs python3-skimage)');
        console.log('      skipped: skimage/data/lfw_subset.npy not found (apt-get install python3-skimage)');
        this.skip();
      }
      const lfw = readNpyFloat64(path.join(skimage as string, 'lfw_subset.npy'));
      assert.deepEqual(lfw.shape, [200, 25, 25]); // the first 100 are faces
      const { a, b } = twoCrops(lfw, FACES);
      const e: Embedder = await createEmbedder(name);
      try {
        const ea = await embedImages(e, a);
        const eb = await embedImages(e, b);
        // deterministic, finite, unit rows
        assert.deepEqual(await embedImages(e, a), ea);
        for (const m of [ea, eb]) {
          assert.ok(m.embeddings.every(Number.isFinite));
          for (let i = 0; i < FACES; i++) {
            const row = m.embeddings.subarray(i * m.dim, (i + 1) * m.dim);
            assert.ok(Math.abs(Math.hypot(...row) - 1) < 1e-4);
          }
        }
        // raw output is not constant across faces
        const x = adaptImages(a.images, FACES, 23, 23, 1, e.inputSize, 3);
        const raw = await e.embed(x, FACES);
        let spread = 0;
        for (let k = 0; k < e.embeddingDim; k++) spread += Math.abs(raw[k] - raw[e.embeddingDim + k]);
        assert.ok(spread > 1e-3, `raw embeddings of two faces differ by ${spread}`);
        // self vs cross similarity between crop sets A and B
        const both = new Float32Array(2 * FACES * ea.dim);
        both.set(ea.embeddings, 0);
        both.set(eb.embeddings, FACES * ea.dim);
        const left: number[] = [], right: number[] = [], same: boolean[] = [];
        for (let i = 0; i < FACES; i++) for (let j = 0; j < FACES; j++) { left.push(i); right.push(FACES + j); same.push(i === j); }
        const s = pairCosineScores(both, 2 * FACES, ea.dim, Int32Array.from(left), Int32Array.from(right));
        let self = 0, cross = 0, wins = 0;
        for (let k = 0; k < s.length; k++) if (same[k]) self += s[k]; else cross += s[k];
        self /= FACES;
        cross /= FACES * (FACES - 1);
        for (let i = 0; i < FACES; i++) {
          let best = -Infinity, arg = -1;
          for (let j = 0; j < FACES; j++) if (s[i * FACES + j] > best) { best = s[i * FACES + j]; arg = j; }
          if (arg === i) wins++;
        }
        console.log(`      ${name}: mean cosine self ${self.toFixed(4)}, cross ${cross.toFixed(4)}; nearest crop is its own face for ${wins}/${FACES}`);
        assert.ok(self > cross, `self ${self} <= cross ${cross}`);
        assert.ok(wins >= FACES / 2, `only ${wins}/${FACES} crops matched their own face`);
      } finally {
        e.dispose();
      }
    });
  }

  it('face-api alignFaces: detects and aligns the faces of a demo photo', async function () {
    skipUnlessInstalled(this, 'face-api');
    const demo = path.join(packageRoot('@vladmandic/face-api'), 'demo');
    const photo = path.join(demo, 'sample1.jpg');
    if (!fs.existsSync(photo)) this.skip();
    const lines: string[] = [];
    const r = await alignFaces([photo, Uint8Array.of(1, 2, 3)], { log: (l) => lines.push(l) });
    try {
      assert.ok(r.faces.length >= 1, 'no face found');
      assert.equal(r.set.count, r.faces.length);
      assert.deepEqual([r.set.height, r.set.width, r.set.channels], [150, 150, 3]);
      assert.ok(r.set.images.every((v) => Number.isFinite(v) && v >= -1.0001 && v <= 1.0001));
      for (const f of r.faces) {
        assert.equal(f.source, photo);
        assert.ok(f.score >= 0.5 && f.score <= 1);
        assert.ok(f.box.width > 10 && f.box.height > 10);
      }
      assert.deepEqual(r.skipped.map((s) => s.source), ['#1']);
      assert.match(lines[0], /^#1: skipped: not a JPEG or PNG/);
      const again = await alignFaces([photo]);
      assert.deepEqual(again.set.images, r.set.images); // deterministic
      console.log(`      face-api: ${r.faces.length} faces in sample1.jpg, scores ${r.faces.map((f) => f.score.toFixed(2)).join(', ')}`);
      // an image folder: the best face of each photo, labelled by its identity folder; broken photos are listed
      const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'coreface-align-'));
      try {
        fs.mkdirSync(path.join(tmp, 'group'));
        fs.mkdirSync(path.join(tmp, 'junk'));
        fs.copyFileSync(photo, path.join(tmp, 'group', 'a.jpg'));
        fs.writeFileSync(path.join(tmp, 'junk', 'b.jpg'), 'not a jpeg');
        const folder = await alignImageFolder(tmp);
        assert.deepEqual(folder.identities, ['group', 'junk']);
        assert.equal(folder.set.count, 1);
        assert.deepEqual([...folder.set.labels], [0]);
        assert.deepEqual(folder.sources, [path.join(tmp, 'group', 'a.jpg')]);
        assert.deepEqual(folder.set.images, r.set.images.subarray(0, 150 * 150 * 3)); // the most confident face
        assert.equal(folder.skipped.length, 1);
        assert.match(folder.skipped[0].reason, /not a JPEG or PNG/);
      } finally {
        fs.rmSync(tmp, { recursive: true, force: true });
      }
    } finally {
      releaseFaceApiDetector();
    }
  });

  it('face-api alignVerificationSet and eval --align: photos of an LFW folder replaced by aligned crops; a faceless photo drops its pairs', async function () {
    skipUnlessInstalled(this, 'face-api');
    const demo = path.join(packageRoot('@vladmandic/face-api'), 'demo');
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'coreface-align-lfw-'));
    try {
      // A and B: two demo photos each; C: one flat grey JPEG (no face). Two folds of 2 same + 2 different pairs.
      for (const [name, files] of [['A', ['sample2.jpg', 'sample3.jpg']], ['B', ['sample4.jpg', 'sample5.jpg']]] as const) {
        fs.mkdirSync(path.join(tmp, name));
        files.forEach((f, k) => fs.copyFileSync(path.join(demo, f), path.join(tmp, name, `${name}_000${k + 1}.jpg`)));
      }
      fs.mkdirSync(path.join(tmp, 'C'));
      fs.writeFileSync(path.join(tmp, 'C', 'C_0001.jpg'), jpeg.encode({ data: Buffer.alloc(64 * 64 * 4, 128), width: 64, height: 64 }, 90).data);
      const pairsFile = path.join(tmp, 'pairs.txt');
      fs.writeFileSync(pairsFile, '2\t2\nA\t1\t2\nB\t1\t2\nA\t1\tB\t1\nA\t2\tC\t1\nA\t2\t1\nB\t2\t1\nA\t2\tB\t2\nB\t1\tA\t1\n');
      const vs = await readLfwPairs(pairsFile, tmp, { size: 150, channels: 3 });
      assert.equal(vs.images.count, 5);
      const { set, noFace } = await alignVerificationSet(vs, { size: 112 });
      releaseFaceApiDetector();
      assert.deepEqual(noFace.map((x) => x.source), [path.join(tmp, 'C', 'C_0001.jpg')]);
      assert.match(noFace[0].reason, /no face with score >= 0\.5/);
      assert.deepEqual([set.images.count, set.images.height, set.images.channels], [4, 112, 3]);
      assert.equal(set.droppedPairs, 1);
      // the pair A2-C1 (pair 3, fold 0) is gone; the others keep their order, sameness, fold and identities
      const keep = [0, 1, 2, 4, 5, 6, 7];
      assert.deepEqual([...set.pairs.isSame], keep.map((k) => vs.pairs.isSame[k]));
      assert.deepEqual([...set.pairs.fold], keep.map((k) => vs.pairs.fold[k]));
      keep.forEach((k, j) => {
        assert.equal(set.sources[set.pairs.left[j]], vs.sources[vs.pairs.left[k]]);
        assert.equal(set.sources[set.pairs.right[j]], vs.sources[vs.pairs.right[k]]);
        assert.equal(set.images.labels[set.pairs.left[j]], vs.images.labels[vs.pairs.left[k]]);
      });
      const bin = path.join(__dirname, '..', '..', 'bin', 'coreface.js');
      if (fs.existsSync(path.join(__dirname, '..', '..', 'dist', 'src', 'cli', 'main.js'))) {
        const r = spawnSync(process.execPath, [bin, 'eval', '--data', tmp, '--pairs', pairsFile, '--model', 'face-api', '--align'], { encoding: 'utf8', timeout: 240000 });
        assert.equal(r.status, 0, r.stderr);
        assert.match(r.stderr, /aligned: 4 photos with a face, 1 without \(.*C_0001\.jpg \(no face with score >= 0\.5\)\); 1 pairs dropped/);
        assert.match(r.stdout, /4 images, 7 pairs \(4 same, 3 different\), 2 folds, flip fusion; 1 pairs dropped \(unreadable images or no face\)/);
        const onFile = spawnSync(process.execPath, [bin, 'eval', '--data', path.join(demo, 'sample1.jpg'), '--model', 'face-api', '--align'], { encoding: 'utf8' });
        assert.equal(onFile.status, 2);
        assert.match(onFile.stderr, /^coreface: --align detects and aligns faces in raw photos of an image FOLDER; .* is a file/);
      }
    } finally {
      releaseFaceApiDetector();
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  });
});
