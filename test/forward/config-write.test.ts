/**
 * A region's `forwarder:` block is judged by the forwarder's own rules everywhere (issue 16,
 * defect 5): the admin API refuses a block `meridian forward` would reject (coded 400 naming the
 * field, no version, no audit entry), and a bad block that reaches the store anyway (written by an
 * older node) is rejected by the forwarders for its region only: that region keeps its last good
 * block, logged once with the code and counted, while every other region's changes still apply.
 * Real processes: `meridian serve` with the admin API on a real redis-server and one `meridian
 * forward` per region; what a TCP client reaches through each forwarder is the proof.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { ConfigDocument } from '../../src/config/document.js';
import { openRedisStore } from '../../src/store/redis.js';
import { SERVICE, startClusterNode, usEast, type ClusterNode } from '../helpers/cluster.js';
import { freePort } from '../helpers/dnsproc.js';
import { redisSkipReason, startRedis, type TestRedis } from '../helpers/redis.js';
import { metric, spawnRole, type LogLine, type RoleProcess } from '../helpers/role.js';
import { client, roundTrip, startBackend, yamlFixture, type Backend } from './helpers.js';

const CODE = 'MERIDIAN_ERR_INVALID_FORWARDER';

/** One round trip through a forwarder's listener; returns which of `backends` took it. */
async function through(port: number, backends: Record<string, Backend>): Promise<string> {
  const before = Object.fromEntries(Object.entries(backends).map(([k, b]) => [k, b.sockets.length]));
  const c = await client(port);
  await roundTrip(c, 'ping');
  c.socket.end();
  const took = Object.keys(backends).filter((k) => backends[k]!.sockets.length > before[k]!);
  assert.equal(took.length, 1, `exactly one backend took the connection: ${took.join(',')}`);
  return took[0]!;
}

describe('forwarder blocks: one set of rules for the API, the store and the forwarders', { skip: redisSkipReason() }, () => {
  let redis: TestRedis;
  let node: ClusterNode;
  const fwd: Record<'a' | 'b', RoleProcess | null> = { a: null, b: null };
  const backends: Record<string, Backend> = {};
  const port = { a: 0, b: 0, metricsA: 0, metricsB: 0 };
  const cleanups: (() => unknown)[] = [];

  const region = (id: 'a' | 'b', listen: number, forwarder: Record<string, unknown>): Record<string, unknown> => ({
    id,
    ...usEast(id === 'a' ? '192.0.2.10' : '192.0.2.20', {
      endpoints: [1, 2].map((n) => ({ id: `${id}${n}`, address: '127.0.0.1', port: backends[`${id}${n}`]!.port })),
    }),
    forwarder: { listen: { web: `127.0.0.1:${listen}` }, ...forwarder },
  });
  const head = async (): Promise<number> => (await node.api('GET', '/v1/versions?limit=1')).body[0].version as number;
  const auditLength = async (): Promise<number> => ((await node.api('GET', '/v1/audit')).body as unknown[]).length;
  const applied = (version: number) => (l: LogLine) => l.msg === 'config version applied' && l.version === version;

  before(async () => {
    redis = await startRedis();
    cleanups.push(() => redis.stop());
    for (const id of ['a1', 'a2', 'b1', 'b2']) {
      backends[id] = await startBackend();
      cleanups.push(() => backends[id]!.close());
    }
    Object.assign(port, { a: await freePort(), b: await freePort(), metricsA: await freePort(), metricsB: await freePort() });
    // Weight 0 = no new connections: region a sends to a2, region b to b2.
    node = await startClusterNode({
      redisUrl: redis.url,
      extra: {
        regions: [region('a', port.a, { weights: { a1: 0 } }), region('b', port.b, { weights: { b1: 0 } })],
        services: [{ name: SERVICE, regions: ['a', 'b'], policy: { failover: ['a', 'b'] } }],
        forward: { listeners: [{ name: 'web', service: SERVICE, listen: '127.0.0.1:0' }], drainDeadlineMs: 1_000, connectTimeoutMs: 1_000 },
      },
    });
    cleanups.push(() => node.stop());
    for (const id of ['a', 'b'] as const) {
      const metrics = id === 'a' ? port.metricsA : port.metricsB;
      const p = spawnRole(['forward', '--region', id, '--metrics', `127.0.0.1:${metrics}`, '--config', node.proc.configPath], { REDIS_URL: redis.url });
      fwd[id] = p;
      cleanups.push(() => p.stop());
    }
    for (const id of ['a', 'b'] as const) await fwd[id]!.line(applied(1), 60_000, `forwarder ${id} on version 1`);
  });
  after(async () => {
    for (const c of cleanups.reverse())
      await Promise.resolve()
        .then(c)
        .catch(() => undefined);
  });

  it('the API refuses a block the forwarder would reject: coded 400 naming the field, nothing changes', async () => {
    assert.equal(await through(port.a, backends), 'a2');
    const version = await head();
    const audit = await auditLength();
    const current = (await node.api('GET', '/v1/regions/a')).body as Record<string, unknown>;
    const good = current.forwarder as Record<string, unknown>;
    // Each also moves a's weight to a1: were any of it applied, a connection would reach a1.
    const moved = { ...good, weights: { a2: 0 } };
    const cases: [string, Record<string, unknown>, string][] = [
      ['relay is not host:port', { ...moved, relay: 'relay.example:9000' }, '/regions/0/forwarder/relay'],
      ['relay port out of range', { ...moved, relay: '127.0.0.1:70000' }, '/regions/0/forwarder/relay'],
      ['listen address is not an IP', { ...moved, listen: { web: 'localhost:8080' } }, '/regions/0/forwarder/listen/web'],
      ['listen names no listener', { ...moved, listen: { ...(good.listen as object), nosuch: '127.0.0.1:9' } }, '/regions/0/forwarder/listen/nosuch'],
      ['weight of no endpoint of the region', { ...moved, weights: { a2: 0, b1: 3 } }, '/regions/0/forwarder/weights/b1'],
      ['relay on the port a listener binds', { ...moved, relay: `127.0.0.1:${port.a}` }, '/regions/0/forwarder/relay'],
      ['relay on a wildcard address of a listener port', { ...moved, relay: `0.0.0.0:${port.a}` }, '/regions/0/forwarder/relay'],
      // Second fresh-eyes review of issue 16: a wildcard, port-0 relay was taken and opened on every interface.
      ['relay on a wildcard address and port 0', { ...moved, relay: '0.0.0.0:0' }, '/regions/0/forwarder/relay'],
      ['relay on port 0', { ...moved, relay: '127.0.0.1:0' }, '/regions/0/forwarder/relay'],
    ];
    for (const [what, forwarder, field] of cases) {
      const res = await node.api('PUT', '/v1/regions/a', { ...current, forwarder });
      assert.equal(res.status, 400, `${what}: ${res.text}`);
      assert.equal(res.body.error.code, CODE, what);
      assert.equal(res.body.error.field, field, `${what}: ${res.text}`);
      assert.match(res.body.error.message, /^MERIDIAN_ERR_INVALID_FORWARDER: region a: forwarder\./, what);
    }
    assert.equal(await head(), version, 'no new version');
    assert.equal(await auditLength(), audit, 'no audit entry');
    assert.equal(await through(port.a, backends), 'a2', 'the running config is unchanged');
    // The same block with the problem fixed is taken.
    assert.equal((await node.api('PUT', '/v1/regions/a', { ...current, forwarder: { ...moved, relay: `127.0.0.1:${await freePort()}` } })).status, 200);
    await fwd.a!.line(applied(version + 1), 10_000, 'forwarder a applied the good block');
    assert.equal(await through(port.a, backends), 'a1');
  });

  it('a bad block already in the store is rejected for its region only: other regions keep updating', async () => {
    // Each change below would move a region's connections to its other backend, were it applied.
    const other = (id: string): string => (id.endsWith('1') ? id.replace('1', '2') : id.replace('2', '1'));
    const aBefore = await through(port.a, backends);
    const bBefore = await through(port.b, backends);
    // An older node writes a block today's forwarder refuses, straight into the store.
    const store = await openRedisStore(redis.url);
    cleanups.push(() => store.close());
    const current = (await store.get(await store.head()))!;
    const document = structuredClone(current.document) as ConfigDocument;
    const a = document.regions.find((r) => r.id === 'a')!;
    a.forwarder = { ...a.forwarder!, weights: { [aBefore]: 0, [other(aBefore)]: 1 }, relay: 'not-an-address' };
    const bad = await store.commit({ expected: current.version, document, diff: [], author: 'older-node', reason: 'test', action: 'region.put', target: 'region/a' });
    assert.ok(bad.ok);
    for (const id of ['a', 'b'] as const) await fwd[id]!.line(applied(bad.record.version), 10_000, `forwarder ${id} applied version ${bad.record.version}`);
    assert.equal(await through(port.a, backends), aBefore, 'region a keeps its last good block');

    // A good change for region b goes through the API (a's old problem is not this change's) and applies.
    const b = (await node.api('GET', '/v1/regions/b')).body as Record<string, unknown>;
    const res = await node.api('PUT', '/v1/regions/b', { ...b, forwarder: { ...(b.forwarder as object), weights: { [bBefore]: 0 } } });
    assert.equal(res.status, 200, res.text);
    const next = bad.record.version + 1;
    for (const id of ['a', 'b'] as const) await fwd[id]!.line(applied(next), 10_000, `forwarder ${id} applied version ${next}`);
    assert.equal(await through(port.b, backends), other(bBefore), "region b's change reached its forwarder");
    assert.equal(await through(port.a, backends), aBefore, 'region a still proxies with its last good block');

    // Logged once (not again with version `next`), with the code, and counted, by each forwarder.
    for (const [id, metricsPort] of [
      ['a', port.metricsA],
      ['b', port.metricsB],
    ] as const) {
      const logged = fwd[id]!.lines.filter((l) => l.code === CODE);
      assert.equal(logged.length, 1, `forwarder ${id} logged it once: ${JSON.stringify(logged)}`);
      assert.equal(logged[0]!.region, 'a');
      assert.equal(await metric(metricsPort, 'meridian_config_forwarder_rejected_total{region="a"}'), 1, `forwarder ${id} counted it`);
      // The version applied (region a's block aside), not refused as a whole.
      assert.equal(await metric(metricsPort, 'meridian_config_version'), next, `forwarder ${id} runs version ${next}`);
      assert.equal(await metric(metricsPort, 'meridian_config_reload_failures_total{trigger="version"}'), 0);
    }
  });
});

describe('forwarder blocks in the YAML: the same rules at load, in meridian check and meridian forward', () => {
  const Z = 'gslb.example.com';
  const YAML = `zones: [{ origin: ${Z}, file: zone }]
health: { targets: { allow: [127.0.0.0/8] } }
services:
  - { name: www.${Z}, regions: [a, b] }
regions:
  - id: a
    location: { lat: 1, lon: 1, continent: EU, country: DE }
    addresses: { ipv4: [192.0.2.1] }
    endpoints: [{ id: a1, address: 127.0.0.1, port: 8080 }]
    forwarder: { relay: "127.0.0.1:7443" }
  - id: b
    location: { lat: 2, lon: 2, continent: NA, country: US }
    addresses: { ipv4: [192.0.2.2] }
    endpoints: [{ id: b1, address: 127.0.0.1, port: 8080 }]
    forwarder:
      weights: { a1: 2 }
forward:
  listeners: [{ name: web, service: www.${Z}, listen: "0.0.0.0:7443" }]
`;
  const { file, lineOf, run, cleanup } = yamlFixture(YAML);
  after(cleanup);
  const want = [
    `${file}:${lineOf('relay: "127.0.0.1:7443"')}: ${CODE}: region a: forwarder.relay: 127.0.0.1:7443 is also where listener web binds (0.0.0.0:7443)`,
    `${file}:${lineOf('weights: { a1: 2 }')}: ${CODE}: region b: forwarder.weights.a1: no endpoint "a1" in this region`,
  ];

  it('meridian check: one coded line per problem at its file:line, exit 1', () => {
    const r = run('check', '--config', file);
    assert.equal(r.status, 1, r.stderr);
    assert.deepEqual(r.stderr.trimEnd().split('\n'), want);
  });

  it('meridian forward refuses to start on it, with the same lines', () => {
    const r = run('forward', '--region', 'a', '--config', file);
    assert.equal(r.status, 1, r.stderr);
    assert.deepEqual(r.stderr.trimEnd().split('\n'), want);
  });
});
