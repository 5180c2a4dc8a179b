/**
 * Balancers and passive health, as tables: shares, tie-breaking, consistency of the source hash,
 * the connect-time average and what least-response-time makes of it, the power of two choices
 * with a seeded random source, and the ejection backoff.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fmix32, unitInterval } from '../policy/hash.js';
import { connectCost, observeConnect, poolFloor } from './connect-time.js';
import { OutlierDetector } from './passive.js';
import { createBalancer, type Pickable } from './pick.js';

const b = (key: string, weight = 1, active = 0): Pickable => ({ key, weight, active });
/** A backend with a connect-time average of `ms`, last fed at `at`. */
const timed = (key: string, ms: number, active = 0, weight = 1, at = 0): Pickable => ({ key, weight, active, connectMs: ms, connectAt: at });

/** A seeded uniform source in (0, 1): the same sequence on every run. */
function seeded(seed: number): () => number {
  let s = seed >>> 0;
  return () => unitInterval(fmix32((s = (s + 0x9e3779b9) >>> 0)));
}

function counts(keys: string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const k of keys) out[k] = (out[k] ?? 0) + 1;
  return out;
}

describe('balancers', () => {
  it('round-robin takes each backend in turn', () => {
    const rr = createBalancer('round-robin');
    const pool = [b('a'), b('b'), b('c')];
    assert.deepEqual(
      Array.from({ length: 6 }, () => rr.pick(pool, 'x')!.key),
      ['a', 'b', 'c', 'a', 'b', 'c'],
    );
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
    assert.deepEqual(
      pool.map((p) => p.active),
      [300, 100],
    );
  });

  it('source-hash: a client keeps its backend; removing one backend moves only its clients', () => {
    const sh = createBalancer('source-hash');
    const pool = [b('a'), b('b'), b('c'), b('d')];
    const clients = Array.from({ length: 2_000 }, (_, i) => `10.0.${i >> 8}.${i & 255}`);
    const before = clients.map((c) => sh.pick(pool, c)!.key);
    assert.deepEqual(
      clients.map((c) => sh.pick(pool, c)!.key),
      before,
      'stable',
    );
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

describe('connect-time average (least-response-time)', () => {
  const TAU = 1_000;
  it('the first sample is the average; later ones weigh 1 - e^(-Δt/τ)', () => {
    const r = { connectMs: Number.NaN, connectAt: 0 };
    observeConnect(r, 10, 5_000, TAU);
    assert.deepEqual(r, { connectMs: 10, connectAt: 5_000 });
    observeConnect(r, 20, 6_000, TAU); // Δt = τ: 10·e^-1 + 20·(1 - e^-1)
    assert.ok(Math.abs(r.connectMs - (10 * Math.exp(-1) + 20 * (1 - Math.exp(-1)))) < 1e-9, String(r.connectMs));
    const before = r.connectMs;
    observeConnect(r, 500, 6_000, TAU); // Δt = 0 moves nothing
    assert.equal(r.connectMs, before);
    observeConnect(r, 500, 6_000 + 20 * TAU, TAU); // long silence: the new sample is nearly all of it
    assert.ok(r.connectMs > 499.99, String(r.connectMs));
  });

  it('cost: unmeasured = the pool best; idle averages relax toward it with τ', () => {
    const pool = [timed('a', 1), timed('b', 101), b('c')];
    assert.equal(poolFloor(pool), 1);
    assert.equal(poolFloor([b('x'), b('y')]), 1, 'nothing measured');
    assert.equal(connectCost(pool[2]!, 1, 0, TAU), 1, 'unmeasured');
    assert.equal(connectCost(pool[0]!, 1, 50_000, TAU), 1, 'the best does not relax below itself');
    assert.equal(connectCost(pool[1]!, 1, 0, TAU), 101);
    assert.ok(Math.abs(connectCost(pool[1]!, 1, TAU, TAU) - (1 + 100 * Math.exp(-1))) < 1e-9);
    assert.ok(connectCost(pool[1]!, 1, 5 * TAU, TAU) < 1.7);
  });
});

describe('least-response-time', () => {
  let t = 0;
  const lrt = (): ReturnType<typeof createBalancer> => createBalancer('least-response-time', { now: () => t, decayMs: () => 1_000 });

  it('ranks by connect time × (active + 1) / weight', () => {
    t = 0;
    const bal = lrt();
    const cases: [Pickable[], string][] = [
      [[timed('a', 1), timed('b', 10)], 'a'], // equal load: the faster
      [[timed('a', 1, 12), timed('b', 10, 0)], 'b'], // 1·13 > 10·1
      [[timed('a', 1, 8), timed('b', 10, 0)], 'a'], // 1·9 < 10·1
      [[timed('a', 3, 2, 3), timed('b', 1, 3, 1)], 'a'], // 3·3/3 = 3 < 1·4/1 = 4
      [[timed('a', 2, 0, 1), timed('b', 2, 0, 4)], 'b'], // weights alone: 2/4 < 2/1
      [[timed('a', 1, 1), b('fresh')], 'fresh'], // unmeasured costs the best: 1·1 < 1·2
    ];
    for (const [pool, want] of cases) assert.equal(bal.pick(pool, 'x')!.key, want, JSON.stringify(pool));
    assert.equal(bal.pick([], 'x'), null);
  });

  it('without any measurement it is weighted-least-connections, ties in turn', () => {
    t = 0;
    const bal = lrt();
    const pool = [b('big', 3), b('small', 1)];
    for (let i = 0; i < 400; i++) bal.pick(pool, 'x')!.active++;
    assert.deepEqual(
      pool.map((p) => p.active),
      [300, 100],
    );
    const tie = [timed('a', 2), timed('b', 2), timed('c', 2)];
    assert.deepEqual(new Set(Array.from({ length: 3 }, () => bal.pick(tie, 'x')!.key)), new Set(['a', 'b', 'c']));
  });

  it('a backend that was slow is tried again after a few τ without samples', () => {
    const bal = lrt();
    const fast = timed('fast', 1, 3, 1, 0);
    const slow = timed('slow', 100, 0, 1, 0);
    t = 0;
    assert.equal(bal.pick([fast, slow], 'x')!.key, 'fast', '1·4 < 100·1');
    t = 5_000; // 5τ later; the fast one kept being fed
    fast.connectAt = t;
    assert.equal(bal.pick([fast, slow], 'x')!.key, 'slow', '1 + 99·e^-5 ≈ 1.67 < 4');
  });

  it('fed by simulated connects, the slow backend gets the smaller share', () => {
    // Two backends connecting in 1 ms and 20 ms; a connection arrives every 2 ms, is counted
    // active from its pick until 50 ms after its connect, and its connect time feeds the average.
    t = 0;
    const bal = lrt();
    const pool = [
      { ...timed('fast', Number.NaN), delay: 1 },
      { ...timed('slow', Number.NaN), delay: 20 },
    ];
    const ends: { at: number; b: (typeof pool)[number] }[] = [];
    const connects: { at: number; b: (typeof pool)[number]; delay: number }[] = [];
    const count = { fast: 0, slow: 0 };
    for (t = 0; t < 4_000; t += 2) {
      for (const c of connects.filter((c) => c.at <= t)) observeConnect(c.b as { connectMs: number; connectAt: number }, c.delay, c.at, 1_000);
      connects.splice(0, connects.length, ...connects.filter((c) => c.at > t));
      for (const e of ends.filter((e) => e.at <= t)) e.b.active--;
      ends.splice(0, ends.length, ...ends.filter((e) => e.at > t));
      const p = bal.pick(pool, 'x') as (typeof pool)[number];
      p.active++;
      count[p.key as 'fast' | 'slow']++;
      connects.push({ at: t + p.delay, b: p, delay: p.delay });
      ends.push({ at: t + p.delay + 50, b: p });
    }
    assert.ok(count.slow > 0 && count.slow * 3 < count.fast, JSON.stringify(count));
  });
});

describe('random-two-choices (seeded)', () => {
  it('of two different backends drawn, takes the less loaded; one backend or none', () => {
    const p2c = createBalancer('random-two-choices', { random: seeded(1) });
    for (let i = 0; i < 200; i++) assert.equal(p2c.pick([b('a', 1, 5), b('b', 1, 0)], 'x')!.key, 'b');
    assert.equal(p2c.pick([b('only', 1, 9)], 'x')!.key, 'only');
    assert.equal(p2c.pick([], 'x'), null);
  });

  it('the least loaded of three wins whenever drawn: 2/3 of the picks', () => {
    const p2c = createBalancer('random-two-choices', { random: seeded(7) });
    const pool = [b('idle', 1, 0), b('busy1', 1, 10), b('busy2', 1, 10)];
    const shares = counts(Array.from({ length: 6_000 }, () => p2c.pick(pool, 'x')!.key));
    assert.ok(shares.idle! > 3_800 && shares.idle! < 4_200, JSON.stringify(shares));
    assert.ok(shares.busy1! > 800 && shares.busy2! > 800, JSON.stringify(shares));
  });

  it('equal load: the first draw decides, uniformly', () => {
    const p2c = createBalancer('random-two-choices', { random: seeded(3) });
    const pool = [b('a'), b('b'), b('c')];
    const shares = counts(Array.from({ length: 3_000 }, () => p2c.pick(pool, 'x')!.key));
    for (const k of ['a', 'b', 'c']) assert.ok(shares[k]! > 900 && shares[k]! < 1_100, JSON.stringify(shares));
  });

  it('follows weights: draws in proportion and compares load per weight', () => {
    const p2c = createBalancer('random-two-choices', { random: seeded(11) });
    const pool = [b('big', 3), b('small', 1)];
    for (let i = 0; i < 400; i++) p2c.pick(pool, 'x')!.active++;
    assert.ok(pool[0]!.active >= 290 && pool[0]!.active <= 310, `big ${pool[0]!.active} of 400`);
    const draws = [b('w3', 3), b('w1a', 1), b('w1b', 1)];
    // Equal load per weight is a tie, so the first draw decides: w3 in 3/5 of the picks.
    for (const d of draws) d.active = d.weight * 10 - 1;
    const tie = createBalancer('random-two-choices', { random: seeded(13) });
    const shares = counts(Array.from({ length: 5_000 }, () => tie.pick(draws, 'x')!.key));
    assert.ok(shares.w3! > 2_800 && shares.w3! < 3_200, JSON.stringify(shares));
  });

  it('the same seed gives the same picks', () => {
    const pool = [b('a'), b('b'), b('c'), b('d')];
    const run = (): string[] => {
      const p2c = createBalancer('random-two-choices', { random: seeded(42) });
      return Array.from({ length: 50 }, () => p2c.pick(pool, 'x')!.key);
    };
    assert.deepEqual(run(), run());
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
