/**
 * Load feedback end to end: the forwarder's reports (rates from counters), through the embedded
 * bus and through a real Redis, into the DNS side's health snapshot, where a region past the
 * utilisation threshold gets a lower effective weight, visible in `explain` and in the answers.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it, type TestContext } from 'node:test';
import { Redis } from 'ioredis';
import { LoadReporter } from '../../src/forward/load.js';
import { ForwarderState } from '../../src/forward/state.js';
import { MemoryBus } from '../../src/health/memory-bus.js';
import type { HealthPlane } from '../../src/health/plane.js';
import { createMetrics } from '../../src/obs/metrics.js';
import { RedisBus } from '../../src/health/redis-bus.js';
import { HealthSource } from '../../src/health/source.js';
import { until as untilSwap } from '../../src/health/testkit.js';
import { explain } from '../../src/routing/explain.js';
import { buildServices } from '../../src/node/services.js';
import { redisSkipReason, startRedis, type TestRedis } from '../helpers/redis.js';
import { client, makeConfig, roundTrip, SERVICE, start, startBackend, type Client } from './helpers.js';

const skip = redisSkipReason();
let redis: TestRedis;
before(async () => {
  if (!skip) redis = await startRedis();
});
after(() => redis?.stop());

function regionInputs(ids: string[]) {
  return ids.map((id) => ({ id, endpoints: [] }));
}

/** eu (capacity 4) and us, weighted 100/100; eu's forwarder runs here with one echo backend. */
async function setup(t: TestContext, bus: MemoryBus | RedisBus, dnsBus: MemoryBus | RedisBus) {
  const backend = await startBackend();
  const { config, cleanup } = makeConfig(
    [
      { id: 'eu', backends: [backend.port], capacity: 4 },
      { id: 'us', backends: [] },
    ],
    { listeners: [{ name: 'web', service: SERVICE, listen: '127.0.0.1:0' }], load: { reportIntervalMs: 100, reportTtlMs: 1_000 } },
    { failover: [['eu', 'us']], weighted: {} }, // one tier: eu and us share by weight
  );
  const fwd = await start(config, 'eu', { bus, instanceId: 'eu-fwd-1' });
  const source = new HealthSource({
    bus: dnsBus,
    regions: regionInputs(['eu', 'us']),
    resyncIntervalMs: 100,
    closeBus: false,
    load: { threshold: config.forward.load.threshold, floor: config.forward.load.floor },
  });
  const opened: Client[] = [];
  t.after(async () => {
    for (const c of opened) c.socket.destroy();
    await fwd.close();
    await source.close();
    await backend.close();
    cleanup();
  });
  const open = async (n: number): Promise<void> => {
    for (let i = 0; i < n; i++) {
      const c = await client(fwd.address('web')!.port);
      await roundTrip(c, 'x');
      opened.push(c);
    }
  };
  const services = buildServices(config, { geo: () => null, health: () => source.current });
  const euShare = (): number => {
    let eu = 0;
    for (let i = 0; i < 1_000; i++) {
      const e = explain(services, SERVICE, `10.${i >> 8}.${i & 255}.1`);
      if (e.ok && e.explanation.addresses[0] === '192.0.2.10') eu++;
    }
    return eu / 1_000;
  };
  return { fwd, source, open, opened, services, euShare };
}

describe('load reports', () => {
  it('rates come from counter differences over the real elapsed time', async () => {
    let now = 1_000_000;
    const state = new ForwarderState();
    const rec = state.record({ key: 'eu/a', region: 'eu', id: 'a', address: '127.0.0.1', port: 1, check: { type: 'tcp' }, timing: { intervalMs: 1, timeoutMs: 1, rise: 1, fall: 1 } }, 1);
    const bus = new MemoryBus({ now: () => now });
    const r = new LoadReporter({ bus, region: 'eu', forwarder: 'f', state, capacity: () => 10, intervalMs: 1_000, ttlMs: 5_000, now: () => now });
    state.listener('web').accepted += 10;
    rec.connections += 4;
    rec.connectFailures += 2;
    rec.active = 3;
    now += 2_000;
    const report = await r.tick();
    assert.equal(report.newPerSec, 5);
    assert.equal(report.connectFailuresPerSec, 1);
    assert.deepEqual(report.backends['eu/a'], { active: 3, newPerSec: 2, connectFailuresPerSec: 1 });
    assert.equal(report.capacity, 10);
    assert.deepEqual(await bus.readLoads(['eu']), [report]);
    now += 1_000;
    const quiet = await r.tick();
    assert.equal(quiet.newPerSec, 0);
    assert.equal(quiet.connectFailuresPerSec, 0);
    await bus.close();
  });

  it('embedded bus: a region past the threshold gets a lower effective weight, and fewer answers', async (t) => {
    const bus = new MemoryBus();
    const { fwd, source, open, opened, services, euShare } = await setup(t, bus, bus);
    const before = euShare();
    assert.ok(before > 0.4 && before < 0.6, `eu share ${before} at equal weights`);
    await open(4); // 4 of capacity 4: utilisation 1
    await fwd.loadReporter!.tick();
    await untilSwap(source, (h) => h.effectiveWeight('eu', 100) === 10);
    const e = explain(services, SERVICE, '10.1.2.3');
    assert.ok(e.ok);
    assert.match(e.explanation.steps.join('\n'), /eu\(w100->10 by load\)/);
    const loaded = euShare();
    assert.ok(loaded < 0.2, `eu share ${loaded} with utilisation 1`);
    const text = await createMetrics({ health: () => ({ source, bus }) as unknown as HealthPlane }).metrics();
    assert.match(text, /^meridian_health_region_utilisation\{region="eu"\} 1$/m);
    assert.match(text, /^meridian_health_region_weight_factor\{region="eu"\} 0\.1$/m);
    assert.match(text, /^meridian_health_region_weight_factor\{region="us"\} 1$/m);
    // The load goes away: the next reports restore the weight.
    for (const c of opened) c.socket.end();
    await Promise.all(opened.map((c) => c.closed));
    await untilSwap(source, (h) => h.effectiveWeight('eu', 100) === 100, 3_000);
  });

  it('Redis: reports land in {prefix}:load:<region> with a TTL, and a DNS node on another connection reacts', { skip }, async (t) => {
    const prefix = `{t-${randomBytes(4).toString('hex')}}`;
    const fwdBus = new RedisBus({ url: redis.url, prefix });
    const dnsBus = new RedisBus({ url: redis.url, prefix });
    await Promise.all([fwdBus.whenConnected(), dnsBus.whenConnected()]);
    t.after(async () => {
      await fwdBus.close();
      await dnsBus.close();
    });
    const { source, open } = await setup(t, fwdBus, dnsBus);
    await open(4);
    await untilSwap(source, (h) => h.effectiveWeight('eu', 100) === 10, 3_000);
    const raw = new Redis(redis.url);
    try {
      const hash = await raw.hgetall(`${prefix}:load:eu`);
      const report = JSON.parse(hash['eu-fwd-1']!);
      assert.equal(report.active, 4);
      assert.equal(report.capacity, 4);
      assert.equal(report.backends['eu/b0'].active, 4);
      const ttl = await raw.pttl(`${prefix}:load:eu`);
      assert.ok(ttl > 0 && ttl <= 1_000, `pttl ${ttl}`);
    } finally {
      raw.disconnect();
    }
    assert.equal(source.current.regionLoad('eu')!.utilisation, 1);
  });
});
