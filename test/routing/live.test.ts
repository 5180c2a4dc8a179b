/**
 * Services answered by a live DNS node over real UDP, with the fixture geo database
 * (geodb/test-city.mmdb): geo decisions and ECS scopes per fixture network, health states and the
 * all-down policies, metrics, and `explain` agreeing with the server for 1,000 random clients.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { after, before, describe, test } from 'node:test';
import fc from 'fast-check';
import { explain } from '../../src/routing/explain.js';
import { buildServices, openGeo } from '../../src/node/services.js';
import { decode, ecsScope, query, udpExchange } from '../helpers/client.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { loadConfigFile } from '../../src/node/config.js';
import { MERIDIAN_ENTRY } from '../helpers/meridian-bin.js';

const GEODB = new URL('../../geodb/test-city.mmdb', import.meta.url).pathname;
const Z = 'gslb.example.com';
const ADDR = { 'us-east': '192.0.2.10', 'us-west': '192.0.2.20', 'eu-west': '198.51.100.10', 'ap-southeast': '203.0.113.10' } as const;

const ROUTING = {
  geo: { database: GEODB },
  metrics: { listen: '127.0.0.1:0' },
  regions: [
    { id: 'us-east', location: { lat: 39.04, lon: -77.49, continent: 'NA', country: 'US' }, addresses: { ipv4: [ADDR['us-east']], ipv6: ['2001:db8:a::1'] } },
    { id: 'us-west', location: { lat: 37.34, lon: -121.89, continent: 'NA', country: 'US' }, addresses: { ipv4: [ADDR['us-west']], ipv6: [] }, weight: 50 },
    { id: 'eu-west', location: { lat: 53.35, lon: -6.26, continent: 'EU', country: 'IE' }, addresses: { ipv4: [ADDR['eu-west']], ipv6: ['2001:db8:b::1'] } },
    { id: 'ap-southeast', location: { lat: 1.35, lon: 103.82, continent: 'AS', country: 'SG' }, addresses: { ipv4: [ADDR['ap-southeast']], ipv6: ['2001:db8:c::1'] } },
    { id: 'dead-1', location: { lat: 0, lon: 0, continent: 'AF', country: 'GH' }, addresses: { ipv4: ['192.0.2.91'] }, state: 'down' },
    { id: 'dead-2', location: { lat: 0, lon: 0, continent: 'AF', country: 'GH' }, addresses: { ipv4: ['192.0.2.92'] }, state: 'down' },
  ],
  services: [
    {
      name: `geo.${Z}`,
      regions: ['us-east', 'us-west', 'eu-west', 'ap-southeast'],
      policy: {
        geo: {
          subdivisions: { 'US-CA': ['us-west', 'us-east'] },
          continents: { EU: ['eu-west', 'us-east'], NA: ['us-east', 'us-west'], AS: ['ap-southeast'], OC: ['ap-southeast'], SA: ['us-east'], AF: ['eu-west'] },
          default: [['us-east', 'us-west', 'eu-west', 'ap-southeast']],
        },
        sticky: {},
      },
    },
    { name: `near.${Z}`, regions: ['us-east', 'us-west', 'eu-west', 'ap-southeast'], policy: { proximity: {} } },
    { name: `dr.${Z}`, regions: ['dead-1', 'eu-west'], policy: { failover: ['dead-1', 'eu-west'] } },
    { name: `gone.${Z}`, regions: ['dead-1', 'dead-2'], policy: { failover: ['dead-1', 'dead-2'] }, allDown: { mode: 'servfail' } },
    { name: `open.${Z}`, regions: ['dead-1', 'dead-2'], policy: { failover: ['dead-2', 'dead-1'] } },
  ],
};

function q(name: string, type: 'A' | 'AAAA' | 'TXT', ecs?: string, id = 77): Buffer {
  return query(name, type, { id, rd: false, ...(ecs !== undefined ? { ecs } : {}) });
}

describe('services over the wire (fixture geo database)', () => {
  let srv: TestServer;
  before(async () => {
    srv = await startTestServer({ extra: ROUTING, zoneText: `$ORIGIN ${Z}.\n$TTL 300\n@ SOA ns1 host 1 7200 3600 1209600 300\n@ NS ns1\nns1 A 127.0.0.1\ngeo TXT "a service may have other types"\n` });
  });
  after(() => srv.stop());

  const cases: { name: string; qname: string; type: 'A' | 'AAAA'; ecs?: string; want: string[]; scope: number | null }[] = [
    { name: 'London /24 -> eu-west, scope = the fixture /24', qname: `geo.${Z}`, type: 'A', ecs: '81.2.69.0/24', want: [ADDR['eu-west']], scope: 24 },
    { name: 'London /25 nested in Amsterdam /20 -> scope 25, longer than the /24 source', qname: `geo.${Z}`, type: 'A', ecs: '2.16.32.128/25', want: [ADDR['eu-west']], scope: 25 },
    { name: 'the lower half beside that /25 is a /25 leaf of Amsterdam: scope 25', qname: `geo.${Z}`, type: 'A', ecs: '2.16.32.0/24', want: [ADDR['eu-west']], scope: 25 },
    { name: 'Frankfurt /16 split by its nested /20: the leaf 2.16.128.0/17 -> scope 17', qname: `geo.${Z}`, type: 'A', ecs: '2.16.200.0/24', want: [ADDR['eu-west']], scope: 17 },
    { name: 'San Jose (US-CA) -> subdivision rule -> us-west', qname: `geo.${Z}`, type: 'A', ecs: '3.101.7.0/24', want: [ADDR['us-west']], scope: 16 },
    { name: 'Ashburn (NA) -> us-east; 3.0.0.0/8 split by 3.101.0.0/16 leaves the leaf /10', qname: `geo.${Z}`, type: 'A', ecs: '3.5.0.0/24', want: [ADDR['us-east']], scope: 10 },
    { name: 'Tokyo (AS) -> ap-southeast', qname: `geo.${Z}`, type: 'A', ecs: '43.224.3.0/24', want: [ADDR['ap-southeast']], scope: 20 },
    { name: 'Sydney (OC) -> ap-southeast', qname: `geo.${Z}`, type: 'A', ecs: '13.54.9.0/24', want: [ADDR['ap-southeast']], scope: 16 },
    { name: 'AAAA from Amsterdam /56 -> eu-west', qname: `geo.${Z}`, type: 'AAAA', ecs: '2001:db8:1:100::/56', want: ['2001:db8:b::1'], scope: 56 },
    { name: 'AAAA for a region without IPv6 falls to the next (US-CA)', qname: `geo.${Z}`, type: 'AAAA', ecs: '3.101.7.0/24', want: ['2001:db8:a::1'], scope: 16 },
    { name: 'proximity: Toronto is nearest Ashburn', qname: `near.${Z}`, type: 'A', ecs: '24.48.1.0/24', want: [ADDR['us-east']], scope: 20 },
    { name: 'proximity: Johannesburg is nearer Singapore (8,660 km) than Dublin (9,500 km)', qname: `near.${Z}`, type: 'A', ecs: '41.0.5.0/24', want: [ADDR['ap-southeast']], scope: 16 },
    { name: 'failover past a down region; the client does not matter (scope 0)', qname: `dr.${Z}`, type: 'A', ecs: '81.2.69.0/24', want: [ADDR['eu-west']], scope: 0 },
    { name: 'no ECS: the resolver address decides; no option in the answer', qname: `near.${Z}`, type: 'A', want: [ADDR['us-east']], scope: null },
    { name: 'ECS /0 opts out: resolver address, scope 0', qname: `near.${Z}`, type: 'A', ecs: '0.0.0.0/0', want: [ADDR['us-east']], scope: 0 },
    { name: 'all down, default failopen: the first in order as if healthy', qname: `open.${Z}`, type: 'A', want: ['192.0.2.92'], scope: null },
    { name: 'AAAA at a service whose regions have no IPv6: NODATA', qname: `open.${Z}`, type: 'AAAA', want: [], scope: null },
  ];
  for (const c of cases) {
    test(c.name, async () => {
      const m = decode((await udpExchange(srv.port, q(c.qname, c.type, c.ecs)))!);
      assert.equal(m.rcode, 'NOERROR');
      assert.equal(m.flag_aa, true);
      assert.deepEqual(
        m.answers.map((a) => a.data),
        c.want,
      );
      assert.equal(ecsScope(m), c.scope);
      if (c.want.length) assert.equal(m.answers[0]!.ttl, 30, 'service default TTL');
      else assert.equal(m.authorities[0]?.type, 'SOA', 'NODATA carries the SOA');
    });
  }

  test('other types at a service name come from the zone', async () => {
    const m = decode((await udpExchange(srv.port, q(`geo.${Z}`, 'TXT')))!);
    assert.equal(m.rcode, 'NOERROR');
    assert.equal(m.answers[0]!.type, 'TXT');
  });

  test('all down with servfail policy: SERVFAIL, counted in metrics', async () => {
    const before = srv.node.responder.stats.allDown;
    const m = decode((await udpExchange(srv.port, q(`gone.${Z}`, 'A', '81.2.69.0/24')))!);
    assert.equal(m.rcode, 'SERVFAIL');
    assert.equal(srv.node.responder.stats.allDown, before + 1);
    const res = await fetch(`http://127.0.0.1:${srv.node.metricsPort}/metrics`);
    const text = await res.text();
    assert.match(text, /^meridian_policy_all_down_answers_total [1-9]\d*$/m);
    assert.match(text, /^meridian_dns_dynamic_answers_total [1-9]\d*$/m);
    assert.match(text, /^meridian_geo_database_build_epoch_seconds [1-9]\d*$/m);
  });

  test('explain agrees with the live server for 1,000 random clients', async () => {
    const loaded = loadConfigFile(srv.dir + '/meridian.yaml');
    assert.ok(loaded.ok);
    const geo = openGeo(loaded.config, null);
    // The node's own health snapshot: explain must agree with the node given the same inputs.
    const services = buildServices(loaded.config, { geo: () => geo?.current ?? null, health: () => srv.node.health.source.current });
    // Half the clients from the fixture's networks (so every geo branch is hit), half anywhere.
    const fixtureV4 = [
      '81.2.69.',
      '2.16.32.',
      '2.16.7.',
      '2.77.1.',
      '3.101.4.',
      '3.9.9.',
      '24.48.2.',
      '43.224.5.',
      '103.5.140.',
      '13.54.3.',
      '177.71.130.',
      '41.0.9.',
      '192.0.2.',
      '198.51.100.',
      '203.0.113.',
    ];
    const clients = fc.sample(
      fc.oneof(
        fc.tuple(fc.constantFrom(...fixtureV4), fc.integer({ min: 0, max: 255 })).map(([p, h]) => `${p}${h}`),
        fc.ipV4(),
      ),
      { numRuns: 1000, seed: 20261123 },
    );
    let checked = 0;
    for (const [i, ip] of clients.entries()) {
      const name = i % 2 ? `geo.${Z}` : `near.${Z}`;
      const live = decode((await udpExchange(srv.port, q(name, 'A', `${ip}/32`, i)))!);
      const e = explain(services, name, '127.0.0.1', { ecs: `${ip}/32` });
      assert.ok(e.ok);
      assert.deepEqual(
        live.answers.map((a) => a.data),
        e.explanation.addresses,
        `${name} for ${ip}`,
      );
      assert.equal(ecsScope(live), e.explanation.scope, `scope for ${ip}`);
      checked++;
    }
    geo?.stop();
    assert.equal(checked, 1000);
  });
});

test('meridian explain --offline prints the decision step by step, says it was not asked of the node', () => {
  const r = spawnSync(process.execPath, [...MERIDIAN_ENTRY, 'explain', 'www.gslb.example.com', '192.0.2.1', '--ecs', '8.8.8.0/24', '--offline'], {
    cwd: new URL('../..', import.meta.url).pathname,
    encoding: 'utf8',
  });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /service www\.gslb\.example\.com\. A {2}\(chain: geo -> health -> sticky\)/);
  assert.match(r.stdout, /client: ECS 8\.8\.8\.0\/24 \(resolver 192\.0\.2\.1\)/);
  assert.match(r.stdout, /geo: .* -> continent NA, country US/);
  assert.match(r.stdout, /answer: A 192\.0\.2\.10 {2}ttl 30 {2}ECS scope \/\d+/);
  // The demo config has an admin API: --offline computes here, and says loudly it did not ask the node.
  assert.match(r.stdout, /view: in-process from .*zones\/meridian\.yaml/);
  assert.match(r.stderr, /WARNING: --offline: computed in this process .* NOT asked of http:\/\/127\.0\.0\.1:8053/);
  const json = spawnSync(process.execPath, [...MERIDIAN_ENTRY, 'explain', 'www.gslb.example.com', '192.0.2.1', '--json', '--offline'], {
    cwd: new URL('../..', import.meta.url).pathname,
    encoding: 'utf8',
  });
  assert.equal(json.status, 0, json.stderr);
  const parsed = JSON.parse(json.stdout) as { service: string; addresses: string[]; ecs: string | null; view: { kind: string } };
  assert.equal(parsed.view.kind, 'in-process');
  assert.equal(parsed.service, 'www.gslb.example.com.');
  assert.equal(parsed.ecs, null);
  assert.equal(parsed.addresses.length, 1);
  const bad = spawnSync(process.execPath, [...MERIDIAN_ENTRY, 'explain', 'nope.gslb.example.com', '192.0.2.1', '--offline'], {
    cwd: new URL('../..', import.meta.url).pathname,
    encoding: 'utf8',
  });
  assert.equal(bad.status, 1);
  assert.match(bad.stderr, /is not a service/);
  // Regression: a client that is not an IP address was taken for an IPv6 client and explained; it
  // is a bad command line now, refused before anything is read.
  const notIp = spawnSync(process.execPath, [...MERIDIAN_ENTRY, 'explain', 'www.gslb.example.com', 'zzz'], { cwd: new URL('../..', import.meta.url).pathname, encoding: 'utf8' });
  assert.equal(notIp.status, 2);
  assert.match(notIp.stderr, /"zzz" is not an IP address/);
});
