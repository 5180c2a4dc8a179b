/**
 * The hop order is the DNS decision: for thousands of random clients, the first region of
 * regionOrder() is the region whose address the DNS node answers for that client (same chain,
 * same geo database, same health), with geo+sticky, proximity and weighted services, healthy and
 * with a region down. An oracle against the answer path, so the two can never drift apart.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { regionOrder } from '../../src/forward/hop.js';
import { StaticHealth } from '../../src/health/snapshot.js';
import { clientFromAddress } from '../../src/routing/client.js';
import { buildServices, openGeo } from '../../src/node/services.js';
import { makeConfig } from './helpers.js';

const GEODB = new URL('../../geodb/test-city.mmdb', import.meta.url).pathname;

const REGIONS = [
  { id: 'us-east', backends: [], location: { lat: 39.04, lon: -77.49, continent: 'NA', country: 'US' } },
  { id: 'eu-west', backends: [], location: { lat: 53.35, lon: -6.26, continent: 'EU', country: 'IE' } },
  { id: 'ap-southeast', backends: [], location: { lat: 1.35, lon: 103.82, continent: 'AS', country: 'SG' } },
];

const POLICIES: Record<string, Record<string, unknown>> = {
  'geo + sticky': { geo: { continents: { EU: ['eu-west', 'us-east'], AS: ['ap-southeast', 'eu-west'], NA: ['us-east'] }, default: [['us-east', 'eu-west', 'ap-southeast']] }, sticky: {} },
  proximity: { proximity: { bias: { 'eu-west': 20 } } },
  weighted: { failover: [['us-east', 'eu-west', 'ap-southeast']], weighted: {} },
};

/** Random addresses, half of them inside networks of the fixture database (London, Frankfurt, San Jose, Ashburn, Tokyo). */
const clients = fc.oneof(
  fc.ipV4(),
  fc.tuple(fc.constantFrom('81.2.69', '2.16.32', '2.16.200', '3.101.7', '3.5.0', '43.224.3'), fc.nat(255)).map(([p, n]) => `${p}.${n}`),
);

describe('regionOrder agrees with the DNS answer', () => {
  for (const [name, policy] of Object.entries(POLICIES)) {
    for (const down of [[], ['eu-west']]) {
      it(`${name}${down.length ? `, ${down.join(', ')} down` : ''}`, () => {
        const { config, cleanup } = makeConfig(REGIONS, {}, policy, { geo: { database: GEODB } });
        const geo = openGeo(config, null);
        try {
          const health = new StaticHealth(down.map((id) => ({ id, state: 'down' as const })));
          const services = buildServices(config, { geo: () => geo?.current ?? null, health: () => health });
          const def = config.routing.services[0]!;
          const service = services.get(def.name)!;
          const addressOf = new Map(config.routing.regions.map((r) => [r.id, r.ipv4[0]]));
          const seen = new Set<string>();
          fc.assert(
            fc.property(clients, (ip) => {
              const order = regionOrder(def, health, geo?.current ?? null, ip);
              const answer = service.decide(clientFromAddress(ip), 4).addresses[0];
              assert.equal(addressOf.get(order[0]!), answer, `client ${ip}: hop order ${order.join(' > ')}`);
              for (const d of down) assert.ok(!order.includes(d), 'a down region is not a hop target');
              seen.add(order[0]!);
            }),
            { numRuns: 3_000 },
          );
          assert.ok(seen.size >= 2, `the property saw only ${[...seen]}`);
        } finally {
          geo?.stop();
          cleanup();
        }
      });
    }
  }
});
