/**
 * Issue 17, defect 1: a probe flip cost O(all endpoints) on the DNS event loop (every flip
 * re-aggregated and fingerprinted the whole deployment, and emptied every service's decision
 * cache), so 10,000 endpoints flipping 1 %/s took DNS p50 from 0.6 ms to hundreds of ms.
 *
 * Work is counted, never timed: the same flip in a deployment ten times larger must evaluate the
 * same number of endpoints and regions and empty the caches of the same number of services (those
 * using the flipped endpoint's region), and no full recompute may run for it.
 */
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { after, describe, test } from 'node:test';
import { pino } from 'pino';
import { createServer, type Server } from 'node:net';
import { deployment, endpointKey, regionAddresses, serviceName, serviceRegions, writeDeployment, type DeploymentShape } from '../../bench/scale/deployment.js';
import { MemoryBus } from '../../src/health/memory-bus.js';
import { regionInputs } from '../../src/health/plane.js';
import { HealthSource } from '../../src/health/source.js';
import type { EndpointObservation } from '../../src/health/types.js';
import { buildServices } from '../../src/node/services.js';
import { loadConfigOrThrow } from '../../src/node/config.js';
import { ServicesByRegion } from '../../src/routing/by-region.js';
import { until as untilSwap } from '../../src/health/testkit.js';
import { dig, freePort, startMeridian } from '../helpers/dnsproc.js';
import { metric, until } from '../helpers/role.js';

const obs = (status: 'up' | 'down', at: number): EndpointObservation => ({ status, since: at, checkedAt: at, rttMs: 1, error: status === 'down' ? 'ECONNREFUSED' : null });

interface Measured {
  endpointEvaluations: number;
  regionEvaluations: number;
  fullRecomputes: number;
  servicesFlushed: number;
  servicesUsingRegion: number;
}

/** Loads the generated deployment as `serve` does, aggregates one vantage seeing everything up, then flips `key`. */
async function flipCost(shape: DeploymentShape, key: string, status: 'up' | 'down'): Promise<Measured> {
  const { dir, file } = writeDeployment(deployment(shape), { dns: { listen: ['127.0.0.1:0'] } });
  after(() => rmSync(dir, { recursive: true, force: true }));
  const config = loadConfigOrThrow(file);
  const bus = new MemoryBus();
  // No timer-driven read during the measurement: only the flip's own work is counted.
  const source = new HealthSource({ bus, regions: regionInputs(config), resyncIntervalMs: 3_600_000, log: pino({ level: 'silent' }) });
  try {
    const env = { geo: () => null, health: () => source.current };
    const byRegion = new ServicesByRegion(buildServices(config, env).values());
    let flushed = 0;
    source.onSwap((_, change) => (flushed += byRegion.clear(change.regions)));
    const now = Date.now();
    const keys = config.routing.endpoints.map((e) => e.key);
    await bus.writeView({ vantage: 'v1', region: null, heartbeatAt: now, endpoints: new Map(keys.map((k) => [k, obs('up', now)])) }, 60_000);
    await untilSwap(source, (h) => h.endpoint(key)?.source === 'probes' && h.liveVantages === 1, 10_000);
    await source.refresh(); // every read the view caused is over
    const before = source.metrics;
    flushed = 0;
    await bus.publishChange('v1', key, obs(status, now + 1));
    await untilSwap(source, (h) => h.endpoint(key)?.status === status, 5_000);
    const after = source.metrics;
    return {
      endpointEvaluations: after.endpointEvaluations - before.endpointEvaluations,
      regionEvaluations: after.regionEvaluations - before.regionEvaluations,
      fullRecomputes: after.fullRecomputes - before.fullRecomputes,
      servicesFlushed: flushed,
      servicesUsingRegion: byRegion.using(key.split('/')[0]!).length,
    };
  } finally {
    await source.close();
  }
}

describe('a probe flip costs its endpoint, its region and the services using that region', () => {
  const small: DeploymentShape = { regions: 20, services: 100, endpoints: 1_000 };
  const large: DeploymentShape = { regions: 200, services: 1_000, endpoints: 10_000 };

  test('an address endpoint flips (its address leaves the answers): same work at 1,000 and 10,000 endpoints', async () => {
    const a = await flipCost(small, endpointKey(3, 0), 'down');
    const b = await flipCost(large, endpointKey(3, 0), 'down');
    // 15 services use each region in both shapes (services × 3 regions / regions).
    assert.deepEqual(a, { endpointEvaluations: 1, regionEvaluations: 1, fullRecomputes: 0, servicesFlushed: 15, servicesUsingRegion: 15 });
    assert.deepEqual(b, a, 'the flip costs the same in a deployment ten times larger');
  });

  test('a backend flips without changing its region’s answers: no decision cache is emptied', async () => {
    const a = await flipCost(small, endpointKey(5, 7), 'down');
    const b = await flipCost(large, endpointKey(5, 7), 'down');
    assert.deepEqual(a, { endpointEvaluations: 1, regionEvaluations: 1, fullRecomputes: 0, servicesFlushed: 0, servicesUsingRegion: 15 });
    assert.deepEqual(b, a);
  });
});

function listen(host: string, port: number): Promise<Server> {
  return new Promise((resolve, reject) => {
    const s = createServer((c) => c.destroy());
    s.once('error', reject);
    s.listen(port, host, () => resolve(s));
  });
}

const close = (s: Server): Promise<void> => new Promise((r) => s.close(() => r()));

describe('public path: meridian serve with 3,000 endpoints, an address endpoint flipped by its probe', () => {
  test('the flipped address leaves and returns in the answers of its services; other services answer the same; only its services are flushed', async (t) => {
    const shape: DeploymentShape = { regions: 60, services: 300, endpoints: 3_000 };
    const [bulkPort, flipPort, metricsPort] = [await freePort(), await freePort(), await freePort()];
    // Every endpoint a probe might check accepts (so a check that happens to run changes nothing);
    // r0/e0, r0's front address, is checked every 200 ms on a port this test opens and closes.
    const [front, second] = regionAddresses(0);
    const servers = [await listen('127.0.0.1', bulkPort), ...(await Promise.all(Array.from({ length: shape.regions }, (_, i) => listen(regionAddresses(i)[0], bulkPort))))];
    t.after(() => Promise.all(servers.map(close)));
    let flipped: Server | null = await listen(front, flipPort);
    t.after(() => flipped && close(flipped));
    const checks = new Map([[endpointKey(0, 0), { port: flipPort, check: { type: 'tcp', intervalMs: 200, timeoutMs: 150, rise: 1, fall: 1 } }]]);
    const d = deployment({ ...shape, port: bulkPort }, checks);
    const serve = await startMeridian({
      zones: [{ origin: d.zone, text: d.zoneText }],
      env: { REDIS_URL: '' },
      extra: { regions: d.regions, services: d.services, metrics: { listen: `127.0.0.1:${metricsPort}` }, health: { targets: { allow: ['127.0.0.0/8'] } } },
    });
    t.after(() => serve.stop());
    const answer = async (k: number): Promise<string> =>
      (await dig(['@127.0.0.1', '-p', String(serve.port), serviceName(k), 'A', '+short', '+tries=1', '+time=2'])).trim().split('\n').sort().join(' ');
    const users = Array.from({ length: shape.services }, (_, k) => k).filter((k) => serviceRegions(shape, k).includes(0));
    const others = Array.from({ length: 20 }, (_, i) => i).filter((k) => !users.includes(k));
    assert.equal(users.length, 15);
    const flushes = async (): Promise<number> => (await metric(metricsPort, 'meridian_dns_decision_flushes_total')) ?? NaN;

    await until(async () => (await answer(0)) === `${front} ${second}`, 20_000, 'r0 answers with both addresses while its front is up');
    const othersBefore = await Promise.all(others.map(answer));
    const f0 = await flushes();
    await close(flipped);
    flipped = null;
    await until(async () => (await answer(0)) === second, 20_000, 'the front is down: its address leaves the answers');
    assert.deepEqual(await Promise.all(users.filter((k) => k % 3 === 0).map(answer)), Array(users.filter((k) => k % 3 === 0).length).fill(second), 'every failover service of r0');
    assert.equal((await flushes()) - f0, users.length, 'the flip emptied the decision caches of r0’s services only');
    assert.deepEqual(await Promise.all(others.map(answer)), othersBefore, 'services not using r0 answer the same');

    flipped = await listen(front, flipPort);
    await until(async () => (await answer(0)) === `${front} ${second}`, 20_000, 'the front is back in the answers');
    assert.equal((await flushes()) - f0, 2 * users.length);
    assert.deepEqual(await Promise.all(others.map(answer)), othersBefore);
  });
});
