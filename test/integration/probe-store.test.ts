/**
 * `meridian probe` in cluster mode follows the config store, as DNS nodes do (issue 14, defect 3):
 * an endpoint registered through the admin API of a `meridian serve` is checked and its failure
 * reaches the DNS answers; one deregistered is no longer checked; a probe restarted while Redis is
 * down checks what its local copy of the last version holds; and on an empty store a probe checks
 * the YAML's endpoints without seeding the store (DNS nodes do). Real processes, a real redis-server.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import type { Server } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { loadConfigFile } from '../../src/node/config.js';
import { openRedisStore } from '../../src/store/redis.js';
import { SERVICE, startClusterNode, type ClusterNode } from '../helpers/cluster.js';
import { dig, freePort } from '../helpers/dnsproc.js';
import { redisSkipReason, startRedis, type TestRedis } from '../helpers/redis.js';
import { acceptor, metric, okChecks, portOf, probeYaml, spawnRole, startProbeFixture, until, usEastWith, type RoleProcess } from '../helpers/role.js';

const US = '192.0.2.10';
const EU = '198.51.100.10';
const VANTAGE = 'us-east/p1';

describe('meridian probe follows the config store (cluster mode)', { skip: redisSkipReason() }, () => {
  let redis: TestRedis;
  let node: ClusterNode;
  let probe: RoleProcess;
  let web1: Server;
  let web2: Server;
  let metricsPort = 0;
  let probeMetricsPort = 0;

  const answer = async (): Promise<string> => (await dig(['@127.0.0.1', '-p', String(node.proc.port), SERVICE, 'A', '+short', '+tries=1', '+time=1'])).trim();
  const upSeenBy = (): Promise<number | null> => metric(metricsPort, `meridian_health_vantage_endpoints_up{vantage="${VANTAGE}"}`);
  const startProbe = (): RoleProcess =>
    spawnRole(['probe', '--region', 'us-east', '--vantage', VANTAGE, '--metrics', `127.0.0.1:${probeMetricsPort}`, '--config', node.proc.configPath], { REDIS_URL: redis.url });

  before(async () => {
    redis = await startRedis();
    [web1, web2] = [await acceptor(), await acceptor()];
    [metricsPort, probeMetricsPort] = [await freePort(), await freePort()];
    node = await startClusterNode({
      redisUrl: redis.url,
      readyTimeoutMs: 60_000,
      extra: {
        // Any endpoint down takes its region down, so one failing endpoint shows in the answers.
        health: { redisUrl: redis.url, regionUpFraction: 1, probe: { intervalMs: 200, timeoutMs: 150, rise: 1, fall: 1 } },
        metrics: { listen: `127.0.0.1:${metricsPort}` },
        regions: [
          usEastWith([
            { id: 'web-1', port: portOf(web1) },
            { id: 'web-2', port: portOf(web2) },
          ]),
          { id: 'eu-west', location: { lat: 53, lon: -6, continent: 'EU', country: 'IE' }, addresses: { ipv4: [EU] } },
        ],
      },
    });
    probe = startProbe();
    await probe.line((l) => l.msg === 'ready', 60_000, 'probe ready');
  });
  after(async () => {
    await probe?.stop();
    await node?.stop();
    await redis?.stop();
    web1?.close();
    web2?.close();
  });

  test('both YAML endpoints are checked and up', async () => {
    await until(async () => (await upSeenBy()) === 2, 10_000, 'the probe sees web-1 and web-2 up');
    assert.equal(await answer(), US);
  });

  test('an endpoint deregistered through the API is no longer checked', async () => {
    const res = await node.api('DELETE', '/v1/regions/us-east/endpoints?id=web-2');
    assert.equal(res.status, 200, res.text);
    // The probe's view is what every DNS node reads: web-2 leaves it, so one endpoint is seen up.
    await until(async () => (await upSeenBy()) === 1, 10_000, 'the probe dropped web-2 from its view');
    // The probe runs the version the node made (meridian_config_version, on every role's /metrics).
    assert.equal(await metric(probeMetricsPort, 'meridian_config_version'), await metric(metricsPort, 'meridian_config_version'));
    assert.ok(((await metric(probeMetricsPort, 'meridian_config_version')) ?? 0) >= 2, 'a version after the seed');
    const checks = okChecks(probeMetricsPort);
    const before = await checks('web-2');
    const web1 = await checks('web-1');
    await until(async () => (await checks('web-1')) >= web1 + 3, 10_000, 'web-1 checked three more times');
    assert.equal(await checks('web-2'), before, 'web-2 is not checked any more');
  });

  test('an endpoint registered through the API is checked: its failure reaches the answers', async () => {
    const closed = await freePort(); // nothing listens there: every connect is refused
    const res = await node.api('POST', '/v1/regions/us-east/endpoints', { id: 'web-3', address: '127.0.0.1', port: closed });
    assert.equal(res.status, 201, res.text);
    await until(async () => (await metric(metricsPort, 'meridian_health_endpoint_up{region="us-east",endpoint="web-3"}')) === 0, 10_000, 'web-3 is down on the DNS node');
    await until(async () => (await answer()) === EU, 5_000, 'us-east is down: the answer fails over to eu-west');

    const gone = await node.api('DELETE', '/v1/regions/us-east/endpoints?id=web-3');
    assert.equal(gone.status, 200, gone.text);
    await until(async () => (await answer()) === US, 5_000, 'back to us-east once web-3 is gone');
  });

  test('a probe restarted while Redis is down checks what its local copy holds', async () => {
    const res = await node.api('POST', '/v1/regions/us-east/endpoints', { id: 'web-4', address: '127.0.0.1', port: portOf(web2) });
    assert.equal(res.status, 201, res.text);
    const checks = okChecks(probeMetricsPort);
    await until(async () => (await checks('web-4')) > 0, 10_000, 'the running probe checks web-4');
    await probe.stop();
    await redis.kill();
    probe = startProbe();
    await probe.line((l) => l.msg === 'ready', 60_000, 'probe ready without Redis');
    await until(async () => (await checks('web-4')) > 0, 10_000, 'the restarted probe checks web-4, known only from the store');
    assert.equal(await checks('web-2'), 0, 'web-2, deregistered, stays unchecked');
  });
});

describe('meridian probe on an empty config store', { skip: redisSkipReason() }, () => {
  test("checks the YAML's endpoints, leaves the seeding to a DNS node, then follows what it seeds", async (t) => {
    const { redis, web2, dir, checks } = await startProbeFixture(t, { admin: { listen: null } });
    const store = await openRedisStore(redis.url);
    t.after(() => store.close());
    assert.equal(await store.head(), 0, 'a probe never writes the store: seeding is for the DNS nodes, which hold tokens and overrides');

    // A DNS node seeds version 1 (here: with web-2 in place of web-1).
    writeFileSync(join(dir, 'seed.yaml'), probeYaml(redis.url, [{ id: 'web-2', port: portOf(web2) }], { admin: { listen: null } }));
    const loaded = loadConfigFile(join(dir, 'seed.yaml'));
    assert.ok(loaded.ok);
    const seeded = await store.commit({ expected: 0, document: loaded.config.document, diff: [], author: 'bootstrap', reason: 'seeded from the YAML config', action: 'seed', target: 'config' });
    assert.ok(seeded.ok);
    await until(async () => (await checks('web-2')) > 0, 10_000, 'the probe follows version 1: web-2 is checked');
    const web1Checks = await checks('web-1');
    const web2Checks = await checks('web-2');
    await until(async () => (await checks('web-2')) >= web2Checks + 3, 10_000, 'web-2 checked three more times');
    assert.equal(await checks('web-1'), web1Checks, 'web-1, not in version 1, is no longer checked');
  });
});
