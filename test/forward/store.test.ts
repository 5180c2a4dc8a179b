/**
 * `meridian forward` in cluster mode follows the config store (issue 14, defect 3): an endpoint
 * registered through the admin API of a `meridian serve` becomes a backend without a restart, one
 * deregistered stops getting connections, a SIGHUP keeps the store's endpoints, and a forwarder
 * restarted while Redis is down serves the backends of its local copy. A forwarder never writes the
 * store: it neither seeds a new cluster's nor restores one that lost its data (DNS nodes do, their
 * copies hold the tokens). Real processes, real Redis.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { openRedisStore } from '../../src/store/redis.js';
import { SERVICE, startClusterNode, usEast } from '../helpers/cluster.js';
import { freePort } from '../helpers/dnsproc.js';
import { redisSkipReason, startRedis } from '../helpers/redis.js';
import { deferrer, spawnRole, type LogLine, type RoleProcess } from '../helpers/role.js';
import { client, makeConfig, roundTrip, startBackend, webListener, type Backend } from './helpers.js';

async function connectThrough(port: number, text: string): Promise<void> {
  const c = await client(port);
  await roundTrip(c, text);
  c.socket.end();
}

describe('meridian forward follows the config store (Redis)', { skip: redisSkipReason() }, () => {
  it('endpoints registered and deregistered through the admin API are its backends', async (t) => {
    const defer = deferrer(t);
    const redis = await startRedis();
    defer(() => redis.stop());
    const a = await startBackend();
    defer(() => a.close());
    const b = await startBackend();
    defer(() => b.close());
    const listenPort = await freePort();
    const node = await startClusterNode({
      redisUrl: redis.url,
      readyTimeoutMs: 60_000,
      extra: {
        regions: [{ id: 'eu', ...usEast('192.0.2.10', { endpoints: [{ id: 'a', address: '127.0.0.1', port: a.port }] }) }],
        services: [{ name: SERVICE, regions: ['eu'], policy: { failover: ['eu'] } }],
        forward: { listeners: [{ name: 'web', service: SERVICE, listen: `127.0.0.1:${listenPort}` }], drainDeadlineMs: 1_000, connectTimeoutMs: 1_000 },
      },
    });
    defer(() => node.stop());
    let fwd: RoleProcess | null = null;
    defer(() => fwd?.stop());
    const api = async (method: string, path: string, body?: unknown): Promise<number> => (await node.api(method, path, body)).status;
    const startForward = (): RoleProcess => spawnRole(['forward', '--region', 'eu', '--config', node.proc.configPath], { REDIS_URL: redis.url });
    const applied = (version: number) => (l: LogLine) => l.msg === 'config version applied' && l.version === version;
    const total = (x: Backend): number => x.sockets.length;

    fwd = startForward();
    await fwd.line((l) => l.msg === 'ready', 60_000, 'forwarder ready');
    await connectThrough(listenPort, 'to a');
    assert.deepEqual([total(a), total(b)], [1, 0]);

    // As an autoscaler would: register b, then deregister a (versions 2 and 3).
    assert.equal(await api('POST', '/v1/regions/eu/endpoints', { id: 'b', address: '127.0.0.1', port: b.port }), 201);
    assert.equal(await api('DELETE', '/v1/regions/eu/endpoints?id=a'), 200);
    await fwd.line(applied(3), 10_000, 'the forwarder applied version 3');
    await connectThrough(listenPort, 'to b');
    assert.deepEqual([total(a), total(b)], [1, 1], 'the registered endpoint took the connection; the deregistered one got nothing');

    // SIGHUP re-reads the YAML's settings; the endpoints stay the store's (the YAML still names a).
    fwd.proc.kill('SIGHUP');
    await fwd.line((l) => l.msg === 'reloaded', 10_000, 'reloaded');
    await connectThrough(listenPort, 'to b after SIGHUP');
    assert.deepEqual([total(a), total(b)], [1, 2]);

    // Static stability: restarted while Redis is down, it serves from its local copy of version 3.
    await fwd.stop();
    await redis.kill();
    fwd = startForward();
    await fwd.line((l) => l.msg === 'ready', 60_000, 'forwarder ready without Redis');
    await connectThrough(listenPort, 'to b from the local copy');
    assert.deepEqual([total(a), total(b)], [1, 3]);
  });

  it("a store found empty is left for a DNS node to restore: a forwarder's copy holds no tokens", async (t) => {
    const defer = deferrer(t);
    const redis = await startRedis();
    defer(() => redis.stop());
    const a = await startBackend();
    defer(() => a.close());
    const { config, dir, cleanup } = makeConfig([{ id: 'eu', backends: [a.port] }], { listeners: [webListener()], drainDeadlineMs: 1_000 }, undefined, {
      admin: { listen: null },
      health: { redisUrl: redis.url },
    });
    defer(cleanup);
    const store = await openRedisStore(redis.url);
    defer(() => store.close());
    const fwd = spawnRole(['forward', '--region', 'eu', '--config', join(dir, 'meridian.yaml')], { REDIS_URL: redis.url });
    defer(() => fwd.stop());
    await fwd.line((l) => l.msg === 'ready', 60_000, 'forwarder ready');
    assert.equal(await store.head(), 0, "a forwarder does not seed a new cluster's store either");
    // A DNS node seeds version 1 (here: the test, with the YAML's document).
    assert.ok((await store.commit({ expected: 0, document: config.document, diff: [], author: 'bootstrap', reason: 'seeded from the YAML config', action: 'seed', target: 'config' })).ok);
    await fwd.line((l) => l.msg === 'config version applied' && l.version === 1, 10_000, 'the forwarder applied version 1');
    const ready = fwd.lines.find((l) => l.msg === 'forwarder ready')!;
    const port = Number(
      String((ready.listeners as string[])[0])
        .split(':')
        .pop(),
    );

    await redis.restart(); // empty
    await fwd.line((l) => /keeping this version until a DNS node restores it/.test(String(l.msg)), 15_000, 'the forwarder saw the empty store');
    await new Promise((r) => setTimeout(r, 2_500)); // a few head checks (2 s) later
    assert.equal(await store.head(), 0, 'the forwarder restored nothing');
    assert.equal(fwd.lines.filter((l) => /lost its data/.test(String(l.msg))).length, 1, 'said once');
    await connectThrough(port, 'still forwarding');
  });
});
