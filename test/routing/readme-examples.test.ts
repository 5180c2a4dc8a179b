/**
 * The documented examples, run: every `yaml` example of src/policy/README.md, the config example of
 * README.md and the demo's services (zones/meridian.yaml) are services of one real `meridian serve`,
 * queried over UDP with ECS by three client populations of the fixture geo database (Ashburn,
 * Paris, and unknown space), and the share of first answers each region gets must be what the
 * README's rules say for that example (test/helpers/routing.ts: locatedTiers, documentedShares).
 * The examples say `database: embedded`; the fixture database stands in for it so that where each
 * client is, is known. (src/policy/chain.test.ts checks that the examples compile.)
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { parse } from 'yaml';
import { ecsQueries, udpPipeline } from '../helpers/client.js';
import { REPO_ROOT, startMeridian, type RunningServer } from '../helpers/dnsproc.js';
import { answerOf, assertShares, documentedShares, locatedTiers, prng, type ClientPlace, type DecisionModel } from '../helpers/routing.js';

const Z = 'gslb.example.com';
const read = (file: string): string => readFileSync(`${REPO_ROOT}/${file}`, 'utf8');
const yamlBlocks = (markdown: string): string[] => [...markdown.matchAll(/```yaml\n([\s\S]*?)```/g)].map((m) => m[1]!);

interface RegionDoc {
  id: string;
  location: { lat: number; lon: number; continent: string; country: string };
  addresses: { ipv4: string[]; ipv6?: string[] };
  weight?: number;
}
interface ServiceDoc {
  name: string;
  regions: string[];
  policy?: Record<string, unknown>;
  allDown?: DecisionModel['allDown'];
  [k: string]: unknown;
}

const demo = parse(read('zones/meridian.yaml')) as { regions: (RegionDoc & Record<string, unknown>)[]; services: ServiceDoc[] };
/** The demo's regions without their probes and forwarders (every region up), plus the two regions the policy README names that the demo has not. */
const REGIONS: RegionDoc[] = [
  ...demo.regions.map(({ id, location, addresses, weight }) => ({ id, location, addresses, ...(weight !== undefined ? { weight } : {}) })),
  { id: 'us-west', location: { lat: 37.34, lon: -121.89, continent: 'NA', country: 'US' }, addresses: { ipv4: ['192.0.2.20'] }, weight: 50 },
  { id: 'eu-central', location: { lat: 50.11, lon: 8.68, continent: 'EU', country: 'DE' }, addresses: { ipv4: ['198.51.100.20'] }, weight: 70 },
];
const REGION_OF = new Map(REGIONS.flatMap((r) => r.addresses.ipv4.map((a) => [a, r.id] as const)));

/** src/policy/README.md: each example becomes a service over the five regions it names. */
const POLICY_EXAMPLES: ServiceDoc[] = yamlBlocks(read('src/policy/README.md')).map((text, i) => {
  const doc = parse(text) as { policy: Record<string, unknown>; allDown?: DecisionModel['allDown'] };
  return { name: `policy-example-${i + 1}.${Z}`, regions: ['us-east', 'us-west', 'eu-west', 'eu-central', 'ap-southeast'], policy: doc.policy, ...(doc.allDown ? { allDown: doc.allDown } : {}) };
});

/**
 * README.md's config example: the block with a `services:` key (its regions elide the demo's
 * others with `# ...`). Other blocks are fragments, some showing alternatives of one key.
 */
const readmeConfig = parse(yamlBlocks(read('README.md')).find((text) => /^services:/m.test(text))!) as { regions?: RegionDoc[]; services: ServiceDoc[] };
const README_SERVICES: ServiceDoc[] = readmeConfig.services.map((s) => ({ ...s, name: `readme-${s.name}` }));

const SERVICES = [...POLICY_EXAMPLES, ...README_SERVICES, ...demo.services];

/** `n` distinct /24s of `first`.0.0.0/8 avoiding the second octets in `skip`. */
function subnetsOf(first: number, n: number, skip: number[], seed: number): string[] {
  const rnd = prng(seed);
  const seen = new Set<number>();
  while (seen.size < n) {
    const i = Math.floor(rnd() * 65536);
    if (!skip.includes(i >> 8)) seen.add(i);
  }
  return [...seen].map((i) => `${first}.${i >> 8}.${i & 255}.0/24`);
}

/** Client populations and where the fixture database (geodb/README.md) puts them. */
const POPULATIONS: { name: string; place: ClientPlace | null; subnets: string[] }[] = [
  { name: 'Ashburn (3.0.0.0/8)', place: { continent: 'NA', country: 'US', subdivision: 'US-VA', lat: 39.0438, lon: -77.4874 }, subnets: subnetsOf(3, 2000, [101], 1) },
  { name: 'Paris (2.0.0.0/8)', place: { continent: 'EU', country: 'FR', subdivision: 'FR-IDF', lat: 48.8566, lon: 2.3522 }, subnets: subnetsOf(2, 2000, [16], 2) },
  { name: 'no geo record (10.0.0.0/8)', place: null, subnets: subnetsOf(10, 2000, [], 3) },
];

describe('README examples through a real meridian serve: the documented shares hold', () => {
  let srv: RunningServer;
  before(async () => {
    srv = await startMeridian({
      zones: [{ origin: Z, file: `${REPO_ROOT}/zones/gslb.example.com.zone` }],
      dns: { errorRateLimit: 0 },
      extra: { geo: { database: `${REPO_ROOT}/geodb/test-city.mmdb` }, regions: REGIONS, services: SERVICES },
    });
  });
  after(() => srv?.stop());

  test("README.md's regions are the demo's", () => {
    for (const r of readmeConfig.regions ?? []) {
      const d = demo.regions.find((x) => x.id === r.id);
      assert.ok(d, `README region ${r.id} is not in zones/meridian.yaml`);
      assert.deepEqual({ location: r.location, addresses: r.addresses, weight: r.weight }, { location: d.location, addresses: d.addresses, weight: d.weight }, r.id);
    }
  });

  for (const s of SERVICES) {
    test(`${s.name}: ${JSON.stringify(s.policy ?? {})}`, async () => {
      const policy = s.policy ?? {};
      const balanced = 'weighted' in policy || 'sticky' in policy;
      const regions = s.regions.map((id) => REGIONS.find((r) => r.id === id)!);
      for (const pop of POPULATIONS) {
        // Without a balance step every client of a place gets one answer: 100 show it.
        const subnets = balanced ? pop.subnets : pop.subnets.slice(0, 100);
        const replies = await udpPipeline(srv.port, ecsQueries(s.name, 'A', subnets, { rd: false }));
        const first = replies.map((raw) => {
          const a = answerOf(raw);
          return a.addresses[0] === undefined ? `(${a.rcode}, no address)` : REGION_OF.get(a.addresses[0])!;
        });
        const expected = documentedShares({
          tiers: locatedTiers(
            policy,
            regions.map((r) => ({ id: r.id, ...r.location })),
            pop.place,
          ),
          weight: new Map(regions.map((r) => [r.id, r.weight ?? 100])),
          state: () => 'up',
          balanced,
          allDown: s.allDown ?? { mode: 'failopen' },
        });
        assertShares(`${s.name} for ${pop.name}`, first, expected);
      }
    });
  }
});
