/**
 * HealthState (incremental) against aggregate() (from scratch): after every event of a random
 * run (flips from several vantages, overrides, drains, load reports, vantages expiring, config
 * changes), both give the same verdicts, votes, region states, addresses and weights, and the
 * regions reported as changed are exactly those whose answers changed.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { aggregate, type HealthView, type RegionInput } from './aggregate.js';
import { LOAD_DEFAULTS } from './load.js';
import { endpointScope, regionScope } from './overrides.js';
import { HealthState, type RegionAnswer } from './state.js';
import type { RegionState } from './snapshot.js';
import type { LoadReport, Override, OverrideScope, VantageView } from './types.js';

const SETTINGS = { quorum: 0.5, regionUpFraction: 0.5, coldStart: 'up' as const, load: LOAD_DEFAULTS };
const TTL = 10_000;

/** Deterministic PRNG (mulberry32), so a failure replays. */
function rng(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function regionsOf(n: number, perRegion: number, downAddress = false): RegionInput[] {
  return Array.from({ length: n }, (_, i) => {
    const endpoints = Array.from({ length: perRegion }, (_, j) => `r${i}/e${j}`);
    return {
      id: `r${i}`,
      endpoints,
      addressEndpoints: { [`r${i}/e0`]: `10.0.${i}.1` },
      ...(downAddress && i === 1 ? { downAddresses: ['10.0.1.2'] } : {}),
      ...(i === 2 ? { state: 'drained' as RegionState } : {}),
    };
  });
}

function same(a: HealthView, b: HealthView, regions: RegionInput[]): void {
  assert.deepEqual([...a.endpoints()], [...b.endpoints()]);
  assert.deepEqual([...a.regions()], [...b.regions()]);
  for (const r of regions) {
    for (const addr of [`10.0.${r.id.slice(1)}.1`, `10.0.${r.id.slice(1)}.2`]) assert.equal(a.addressUp(r.id, addr), b.addressUp(r.id, addr), `${r.id} ${addr}`);
    assert.equal(a.effectiveWeight(r.id, 100), b.effectiveWeight(r.id, 100));
  }
  assert.equal(a.liveVantages, b.liveVantages);
}

const answerKey = (a: RegionAnswer | undefined): string => JSON.stringify(a && [a.state, [...a.downAddresses].sort(), a.factor]);

describe('HealthState: the same as aggregate() after every event', () => {
  for (const seed of [1, 2, 3, 4, 5]) {
    it(`random run, seed ${seed}`, () => {
      const rand = rng(seed);
      const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
      let regions = regionsOf(4, 4);
      let now = 1_000_000;
      const views = new Map<string, VantageView>(['v1', 'v2', 'v3'].map((v) => [v, { vantage: v, region: null, heartbeatAt: now, endpoints: new Map() }]));
      let overrides: Override[] = [];
      let loads: LoadReport[] = [];
      const state = new HealthState(regions, SETTINGS);
      const full = () => ({ views: [...views.values()], overrides, loads, now, heartbeatTtlMs: TTL });
      state.recomputeAll(full());
      for (let step = 0; step < 300; step++) {
        const before = new Map(regions.map((r) => [r.id, answerKey(state.answerOf(r.id))]));
        const op = rand();
        let reported: ReadonlySet<string>;
        if (op < 0.6) {
          // A flip: applied to the cached view, then the endpoint alone is re-evaluated.
          const view = views.get(pick(['v1', 'v2', 'v3']))!;
          const key = pick(pick(regions).endpoints);
          view.endpoints.set(key, { status: rand() < 0.5 ? 'down' : 'up', since: now, checkedAt: now, rttMs: 1, error: null });
          reported = state.recomputeEndpoint(key)?.regions ?? new Set();
        } else if (op < 0.75) {
          const r = pick(regions);
          const scope: OverrideScope = rand() < 0.5 ? regionScope(r.id) : endpointScope(pick(r.endpoints));
          overrides = [
            ...overrides.filter((o) => o.scope !== scope),
            ...(rand() < 0.7 ? [{ scope, state: pick(['up', 'down', 'drained'] as const), expiresAt: rand() < 0.3 ? now + 50 : null, reason: 'r', author: 'a', createdAt: now }] : []),
          ];
          reported = state.recomputeAll(full())?.regions ?? new Set();
        } else if (op < 0.85) {
          const region = pick(regions).id;
          const report: LoadReport = { region, forwarder: 'f', at: now, ttlMs: 5_000, capacity: 100, active: Math.floor(rand() * 120), newPerSec: 0, connectFailuresPerSec: 0, backends: {} };
          loads = [...loads.filter((l) => l.region !== region), report];
          reported = state.recomputeLoad(region, [report], now)?.regions ?? new Set();
        } else if (op < 0.95) {
          // Time passes: heartbeats (some vantages only), expiry of overrides, loads and views.
          now += Math.floor(rand() * 6_000);
          for (const v of views.values()) if (rand() < 0.6) v.heartbeatAt = now;
          reported = state.recomputeAll(full())?.regions ?? new Set();
        } else {
          regions = regionsOf(3 + Math.floor(rand() * 3), 2 + Math.floor(rand() * 4), rand() < 0.5);
          state.configure(regions, SETTINGS);
          reported = state.recomputeAll(full())?.regions ?? new Set();
        }
        const want = aggregate({ ...full(), regions, version: 0, ...SETTINGS });
        same(state, want, regions);
        for (const r of regions) {
          const moved = before.get(r.id) !== answerKey(state.answerOf(r.id));
          assert.equal(reported.has(r.id), moved, `step ${step}: ${r.id} reported ${reported.has(r.id)}, answers changed ${moved}`);
        }
      }
    });
  }
});
