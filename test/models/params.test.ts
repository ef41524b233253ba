import { strict as assert } from 'assert';
import * as tf from '@tensorflow/tfjs';
import { fans, initValues, ParamStore } from '../../src/models/params';
import { Rng } from '../../src/util/rng';
import { values } from './helpers';

function moments(a: Float32Array): { mean: number; std: number; maxAbs: number } {
  let s = 0;
  let s2 = 0;
  let m = 0;
  for (const v of a) {
    s += v;
    s2 += v * v;
    m = Math.max(m, Math.abs(v));
  }
  const mean = s / a.length;
  return { mean, std: Math.sqrt(s2 / a.length - mean * mean), maxAbs: m };
}

describe('models/params: ParamStore', () => {
  it('computes fans for conv and dense layouts', () => {
    assert.deepEqual(fans([3, 3, 16, 32]), { fanIn: 144, fanOut: 288 });
    assert.deepEqual(fans([100, 10]), { fanIn: 100, fanOut: 10 });
    assert.deepEqual(fans([7]), { fanIn: 7, fanOut: 7 });
  });

  it('initialises he / glorot / normal / constants with the documented statistics', () => {
    const r = new Rng(1);
    const he = moments(initValues([3, 3, 64, 64], 'he', r));
    assert.ok(Math.abs(he.std - Math.sqrt(2 / 576)) / Math.sqrt(2 / 576) < 0.03, `he std ${he.std}`);
    assert.ok(Math.abs(he.mean) < 0.003);
    const gl = moments(initValues([200, 100], 'glorot', r));
    const limit = Math.sqrt(6 / 300);
    assert.ok(gl.maxAbs <= limit && gl.maxAbs > 0.95 * limit);
    assert.ok(Math.abs(gl.std - limit / Math.sqrt(3)) / limit < 0.03);
    const nm = moments(initValues([100, 100], 'normal', r));
    assert.ok(Math.abs(nm.std - 0.01) < 0.0005);
    assert.ok(initValues([5], 'zeros', r).every((v) => v === 0));
    assert.ok(initValues([5], 'ones', r).every((v) => v === 1));
  });

  it('is deterministic per seed and name, independent of creation order', () => {
    const a = new ParamStore({ seed: 3 });
    const b = new ParamStore({ seed: 3 });
    const c = new ParamStore({ seed: 4 });
    const a1 = a.variable('x', [4, 5], 'he');
    a.variable('y', [2], 'he');
    b.variable('y', [2], 'he');
    const b1 = b.variable('x', [4, 5], 'he');
    const c1 = c.variable('x', [4, 5], 'he');
    assert.deepEqual(values(a1), values(b1));
    assert.notDeepEqual(values(a1), values(c1));
    // an explicit rng is used as is
    const d = new ParamStore();
    assert.deepEqual(values(d.variable('z', [3], 'he', new Rng(9))), initValues([3], 'he', new Rng(9)));
    for (const s of [a, b, c, d]) s.dispose();
  });

  it('keeps trainable variables and non-trainable state apart', () => {
    const s = new ParamStore();
    const w = s.variable('layer/w', [2, 3], 'glorot');
    const m = s.state('layer/running_mean', [3], 0);
    const v = s.state('layer/running_var', [3], [1, 2, 3]);
    assert.equal(w.trainable, true);
    assert.equal(m.trainable, false);
    assert.deepEqual([...s.trainable().keys()], ['layer/w']);
    assert.deepEqual([...s.stateVars().keys()], ['layer/running_mean', 'layer/running_var']);
    assert.deepEqual(values(v), new Float32Array([1, 2, 3]));
    assert.equal(s.numParams(), 6);
    assert.equal(s.numParams(true), 12);
    assert.equal(s.get('layer/w'), w);
    assert.throws(() => s.get('nope'), /unknown variable 'nope'/);
    s.dispose();
  });

  it('rejects duplicate names (trainable or state) and bad shapes', () => {
    const s = new ParamStore();
    s.variable('a', [2], 'zeros');
    assert.throws(() => s.variable('a', [2], 'zeros'), /duplicate variable name 'a'/);
    assert.throws(() => s.state('a', [2], 0), /duplicate variable name 'a'/);
    assert.throws(() => s.variable('b', [2, 0], 'zeros'), /shape of 'b' must be an array of positive integers/);
    assert.throws(() => s.state('c', [2], [1, 2, 3]), /initValue has 3 values, shape \[2\] needs 2/);
    s.dispose();
  });

  it('snapshot / load round trip, with clear errors and no partial load', () => {
    const a = new ParamStore({ seed: 1 });
    a.variable('w', [3, 2], 'he');
    a.state('s', [2], 5);
    const snap = a.snapshot();
    assert.deepEqual(snap.map((e) => [e.name, e.trainable, e.shape]), [['w', true, [3, 2]], ['s', false, [2]]]);
    const b = new ParamStore({ seed: 2 });
    b.variable('w', [3, 2], 'he');
    b.state('s', [2], 0);
    // JSON-style data (number[]) is accepted too
    b.load(snap.map((e) => ({ ...e, data: Array.from(e.data) })));
    assert.deepEqual(values(b.get('w')), values(a.get('w')));
    assert.deepEqual(values(b.get('s')), new Float32Array([5, 5]));

    const c = new ParamStore();
    const cw = c.variable('w', [2, 3], 'zeros');
    c.state('s', [2], 0);
    assert.throws(() => c.load(snap), /shape mismatch for variable 'w': snapshot \[3,2\], model \[2,3\]/);
    assert.ok(values(cw).every((v) => v === 0));
    assert.throws(() => b.load(snap.slice(0, 1)), /snapshot is missing 1 variable\(s\): s/);
    assert.throws(() => b.load([...snap, { name: 'extra', shape: [1], trainable: true, data: [0] }]), /'extra' does not exist/);
    assert.throws(() => b.load([{ ...snap[0], trainable: false }, snap[1]]), /'w' is trainable here but state in the snapshot/);
    b.load(snap.slice(0, 1), { strict: false });
    for (const s of [a, b, c]) s.dispose();
  });

  it('dispose frees every variable', () => {
    const before = tf.memory().numTensors;
    const s = new ParamStore();
    s.variable('a', [10], 'he');
    s.state('b', [3], 1);
    assert.equal(tf.memory().numTensors, before + 2);
    s.dispose();
    assert.equal(tf.memory().numTensors, before);
    assert.throws(() => s.variable('c', [1], 'he'), /disposed/);
  });
});
