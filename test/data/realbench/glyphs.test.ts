import { strict as assert } from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import {
  GLYPH_FONTS, GLYPH_WEIGHTS, checkCoverage, commonCoverage, createGlyphs, defaultGlyphCacheDir, fontCoverage,
  glyphCacheFile, glyphFontPackages, glyphFontsById, glyphStyles, resolveGlyphsOptions, type GlyphsOptions,
} from '../../../src/data/realbench';
import { Rng } from '../../../src/util/rng';
import type { FaceBenchmark } from '../../../src/data';

const fontsInstalled = GLYPH_FONTS.every((f) => fs.existsSync(f.path));

function bytesOf(a: Float32Array): Buffer {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength);
}

const cp = (ch: string): number => ch.codePointAt(0) as number;

describe('realbench glyphs', function () {
  before(function () {
    if (!fontsInstalled) {
      if (process.env.CI === 'true') assert.fail('glyph fonts missing: .ci/run must call npm run setup (data/setup.sh)');
      console.log('    (glyph fonts not installed: run `sudo bash data/setup.sh`)');
      this.skip();
    }
  });

  describe('font coverage', () => {
    it('reads the cmap: GB2312 fonts have exactly its 6,763 hanzi; all eight share 4,146 ideographs', () => {
      const cjk = (ids: string[]): number => commonCoverage(glyphFontsById(ids)).length;
      assert.equal(cjk(['gbsn']), 6763);
      assert.equal(cjk(['gkai']), 6763);
      assert.equal(commonCoverage(GLYPH_FONTS).length, 4146);
      const gbsn = fontCoverage(glyphFontsById(['gbsn'])[0]);
      assert.ok(gbsn.has(cp('永')) && gbsn.has(cp('国')));
      assert.ok(!gbsn.has(cp('龜')), 'traditional 龜 is not in GB2312');
      assert.ok(!gbsn.has(0x20), 'an empty outline (space) does not count as covered');
    });

    it('rejects a character missing in a font', () => {
      const fonts = glyphFontsById(['uming', 'gbsn', 'gkai']);
      checkCoverage(fonts, [cp('永'), cp('国')]);
      assert.throws(() => checkCoverage(fonts, [cp('永'), cp('龜')]),
        /font coverage check failed: gbsn \(.*gbsn00lp\.ttf\) lacks 1 character: 龜 \(U\+9F9C\); gkai \(.*\) lacks 1 character: 龜/);
      // and a glyph benchmark never picks it
      const b = commonCoverage(fonts);
      assert.ok(!b.includes(cp('龜')) && b.includes(cp('永')));
    });

    it('data/setup.sh installs every font package and Fashion-MNIST', () => {
      const script = fs.readFileSync(path.join(__dirname, '..', '..', '..', 'data', 'setup.sh'), 'utf8');
      for (const p of [...glyphFontPackages(), 'dataset-fashion-mnist']) assert.match(script, new RegExp(`^\\s+${p}$`, 'm'), p);
    });
  });

  describe('benchmark', () => {
    let dir: string;
    const SMALL = (): GlyphsOptions => ({
      trainIdentities: 30, testIdentities: 20, imagesPerIdentity: 4, testImagesPerIdentity: 6, pairsPerFold: 10, folds: 2,
      seed: 1, cacheDir: dir, progress: false,
    });
    let first: FaceBenchmark;
    before(() => {
      dir = fs.mkdtempSync(path.join(os.tmpdir(), 'glyph-cache-'));
      first = createGlyphs(SMALL());
    });
    after(() => { fs.rmSync(dir, { recursive: true, force: true }); });

    const cache = (b: FaceBenchmark): Record<string, unknown> => (b.meta as { cache: Record<string, unknown> }).cache;
    const same = (a: FaceBenchmark, b: FaceBenchmark): void => {
      assert.ok(bytesOf(a.train.images).equals(bytesOf(b.train.images)));
      assert.ok(bytesOf(a.test.images).equals(bytesOf(b.test.images)));
      assert.deepEqual(a.pairs, b.pairs);
      assert.deepEqual(a.identification, b.identification);
      assert.equal(a.meta.trainCharacters, b.meta.trainCharacters);
    };

    it('has disjoint characters, identity-major labels, valid protocols', () => {
      const b = first;
      assert.equal(b.name, 'glyphs');
      assert.equal(b.numClasses, 30);
      assert.equal(b.train.count, 120);
      assert.equal(b.test.count, 120);
      assert.equal(b.train.height, 32);
      assert.equal(b.train.channels, 1);
      const tr = [...(b.meta.trainCharacters as string)], te = [...(b.meta.testCharacters as string)];
      assert.equal(new Set(tr).size, 30);
      assert.equal(new Set(te).size, 20);
      assert.ok(tr.every((c) => !te.includes(c)), 'train and test characters are disjoint');
      for (let i = 0; i < b.train.count; i++) assert.equal(b.train.labels[i], Math.floor(i / 4));
      for (let i = 0; i < b.test.count; i++) assert.equal(b.test.labels[i], Math.floor(i / 6));
      let lo = Infinity, hi = -Infinity;
      for (const v of b.train.images) { lo = Math.min(lo, v); hi = Math.max(hi, v); }
      assert.ok(lo >= -1 && hi <= 1 && hi - lo > 1.5, `range [${lo}, ${hi}]`);
      const { left, right, isSame, fold } = b.pairs;
      assert.equal(left.length, 2 * 2 * 10);
      const foldOfId = new Map<number, number>();
      for (let i = 0; i < left.length; i++) {
        assert.equal(fold[i], Math.floor(i / 20));
        assert.equal(isSame[i], i % 20 < 10 ? 1 : 0);
        assert.ok(left[i] < right[i]);
        assert.equal(b.test.labels[left[i]] === b.test.labels[right[i]], isSame[i] === 1);
        for (const x of [left[i], right[i]]) {
          const id = b.test.labels[x];
          if (foldOfId.has(id)) assert.equal(foldOfId.get(id), fold[i], 'folds are identity-disjoint');
          foldOfId.set(id, fold[i]);
        }
      }
      const { gallery, knownProbes, unknownProbes } = b.identification;
      assert.equal(gallery.length, 20 - 6);
      assert.equal(unknownProbes.length, 6 * 6);
      assert.equal(gallery.length + knownProbes.length + unknownProbes.length, b.test.count);
      // renderings of one character differ from each other
      const size = 32 * 32;
      const img = (k: number): Float32Array => b.train.images.subarray(k * size, (k + 1) * size);
      assert.ok(!bytesOf(img(0)).equals(bytesOf(img(1))));
    });

    it('first renderings of an identity use distinct fonts; up to 2F are distinct styles', () => {
      const st = glyphStyles(new Rng(9), 8, 16);
      assert.equal(new Set(st.slice(0, 8).map((s) => s.font)).size, 8);
      assert.equal(new Set(st.map((s) => `${s.font}/${s.weight}`)).size, 16);
      assert.ok(st.every((s) => s.weight >= 0 && s.weight < GLYPH_WEIGHTS.length));
    });

    it('held-back renderings continue each training character\'s renderings and leave the training images unchanged', () => {
      const h = first.heldOut;
      assert.ok(h, 'default heldOutPerIdentity 4');
      assert.equal(h.set.count, 30 * 4);
      const longer = createGlyphs({ ...SMALL(), imagesPerIdentity: 8, heldOutPerIdentity: 0 });
      const none = createGlyphs({ ...SMALL(), heldOutPerIdentity: 0 });
      assert.equal(none.heldOut, undefined);
      assert.ok(bytesOf(none.train.images).equals(bytesOf(first.train.images)));
      assert.equal(longer.meta.trainCharacters, first.meta.trainCharacters);
      const px = 32 * 32;
      for (let id = 0; id < 30; id++) {
        for (let j = 0; j < 4; j++) {
          const a = h.set.images.subarray((id * 4 + j) * px, (id * 4 + j + 1) * px);
          const b = longer.train.images.subarray((id * 8 + 4 + j) * px, (id * 8 + 5 + j) * px);
          assert.ok(bytesOf(a).equals(bytesOf(b)), `character ${id} rendering ${4 + j}`);
        }
      }
      assert.ok(h.pairs.left.length > 0);
    });

    it('second load hits the cache and is identical; channels 3 reuses it', () => {
      assert.equal(cache(first).hit, false);
      assert.equal(cache(first).missReason, 'no cache file');
      const second = createGlyphs(SMALL());
      assert.equal(cache(second).hit, true);
      same(first, second);
      const rgb = createGlyphs({ ...SMALL(), channels: 3, pairsPerFold: 5 });
      assert.equal(cache(rgb).hit, true, 'channels and pairs are not part of the cache key');
      assert.equal(rgb.train.channels, 3);
      for (let i = 0; i < 32 * 32; i++) {
        assert.equal(rgb.train.images[3 * i], first.train.images[i]);
        assert.equal(rgb.train.images[3 * i + 2], first.train.images[i]);
      }
    });

    it('rebuilds a corrupt or truncated cache file', () => {
      const file = glyphCacheFile(resolveGlyphsOptions(SMALL()));
      assert.ok(fs.existsSync(file));
      const buf = fs.readFileSync(file);
      buf[buf.length - 100] ^= 0xff;
      fs.writeFileSync(file, buf);
      const rebuilt = createGlyphs(SMALL());
      assert.equal(cache(rebuilt).hit, false);
      assert.match(String(cache(rebuilt).missReason), /checksum mismatch/);
      same(first, rebuilt);
      fs.writeFileSync(file, fs.readFileSync(file).subarray(0, 5000));
      const again = createGlyphs(SMALL());
      assert.match(String(cache(again).missReason), /payload has \d+ bytes, header says \d+/);
      same(first, again);
      assert.equal(cache(createGlyphs(SMALL())).hit, true, 'the rebuilt file is used next time');
      assert.deepEqual(fs.readdirSync(dir).filter((f) => f.startsWith('.')), [], 'no temporary files left');
    });

    it('is deterministic per seed without the cache; other seeds pick other characters', () => {
      const fresh = createGlyphs({ ...SMALL(), cache: false });
      same(first, fresh);
      const other = createGlyphs({ ...SMALL(), seed: 2, cache: false });
      assert.notEqual(other.meta.trainCharacters, first.meta.trainCharacters);
      const fewerTrain = createGlyphs({ ...SMALL(), trainIdentities: 5, cache: false });
      assert.equal(fewerTrain.meta.testCharacters, first.meta.testCharacters, 'test characters do not depend on trainIdentities');
    });
  });

  it('validates options with clear messages', () => {
    assert.throws(() => resolveGlyphsOptions({ trainIdentity: 3 }), /unknown glyphs option 'trainIdentity'; allowed: trainIdentities/);
    assert.throws(() => resolveGlyphsOptions({ fonts: ['uming', 'comic'] }), /unknown glyph font 'comic'; known: uming, ukai/);
    assert.throws(() => resolveGlyphsOptions({ fonts: [] }), /fonts must be a non-empty array of font ids/);
    assert.throws(() => resolveGlyphsOptions({ resolution: 8 }), /resolution must be an integer >= 16 and <= 256, got 8/);
    assert.throws(() => resolveGlyphsOptions({ channels: 4 }), /channels must be 1 or 3, got 4/);
    assert.throws(() => resolveGlyphsOptions({ testIdentities: 20 }),
      /testIdentities=20 is too small for 10 identity-disjoint folds x 300 same \+ 300 different pairs with testImagesPerIdentity=10: need testIdentities >= 70/);
    assert.throws(() => createGlyphs({ trainIdentities: 4000, progress: false, cache: false }),
      /trainIdentities \+ testIdentities = 4500 but only 4146 CJK ideographs are drawn by all of the fonts/);
    const r = resolveGlyphsOptions({});
    assert.equal(r.cacheDir, defaultGlyphCacheDir());
    assert.ok(r.cacheDir.endsWith(path.join('data', 'cache', 'glyphs')));
    assert.deepEqual({ ...r, cacheDir: '' }, {
      trainIdentities: 1500, testIdentities: 500, imagesPerIdentity: 10, testImagesPerIdentity: 10, resolution: 32, channels: 1,
      seed: 0, distortion: 1, fonts: GLYPH_FONTS.map((f) => f.id), unknownFraction: 0.3, pairsPerFold: 300, folds: 10, heldOutPerIdentity: 4,
      cache: true, cacheDir: '', progress: true,
    });
  });
});
