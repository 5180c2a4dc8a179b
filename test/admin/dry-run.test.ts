/**
 * `?dryRun=true` changes nothing, on every write route, generated from the API's own description.
 * A real `meridian serve` process (the demo's zone, regions and services, with the admin API) is
 * started; every write operation of its /openapi.json is called with `dryRun=true`, and versions,
 * overrides, tokens, the audit log and the live DNS answers (UDP, several ECS clients) must be
 * exactly as before. The reply must be a dry run (2xx with `dryRun: true`) or the coded refusal
 * (400 MERIDIAN_ERR_DRY_RUN_UNSUPPORTED). The same request is then sent for real and must change
 * something (at least its audit entry): a table entry that does nothing cannot pass vacuously.
 *
 * The requests come from a table keyed by operation: a write route added without an entry fails
 * the test, as does an entry for a route that no longer exists.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { freePort, REPO_ROOT, startMeridian, type RunningServer } from '../helpers/dnsproc.js';
import { dnsQuery, waitFor } from './helpers.js';
import { LOOPBACK_ALLOW } from '../helpers/targets.js';

const Z = 'gslb.example.com';
const WRITE_METHODS = ['post', 'put', 'patch', 'delete'];
const DRY_RUN_REFUSED = 'MERIDIAN_ERR_DRY_RUN_UNSUPPORTED';

/** A real request through the API: [method, url, body?]. */
type Call = [string, string, unknown?];

interface Case {
  /** The request sent with `dryRun=true` and then for real. */
  call: Call | (() => Promise<Call>);
  /** Real requests before it (what a DELETE removes …). */
  prepare?: Call[];
  /** Real requests after it (so a drain started here cannot finish during a later case). */
  cleanup?: Call[];
}

const OTHER_ZONE = {
  records: [
    { name: '@', type: 'SOA', data: 'ns1.other.example. host.other.example. 1 7200 3600 1209600 300' },
    { name: '@', type: 'NS', data: 'ns1.other.example.' },
    { name: 'ns1', type: 'A', data: '127.0.0.1' },
  ],
};
const EXTRA_SERVICE = { regions: ['us-east', 'eu-west'], policy: { failover: ['eu-west', 'us-east'] } };
const SA_REGION = { location: { lat: -23.5, lon: -46.6, continent: 'SA', country: 'BR' }, addresses: { ipv4: ['192.0.2.30'] } };

/** One request per write operation of the API, keyed `METHOD /openapi/path`. */
function cases(api: Api): Record<string, Case> {
  return {
    'PUT /v1/zones/{origin}': { call: ['PUT', '/v1/zones/other.example', OTHER_ZONE] },
    'DELETE /v1/zones/{origin}': { prepare: [['PUT', '/v1/zones/other.example', OTHER_ZONE]], call: ['DELETE', '/v1/zones/other.example'] },
    // The live answers would move: eu-west first for every client.
    'PUT /v1/services/{name}': { call: ['PUT', `/v1/services/www.${Z}`, { ...EXTRA_SERVICE, ttl: 30 }] },
    'DELETE /v1/services/{name}': { prepare: [['PUT', `/v1/services/extra.${Z}`, EXTRA_SERVICE]], call: ['DELETE', `/v1/services/extra.${Z}`] },
    'PUT /v1/regions/{id}': { call: ['PUT', '/v1/regions/sa-east', SA_REGION] },
    'DELETE /v1/regions/{id}': { prepare: [['PUT', '/v1/regions/sa-east', SA_REGION]], call: ['DELETE', '/v1/regions/sa-east'] },
    'PUT /v1/regions/{id}/weight': { call: ['PUT', '/v1/regions/us-east/weight', { weight: 1 }] },
    'POST /v1/regions/{id}/drain': { call: ['POST', '/v1/regions/eu-west/drain', { ttl: 1 }], cleanup: [['DELETE', '/v1/regions/eu-west/drain']] },
    'DELETE /v1/regions/{id}/drain': { prepare: [['POST', '/v1/regions/eu-west/drain', { ttl: 1 }]], call: ['DELETE', '/v1/regions/eu-west/drain'] },
    'POST /v1/regions/{id}/endpoints': { call: ['POST', '/v1/regions/ap-southeast/endpoints', { id: 'web-2', address: '127.0.0.1', port: api.adminPort, check: { type: 'tcp' } }] },
    'DELETE /v1/regions/{id}/endpoints': {
      prepare: [['POST', '/v1/regions/ap-southeast/endpoints', { id: 'web-3', address: '127.0.0.1', port: api.adminPort, check: { type: 'tcp' } }]],
      call: ['DELETE', '/v1/regions/ap-southeast/endpoints?id=web-3'],
    },
    // us-east down: North American clients would go to eu-west.
    'PUT /v1/overrides/region/{region}': { call: ['PUT', '/v1/overrides/region/us-east', { state: 'down', reason: 'dry run' }], cleanup: [['DELETE', '/v1/overrides/region/us-east']] },
    'DELETE /v1/overrides/region/{region}': { prepare: [['PUT', '/v1/overrides/region/us-east', { state: 'down', reason: 'dry run' }]], call: ['DELETE', '/v1/overrides/region/us-east'] },
    'PUT /v1/overrides/endpoint/{region}/{endpoint}': {
      call: ['PUT', '/v1/overrides/endpoint/us-east/web-1', { state: 'down', reason: 'dry run', for: '1h' }],
      cleanup: [['DELETE', '/v1/overrides/endpoint/us-east/web-1']],
    },
    'DELETE /v1/overrides/endpoint/{region}/{endpoint}': {
      prepare: [['PUT', '/v1/overrides/endpoint/us-east/web-1', { state: 'down', reason: 'dry run' }]],
      call: ['DELETE', '/v1/overrides/endpoint/us-east/web-1'],
    },
    'POST /v1/tokens': { call: ['POST', '/v1/tokens', { name: 'ci', role: 'viewer' }], cleanup: [['DELETE', '/v1/tokens/ci']] },
    'DELETE /v1/tokens/{name}': { prepare: [['POST', '/v1/tokens', { name: 'doomed', role: 'viewer' }]], call: ['DELETE', '/v1/tokens/doomed'] },
    // The whole config, with the first service's answer TTL changed (meridian apply).
    'PUT /v1/config': {
      call: async () => {
        const doc = (await api.json('GET', '/v1/config')).document;
        doc.services[0].ttl = (doc.services[0].ttl ?? 30) + 1;
        return ['PUT', '/v1/config', doc];
      },
    },
    // Back to the version before the newest change (made here, so there is one to undo).
    'POST /v1/rollback/{n}': {
      prepare: [['PUT', '/v1/regions/ap-southeast/weight', { weight: 7 }]],
      call: async () => ['POST', `/v1/rollback/${(await api.json('GET', '/v1/status')).head - 1}`],
    },
  };
}

interface Api {
  adminPort: number;
  send(method: string, url: string, body?: unknown): Promise<{ status: number; json: any }>; // eslint-disable-line @typescript-eslint/no-explicit-any
  json(method: string, url: string, body?: unknown): Promise<any>; // eslint-disable-line @typescript-eslint/no-explicit-any
}

function apiOf(adminPort: number, token: string): Api {
  const send: Api['send'] = async (method, url, body) => {
    const res = await fetch(`http://127.0.0.1:${adminPort}${url}`, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    const text = await res.text();
    return { status: res.status, json: text ? JSON.parse(text) : null };
  };
  return {
    adminPort,
    send,
    async json(method, url, body) {
      const r = await send(method, url, body);
      assert.ok(r.status >= 200 && r.status < 300, `${method} ${url}: ${r.status} ${JSON.stringify(r.json)}`);
      return r.json;
    },
  };
}

/** Clients in five continents (ECS), plus one without ECS. */
const CLIENTS = ['8.8.8.0/24', '193.0.6.0/24', '202.12.29.0/24', '200.160.2.0/24', '210.130.1.0/24', undefined];
const NAMES = ['www', 'near', 'pool', 'dr', 'extra'].map((n) => `${n}.${Z}`);

/** Everything a write could touch, as clients and operators see it. */
async function observe(api: Api, dnsPort: number): Promise<Record<string, unknown>> {
  const dns: string[] = [];
  for (const name of NAMES) {
    for (const type of ['A', 'AAAA'] as const) {
      for (const ecs of CLIENTS) {
        const a = await dnsQuery(dnsPort, name, type, ecs);
        dns.push(`${name} ${type} ${ecs ?? '-'}: ${a.rcode} ${a.addresses.join(',')} ttl ${a.ttls.join(',')}`);
      }
    }
  }
  return {
    status: await api.json('GET', '/v1/status'),
    versions: await api.json('GET', '/v1/versions?limit=1000'),
    config: await api.json('GET', '/v1/config'),
    overrides: await api.json('GET', '/v1/overrides'),
    tokens: await api.json('GET', '/v1/tokens'),
    audit: await api.json('GET', '/v1/audit?limit=10000'),
    dns,
  };
}

/**
 * `observe` once the node has settled: an earlier case's real request or cleanup reaches the DNS
 * answers a moment after its reply (the health snapshot follows the bus), so wait until two
 * observations in a row agree.
 */
async function settled(api: Api, dnsPort: number): Promise<Record<string, unknown>> {
  let last = await observe(api, dnsPort);
  for (let i = 0; i < 50; i++) {
    const next = await observe(api, dnsPort);
    if (JSON.stringify(next) === JSON.stringify(last)) return next;
    last = next;
  }
  throw new Error('the node never settled');
}

const withDryRun = (url: string): string => `${url}${url.includes('?') ? '&' : '?'}dryRun=true`;

describe('dryRun=true on every write operation of /openapi.json changes nothing', () => {
  let srv: RunningServer;
  let api: Api;
  const operations: { key: string; parameters: { in: string; name: string }[] }[] = [];

  before(async () => {
    const adminPort = await freePort();
    const demo = (await import('yaml')).parse(readFileSync(join(REPO_ROOT, 'zones/meridian.yaml'), 'utf8')) as Record<string, unknown>;
    // The demo's regions with one endpoint each (this node's admin port, always up), under `quorum: 1`: probes
    // never mark anything down (a check timing out on a busy host would move answers while the
    // test compares them); overrides still do.
    const regions = (demo.regions as { forwarder?: unknown }[]).map(({ forwarder: _unused, ...r }) => ({
      ...r,
      endpoints: [{ id: 'web-1', address: '127.0.0.1', port: adminPort, check: { type: 'tcp' } }],
    }));
    srv = await startMeridian({
      zones: [{ origin: Z, file: join(REPO_ROOT, 'zones', `${Z}.zone`) }],
      extra: {
        geo: demo.geo,
        regions,
        services: demo.services,
        // Checking its own admin port needs that port named: a CIDR never opens the node's own ports.
        health: { overridesFile: 'overrides.json', quorum: 1, targets: { allow: [...LOOPBACK_ALLOW, `127.0.0.1:${adminPort}`] } },
        metrics: { listen: null },
        admin: { listen: `127.0.0.1:${adminPort}`, rateLimit: 1_000_000 },
      },
    });
    api = apiOf(adminPort, readFileSync(join(srv.dir, 'data', 'admin-token'), 'utf8').trim());
    const doc = await api.json('GET', '/openapi.json');
    for (const [path, item] of Object.entries(doc.paths as Record<string, Record<string, { parameters?: { in: string; name: string }[] }>>)) {
      for (const [method, op] of Object.entries(item)) {
        if (WRITE_METHODS.includes(method) && path.startsWith('/v1/')) operations.push({ key: `${method.toUpperCase()} ${path}`, parameters: op.parameters ?? [] });
      }
    }
  });
  after(async () => {
    await srv?.stop();
  });

  test('the table has a request for every write operation, and only for those', () => {
    const table = cases(api);
    assert.ok(operations.length >= 18, `found ${operations.length} write operations`);
    const missing = operations.map((o) => o.key).filter((k) => !(k in table));
    assert.deepEqual(missing, [], 'write operations without a dry-run case: add one to cases()');
    const stale = Object.keys(table).filter((k) => !operations.some((o) => o.key === k));
    assert.deepEqual(stale, [], 'cases for operations the API no longer has');
  });

  test('every write operation documents dryRun in its query', () => {
    const without = operations.filter((o) => !o.parameters.some((p) => p.in === 'query' && p.name === 'dryRun')).map((o) => o.key);
    assert.deepEqual(without, []);
  });

  test("an override's dry run shows the answers that would move; the live ones do not", async () => {
    const dr = `dr.${Z}`;
    const live = async (): Promise<string> => (await dnsQuery(srv.port, dr, 'A', '8.8.8.0/24')).addresses.join(',');
    assert.equal(await live(), '192.0.2.10');
    const set = await api.json('PUT', '/v1/overrides/region/us-east?dryRun=true&sample=8.8.8.8,193.0.6.139', { state: 'down', reason: 'rehearsal', for: '30m' });
    assert.equal(set.before, null);
    assert.deepEqual([set.after.scope, set.after.state, set.after.author], ['region/us-east', 'down', 'bootstrap']);
    assert.deepEqual([set.answers.source, set.answers.clients], ['request', 2]);
    const moved = set.answers.changed.filter((c: { service: string; qtype: string }) => c.service === `${dr}.` && c.qtype === 'A');
    assert.deepEqual(
      moved.map((c: { client: string; before: { addresses: string[] }; after: { addresses: string[] } }) => [c.client, c.before.addresses, c.after.addresses]),
      [
        ['8.8.8.8', ['192.0.2.10'], ['198.51.100.10']],
        ['193.0.6.139', ['192.0.2.10'], ['198.51.100.10']],
      ],
    );
    assert.equal(await live(), '192.0.2.10', 'the dry run changed nothing');

    await api.json('PUT', '/v1/overrides/region/us-east', { state: 'down', reason: 'for real' });
    await waitFor(async () => (await live()) === '198.51.100.10', 3000);
    const clear = await api.json('DELETE', '/v1/overrides/region/us-east?dryRun=true&sample=8.8.8.8');
    assert.deepEqual([clear.before.reason, clear.after], ['for real', null]);
    assert.ok(clear.answers.changed.some((c: { service: string; after: { addresses: string[] } }) => c.service === `${dr}.` && c.after.addresses[0] === '192.0.2.10'));
    assert.equal(await live(), '198.51.100.10', 'still overridden');
    await api.json('DELETE', '/v1/overrides/region/us-east');
    assert.ok(await waitFor(async () => (await live()) === '192.0.2.10', 3000));
    const none = await api.send('DELETE', '/v1/overrides/region/us-east?dryRun=true');
    assert.equal(none.json?.error?.code, 'MERIDIAN_ERR_NOT_FOUND', 'clearing nothing is a 404, dry run or not');
  });

  test('dryRun=true leaves versions, overrides, tokens, audit and live answers unchanged', async () => {
    const table = cases(api);
    const failures: string[] = [];
    for (const { key } of operations) {
      const c = table[key];
      if (!c) continue; // reported by the completeness test
      for (const [m, u, b] of c.prepare ?? []) await api.json(m, u, b);
      const [method, url, body] = typeof c.call === 'function' ? await c.call() : c.call;
      const before = await settled(api, srv.port);
      const res = await api.send(method, withDryRun(url), body);
      const afterDry = await observe(api, srv.port);
      const dry = res.status >= 200 && res.status < 300 && res.json?.dryRun === true;
      const refused = res.status === 400 && res.json?.error?.code === DRY_RUN_REFUSED;
      if (!dry && !refused) failures.push(`${key}: ${method} ${withDryRun(url)} answered ${res.status} ${JSON.stringify(res.json).slice(0, 300)}`);
      for (const k of Object.keys(before)) {
        if (JSON.stringify(before[k]) !== JSON.stringify(afterDry[k])) failures.push(`${key}: the dry run changed ${k}`);
      }
      // The same request for real must change something, or the case above proved nothing.
      const real = await api.send(method, url, body);
      if (real.status >= 300) failures.push(`${key}: the real request answered ${real.status} ${JSON.stringify(real.json).slice(0, 300)}`);
      const afterReal = await observe(api, srv.port);
      if (JSON.stringify(afterDry.audit) === JSON.stringify(afterReal.audit)) failures.push(`${key}: the real request left no audit entry`);
      for (const [m, u, b] of c.cleanup ?? []) await api.send(m, u, b);
    }
    assert.deepEqual(failures, []);
  });
});
