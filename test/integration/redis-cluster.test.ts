/**
 * Redis Cluster (three masters, real redis-server processes): the ConfigStore and HealthBus
 * contract suites run unchanged on it, a notice published through one node reaches subscribers on
 * every node (classic pub/sub is broadcast over the cluster bus), and a real `meridian serve` with
 * a `redis: { cluster: [...] }` section takes an API change into its DNS answers. Every key Meridian
 * writes carries the `{meridian}` hash tag, so all of them sit in one slot on one node.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { busContract, type BusHarness } from '../../src/health/bus.contract.js';
import { RedisBus } from '../../src/health/redis-bus.js';
import { makeView, obs } from '../../src/health/testkit.js';
import { resolveRedis, type RedisConnection } from '../../src/redis/config.js';
import { openRedisStore, type RedisStore } from '../../src/store/redis.js';
import type { ChainOptions } from '../../src/store/chain.js';
import { storeContract, type StoreHarness } from '../../src/store/store.contract.js';
import { startAdminNode, US_EAST } from '../helpers/admin-node.js';
import { redisHaSkipReason, respCommand, startRedisCluster, type TestCluster } from '../helpers/redis.js';

const skip = redisHaSkipReason();
let cluster: TestCluster;
before(async () => {
  if (!skip) cluster = await startRedisCluster(3);
});
after(() => cluster?.stop());

/** The connection a `redis: { cluster: [...] }` section resolves to (the same path `serve` takes). */
function connection(): RedisConnection {
  return resolveRedis({ section: { cluster: cluster.nodes }, legacyUrl: null, env: {}, baseDir: '.' })!;
}
const tag = (): string => `{t-${randomBytes(4).toString('hex')}}`;

async function storeSetup(opts: ChainOptions = {}): Promise<StoreHarness> {
  const prefix = tag();
  const opened: RedisStore[] = [];
  const open = async (): Promise<RedisStore> => {
    opened.push(await openRedisStore(connection(), { prefix, pollMs: 100, retryMaxMs: 200, ...opts }));
    return opened.at(-1)!;
  };
  const store = await open();
  return {
    store,
    reopen: open,
    writers: async (n) => [store, ...(await Promise.all(Array.from({ length: n - 1 }, open)))],
    settleMs: 350,
    close: async () => {
      await Promise.all(opened.map((s) => s.close()));
    },
  };
}

async function connectedBus(prefix: string): Promise<RedisBus> {
  const bus = new RedisBus({ connection: connection(), prefix, retryMaxMs: 200 });
  await bus.whenConnected();
  return bus;
}

async function busSetup(): Promise<BusHarness> {
  const prefix = tag();
  const bus = await connectedBus(prefix);
  return { bus, reopen: () => connectedBus(prefix), elapse: (ms) => sleep(ms), now: Date.now, ttlMs: 1_500, close: () => bus.close() };
}

storeContract('RedisStore on a three-master Redis Cluster', storeSetup, skip);
busContract('RedisBus on a three-master Redis Cluster', busSetup, skip);

describe('Redis Cluster specifics', { skip }, () => {
  it('a bus notice published on the slot owner reaches a subscriber on every node', async (t) => {
    const prefix = tag();
    const bus = await connectedBus(prefix);
    const subs = cluster.ports.map((port) => new Redis(port, '127.0.0.1'));
    t.after(async () => {
      await bus.close();
      subs.forEach((s) => s.disconnect());
    });
    const got = subs.map(() => [] as string[]);
    await Promise.all(subs.map((s, i) => s.subscribe(`${prefix}:health`).then(() => s.on('message', (_c: string, m: string) => got[i]!.push(m)))));
    await bus.writeView(makeView('v1', Date.now(), { 'eu/a': obs('up', Date.now()) }), 5_000);
    for (let i = 0; i < 100 && got.some((g) => g.length === 0); i++) await sleep(20);
    assert.deepEqual(
      got.map((g) => g.length),
      [1, 1, 1],
      'one notice on each of the three nodes',
    );
  });

  it('meridian serve on the cluster: an API change reaches DNS, and every key it and the bus write is {meridian}-tagged in one slot', async (t) => {
    const node = await startAdminNode({ cluster: cluster.nodes });
    let bus: RedisBus | null = null;
    t.after(async () => {
      await bus?.close();
      await node.stop();
    });
    assert.equal(await node.answer(), '192.0.2.10', 'seeded from the YAML');
    const res = await node.api('PUT', '/v1/regions/us-east?reason=cluster', { location: US_EAST.location, addresses: { ipv4: ['192.0.2.77'], ipv6: [] } });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    let seen: string | undefined;
    for (let i = 0; i < 100 && seen !== '192.0.2.77'; i++) {
      seen = await node.answer();
      if (seen !== '192.0.2.77') await sleep(20);
    }
    assert.equal(seen, '192.0.2.77', 'the change is in the answers');

    // The health bus with the production prefix: a view, a load report, an override.
    bus = await connectedBus('{meridian}');
    const now = Date.now();
    await bus.writeView(makeView('v1', now, { 'us-east/a': obs('up', now) }, 'us-east'), 5_000);
    await bus.writeLoad({ region: 'us-east', forwarder: 'f1', at: now, ttlMs: 5_000, capacity: 10, active: 1, newPerSec: 0, connectFailuresPerSec: 0, backends: {} }, 5_000);
    await bus.writeOverride({ scope: 'region/eu-west', state: 'drained', expiresAt: null, reason: 'audit', author: 'test', createdAt: now });

    // The contract suites above wrote under their own `{t-…}` tags; everything else is this test's.
    const keysByNode = await Promise.all(cluster.ports.map(async (p) => ((await respCommand(p, ['KEYS', '*'])) as string[]).filter((k) => !k.startsWith('{t-'))));
    const all = keysByNode.flat();
    const untagged = all.filter((k) => !k.startsWith('{meridian}:'));
    assert.deepEqual(untagged, [], 'every key carries the {meridian} hash tag');
    for (const kind of ['config:head', 'config:v:2', 'config:meta', 'audit', 'audit:seq', 'health:vantages', 'load:us-east', 'overrides']) {
      assert.ok(all.includes(`{meridian}:${kind}`), `${kind} was written`);
    }
    assert.equal(keysByNode.filter((ks) => ks.length > 0).length, 1, 'all of them on the one node owning the slot');
  });
});
