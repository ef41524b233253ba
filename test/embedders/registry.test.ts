import { strict as assert } from 'assert';
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import {
  checkEmbedderAvailable, createEmbedder, EmbedderPackageError, getEmbedderEntry, listEmbedders,
  loadEmbedder, registerEmbedder, resolveEmbedderSpec, UnknownEmbedderError,
} from '../../src/embedders';

const ROOT = path.join(__dirname, '..', '..');

describe('embedders: registry', function () {
  this.timeout(300000);

  it('registers faceres and face-api with their declared dimensions', () => {
    const names = listEmbedders().map((e) => e.name);
    assert.ok(names.includes('faceres') && names.includes('face-api'), names.join(', '));
    const byName = new Map(listEmbedders().map((e) => [e.name, e]));
    assert.deepEqual(
      { ...byName.get('faceres'), description: '', available: true },
      { name: 'faceres', description: '', package: '@vladmandic/human', available: true, inputSize: 224, channels: 3, embeddingDim: 1024 },
    );
    assert.deepEqual(
      { ...byName.get('face-api'), description: '', available: true },
      { name: 'face-api', description: '', package: '@vladmandic/face-api', available: true, inputSize: 150, channels: 3, embeddingDim: 128 },
    );
  });

  it('every registered embedder whose package is installed loads with its declared dimensions and embeds finite values', async function () {
    let tested = 0;
    for (const info of listEmbedders()) {
      if (!info.available) {
        console.log(`      skipped ${info.name}: npm package ${info.package} is not installed`);
        continue;
      }
      const e = await createEmbedder(info.name, { batchSize: 2 });
      try {
        assert.equal(e.name, info.name);
        assert.deepEqual([e.inputSize, e.channels, e.embeddingDim], [info.inputSize, info.channels, info.embeddingDim]);
        const n = 3;
        const x = new Float32Array(n * e.inputSize * e.inputSize * e.channels);
        for (let i = 0; i < x.length; i++) x[i] = Math.sin(i * 0.37) * 0.8;
        const out = await e.embed(x, n);
        assert.equal(out.length, n * info.embeddingDim);
        assert.ok(out.every(Number.isFinite));
        await assert.rejects(() => e.embed(x.subarray(1), n), /expected 3 images of/);
        tested++;
      } finally {
        e.dispose();
      }
      await assert.rejects(() => e.embed(new Float32Array(e.inputSize * e.inputSize * e.channels), 1), /after dispose/);
    }
    if (tested === 0) this.skip();
  });

  it('rejects unknown names listing the registered ones, and names the npm package to install', async () => {
    assert.throws(() => getEmbedderEntry('resnet'), (e: Error) => e instanceof UnknownEmbedderError && /unknown embedder 'resnet'; registered embedders: .*face-api.*faceres/.test(e.message));
    await assert.rejects(() => createEmbedder('nope'), UnknownEmbedderError);
    registerEmbedder('test-missing-pkg', {
      description: 'test entry whose package does not exist', package: '@coreface-lab/no-such-package',
      inputSize: 8, channels: 1, embeddingDim: 4, create: () => Promise.reject(new Error('must not be called')),
    });
    assert.throws(() => registerEmbedder('test-missing-pkg', getEmbedderEntry('test-missing-pkg')), /already registered/);
    assert.throws(() => registerEmbedder('Bad Name', getEmbedderEntry('faceres')), /must match/);
    assert.equal(listEmbedders().find((e) => e.name === 'test-missing-pkg')?.available, false);
    assert.throws(() => checkEmbedderAvailable('test-missing-pkg'), (e: Error) => e instanceof EmbedderPackageError &&
      e.message === "the 'test-missing-pkg' embedder needs the npm package @coreface-lab/no-such-package, which is not installed: npm install @coreface-lab/no-such-package");
    await assert.rejects(() => loadEmbedder('test-missing-pkg'), EmbedderPackageError);
  });

  it('tells registered names from run directories', () => {
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'coreface-emb-'));
    try {
      assert.deepEqual(resolveEmbedderSpec('faceres'), { kind: 'registered', name: 'faceres' });
      assert.throws(() => resolveEmbedderSpec(tmp), /holds no checkpoint\.ckpt .*registered embedder: .*faceres/);
      assert.throws(() => resolveEmbedderSpec(path.join(tmp, 'missing')), /unknown model '.*missing'/);
      fs.writeFileSync(path.join(tmp, 'checkpoint.ckpt'), '');
      assert.deepEqual(resolveEmbedderSpec(tmp), { kind: 'checkpoint', dir: tmp });
    } finally {
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  });

  it('importing the embedders loads neither npm model package', function () {
    const entry = path.join(ROOT, 'dist', 'src', 'embedders', 'index.js');
    if (!fs.existsSync(entry)) this.skip(); // npm test builds first
    const code = `const e = require(${JSON.stringify(entry)}); const names = e.listEmbedders().map((x) => x.name).join(',');` +
      `const loaded = Object.keys(require.cache).filter((k) => k.includes('@vladmandic')); console.log(JSON.stringify({ names, loaded }));`;
    const r = spawnSync(process.execPath, ['-e', code], { encoding: 'utf8', timeout: 120000 });
    assert.equal(r.status, 0, r.stderr);
    const out = JSON.parse(r.stdout.trim().split('\n').pop() as string) as { names: string; loaded: string[] };
    assert.equal(out.names, 'face-api,faceres');
    assert.deepEqual(out.loaded, []);
  });
});
