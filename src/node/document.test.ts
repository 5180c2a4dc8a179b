import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import type { ConfigDocument } from '../config/document.js';
import { zoneSourceFromText } from '../zone/present.js';
import { compileDocument, loadConfigFile } from './config.js';
import { parseZoneText } from '../zone/parse.js';
import { dedupe } from '../zone/validate.js';

const fixture = readFileSync(new URL('../../test/fixtures/gslb.example.com.zone', import.meta.url), 'utf8');
const origin = 'gslb.example.com.';

test('a zone file survives the trip to document records and back, record for record', () => {
  const zone = zoneSourceFromText(fixture, origin, 'fixture');
  const result = compileDocument({ zones: [zone] });
  assert.ok(result.ok, JSON.stringify(!result.ok && result.problems));
  const before = dedupe(parseZoneText(fixture, { file: 'f', origin }).records).map(({ line: _l, ...r }) => r);
  const text = zone.records.map((r) => `${r.name} ${r.ttl} IN ${r.type} ${r.data}`).join('\n');
  const after = dedupe(parseZoneText(text, { file: 'g', origin }).records).map(({ line: _l, ...r }) => r);
  assert.equal(after.length, before.length);
  assert.deepEqual(after, before);
  // Unusual bytes in character-strings come back identical (escaping of ", \ and non-printables).
  const odd = zoneSourceFromText('@ 60 IN SOA ns. h. 1 2 3 4 5\n@ IN TXT "a\\"b\\\\c\\009\\255"\n@ IN TYPE65280 \\# 3 abcdef\n', origin, 'odd');
  const oddText = odd.records.map((r) => `${r.name} ${r.ttl} IN ${r.type} ${r.data}`).join('\n');
  const txt = parseZoneText(oddText, { file: 'o', origin }).records.find((r) => r.type === 16)!;
  assert.deepEqual(txt.rdata, { type: 16, strings: [Buffer.from([0x61, 0x22, 0x62, 0x5c, 0x63, 9, 255])] });
  assert.equal(odd.records[2]!.data, '\\# 3 abcdef');
});

test('the demo YAML yields a document that compiles to the same routing', () => {
  const loaded = loadConfigFile(new URL('../../zones/meridian.yaml', import.meta.url).pathname);
  assert.ok(loaded.ok);
  const result = compileDocument(structuredClone(loaded.config.document));
  assert.ok(result.ok, JSON.stringify(!result.ok && result.problems));
  assert.deepEqual(
    result.compiled.routing.services.map((s) => s.name),
    loaded.config.routing.services.map((s) => s.name),
  );
  assert.deepEqual(result.compiled.routing.regions, loaded.config.routing.regions);
  assert.deepEqual([...result.compiled.zones[0]!.nodes.keys()].sort(), [...loaded.config.zones[0]!.nodes.keys()].sort());
});

const soa = { name: '@', ttl: 3600, type: 'SOA', data: 'ns1 hostmaster 1 7200 3600 1209600 300' };
const base = (): ConfigDocument => ({
  zones: [{ origin: 'gslb.example.com', records: [soa, { name: '@', type: 'NS', data: 'ns1' }, { name: 'ns1', type: 'A', data: '192.0.2.1' }] }],
  regions: [
    { id: 'us', location: { lat: 1, lon: 2, continent: 'NA', country: 'US' }, addresses: { ipv4: ['192.0.2.10'], ipv6: [] }, weight: 100, state: 'up', downAddresses: [], endpoints: [] },
    { id: 'eu', location: { lat: 1, lon: 2, continent: 'EU', country: 'IE' }, addresses: { ipv4: ['192.0.2.20'], ipv6: [] }, weight: 100, state: 'up', downAddresses: [], endpoints: [] },
  ],
  services: [{ name: 'www.gslb.example.com', ttl: 30, regions: ['us', 'eu'], answers: 1, policy: { failover: ['us', 'eu'] } }],
});

test('every problem names the field it is about', () => {
  const cases: { name: string; edit(d: ConfigDocument): void; path: string; reason: RegExp }[] = [
    { name: 'bad A address', edit: (d) => d.zones[0]!.records.push({ name: 'x', type: 'A', data: '300.1.1.1' }), path: '/zones/0/records/3', reason: /IPv4/ },
    { name: 'unknown type', edit: (d) => d.zones[0]!.records.push({ name: 'x', type: 'NOPE', data: '1' }), path: '/zones/0/records/3', reason: /NOPE/i },
    { name: 'CNAME beside other data', edit: (d) => d.zones[0]!.records.push({ name: 'ns1', type: 'CNAME', data: 'x' }), path: '/zones/0/records/', reason: /CNAME/ },
    { name: 'service on an A record', edit: (d) => d.zones[0]!.records.push({ name: 'www', type: 'A', data: '192.0.2.9' }), path: '/services/0/name', reason: /owns its A\/AAAA/ },
    { name: 'unknown region in a service', edit: (d) => (d.services[0]!.regions = ['us', 'mars']), path: '/services/0/regions/1', reason: /unknown region "mars"/ },
    { name: 'duplicate region id', edit: (d) => (d.regions[1]!.id = 'us'), path: '/regions/1/id', reason: /defined twice/ },
    { name: 'invalid IPv4 of a region', edit: (d) => (d.regions[0]!.addresses.ipv4 = ['1.2.3']), path: '/regions/0/addresses/ipv4/0', reason: /not an IPv4/ },
    { name: 'service outside every zone', edit: (d) => (d.services[0]!.name = 'www.example.org'), path: '/services/0/name', reason: /not inside any configured zone/ },
    { name: 'policy rule', edit: (d) => (d.services[0]!.policy = { failover: ['us', 'nowhere'] }), path: '/services/0/policy', reason: /nowhere/ },
    { name: 'duplicate zone', edit: (d) => d.zones.push(structuredClone(d.zones[0]!)), path: '/zones/1/origin', reason: /listed twice/ },
    { name: 'schema: weight type', edit: (d) => ((d.regions[0] as { weight: unknown }).weight = 'heavy'), path: '/regions/0/weight', reason: /./ },
    {
      name: 'schema: a newline cannot smuggle a second record',
      edit: (d) => d.zones[0]!.records.push({ name: 'x', type: 'A', data: '192.0.2.1\nevil 60 IN A 192.0.2.66' }),
      path: '/zones/0/records/3/data',
      reason: /match/,
    },
  ];
  for (const c of cases) {
    const doc = base();
    c.edit(doc);
    const result = compileDocument(doc);
    assert.equal(result.ok, false, c.name);
    if (result.ok) continue;
    const hit = result.problems.find((p) => p.path.startsWith(c.path) && c.reason.test(p.reason));
    assert.ok(hit, `${c.name}: got ${JSON.stringify(result.problems)}`);
  }
  assert.ok(compileDocument(base()).ok, 'the unedited document is valid');
});

test('what compiles remember (issue 17) never changes a result: the same document gives the same problems and document, cold or warm', async () => {
  const { itemWork } = await import('./document-items.js');
  const { regionWork } = await import('../routing/compile-region.js');
  const edits: ((d: ConfigDocument) => void)[] = [
    () => undefined,
    (d) => d.regions.push(structuredClone(d.regions[0]!)), // an identical region: defined twice, found warm too
    (d) => (d.regions[1]!.addresses.ipv4 = ['1.2.3']),
    (d) => ((d.regions[0] as { weight: unknown }).weight = 'heavy'),
    (d) => (d.regions[0]!.endpoints = [{ id: 'a', address: '192.0.2.5', port: 80 } as ConfigDocument['regions'][number]['endpoints'][number]]),
  ];
  for (const edit of edits) {
    const doc = base();
    edit(doc);
    const cold = JSON.stringify(compileDocument(structuredClone(doc)));
    const reused = itemWork.region.reused + regionWork.reused;
    assert.equal(JSON.stringify(compileDocument(structuredClone(doc))), cold, String(edit));
    if (cold.includes('"ok":true')) assert.ok(itemWork.region.reused + regionWork.reused > reused, 'the warm compile reused what the cold one did');
  }
  // A missing list is defaulted as the whole-document path does it, and its place is the same.
  const { services: _s, ...noServices } = base();
  const result = compileDocument(noServices);
  assert.ok(result.ok);
  assert.deepEqual(Object.keys(result.document), ['zones', 'regions', 'services']);
});
