import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { redisSkipReason, startRedis, type TestRedis } from '../../test/helpers/redis.js';
import { busContract, type BusHarness } from './bus.contract.js';
import { makeView, obs } from './testkit.js';
import { RedisBus } from './redis-bus.js';
import { backoff } from '../redis/client.js';

const skip = redisSkipReason();
let redis: TestRedis;
before(async () => {
  if (!skip) redis = await startRedis();
});
after(() => redis?.stop());

async function connectedBus(prefix: string): Promise<RedisBus> {
  const bus = new RedisBus({ url: redis.url, prefix, retryMaxMs: 200 });
  await bus.whenConnected();
  return bus;
}

/** Each harness gets its own hash-tagged prefix, so tests share one server without seeing each other. */
async function setup(): Promise<BusHarness> {
  const prefix = `{t-${randomBytes(4).toString('hex')}}`;
  const bus = await connectedBus(prefix);
  return {
    bus,
    reopen: () => connectedBus(prefix),
    elapse: (ms) => sleep(ms),
    now: Date.now,
    // Real Redis expiry on wall-clock time: wide enough that a starved 2-core CI box still reads a
    // view within half its TTL of writing it.
    ttlMs: 1_500,
    close: () => bus.close(),
  };
}

busContract('RedisBus', setup, skip);

describe('RedisBus specifics', { skip }, () => {
  it('overrides: an emptied record stays present; a lost one does not, and restoring writes only into a bus without one', async () => {
    const prefix = `{t-${randomBytes(4).toString('hex')}}`;
    const bus = await connectedBus(prefix);
    const raw = new Redis(redis.url);
    try {
      const o = { scope: 'region/eu', state: 'drained', expiresAt: null, reason: 'r', author: 'a', createdAt: 1 } as const;
      assert.deepEqual(await bus.readOverrideState(), { overrides: [], present: false }, 'never written');
      await bus.writeOverride(o);
      assert.ok(await bus.deleteOverride('region/eu'));
      assert.deepEqual(await bus.readOverrideState(), { overrides: [], present: true }, 'cleared by an operator: present, empty');
      assert.equal(await bus.restoreOverrides([o]), false, 'present: nothing restored over it');
      assert.deepEqual(await bus.readOverrides(), []);
      await raw.del(`${prefix}:overrides`); // what a Redis restarted empty looks like
      assert.deepEqual(await bus.readOverrideState(), { overrides: [], present: false }, 'lost');
      const [first, second] = await Promise.all([bus.restoreOverrides([o]), bus.restoreOverrides([])]);
      assert.deepEqual([first, second].sort(), [false, true], 'one restore wins');
      const state = await bus.readOverrideState();
      assert.equal(state.present, true);
      assert.ok(state.overrides.length <= 1);
    } finally {
      raw.disconnect();
      await bus.close();
    }
  });

  it('uses the documented keys: hash tag, vantage hash with _meta and a TTL, vantage set, overrides hash', async () => {
    const bus = await connectedBus('{meridian}');
    const raw = new Redis(redis.url);
    try {
      await bus.writeView(makeView('fra-1', 1_000, { 'eu/a': obs('up', 900) }, 'eu'), 15_000);
      await bus.writeOverride({ scope: 'region/eu', state: 'drained', expiresAt: null, reason: 'r', author: 'a', createdAt: 1 });
      const hash = await raw.hgetall('{meridian}:health:vantage:fra-1');
      assert.deepEqual(JSON.parse(hash._meta!), { region: 'eu', heartbeatAt: 1_000 });
      assert.equal(JSON.parse(hash['eu/a']!).status, 'up');
      const ttl = await raw.pttl('{meridian}:health:vantage:fra-1');
      assert.ok(ttl > 14_000 && ttl <= 15_000, `pttl ${ttl}`);
      assert.deepEqual(await raw.smembers('{meridian}:health:vantages'), ['fra-1']);
      assert.equal(JSON.parse((await raw.hget('{meridian}:overrides', 'region/eu'))!).state, 'drained');
    } finally {
      raw.disconnect();
      await bus.close();
    }
  });

  it('forgets expired vantages from the set, and drops unreadable records instead of failing the read', async () => {
    const prefix = `{t-${randomBytes(4).toString('hex')}}`;
    const bus = await connectedBus(prefix);
    const raw = new Redis(redis.url);
    try {
      await bus.writeView(makeView('gone', Date.now(), {}), 50);
      await bus.writeView(makeView('odd', Date.now(), { 'eu/a': obs('up', 1) }), 10_000);
      await raw.hset(`${prefix}:health:vantage:odd`, 'eu/b', 'not json');
      await raw.hset(`${prefix}:overrides`, 'region/xx', '{"scope": 42}');
      await sleep(100);
      const views = await bus.readViews();
      assert.deepEqual(
        views.map((v) => [v.vantage, [...v.endpoints.keys()]]),
        [['odd', ['eu/a']]],
      );
      assert.deepEqual(await bus.readOverrides(), []);
      await sleep(50);
      assert.deepEqual(await raw.smembers(`${prefix}:health:vantages`), ['odd']);
    } finally {
      raw.disconnect();
      await bus.close();
    }
  });

  it('a malformed notice on the channel becomes a resync (re-read), not a lost update', async () => {
    const prefix = `{t-${randomBytes(4).toString('hex')}}`;
    const bus = await connectedBus(prefix);
    const raw = new Redis(redis.url);
    try {
      let resyncs = 0;
      bus.subscribe((e) => e.kind === 'resync' && resyncs++);
      await sleep(20); // the subscriber's own initial resync
      assert.equal(resyncs, 1);
      await raw.publish(`${prefix}:health`, 'garbage');
      await sleep(50);
      assert.equal(resyncs, 2);
    } finally {
      raw.disconnect();
      await bus.close();
    }
  });

  it('refuses a prefix without a hash tag', () => {
    assert.throws(() => new RedisBus({ url: 'redis://127.0.0.1:1', prefix: 'meridian' }), /hash tag/);
  });

  it('backoff doubles from the base, is capped, and jitters ±25 %', () => {
    const mid = () => 0.5;
    assert.deepEqual(
      [1, 2, 3, 4, 5, 6, 50].map((n) => backoff(n, 100, 2_000, mid)),
      [100, 200, 400, 800, 1_600, 2_000, 2_000],
    );
    assert.equal(
      backoff(1, 100, 2_000, () => 0),
      75,
    );
    assert.equal(
      backoff(10, 100, 2_000, () => 1),
      2_500,
    );
  });

  it('while Redis is down every call rejects fast (no offline queue); after restart it resyncs', async () => {
    const bus = await connectedBus(`{t-${randomBytes(4).toString('hex')}}`);
    try {
      let resyncs = 0;
      bus.subscribe((e) => e.kind === 'resync' && resyncs++);
      await sleep(20);
      resyncs = 0;
      await redis.kill();
      await sleep(50);
      assert.equal(bus.connected, false);
      const t0 = performance.now();
      await assert.rejects(bus.readViews());
      await assert.rejects(bus.writeView(makeView('va', Date.now(), {}), 1_000));
      assert.ok(performance.now() - t0 < 100, `calls took ${performance.now() - t0} ms`);
      await redis.restart();
      await bus.whenConnected(3_000);
      assert.equal(bus.connected, true);
      assert.ok(resyncs >= 1);
      assert.deepEqual(await bus.readViews(), []);
    } finally {
      await bus.close();
    }
  });
});
