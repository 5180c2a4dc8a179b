/**
 * The config store in embedded mode (files in the data directory): the YAML seeds version 1 once;
 * after that the store is the truth, across restarts and SIGHUP reloads.
 */
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import net from 'node:net';
import { test } from 'node:test';
import { pino } from 'pino';
import { startDnsNode, type DnsNode } from '../../src/serve.js';
import { cli, type CliRun } from '../helpers/cli.js';
import { decode, query, udpExchange } from '../helpers/client.js';
import { startTestServer } from '../helpers/server.js';

const Z = 'gslb.example.com';

async function answer(port: number, name = `svc.${Z}`): Promise<string | undefined> {
  const raw = await udpExchange(port, query(name, 'A'), { timeoutMs: 500 });
  return raw ? (decode(raw).answers[0]?.data as string | undefined) : undefined;
}

const extra = {
  admin: { listen: '127.0.0.1:0' },
  regions: [
    { id: 'us-east', location: { lat: 39, lon: -77, continent: 'NA', country: 'US' }, addresses: { ipv4: ['192.0.2.10'] } },
    { id: 'eu-west', location: { lat: 53, lon: -6, continent: 'EU', country: 'IE' }, addresses: { ipv4: ['198.51.100.10'] } },
  ],
  services: [{ name: `svc.${Z}`, ttl: 30, regions: ['us-east', 'eu-west'], policy: { failover: ['us-east', 'eu-west'] } }],
};

test('embedded store: seeded once from the YAML, then the truth across restart and SIGHUP', async () => {
  const srv = await startTestServer({ extra });
  let restarted: DnsNode | null = null;
  try {
    assert.equal(srv.node.follower!.version, 1);
    assert.deepEqual(readdirSync(join(srv.dir, 'data', 'versions')).filter((f) => f.endsWith('.json')).length, 1);
    const token = readFileSync(join(srv.dir, 'data', 'admin-token'), 'utf8').trim();
    const res = await srv.node.admin!.app.inject({
      method: 'PUT',
      url: `/v1/services/svc.${Z}?reason=prefer-eu`,
      headers: { authorization: `Bearer ${token}` },
      payload: { ttl: 30, regions: ['us-east', 'eu-west'], policy: { failover: ['eu-west', 'us-east'] } },
    });
    assert.equal(res.statusCode, 200, res.body);
    assert.equal(res.headers.etag, '"2"');
    assert.equal(srv.node.follower!.version, 2, 'the API node applies its own commit at once');
    assert.equal(await answer(srv.port), '198.51.100.10');

    // SIGHUP re-reads the YAML's settings but keeps the store's zones/regions/services.
    assert.deepEqual(srv.node.reload(), []);
    assert.equal(await answer(srv.port), '198.51.100.10', 'reload did not bring the YAML service back');

    // A restart reads the store, not the YAML, even though the YAML still says us-east first.
    await srv.node.close();
    restarted = await startDnsNode(join(srv.dir, 'meridian.yaml'), pino({ level: 'silent' }));
    assert.equal(restarted.follower!.version, 2);
    assert.equal(await answer(restarted.udp[0]!.boundPort), '198.51.100.10');
    const versions = await restarted.follower!.store!.list();
    assert.deepEqual(
      versions.map((v) => [v.version, v.action, v.author]),
      [
        [2, 'service.put', 'bootstrap'],
        [1, 'seed', 'bootstrap'],
      ],
    );
    assert.equal(versions[0]!.reason, 'prefer-eu');
  } finally {
    await restarted?.close();
    await srv.stop().catch(() => undefined);
  }
});

test('a store version that no longer compiles under new YAML settings fails the reload, keeping the running data', async () => {
  // An endpoint that is up (a listener of this test): the in-process probes must not move the
  // answer while the test looks at it. (Port 9 made this test depend on whether the first probe,
  // which marks a refused endpoint down at once, ran before the query: it failed a CI run.)
  const up = net.createServer((s) => s.destroy());
  await new Promise<void>((r) => up.listen(0, '127.0.0.1', () => r()));
  const upPort = (up.address() as net.AddressInfo).port;
  const srv = await startTestServer({
    extra: { ...extra, regions: extra.regions.map((r, i) => (i === 0 ? { ...r, endpoints: [{ id: 'web', address: '127.0.0.1', port: upPort, check: { type: 'tcp' } }] } : r)) },
  });
  try {
    const file = join(srv.dir, 'meridian.yaml');
    const yaml = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
    // Probe defaults in the YAML are part of compiling endpoints' checks; make them invalid.
    writeFileSync(file, JSON.stringify({ ...yaml, health: { probe: { intervalMs: 5 } } }));
    const problems = srv.node.reload();
    assert.ok(problems.length > 0, 'reload rejected');
    assert.equal(await answer(srv.port), '192.0.2.10', 'old data keeps answering');
  } finally {
    await srv.stop();
    await new Promise<void>((r) => up.close(() => r()));
  }
});

test("meridian explain asks the live node when it has an admin API; without it, fails or (--offline) reads the store's head", async () => {
  // The CLI finds the API by the configured address, so it needs a real port rather than 0.
  const port = await new Promise<number>((r) => {
    const probe = net.createServer().listen(0, '127.0.0.1', () => {
      const p = (probe.address() as net.AddressInfo).port;
      probe.close(() => r(p));
    });
  });
  const srv = await startTestServer({ extra: { ...extra, admin: { listen: `127.0.0.1:${port}` } } });
  // Asynchronous: the node being asked runs in this process, so the test must not block its loop.
  const explain = (...extra: string[]): Promise<CliRun> => cli(['explain', `svc.${Z}`, '192.0.2.1', '--config', join(srv.dir, 'meridian.yaml'), ...extra]);
  try {
    const token = readFileSync(join(srv.dir, 'data', 'admin-token'), 'utf8').trim();
    const res = await srv.node.admin!.app.inject({
      method: 'PUT',
      url: `/v1/services/svc.${Z}`,
      headers: { authorization: `Bearer ${token}` },
      payload: { ttl: 30, regions: ['us-east', 'eu-west'], policy: { failover: ['eu-west', 'us-east'] } },
    });
    assert.equal(res.statusCode, 200, res.body);
    const live = await explain();
    assert.equal(live.status, 0, live.stderr);
    assert.match(live.stdout, /answer: A 198\.51\.100\.10/);
    assert.match(live.stdout, /view: node API at http:\/\/127\.0\.0\.1:\d+, config version 2 \(live\)/);
    await srv.node.close();
    // The node named by the config cannot be asked: explain fails rather than answer from another view.
    const refused = await explain();
    assert.equal(refused.status, 1, refused.stdout);
    assert.match(refused.stderr, /^explain: MERIDIAN_ERR_API_UNREACHABLE: cannot reach the admin API at http:\/\/127\.0\.0\.1:\d+: connection refused; .*--offline/);
    assert.equal(refused.stdout, '');
    // --offline: computed here, from the store's head (version 2), not from the YAML, and said loudly.
    const offline = await explain('--offline');
    assert.equal(offline.status, 0, offline.stderr);
    assert.match(offline.stdout, /answer: A 198\.51\.100\.10/);
    assert.match(offline.stdout, /view: in-process from .*meridian\.yaml, config store version 2/);
    assert.match(offline.stderr, /WARNING: --offline: computed in this process/);
  } finally {
    await srv.stop().catch(() => undefined);
  }
});
