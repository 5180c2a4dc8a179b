/**
 * Issue 17 (bench:scale): every endpoint registration compiled the whole config document twice on
 * the DNS event loop, once when the admin API validated it and again when the node applied the
 * version it had just committed (0.3-0.7 s each at 10,000 endpoints). Counted through a real
 * `meridian serve`'s `meridian_config_compiles_total`, never timed: one write is one compile and
 * the version it commits is applied from it (reused), with the file store and with the Redis store;
 * the same registration again compiles nothing.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startMeridianWithApi, type ApiNode } from '../helpers/apiproc.js';
import { startClusterNode, type ClusterNode } from '../helpers/cluster.js';
import { freePort } from '../helpers/dnsproc.js';
import { redisSkipReason, startRedis, type TestRedis } from '../helpers/redis.js';
import { metric, until } from '../helpers/role.js';
import { REGIONS, sharedServices, Z, ZONE } from '../helpers/dryrun-fixture.js';

const EXTRA = { regions: REGIONS.slice(0, 3), services: sharedServices(20) };
const ENDPOINT = { id: 'web-9', address: '192.0.2.99', port: 443 };

type Api = (method: string, path: string, body?: unknown) => Promise<{ status: number; version: number }>;

async function compiles(metricsPort: number): Promise<{ compiled: number; reused: number; version: number }> {
  const read = async (series: string): Promise<number> => (await metric(metricsPort, series)) ?? NaN;
  return {
    compiled: await read('meridian_config_compiles_total{result="compiled"}'),
    reused: await read('meridian_config_compiles_total{result="reused"}'),
    version: await read('meridian_config_version'),
  };
}

/** Registers ENDPOINT in the first region, waits until the node applied it; the counters' moves. */
async function registerOnce(api: Api, metricsPort: number): Promise<{ compiled: number; reused: number; status: number }> {
  const before = await compiles(metricsPort);
  const res = await api('POST', `/v1/regions/${REGIONS[0]!.id}/endpoints`, ENDPOINT);
  if (res.status === 201) await until(async () => (await compiles(metricsPort)).version === res.version, 30_000, `version ${res.version} applied`);
  const after = await compiles(metricsPort);
  return { compiled: after.compiled - before.compiled, reused: after.reused - before.reused, status: res.status };
}

async function checkWrites(api: Api, metricsPort: number): Promise<void> {
  const first = await registerOnce(api, metricsPort);
  assert.equal(first.status, 201);
  assert.deepEqual({ compiled: first.compiled, reused: first.reused }, { compiled: 1, reused: 1 }, 'a registration: validated once, applied from that compile');
  const again = await registerOnce(api, metricsPort);
  assert.equal(again.status, 200, 'the same registration again changes nothing');
  assert.equal(again.compiled, 0, 'and compiles nothing');
}

describe('one compile per config write', { timeout: 180_000 }, () => {
  let node: ApiNode;
  let metricsPort: number;
  before(async () => {
    metricsPort = await freePort();
    node = await startMeridianWithApi({ zones: [{ origin: Z, text: ZONE }], extra: { ...EXTRA, metrics: { listen: `127.0.0.1:${metricsPort}` } } });
  });
  after(() => node?.stop());

  it('file store: a registration is compiled once and its version applied from that compile', async () => {
    await until(async () => (await compiles(metricsPort)).version > 0, 30_000, 'store version applied');
    await checkWrites(async (m, p, b) => {
      const r = await node.api(m, p, b);
      return { status: r.status, version: r.json?.version };
    }, metricsPort);
  });
});

describe('one compile per config write: Redis store', { skip: redisSkipReason(), timeout: 180_000 }, () => {
  let redis: TestRedis;
  let node: ClusterNode;
  let metricsPort: number;
  before(async () => {
    redis = await startRedis();
    metricsPort = await freePort();
    node = await startClusterNode({ redisUrl: redis.url, extra: { metrics: { listen: `127.0.0.1:${metricsPort}` } } });
  });
  after(async () => {
    await node?.stop();
    await redis?.stop();
  });

  it('a registration is compiled once and its version applied from that compile', async () => {
    await until(async () => (await compiles(metricsPort)).version > 0, 30_000, 'store version applied');
    await checkWrites(async (m, p, b) => {
      const r = await node.api(m, p, b);
      return { status: r.status, version: r.body?.version };
    }, metricsPort);
  });
});
