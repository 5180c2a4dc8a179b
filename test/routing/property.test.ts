/**
 * Property: for random valid configs (regions with random weights, places and states; any locate
 * step with random tier lists, weighted or sticky or neither, multivalue or not, any all-down mode),
 * a config file run through the server's own path (YAML file -> loadConfigFile -> compile ->
 * services -> Responder.answer on wire queries with ECS) shares 8,000 Ashburn client /24s as the
 * README documents (test/helpers/routing.ts documentedShares), and `explain` agrees with the
 * answer for 200 random clients of every kind. A failing case prints the YAML and the client.
 *
 * The real process with the admin API and overrides is test/routing/matrix.test.ts; this one trades
 * the sockets for many more configs.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import fc from 'fast-check';
import { stringify } from 'yaml';
import { Responder } from '../../src/dns/respond.js';
import { openHealthPlane } from '../../src/health/plane.js';
import { explain, type ExplainResult } from '../../src/routing/explain.js';
import { buildServices, openGeo, zoneSet } from '../../src/node/services.js';
import { ecsQueries, query } from '../helpers/client.js';
import { answerOf, ashburnSubnets, assertShares, documentedShares, explainClients, locatedTiers, type ClientPlace, type DecisionModel } from '../helpers/routing.js';
import { loadConfigFile } from '../../src/node/config.js';

const Z = 'gslb.example.com';
const NAME = `svc.${Z}`;
const ZONE = `$ORIGIN ${Z}.\n$TTL 300\n@ SOA ns1 host 1 7200 3600 1209600 300\n@ NS ns1\nns1 A 127.0.0.1\n`;
const GEODB = new URL('../../geodb/test-city.mmdb', import.meta.url).pathname;
/** Where the fixture database puts 3.0.0.0/8 (geodb/README.md), and three places far from it. */
const CLIENT_AT = { lat: 39.0438, lon: -77.4874 };
const ASHBURN_CLIENT: ClientPlace = { continent: 'NA', country: 'US', subdivision: 'US-VA', ...CLIENT_AT };
const PLACES = {
  ashburn: { ...CLIENT_AT, continent: 'NA', country: 'US' },
  dublin: { lat: 53.35, lon: -6.26, continent: 'EU', country: 'IE' },
  singapore: { lat: 1.35, lon: 103.82, continent: 'AS', country: 'SG' },
  sydney: { lat: -33.87, lon: 151.21, continent: 'OC', country: 'AU' },
};
const SUBNETS = ashburnSubnets(8_000, 29);

type TierList = (string | string[])[];
type State = 'up' | 'down' | 'drained';

interface RegionSpec {
  weight: number;
  place: keyof typeof PLACES;
  state: State;
  ipv6: boolean;
}

interface Spec {
  regions: RegionSpec[];
  locate:
    { kind: 'none' } | { kind: 'geo'; country?: TierList; continent?: TierList; default?: TierList } | { kind: 'proximity'; bias: Record<string, number> } | { kind: 'failover'; order: TierList };
  balance: 'none' | 'weighted' | 'sticky';
  multivalue: number | null;
  allDown: DecisionModel['allDown'];
}

const idOf = (i: number): string => `r${i}`;
const addressOf = (i: number): string => `192.0.2.${i + 1}`;

/** A preference list over some of `ids`: shuffled, cut into tiers, a one-region tier written bare or nested. */
function tierListArb(ids: string[]): fc.Arbitrary<TierList> {
  return fc
    .shuffledSubarray(ids, { minLength: 1 })
    .chain((picked) => fc.tuple(fc.constant(picked), fc.array(fc.boolean(), { minLength: picked.length, maxLength: picked.length }), fc.boolean()))
    .map(([picked, cuts, bare]) => {
      const tiers: string[][] = [];
      picked.forEach((id, i) => (i === 0 || cuts[i] ? tiers.push([id]) : tiers[tiers.length - 1]!.push(id)));
      return tiers.map((t) => (t.length === 1 && bare ? t[0]! : t));
    });
}

const regionArb: fc.Arbitrary<RegionSpec> = fc.record({
  weight: fc.oneof({ weight: 1, arbitrary: fc.constant(0) }, { weight: 4, arbitrary: fc.integer({ min: 1, max: 1000 }) }),
  place: fc.constantFrom(...(Object.keys(PLACES) as (keyof typeof PLACES)[])),
  state: fc.constantFrom<State>('up', 'up', 'up', 'up', 'down', 'drained'),
  ipv6: fc.boolean(),
});

const specArb: fc.Arbitrary<Spec> = fc.array(regionArb, { minLength: 1, maxLength: 5 }).chain((regions) => {
  const ids = regions.map((_, i) => idOf(i));
  const list = tierListArb(ids);
  const locate = fc.oneof(
    fc.constant({ kind: 'none' as const }),
    fc.record({ kind: fc.constant('geo' as const), country: list, continent: list, default: list }, { requiredKeys: ['kind'] }),
    fc.record({ kind: fc.constant('proximity' as const), bias: fc.dictionary(fc.constantFrom(...ids), fc.integer({ min: -99, max: 99 })) }),
    fc.record({ kind: fc.constant('failover' as const), order: list }),
  );
  const allDown = fc.oneof(
    fc.constant({ mode: 'failopen' as const }),
    fc.constant({ mode: 'servfail' as const }),
    fc.constantFrom(...ids).map((region) => ({ mode: 'fallback' as const, region })),
  );
  return fc.record({
    regions: fc.constant(regions),
    locate,
    balance: fc.constantFrom('none' as const, 'weighted' as const, 'sticky' as const),
    multivalue: fc.option(fc.integer({ min: 1, max: 4 })),
    allDown,
  });
});

/** The YAML config a user would write for the spec. */
function configOf(spec: Spec): Record<string, unknown> {
  const policy: Record<string, unknown> = {};
  const l = spec.locate;
  if (l.kind === 'geo') {
    policy.geo = {
      ...(l.country ? { countries: { US: l.country } } : {}),
      ...(l.continent ? { continents: { NA: l.continent } } : {}),
      ...(l.default ? { default: l.default } : {}),
    };
  } else if (l.kind === 'proximity') policy.proximity = { bias: l.bias };
  else if (l.kind === 'failover') policy.failover = l.order;
  if (spec.balance !== 'none') policy[spec.balance] = {};
  if (spec.multivalue !== null) policy.multivalue = { max: spec.multivalue };
  return {
    dns: { listen: ['127.0.0.1:0'] },
    zones: [{ origin: Z, file: 'zone' }],
    geo: { database: GEODB },
    regions: spec.regions.map((r, i) => ({
      id: idOf(i),
      weight: r.weight,
      state: r.state,
      location: PLACES[r.place],
      addresses: { ipv4: [addressOf(i)], ipv6: r.ipv6 ? [`2001:db8::${i + 1}`] : [] },
    })),
    services: [{ name: NAME, regions: spec.regions.map((_, i) => idOf(i)), policy, allDown: spec.allDown }],
  };
}

/** The tiers the README gives an Ashburn client. */
function located(spec: Spec): string[][] {
  const cfg = configOf(spec) as { services: { policy: Record<string, unknown> }[] };
  const regions = spec.regions.map((r, i) => ({ id: idOf(i), ...PLACES[r.place] }));
  return locatedTiers(cfg.services[0]!.policy, regions, ASHBURN_CLIENT);
}

interface Compiled {
  answer(msg: Buffer): Buffer;
  explain(name: string, ip: string, opts: { ecs?: string; qtype?: 'A' | 'AAAA' }): ExplainResult;
  close(): Promise<void>;
}

/** The config through the server's own assembly (src/serve.ts), without the sockets. */
async function compile(yamlText: string): Promise<Compiled> {
  const dir = mkdtempSync(join(tmpdir(), 'meridian-property-'));
  writeFileSync(join(dir, 'zone'), ZONE);
  writeFileSync(join(dir, 'meridian.yaml'), yamlText);
  const loaded = loadConfigFile(join(dir, 'meridian.yaml'));
  if (!loaded.ok) {
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`a valid config was refused: ${JSON.stringify(loaded.errors)}`);
  }
  const config = loaded.config;
  const geo = openGeo(config, null);
  const plane = openHealthPlane(config, { probes: false });
  await plane.source.refresh();
  const services = buildServices(config, { geo: () => geo?.current ?? null, health: () => plane.source.current });
  const responder = new Responder(zoneSet(config, services), { udpSize: 1232, chaos: false, version: 'test', identity: 'test', cacheEntries: 1000 });
  return {
    answer: (msg) => responder.answer(msg, true, '127.0.0.1')!,
    explain: (name, ip, opts) => explain(services, name, ip, opts),
    async close() {
      geo?.stop();
      await plane.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

test('random configs through the compile path: documented shares, and explain agrees with the answer', async () => {
  await fc.assert(
    fc.asyncProperty(specArb, fc.integer(), async (spec, seed) => {
      const yamlText = stringify(configOf(spec));
      const node = await compile(yamlText);
      try {
        const model: DecisionModel = {
          tiers: located(spec),
          weight: new Map(spec.regions.map((r, i) => [idOf(i), r.weight])),
          state: (id) => spec.regions[Number(id.slice(1))]!.state,
          balanced: spec.balance !== 'none',
          allDown: spec.allDown,
        };
        const answers = ecsQueries(NAME, 'A', SUBNETS).map((q) => answerOf(node.answer(q)));
        const first = answers.map((a) => (a.rcode === 'SERVFAIL' ? 'SERVFAIL' : a.addresses[0] === undefined ? '(no address)' : idOf(Number(a.addresses[0].split('.')[3]) - 1)));
        assertShares(`config:\n${yamlText}\nclients: ${SUBNETS.length} Ashburn /24s of 3.0.0.0/8\nfirst answers`, first, documentedShares(model));
        const max = spec.multivalue ?? 1;
        for (const a of answers) assert.ok(a.addresses.length <= max && new Set(a.addresses).size === a.addresses.length, `config:\n${yamlText}\nanswer ${a.addresses.join(', ')}`);
        for (const c of explainClients(200, seed)) {
          const live = answerOf(node.answer(query(NAME, c.type, { rd: false, ...(c.ecs ? { ecs: c.ecs } : {}) })));
          const e = node.explain(NAME, '127.0.0.1', { ...(c.ecs ? { ecs: c.ecs } : {}), qtype: c.type });
          assert.ok(e.ok);
          const what = `config:\n${yamlText}\nclient: ${c.type} with ECS ${c.ecs ?? '(none)'} from 127.0.0.1\nanswer ${JSON.stringify(live)}\nexplain ${JSON.stringify(e.explanation)}`;
          assert.equal(live.rcode, e.explanation.rcode, what);
          assert.deepEqual(live.addresses, e.explanation.addresses, what);
          assert.equal(live.scope, c.ecs === undefined ? null : e.explanation.scope, what);
        }
      } finally {
        await node.close();
      }
    }),
    { numRuns: 20, includeErrorInReport: true },
  );
});
