/**
 * Issue 17 (bench:scale): an endpoint registration gave every zone, region and service of the
 * config its schema defaults and checks again (a structuredClone, `Value.Default` and
 * `Value.Errors` over the whole document: 0.2-0.4 s at 10,000 endpoints on the DNS event loop).
 * Counted through a real `meridian serve`'s `meridian_config_items_checked_total`, never timed: a
 * registration in one region of a 40-region, 400-endpoint, 100-service deployment checks that
 * region only, reuses the others, and the node serves the new endpoint; a registration the schema
 * refuses still gets its coded error, naming the field, and changes nothing. With two nodes on one
 * Redis, the node that did not write applies the version checking and compiling that region only.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { deployment } from '../../bench/scale/deployment.js';
import { startMeridianWithApi, type ApiNode } from '../helpers/apiproc.js';
import { startClusterNode, ZONE, type ClusterNode } from '../helpers/cluster.js';
import { freePort } from '../helpers/dnsproc.js';
import { redisSkipReason, startRedis, type TestRedis } from '../helpers/redis.js';
import { metric, until } from '../helpers/role.js';

const D = deployment({ regions: 40, services: 100, endpoints: 400 });
const KINDS = ['zone', 'region', 'service'] as const;
type Counts = Record<`${(typeof KINDS)[number]}.${'checked' | 'reused'}` | `routing.${'compiled' | 'reused'}`, number>;

async function counts(port: number): Promise<Counts & { version: number }> {
  const out: Record<string, number> = { version: (await metric(port, 'meridian_config_version')) ?? NaN };
  for (const result of ['compiled', 'reused']) out[`routing.${result}`] = (await metric(port, `meridian_config_regions_compiled_total{result="${result}"}`)) ?? NaN;
  for (const kind of KINDS) {
    for (const result of ['checked', 'reused']) {
      out[`${kind}.${result}`] = (await metric(port, `meridian_config_items_checked_total{kind="${kind}",result="${result}"}`)) ?? NaN;
    }
  }
  return out as Counts & { version: number };
}

const moved = (a: Counts, b: Counts): Counts => Object.fromEntries(Object.keys(a).map((k) => [k, b[k as keyof Counts] - a[k as keyof Counts]])) as Counts;

describe('an endpoint registration checks the region it changes, not the whole config', { timeout: 180_000 }, () => {
  let node: ApiNode;
  let metricsPort: number;
  before(async () => {
    metricsPort = await freePort();
    const extra = { regions: D.regions, services: D.services, health: { targets: { allow: ['127.0.0.0/8'] } }, metrics: { listen: `127.0.0.1:${metricsPort}` } };
    node = await startMeridianWithApi({ zones: [{ origin: D.zone, text: D.zoneText }], extra });
  });
  after(() => node?.stop());

  it('one region checked and compiled, 39 regions and 100 services reused, and the endpoint is served', async () => {
    await until(async () => (await counts(metricsPort)).version > 0, 30_000, 'store version applied');
    const start = await counts(metricsPort);
    const res = await node.api('POST', '/v1/regions/r3/endpoints', { id: 'new-1', address: '127.0.0.1', port: 9 });
    assert.equal(res.status, 201, res.text);
    const version = (res.json as { version: number }).version;
    await until(async () => (await counts(metricsPort)).version === version, 30_000, `version ${version} applied`);
    const d = moved(start, await counts(metricsPort));
    assert.deepEqual(
      { zone: d['zone.checked'], region: d['region.checked'], service: d['service.checked'] },
      { zone: 0, region: 1, service: 0 },
      'only the region the registration changed is checked',
    );
    assert.deepEqual({ region: d['region.reused'], service: d['service.reused'] }, { region: 39, service: 100 }, 'every other item is reused, once');
    assert.deepEqual({ compiled: d['routing.compiled'], reused: d['routing.reused'] }, { compiled: 1, reused: 39 }, 'the routing compiler compiles that region only');
    const listed = await node.api('GET', '/v1/regions/r3/endpoints');
    assert.ok(JSON.stringify(listed.json).includes('"new-1"'), listed.text);
  });

  it('a registration the schema refuses: the coded error names the field, and nothing changes', async () => {
    const start = await counts(metricsPort);
    const res = await node.api('POST', '/v1/regions/r4/endpoints', { id: 'bad', address: '127.0.0.1', port: 70_000 });
    assert.equal(res.status, 400, res.text);
    const body = res.json as { error: { code: string; field?: string } };
    assert.equal(body.error.code, 'MERIDIAN_ERR_VALIDATION', res.text);
    assert.match(body.error.field ?? '', /port/);
    assert.equal((await counts(metricsPort)).version, start.version);
  });
});

describe('another node applying the registration checks and compiles that region only (Redis store)', { skip: redisSkipReason(), timeout: 240_000 }, () => {
  const shared = deployment({ regions: 40, services: 100, endpoints: 400, zone: ZONE });
  let redis: TestRedis;
  const nodes: { node: ClusterNode; metricsPort: number }[] = [];
  before(async () => {
    redis = await startRedis();
    for (let i = 0; i < 2; i++) {
      const metricsPort = await freePort(); // one after the other: distinct ports
      const extra = { regions: shared.regions, services: shared.services, health: { redisUrl: redis.url, targets: { allow: ['127.0.0.0/8'] } }, metrics: { listen: `127.0.0.1:${metricsPort}` } };
      nodes.push({ node: await startClusterNode({ redisUrl: redis.url, extra }), metricsPort });
    }
  });
  after(async () => {
    for (const { node } of nodes) await node.stop();
    await redis?.stop();
  });

  it('the follower reuses 39 regions and 100 services', async () => {
    const [writer, follower] = nodes as [(typeof nodes)[0], (typeof nodes)[0]];
    for (const n of nodes) await until(async () => (await counts(n.metricsPort)).version > 0, 30_000, 'store version applied');
    const start = await counts(follower.metricsPort);
    const res = await writer.node.api('POST', '/v1/regions/r7/endpoints', { id: 'new-2', address: '127.0.0.1', port: 9 });
    assert.equal(res.status, 201, res.text);
    const version = (res.body as { version: number }).version;
    await until(async () => (await counts(follower.metricsPort)).version === version, 30_000, `version ${version} applied by the follower`);
    const d = moved(start, await counts(follower.metricsPort));
    assert.deepEqual(
      { zone: d['zone.checked'], region: d['region.checked'], service: d['service.checked'], routing: d['routing.compiled'] },
      { zone: 0, region: 1, service: 0, routing: 1 },
      'the follower checks and compiles the changed region only',
    );
    assert.deepEqual({ region: d['region.reused'], service: d['service.reused'], routing: d['routing.reused'] }, { region: 39, service: 100, routing: 39 });
  });
});
