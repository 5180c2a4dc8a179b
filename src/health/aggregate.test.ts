import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { aggregate, type AggregateInput, type RegionInput } from './aggregate.js';
import type { RegionState } from './snapshot.js';
import type { Override, OverrideScope, VantageView } from './types.js';

const NOW = 1_700_000_000_000;
const TTL = 15_000;

/** A view from `vantage` with `status` per endpoint key ('u' = up, 'd' = down). */
function view(vantage: string, seen: Record<string, 'u' | 'd'>, heartbeatAgoMs = 1_000): VantageView {
  return {
    vantage,
    region: null,
    heartbeatAt: NOW - heartbeatAgoMs,
    endpoints: new Map(
      Object.entries(seen).map(([k, s]) => [k, { status: s === 'u' ? 'up' : 'down', since: NOW - 60_000, checkedAt: NOW - 500, rttMs: s === 'u' ? 3 : null, error: s === 'u' ? null : 'timeout' }]),
    ),
  };
}

function ov(scope: OverrideScope, state: RegionState, expiresAt: number | null = null, createdAt = NOW - 1): Override {
  return { scope, state, expiresAt, reason: 'test', author: 'ops', createdAt };
}

const EU: RegionInput = { id: 'eu', endpoints: ['eu/a', 'eu/b'] };
const US: RegionInput = { id: 'us', endpoints: ['us/a', 'us/b', 'us/c'] };

function run(partial: Partial<AggregateInput>) {
  return aggregate({
    views: [],
    overrides: [],
    regions: [EU, US],
    now: NOW,
    quorum: 0.5,
    regionUpFraction: 0.5,
    coldStart: 'up',
    version: 7,
    heartbeatTtlMs: TTL,
    ...partial,
  });
}

describe('aggregate: endpoint quorum (down ⇔ down votes > quorum × reporting live vantages)', () => {
  const cases: { name: string; views: VantageView[]; quorum?: number; want: RegionState; votes: [number, number, number] }[] = [
    { name: '1 vantage up', views: [view('v1', { 'eu/a': 'u' })], want: 'up', votes: [1, 0, 1] },
    { name: '1 vantage down', views: [view('v1', { 'eu/a': 'd' })], want: 'down', votes: [0, 1, 1] },
    { name: '2 vantages, 1 down: a tie stays up', views: [view('v1', { 'eu/a': 'd' }), view('v2', { 'eu/a': 'u' })], want: 'up', votes: [1, 1, 2] },
    { name: '2 vantages, both down', views: [view('v1', { 'eu/a': 'd' }), view('v2', { 'eu/a': 'd' })], want: 'down', votes: [0, 2, 2] },
    { name: '3 vantages, 1 down', views: [view('v1', { 'eu/a': 'd' }), view('v2', { 'eu/a': 'u' }), view('v3', { 'eu/a': 'u' })], want: 'up', votes: [2, 1, 3] },
    { name: '3 vantages, 2 down', views: [view('v1', { 'eu/a': 'd' }), view('v2', { 'eu/a': 'd' }), view('v3', { 'eu/a': 'u' })], want: 'down', votes: [1, 2, 3] },
    {
      name: '3 vantages, 2 down, Route 53 rule (0.82) keeps it up',
      views: [view('v1', { 'eu/a': 'd' }), view('v2', { 'eu/a': 'd' }), view('v3', { 'eu/a': 'u' })],
      quorum: 0.82,
      want: 'up',
      votes: [1, 2, 3],
    },
    {
      name: 'a vantage that does not report the endpoint does not count in the denominator',
      views: [view('v1', { 'eu/a': 'd' }), view('v2', { 'eu/b': 'u' })],
      want: 'down',
      votes: [0, 1, 1],
    },
    {
      name: 'expired heartbeat gets no vote',
      views: [view('v1', { 'eu/a': 'd' }, TTL + 1), view('v2', { 'eu/a': 'u' })],
      want: 'up',
      votes: [1, 0, 1],
    },
    {
      name: 'heartbeat exactly at the TTL has expired',
      views: [view('v1', { 'eu/a': 'd' }, TTL), view('v2', { 'eu/a': 'u' })],
      want: 'up',
      votes: [1, 0, 1],
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const h = run({ views: c.views, quorum: c.quorum ?? 0.5 });
      const v = h.endpoint('eu/a')!;
      assert.equal(v.status, c.want);
      assert.deepEqual([v.up, v.down, v.live], c.votes);
      assert.equal(v.source, 'probes');
    });
  }

  it('3 vantages, 1 partitioned seeing everything down → no endpoint and no region down', () => {
    const all = (s: 'u' | 'd') => Object.fromEntries([...EU.endpoints, ...US.endpoints].map((k) => [k, s]));
    const h = run({ views: [view('v1', all('d')), view('v2', all('u')), view('v3', all('u'))] });
    for (const [key, v] of h.endpoints()) assert.equal(v.status, 'up', key);
    assert.equal(h.region('eu'), 'up');
    assert.equal(h.region('us'), 'up');
    assert.equal(h.liveVantages, 3);
  });

  it('without heartbeatTtlMs the bus is trusted to have filtered', () => {
    const h = run({ views: [view('v1', { 'eu/a': 'd' }, 10 * TTL)], heartbeatTtlMs: undefined });
    assert.equal(h.endpoint('eu/a')!.status, 'down');
  });
});

describe('aggregate: cold start', () => {
  for (const coldStart of ['up', 'down'] as const) {
    it(`no views → every endpoint ${coldStart}, source cold`, () => {
      const h = run({ coldStart });
      assert.deepEqual(h.endpoint('eu/a'), { status: coldStart, up: 0, down: 0, live: 0, source: 'cold' });
      assert.equal(h.region('eu'), coldStart);
      assert.equal(h.liveVantages, 0);
    });
  }
  it('an endpoint no live vantage reports is cold even when others are reported', () => {
    const h = run({ coldStart: 'down', views: [view('v1', { 'eu/a': 'u' })] });
    assert.equal(h.endpoint('eu/a')!.status, 'up');
    assert.equal(h.endpoint('eu/b')!.source, 'cold');
    assert.equal(h.endpoint('eu/b')!.status, 'down');
    assert.equal(h.region('eu'), 'up', '1 of 2 up is not below 0.5');
  });
});

describe('aggregate: region fraction (down ⇔ up / counted < regionUpFraction)', () => {
  const cases: { name: string; us: Record<string, 'u' | 'd'>; fraction: number; want: RegionState }[] = [
    { name: '3 of 3 up', us: { 'us/a': 'u', 'us/b': 'u', 'us/c': 'u' }, fraction: 0.5, want: 'up' },
    { name: '2 of 3 up', us: { 'us/a': 'u', 'us/b': 'u', 'us/c': 'd' }, fraction: 0.5, want: 'up' },
    { name: '1 of 3 up', us: { 'us/a': 'u', 'us/b': 'd', 'us/c': 'd' }, fraction: 0.5, want: 'down' },
    { name: '0 of 3 up', us: { 'us/a': 'd', 'us/b': 'd', 'us/c': 'd' }, fraction: 0.5, want: 'down' },
    { name: '2 of 3 up, fraction 1 (any endpoint down fails the region)', us: { 'us/a': 'u', 'us/b': 'u', 'us/c': 'd' }, fraction: 1, want: 'down' },
    { name: '0 of 3 up, fraction 0 (never down by probes)', us: { 'us/a': 'd', 'us/b': 'd', 'us/c': 'd' }, fraction: 0, want: 'up' },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const h = run({ views: [view('v1', c.us)], regionUpFraction: c.fraction });
      assert.equal(h.region('us'), c.want);
    });
  }
  it('a region with no endpoints is up; an unknown region is up', () => {
    const h = run({ regions: [{ id: 'empty', endpoints: [] }], coldStart: 'down' });
    assert.equal(h.region('empty'), 'up');
    assert.equal(h.regionVerdict('empty')!.source, 'empty');
    assert.equal(h.region('nowhere'), 'up');
  });
  it('config state down/drained beats probes; downAddresses are down, other addresses up', () => {
    const h = run({
      regions: [
        { id: 'eu', endpoints: ['eu/a'], state: 'drained', downAddresses: ['192.0.2.1'] },
        { id: 'us', endpoints: ['us/a'], state: 'up' },
      ],
      views: [view('v1', { 'eu/a': 'u', 'us/a': 'd' })],
    });
    assert.equal(h.region('eu'), 'drained');
    assert.equal(h.region('us'), 'down');
    assert.equal(h.addressUp('eu', '192.0.2.1'), false);
    assert.equal(h.addressUp('eu', '192.0.2.2'), true);
    assert.equal(h.addressUp('us', '192.0.2.1'), true);
  });

  it("an endpoint at one of the region's addresses takes that address down with it (by probes or override), the region stays up", () => {
    const regions: RegionInput[] = [{ id: 'us', endpoints: ['us/b1', 'us/b2', 'us/fwd'], addressEndpoints: { 'us/fwd': '192.0.2.10' } }];
    const down = run({ regions, views: [view('v1', { 'us/b1': 'u', 'us/b2': 'u', 'us/fwd': 'd' })] });
    assert.equal(down.region('us'), 'up');
    assert.equal(down.addressUp('us', '192.0.2.10'), false);
    assert.equal(down.addressUp('us', '192.0.2.11'), true);
    const up = run({ regions, views: [view('v1', { 'us/b1': 'u', 'us/b2': 'd', 'us/fwd': 'u' })] });
    assert.equal(up.addressUp('us', '192.0.2.10'), true, 'a backend down leaves the address up');
    const forced = run({ regions, views: [view('v1', { 'us/b1': 'u', 'us/b2': 'u', 'us/fwd': 'u' })], overrides: [ov('endpoint/us/fwd' as OverrideScope, 'down')] });
    assert.equal(forced.addressUp('us', '192.0.2.10'), false);
    assert.notEqual(forced.fingerprint, up.fingerprint);
  });
});

describe('aggregate: overrides', () => {
  const allDown = view('v1', { 'eu/a': 'd', 'eu/b': 'd', 'us/a': 'u', 'us/b': 'u', 'us/c': 'u' });

  it('endpoint override beats probes, with the votes still shown', () => {
    const h = run({ views: [allDown], overrides: [ov('endpoint/eu/a', 'up')] });
    assert.deepEqual(h.endpoint('eu/a'), { status: 'up', up: 0, down: 1, live: 1, source: 'override' });
    assert.equal(h.region('eu'), 'up', '1 of 2 up');
  });
  it('endpoint override beats cold start', () => {
    const h = run({ coldStart: 'up', overrides: [ov('endpoint/eu/a', 'down')] });
    assert.equal(h.endpoint('eu/a')!.status, 'down');
  });
  it('region override beats probes and config state', () => {
    const h = run({
      regions: [{ ...EU, state: 'down' }, US],
      views: [allDown],
      overrides: [ov('region/eu', 'up'), ov('region/us', 'down')],
    });
    assert.equal(h.region('eu'), 'up');
    assert.equal(h.regionVerdict('eu')!.source, 'override');
    assert.equal(h.region('us'), 'down');
  });
  it('region override beats endpoint overrides', () => {
    const h = run({ overrides: [ov('endpoint/eu/a', 'down'), ov('endpoint/eu/b', 'down'), ov('region/eu', 'drained')] });
    assert.equal(h.region('eu'), 'drained');
  });
  it('expired overrides are ignored (expiry is exclusive of now)', () => {
    const h = run({
      views: [allDown],
      overrides: [ov('region/eu', 'up', NOW), ov('endpoint/us/a', 'down', NOW - 1), ov('endpoint/us/b', 'down', NOW + 1)],
    });
    assert.equal(h.region('eu'), 'down');
    assert.equal(h.endpoint('us/a')!.status, 'up');
    assert.equal(h.endpoint('us/b')!.status, 'down');
  });
  it('drained endpoints are not counted; all drained → region drained', () => {
    const h = run({
      views: [view('v1', { 'eu/a': 'u', 'eu/b': 'd' })],
      overrides: [ov('endpoint/eu/b', 'drained'), ov('endpoint/us/a', 'drained'), ov('endpoint/us/b', 'drained'), ov('endpoint/us/c', 'drained')],
    });
    assert.equal(h.region('eu'), 'up');
    assert.deepEqual({ up: h.regionVerdict('eu')!.up, counted: h.regionVerdict('eu')!.counted }, { up: 1, counted: 1 });
    assert.equal(h.region('us'), 'drained');
  });
  it('two records for one scope: the newest wins', () => {
    const h = run({ overrides: [ov('region/eu', 'down', null, NOW - 10), ov('region/eu', 'up', null, NOW - 5)] });
    assert.equal(h.region('eu'), 'up');
  });
});

describe('aggregate: snapshot identity', () => {
  it('fingerprint ignores version, heartbeat times and RTT, and sees verdict and vote changes', () => {
    const a = run({ views: [view('v1', { 'eu/a': 'u' }, 1_000)], version: 1 });
    const b = run({ views: [view('v1', { 'eu/a': 'u' }, 2_000)], version: 2 });
    const c = run({ views: [view('v1', { 'eu/a': 'd' })], version: 3 });
    const d = run({ views: [view('v1', { 'eu/a': 'u' }), view('v2', { 'eu/a': 'u' })], version: 4 });
    assert.equal(a.fingerprint, b.fingerprint);
    assert.notEqual(a.fingerprint, c.fingerprint);
    assert.notEqual(a.fingerprint, d.fingerprint);
    assert.equal(b.version, 2);
  });
});
