/**
 * Fuzzing the readers with seeded random input (fast-check, fixed seeds and run counts, so every run checks the
 * same cases): random bytes and mutated fixtures as an image, as a .rec and as a .bin must always end in a clean
 * typed error (DataReaderError) or a skip, never another exception type, and never hang (each case has a deadline).
 */
import { strict as assert } from 'assert';
import fc from 'fast-check';
import * as fs from 'fs';
import * as path from 'path';
import {
  DataReaderError, decodeImage, ImageDecodeError, ImageStream, openVerificationBin, RecordIODataset,
} from '../../../src/data/readers';
import { fixture, makePng, tmpDir } from './helpers';

const SEED = 20250611;
const DEADLINE_MS = 10000;

/** Runs `fn`; 'ok' if it returns, 'typed' if it throws a DataReaderError; rethrows anything else; fails on a hang. */
async function outcome(label: string, fn: () => unknown): Promise<'ok' | 'typed'> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${label}: no result within ${DEADLINE_MS} ms (hang)`)), DEADLINE_MS);
  });
  try {
    await Promise.race([Promise.resolve().then(fn), deadline]);
    return 'ok';
  } catch (e) {
    if (e instanceof DataReaderError) return 'typed';
    throw e;
  } finally {
    clearTimeout(timer);
  }
}

/** Byte writes at random positions plus an optional truncation, applied to a copy of `base`. */
const mutation = fc.record({
  writes: fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 8 }),
  cut: fc.option(fc.nat(), { nil: undefined }),
});
function mutate(base: Uint8Array, m: { writes: [number, number][]; cut?: number }): Uint8Array {
  const out = base.slice();
  for (const [p, v] of m.writes) out[p % out.length] = v;
  return m.cut === undefined ? out : out.subarray(0, m.cut % (out.length + 1));
}

const JPEG = new Uint8Array(fs.readFileSync(fixture('folder', 'alice', '0001.jpg')));
const PNG_BYTES = makePng(6, 5, (x, y) => [40 * x, 50 * y, 100]);
const randomBytes = fc.uint8Array({ maxLength: 3000 });
const withPrefix = (prefix: number[]): fc.Arbitrary<Uint8Array> => randomBytes.map((b) => Uint8Array.from([...prefix, ...b]));

describe('data/readers fuzz (seeded)', function () {
  this.timeout(180000);
  let t: { dir: string; cleanup: () => void };
  before(() => { t = tmpDir('fuzz-'); });
  after(() => t.cleanup());

  it('random and mutated bytes as an image: decoded, or ImageDecodeError; skipped and counted in a stream', async () => {
    const images = fc.oneof(
      randomBytes,
      withPrefix([0xff, 0xd8, 0xff]),
      withPrefix([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
      mutation.map((m) => mutate(JPEG, m)),
      mutation.map((m) => mutate(PNG_BYTES, m)),
    );
    let typed = 0;
    await fc.assert(fc.asyncProperty(images, async (bytes) => {
      try {
        const img = decodeImage(bytes, 'fuzz');
        assert.ok(img.width > 0 && img.height > 0);
      } catch (e) {
        if (!(e instanceof ImageDecodeError)) throw e;
        typed++;
      }
    }), { seed: SEED, numRuns: 400 });
    assert.ok(typed > 100, `${typed} typed errors`);
    // the same inputs through a stream: never throws, every item read or skipped
    const samples = fc.sample(images, { seed: SEED + 1, numRuns: 60 });
    const s = new ImageStream('fuzz', samples.length, async () => ({
      count: samples.length, source: (i) => `f${i}`, load: async (i) => ({ bytes: samples[i], label: i }),
    }), { size: 4, batchSize: 7, log: null });
    const { set, summary } = await s.collect();
    assert.equal(set.count + summary.skipped, samples.length);
    assert.equal(summary.reasons.length, summary.skipped);
  });

  it('random and mutated bytes as a .rec (+ idx): a typed error or a stream that ends', async () => {
    const train = new Uint8Array(fs.readFileSync(fixture('recordio', 'train.rec')));
    const trainIdx = fs.readFileSync(fixture('recordio', 'train.idx'), 'utf8');
    const cases = fc.oneof(
      fc.record({ rec: randomBytes, idx: fc.constant('0\t0\n') }),
      fc.record({ rec: withPrefix([0x0a, 0x23, 0xd7, 0xce]), idx: fc.constant('0\t0\n1\t8\n') }),
      fc.record({ rec: mutation.map((m) => mutate(train, m)), idx: fc.constant(trainIdx) }),
    );
    const counts = { ok: 0, typed: 0 };
    let k = 0;
    await fc.assert(fc.asyncProperty(cases, async ({ rec, idx }) => {
      const recPath = path.join(t.dir, `r${k}.rec`);
      fs.writeFileSync(recPath, rec);
      fs.writeFileSync(path.join(t.dir, `r${k++}.idx`), idx);
      const r = await outcome(recPath, async () => {
        const ds = await RecordIODataset.open(recPath);
        await ds.close();
        const { set, summary } = await ds.stream({ size: 4, batchSize: 3, log: null }).collect();
        assert.equal(set.count + summary.skipped, ds.imageCount);
      });
      counts[r]++;
      fs.rmSync(recPath);
    }), { seed: SEED, numRuns: 300 });
    assert.ok(counts.typed > 50 && counts.ok > 5, JSON.stringify(counts));
  });

  it('random and mutated bytes as a .bin: a typed error, or pairs with skipped images', async () => {
    const p4 = new Uint8Array(fs.readFileSync(fixture('bin', 'pairs_p4.bin')));
    const py2 = new Uint8Array(fs.readFileSync(fixture('bin', 'pairs_py2.bin')));
    const p2 = new Uint8Array(fs.readFileSync(fixture('bin', 'pairs_p2.bin')));
    const cases = fc.oneof(
      randomBytes,
      withPrefix([0x80, 0x04, 0x95]),
      mutation.map((m) => mutate(p4, m)),
      mutation.map((m) => mutate(py2, m)),
      mutation.map((m) => mutate(p2, m)),
    );
    const counts = { ok: 0, typed: 0 };
    let k = 0;
    await fc.assert(fc.asyncProperty(cases, async (bytes) => {
      const f = path.join(t.dir, `b${k++}.bin`);
      fs.writeFileSync(f, bytes);
      const r = await outcome(f, async () => {
        const src = openVerificationBin(f, { size: 4, log: null, folds: 1 });
        const v = await src.load();
        assert.equal(v.images.count + v.summary.skipped, src.imageCount);
        assert.equal(v.pairs.left.length + v.droppedPairs, src.pairs.left.length);
      });
      counts[r]++;
      fs.rmSync(f);
    }), { seed: SEED, numRuns: 300 });
    assert.ok(counts.typed > 50 && counts.ok > 5, JSON.stringify(counts));
  });
});
