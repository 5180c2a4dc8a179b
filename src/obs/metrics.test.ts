/**
 * The /metrics page of a node with 10,000 endpoints (issue 17, bench:scale profile): the page must
 * carry one `meridian_health_endpoint_up` series per endpoint with its verdict, without a gauge
 * entry built per endpoint at every scrape (prom-client's `Gauge#set` hashes the labels of each).
 * Work is counted (`Gauge#set` calls during a scrape), never timed.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Gauge } from 'prom-client';
import type { HealthPlane } from '../health/plane.js';
import { HealthSource } from '../health/source.js';
import { MemoryBus } from '../health/memory-bus.js';
import { makeView, obs, until } from '../health/testkit.js';
import { createMetrics } from './metrics.js';

const REGIONS = 200;
const PER_REGION = 50;

test('a scrape of 10,000 endpoint verdicts sets no gauge per endpoint, and shows every verdict', async () => {
  const regions = Array.from({ length: REGIONS }, (_, i) => ({ id: `r${i}`, endpoints: Array.from({ length: PER_REGION }, (_, j) => `r${i}/e${j}`) }));
  const keys = regions.flatMap((r) => r.endpoints);
  const bus = new MemoryBus();
  const source = new HealthSource({ bus, regions, resyncIntervalMs: 3_600_000 });
  try {
    const now = Date.now();
    // Every seventh endpoint down, one vantage.
    await bus.writeView(makeView('v1', now, Object.fromEntries(keys.map((k, i) => [k, obs(i % 7 === 0 ? 'down' : 'up', now)]))), 60_000);
    await until(source, (h) => h.liveVantages === 1 && h.endpoint('r0/e0')?.status === 'down', 5_000);
    const registry = createMetrics({ health: () => ({ source, bus }) as unknown as HealthPlane });
    const set = Gauge.prototype.set;
    let sets = 0;
    Gauge.prototype.set = function (this: Gauge, ...args: unknown[]) {
      sets++;
      return (set as (...a: unknown[]) => void).apply(this, args);
    } as typeof set;
    let page: string;
    try {
      page = await registry.metrics();
    } finally {
      Gauge.prototype.set = set;
    }
    assert.ok(sets < 2 * REGIONS * 3, `Gauge#set calls in one scrape: ${sets} (regions' states are ${REGIONS * 3}; endpoints must not add ${keys.length})`);
    const lines = page.split('\n').filter((l) => l.startsWith('meridian_health_endpoint_up{'));
    assert.equal(lines.length, keys.length);
    const value = (region: string, endpoint: string): string | undefined => lines.find((l) => l.startsWith(`meridian_health_endpoint_up{region="${region}",endpoint="${endpoint}"}`))?.split(' ')[1];
    assert.equal(value('r0', 'e0'), '0');
    assert.equal(value('r0', 'e1'), '1');
    assert.equal(lines.filter((l) => l.endsWith(' 0')).length, keys.filter((_, i) => i % 7 === 0).length);
  } finally {
    await source.close();
  }
});
