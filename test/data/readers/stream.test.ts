import { strict as assert } from 'assert';
import {
  batchItems, DataFormatError, formatReadSummary, ImageBatch, ImageDecodeError, ImageStream, ItemSource, LoadedImage, prefetch,
  ReadProgress, resolveStreamOptions, StreamOptions,
} from '../../../src/data/readers';
import { expectError, makePng, norm } from './helpers';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const v of it) out.push(v);
  return out;
}

/** 2x2 PNG whose red channel is `v` everywhere (so order and content can be checked after decoding). */
const pngOf = (v: number): Uint8Array => makePng(2, 2, () => [v, 0, 0]);

interface FakeSourceLog {
  loads: number;
  maxInFlight: number;
  closed: number;
  inFlightAtClose: number;
}

/**
 * An ItemSource of `n` 2x2 PNGs (red = item index), with `bad` items corrupt (skipped) and `fatal` items failing with
 * a DataFormatError (ends the pass). Loads take a few ms so that read-ahead really overlaps.
 */
function fakeSource(n: number, opts: { bad?: number[]; fatal?: number; delayMs?: number } = {}): { open: () => Promise<ItemSource>; log: FakeSourceLog } {
  const log: FakeSourceLog = { loads: 0, maxInFlight: 0, closed: 0, inFlightAtClose: -1 };
  let inFlight = 0;
  const pngs = Array.from({ length: Math.min(n, 256) }, (_, i) => pngOf(i));
  const open = async (): Promise<ItemSource> => ({
    count: n,
    source: (i) => `item${i}`,
    load: async (i): Promise<LoadedImage> => {
      log.loads++;
      inFlight++;
      log.maxInFlight = Math.max(log.maxInFlight, inFlight);
      try {
        if (opts.delayMs) await sleep(opts.delayMs);
        if (i === opts.fatal) throw new DataFormatError('fake.rec', `record ${i} is broken`, { offset: 8 * i });
        if (opts.bad?.includes(i)) return { bytes: Uint8Array.from([1, 2, 3]), label: i };
        return { bytes: pngs[i % 256], label: 100 + i };
      } finally {
        inFlight--;
      }
    },
    close: async () => {
      log.closed++;
      log.inFlightAtClose = inFlight;
    },
  });
  return { open, log };
}

function stream(n: number, src: ReturnType<typeof fakeSource>, opts: StreamOptions = {}): ImageStream {
  return new ImageStream('fake', n, src.open, { size: 2, log: null, ...opts });
}

describe('data/readers/stream', () => {
  describe('prefetch', () => {
    async function* count(n: number, log: number[], failAt = -1): AsyncGenerator<number> {
      try {
        for (let i = 0; i < n; i++) {
          if (i === failAt) throw new Error(`boom at ${i}`);
          log.push(i);
          yield i;
        }
      } finally {
        log.push(-1); // finally ran
      }
    }

    it('delivers every item in order and ends', async () => {
      const log: number[] = [];
      assert.deepEqual(await collect(prefetch(count(10, log), 3)), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
      assert.equal(log[log.length - 1], -1);
      assert.deepEqual(await collect(prefetch(count(4, []), 0)), [0, 1, 2, 3]);
      assert.deepEqual(await collect(prefetch(count(0, []), 2)), []);
    });

    it('runs at most `depth` items ahead of a slow consumer', async () => {
      const log: number[] = [];
      const it = prefetch(count(100, log), 3)[Symbol.asyncIterator]();
      assert.deepEqual(await it.next(), { value: 0, done: false });
      await sleep(30);
      // consumed 1, buffered <= 3, and the producer may hold one more pulled item waiting for space
      assert.ok(log.length <= 1 + 3 + 1, `produced ${log.length}`);
      await it.return?.();
      assert.equal(log[log.length - 1], -1, 'source closed on early return');
    });

    it('throws a source error after the items before it, and does not hang', async () => {
      const got: number[] = [];
      await assert.rejects(async () => {
        for await (const v of prefetch(count(10, [], 4), 2)) got.push(v);
      }, /^Error: boom at 4$/);
      assert.deepEqual(got, [0, 1, 2, 3]);
    });

    it('closes the source when the consumer breaks out early', async () => {
      const log: number[] = [];
      for await (const v of prefetch(count(1000, log), 4)) if (v === 2) break;
      assert.equal(log[log.length - 1], -1);
      assert.ok(log.length < 20);
    });

    it('rejects a bad depth; batchItems groups with a short last group', async () => {
      await assert.rejects(() => collect(prefetch(count(1, []), -1)), /^RangeError: prefetch depth must be a non-negative integer, got -1$/);
      assert.deepEqual(await collect(batchItems(count(7, []), 3)), [[0, 1, 2], [3, 4, 5], [6]]);
      await assert.rejects(() => collect(batchItems(count(1, []), 0)), /^RangeError: batch size must be a positive integer, got 0$/);
    });
  });

  describe('ImageStream', () => {
    it('batches in order, skips corrupt items, fills batches from the next items, summarises once', async () => {
      const src = fakeSource(10, { bad: [3, 7], delayMs: 1 });
      const lines: string[] = [];
      const s = stream(10, src, { batchSize: 4, log: (l) => lines.push(l) });
      const batches: ImageBatch[] = await collect(s);
      assert.deepEqual(batches.map((b) => b.count), [4, 4]);
      assert.deepEqual(batches.map((b) => Array.from(b.indices)), [[0, 1, 2, 4], [5, 6, 8, 9]]);
      assert.deepEqual(batches.map((b) => Array.from(b.labels)), [[100, 101, 102, 104], [105, 106, 108, 109]]);
      assert.deepEqual(batches[1].sources, ['item5', 'item6', 'item8', 'item9']);
      const b = batches[0];
      assert.deepEqual([b.height, b.width, b.channels, b.images.length], [2, 2, 3, 4 * 2 * 2 * 3]);
      assert.equal(b.images[3 * 12], Math.fround(norm(4))); // red of image 4 = 4
      const sum = s.summary;
      assert.deepEqual({ ...sum, seconds: 0 }, {
        name: 'fake', total: 10, read: 8, skipped: 2, seconds: 0, complete: true,
        reasons: [
          { source: 'item3', reason: 'not a JPEG or PNG (3 bytes, starting 01 02 03)' },
          { source: 'item7', reason: 'not a JPEG or PNG (3 bytes, starting 01 02 03)' },
        ],
      });
      assert.equal(lines.length, 1, 'summary printed once');
      assert.equal(lines[0], formatReadSummary(sum));
      assert.match(lines[0], /^fake: read 8 of 10 images, skipped 2 \(\d+\.\d s\)\n {2}skipped item3: not a JPEG or PNG \(3 bytes, starting 01 02 03\)\n {2}skipped item7: /);
      assert.equal(src.log.closed, 1);
      assert.equal(src.log.inFlightAtClose, 0);
      assert.ok(src.log.maxInFlight > 1, 'reads overlap');
      assert.ok(src.log.maxInFlight <= 16, 'read-ahead is bounded');
    });

    it('a container error ends the pass after the batches before it: thrown, source closed, no hang', async () => {
      for (const prefetchDepth of [0, 1, 3]) {
        const src = fakeSource(40, { fatal: 13, delayMs: 1 });
        const lines: string[] = [];
        const s = stream(40, src, { batchSize: 5, readAhead: 4, prefetch: prefetchDepth, log: (l) => lines.push(l) });
        const seen: number[] = [];
        await expectError(async () => {
          for await (const b of s) seen.push(...b.indices);
        }, DataFormatError, 'fake.rec at byte 104: record 13 is broken', { file: 'fake.rec', offset: 104 });
        assert.deepEqual(seen, Array.from({ length: 10 }, (_, i) => i), `prefetch ${prefetchDepth}`);
        assert.equal(src.log.closed, 1);
        assert.equal(src.log.inFlightAtClose, 0);
        assert.equal(s.summary.complete, false);
        assert.deepEqual(lines, [], 'no summary for a failed pass');
      }
    });

    it('breaking out early stops reading and closes the source', async () => {
      const src = fakeSource(10000, { delayMs: 0 });
      const s = stream(10000, src, { batchSize: 8, readAhead: 4, prefetch: 2 });
      for await (const b of s) if (b.indices[0] >= 8) break;
      assert.equal(src.log.closed, 1);
      assert.ok(src.log.loads <= 8 * 5 + 4, `loaded ${src.log.loads} of 10000`);
    });

    it('reports progress every N items and at the end; logs progress lines only on long passes', async () => {
      const progress: ReadProgress[] = [];
      const lines: string[] = [];
      const src = fakeSource(25, { bad: [0] });
      await collect(stream(25, src, { batchSize: 4, progressEvery: 10, onProgress: (p) => progress.push(p), log: (l) => lines.push(l) }));
      assert.deepEqual(progress.map((p) => [p.done, p.read, p.skipped, p.total]), [[10, 9, 1, 25], [20, 19, 1, 25], [25, 24, 1, 25]]);
      assert.equal(lines.length, 3);
      assert.match(lines[0], /^fake: 10\/25 images \(1 skipped(, \d+ images\/s)?\)$/);
      assert.match(lines[1], /^fake: 20\/25 images/);
      assert.match(lines[2], /^fake: read 24 of 25 images, skipped 1/);
      const exact: number[] = [];
      await collect(stream(10, fakeSource(10), { progressEvery: 5, onProgress: (p) => exact.push(p.done) }));
      assert.deepEqual(exact, [5, 10], 'the end is reported once');
      const quiet: string[] = [];
      await collect(stream(5, fakeSource(5), { progressEvery: 10, log: (l) => quiet.push(l) }));
      assert.equal(quiet.length, 1, 'short pass: summary only');
    });

    it("flip: true mirrors every image; 'random' is seeded, differs per pass, flips about half", async () => {
      // 2x2 images, left column red 10, right column red 200: after flipping, the left output pixel is 200
      const bytes = makePng(2, 2, (x) => [x ? 200 : 10, 0, 0]);
      const flipStream = (n: number, flip: boolean | 'random', seed = 0): ImageStream => new ImageStream('flip', n, async () => ({
        count: n, source: (i) => `i${i}`, load: async () => ({ bytes, label: 0 }),
      }), { size: 2, log: null, flip, seed });
      const flipped = async (s: ImageStream): Promise<boolean[]> => {
        const { set } = await s.collect();
        return Array.from({ length: set.count }, (_, i) => set.images[i * 12] > 0);
      };
      assert.deepEqual(await flipped(flipStream(4, false)), [false, false, false, false]);
      assert.deepEqual(await flipped(flipStream(4, true)), [true, true, true, true]);
      const n = 200;
      const s1 = flipStream(n, 'random', 5), s2 = flipStream(n, 'random', 5);
      const a1 = await flipped(s1), a2 = await flipped(s1);
      assert.deepEqual(await flipped(s2), a1, 'same seed, same first pass');
      const count = a1.filter(Boolean).length;
      assert.ok(count > 70 && count < 130, `flipped ${count} of ${n}`);
      assert.ok(a1.filter((v, i) => v !== a2[i]).length > 50, 'the second pass draws different flips');
    });

    it('collect() gathers a pass into one ImageSet (skips removed); an empty pass gives an empty set', async () => {
      const s = stream(6, fakeSource(6, { bad: [1] }), { batchSize: 4 });
      const { set, indices, sources, summary } = await s.collect();
      assert.deepEqual([set.count, set.height, set.width, set.channels, set.images.length], [5, 2, 2, 3, 60]);
      assert.deepEqual(Array.from(indices), [0, 2, 3, 4, 5]);
      assert.deepEqual(Array.from(set.labels), [100, 102, 103, 104, 105]);
      assert.deepEqual(sources, ['item0', 'item2', 'item3', 'item4', 'item5']);
      assert.equal(summary.skipped, 1);
      const empty = await stream(0, fakeSource(0)).collect();
      assert.equal(empty.set.count, 0);
    });

    it('load() throwing synchronously or an ImageDecodeError from load() are handled like their async forms', async () => {
      const s = new ImageStream('sync', 3, async () => ({
        count: 3, source: (i) => `s${i}`,
        load: (i) => {
          if (i === 1) throw new ImageDecodeError(`s${i}`, 'cannot read file (EACCES)');
          return Promise.resolve({ bytes: pngOf(i), label: i });
        },
      }), { size: 2, log: null });
      const { set, summary } = await s.collect();
      assert.equal(set.count, 2);
      assert.deepEqual(summary.reasons, [{ source: 's1', reason: 'cannot read file (EACCES)' }]);
    });

    it('validates options', () => {
      const o = resolveStreamOptions();
      assert.deepEqual([o.batchSize, o.prefetch, o.readAhead, o.progressEvery, o.size, o.channels, o.flip, o.seed], [64, 2, 16, 1000, 112, 3, false, 0]);
      assert.throws(() => resolveStreamOptions({ batchSize: 0 }), /^RangeError: batchSize must be a positive integer, got 0$/);
      assert.throws(() => resolveStreamOptions({ prefetch: 1.5 }), /^RangeError: prefetch must be a non-negative integer, got 1.5$/);
      assert.throws(() => resolveStreamOptions({ readAhead: -1 }), /^RangeError: readAhead must be a positive integer, got -1$/);
      assert.throws(() => resolveStreamOptions({ progressEvery: 0 }), /^RangeError: progressEvery must be a positive integer, got 0$/);
    });

    it('is linear in the number of images (4x the images takes well under 16x the time)', async function () {
      this.timeout(60000);
      const bytes = pngOf(9);
      const run = async (n: number): Promise<number> => {
        const s = new ImageStream('perf', n, async () => ({ count: n, source: (i) => `p${i}`, load: async () => ({ bytes, label: 0 }) }),
          { size: 4, batchSize: 64, log: null });
        const t0 = process.hrtime.bigint();
        let got = 0;
        for await (const b of s) got += b.count;
        assert.equal(got, n);
        return Number(process.hrtime.bigint() - t0) / 1e6;
      };
      await run(500); // warm-up
      const t1 = await run(2000), t4 = await run(8000);
      assert.ok(t4 < 8 * t1 + 200, `2000 images: ${t1.toFixed(0)} ms, 8000 images: ${t4.toFixed(0)} ms`);
    });
  });
});
