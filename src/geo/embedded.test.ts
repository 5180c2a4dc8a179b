/**
 * The embedded default (@ip-location-db/geo-whois-asn-country-mmdb, pinned to an exact version in
 * package.json, so its data is fixed): it opens, its answers for a few well-known public addresses
 * are the registrations the data holds, every country in it has a continent and a centre, and the
 * ECS scope property holds on real data too.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import fc from 'fast-check';
import { Reader } from 'maxmind';
import { normalize } from './adapter.js';
import { formatIPv4 } from './address.js';
import { GeoDatabase } from './reader.js';
import { resolveDatabasePath } from './source.js';

const path = resolveDatabasePath('embedded');
const db = GeoDatabase.open(path);

test('the embedded database opens and describes itself', () => {
  const d = db.description;
  assert.equal(d.type, 'country ipvAll');
  assert.equal(d.ipVersion, 6);
  assert.ok(d.nodeCount > 1_000_000, `${d.nodeCount} nodes`);
  assert.ok(d.buildEpoch > 1_700_000_000, `built ${new Date(d.buildEpoch * 1000).toISOString()}`);
});

test('well-known public addresses: the country their registration names', () => {
  // Country-level data: coordinates are the country's centre, and there is no subdivision.
  const cases: Array<[string, string, string]> = [
    ['8.8.8.8', 'US', 'NA'], //               Google Public DNS
    ['2001:4860:4860::8888', 'US', 'NA'],
    ['193.0.0.1', 'NL', 'EU'], //             RIPE NCC, Amsterdam
    ['1.1.1.1', 'AU', 'OC'], //               APNIC's block (research use with Cloudflare)
    ['::ffff:8.8.4.4', 'US', 'NA'],
  ];
  for (const [ip, country, continent] of cases) {
    const r = db.lookup(ip);
    assert.equal(r?.country, country, ip);
    assert.equal(r?.continent, continent, ip);
    assert.equal(r?.subdivision, null, ip);
    assert.ok(r.prefixLength > 0 && r.prefixLength <= (ip.includes(':') && !ip.startsWith('::ffff:') ? 128 : 32), `${ip} ${r.network}`);
  }
  assert.deepEqual([db.lookup('8.8.8.8')?.lat, db.lookup('8.8.8.8')?.lon], [38, -97]);
  assert.equal(db.lookup('10.1.2.3'), null, 'private space is not in the data');
});

test('every address the data knows gets a continent and coordinates (the country table covers it)', () => {
  let found = 0;
  let seed = 12345;
  for (let i = 0; i < 50_000; i++) {
    seed = (seed * 1103515245 + 12345) >>> 0;
    const r = db.lookupBytes(1, Buffer.from([seed >>> 24, (seed >>> 16) & 0xff, (seed >>> 8) & 0xff, seed & 0xff]));
    if (!r) continue;
    found++;
    assert.ok(r.continent !== null && r.lat !== null && r.lon !== null, `${r.network}: ${JSON.stringify(r)}`);
  }
  assert.ok(found > 30_000, `${found} of 50000 random IPv4 addresses found`);
});

test('embedded: lookups agree with maxmind, and every address inside a returned network gets the same result', () => {
  const mm = new Reader(readFileSync(path));
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 0xffffffff }), fc.integer({ min: 0, max: 0xffffffff }), (a, noise) => {
      const text = formatIPv4(a);
      const r = db.lookup(text);
      const [raw, prefix] = mm.getWithPrefixLength(text);
      assert.deepEqual(r && [r.continent, r.country, r.lat, r.lon, r.prefixLength], raw && [...Object.values(normalize(raw)!).filter((_, i) => i !== 2), prefix], text);
      if (!r) return;
      const len = r.prefixLength;
      const hostMask = len === 0 ? 0xffffffff : len === 32 ? 0 : ~(-1 << (32 - len)) >>> 0;
      const net = (a & ~hostMask) >>> 0;
      assert.equal(r.network, `${formatIPv4(net)}/${len}`);
      for (const h of [0, hostMask, noise]) assert.deepEqual(db.lookup(formatIPv4((net | (h & hostMask)) >>> 0)), r, `${r.network} + ${h & hostMask}`);
    }),
    { numRuns: 500 },
  );
});
