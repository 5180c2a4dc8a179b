/**
 * Balancers and passive health, as tables: shares, tie-breaking, consistency of the source hash,
 * and the ejection backoff.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { OutlierDetector } from './passive.js';
import { createBalancer, type Pickable } from './pick.js';

const b = (key: string, weight = 1, active = 0): Pickable => ({ key, weight, active });

function counts(keys: string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const k of keys) out[k] = (out[k] ?? 0) + 1;
  return out;
}

describe('balancers', () => {
  it('round-robin takes each backend in turn', () => {
    const rr = createBalancer('round-robin');
    const pool = [b('a'), b('b'), b('c')];
    assert.deepEqual(Array.from({ length: 6 }, () => rr.pick(pool, 'x')!.key), ['a', 'b', 'c', 'a', 'b', 'c']);
    assert.equal(rr.pick([], 'x'), null);
  });

  it('weighted-round-robin follows the weights and spreads a heavy backend (smooth)', () => {
    const wrr = createBalancer('weighted-round-robin');
    const pool = [b('a', 5), b('b', 1), b('c', 1)];
    const seq = Array.from({ length: 7 }, () => wrr.pick(pool, 'x')!.key);
    // nginx's documented sequence for weights 5,1,1.
    assert.deepEqual(seq, ['a', 'a', 'b', 'a', 'c', 'a', 'a']);
    assert.deepEqual(counts(Array.from({ length: 700 }, () => wrr.pick(pool, 'x')!.key)), { a: 500, b: 100, c: 100 });
  });

  it('least-connections picks the fewest active, ties in turn', () => {
    const lc = createBalancer('least-connections');
    assert.equal(lc.pick([b('a', 1, 3), b('b', 1, 1), b('c', 1, 2)], 'x')!.key, 'b');
    const tie = [b('a'), b('b'), b('c')];
    assert.deepEqual(new Set(Array.from({ length: 3 }, () => lc.pick(tie, 'x')!.key)), new Set(['a', 'b', 'c']));
  });

  it('weighted-least-connections: (active + 1) / weight', () => {
    const wlc = createBalancer('weighted-least-connections');
    // a: 4/2 = 2, b: 2/1 = 2, c: 3/3 = 1 -> c
    assert.equal(wlc.pick([b('a', 2, 3), b('b', 1, 1), b('c', 3, 2)], 'x')!.key, 'c');
    // Filling an empty pool with weights 3:1 by simulated connections gives 3:1.
    const pool = [b('big', 3), b('small', 1)];
    for (let i = 0; i < 400; i++) wlc.pick(pool, 'x')!.active++;
    assert.deepEqual(pool.map((p) => p.active), [300, 100]);
  });

  it('source-hash: a client keeps its backend; removing one backend moves only its clients', () => {
    const sh = createBalancer('source-hash');
    const pool = [b('a'), b('b'), b('c'), b('d')];
    const clients = Array.from({ length: 2_000 }, (_, i) => `10.0.${i >> 8}.${i & 255}`);
    const before = clients.map((c) => sh.pick(pool, c)!.key);
    assert.deepEqual(clients.map((c) => sh.pick(pool, c)!.key), before, 'stable');
    const shares = counts(before);
    for (const k of ['a', 'b', 'c', 'd']) assert.ok(shares[k]! > 400 && shares[k]! < 600, JSON.stringify(shares));
    const without = pool.filter((p) => p.key !== 'c');
    clients.forEach((c, i) => {
      const now = sh.pick(without, c)!.key;
      if (before[i] !== 'c') assert.equal(now, before[i], `client ${c} moved without need`);
    });
  });

  it('source-hash follows weights', () => {
    const sh = createBalancer('source-hash');
    const pool = [b('a', 3), b('b', 1)];
    const shares = counts(Array.from({ length: 4_000 }, (_, i) => sh.pick(pool, `192.0.${i >> 8}.${i & 255}`)!.key));
    assert.ok(shares.a! > 2_800 && shares.a! < 3_200, JSON.stringify(shares));
  });
});

describe('OutlierDetector', () => {
  it('ejects on a failure, doubles the period on repeat, caps it, and forgets on success', () => {
    let t = 0;
    const o = new OutlierDetector({ consecutiveFailures: 1, baseEjectionMs: 100, maxEjectionMs: 350 }, () => t);
    assert.equal(o.onFailure('a'), 100);
    assert.equal(o.isEjected('a'), true);
    t = 100;
    assert.equal(o.isEjected('a'), false, 'ejection ends on time');
    assert.equal(o.onFailure('a'), 200, 'failed again after its return: twice as long');
    t = 300;
    assert.equal(o.onFailure('a'), 350, 'capped');
    assert.deepEqual(o.ejected(), ['a']);
    t = 700;
    o.onSuccess('a');
    assert.equal(o.onFailure('a'), 100, 'a success resets the backoff');
  });

  it('with consecutiveFailures 3, ejects on the third failure in a row only', () => {
    const o = new OutlierDetector({ consecutiveFailures: 3, baseEjectionMs: 100, maxEjectionMs: 1_000 }, () => 0);
    assert.equal(o.onFailure('a'), null);
    o.onSuccess('a');
    assert.equal(o.onFailure('a'), null);
    assert.equal(o.onFailure('a'), null);
    assert.equal(o.onFailure('a'), 100);
    assert.equal(o.isEjected('b'), false);
  });
});
