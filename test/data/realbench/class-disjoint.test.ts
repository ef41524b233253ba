import { strict as assert } from 'assert';
import * as fs from 'fs';
import {
  FASHION_MNIST_DIR, classPartition, classPartitions, createFashionMnist, createMnist, fashionMnistNotFound,
  minTestPerClass, resampleGrey, resolveClassDisjointOptions, type ClassDisjointOptions,
} from '../../../src/data/realbench';
import { createDataset, listDatasets, type FaceBenchmark } from '../../../src/data';

// Small but protocol-valid: 5 image-disjoint folds x 10 pairs need >= 3 images per class per fold.
const SMALL: ClassDisjointOptions = { trainPerClass: 20, testPerClass: 30, pairsPerFold: 10, folds: 5, seed: 3 };

function bytesOf(a: Float32Array): Buffer {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength);
}

/** Invariants every class-disjoint benchmark must satisfy. */
function checkProtocol(b: FaceBenchmark, o: Required<Pick<ClassDisjointOptions, 'trainPerClass' | 'testPerClass' | 'pairsPerFold' | 'folds'>>, T = 4): void {
  const meta = b.meta as { trainClasses: { ids: number[] }; testClasses: { ids: number[] }; unknownTestClasses: number[] };
  const trainIds = meta.trainClasses.ids, testIds = meta.testClasses.ids;
  assert.equal(trainIds.length, 10 - T);
  assert.equal(testIds.length, T);
  assert.ok(trainIds.every((c) => !testIds.includes(c)), 'train and test classes are disjoint');
  assert.deepEqual([...trainIds, ...testIds].sort((x, y) => x - y), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  assert.equal(b.numClasses, 10 - T);
  // labels 0..K-1, class-major, per-class counts
  for (const [set, K, per] of [[b.train, 10 - T, o.trainPerClass], [b.test, T, o.testPerClass]] as const) {
    assert.equal(set.count, K * per);
    assert.equal(set.labels.length, set.count);
    assert.equal(set.images.length, set.count * set.height * set.width * set.channels);
    for (let i = 0; i < set.count; i++) assert.equal(set.labels[i], Math.floor(i / per));
    let lo = Infinity, hi = -Infinity;
    for (const v of set.images) { lo = Math.min(lo, v); hi = Math.max(hi, v); }
    assert.ok(lo >= -1 && hi <= 1 && hi - lo > 1.5, `range [${lo}, ${hi}]`);
  }
  // pairs: layout, validity, image-disjoint folds
  const { left, right, isSame, fold } = b.pairs, P = o.pairsPerFold;
  assert.equal(left.length, o.folds * 2 * P);
  const foldOf = new Map<number, number>();
  const seen = new Set<string>();
  for (let i = 0; i < left.length; i++) {
    const k = Math.floor(i / (2 * P));
    assert.equal(fold[i], k);
    assert.equal(isSame[i], i % (2 * P) < P ? 1 : 0, 'P same then P different per fold');
    assert.ok(left[i] < right[i] && left[i] >= 0 && right[i] < b.test.count);
    assert.equal(b.test.labels[left[i]] === b.test.labels[right[i]], isSame[i] === 1);
    const key = `${left[i]},${right[i]}`;
    assert.ok(!seen.has(key), 'pairs are distinct');
    seen.add(key);
    for (const x of [left[i], right[i]]) {
      if (foldOf.has(x)) assert.equal(foldOf.get(x), k, `image ${x} appears in two folds`);
      foldOf.set(x, k);
    }
  }
  // identification: one gallery image per known class, unknown classes entirely in unknown probes
  const { gallery, knownProbes, unknownProbes } = b.identification;
  const unknownLabels = meta.unknownTestClasses.map((c) => testIds.indexOf(c));
  assert.equal(unknownLabels.length, Math.round(0.25 * T));
  assert.equal(gallery.length, T - unknownLabels.length);
  assert.deepEqual([...gallery].map((g) => b.test.labels[g]).sort(), [...Array(T).keys()].filter((l) => !unknownLabels.includes(l)));
  assert.ok([...unknownProbes].every((p) => unknownLabels.includes(b.test.labels[p])));
  assert.equal(unknownProbes.length, unknownLabels.length * o.testPerClass);
  const all = [...gallery, ...knownProbes, ...unknownProbes].sort((x, y) => x - y);
  assert.deepEqual(all, [...Array(b.test.count).keys()], 'gallery + probes cover the test set exactly once');
}

describe('realbench class-disjoint protocol', () => {
  it('enumerates every partition once, in a balanced order', () => {
    const parts = classPartitions(10, 4);
    assert.equal(parts.length, 210);
    assert.equal(new Set(parts.map((p) => p.join(','))).size, 210);
    assert.deepEqual(parts.slice(0, 5).map((p) => p.join('')), ['0123', '4567', '0189', '2345', '6789']);
    const counts = new Array<number>(10).fill(0);
    for (const p of parts.slice(0, 5)) for (const c of p) counts[c]++;
    assert.deepEqual(counts, new Array<number>(10).fill(2), 'partitions 0..4 test every class twice');
    const p7 = classPartition(10, 4, 7);
    assert.deepEqual([...p7.trainClasses, ...p7.testClasses].sort(), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    assert.throws(() => classPartition(10, 4, 210), /partition must be an integer in \[0, 209\] \(C\(10, 4\) = 210 choices/);
    assert.equal(classPartitions(10, 3).length, 120);
  });

  it('validates options with clear messages', () => {
    assert.throws(() => resolveClassDisjointOptions('mnist', { partiton: 1 }), /unknown mnist option 'partiton'; allowed: partition, testClasses/);
    assert.throws(() => resolveClassDisjointOptions('mnist', { partition: 210 }), /partition must be an integer >= 0 and <= 209, got 210/);
    assert.throws(() => resolveClassDisjointOptions('mnist', { partition: 1.5 }), /partition must be an integer/);
    assert.throws(() => resolveClassDisjointOptions('mnist', { testClasses: 9 }), /testClasses must be an integer >= 2 and <= 8, got 9/);
    assert.throws(() => resolveClassDisjointOptions('mnist', { channels: 2 }), /channels must be 1 or 3, got 2/);
    assert.throws(() => resolveClassDisjointOptions('mnist', { resize: 'crop' }), /resize must be 'pad' or 'scale', got "crop"/);
    assert.throws(() => resolveClassDisjointOptions('mnist', { unknownFraction: 1 }), /unknownFraction must be a number in \[0, 1\)/);
    assert.throws(() => resolveClassDisjointOptions('mnist', { testPerClass: 50 }),
      /testPerClass=50 is too small for 10 image-disjoint folds x 300 same \+ 300 different pairs over 4 test classes: need testPerClass >= 130/);
    assert.equal(minTestPerClass(4, 300, 10), 130);
    assert.throws(() => resolveClassDisjointOptions('mnist', 'x' as unknown as ClassDisjointOptions), /mnist options must be an object/);
    assert.throws(() => createMnist({ ...SMALL, trainPerClass: 6000 }), /training file has only 5\d\d\d images of class \d \(\d\); asked for 6000 per class/);
    assert.throws(() => createMnist({ ...SMALL, resolution: 20 }), /resolution=20 is smaller than the 28x28 mnist training images: use resolution >= 28 or resize: 'scale'/);
    assert.throws(() => createMnist({ ...SMALL, dir: '/nonexistent/mnist' }), /MNIST not found at \/nonexistent\/mnist \(missing train-images-idx3-ubyte\[\.gz\]/);
    const r = resolveClassDisjointOptions('mnist', {});
    assert.deepEqual({ ...r }, {
      partition: 0, testClasses: 4, trainPerClass: 1000, testPerClass: 500, resolution: 32, resize: 'pad', channels: 1, seed: 0,
      unknownFraction: 0.25, pairsPerFold: 300, folds: 10, dir: null,
    });
  });

  it('mnist: protocol invariants, partitions differ, deterministic per seed', () => {
    const a = createMnist(SMALL);
    checkProtocol(a, SMALL as Required<ClassDisjointOptions>);
    assert.equal(a.name, 'mnist');
    assert.equal(a.train.height, 32);
    assert.equal(a.train.channels, 1);
    const again = createMnist(SMALL);
    assert.ok(bytesOf(again.train.images).equals(bytesOf(a.train.images)));
    assert.ok(bytesOf(again.test.images).equals(bytesOf(a.test.images)));
    assert.deepEqual(again.pairs, a.pairs);
    assert.deepEqual(again.identification, a.identification);
    const seed4 = createMnist({ ...SMALL, seed: 4 });
    assert.ok(!bytesOf(seed4.train.images).equals(bytesOf(a.train.images)), 'another seed draws other images');
    assert.notDeepEqual(seed4.pairs.left, a.pairs.left);
    const p1 = createMnist({ ...SMALL, partition: 1 });
    checkProtocol(p1, SMALL as Required<ClassDisjointOptions>);
    const tc = (b: FaceBenchmark): number[] => (b.meta as { testClasses: { ids: number[] } }).testClasses.ids;
    assert.deepEqual(tc(a), [0, 1, 2, 3]);
    assert.deepEqual(tc(p1), [4, 5, 6, 7]);
    const p3 = createMnist({ ...SMALL, partition: 3, testClasses: 3, channels: 3 });
    checkProtocol(p3, SMALL as Required<ClassDisjointOptions>, 3);
    const px = 32 * 32;
    for (let i = 0; i < px; i++) {
      const v = p3.train.images[3 * i];
      assert.ok(v === p3.train.images[3 * i + 1] && v === p3.train.images[3 * i + 2], 'grey replicated into 3 channels');
    }
  });

  it('mnist: pad keeps the pixels, scale resamples', () => {
    const raw = createMnist({ ...SMALL, resolution: 28 });
    const padded = createMnist(SMALL);
    // the 28x28 digit sits at offset 2 inside the 32x32 image, background -1 around it
    for (let y = 0; y < 32; y++) {
      for (let x = 0; x < 32; x++) {
        const v = padded.train.images[y * 32 + x];
        if (y < 2 || y >= 30 || x < 2 || x >= 30) assert.equal(v, -1);
        else assert.equal(v, raw.train.images[(y - 2) * 28 + (x - 2)]);
      }
    }
    const small = createMnist({ ...SMALL, resolution: 16, resize: 'scale' });
    assert.equal(small.train.height, 16);
    assert.deepEqual(small.train.labels, raw.train.labels);
    // resampling a constant image keeps it; 2x downscale averages
    assert.deepEqual([...resampleGrey(new Uint8Array(16).fill(80), 4, 4, 2, 2)], [80, 80, 80, 80]);
    const blocks = Uint8Array.from([0, 0, 200, 200, 0, 0, 200, 200, 0, 0, 200, 200, 0, 0, 200, 200]);
    assert.deepEqual([...resampleGrey(blocks, 4, 4, 2, 2)], [0, 200, 0, 200]);
  });

  it('fashion-mnist: protocol invariants and class names', function () {
    if (!fs.existsSync(FASHION_MNIST_DIR)) {
      if (process.env.CI === 'true') assert.fail(`Fashion-MNIST missing at ${FASHION_MNIST_DIR}: .ci/run must call npm run setup (data/setup.sh)`);
      this.skip();
    }
    const b = createFashionMnist({ ...SMALL, partition: 4 });
    checkProtocol(b, SMALL as Required<ClassDisjointOptions>);
    assert.equal(b.name, 'fashion-mnist');
    const m = b.meta as { testClasses: { ids: number[]; names: string[] } };
    assert.deepEqual(m.testClasses.ids, [6, 7, 8, 9]);
    assert.deepEqual(m.testClasses.names, ['Shirt', 'Sneaker', 'Bag', 'Ankle boot']);
    const again = createFashionMnist({ ...SMALL, partition: 4 });
    assert.ok(bytesOf(again.test.images).equals(bytesOf(b.test.images)));
  });

  it('says what to install when Fashion-MNIST is missing', () => {
    assert.equal(fashionMnistNotFound(FASHION_MNIST_DIR, []).message,
      'Fashion-MNIST not found at /usr/share/datasets/fashion-mnist: run `sudo bash data/setup.sh` (apt-get install dataset-fashion-mnist)');
    assert.throws(() => createFashionMnist({ ...SMALL, dir: '/nonexistent/fm' }),
      /Fashion-MNIST not found at \/nonexistent\/fm \(missing train-images-idx3-ubyte\[\.gz\], .*\): point `dir` at a folder/);
  });

  it('registers mnist, fashion-mnist and glyphs', () => {
    const names = listDatasets().map((d) => d.name);
    for (const n of ['mnist', 'fashion-mnist', 'glyphs']) assert.ok(names.includes(n), `${n} registered`);
    const b = createDataset('mnist', SMALL);
    assert.equal(b.test.count, 120);
  });
});
