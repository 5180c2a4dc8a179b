/**
 * weighted and sticky: table cases plus the properties over 100,000 distinct subnets:
 * shares within ±1 % of the weight shares, and (sticky) a weight change moves only the minimum.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Client } from './types.js';
import { sticky } from './sticky.js';
import { weighted } from './weighted.js';
import { ctx, health, ids, region, state } from './testkit.js';

const SUBNETS = 100_000;
const v4 = (i: number): Client => ({ family: 4, bytes: new Uint8Array([10 + (i >>> 16), (i >>> 8) & 255, i & 255, 0]), knownBits: 24, source: 'ecs', text: `subnet ${i}` });

function shares(policy: typeof weighted, weights: number[]): { counts: number[]; winners: string[] } {
  const regions = weights.map((w, i) => region(`r${i}`, { weight: w }));
  const step = policy.build(
    policy.parseConfig(
      {},
      regions.map((r) => r.id),
    ),
  );
  const s0 = state(
    regions,
    regions.map(() => 0),
  );
  const counts = weights.map(() => 0);
  const winners: string[] = [];
  for (let i = 0; i < SUBNETS; i++) {
    const out = step(s0, ctx({ client: v4(i), trace: null }));
    const w = out.candidates[0]!.region.id;
    winners.push(w);
    counts[Number(w.slice(1))]!++;
  }
  return { counts, winners };
}

for (const policy of [weighted, sticky]) {
  for (const weights of [
    [100, 100, 50],
    [1, 1, 1, 1],
    [70, 20, 10],
    [1000, 1],
  ]) {
    test(`${policy.name}: shares over ${SUBNETS} subnets within ±1% of weights ${weights.join('/')}`, () => {
      const { counts } = shares(policy, weights);
      const total = weights.reduce((a, b) => a + b, 0);
      counts.forEach((n, i) => {
        const got = n / SUBNETS;
        const want = weights[i]! / total;
        assert.ok(Math.abs(got - want) <= 0.01, `region ${i}: ${(got * 100).toFixed(2)}% vs ${(want * 100).toFixed(2)}%`);
      });
    });
  }

  test(`${policy.name}: a subnet keeps its region while weights stay the same`, () => {
    const a = shares(policy, [100, 100, 50]).winners;
    const b = shares(policy, [100, 100, 50]).winners;
    assert.deepEqual(a, b);
  });

  test(`${policy.name}: weight 0 is standby, used only when no weighted region is left`, () => {
    const standby = region('standby', { weight: 0 });
    const main = region('main', { weight: 10 });
    const step = policy.build(policy.parseConfig({}, ['main', 'standby']));
    for (let i = 0; i < 200; i++) assert.equal(step(state([standby, main], [0, 0]), ctx({ client: v4(i) })).candidates[0]!.region.id, 'main');
    // The health step removed `main`: only standby candidates remain, and they share equally.
    const s2 = region('standby2', { weight: 0 });
    const counts = { standby: 0, standby2: 0 } as Record<string, number>;
    for (let i = 0; i < 2000; i++) counts[step(state([standby, s2], [0, 0]), ctx({ client: v4(i) })).candidates[0]!.region.id]!++;
    assert.ok(counts.standby! > 800 && counts.standby2! > 800, JSON.stringify(counts));
  });

  test(`${policy.name}: the second place is drawn by weight among the regions left (a weighted shuffle)`, () => {
    const regions = [region('r0', { weight: 100 }), region('r1', { weight: 100 }), region('r2', { weight: 50 })];
    const step = policy.build(policy.parseConfig({}, ['r0', 'r1', 'r2']));
    const second = [0, 0, 0];
    for (let i = 0; i < SUBNETS; i++) second[Number(step(state(regions), ctx({ client: v4(i), trace: null })).candidates[1]!.region.id.slice(1))]!++;
    // P(r0 second) = P(r1 first)·100/150 + P(r2 first)·100/200; r2: 2·P(r0 first)·50/150.
    const want = [0.4 * (2 / 3) + 0.1, 0.4 * (2 / 3) + 0.1, (0.8 * 1) / 3];
    second.forEach((n, i) => assert.ok(Math.abs(n / SUBNETS - want[i]!) <= 0.01, `r${i} second: ${((n / SUBNETS) * 100).toFixed(2)}% vs ${(want[i]! * 100).toFixed(2)}%`));
  });

  test(`${policy.name}: only the best tier competes; other tiers follow unchanged`, () => {
    const [a, b, c] = [region('a'), region('b'), region('c')];
    const step = policy.build(policy.parseConfig({}, ['a', 'b', 'c']));
    const out = step(state([a, b, c], [1, 0, 2]), ctx());
    assert.deepEqual(ids(out), ['b', 'a', 'c']);
    assert.equal(out.scope, 0, 'one competitor: the hash decided nothing, the scope stays');
  });

  test(`${policy.name}: several competitors narrow the scope to the subnet prefix`, () => {
    const step = policy.build(policy.parseConfig({ prefix4: 22, prefix6: 48 }, ['a', 'b']));
    const two = state([region('a'), region('b')], [0, 0]);
    assert.equal(step(two, ctx({ ip: '198.51.100.7' })).scope, 22);
    assert.equal(step(two, ctx({ ip: '2001:db8::1', qfamily: 6 })).scope, 48);
  });

  test(`${policy.name}: config bounds`, () => {
    assert.deepEqual(policy.parseConfig({}, []), { prefix4: 24, prefix6: 56 });
    assert.throws(() => policy.parseConfig({ prefix4: 33 }, []), /prefix4 must be an integer from 0 to 32/);
    assert.throws(() => policy.parseConfig({ seed: 1 }, []), /unknown key "seed"/);
  });
}

test('sticky: a weight change moves only the minimum share of subnets (rendezvous property)', () => {
  const before = shares(sticky, [100, 100, 50]).winners;
  const after = shares(sticky, [200, 100, 50]).winners;
  let moved = 0;
  for (let i = 0; i < SUBNETS; i++) {
    if (before[i] !== after[i]) {
      moved++;
      assert.equal(after[i], 'r0', 'a subnet may only move to the region whose weight grew');
    }
  }
  // Minimum movement = total variation distance between the two share vectors: r0 goes 0.4 -> 0.571.
  const minimum = 200 / 350 - 100 / 250;
  assert.ok(Math.abs(moved / SUBNETS - minimum) <= 0.01, `moved ${((moved / SUBNETS) * 100).toFixed(2)}%, minimum ${(minimum * 100).toFixed(2)}%`);
});

test('weighted (cumulative buckets) moves more than the minimum on the same change: why sticky exists', () => {
  const before = shares(weighted, [100, 100, 50]).winners;
  const after = shares(weighted, [200, 100, 50]).winners;
  const moved = before.filter((w, i) => w !== after[i]).length / SUBNETS;
  // Boundaries 0.4/0.8 become 0.571/0.857: r1's [0.4, 0.571) and r2's [0.8, 0.857) both move (22.9 %).
  assert.ok(moved > 200 / 350 - 100 / 250 + 0.04, `moved ${(moved * 100).toFixed(2)}%`);
});

test('health is not the balance step’s business: it orders what it is given', () => {
  const step = sticky.build(sticky.parseConfig({}, ['a', 'b']));
  const out = step(state([region('a'), region('b')], [0, 0]), ctx({ health: health({ a: 'down' }) }));
  assert.equal(out.candidates.length, 2);
});
