/**
 * Load feedback: the factor table, report parsing, the snapshot's effective weights (only factor
 * changes swap it), a HealthSource fed by `load` events, and the weighted policy shifting shares
 * away from a region over its threshold.
 */
import assert from 'node:assert/strict';
import { describe, it, type TestContext } from 'node:test';
import { clientFromAddress } from '../routing/client.js';
import { ctx, region, state } from '../policy/testkit.js';
import { weighted } from '../policy/weighted.js';
import { aggregate } from './aggregate.js';
import { effectiveWeight, LOAD_DEFAULTS, parseLoadReport, regionLoad, weightFactor } from './load.js';
import { MemoryBus } from './memory-bus.js';
import { HealthSource } from './source.js';
import { until } from './testkit.js';
import type { LoadReport } from './types.js';

const NOW = 1_700_000_000_000;

function report(region: string, forwarder: string, active: number, capacity = 100, at = NOW, ttlMs = 5_000): LoadReport {
  return { region, forwarder, at, ttlMs, capacity, active, newPerSec: 1, connectFailuresPerSec: 0, backends: {} };
}

describe('weightFactor (threshold 0.8, floor 0.1)', () => {
  const cases: [number, number][] = [
    [0, 1],
    [0.5, 1],
    [0.8, 1],
    [0.81, 0.95],
    [0.9, 0.55],
    [0.95, 0.3],
    [0.99, 0.1],
    [1, 0.1],
    [3, 0.1],
  ];
  for (const [u, want] of cases) {
    it(`utilisation ${u} -> factor ${want}`, () => {
      assert.ok(Math.abs(weightFactor(u, LOAD_DEFAULTS) - want) < 1e-9, `got ${weightFactor(u, LOAD_DEFAULTS)}`);
    });
  }
  it('threshold 1 never lowers below full load; floor 1 never lowers at all', () => {
    assert.equal(weightFactor(0.99, { threshold: 1, floor: 0.2 }), 1);
    assert.equal(weightFactor(1.5, { threshold: 1, floor: 0.2 }), 0.2);
    assert.equal(weightFactor(0.95, { threshold: 0.5, floor: 1 }), 1);
  });
  it('effective weight: standby stays 0, a weighted region keeps at least 1', () => {
    assert.equal(effectiveWeight(0, 0.1), 0);
    assert.equal(effectiveWeight(100, 0.55), 55);
    assert.equal(effectiveWeight(3, 0.1), 1);
    assert.equal(effectiveWeight(100, 1), 100);
  });
});

describe('load reports', () => {
  it('parses a valid report and rejects broken ones', () => {
    const ok = report('eu', 'f1', 3);
    assert.deepEqual(parseLoadReport(JSON.stringify(ok)), ok);
    for (const bad of ['not json', '{}', JSON.stringify({ ...ok, capacity: 0 }), JSON.stringify({ ...ok, active: -1 }), JSON.stringify({ ...ok, region: 7 }), JSON.stringify({ ...ok, ttlMs: 0 })]) {
      assert.equal(parseLoadReport(bad), null, bad);
    }
    // A broken backend entry is dropped, the report kept.
    assert.deepEqual(parseLoadReport({ ...ok, backends: { 'eu/a': { active: 'x' }, 'eu/b': { active: 1, newPerSec: 0, connectFailuresPerSec: 0 } } })!.backends, {
      'eu/b': { active: 1, newPerSec: 0, connectFailuresPerSec: 0 },
    });
  });

  it('a region sums its live forwarders; expired reports do not count', () => {
    const l = regionLoad([report('eu', 'f1', 50), report('eu', 'f2', 40), report('eu', 'dead', 100, 100, NOW - 10_000)], NOW, LOAD_DEFAULTS)!;
    assert.equal(l.utilisation, 0.45);
    assert.equal(l.forwarders, 2);
    assert.equal(regionLoad([report('eu', 'dead', 100, 100, NOW - 10_000)], NOW, LOAD_DEFAULTS), null);
  });
});

describe('snapshot effective weight', () => {
  const input = (loads: LoadReport[]) => ({
    views: [],
    overrides: [],
    regions: [
      { id: 'eu', endpoints: [] },
      { id: 'us', endpoints: [] },
    ],
    now: NOW,
    quorum: 0.5,
    regionUpFraction: 0.5,
    coldStart: 'up' as const,
    version: 1,
    loads,
    load: LOAD_DEFAULTS,
  });

  it('lowers the weight of a region over the threshold only', () => {
    const h = aggregate(input([report('eu', 'f1', 90), report('us', 'f2', 10)]));
    assert.equal(h.effectiveWeight('eu', 100), 55);
    assert.equal(h.effectiveWeight('us', 100), 100);
    assert.equal(h.effectiveWeight('nowhere', 100), 100);
    assert.equal(h.regionLoad('eu')!.utilisation, 0.9);
  });

  it('the fingerprint changes with the factor, not with every connection', () => {
    const fp = (active: number) => aggregate(input([report('eu', 'f1', active)])).fingerprint;
    assert.equal(fp(10), fp(70), 'under the threshold load is not part of the fingerprint');
    assert.equal(fp(93), fp(93.2), 'a move within one step');
    assert.notEqual(fp(70), fp(90));
  });
});

describe('HealthSource with load reports', () => {
  function fixture(t: TestContext) {
    let clock = NOW;
    const now = (): number => clock;
    const bus = new MemoryBus({ now });
    const source = new HealthSource({
      bus,
      regions: [
        { id: 'eu', endpoints: [] },
        { id: 'us', endpoints: [] },
      ],
      now,
      resyncIntervalMs: 20,
    });
    t.after(() => source.close());
    return { bus, source, now, advance: (ms: number) => void (clock += ms) };
  }

  it('applies reports from the bus, swaps on a factor change, and forgets a dead forwarder', async (t) => {
    const { bus, source, now, advance } = fixture(t);
    await bus.writeLoad(report('eu', 'f1', 95, 100, now()), 5_000);
    await until(source, (h) => h.effectiveWeight('eu', 100) === 30);
    const v = source.current.version;
    await bus.writeLoad(report('eu', 'f1', 95.5, 100, now()), 5_000);
    await source.refresh();
    assert.equal(source.current.version, v, 'same factor: no swap');
    assert.equal(source.regionLoads().get('eu')!.utilisation, 0.955, 'metrics see the latest report');
    advance(6_000); // the forwarder stopped reporting: its report expires
    await source.refresh();
    assert.equal(source.current.effectiveWeight('eu', 100), 100);
  });
});

describe('weighted policy with load feedback', () => {
  it('moves subnets away from a region whose effective weight was lowered', () => {
    const regions = [region('eu', { weight: 100 }), region('us', { weight: 100 })];
    const step = weighted.build(weighted.parseConfig({}, ['eu', 'us']));
    const health = aggregate({
      views: [],
      overrides: [],
      regions: [
        { id: 'eu', endpoints: [] },
        { id: 'us', endpoints: [] },
      ],
      now: NOW,
      quorum: 0.5,
      regionUpFraction: 0.5,
      coldStart: 'up',
      version: 1,
      loads: [report('eu', 'f1', 100)],
      load: LOAD_DEFAULTS,
    });
    let euPlain = 0;
    let euLoaded = 0;
    const trace: string[] = [];
    for (let i = 0; i < 2_000; i++) {
      const client = clientFromAddress(`10.${i >> 8}.${i & 255}.1`);
      if (step(state(regions, [0, 0]), ctx({ client })).candidates[0]!.region.id === 'eu') euPlain++;
      if (step(state(regions, [0, 0]), ctx({ client, health, trace: i === 0 ? trace : null })).candidates[0]!.region.id === 'eu') euLoaded++;
    }
    // 100:100 -> about half; 10:100 (floor 0.1) -> about 1/11.
    assert.ok(euPlain > 850 && euPlain < 1150, `plain ${euPlain}`);
    assert.ok(euLoaded > 100 && euLoaded < 280, `loaded ${euLoaded}`);
    assert.match(trace.join('\n'), /eu\(w100->10 by load\)/);
  });
});
