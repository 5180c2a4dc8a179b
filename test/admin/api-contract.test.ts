/**
 * What an API client reads and sends back, through one real `meridian serve` process (its admin
 * API over HTTP, its answers over UDP): a region's health next to its configured state, audit diffs
 * keyed by identity, a missing endpoint's delete, GET bodies PUT back, coded validation errors and
 * the `dryRun` spellings.
 *
 * Region `dead` has one endpoint probed every 100 ms on a loopback port nothing listens on, so the
 * node's own probe marks it down within a few checks; `live` has no endpoints (always up).
 */
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, describe, test } from 'node:test';
import { decode, query, udpExchange } from '../helpers/client.js';
import { startMeridianWithApi, type ApiNode } from '../helpers/apiproc.js';

const Z = 'gslb.example.com';
const ZONE = `$ORIGIN ${Z}.\n$TTL 300\n@ SOA ns1 host 1 7200 3600 1209600 300\n@ NS ns1\nns1 A 127.0.0.1\n`;
const DEAD = '192.0.2.66';
const LIVE = '198.51.100.77';

/** A loopback port nothing listens on (bound, then closed). */
async function closedPort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

async function until(what: string, pred: () => Promise<boolean>, timeoutMs = 15_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await pred())) {
    assert.ok(Date.now() < end, `timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('admin API contract through a real meridian serve', () => {
  let node: ApiNode;
  before(async () => {
    const check = { type: 'tcp', intervalMs: 100, timeoutMs: 80, rise: 1, fall: 1 };
    node = await startMeridianWithApi({
      zones: [{ origin: Z, text: ZONE }],
      extra: {
        regions: [
          {
            id: 'dead',
            location: { lat: 39, lon: -77, continent: 'NA', country: 'US' },
            addresses: { ipv4: [DEAD] },
            endpoints: [{ id: 'web-1', address: '127.0.0.1', port: await closedPort(), check }],
          },
          { id: 'live', location: { lat: 53, lon: -6, continent: 'EU', country: 'IE' }, addresses: { ipv4: [LIVE] } },
          { id: 'spare', location: { lat: 1, lon: 103, continent: 'AS', country: 'SG' }, addresses: { ipv4: ['203.0.113.9'] } },
        ],
        services: [
          { name: `www.${Z}`, regions: ['dead', 'live'], policy: { failover: ['dead', 'live'] } },
          { name: `api.${Z}`, regions: ['dead', 'live'], policy: { weighted: {} } },
        ],
      },
    });
  });
  after(() => node?.stop());

  test('a region whose endpoints are all down reads as down (health beside the configured state), in the list too', async () => {
    await until('the probe to fail www over to live', async () => {
      const raw = await udpExchange(node.port, query(`www.${Z}`, 'A'), { timeoutMs: 500 });
      return raw !== null && decode(raw).answers[0]?.data === LIVE;
    });
    const one = await node.api('GET', '/v1/regions/dead');
    assert.equal(one.status, 200, one.text);
    assert.equal(one.json.state, 'up', 'the configured (admin) state is unchanged');
    assert.deepEqual(one.json.health, { state: 'down', source: 'probes', endpointsUp: 0, endpointsCounted: 1 }, one.text);
    const list = await node.api('GET', '/v1/regions');
    assert.deepEqual(
      list.json.map((r: { id: string; health: unknown }) => [r.id, r.health]),
      [
        ['dead', one.json.health],
        ['live', { state: 'up', source: 'empty', endpointsUp: 0, endpointsCounted: 0 }],
        ['spare', { state: 'up', source: 'empty', endpointsUp: 0, endpointsCounted: 0 }],
      ],
    );
  });
  test('GET bodies PUT back unchanged: read-only fields (name, origin, id, health, drain) are accepted and ignored', async () => {
    for (const path of [`/v1/services/www.${Z}`, `/v1/zones/${Z}`, '/v1/regions/dead']) {
      const got = await node.api('GET', path);
      assert.equal(got.status, 200, got.text);
      const put = await node.api('PUT', path, got.json);
      assert.equal(put.status, 200, `${path}: ${put.text}`);
      assert.equal(put.json.unchanged, true, `${path}: ${put.text}`);
    }
    // A drain in progress shows in the GET; PUT back, it stays as it was.
    const drain = await node.api('POST', '/v1/regions/live/drain?reason=test', { ttl: 1 });
    assert.equal(drain.status, 202, drain.text);
    const draining = await node.api('GET', '/v1/regions/live');
    assert.equal(draining.json.drain.phase, 'lowering', draining.text);
    const put = await node.api('PUT', '/v1/regions/live', draining.json);
    assert.equal(put.status, 200, put.text);
    assert.equal(put.json.unchanged, true, put.text);
    assert.equal((await node.api('DELETE', '/v1/regions/live/drain?reason=test')).status, 200);
  });

  test('an identity field that names another resource than the URL is refused, coded, naming the field', async () => {
    const cases: [string, string, unknown][] = [
      [`/v1/services/www.${Z}`, 'body/name', { ...(await node.api('GET', `/v1/services/www.${Z}`)).json, name: `api.${Z}` }],
      [`/v1/zones/${Z}`, 'body/origin', { ...(await node.api('GET', `/v1/zones/${Z}`)).json, origin: 'other.example.' }],
      ['/v1/regions/dead', 'body/id', { ...(await node.api('GET', '/v1/regions/dead')).json, id: 'live' }],
    ];
    const before = await node.applied();
    for (const [path, field, body] of cases) {
      const r = await node.api('PUT', path, body);
      assert.equal(r.status, 400, r.text);
      assert.equal(r.json.error.code, 'MERIDIAN_ERR_VALIDATION', r.text);
      assert.equal(r.json.error.field, field, r.text);
    }
    assert.equal((await node.api('GET', '/v1/status')).json.head, before, 'nothing committed');
  });
  test('a delete reads as one removal keyed by identity, in the reply, the version and the audit log', async () => {
    const svc = { regions: ['live'], policy: { failover: ['live'] } };
    for (const n of ['a1', 'a2', 'a3']) assert.equal((await node.api('PUT', `/v1/services/${n}.${Z}`, { ...svc, ttl: 10 + n.length })).status, 201);
    const del = await node.api('DELETE', `/v1/services/a1.${Z}?reason=contract`);
    assert.equal(del.status, 200, del.text);
    const one = (diff: { op: string; path: string; before?: { name?: string } }[]): void => {
      assert.equal(diff.length, 1, JSON.stringify(diff));
      assert.equal(diff[0]!.op, 'remove');
      assert.match(diff[0]!.path, /^\/services\/\d+$/);
      assert.equal(diff[0]!.before?.name, `a1.${Z}`);
    };
    one(del.json.diff);
    one((await node.api('GET', `/v1/versions/${del.json.version}`)).json.diff);
    // An endpoint in the middle of its region's list, the same way.
    for (const id of ['e1', 'e2', 'e3']) assert.equal((await node.api('POST', '/v1/regions/spare/endpoints', { id, address: '127.0.0.1', port: 9, check: { type: 'tcp' } })).status, 201);
    const ep = await node.api('DELETE', '/v1/regions/spare/endpoints?id=e1');
    assert.equal(ep.status, 200, ep.text);
    assert.deepEqual(
      ep.json.diff.map((d: { op: string; path: string; before?: { id?: string } }) => [d.op, d.path, d.before?.id]),
      [['remove', '/regions/2/endpoints/0', 'e1']],
    );
    const audit = await node.api('GET', '/v1/audit?action=service.delete&limit=1');
    assert.equal(audit.json[0].version, del.json.version, audit.text);
  });

  test('deleting an endpoint that does not exist is a coded 404 and changes nothing', async () => {
    const head = (await node.api('GET', '/v1/status')).json.head;
    const audit = (await node.api('GET', '/v1/audit?limit=1')).json[0].seq;
    for (const q of ['id=nope', 'address=127.0.0.9&port=9']) {
      const r = await node.api('DELETE', `/v1/regions/spare/endpoints?${q}`);
      assert.equal(r.status, 404, r.text);
      assert.equal(r.json.error.code, 'MERIDIAN_ERR_NOT_FOUND', r.text);
      assert.match(r.json.error.message, /endpoint .* of region spare does not exist/, r.text);
    }
    assert.equal((await node.api('GET', '/v1/status')).json.head, head, 'no new version');
    assert.equal((await node.api('GET', '/v1/audit?limit=1')).json[0].seq, audit, 'no audit entry');
  });
  test('validation errors are coded, name the field, and say what is allowed (no raw schema-library text)', async () => {
    const R = { location: { lat: 1, lon: 103, continent: 'AS', country: 'SG' }, addresses: { ipv4: ['203.0.113.9'] } };
    const cases: [string, string, unknown, string, string, RegExp][] = [
      ['PUT', '/v1/regions/spare', { ...R, forwarder: { capacity: 0 } }, 'MERIDIAN_ERR_INVALID_CONFIG', '/regions/2/forwarder/capacity', /must be at least 1/],
      ['PUT', '/v1/regions/spare', { ...R, forwarder: { relays: 'x' } }, 'MERIDIAN_ERR_INVALID_CONFIG', '/regions/2/forwarder/relays', /unknown key "relays"/],
      ['PUT', '/v1/regions/spare', { ...R, forwarder: { listen: { web: 5 } } }, 'MERIDIAN_ERR_INVALID_CONFIG', '/regions/2/forwarder/listen/web', /must be a string/],
      ['PUT', '/v1/regions/spare', { ...R, state: 'sideways' }, 'MERIDIAN_ERR_VALIDATION', 'body/state', /must be one of up, down, drained/],
      ['PUT', '/v1/regions/spare', { ...R, location: { ...R.location, continent: 'XX' } }, 'MERIDIAN_ERR_VALIDATION', 'body/location/continent', /must be one of AF, AN, AS, EU, NA, OC, SA/],
      ['PUT', '/v1/regions/spare', { ...R, colour: 'red' }, 'MERIDIAN_ERR_VALIDATION', 'body/colour', /unknown key "colour"/],
      ['PUT', '/v1/regions/spare', { ...R, endpoints: [{ address: '127.0.0.1' }] }, 'MERIDIAN_ERR_VALIDATION', 'body/endpoints/0/port', /is required/],
      ['PUT', `/v1/services/x.${Z}`, { regions: [] }, 'MERIDIAN_ERR_VALIDATION', 'body/regions', /must have at least 1 item/],
      ['PUT', `/v1/services/x.${Z}`, { regions: ['live'], answers: 99 }, 'MERIDIAN_ERR_VALIDATION', 'body/answers', /must be at most 16/],
      ['POST', '/v1/tokens', { name: 'ci', role: 'god' }, 'MERIDIAN_ERR_VALIDATION', 'body/role', /must be one of viewer, operator, admin/],
    ];
    for (const [method, path, body, code, field, reason] of cases) {
      const r = await node.api(method, path, body);
      const what = `${method} ${path} ${JSON.stringify(body)}: ${r.text}`;
      assert.equal(r.status, 400, what);
      assert.equal(r.json.error.code, code, what);
      assert.equal(r.json.error.field, field, what);
      assert.ok(r.json.error.message.startsWith(`${field} `), `the message names the field: ${what}`);
      assert.match(r.json.error.message, reason, what);
      assert.doesNotMatch(r.json.error.message, /Expected|Unexpected property|equal to constant|NOT have/, what);
    }
  });

  test('?dryRun= takes true/false and 1/0; anything else is a coded 400', async () => {
    const head = async (): Promise<number> => (await node.api('GET', '/v1/status')).json.head;
    for (const v of ['1', 'true']) {
      const before = await head();
      const r = await node.api('PUT', `/v1/regions/spare/weight?dryRun=${v}`, { weight: 7 });
      assert.equal(r.status, 200, r.text);
      assert.equal(r.json.dryRun, true, r.text);
      assert.equal(await head(), before, `dryRun=${v} commits nothing`);
    }
    for (const [v, w] of [
      ['0', 8],
      ['false', 9],
    ] as const) {
      const r = await node.api('PUT', `/v1/regions/spare/weight?dryRun=${v}`, { weight: w });
      assert.equal(r.status, 200, r.text);
      assert.equal(r.json.dryRun, undefined, r.text);
      assert.equal((await node.api('GET', '/v1/regions/spare')).json.weight, w, `dryRun=${v} is a real write`);
    }
    const bad = await node.api('PUT', '/v1/regions/spare/weight?dryRun=yes', { weight: 10 });
    assert.equal(bad.status, 400, bad.text);
    assert.equal(bad.json.error.code, 'MERIDIAN_ERR_VALIDATION');
    assert.equal(bad.json.error.field, 'querystring/dryRun');
    assert.match(bad.json.error.message, /^querystring\/dryRun must be true or false \(or 1 or 0\)/);
  });
});
