/**
 * /healthz and /readyz on the metrics listener of every role (issue 18), as a load balancer or a
 * Kubernetes probe sees them: real `meridian serve|probe|forward` processes, a real redis-server
 * that is down or up, plain HTTP.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { freePort } from '../helpers/dnsproc.js';
import { startRedis, redisSkipReason } from '../helpers/redis.js';
import { acceptor, clusterYaml, deferrer, portOf, probeYaml, spawnRole, until } from '../helpers/role.js';

interface Probe {
  status: number;
  body: { status: string; reasons?: string[]; notes?: string[] };
}

async function get(port: number, path: string): Promise<Probe> {
  const r = await fetch(`http://127.0.0.1:${port}${path}`);
  return { status: r.status, body: (await r.json()) as Probe['body'] };
}

/** A role on `args` with --metrics (serve: metrics.listen in its YAML), started until its ready log line. */
async function role(t: TestContext, args: string[], metricsPort: number) {
  const p = spawnRole(args);
  deferrer(t)(() => p.stop());
  await p.line((l) => l.msg === 'ready', 60_000, `${args[0]} ready`);
  assert.equal((await get(metricsPort, '/healthz')).status, 200, 'alive whatever its readiness');
  return p;
}

function yamlFile(t: TestContext, text: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'meridian-readyz-'));
  deferrer(t)(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'meridian.yaml');
  writeFileSync(file, text);
  return file;
}

/** A redis-server killed before the role starts (restart() brings it back, empty) and a TCP endpoint that passes checks. */
async function redisDown(t: TestContext) {
  const defer = deferrer(t);
  const redis = await startRedis();
  defer(() => redis.stop());
  await redis.kill();
  const web = await acceptor();
  defer(() => web.close());
  return { redis, web };
}

test('serve on Redis with Redis down before the first snapshot: 503 with the reason, 200 once Redis is up', { skip: redisSkipReason() }, async (t) => {
  const { redis, web } = await redisDown(t);
  const metricsPort = await freePort();
  const dnsPort = await freePort();
  const file = yamlFile(t, probeYaml(redis.url, [{ id: 'web-1', port: portOf(web) }], { dns: { listen: [`127.0.0.1:${dnsPort}`] }, metrics: { listen: `127.0.0.1:${metricsPort}` } }));
  await role(t, ['serve', '--config', file], metricsPort);
  const down = await get(metricsPort, '/readyz');
  assert.equal(down.status, 503);
  assert.equal(down.body.status, 'not ready');
  assert.deepEqual(down.body.reasons, ['health: no snapshot read from Redis yet (Redis not connected)']);
  const page = await fetch(`http://127.0.0.1:${metricsPort}/metrics`).then((r) => r.text());
  assert.match(page, /^meridian_health_redis_connected 0$/m, '/metrics still served');
  await redis.restart();
  await until(async () => (await get(metricsPort, '/readyz')).status === 200, 20_000, '/readyz 200 after Redis is back');
  assert.deepEqual((await get(metricsPort, '/readyz')).body, { status: 'ready', reasons: [], notes: [] });
});

test('serve in embedded mode is ready at once; unknown paths are 404 and other methods 405', async (t) => {
  const metricsPort = await freePort();
  const dnsPort = await freePort();
  const zone = new URL('../fixtures/gslb.example.com.zone', import.meta.url).pathname;
  const file = yamlFile(t, JSON.stringify({ dns: { listen: [`127.0.0.1:${dnsPort}`] }, zones: [{ origin: 'gslb.example.com', file: zone }], metrics: { listen: `127.0.0.1:${metricsPort}` } }));
  await role(t, ['serve', '--config', file], metricsPort);
  assert.deepEqual(await get(metricsPort, '/readyz'), { status: 200, body: { status: 'ready', reasons: [], notes: [] } });
  assert.equal((await fetch(`http://127.0.0.1:${metricsPort}/nope`)).status, 404);
  assert.equal((await fetch(`http://127.0.0.1:${metricsPort}/readyz`, { method: 'POST' })).status, 405);
});

test('probe: 503 while its view cannot reach the bus, 200 once published', { skip: redisSkipReason() }, async (t) => {
  const { redis, web } = await redisDown(t);
  const metricsPort = await freePort();
  const file = yamlFile(t, probeYaml(redis.url, [{ id: 'web-1', port: portOf(web) }]));
  await role(t, ['probe', '--region', 'us-east', '--metrics', `127.0.0.1:${metricsPort}`, '--config', file], metricsPort);
  const down = await get(metricsPort, '/readyz');
  assert.equal(down.status, 503);
  assert.deepEqual(down.body.reasons, ['health bus: the view was not published yet']);
  await redis.restart();
  await until(async () => (await get(metricsPort, '/readyz')).status === 200, 20_000, 'probe /readyz 200 after Redis is back');
});

test('forward in cluster mode with Redis down and no local copy: 503 naming the config and the health snapshot', { skip: redisSkipReason() }, async (t) => {
  const defer = deferrer(t);
  const redis = await startRedis();
  defer(() => redis.stop());
  const { file } = await clusterYaml(t, redis.url);
  await redis.kill();
  const metricsPort = await freePort();
  await role(t, ['forward', '--region', 'us-east', '--metrics', `127.0.0.1:${metricsPort}`, '--config', file], metricsPort);
  const down = await get(metricsPort, '/readyz');
  assert.equal(down.status, 503);
  assert.deepEqual(down.body.reasons, [
    'config: no config-store version applied yet (store not reached, no local copy); running on the YAML seed',
    'health: no snapshot read from Redis yet (Redis not connected)',
  ]);
});
