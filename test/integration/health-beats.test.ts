/**
 * Issue 17 (bench:scale profile): every probe heartbeat rewrote the probe's whole view and
 * announced it, and every DNS node answered the notice with a full read of every vantage's view
 * and a recompute of every endpoint, on the DNS event loop: with 10,000 endpoints about a read of
 * 10,000 observations per probe every 5 s per node, O(endpoints × vantages²) a second across
 * vantages. Now a heartbeat is a `beat` (the view's heartbeat and TTL only) and a node that holds
 * the view just moves its deadline. Counted through a real `meridian probe` and a real
 * `meridian serve` on Redis (`meridian_health_full_recomputes_total`), never timed: a dozen beats
 * cost at most two full recomputes (a whole view is still written every 12 beats), and a recompute
 * afterwards (a reload) still counts the vantage live. (That a beat moves the cached deadline, with
 * no whole view in between, is src/health/source.test.ts's.)
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { freePort } from '../helpers/dnsproc.js';
import { redisSkipReason, startRedis } from '../helpers/redis.js';
import { acceptor, deferrer, metric, portOf, spawnRole, until } from '../helpers/role.js';
import { allowLoopback } from '../helpers/targets.js';

const TTL = 1_500;
const ZONE = 'gslb.example.com';

test('probe heartbeats make no DNS node re-read the views', { skip: redisSkipReason(), timeout: 180_000 }, async (t) => {
  const defer = deferrer(t);
  const redis = await startRedis();
  defer(() => redis.stop());
  const web = await acceptor();
  defer(() => web.close());
  const dir = mkdtempSync(join(tmpdir(), 'meridian-beats-'));
  defer(() => rmSync(dir, { recursive: true, force: true }));
  const metricsPort = await freePort();
  const dnsPort = await freePort();
  writeFileSync(join(dir, 'zone'), `$ORIGIN ${ZONE}.\n$TTL 300\n@ SOA ns1 host 1 7200 3600 1209600 300\n@ NS ns1\nns1 A 127.0.0.1\n`);
  const file = join(dir, 'meridian.yaml');
  const config = {
    zones: [{ origin: ZONE, file: 'zone' }],
    dns: { listen: [`127.0.0.1:${dnsPort}`] },
    metrics: { listen: `127.0.0.1:${metricsPort}` },
    // Beats every TTL / 3 = 500 ms; no timer-driven read during the test.
    health: { redisUrl: redis.url, heartbeatTtlMs: TTL, resyncIntervalMs: 600_000, probe: { intervalMs: 200, timeoutMs: 150 } },
    regions: [
      {
        id: 'us-east',
        location: { lat: 39, lon: -77, continent: 'NA', country: 'US' },
        addresses: { ipv4: ['192.0.2.10'] },
        endpoints: [{ id: 'web-1', address: '127.0.0.1', port: portOf(web) }],
      },
    ],
    services: [{ name: `svc.${ZONE}`, ttl: 30, regions: ['us-east'], policy: { failover: ['us-east'] } }],
  };
  writeFileSync(file, JSON.stringify(allowLoopback(config)));
  const node = spawnRole(['serve', '--config', file]);
  defer(() => node.stop());
  await node.line((l) => l.msg === 'ready', 60_000, 'serve ready');
  const probe = spawnRole(['probe', '--region', 'us-east', '--config', file]);
  defer(() => probe.stop());
  const live = async (): Promise<number> => (await metric(metricsPort, 'meridian_health_live_vantages')) ?? 0;
  const recomputes = async (): Promise<number> => (await metric(metricsPort, 'meridian_health_full_recomputes_total')) ?? NaN;
  await until(async () => (await live()) === 1 && (await metric(metricsPort, 'meridian_health_endpoint_up{region="us-east",endpoint="web-1"}')) === 1, 60_000, 'the probe view live on the node');

  const before = await recomputes();
  // 12 beats; 4 TTLs: without the beats reaching the node's cached view, the vantage would expire.
  await new Promise((r) => setTimeout(r, 4 * TTL));
  const after = await recomputes();
  assert.ok(after - before <= 2, `full recomputes during 12 heartbeats: ${after - before}`);
  // A reload recomputes from the node's cache.
  node.proc.kill('SIGHUP');
  await until(async () => (await recomputes()) > after, 30_000, 'the reload recomputed');
  assert.equal(await live(), 1, 'the vantage is live');
  assert.equal(await metric(metricsPort, 'meridian_health_endpoint_up{region="us-east",endpoint="web-1"}'), 1);
});
