/**
 * Wire-level table for in-zone CNAME chains that end at a service (RFC 1034 §4.3.2 step 3a): the
 * Responder with real Services (fixture geo database, real policy chains), queried with packets
 * from an independent encoder (dns-packet) and read back with its decoder. The live counterpart,
 * through `meridian serve` with dig/kdig, is test/routing/cname.test.ts.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import dnsPacket from 'dns-packet';
import { loadZoneText } from '../../src/zone/load.js';
import { Responder } from '../../src/dns/respond.js';
import { nameKey } from '../../src/dns/writer.js';
import { GeoDatabase } from '../../src/geo/reader.js';
import { compileChain } from '../../src/policy/chain.js';
import { ALL, health, region } from '../../src/policy/testkit.js';
import { explain } from '../../src/routing/explain.js';
import { Service } from '../../src/routing/service.js';
import type { Zone } from '../../src/zone/zone.js';
import { decode, type DecodedMsg } from '../helpers/client.js';

const Z = 'gslb.example.com.';
const geo = GeoDatabase.open(new URL('../../geodb/test-city.mmdb', import.meta.url).pathname);
const dead = region('dead', { ipv4: ['192.0.2.99'] });
const regions = [...ALL, dead];
const counters = { decisions: 0, geoLookups: 0 };
const env = { geo: () => geo, health: () => health({ dead: 'down' }), counters };
const svc = (name: string, ids: string[], policy: unknown, allDown?: unknown): [string, Service] => [
  name + Z,
  new Service({ name: name + Z, ttl: 30, regions: regions.filter((r) => ids.includes(r.id)), answers: 1, chain: compileChain(policy, allDown, ids) }, env),
];
const services = new Map([
  svc('www.', ['us-east', 'eu-west', 'ap-southeast'], { geo: { continents: { EU: ['eu-west'], NA: ['us-east'], AS: ['ap-southeast'] }, default: ['us-east'] } }),
  svc('v4.', ['ap-southeast'], {}),
  svc('gone.', ['dead'], {}, { mode: 'servfail' }),
]);
const hops = Array.from({ length: 16 }, (_, i) => `c${i} CNAME c${i + 1}`).join('\n');
const ZONE = `$ORIGIN ${Z}\n$TTL 300\n@ SOA ns1 host 1 2 3 4 120\n@ NS ns1\nns1 A 192.0.2.53\nwww TXT "svc"
api CNAME www\nalias CNAME api\nlegacy CNAME v4\ndown CNAME gone\naway CNAME www.example.org.\nloop1 CNAME loop2\nloop2 CNAME loop1
*.wild CNAME www\n${hops}\nc15x CNAME www\nc14x CNAME c15x\n`;
const zone = loadZoneText(ZONE, 'test.zone', Z, [...services.keys()]) as Zone;
assert.ok(!Array.isArray(zone), JSON.stringify(zone));
const zones = new Map([[nameKey(Z), zone]]);
const responder = (): Responder => new Responder({ byKey: zones, services }, { udpSize: 1232, chaos: false, version: 'v', identity: 'i', cacheEntries: 1000 });

function q(name: string, type: string, ecs?: string): Buffer {
  const opt: Record<string, unknown> = { type: 'OPT', name: '.', udpPayloadSize: 1232 };
  if (ecs) {
    const [ip, len] = ecs.split('/');
    opt.options = [{ code: 'CLIENT_SUBNET', family: ip!.includes(':') ? 2 : 1, sourcePrefixLength: Number(len), scopePrefixLength: 0, ip }];
  }
  return dnsPacket.encode({ type: 'query', id: 7, questions: [{ type: type as 'A', name }], additionals: [opt as never] });
}
const scopeOf = (m: DecodedMsg): number | null =>
  (m.additionals.find((a) => a.type === 'OPT') as { options?: { code: number; scopePrefixLength: number }[] } | undefined)?.options?.find((o) => o.code === 8)?.scopePrefixLength ?? null;
const rrs = (list: DecodedMsg['answers']): string[] =>
  list.map((a) => `${a.name}. ${a.type} ${typeof a.data === 'string' ? a.data : Array.isArray(a.data) ? a.data.join(' ') : JSON.stringify(a.data)}`);

const LONDON = '81.2.69.0/24';
const ASHBURN = '3.5.0.0/24';
const AMSTERDAM6 = '2001:db8:1:100::/56';
const W = `www.${Z}`;
const cn = (from: string, to: string): string => `${from}.${Z} CNAME ${to}.${Z.slice(0, -1)}`;

const CASES: { name: string; qname: string; qtype: string; ecs?: string; rcode: string; answer: string[]; authority?: string[]; scope: number | null }[] = [
  { name: 'direct A, London', qname: 'www', qtype: 'A', ecs: LONDON, rcode: 'NOERROR', answer: [`${W} A 192.0.2.2`], scope: 24 },
  { name: 'one CNAME, London', qname: 'api', qtype: 'A', ecs: LONDON, rcode: 'NOERROR', answer: [cn('api', 'www'), `${W} A 192.0.2.2`], scope: 24 },
  { name: 'one CNAME, Ashburn', qname: 'api', qtype: 'A', ecs: ASHBURN, rcode: 'NOERROR', answer: [cn('api', 'www'), `${W} A 192.0.2.1`], scope: 10 },
  { name: 'two CNAMEs, Ashburn', qname: 'alias', qtype: 'A', ecs: ASHBURN, rcode: 'NOERROR', answer: [cn('alias', 'api'), cn('api', 'www'), `${W} A 192.0.2.1`], scope: 10 },
  {
    name: 'two CNAMEs, AAAA, Amsterdam IPv6 ECS',
    qname: 'alias',
    qtype: 'AAAA',
    ecs: AMSTERDAM6,
    rcode: 'NOERROR',
    answer: [cn('alias', 'api'), cn('api', 'www'), `${W} AAAA 2001:db8:2::1`],
    scope: 56,
  },
  { name: 'QNAME case is echoed; the service owner is ours', qname: 'ApI', qtype: 'A', ecs: LONDON, rcode: 'NOERROR', answer: [`ApI.${Z} CNAME www.${Z.slice(0, -1)}`, `${W} A 192.0.2.2`], scope: 24 },
  { name: 'wildcard CNAME into the service', qname: 'x.wild', qtype: 'A', ecs: LONDON, rcode: 'NOERROR', answer: [cn('x.wild', 'www'), `${W} A 192.0.2.2`], scope: 24 },
  { name: '15 CNAMEs then the service: followed', qname: 'c14x', qtype: 'A', ecs: LONDON, rcode: 'NOERROR', answer: [cn('c14x', 'c15x'), cn('c15x', 'www'), `${W} A 192.0.2.2`], scope: 24 },
  {
    name: 'TXT follows into the zone data at the service name; scope 0',
    qname: 'alias',
    qtype: 'TXT',
    ecs: LONDON,
    rcode: 'NOERROR',
    answer: [cn('alias', 'api'), cn('api', 'www'), `${W} TXT svc`],
    scope: 0,
  },
  { name: 'MX: NODATA after the chain, SOA in authority', qname: 'api', qtype: 'MX', ecs: LONDON, rcode: 'NOERROR', answer: [cn('api', 'www')], authority: ['SOA'], scope: 0 },
  { name: 'ANY: HINFO at the service name', qname: 'api', qtype: 'ANY', rcode: 'NOERROR', answer: [cn('api', 'www'), `${W} HINFO {"cpu":"RFC8482","os":""}`], scope: null },
  { name: 'ANY at a service with no zone data: HINFO, not NODATA', qname: 'v4', qtype: 'ANY', rcode: 'NOERROR', answer: [`v4.${Z} HINFO {"cpu":"RFC8482","os":""}`], scope: null },
  {
    name: 'service without an address of the family: NODATA after the CNAME',
    qname: 'legacy',
    qtype: 'AAAA',
    ecs: LONDON,
    rcode: 'NOERROR',
    answer: [cn('legacy', 'v4')],
    authority: ['SOA'],
    scope: 0,
  },
  { name: 'service whose all-down policy is servfail: SERVFAIL', qname: 'down', qtype: 'A', ecs: LONDON, rcode: 'SERVFAIL', answer: [], scope: 0 },
  { name: 'the same, asked directly', qname: 'gone', qtype: 'A', ecs: LONDON, rcode: 'SERVFAIL', answer: [], scope: 0 },
  { name: 'out of zone: stops, static scope 0', qname: 'away', qtype: 'A', ecs: LONDON, rcode: 'NOERROR', answer: [`away.${Z} CNAME www.example.org`], scope: 0 },
  { name: 'loop: stops at the second CNAME', qname: 'loop1', qtype: 'A', rcode: 'NOERROR', answer: [cn('loop1', 'loop2'), cn('loop2', 'loop1')], scope: null },
];

for (const c of CASES) {
  test(`wire: ${c.name}`, () => {
    const out = responder().answer(q(`${c.qname}.${Z}`, c.qtype, c.ecs), true, '127.0.0.1');
    const m = decode(out!);
    assert.equal(m.rcode, c.rcode);
    assert.deepEqual(rrs(m.answers), c.answer);
    assert.deepEqual(
      m.authorities.map((a) => a.type),
      c.authority ?? [],
    );
    assert.equal(scopeOf(m), c.scope);
    if (c.rcode === 'NOERROR') assert.equal(m.flag_aa, true);
  });
}

test('wire: a chain longer than 16 CNAMEs stops at the 16th, as any chain does', () => {
  const m = decode(responder().answer(q(`c0.${Z}`, 'A', LONDON), true)!);
  assert.equal(m.rcode, 'NOERROR');
  assert.equal(m.answers.length, 16);
  assert.ok(m.answers.every((a) => a.type === 'CNAME'));
});

test('the chain and the direct name share the service decision cache: one computation per subnet', () => {
  const www = services.get(W)!;
  www.clearCache();
  const before = { ...counters };
  const r = responder();
  const asked = [...['www', 'api', 'alias', 'api', 'www'].map((n) => [n, '81.2.69.0/24']), ['api', '81.2.69.128/25'], ['www', '81.2.69.128/25']];
  for (const [name, ecs] of asked) {
    const m = decode(r.answer(q(`${name}.${Z}`, 'A', ecs), true)!);
    assert.equal(m.answers.at(-1)?.data, '192.0.2.2', `${name} from ${ecs}`);
  }
  assert.equal(counters.decisions - before.decisions, 1, 'one decision for the /24, whichever name asked');
  assert.equal(counters.geoLookups - before.geoLookups, 1, 'one geo lookup: every later query hits the /24');
});

test('explain with the zones follows the same chain and agrees with the wire answer', () => {
  for (const ecs of [LONDON, ASHBURN, '43.224.3.0/24']) {
    const e = explain(services, 'ALIAS.gslb.example.com', '192.0.2.1', { ecs, zones });
    assert.ok(e.ok, e.ok ? '' : e.error);
    assert.deepEqual(e.explanation.cnames, [`alias.${Z} CNAME api.${Z}`, `api.${Z} CNAME ${W}`]);
    assert.equal(e.explanation.service, W);
    const m = decode(responder().answer(q(`alias.${Z}`, 'A', ecs), true)!);
    assert.deepEqual(
      e.explanation.addresses,
      m.answers.slice(2).map((a) => a.data),
    );
    assert.equal(e.explanation.scope, scopeOf(m));
  }
  const none = explain(services, `away.${Z}`, '192.0.2.1', { zones });
  assert.ok(!none.ok && /is not a service; its CNAME chain ends at www\.example\.org\./.test(none.error), JSON.stringify(none));
  const noZones = explain(services, `api.${Z}`, '192.0.2.1');
  assert.ok(!noZones.ok && /is not a service/.test(noZones.error));
});
