/**
 * HealthSource over a real redis-server: crash and restart (static stability, resync), and
 * propagation latency from one writer to three subscribed DNS-node sources.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { redisSkipReason, startRedis, type TestRedis } from '../../test/helpers/redis.js';
import { RedisBus } from './redis-bus.js';
import { HealthSource } from './source.js';
import { captureLog, makeView, obs, until } from './testkit.js';

const skip = redisSkipReason();
let redis: TestRedis;
before(async () => {
  if (!skip) redis = await startRedis();
});
after(() => redis?.stop());

const REGIONS = [{ id: 'eu', endpoints: ['eu/a'] }];
const TTL = 15_000;

async function bus(prefix: string): Promise<RedisBus> {
  const b = new RedisBus({ url: redis.url, prefix, retryBaseMs: 20, retryMaxMs: 100 });
  await b.whenConnected();
  return b;
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

describe('HealthSource over Redis', { skip }, () => {
  it('Redis killed: serves the last snapshot, disconnected, ages; restarted: resyncs within one interval', async () => {
    const prefix = `{t-${randomBytes(4).toString('hex')}}`;
    const writer = await bus(prefix);
    const reader = await bus(prefix);
    const interval = 300;
    const { log, lines } = captureLog();
    const source = new HealthSource({ bus: reader, regions: REGIONS, heartbeatTtlMs: TTL, resyncIntervalMs: interval, log });
    let resyncs = 0;
    reader.subscribe((e) => e.kind === 'resync' && resyncs++);
    try {
      await writer.writeView(makeView('v1', Date.now(), { 'eu/a': obs('down', Date.now()) }), TTL);
      await until(source, (h) => h.region('eu') === 'down');
      const served = source.current.version;

      await redis.kill();
      await sleep(interval * 2);
      assert.equal(source.connected, false);
      assert.equal(source.current.version, served, 'the last state stays in force: nothing changed');
      const age1 = source.snapshotAgeSeconds();
      await sleep(interval);
      const age2 = source.snapshotAgeSeconds();
      assert.ok(age2 - age1 >= (interval - 20) / 1000, `age ${age1} → ${age2}`);
      assert.equal(source.current.region('eu'), 'down');
      assert.equal(lines.filter((l) => /disconnected/.test(l.msg)).length, 1, JSON.stringify(lines));

      resyncs = 0;
      await redis.restart(); // empty: no persistence in tests
      await writer.whenConnected(3_000);
      await reader.whenConnected(3_000);
      // The cached view outlives the empty restart until its own heartbeat deadline: no flip to cold.
      assert.equal(source.current.region('eu'), 'down');
      const t0 = Date.now();
      await writer.writeView(makeView('v1', Date.now(), { 'eu/a': obs('up', Date.now()) }), TTL);
      await until(source, (h) => h.region('eu') === 'up', interval);
      assert.ok(Date.now() - t0 <= interval, `took ${Date.now() - t0} ms`);
      assert.ok(resyncs >= 1, 'a resync event after reconnecting');
      assert.ok(source.snapshotAgeSeconds() < 1);
      await sleep(interval);
      assert.deepEqual(
        lines.filter((l) => /connected/.test(l.msg)).map((l) => l.level),
        ['info', 'warn', 'info'],
        JSON.stringify(lines),
      );
    } finally {
      await source.close();
      await writer.close();
    }
  });

  it('propagation: publishChange → onSwap in 3 subscribed sources, 200 flips, p99 < 200 ms', async () => {
    const prefix = `{t-${randomBytes(4).toString('hex')}}`;
    const writer = await bus(prefix);
    const sources = await Promise.all([1, 2, 3].map(async () => new HealthSource({ bus: await bus(prefix), regions: REGIONS, heartbeatTtlMs: TTL })));
    try {
      let t = Date.now();
      await writer.writeView(makeView('v1', t, { 'eu/a': obs('up', t) }), TTL);
      await Promise.all(sources.map((s) => until(s, (h) => h.endpoint('eu/a')!.source === 'probes')));

      const samples: number[] = [];
      for (let i = 0; i < 200; i++) {
        const want = i % 2 === 0 ? 'down' : 'up';
        const seen = sources.map(
          (s) =>
            new Promise<void>((resolve, reject) => {
              const timer = setTimeout(() => reject(new Error(`flip ${i} not seen within 1 s`)), 1_000);
              const off = s.onSwap((h) => {
                if (h.endpoint('eu/a')!.status !== want) return;
                samples.push(performance.now() - t0);
                clearTimeout(timer);
                off();
                resolve();
              });
            }),
        );
        t = Date.now();
        const t0 = performance.now();
        await writer.publishChange('v1', 'eu/a', obs(want, t, { checkedAt: t + i }));
        await Promise.all(seen);
      }
      samples.sort((a, b) => a - b);
      const p50 = percentile(samples, 50);
      const p99 = percentile(samples, 99);
      console.log(`health propagation (loopback redis, 3 subscribers, ${samples.length} samples): ` + `p50 ${p50.toFixed(2)} ms, p99 ${p99.toFixed(2)} ms, max ${samples.at(-1)!.toFixed(2)} ms`);
      assert.equal(samples.length, 600);
      assert.ok(p99 < 200, `p99 ${p99} ms`);
    } finally {
      await Promise.all(sources.map((s) => s.close()));
      await writer.close();
    }
  });
});
