import { strict as assert } from 'assert';
import * as tf from '@tensorflow/tfjs';
import { Trainer, StepRecord, RunResult, epochBatches } from '../../src/train';
import { pairObjective } from '../../src/train/pair-objective';
import { ConfigError, configHash, resolveTrainConfig } from '../../src/config';
import type { TrainConfig } from '../../src/config';
import { createDataset } from '../../src/data';
import type { FaceBenchmark } from '../../src/data/types';
import { createPairLoss, getPairLossEntry, listPairLosses } from '../../src/losses';
import { Rng } from '../../src/util/rng';

// Pair/batch losses (src/losses) wired into training through config `pairLoss` (docs/losses.md).

const DATA = { trainIdentities: 8, imagesPerIdentity: 8, testIdentities: 30, testImagesPerIdentity: 4, pairsPerFold: 10, resolution: 16, channels: 1 };
/** 64 training images, batches of 4 identities x 4 images: 4 steps per epoch. */
const TINY = {
  model: { backbone: 'iresnet-nano', embeddingDim: 16 },
  head: { name: 'arcface', options: { scale: 16, margin: 0.2 } },
  training: { epochs: 1, batchSize: 16, sampler: 'identity-balanced', samplesPerIdentity: 4, evalEvery: 0 },
  optimizer: { lr: 0.01, milestones: [4] },
};

/** The training images `idx` as a batch (no flip: the configs below set training.flip false). */
function batchOf(b: FaceBenchmark, idx: Int32Array): { x: tf.Tensor4D; y: tf.Tensor1D } {
  const { height: h, width: w, channels: c } = b.train;
  const pix = h * w * c;
  const buf = new Float32Array(idx.length * pix);
  idx.forEach((i, k) => buf.set(b.train.images.subarray(i * pix, (i + 1) * pix), k * pix));
  return { x: tf.tensor4d(buf, [idx.length, h, w, c]), y: tf.tensor1d(Array.from(idx, (i) => b.train.labels[i]), 'int32') };
}

/** A step record without its wall-clock field. */
function numbersOf(r: StepRecord): Omit<StepRecord, 'imgPerSec'> {
  const { imgPerSec: _t, ...rest } = r;
  return rest;
}

/** A run result without its timing fields. */
function resultNumbers(r: RunResult): unknown {
  return { ...r, wallSeconds: 0, trainSeconds: 0, imgPerSec: 0, epochs: r.epochs.map((e) => ({ ...e, seconds: 0 })) };
}

describe('train: pair losses through config (pairLoss)', function () {
  this.timeout(600000);
  let bench: FaceBenchmark;
  /** The first identity-balanced batch of 4 identities x 4 images. */
  let idx: Int32Array;
  before(() => {
    bench = createDataset('synthfaces', DATA);
    idx = epochBatches(bench.train.labels, { batchSize: 16, sampler: 'identity-balanced', samplesPerIdentity: 4 }, new Rng('pair-loss-test'))[0];
  });

  describe('every registered loss trains one epoch (headWeight 1 and 0): finite, recorded, no leak', () => {
    it('the registry has (at least) the six losses', () => {
      for (const n of ['circle', 'contrastive', 'npair', 'ntxent', 'supcon', 'triplet']) assert.ok(listPairLosses().some((l) => l.name === n), n);
    });
    for (const { name } of listPairLosses()) {
      for (const headWeight of [1, 0]) {
        it(`${name}, headWeight ${headWeight}`, () => {
          const recs: StepRecord[] = [];
          const before = tf.memory().numTensors;
          const t = new Trainer({ ...TINY, pairLoss: { name, headWeight } }, { benchmark: bench, progress: false, onStep: (r) => recs.push(r) });
          const r = t.run();
          t.dispose();
          assert.equal(tf.memory().numTensors, before, 'tensor leak');
          assert.equal(recs.length, 4);
          for (const s of recs) {
            assert.deepEqual(Object.keys(s.terms).sort(), ['ce', 'pair'], 'the head term keeps its name; the pair term is added');
            assert.ok(Number.isFinite(s.loss) && Number.isFinite(s.terms.pair) && Number.isFinite(s.terms.ce), JSON.stringify(s.terms));
            assert.ok(Number.isFinite(s.gradNorm) && s.gradNorm > 0, `grad norm ${s.gradNorm}`);
            if (headWeight === 0) assert.equal(s.loss, s.terms.pair, 'the pair loss alone');
            else assert.ok(Math.abs(s.loss - (s.terms.ce + s.terms.pair)) <= 1e-5 * Math.max(1, Math.abs(s.loss)), `${s.loss} vs ${JSON.stringify(s.terms)}`);
          }
          assert.ok(recs.some((s) => s.terms.pair > 0), `${name} is non-zero on identity-balanced batches`);
          assert.ok(Number.isFinite(r.finalLoss) && Number.isFinite(r.final.verification.accuracy));
        });
      }
    }
  });

  describe('the step total is headWeight * CE + weight * pair, computed independently', () => {
    for (const { name } of listPairLosses()) {
      it(name, () => {
        const cfg = { ...TINY, training: { ...TINY.training, flip: false }, pairLoss: { name, weight: 0.7, headWeight: 0.4 } };
        const t = new Trainer(cfg, { benchmark: bench, progress: false });
        const { x, y } = batchOf(bench, idx);
        // The model before the step, in training mode (BN batch statistics, dropout 0), as the step sees it.
        const [ce, pair] = tf.tidy(() => {
          const e = t.model.embed(x, { training: true });
          const out = t.head.forward(e, y);
          return [out.loss.dataSync()[0], createPairLoss(name).compute(e, y).dataSync()[0]];
        });
        tf.dispose([x, y]);
        const rec = t.step(idx, 0, 0);
        t.dispose();
        const close = (a: number, b: number, what: string): void => assert.ok(Math.abs(a - b) <= 1e-5 * Math.max(1, Math.abs(b)), `${what}: trainer ${a}, independent ${b}`);
        close(rec.terms.ce, ce, 'ce');
        close(rec.terms.pair, pair, 'pair');
        close(rec.loss, 0.4 * ce + 0.7 * pair, 'total');
        assert.ok(pair > 0, `${name} pair term ${pair}`);
      });
    }

    it('with CoReFace: headWeight scales w1 and w2, the pair loss sees view 1, contrastive terms unscaled', () => {
      // Dropout 0: both views equal the single-view embedding, so the pair term can be computed independently.
      const cfg = {
        ...TINY, training: { ...TINY.training, flip: false }, coreface: { enabled: true, startEpoch: 0, scale: 16, wC2: 0.05 },
        pairLoss: { name: 'supcon', weight: 0.7, headWeight: 0.4 },
      };
      const t = new Trainer(cfg, { benchmark: bench, progress: false });
      const { x, y } = batchOf(bench, idx);
      const pair = tf.tidy(() => createPairLoss('supcon').compute(t.model.embed(x, { training: true }), y).dataSync()[0]);
      tf.dispose([x, y]);
      const rec = t.step(idx, 0, 0);
      t.dispose();
      assert.equal(rec.views, 2);
      assert.deepEqual(Object.keys(rec.terms).sort(), ['ce1', 'ce2', 'con12', 'con21', 'pair']);
      assert.ok(Math.abs(rec.terms.pair - pair) <= 1e-5 * Math.max(1, pair), `pair ${rec.terms.pair} vs ${pair}`);
      const { ce1, ce2, con12, con21 } = rec.terms;
      const want = 0.4 * (0.5 * ce1 + 0.5 * ce2) + 0.05 * con12 + 0.05 * con21 + 0.7 * pair;
      assert.ok(Math.abs(rec.loss - want) <= 1e-5 * Math.max(1, want), `total ${rec.loss} vs ${want}`);
    });
  });

  it('gradient: the trainer\'s update of neck weights matches finite differences of the total (supcon, weight 2, headWeight 0.5)', () => {
    // SGD with lr 1, no momentum, decay or clip: the update of a weight is exactly minus its gradient.
    const cfg = {
      ...TINY, training: { ...TINY.training, flip: false },
      optimizer: { lr: 1, momentum: 0, weightDecay: 0, clipNorm: 0, milestones: [4] },
      pairLoss: { name: 'supcon', weight: 2, headWeight: 0.5 },
    };
    const t = new Trainer(cfg, { benchmark: bench, progress: false });
    const store = t.model.store;
    const snap = store.snapshot();
    const fc = store.get('neck/fc');
    const w0 = Float32Array.from(fc.dataSync() as Float32Array);
    t.step(idx, 0, 0);
    const grad = Array.from(fc.dataSync() as Float32Array, (w, i) => w0[i] - w);
    store.load(snap); // back to the weights before the step (head, BN statistics included)
    const loss = createPairLoss('supcon');
    const { x, y } = batchOf(bench, idx);
    const total = (): number => tf.tidy(() => {
      const e = t.model.embed(x, { training: true });
      const { total: tot } = pairObjective(loss, t.head.forward(e, y).loss, e, y, { weight: 2, headWeight: 0.5 });
      return tot.dataSync()[0];
    });
    // The three weights with the largest gradient, and one more from the middle of the matrix.
    const order = grad.map((g, i) => [Math.abs(g), i]).sort((a, b) => b[0] - a[0]).map(([, i]) => i);
    const picks = [...order.slice(0, 3), order[Math.floor(order.length / 4)]];
    const h = 5e-3;
    for (const i of picks) {
      const at = (v: number): number => {
        const w = w0.slice();
        w[i] = v;
        fc.assign(tf.tensor(w, fc.shape));
        return total();
      };
      const fd = (at(w0[i] + h) - at(w0[i] - h)) / (2 * h);
      at(w0[i]);
      const tol = 1e-3 * Math.abs(grad[i]) + 5e-4; // observed: agreement to ~2e-4
      assert.ok(Math.abs(fd - grad[i]) <= tol, `neck/fc[${i}]: trainer gradient ${grad[i]}, finite difference ${fd}`);
    }
    assert.ok(Math.abs(grad[picks[0]]) > 0.1, `largest gradient ${grad[picks[0]]}`);
    tf.dispose([x, y]);
    t.dispose();
  });

  it('pairObjective: weights are checked, tensors owned by the caller', () => {
    const e = tf.randomNormal([6, 4], 0, 1, 'float32', 1) as tf.Tensor2D;
    const y = tf.tensor1d([0, 0, 1, 1, 2, 2], 'int32');
    const ce = tf.scalar(2);
    const before = tf.memory().numTensors;
    const out = pairObjective(createPairLoss('ntxent'), ce, e, y, { weight: 3, headWeight: 0.25 });
    assert.equal(tf.memory().numTensors, before + 2);
    const [total, pair] = [out.total.dataSync()[0], out.pair.dataSync()[0]];
    assert.ok(Math.abs(total - (0.5 + 3 * pair)) < 1e-5);
    tf.dispose([out.total, out.pair]);
    assert.throws(() => pairObjective(createPairLoss('ntxent'), ce, e, y, { weight: -1, headWeight: 1 }), /weight must be a finite non-negative number, got -1/);
    assert.throws(() => pairObjective(createPairLoss('ntxent'), ce, e, y, { weight: 1, headWeight: NaN }), /headWeight must be a finite non-negative number, got NaN/);
    assert.equal(tf.memory().numTensors, before);
    tf.dispose([e, y, ce]);
  });

  describe('config', () => {
    const configError = (input: unknown, path: string, msg: RegExp): void => {
      assert.throws(() => resolveTrainConfig(input), (e: unknown) => {
        assert.ok(e instanceof ConfigError, String(e));
        assert.equal(e.path, path);
        assert.match(e.message, msg);
        assert.ok(e.message.includes(path), `the message names the path: ${e.message}`);
        return true;
      });
    };

    it('defaults: none, weight 1, options {}, headWeight 1', () => {
      assert.deepEqual(resolveTrainConfig({}).pairLoss, { name: 'none', weight: 1, options: {}, headWeight: 1 });
      // a named loss's options are written out with its defaults (issue 15: fully resolved configs)
      const circle = { ...getPairLossEntry('circle').defaults, gamma: 64 };
      assert.deepEqual(resolveTrainConfig({ pairLoss: { name: 'circle', options: { gamma: 64 } } }).pairLoss, { name: 'circle', weight: 1, options: circle, headWeight: 1 });
    });

    it('an unknown loss name is a ConfigError listing the registered names', () => {
      for (const bad of ['supcn', 'None', '']) {
        configError({ pairLoss: { name: bad } }, 'config.pairLoss.name', new RegExp(`must be 'none' or a registered pair loss \\(${listPairLosses().map((l) => l.name).join(', ')}\\), got "${bad}"`));
      }
      configError({ pairLoss: { name: 'x'.repeat(100000) } }, 'config.pairLoss.name', /got "x{80}\.\.\."$/);
      // The Trainer resolves its config first: the same error before anything is built.
      assert.throws(() => new Trainer({ ...TINY, pairLoss: { name: 'supcn' } }, { benchmark: bench }), ConfigError);
    });

    it('negative weights, wrong types and unknown fields name the path', () => {
      configError({ pairLoss: { name: 'supcon', weight: -1 } }, 'config.pairLoss.weight', /config\.pairLoss\.weight must be >= 0, got -1/);
      configError({ pairLoss: { name: 'supcon', headWeight: -0.5 } }, 'config.pairLoss.headWeight', /must be >= 0, got -0\.5/);
      configError({ pairLoss: { name: 'supcon', weight: 'big' } }, 'config.pairLoss.weight', /must be a finite number/);
      configError({ pairLoss: { name: 'supcon', options: [] } }, 'config.pairLoss.options', /must be an object/);
      configError({ pairLoss: { nam: 'supcon' } }, 'config.pairLoss.nam', /unknown field config\.pairLoss\.nam \(allowed: name, weight, options, headWeight\)/);
    });

    it('options are validated by the loss', () => {
      configError({ pairLoss: { name: 'circle', options: { temperature: 0.1 } } }, 'config.pairLoss.options.temperature', /unknown field .* of pair loss 'circle' \(allowed: margin, gamma\)/);
      configError({ pairLoss: { name: 'circle', options: { gamma: 0 } } }, 'config.pairLoss.options.gamma', /config\.pairLoss\.options\.gamma: gamma must be a positive number, got 0/);
      configError({ pairLoss: { name: 'supcon', options: { temperature: '0.1' } } }, 'config.pairLoss.options.temperature', /temperature must be a number for pair loss 'supcon', got 0\.1/);
      configError({ pairLoss: { name: 'contrastive', options: { margin: 3 } } }, 'config.pairLoss.options.margin', /margin must be a number in \[0, 2\], got 3/);
      const long = resolveTrainConfig.bind(null, { pairLoss: { name: 'supcon', options: { temperature: 'x'.repeat(100000) } } });
      assert.throws(long, (e: unknown) => e instanceof ConfigError && e.message.length < 300);
    });

    it("'none' ignores the other fields: same hash as no section at all (hashes of earlier runs are kept)", () => {
      const plain = resolveTrainConfig({ seed: 5 });
      const { pairLoss: _p, ...withoutSection } = plain;
      const h = configHash(plain);
      assert.equal(configHash(withoutSection as TrainConfig), h, 'a config from before the section hashes the same');
      assert.equal(configHash(resolveTrainConfig({ seed: 5, pairLoss: { name: 'none', weight: 3, headWeight: 0, options: { x: 1 } } })), h);
      assert.notEqual(configHash(resolveTrainConfig({ seed: 5, pairLoss: { name: 'supcon' } })), h);
      assert.notEqual(configHash(resolveTrainConfig({ seed: 5, pairLoss: { name: 'supcon', weight: 0.5 } })), configHash(resolveTrainConfig({ seed: 5, pairLoss: { name: 'supcon' } })));
    });
  });

  it('default unchanged: a run without the section and one with {name: "none"} give identical numbers', () => {
    const run = (extra: object): { steps: unknown[]; result: unknown } => {
      const steps: unknown[] = [];
      const t = new Trainer({ ...TINY, training: { ...TINY.training, epochs: 2 }, dropout: { before: 0.3 }, seed: 7, ...extra }, { benchmark: bench, progress: false, onStep: (r) => steps.push(numbersOf(r)) });
      assert.equal(t.pairLoss, null);
      const result = resultNumbers(t.run());
      t.dispose();
      return { steps, result };
    };
    const a = run({});
    const b = run({ pairLoss: { name: 'none' } });
    const c = run({ pairLoss: { name: 'none', weight: 5, headWeight: 0 } }); // ignored without a loss
    assert.deepEqual(b, a);
    // c differs only in the config it echoes (its ignored fields); the hash and every number are the same.
    const withoutConfig = (r: { steps: unknown[]; result: unknown }): unknown => ({ ...r, result: { ...(r.result as object), config: null } });
    assert.deepEqual(withoutConfig(c), withoutConfig(a));
    for (const s of a.steps as StepRecord[]) assert.deepEqual(Object.keys(s.terms), ['ce']);
  });

  it('warns once on stderr when a batch has no positive pair, and trains on', () => {
    // samplesPerIdentity 1: 8 identities, one image each per batch; the sampler can never give a positive pair.
    const cfg = { ...TINY, training: { ...TINY.training, batchSize: 8, samplesPerIdentity: 1 }, pairLoss: { name: 'supcon' } };
    const lines: string[] = [];
    const write = process.stderr.write.bind(process.stderr);
    process.stderr.write = ((chunk: string | Uint8Array) => { lines.push(String(chunk)); return true; }) as typeof process.stderr.write;
    let recs: StepRecord[] = [];
    try {
      recs = [];
      const t = new Trainer(cfg, { benchmark: bench, progress: false, onStep: (r) => recs.push(r) });
      t.run();
      t.dispose();
    } finally {
      process.stderr.write = write;
    }
    const warnings = lines.filter((l) => l.includes('no positive pair'));
    assert.equal(warnings.length, 1, lines.join(''));
    assert.match(warnings[0], /pairLoss 'supcon': batch 0 of epoch 0 has no two images of one identity .*samplesPerIdentity 1.*Use training\.sampler 'identity-balanced' with samplesPerIdentity >= 2/);
    assert.equal(recs.length, 8);
    assert.ok(recs.every((r) => r.terms.pair === 0 && Number.isFinite(r.loss)));
  });
});
