/**
 * Regression (issue 14, defect 5): a DNS node had two config-swap paths, one for a new store version
 * and one for SIGHUP, and they drifted. A region's forwarder `capacity` set through the API went back
 * to the YAML value on SIGHUP, and after SIGHUP the next store version was compiled with the probe
 * defaults the node started with. Real `meridian serve`, real redis-server, real signals.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Redis } from 'ioredis';
import { SERVICE, startClusterNode, usEast, waitFor, type ClusterNode } from '../helpers/cluster.js';
import { redisSkipReason, startRedis, type TestRedis } from '../helpers/redis.js';

const skip = redisSkipReason();

describe('SIGHUP on a node that follows the config store', { skip, timeout: 120_000 }, () => {
  let redis: TestRedis;
  let node: ClusterNode;
  let reader: Redis;

  before(async () => {
    redis = await startRedis();
    reader = new Redis(redis.url, { lazyConnect: true });
    await reader.connect();
    node = await startClusterNode({
      redisUrl: redis.url,
      extra: {
        health: { redisUrl: redis.url, probe: { intervalMs: 1000, timeoutMs: 500 } },
        forward: {
          listeners: [{ name: 'web', service: SERVICE, listen: '127.0.0.1:0' }],
          embedded: ['us-east'],
          load: { reportIntervalMs: 100, reportTtlMs: 2000 },
        },
      },
    });
  });
  after(async () => {
    await node?.stop();
    reader?.disconnect();
    await redis?.stop();
  });

  /** The newest load report of the embedded us-east forwarder, from Redis. */
  const report = async (): Promise<{ capacity: number; at: number } | null> => {
    const fields = Object.values(await reader.hgetall('{meridian}:load:us-east'));
    return fields.length ? (JSON.parse(fields[0]!) as { capacity: number; at: number }) : null;
  };

  const sighup = async (): Promise<number> => {
    const before = node.logs('reloaded').length;
    node.signal('SIGHUP');
    assert.ok(await waitFor(() => node.logs('reloaded').length > before, 10_000), 'the node logged the reload');
    return Date.now();
  };

  test('a forwarder capacity set through the API survives SIGHUP', async () => {
    const res = await node.api('PUT', '/v1/regions/us-east?reason=capacity', usEast('192.0.2.10', { forwarder: { capacity: 5000 } }));
    assert.equal(res.status, 200, res.text);
    assert.ok(await waitFor(async () => (await report())?.capacity === 5000, 10_000), 'the forwarder reports the capacity from the store');
    const reloadedAt = await sighup();
    // The first report made after the reload shows the capacity the reload left in force.
    assert.ok(await waitFor(async () => ((await report())?.at ?? 0) > reloadedAt, 10_000), 'a report after the reload');
    assert.equal((await report())!.capacity, 5000, 'the API-set capacity stays after SIGHUP');
  });

  test('after SIGHUP, new store versions compile with the reloaded probe defaults', async () => {
    node.editConfig((c) => {
      (c.health as Record<string, unknown>).probe = { intervalMs: 5000, timeoutMs: 500 };
    });
    await sighup();
    // timeoutMs 2000 is valid under intervalMs 5000 (the reloaded defaults), invalid under 1000.
    const res = await node.api('POST', '/v1/regions/us-east/endpoints?reason=probe-defaults', { id: 'web1', address: '127.0.0.1', port: 9, check: { type: 'tcp', timeoutMs: 2000 } });
    assert.equal(res.status, 201, res.text);
    const status = await node.api('GET', '/v1/status');
    assert.equal(status.status, 200, status.text);
    assert.equal(status.body.applied, res.body.version, 'the node applies the version the API accepted');
    assert.deepEqual(node.logs('does not compile'), [], 'no node refused the version');
  });
});
