import { strict as assert } from 'assert';
import { Rng } from '../src/util/rng';

describe('Rng', () => {
  it('is deterministic from its seed and differs across seeds', () => {
    const a = new Rng(7), b = new Rng(7), c = new Rng(8);
    const sa = Array.from({ length: 5 }, () => a.uint32());
    const sb = Array.from({ length: 5 }, () => b.uint32());
    const sc = Array.from({ length: 5 }, () => c.uint32());
    assert.deepEqual(sa, sb);
    assert.notDeepEqual(sa, sc);
  });
  it('restores its state exactly', () => {
    const a = new Rng(1);
    a.next();
    const st = a.getState();
    const x = [a.next(), a.next()];
    a.setState(st);
    assert.deepEqual([a.next(), a.next()], x);
  });
  it('has roughly uniform mean and normal moments', () => {
    const r = new Rng(3);
    let s = 0, s2 = 0;
    const n = 20000;
    for (let i = 0; i < n; i++) { const z = r.normal(); s += z; s2 += z * z; }
    assert.ok(Math.abs(s / n) < 0.03);
    assert.ok(Math.abs(s2 / n - 1) < 0.05);
    let u = 0;
    for (let i = 0; i < n; i++) u += r.next();
    assert.ok(Math.abs(u / n - 0.5) < 0.01);
  });
  it('rejects bad int ranges', () => {
    assert.throws(() => new Rng(0).int(0), /positive integer, got 0/);
  });
});
