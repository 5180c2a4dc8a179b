/**
 * The config store in cluster mode, end to end: three DNS nodes follow one real redis-server; changes
 * made through one node's admin API reach every node's DNS answers (the propagation time printed);
 * a node boots from its local copy while Redis is down and catches up once it is back.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { pino } from 'pino';
import { startDnsNode, type DnsNode } from '../../src/serve.js';
import { decode, query, udpExchange } from '../helpers/client.js';
import { redisSkipReason, startRedis, type TestRedis } from '../helpers/redis.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

const Z = 'gslb.example.com';
const skip = redisSkipReason();

async function answer(port: number): Promise<string | undefined> {
  const raw = await udpExchange(port, query(`svc.${Z}`, 'A'), { timeoutMs: 500 });
  return raw ? (decode(raw).answers[0]?.data as string | undefined) : undefined;
}

async function waitFor(pred: () => Promise<boolean> | boolean, timeoutMs: number, stepMs = 2): Promise<boolean> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (await pred()) return true;
    await new Promise((r) => setTimeout(r, stepMs));
  }
  return false;
}

const percentile = (xs: number[], p: number): number => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.ceil((p / 100) * xs.length) - 1)]!;

function extra(redisUrl: string, admin: boolean) {
  return {
    health: { redisUrl },
    admin: { listen: admin ? '127.0.0.1:0' : null },
    regions: [
      { id: 'us-east', location: { lat: 39, lon: -77, continent: 'NA', country: 'US' }, addresses: { ipv4: ['192.0.2.10'] } },
      { id: 'eu-west', location: { lat: 53, lon: -6, continent: 'EU', country: 'IE' }, addresses: { ipv4: ['198.51.100.10'] } },
    ],
    services: [{ name: `svc.${Z}`, ttl: 30, regions: ['us-east', 'eu-west'], policy: { failover: ['us-east', 'eu-west'] } }],
  };
}

describe('config store, cluster mode: three DNS nodes on one Redis', { skip }, () => {
  let redis: TestRedis;
  const nodes: TestServer[] = [];
  let token = '';

  before(async () => {
    redis = await startRedis();
    // The first node seeds version 1 and carries the admin API; the others only follow.
    nodes.push(await startTestServer({ extra: extra(redis.url, true) }));
    for (let i = 0; i < 2; i++) nodes.push(await startTestServer({ extra: extra(redis.url, false) }));
    token = readFileSync(join(nodes[0]!.dir, 'data', 'admin-token'), 'utf8').trim();
  });
  after(async () => {
    for (const n of nodes) await n.stop();
    await redis?.stop();
  });

  const setAddress = async (address: string): Promise<number> => {
    const res = await nodes[0]!.node.admin!.app.inject({
      method: 'PUT',
      url: '/v1/regions/us-east?reason=test',
      headers: { authorization: `Bearer ${token}` },
      payload: { location: { lat: 39, lon: -77, continent: 'NA', country: 'US' }, addresses: { ipv4: [address], ipv6: [] } },
    });
    assert.equal(res.statusCode, 200, res.body);
    return (res.json() as { version: number }).version;
  };

  test('all nodes start on version 1, seeded once', async () => {
    for (const n of nodes) assert.equal(n.node.follower!.version, 1);
    for (const n of nodes) assert.equal(await answer(n.port), '192.0.2.10');
    assert.equal(await nodes[0]!.node.follower!.store!.head(), 1, 'concurrent boots seed exactly one version');
  });

  test("a change through the API reaches every node's answers (propagation printed, not asserted)", async () => {
    const delays: number[] = [];
    for (let i = 1; i <= 40; i++) {
      const address = `192.0.2.${100 + i}`;
      const start = performance.now();
      const version = await setAddress(address);
      await Promise.all(
        nodes.map(async (n) => {
          const ok = await waitFor(() => n.node.follower!.version >= version, 3000);
          delays.push(performance.now() - start);
          assert.ok(ok, `node applied version ${version}`);
          assert.equal(await answer(n.port), address, 'and answers with it');
        }),
      );
    }
    const p50 = percentile(delays, 50);
    const p99 = percentile(delays, 99);
    console.log(`config propagation to 3 nodes (${delays.length} samples): p50 ${p50.toFixed(1)} ms, p99 ${p99.toFixed(1)} ms`);
    // Reported, not asserted: a loaded CI box once took 1035 ms, which says nothing about Meridian.
    // The 1 s goal is measured by the end-to-end drills; here every node must apply every version.
    assert.equal(delays.length, 40 * nodes.length);
  });

  test('a node boots from its local copy with Redis down, then catches up when Redis is back', async () => {
    const follower = nodes[2]!;
    const latest = follower.node.follower!.version;
    const address = await answer(follower.port);
    await follower.node.close();
    await redis.kill();
    let booted: DnsNode | null = null;
    try {
      booted = await startDnsNode(join(follower.dir, 'meridian.yaml'), pino({ level: 'silent' }));
      assert.equal(booted.follower!.version, latest, 'booted on the local copy');
      assert.equal(await answer(booted.udp[0]!.boundPort), address);
      // A fresh, empty Redis comes back: the first node re-seeds nothing (its store is gone), so
      // write the state again through a new store head and check the booted node follows.
      await redis.restart();
      // Reconnected, and the empty store restored from the node's copy (the store is set before that sync).
      const restored = async (): Promise<boolean> => booted!.follower!.store !== null && (await booted!.follower!.store.head().catch(() => 0)) >= latest;
      assert.ok(await waitFor(restored, 10_000, 50), 'the booted node reconnects to the store and restores it');
      const store = booted.follower!.store!;
      const head = await store.head();
      const record = { ...(await store.get(head))! };
      record.document.regions[0]!.addresses.ipv4 = ['192.0.2.250'];
      const res = await store.commit({ expected: head, document: record.document, diff: [], author: 'test', reason: 'after restart', action: 'test', target: 'region/us-east' });
      assert.ok(res.ok);
      assert.ok(await waitFor(async () => (await answer(booted!.udp[0]!.boundPort)) === '192.0.2.250', 5000, 20), 'caught up after Redis returned');
    } finally {
      await booted?.close();
    }
  });
});
