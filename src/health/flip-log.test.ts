/**
 * The flip log's cost and coverage (flip-log.ts): each endpoint flip is logged, also when its region
 * keeps answering or is drained in config, and a swap looks only at what it changed (issue 17: a
 * flip costs its own endpoints, never a scan of all of them). test/integration/flip-log.test.ts is
 * the same through a real `meridian serve`.
 */
import assert from 'node:assert/strict';
import { it, type TestContext } from 'node:test';
import { logFlips } from './flip-log.js';
import { MemoryBus } from './memory-bus.js';
import { HealthSource } from './source.js';
import { HealthState } from './state.js';
import { captureLog, makeView, obs, until } from './testkit.js';
import type { EndpointObservation } from './types.js';

const TTL = 10_000;
const PER_REGION = 500;
const REGIONS = ['eu', 'us'].map((id) => ({ id, endpoints: Array.from({ length: PER_REGION }, (_, i) => `${id}/e${i}`) }));
const DRAINED = { id: 'ap', state: 'drained' as const, endpoints: ['ap/a', 'ap/b'] };

async function fixture(t: TestContext) {
  const now = (): number => 1_700_000_000_000;
  const bus = new MemoryBus({ now });
  const regions = [...REGIONS, DRAINED];
  const source = new HealthSource({ bus, regions, now, heartbeatTtlMs: TTL, resyncIntervalMs: 60_000 });
  t.after(() => source.close());
  const all: Record<string, EndpointObservation> = {};
  for (const r of regions) for (const key of r.endpoints) all[key] = obs('up', now());
  await bus.writeView(makeView('v1', now(), all), TTL);
  await until(source, (h) => h.endpoint('eu/e0')!.source === 'probes' && h.endpoint('ap/a')!.source === 'probes');
  const { log, lines } = captureLog();
  logFlips(source, () => regions, log);
  return { bus, source, now, lines };
}

it('one endpoint of many goes down while its region still answers: logged, and the swap reads that endpoint only', async (t) => {
  const { bus, source, now, lines } = await fixture(t);
  const reads = t.mock.method(HealthState.prototype, 'endpoint');
  await bus.publishChange('v1', 'eu/e7', obs('down', now(), { error: 'ECONNREFUSED' }));
  await until(source, (h) => h.endpoint('eu/e7')!.status === 'down');
  assert.equal(source.current.region('eu'), 'up', 'the region still answers');
  assert.deepEqual(lines, [{ level: 'info', msg: 'endpoint eu/e7 is down' }]);
  // Counted, not timed: the source's own read and the log's, of 1,004 endpoints.
  assert.ok(reads.mock.callCount() <= 3, `endpoint() calls for one flip: ${reads.mock.callCount()}`);
});

it('an endpoint of a region drained in config is logged, though no answer changes', async (t) => {
  const { bus, source, now, lines } = await fixture(t);
  await bus.publishChange('v1', 'ap/b', obs('down', now()));
  await until(source, (h) => h.endpoint('ap/b')!.status === 'down');
  assert.deepEqual(lines, [{ level: 'info', msg: 'endpoint ap/b is down' }]);
});
