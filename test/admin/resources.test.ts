/**
 * The admin API's resources through inject(), against a real DNS node in embedded mode (file store):
 * every accepted write is one new version and reaches the DNS answers; every rejected one is a
 * coded 400/404/409/412 that names the field and leaves the head version and the answers alone.
 * Also: dry runs (request, recent-client and built-in samples), rollback, versions, audit, explain.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { BUILT_IN_SAMPLE } from '../../src/admin/dryrun.js';
import { ERRORS } from '../../src/admin/errors.js';
import { dnsQuery, dnsUntil, etagVersion, EU, EU6, startAdminNode, US, waitFor, Z, type AdminNode, type ApiResponse } from './helpers.js';
import { MERIDIAN_ENTRY } from '../helpers/meridian-bin.js';
const ROOT = new URL('../..', import.meta.url).pathname;

const OTHER = 'other.example';
const otherZone = (a = '192.0.2.77') => ({
  records: [
    { name: '@', type: 'SOA', data: `ns1.${OTHER}. host.${OTHER}. 1 7200 3600 1209600 300` },
    { name: '@', type: 'NS', data: `ns1.${OTHER}.` },
    { name: 'ns1', ttl: 600, type: 'A', data: '127.0.0.1' },
    { name: 'www', ttl: 60, type: 'A', data: a },
  ],
});
const SA = { location: { lat: -23.5, lon: -46.6, continent: 'SA', country: 'BR' }, addresses: { ipv4: ['192.0.2.30'] } };

describe('admin API resources (embedded mode, file store)', () => {
  let n: AdminNode;
  let v1: ApiResponse['json'];

  before(async () => {
    n = await startAdminNode();
    v1 = (await n.api('GET', '/v1/versions/1')).json;
  });
  after(() => n?.stop());

  /** An accepted write: 2xx, exactly one new version, the ETag names it, and this node applies it. */
  async function write(method: string, url: string, body?: unknown, status = 200): Promise<ApiResponse> {
    const head = await n.head();
    const r = await n.api(method, url, body === undefined ? {} : { body });
    assert.equal(r.status, status, `${method} ${url}: ${r.body}`);
    assert.equal(r.json.version, head + 1, 'one accepted change = one new version');
    assert.equal(etagVersion(r.headers.etag), head + 1);
    assert.equal(await n.head(), head + 1);
    assert.ok(Array.isArray(r.json.diff) && r.json.diff.length > 0, 'the reply carries the diff');
    await n.applied(head + 1);
    return r;
  }

  /** A write that must change nothing: no version, and the DNS answer of www is what it was. */
  async function unchanged(method: string, url: string, body?: unknown): Promise<ApiResponse> {
    const head = await n.head();
    const before = await dnsQuery(n.port, `www.${Z}`);
    const r = await n.api(method, url, body === undefined ? {} : { body });
    assert.equal(await n.head(), head, `${method} ${url} must not create a version: ${r.body}`);
    assert.deepEqual(await dnsQuery(n.port, `www.${Z}`), before);
    return r;
  }

  /** A rejected write: the status and code of the registry, a field, nothing changed. */
  async function rejected(method: string, url: string, body: unknown, code: keyof typeof ERRORS, field?: RegExp): Promise<ApiResponse> {
    const r = await unchanged(method, url, body);
    assert.equal(r.status, ERRORS[code].status, `${method} ${url}: ${r.body}`);
    assert.equal(r.json.error.code, code, r.body);
    assert.equal(typeof r.json.error.message, 'string');
    if (field) assert.match(r.json.error.field ?? '', field, r.body);
    return r;
  }

  // The dry runs come first: the built-in sample is only used while no real client has been seen.
  const swapWww = { regions: ['eu-west', 'us-east'], ttl: 30, policy: { failover: ['us-east', 'eu-west'] } };

  test('dry run without traffic: diff plus answers for the built-in sample; no version', async () => {
    const r = await unchanged('PUT', `/v1/services/www.${Z}?dryRun=true`, swapWww);
    assert.equal(r.status, 200, r.body);
    assert.equal(r.json.dryRun, true);
    assert.equal(r.json.version, 1);
    assert.deepEqual(r.json.diff, [
      { op: 'replace', path: '/services/0/policy/failover/0', before: 'eu-west', after: 'us-east' },
      { op: 'replace', path: '/services/0/policy/failover/1', before: 'us-east', after: 'eu-west' },
    ]);
    assert.equal(r.json.answers.source, 'built-in');
    assert.equal(r.json.answers.clients, BUILT_IN_SAMPLE.length);
    const v4 = r.json.answers.changed.filter((c: { service: string; qtype: string }) => c.service === `www.${Z}.` && c.qtype === 'A');
    assert.equal(v4.length, BUILT_IN_SAMPLE.length, 'every client of the sample moves (IPv6 resolvers ask for A too)');
    for (const c of v4) {
      assert.deepEqual(c.before.addresses, [EU]);
      assert.deepEqual(c.after.addresses, [US]);
    }
    assert.ok(!r.json.answers.changed.some((c: { service: string }) => c.service === `lb.${Z}.`), 'services the change does not touch do not move');
    assert.deepEqual((await n.api('GET', '/v1/versions')).json.length, 1);
  });

  test('dry run with the sample given in the request (non-addresses dropped)', async () => {
    const r = await unchanged('PUT', `/v1/services/www.${Z}?dryRun=true&sample=81.2.69.160,${encodeURIComponent('2001:db8::1')},not-an-ip`, swapWww);
    assert.equal(r.status, 200, r.body);
    assert.equal(r.json.answers.source, 'request');
    assert.equal(r.json.answers.clients, 2);
    assert.deepEqual(r.json.answers.changed.map((c: { client: string; qtype: string }) => `${c.client} ${c.qtype}`).sort(), ['2001:db8::1 A', '81.2.69.160 A']);
  });

  test('dry run after real DNS queries: the sample is the recent clients (ECS networks)', async () => {
    for (let k = 1; k <= 48; k++) assert.deepEqual((await dnsQuery(n.port, `www.${Z}`, 'A', `10.${k}.0.0/24`)).addresses, [EU]);
    const r = await unchanged('PUT', `/v1/services/www.${Z}?dryRun=true`, swapWww);
    assert.equal(r.status, 200, r.body);
    assert.equal(r.json.answers.source, 'recent');
    assert.ok(r.json.answers.clients >= 1 && r.json.answers.clients <= 48, `clients ${r.json.answers.clients}`);
    const v4 = r.json.answers.changed.filter((c: { qtype: string }) => c.qtype === 'A');
    assert.equal(v4.length, r.json.answers.clients);
    for (const c of v4) assert.match(c.client, /^10\.\d+\.0\.0$/);
  });

  test('explain returns `meridian explain --json` as JSON, plus the version it was decided on', async () => {
    const r = await n.api('GET', `/v1/explain?name=www.${Z}&ip=192.0.2.1&ecs=81.2.69.0/24`);
    assert.equal(r.status, 200, r.body);
    // The node's API listens on a port picked at start (admin.listen 127.0.0.1:0): named with --api.
    const { stdout } = await promisify(execFile)(
      process.execPath,
      [...MERIDIAN_ENTRY, 'explain', `www.${Z}`, '192.0.2.1', '--ecs', '81.2.69.0/24', '--json', '--config', n.configPath, '--api', `http://127.0.0.1:${n.httpPort}`],
      { cwd: ROOT, timeout: 20_000, env: { ...process.env, MERIDIAN_TOKEN: n.secret } },
    );
    const { version, ...rest } = r.json;
    assert.equal(version, 1);
    const { view, ...printed } = JSON.parse(stdout);
    assert.deepEqual(rest, printed);
    assert.deepEqual(view, { kind: 'node', api: `http://127.0.0.1:${n.httpPort}`, version: 1 });
    assert.equal(rest.ecs, '81.2.69.0/24');
    assert.deepEqual(rest.addresses, [EU]);

    const six = await n.api('GET', `/v1/explain?name=WWW.${Z}.&ip=2001:db8::5`);
    assert.equal(six.json.qtype, 'AAAA');
    assert.deepEqual(six.json.addresses, [EU6]);
    assert.equal((await n.api('GET', `/v1/explain?name=www.${Z}&ip=2001:db8::5&type=A`)).json.addresses[0], EU);

    const e1 = await n.api('GET', `/v1/explain?name=nope.${Z}&ip=192.0.2.1`);
    assert.deepEqual([e1.status, e1.json.error.code, e1.json.error.field], [404, 'MERIDIAN_ERR_NOT_FOUND', 'querystring/name']);
    const e2 = await n.api('GET', `/v1/explain?name=www.${Z}&ip=192.0.2.1&ecs=81.2.69.0/33`);
    assert.deepEqual([e2.status, e2.json.error.code, e2.json.error.field], [400, 'MERIDIAN_ERR_VALIDATION', 'querystring/ecs']);
    const e3 = await n.api('GET', `/v1/explain?name=www.${Z}`);
    assert.deepEqual([e3.status, e3.json.error.code, e3.json.error.field], [400, 'MERIDIAN_ERR_VALIDATION', 'querystring/ip']);
  });

  test('explain rejects a client that is not an IP address (it used to explain "zzz" as an IPv6 client)', async () => {
    for (const ip of ['zzz', '1.2.3', 'www.example.com']) {
      const r = await n.api('GET', `/v1/explain?name=www.${Z}&ip=${ip}`);
      assert.deepEqual([r.status, r.json.error?.code, r.json.error?.field], [400, 'MERIDIAN_ERR_VALIDATION', 'querystring/ip'], `${ip}: ${r.body}`);
    }
  });

  test('GET returns the current document with the head version as ETag', async () => {
    const cfg = await n.api('GET', '/v1/config');
    assert.equal(cfg.status, 200);
    assert.equal(cfg.headers.etag, '"1"');
    assert.equal(cfg.json.version, 1);
    assert.equal(cfg.json.author, 'bootstrap');
    assert.deepEqual(cfg.json.document, v1.document);
    const status = await n.api('GET', '/v1/status');
    assert.deepEqual(status.json, { store: 'file', storeReachable: true, head: 1, applied: 1 });
    for (const url of [
      '/v1/zones',
      `/v1/zones/${Z}`,
      '/v1/services',
      `/v1/services/www.${Z}`,
      '/v1/regions',
      '/v1/regions/eu-west',
      '/v1/regions/eu-west/endpoints',
      '/v1/versions',
      '/v1/regions/eu-west/drain',
    ]) {
      const r = await n.api('GET', url);
      assert.equal(r.status, 200, `${url}: ${r.body}`);
      assert.equal(r.headers.etag, '"1"', url);
    }
    assert.deepEqual((await n.api('GET', '/v1/zones')).json, [{ origin: `${Z}.`, records: 4 }]);
    assert.deepEqual(
      (await n.api('GET', '/v1/regions')).json.map((r: { id: string }) => r.id),
      ['eu-west', 'us-east', 'ap-southeast'],
    );
    assert.equal((await n.api('GET', `/v1/services/WWW.${Z}.`)).json.name, `www.${Z}`);
  });

  test('zones: create, replace, repeat, delete — each visible in DNS answers', async () => {
    assert.equal((await dnsQuery(n.port, `www.${OTHER}`)).rcode, 'REFUSED');
    const created = await write('PUT', `/v1/zones/${OTHER}`, otherZone(), 201);
    assert.equal(created.json.action, 'zone.put');
    assert.equal(created.json.target, `zone/${OTHER}.`);
    assert.deepEqual(await dnsQuery(n.port, `www.${OTHER}`), { rcode: 'NOERROR', addresses: ['192.0.2.77'], ttls: [60] });
    assert.deepEqual((await n.api('GET', '/v1/zones')).json, [
      { origin: `${Z}.`, records: 4 },
      { origin: `${OTHER}.`, records: 4 },
    ]);
    assert.equal((await n.api('GET', `/v1/zones/${OTHER.toUpperCase()}.`)).json.records.length, 4);

    const again = await unchanged('PUT', `/v1/zones/${OTHER}`, otherZone());
    assert.deepEqual([again.status, again.json.unchanged], [200, true], 'the same zone again creates no version');

    await write('PUT', `/v1/zones/${OTHER}`, otherZone('192.0.2.78'));
    assert.deepEqual((await dnsQuery(n.port, `www.${OTHER}`)).addresses, ['192.0.2.78']);

    await write('DELETE', `/v1/zones/${OTHER}?reason=gone`);
    assert.equal((await dnsQuery(n.port, `www.${OTHER}`)).rcode, 'REFUSED');
    const gone = await n.api('GET', `/v1/zones/${OTHER}`);
    assert.deepEqual([gone.status, gone.json.error.code], [404, 'MERIDIAN_ERR_NOT_FOUND']);
    await rejected('DELETE', `/v1/zones/${OTHER}`, undefined, 'MERIDIAN_ERR_NOT_FOUND');
  });

  test('zones: bad records, clashes and the last zone are refused with the field named', async () => {
    const bad = otherZone();
    bad.records[3] = { name: 'www', ttl: 60, type: 'A', data: '999.1.1.1' };
    await rejected('PUT', `/v1/zones/${OTHER}`, bad, 'MERIDIAN_ERR_INVALID_CONFIG', /^\/zones\/1\/records\/3$/);
    const noSoa = { records: otherZone().records.slice(1) };
    await rejected('PUT', `/v1/zones/${OTHER}`, noSoa, 'MERIDIAN_ERR_INVALID_CONFIG', /^\/zones\/1/);
    // A record may not smuggle a second zone-file line in.
    await rejected('PUT', `/v1/zones/${OTHER}`, { records: [{ name: 'x', type: 'TXT', data: '"a"\nevil A 192.0.2.66' }] }, 'MERIDIAN_ERR_VALIDATION', /^body\/records\/0\/data$/);
    await rejected('PUT', `/v1/zones/${OTHER}`, { records: [], extra: 1 }, 'MERIDIAN_ERR_VALIDATION', /^body/);
    // A service owns its A/AAAA: the zone may not hold A records at www.
    const cfg = (await n.api('GET', `/v1/zones/${Z}`)).json;
    await rejected('PUT', `/v1/zones/${Z}`, { records: [...cfg.records, { name: 'www', type: 'A', data: '192.0.2.99' }] }, 'MERIDIAN_ERR_INVALID_CONFIG', /^\/services\/0\/name$/);
    // Its services live in it; and a config needs at least one zone.
    await rejected('DELETE', `/v1/zones/${Z}`, undefined, 'MERIDIAN_ERR_INVALID_CONFIG', /^\/(zones|services)/);
    await rejected('PUT', '/v1/zones/.', { records: [] }, 'MERIDIAN_ERR_VALIDATION', /^params\/origin$/);
  });

  test('services: create, replace (names compare canonically), delete — visible in DNS', async () => {
    const created = await write('PUT', `/v1/services/api.${Z}`, { regions: ['us-east'], ttl: 60 }, 201);
    assert.equal(created.json.target, `service/api.${Z}.`);
    assert.deepEqual(await dnsQuery(n.port, `api.${Z}`), { rcode: 'NOERROR', addresses: [US], ttls: [60] });
    await write('PUT', `/v1/services/API.${Z.toUpperCase()}.`, { regions: ['eu-west'], ttl: 60 });
    assert.deepEqual((await dnsQuery(n.port, `api.${Z}`)).addresses, [EU]);
    const list = (await n.api('GET', '/v1/services')).json.map((s: { name: string }) => s.name);
    assert.deepEqual(list, [`www.${Z}`, `lb.${Z}`, `api.${Z}`], 'no duplicate: the second PUT replaced the first');
    await write('DELETE', `/v1/services/api.${Z}`);
    const gone = await dnsQuery(n.port, `api.${Z}`);
    assert.deepEqual([gone.rcode, gone.addresses], ['NXDOMAIN', []]);
    await rejected('DELETE', `/v1/services/api.${Z}`, undefined, 'MERIDIAN_ERR_NOT_FOUND');
    const r = await n.api('GET', `/v1/services/api.${Z}`);
    assert.deepEqual([r.status, r.json.error.code], [404, 'MERIDIAN_ERR_NOT_FOUND']);
  });

  test('services: unknown or repeated regions, policy rules, names outside the zones → 400 naming the field', async () => {
    await rejected('PUT', `/v1/services/api.${Z}`, { regions: ['nope'] }, 'MERIDIAN_ERR_INVALID_CONFIG', /^\/services\/2\/regions\/0$/);
    await rejected('PUT', `/v1/services/www.${Z}`, { regions: ['eu-west', 'nope'] }, 'MERIDIAN_ERR_INVALID_CONFIG', /^\/services\/0\/regions\/1$/);
    await rejected('PUT', `/v1/services/api.${Z}`, { regions: ['eu-west', 'eu-west'] }, 'MERIDIAN_ERR_INVALID_CONFIG', /^\/services\/2\/regions\/1$/);
    await rejected('PUT', `/v1/services/api.${Z}`, { regions: ['eu-west'], policy: { failover: ['us-east'] } }, 'MERIDIAN_ERR_INVALID_CONFIG', /^\/services\/2\/policy\/failover$/);
    await rejected('PUT', `/v1/services/api.${Z}`, { regions: ['eu-west', 'us-east'], policy: { geo: {}, proximity: {} } }, 'MERIDIAN_ERR_INVALID_CONFIG', /^\/services\/2\/policy$/);
    await rejected('PUT', `/v1/services/api.${Z}`, { regions: ['eu-west'], policy: { weighted: { prefix4: 99 } } }, 'MERIDIAN_ERR_INVALID_CONFIG', /^\/services\/2\/policy\/weighted$/);
    const sub = await rejected(
      'PUT',
      `/v1/services/api.${Z}`,
      { regions: ['eu-west'], policy: { geo: { subdivisions: { 'XX-CA': ['eu-west'] } } } },
      'MERIDIAN_ERR_INVALID_CONFIG',
      /^\/services\/2\/policy\/geo\/subdivisions\/XX-CA$/,
    );
    assert.match(JSON.stringify(sub.json.error), /geo\.subdivisions\.XX-CA: \\"XX\\" is not an ISO 3166-1 country code/);
    await rejected('PUT', `/v1/services/api.${Z}`, { regions: ['eu-west'], allDown: { mode: 'panic' } }, 'MERIDIAN_ERR_INVALID_CONFIG', /^\/services\/2\/allDown$/);
    await rejected('PUT', '/v1/services/www.example.org', { regions: ['eu-west'] }, 'MERIDIAN_ERR_INVALID_CONFIG', /^\/services\/2\/name$/);
    await rejected('PUT', `/v1/services/api.${Z}`, { regions: ['eu-west'], ttl: -1 }, 'MERIDIAN_ERR_VALIDATION', /^body\/ttl$/);
    await rejected('PUT', `/v1/services/api.${Z}`, { ttl: 5 }, 'MERIDIAN_ERR_VALIDATION', /^body\/regions$/);
    await rejected('PUT', `/v1/services/api.${Z}`, { regions: ['eu-west'], name: 'x' }, 'MERIDIAN_ERR_VALIDATION', /^body/);
  });

  test('regions: create, read, invalid IPs and duplicate endpoint ids refused, delete only when unused', async () => {
    await write('PUT', '/v1/regions/sa-east', SA, 201);
    const got = (await n.api('GET', '/v1/regions/sa-east')).json;
    assert.deepEqual(got, {
      id: 'sa-east',
      ...SA,
      addresses: { ipv4: ['192.0.2.30'], ipv6: [] },
      weight: 100,
      state: 'up',
      downAddresses: [],
      endpoints: [],
      health: { state: 'up', source: 'empty', endpointsUp: 0, endpointsCounted: 0 },
    });
    await rejected('PUT', '/v1/regions/sa-east', { ...SA, addresses: { ipv4: ['300.1.2.3'] } }, 'MERIDIAN_ERR_INVALID_CONFIG', /^\/regions\/3\/addresses\/ipv4\/0$/);
    await rejected('PUT', '/v1/regions/sa-east', { ...SA, addresses: { ipv4: ['192.0.2.30'], ipv6: ['192.0.2.31'] } }, 'MERIDIAN_ERR_INVALID_CONFIG', /^\/regions\/3\/addresses\/ipv6\/0$/);
    await rejected('PUT', '/v1/regions/sa-east', { ...SA, addresses: { ipv4: [] } }, 'MERIDIAN_ERR_INVALID_CONFIG', /^\/regions\/3\/addresses$/);
    await rejected('PUT', '/v1/regions/sa-east', { ...SA, downAddresses: ['192.0.2.99'] }, 'MERIDIAN_ERR_INVALID_CONFIG', /^\/regions\/3\/downAddresses\/0$/);
    const twice = [
      { id: 'a', address: '10.0.0.1', port: 80 },
      { id: 'a', address: '10.0.0.2', port: 80 },
    ];
    await rejected('PUT', '/v1/regions/sa-east', { ...SA, endpoints: twice }, 'MERIDIAN_ERR_INVALID_CONFIG', /^\/regions\/3\/endpoints\/1$/);
    await rejected('PUT', '/v1/regions/sa-east', { ...SA, location: { ...SA.location, country: 'br' } }, 'MERIDIAN_ERR_VALIDATION', /^body\/location\/country$/);
    // drain is read-only (the drain routes own it): accepted so that a GET body PUTs back, and ignored.
    const ignored = await n.api('PUT', '/v1/regions/sa-east', { body: { ...SA, drain: { phase: 'drained', ttl: 1, startedAt: '', completeAt: '' } } });
    assert.equal(ignored.json.unchanged, true, ignored.body);
    assert.equal((await n.api('GET', '/v1/regions/sa-east')).json.drain, undefined);
    await rejected('PUT', '/v1/regions/Bad_Id', SA, 'MERIDIAN_ERR_VALIDATION', /^params\/id$/);
    // The forwarder: block is the forward section's (registered in src/node/config.ts): checked with
    // its schema when the document compiles, stored with its defaults.
    await rejected('PUT', '/v1/regions/sa-east', { ...SA, forwarder: { capacity: 0 } }, 'MERIDIAN_ERR_INVALID_CONFIG', /^\/regions\/3\/forwarder\/capacity$/);
    await rejected('PUT', '/v1/regions/sa-east', { ...SA, forwarder: { relays: '127.0.0.1:1' } }, 'MERIDIAN_ERR_INVALID_CONFIG', /^\/regions\/3\/forwarder\/relays$/);
    await write('PUT', '/v1/regions/sa-east', { ...SA, forwarder: { capacity: 50 } });
    assert.deepEqual((await n.api('GET', '/v1/regions/sa-east')).json.forwarder, { capacity: 50, listen: {}, weights: {} });

    // In use: the service must go first. Then the region goes, and so do its answers.
    await write('PUT', `/v1/services/sa.${Z}`, { regions: ['sa-east'] }, 201);
    assert.deepEqual((await dnsQuery(n.port, `sa.${Z}`)).addresses, ['192.0.2.30']);
    const busy = await rejected('DELETE', '/v1/regions/sa-east', undefined, 'MERIDIAN_ERR_CONFLICT');
    assert.match(busy.json.error.message, /used by sa\./);
    await write('DELETE', `/v1/services/sa.${Z}`);
    await write('DELETE', '/v1/regions/sa-east');
    assert.equal((await dnsQuery(n.port, `sa.${Z}`)).rcode, 'NXDOMAIN');
    for (const [method, url] of [
      ['GET', '/v1/regions/sa-east'],
      ['GET', '/v1/regions/sa-east/endpoints'],
      ['GET', '/v1/regions/sa-east/drain'],
      ['DELETE', '/v1/regions/sa-east'],
    ] as const) {
      const r = await n.api(method, url);
      assert.deepEqual([r.status, r.json.error.code], [404, 'MERIDIAN_ERR_NOT_FOUND'], `${method} ${url}`);
    }
    await rejected('PUT', '/v1/regions/sa-east/weight', { weight: 5 }, 'MERIDIAN_ERR_NOT_FOUND');
  });

  test("weight: 0 takes a region out of a weighted service's answers; back to 100 restores them", async () => {
    const subnets = Array.from({ length: 16 }, (_, i) => `172.${16 + i}.${i * 7}.0/24`);
    const answers = async (): Promise<string[]> => Promise.all(subnets.map(async (s) => (await dnsQuery(n.port, `lb.${Z}`, 'A', s)).addresses.join()));
    const initial = await answers();
    assert.ok(initial.includes(EU) && initial.includes(US), `both regions share lb: ${initial}`);
    const r = await write('PUT', '/v1/regions/eu-west/weight?reason=capacity', { weight: 0 });
    assert.deepEqual(r.json.diff, [{ op: 'replace', path: '/regions/0/weight', before: 100, after: 0 }]);
    assert.deepEqual(
      await answers(),
      subnets.map(() => US),
    );
    await rejected('PUT', '/v1/regions/eu-west/weight', { weight: -1 }, 'MERIDIAN_ERR_VALIDATION', /^body\/weight$/);
    await rejected('PUT', '/v1/regions/eu-west/weight', { weight: 0, x: 1 }, 'MERIDIAN_ERR_VALIDATION', /^body/);
    // JSON bodies are not type-coerced: null used to become weight 0, true 1, "7" 7 and [9] 9.
    for (const weight of [null, true, '7', [9], 1.5]) await rejected('PUT', '/v1/regions/eu-west/weight', { weight }, 'MERIDIAN_ERR_VALIDATION', /^body\/weight$/);
    await rejected('PUT', `/v1/services/api.${Z}`, { regions: 'eu-west' }, 'MERIDIAN_ERR_VALIDATION', /^body\/regions$/);
    await rejected('PUT', `/v1/services/api.${Z}`, { regions: ['eu-west'], ttl: null }, 'MERIDIAN_ERR_VALIDATION', /^body\/ttl$/);
    await rejected('PUT', '/v1/regions/eu-west', { location: { lat: '53', lon: -6, continent: 'EU', country: 'IE' }, addresses: { ipv4: [EU] } }, 'MERIDIAN_ERR_VALIDATION', /^body\/location\/lat$/);
    const same = await unchanged('PUT', '/v1/regions/eu-west/weight', { weight: 0 });
    assert.equal(same.json.unchanged, true);
    await write('PUT', '/v1/regions/eu-west/weight', { weight: 100 });
    assert.deepEqual(await answers(), initial);
    const last = (await n.api('GET', '/v1/versions?limit=2')).json;
    assert.equal(last[1].reason, 'capacity', 'the reason is recorded with the version');
  });

  test('endpoints: registering or removing the same endpoint twice creates one version', async () => {
    const ep = { id: 'web-1', address: '10.9.0.1', port: 8080, check: { type: 'tcp' } };
    const first = await write('POST', '/v1/regions/ap-southeast/endpoints', ep, 201);
    assert.equal(first.json.target, 'endpoint/ap-southeast/web-1');
    const again = await unchanged('POST', '/v1/regions/ap-southeast/endpoints', ep);
    assert.deepEqual([again.status, again.json.unchanged, again.headers.etag], [200, true, first.headers.etag]);
    await write('POST', '/v1/regions/ap-southeast/endpoints', { ...ep, port: 8081 });
    const anonymous = { address: '10.9.0.2', port: 443 };
    await write('POST', '/v1/regions/ap-southeast/endpoints', anonymous, 201);
    const list = (await n.api('GET', '/v1/regions/ap-southeast/endpoints')).json;
    assert.deepEqual(list, [
      { ...ep, port: 8081 },
      { ...anonymous, check: {} },
    ]);

    await write('DELETE', '/v1/regions/ap-southeast/endpoints?id=web-1');
    await rejected('DELETE', '/v1/regions/ap-southeast/endpoints?id=web-1', undefined, 'MERIDIAN_ERR_NOT_FOUND');
    await write('DELETE', '/v1/regions/ap-southeast/endpoints?address=10.9.0.2&port=443');
    await rejected('DELETE', '/v1/regions/ap-southeast/endpoints?address=10.9.0.2&port=443', undefined, 'MERIDIAN_ERR_NOT_FOUND');
    assert.deepEqual((await n.api('GET', '/v1/regions/ap-southeast/endpoints')).json, []);

    await rejected('POST', '/v1/regions/ap-southeast/endpoints', { address: 'db.internal', port: 5432 }, 'MERIDIAN_ERR_INVALID_CONFIG', /^\/regions\/2\/endpoints\/0\/address$/);
    await rejected(
      'POST',
      '/v1/regions/ap-southeast/endpoints',
      { address: '10.9.0.3', port: 80, check: { type: 'smoke-signal' } },
      'MERIDIAN_ERR_INVALID_CONFIG',
      /^\/regions\/2\/endpoints\/0\/check$/,
    );
    await rejected('POST', '/v1/regions/ap-southeast/endpoints', { address: '10.9.0.3', port: 0 }, 'MERIDIAN_ERR_VALIDATION', /^body\/port$/);
    await rejected('POST', '/v1/regions/nope/endpoints', ep, 'MERIDIAN_ERR_NOT_FOUND');
    await rejected('DELETE', '/v1/regions/ap-southeast/endpoints?address=10.9.0.2', undefined, 'MERIDIAN_ERR_VALIDATION', /^querystring/);
  });

  test('endpoints: deregistering one that has a forwarder weight removes the weight with it', async () => {
    await write('POST', '/v1/regions/ap-southeast/endpoints', { id: 'web-7', address: '10.9.0.7', port: 8080 }, 201);
    await write('POST', '/v1/regions/ap-southeast/endpoints', { address: '10.9.0.8', port: 8080 }, 201);
    const region = (await n.api('GET', '/v1/regions/ap-southeast')).json;
    const { state: _admin, health: _health, ...body } = region;
    await write('PUT', '/v1/regions/ap-southeast', { ...body, forwarder: { ...(body.forwarder ?? {}), weights: { 'web-7': 3, '10.9.0.8:8080': 2 } } });
    const removed = await write('DELETE', '/v1/regions/ap-southeast/endpoints?id=web-7');
    await write('DELETE', '/v1/regions/ap-southeast/endpoints?address=10.9.0.8&port=8080');
    const after = (await n.api('GET', '/v1/regions/ap-southeast')).json;
    assert.deepEqual(after.forwarder?.weights ?? {}, {});
    assert.ok(JSON.stringify(removed.json.diff).includes('weights'), `the diff shows the weight going: ${JSON.stringify(removed.json.diff)}`);
  });

  test('overrides: force a region down (answers move), list, clear; no config version; audited', async () => {
    const head = await n.head();
    const set = await n.api('PUT', '/v1/overrides/region/eu-west', { body: { state: 'down', reason: 'incident 42' } });
    assert.equal(set.status, 200, set.body);
    assert.deepEqual([set.json.scope, set.json.state, set.json.expiresAt, set.json.author], ['region/eu-west', 'down', null, 'bootstrap']);
    assert.deepEqual((await dnsUntil(n.port, `www.${Z}`, (a) => a.addresses[0] === US)).addresses, [US]);
    const list = (await n.api('GET', '/v1/overrides')).json;
    assert.deepEqual(
      list.map((o: { scope: string; state: string }) => `${o.scope}=${o.state}`),
      ['region/eu-west=down'],
    );
    const audit = (await n.api('GET', '/v1/audit?action=override.set&limit=1')).json;
    assert.deepEqual([audit[0].target, audit[0].reason, audit[0].version], ['region/eu-west', 'incident 42', null]);

    const cleared = await n.api('DELETE', '/v1/overrides/region/eu-west?reason=resolved');
    assert.deepEqual(cleared.json, { scope: 'region/eu-west', cleared: true });
    assert.deepEqual((await dnsUntil(n.port, `www.${Z}`, (a) => a.addresses[0] === EU)).addresses, [EU]);
    const twice = await n.api('DELETE', '/v1/overrides/region/eu-west');
    assert.deepEqual([twice.status, twice.json.error.code], [404, 'MERIDIAN_ERR_NOT_FOUND']);
    assert.equal(await n.head(), head, 'overrides are not config versions');

    const timed = await n.api('PUT', '/v1/overrides/region/us-east', { body: { state: 'drained', for: '1s', reason: 'short' } });
    assert.equal(timed.status, 200, timed.body);
    assert.equal(Date.parse(timed.json.expiresAt) - Date.parse(timed.json.createdAt), 1000);
    assert.ok(await waitForEmpty(n), 'an expired override is no longer listed');
    // The expiry is an action too: audited once, by the sweep that removed it.
    const expired = async () => (await n.api('GET', '/v1/audit?action=override.expire')).json as { author: string; target: string; reason: string; detail: Record<string, unknown> }[];
    assert.ok(await waitFor(async () => (await expired()).length > 0, 5000), 'the expiry is audited');
    const [entry, ...more] = await expired();
    assert.deepEqual(
      [entry!.author, entry!.target, entry!.reason, entry!.detail.state, entry!.detail.setBy, entry!.detail.expiresAt, more.length],
      ['expiry', 'region/us-east', 'short', 'drained', 'bootstrap', timed.json.expiresAt, 0],
    );

    const bad = await n.api('PUT', '/v1/overrides/region/eu-west', { body: { state: 'down', reason: 'x', for: '0s' } });
    assert.deepEqual([bad.status, bad.json.error.code], [400, 'MERIDIAN_ERR_VALIDATION']);
    const ms = await n.api('PUT', '/v1/overrides/region/eu-west', { body: { state: 'down', reason: 'x', for: '500ms' } });
    assert.deepEqual([ms.status, ms.json.error.field], [400, 'body/for'], 'the schema allows what the duration parser allows');
    // Found by the OpenAPI property test: a Date cannot hold this expiry; it was written, then the reply failed (500).
    const far = await n.api('PUT', '/v1/overrides/region/eu-west', { body: { state: 'down', reason: 'x', for: '99999999999d' } });
    assert.deepEqual([far.status, far.json.error?.code, far.json.error?.field], [400, 'MERIDIAN_ERR_VALIDATION', 'body/for'], far.body);
    assert.deepEqual((await n.api('GET', '/v1/overrides')).json, [], 'a refused override is not written');
    const combined = await n.api('PUT', '/v1/overrides/region/eu-west', { body: { state: 'up', reason: 'x', for: '1h30m' } });
    assert.equal(Date.parse(combined.json.expiresAt) - Date.parse(combined.json.createdAt), 90 * 60_000);
    await n.api('DELETE', '/v1/overrides/region/eu-west');
    const noReason = await n.api('PUT', '/v1/overrides/region/eu-west', { body: { state: 'down' } });
    assert.deepEqual([noReason.status, noReason.json.error.field], [400, 'body/reason']);
  });

  test('overrides name regions and endpoints that exist (unknown ones used to be accepted)', async () => {
    const region = await n.api('PUT', '/v1/overrides/region/nope', { body: { state: 'down', reason: 'typo' } });
    assert.deepEqual([region.status, region.json.error?.code, region.json.error?.field], [404, 'MERIDIAN_ERR_NOT_FOUND', 'params/region'], region.body);
    const ep = await n.api('PUT', '/v1/overrides/endpoint/eu-west/nope', { body: { state: 'down', reason: 'typo' } });
    assert.deepEqual([ep.status, ep.json.error?.code, ep.json.error?.field], [404, 'MERIDIAN_ERR_NOT_FOUND', 'params/endpoint'], ep.body);
    assert.deepEqual((await n.api('GET', '/v1/overrides')).json, []);
    // An endpoint known by address:port (no id) is addressable.
    await write('POST', '/v1/regions/ap-southeast/endpoints', { address: '10.9.0.7', port: 80 }, 201);
    const ok = await n.api('PUT', '/v1/overrides/endpoint/ap-southeast/10.9.0.7:80', { body: { state: 'down', reason: 'bad disk' } });
    assert.equal(ok.status, 200, ok.body);
    assert.equal((await n.api('DELETE', '/v1/overrides/endpoint/ap-southeast/10.9.0.7:80')).status, 200);
    await write('DELETE', '/v1/regions/ap-southeast/endpoints?address=10.9.0.7&port=80');
  });

  test('If-Match: the current version applies; a stale one gets 412 and changes nothing', async () => {
    const got = await n.api('GET', '/v1/regions/us-east');
    const v = etagVersion(got.headers.etag);
    const ok = await n.api('PUT', '/v1/regions/us-east/weight', { body: { weight: 77 }, headers: { 'if-match': `"${v}"` } });
    assert.equal(ok.status, 200, ok.body);
    assert.equal(ok.json.version, v + 1);
    const head = await n.head();
    const r = await n.api('PUT', '/v1/regions/us-east/weight', { body: { weight: 5 }, headers: { 'if-match': `"${v}"` } });
    assert.deepEqual([r.status, r.json.error.code], [412, 'MERIDIAN_ERR_PRECONDITION_FAILED']);
    assert.equal(await n.head(), head);
    assert.equal((await n.api('GET', '/v1/regions/us-east')).json.weight, 77, "the first writer's change is kept");
    const dry = await n.api('PUT', '/v1/regions/us-east/weight?dryRun=true', { body: { weight: 5 }, headers: { 'if-match': `"${v}"` } });
    assert.equal(dry.status, 412, 'a dry run against a stale version is stale too');
    for (const form of [(v: number) => `W/"${v}"`, (v: number) => `${v}`, () => '*']) {
      const tag = form(await n.head());
      const w = await n.api('PUT', '/v1/regions/us-east/weight', { body: { weight: 100 }, headers: { 'if-match': tag } });
      assert.equal(w.status, 200, `${tag}: ${w.body}`);
    }
    const junk = await n.api('PUT', '/v1/regions/us-east/weight', { body: { weight: 1 }, headers: { 'if-match': 'yesterday' } });
    assert.deepEqual([junk.status, junk.json.error.code, junk.json.error.field], [400, 'MERIDIAN_ERR_VALIDATION', 'headers/if-match']);
    assert.equal((await n.api('GET', '/v1/regions/us-east')).json.weight, 100);
  });

  test('versions: newest first with author, time, reason, action, target; paging; one version with its diff', async () => {
    const head = await n.head();
    const list = (await n.api('GET', '/v1/versions')).json;
    assert.equal(list.length, head);
    assert.deepEqual(
      list.map((v: { version: number }) => v.version),
      Array.from({ length: head }, (_, i) => head - i),
    );
    for (const v of list) {
      assert.deepEqual(Object.keys(v).sort(), ['action', 'author', 'reason', 'target', 'time', 'version']);
      assert.ok(!Number.isNaN(Date.parse(v.time)));
    }
    assert.equal(list.at(-1).action, 'seed');
    assert.deepEqual(
      (await n.api('GET', '/v1/versions?before=3&limit=5')).json.map((v: { version: number }) => v.version),
      [2, 1],
    );
    assert.deepEqual(
      (await n.api('GET', '/v1/versions?limit=1')).json.map((v: { version: number }) => v.version),
      [head],
    );
    const one = (await n.api('GET', '/v1/versions/2')).json;
    assert.equal(one.version, 2);
    assert.ok(one.document && Array.isArray(one.diff) && one.diff.length > 0);
    const missing = await n.api('GET', `/v1/versions/${head + 1}`);
    assert.deepEqual([missing.status, missing.json.error.code], [404, 'MERIDIAN_ERR_NOT_FOUND']);
    assert.equal((await n.api('GET', '/v1/versions/0')).status, 400);
    const viaHeader = await n.api('PUT', '/v1/regions/us-east/weight', { body: { weight: 99 }, headers: { 'x-meridian-reason': 'from a header' } });
    assert.equal((await n.api('GET', `/v1/versions/${viaHeader.json.version}`)).json.reason, 'from a header');
  });

  test('rollback: a new version whose document is the old one; answers follow; history only grows', async () => {
    await write('PUT', `/v1/services/www.${Z}`, swapWww);
    assert.deepEqual((await dnsQuery(n.port, `www.${Z}`)).addresses, [US]);
    const head = await n.head();
    const r = await write('POST', '/v1/rollback/1?reason=back+to+the+seed');
    assert.equal(r.json.action, 'rollback');
    assert.equal(r.json.target, 'version/1');
    const now = (await n.api('GET', `/v1/versions/${head + 1}`)).json;
    assert.deepEqual(now.document, v1.document);
    assert.equal(now.reason, 'back to the seed');
    assert.deepEqual((await dnsQuery(n.port, `www.${Z}`)).addresses, [EU]);
    assert.deepEqual((await dnsQuery(n.port, `api.${Z}`)).rcode, 'NXDOMAIN');
    assert.equal((await unchanged('POST', '/v1/rollback/1')).json.unchanged, true, 'rolling back to what is current changes nothing');
    await rejected('POST', '/v1/rollback/9999', undefined, 'MERIDIAN_ERR_NOT_FOUND');
    // Forward again: to the version where api.<zone> existed.
    const withApi = (await n.api('GET', '/v1/audit?action=service.put&limit=1000')).json.find((e: { target: string }) => e.target === `service/api.${Z}.`);
    await write('POST', `/v1/rollback/${withApi.version}`);
    assert.equal((await dnsQuery(n.port, `api.${Z}`)).rcode, 'NOERROR');
    await write('POST', '/v1/rollback/1');
  });

  test('audit: filters by author, action, time and limit; ?format=jsonl exports the same entries', async () => {
    const all = (await n.api('GET', '/v1/audit?limit=10000')).json;
    assert.ok(all.length > 10);
    for (let i = 1; i < all.length; i++) assert.ok(all[i - 1].seq > all[i].seq, 'newest first');
    const weights = (await n.api('GET', '/v1/audit?action=region.weight&author=bootstrap')).json;
    assert.ok(weights.length >= 4);
    assert.ok(weights.every((e: { action: string; author: string; version: number }) => e.action === 'region.weight' && e.author === 'bootstrap' && e.version > 1));
    assert.deepEqual((await n.api('GET', '/v1/audit?author=nobody')).json, []);
    assert.equal((await n.api('GET', '/v1/audit?limit=3')).json.length, 3);
    const mid = all[Math.floor(all.length / 2)];
    const since = (await n.api('GET', `/v1/audit?limit=10000&since=${encodeURIComponent(mid.time)}`)).json;
    assert.ok(since.length > 0 && since.every((e: { time: string }) => Date.parse(e.time) >= Date.parse(mid.time)));
    const until = (await n.api('GET', `/v1/audit?limit=10000&until=${encodeURIComponent(mid.time)}`)).json;
    assert.ok(until.length > 0 && until.every((e: { time: string }) => Date.parse(e.time) <= Date.parse(mid.time)));
    assert.deepEqual((await n.api('GET', '/v1/audit?since=2999-01-01T00:00:00Z')).json, []);

    const jsonl = await n.api('GET', '/v1/audit?action=region.weight&author=bootstrap&format=jsonl');
    assert.equal(jsonl.status, 200);
    assert.match(String(jsonl.headers['content-type']), /^application\/x-ndjson/);
    assert.match(String(jsonl.headers['content-disposition']), /attachment/);
    assert.ok(jsonl.body.endsWith('\n'));
    assert.deepEqual(
      jsonl.body
        .trimEnd()
        .split('\n')
        .map((l) => JSON.parse(l)),
      weights,
    );
    const none = await n.api('GET', '/v1/audit?author=nobody&format=jsonl');
    assert.equal(none.body, '');
    const bad = await n.api('GET', '/v1/audit?since=yesterday');
    assert.deepEqual([bad.status, bad.json.error.field], [400, 'querystring/since']);
  });

  test('audit: a time the schema accepts but Date cannot read is a 400, not a 503', async () => {
    // A leap second is a valid RFC 3339 date-time; Date.parse() returns NaN for it.
    const r = await n.api('GET', '/v1/audit?since=2016-12-31T23:59:60Z');
    assert.deepEqual([r.status, r.json.error?.code, r.json.error?.field], [400, 'MERIDIAN_ERR_VALIDATION', 'querystring/since'], r.body);
  });

  test('unknown routes are coded 404s; malformed and overlong URLs are coded 400s', async () => {
    for (const [method, url] of [
      ['GET', '/v1/nope'],
      ['POST', '/v1/config'],
      ['GET', '/v2/config'],
    ] as const) {
      const r = await n.api(method, url);
      assert.deepEqual([r.status, r.json.error.code], [404, 'MERIDIAN_ERR_ROUTE_NOT_FOUND'], `${method} ${url}`);
    }
    // These came back in fastify's own shape (and 414) before frameworkErrors mapped them.
    for (const [url, field] of [
      [`/v1/zones/${'a'.repeat(300)}`, 'params/origin'],
      [`/v1/zones/${'a'.repeat(2000)}`, 'url'],
      ['/v1/zones/%zz', 'url'],
    ] as const) {
      const r = await n.api('GET', url);
      assert.deepEqual([r.status, r.json.error?.code, r.json.error?.field], [400, 'MERIDIAN_ERR_VALIDATION', field], `${url.slice(0, 30)}: ${r.body.slice(0, 200)}`);
    }
    const long = `${'a'.repeat(60)}.${'b'.repeat(60)}.${'c'.repeat(60)}.${Z}`;
    assert.equal((await n.api('GET', `/v1/services/${long}`)).status, 404, 'a long but valid name reaches the handler');
  });
});

async function waitForEmpty(n: AdminNode): Promise<boolean> {
  const end = Date.now() + 3000;
  while (Date.now() < end) {
    if ((await n.api('GET', '/v1/overrides')).json.length === 0) return true;
    await new Promise((r) => setTimeout(r, 100));
  }
  return false;
}
