/**
 * ECS scope correctness, as properties over random clients (fast-check):
 * - two addresses inside one returned scope get identical answers;
 * - the decision cache never changes an answer (cached decide == fresh compute).
 * The geo database here is synthetic and deterministic, with networks from /8 to /30, so scopes
 * both wider and narrower than the cache's /24 are exercised.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import type { GeoResult } from '../../src/geo/types.js';
import { compileChain } from '../../src/policy/chain.js';
import { ALL, health } from '../../src/policy/testkit.js';
import type { Client } from '../../src/policy/types.js';
import { maskBytes } from '../../src/routing/client.js';
import { Service, type GeoLookup } from '../../src/routing/service.js';
import { GeoDatabase } from '../../src/geo/reader.js';

const fixtureGeo = GeoDatabase.open(new URL('../../geodb/test-city.mmdb', import.meta.url).pathname);

const CONTINENTS = ['EU', 'NA', 'AS', 'OC', 'SA', 'AF'];

/** Network prefix depends on the top byte; the record on the masked network. */
const syntheticGeo: GeoLookup = {
  lookupBytes(family, bytes): GeoResult | null {
    const top = bytes[0]!;
    const prefix = family === 1 ? 8 + (top % 23) : 16 + (top % 50);
    const net = maskBytes(bytes, prefix);
    let h = 0;
    for (const b of net) h = (h * 31 + b) >>> 0;
    if (h % 11 === 0) return null; // unknown space
    return { continent: CONTINENTS[h % 6]!, country: null, subdivision: null, lat: (h % 170) - 85, lon: ((h >>> 3) % 360) - 180, prefixLength: prefix, network: `synthetic/${prefix}` };
  },
};

const regions = [...ALL, { ...ALL[0]!, id: 'us-west', ipv4: ['192.0.2.9'], ipv6: ['2001:db8:9::1'], weight: 30 }];
const ids = regions.map((r) => r.id);
const policies: Record<string, unknown> = {
  'geo+sticky': { geo: { continents: { EU: [['eu-west', 'us-east']], AS: ['ap-southeast'], NA: [['us-east', 'us-west']] }, default: [['us-east', 'eu-west', 'ap-southeast', 'us-west']] }, sticky: {} },
  'proximity+multivalue': { proximity: { bias: { 'eu-west': 15 } }, multivalue: { max: 3 } },
  weighted: { weighted: { prefix4: 20 } },
  failover: { failover: ['eu-west', 'us-west'] },
};

function service(name: string, geo: GeoLookup = syntheticGeo): Service {
  return new Service(
    { name: `${name}.example.`, ttl: 30, regions, answers: 1, chain: compileChain(policies[name], undefined, ids) },
    { geo: () => geo, health: () => health({ 'ap-southeast': 'down' }) },
  );
}

const v4Client = fc
  .tuple(fc.uint8Array({ minLength: 4, maxLength: 4 }), fc.integer({ min: 1, max: 32 }))
  .map(([b, bits]): Client => ({ family: 4, bytes: maskBytes(b, bits), knownBits: bits, source: 'ecs', text: '' }));
const v6Client = fc
  .tuple(fc.uint8Array({ minLength: 16, maxLength: 16 }), fc.integer({ min: 1, max: 128 }))
  .map(([b, bits]): Client => ({ family: 6, bytes: maskBytes(b, bits), knownBits: bits, source: 'ecs', text: '' }));

/** Another client inside `scope` bits of `c`: same first `scope` bits, random after. */
function inside(c: Client, scope: number, noise: Uint8Array): Client {
  const bytes = new Uint8Array(c.bytes.length);
  for (let i = 0; i < bytes.length; i++) {
    const keep = Math.max(0, Math.min(8, scope - i * 8));
    const mask = keep === 0 ? 0 : (0xff << (8 - keep)) & 0xff;
    bytes[i] = (c.bytes[i]! & mask) | (noise[i % noise.length]! & ~mask & 0xff);
  }
  const knownBits = c.family === 4 ? 32 : 128;
  return { family: c.family, bytes, knownBits, source: 'ecs', text: '' };
}

for (const name of Object.keys(policies)) {
  for (const [fam, arb] of [
    [4, v4Client],
    [6, v6Client],
  ] as const) {
    test(`${name}, IPv${fam}: two addresses inside the returned scope get identical answers`, () => {
      const svc = service(name);
      fc.assert(
        fc.property(arb, fc.uint8Array({ minLength: 16, maxLength: 16 }), fc.constantFrom<4 | 6>(4, 6), (c, noise, qfam) => {
          const a = svc.compute(c, qfam, null);
          const other = inside(c, a.scope, noise);
          const b = svc.compute(other, qfam, null);
          assert.deepEqual(b.addresses, a.addresses, `scope /${a.scope}`);
        }),
        { numRuns: 3000 },
      );
    });

    test(`${name}, IPv${fam}: the decision cache never changes an answer`, () => {
      const cached = service(name);
      const fresh = service(name);
      fc.assert(
        fc.property(fc.array(arb, { minLength: 1, maxLength: 40 }), fc.constantFrom<4 | 6>(4, 6), (clients, qfam) => {
          for (const c of clients) {
            assert.deepEqual(cached.decide(c, qfam).addresses, fresh.compute(c, qfam, null).addresses);
            assert.equal(cached.decide(c, qfam).scope, fresh.compute(c, qfam, null).scope);
          }
        }),
        { numRuns: 500 },
      );
    });
  }
}

test('a scope is never narrower than needed: failover alone answers scope 0', () => {
  const d = service('failover').compute({ family: 4, bytes: new Uint8Array([10, 1, 2, 3]), knownBits: 32, source: 'ecs', text: '' }, 4, null);
  assert.equal(d.scope, 0);
  assert.deepEqual(d.addresses, ['192.0.2.2']);
});

for (const name of ['geo+sticky', 'proximity+multivalue']) {
  for (const [fam, arb] of [
    [4, v4Client],
    [6, v6Client],
  ] as const) {
    test(`${name}, IPv${fam}, fixture database (misses scoped to the empty network): identical answers inside the scope`, () => {
      const svc = service(name, fixtureGeo);
      fc.assert(
        fc.property(arb, fc.uint8Array({ minLength: 16, maxLength: 16 }), (c, noise) => {
          const a = svc.compute(c, 4, null);
          const b = svc.compute(inside(c, a.scope, noise), 4, null);
          assert.deepEqual(b.addresses, a.addresses, `scope /${a.scope}`);
        }),
        { numRuns: 3000 },
      );
    });
  }
}

test('an address outside every fixture network is scoped to the empty network, so it is cached', () => {
  const svc = service('geo+sticky', fixtureGeo);
  const c: Client = { family: 4, bytes: new Uint8Array([10, 1, 2, 0]), knownBits: 24, source: 'ecs' };
  const d = svc.compute(c, 4, null);
  assert.equal(fixtureGeo.lookupBytes(1, c.bytes), null);
  assert.ok(d.scope > 0 && d.scope <= 24, `scope /${d.scope}`);
  assert.equal(d.scope, Math.max(fixtureGeo.missPrefixLength, 24), 'the sticky /24 or the empty network, whichever is narrower');
});
