/**
 * The policy matrix: every combination of policies the config accepts (locate: none, geo, proximity,
 * failover × balance: none, weighted, sticky × select: one region, multivalue) plus the three
 * all-down modes, each a service of one real `meridian serve` process started from generated YAML,
 * queried over UDP with ECS; regions are marked down with overrides and weights changed through
 * the admin API, as an operator does, and `explain` is asked through the same API.
 *
 * Clients are distinct /24s of 3.0.0.0/8, which the fixture geo database (geodb/test-city.mmdb)
 * places in Ashburn (NA, US). Shares are of first answers; over 20,000 subnets each region's share
 * must be within ±2 percentage points of its weight's share of the tier that competes (fewer
 * subnets get a proportionally wider bound, five standard deviations).
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ecsQueries, query, udpPipeline } from '../helpers/client.js';
import { startMeridianWithApi, type ApiNode } from '../helpers/apiproc.js';
import { answerOf, ashburnSubnets, assertShares, documentedShares, eachLimit, explainClients, type Answer, type ExplainClient } from '../helpers/routing.js';

const Z = 'gslb.example.com';
const ZONE = `$ORIGIN ${Z}.\n$TTL 300\n@ SOA ns1 host 1 7200 3600 1209600 300\n@ NS ns1\nns1 A 127.0.0.1\n`;
const GEODB = new URL('../../geodb/test-city.mmdb', import.meta.url).pathname;
const ASHBURN = { lat: 39.04, lon: -77.49, continent: 'NA', country: 'US' };

/** Three regions in Ashburn (one of them standby), one in Dublin, one in Singapore (no IPv6). */
const REGIONS = [
  { id: 'dub', weight: 200, location: { lat: 53.35, lon: -6.26, continent: 'EU', country: 'IE' }, addresses: { ipv4: ['198.51.100.1'], ipv6: ['2001:db8:d::1'] } },
  { id: 'ash-1', weight: 300, location: ASHBURN, addresses: { ipv4: ['192.0.2.1', '192.0.2.2'], ipv6: ['2001:db8:a::1'] } },
  { id: 'ash-2', weight: 100, location: ASHBURN, addresses: { ipv4: ['192.0.2.3'], ipv6: ['2001:db8:a::3'] } },
  { id: 'ash-0', weight: 0, location: ASHBURN, addresses: { ipv4: ['192.0.2.9'], ipv6: ['2001:db8:a::9'] } },
  { id: 'sin', weight: 100, location: { lat: 1.35, lon: 103.82, continent: 'AS', country: 'SG' }, addresses: { ipv4: ['203.0.113.1'], ipv6: [] } },
];
const REGION_OF = new Map(REGIONS.flatMap((r) => [...r.addresses.ipv4, ...r.addresses.ipv6].map((a) => [a, r.id] as const)));
const WEIGHT = new Map(REGIONS.map((r) => [r.id, r.weight]));
const SERVICE_REGIONS = ['dub', 'ash-1', 'ash-2', 'ash-0', 'sin'];

type Locate = 'none' | 'geo' | 'proximity' | 'failover';
type Balance = 'none' | 'weighted' | 'sticky';
type Select = 'one' | 'multi';

/** Each locate step, and the tiers it gives an Ashburn client (regions it leaves out follow, a tier each). */
const LOCATE: Record<Locate, { policy: Record<string, unknown>; order: string[][] }> = {
  // No locate step: the service's regions are one tier.
  none: { policy: {}, order: [SERVICE_REGIONS] },
  geo: {
    policy: { geo: { continents: { NA: [['dub', 'ash-2', 'ash-0'], 'ash-1'], EU: ['dub'] }, default: [['sin', 'dub']] } },
    order: [['dub', 'ash-2', 'ash-0'], ['ash-1'], ['sin']],
  },
  // The three Ashburn regions are equally near an Ashburn client: one tier. Dublin's bias does not
  // bring it nearer than Ashburn.
  proximity: { policy: { proximity: { bias: { dub: 10 } } }, order: [['ash-1', 'ash-2', 'ash-0'], ['dub'], ['sin']] },
  failover: { policy: { failover: [['ash-1', 'sin', 'ash-0'], 'dub'] }, order: [['ash-1', 'sin', 'ash-0'], ['dub'], ['ash-2']] },
};

interface MatrixService {
  name: string;
  locate: Locate;
  balance: Balance;
  select: Select;
}

const MATRIX: MatrixService[] = (['none', 'geo', 'proximity', 'failover'] as const).flatMap((locate) =>
  (['none', 'weighted', 'sticky'] as const).flatMap((balance) => (['one', 'multi'] as const).map((select) => ({ name: `${locate}-${balance}-${select}.${Z}`, locate, balance, select }))),
);
const BALANCED = MATRIX.filter((s) => s.balance !== 'none');
const byName = (name: string): MatrixService => MATRIX.find((s) => s.name === `${name}.${Z}`)!;

/**
 * Dublin, then Singapore, for an Ashburn client, under each all-down mode (the fallback region is
 * Singapore), each located by a different step: the geo and proximity steps make the decision
 * depend on the client's network, which an all-down answer must not claim (its SCOPE is 0).
 */
const ALL_DOWN = {
  failopen: { allDown: { mode: 'failopen' }, policy: { failover: ['dub', 'sin'] } },
  fallback: { allDown: { mode: 'fallback', region: 'sin' }, policy: { geo: { continents: { NA: ['dub', 'sin'] }, default: ['dub', 'sin'] } } },
  servfail: { allDown: { mode: 'servfail' }, policy: { proximity: {} } },
} as const;

function serviceConfig(s: MatrixService): Record<string, unknown> {
  const policy: Record<string, unknown> = { ...LOCATE[s.locate].policy };
  if (s.balance !== 'none') policy[s.balance] = {};
  if (s.select === 'multi') policy.multivalue = { max: 2 };
  return { name: s.name, regions: SERVICE_REGIONS, policy };
}

const SERVICES = [...MATRIX.map(serviceConfig), ...Object.entries(ALL_DOWN).map(([mode, s]) => ({ name: `alldown-${mode}.${Z}`, regions: ['dub', 'sin'], ...s }))];

type States = Readonly<Record<string, 'down' | 'drained'>>;

/** The documented shares of first answers for an Ashburn client, given the regions' overrides. */
function expectedShares(s: MatrixService, states: States = {}, weight: ReadonlyMap<string, number> = WEIGHT): Map<string, number> {
  return documentedShares({ tiers: LOCATE[s.locate].order, weight, state: (id) => states[id] ?? 'up', balanced: s.balance !== 'none', allDown: { mode: 'failopen' } });
}

const SUBNETS = ashburnSubnets(20_000, 13);

/** One A query per subnet, pipelined over UDP. */
async function ask(node: ApiNode, name: string, subnets: string[]): Promise<Answer[]> {
  return (await udpPipeline(node.port, ecsQueries(name, 'A', subnets, { rd: false }))).map(answerOf);
}

function firstRegions(answers: Answer[]): string[] {
  return answers.map((a) => (a.addresses[0] === undefined ? `(${a.rcode}, no address)` : REGION_OF.get(a.addresses[0])!));
}

describe('policy matrix through a real meridian serve', () => {
  let node: ApiNode;
  /** First-answer regions per balanced service for the subnets of the first pass. */
  const firstPass = new Map<string, string[]>();

  before(async () => {
    node = await startMeridianWithApi({
      zones: [{ origin: Z, text: ZONE }],
      dns: { errorRateLimit: 0 },
      extra: { geo: { database: GEODB }, regions: REGIONS, services: SERVICES },
    });
  });
  after(() => node?.stop());

  /** Marks exactly `states` (region -> down | drained) through overrides; clears every other one. */
  async function setOverrides(states: States): Promise<void> {
    for (const id of SERVICE_REGIONS) {
      const r = states[id]
        ? await node.api('PUT', `/v1/overrides/region/${id}`, { state: states[id], reason: 'policy matrix' })
        : await node.api('DELETE', `/v1/overrides/region/${id}?reason=policy%20matrix`);
      assert.ok(r.status === 200 || (r.status === 404 && !states[id]), `override ${id}: ${r.status} ${r.text}`);
    }
    // Applied when the node's own explanation shows every region in the state set.
    const want = SERVICE_REGIONS.map((id) => `${id} (weight ${WEIGHT.get(id)}, ${states[id] ?? 'up'})`).join(', ');
    const deadline = Date.now() + 5000;
    for (;;) {
      const e = await node.api('GET', `/v1/explain?name=none-none-one.${Z}&ip=127.0.0.1`);
      if ((e.json.steps as string[]).some((step) => step === `candidates: ${want}`)) return;
      assert.ok(Date.now() < deadline, `overrides not applied: ${JSON.stringify(e.json.steps)}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  async function allDownAnswers(): Promise<Record<string, string>> {
    const out: Record<string, string> = {};
    for (const mode of Object.keys(ALL_DOWN)) {
      const [a] = await ask(node, `alldown-${mode}.${Z}`, ['3.0.0.0/24']);
      out[mode] = a!.rcode === 'NOERROR' ? firstRegions([a!])[0]! : a!.rcode;
    }
    return out;
  }

  for (const s of MATRIX) {
    // Without a balance step every client gets the same answer, and 1,000 clients show it;
    // multivalue on 2,000; weighted and sticky alone and after each locate step on 20,000.
    const n = s.balance === 'none' ? 1000 : s.select === 'multi' ? 2000 : SUBNETS.length;
    test(`shares: ${s.name}`, async () => {
      const answers = await ask(node, s.name, SUBNETS.slice(0, n));
      for (const a of answers) assert.equal(a.rcode, 'NOERROR');
      const regions = firstRegions(answers);
      if (s.balance !== 'none') firstPass.set(s.name, regions);
      assertShares(s.name, regions, expectedShares(s));
      // Subnets hashed by the balance step: the scope is their /24; otherwise the geo network's.
      if (s.balance !== 'none') for (const a of answers) assert.equal(a.scope, 24);
      if (s.locate === 'none' || s.locate === 'failover') if (s.balance === 'none') for (const a of answers) assert.equal(a.scope, 0);
      if (s.select === 'multi') {
        // Up to 2 addresses across regions in decision order: every region here has one address
        // except ash-1, which has two.
        for (const a of answers) assert.equal(new Set(a.addresses).size, 2, `multivalue max 2: ${a.addresses.join(', ')}`);
      }
    });
  }

  /** explain (admin API) and the live answer agree for `clients` (addresses, rcode, ECS scope). */
  async function explainAgrees(name: string, clients: ExplainClient[]): Promise<void> {
    const replies = await udpPipeline(
      node.port,
      clients.map((c) => query(name, c.type, { rd: false, ...(c.ecs ? { ecs: c.ecs } : {}) })),
      { window: 64 },
    );
    await eachLimit(clients, 16, async (c, i) => {
      const live = answerOf(replies[i]!);
      const e = await node.api('GET', `/v1/explain?name=${name}&ip=127.0.0.1&type=${c.type}${c.ecs ? `&ecs=${encodeURIComponent(c.ecs)}` : ''}`);
      const what = `${name} ${c.type} for ECS ${c.ecs ?? '(none)'}: live ${JSON.stringify(live)}, explain ${e.text}`;
      assert.equal(e.status, 200, what);
      assert.equal(live.rcode, e.json.rcode, what);
      assert.deepEqual(live.addresses, e.json.addresses, what);
      // Without ECS the reply carries no option; with SOURCE /0 its SCOPE is 0 (RFC 7871 §7.1.2).
      assert.equal(live.scope, c.ecs === undefined ? null : e.json.scope, what);
    });
  }

  const ALL_NAMES = [...MATRIX.map((m) => m.name), ...Object.keys(ALL_DOWN).map((m) => `alldown-${m}.${Z}`)];
  ALL_NAMES.forEach((name, i) => {
    test(`explain agrees with the live answer for 1,000 random clients: ${name}`, () => explainAgrees(name, explainClients(1000, 1000 + i)));
  });

  const scenarios: { name: string; states: States; allDown: Record<string, string> }[] = [
    { name: 'ash-1 down', states: { 'ash-1': 'down' }, allDown: { failopen: 'dub', fallback: 'dub', servfail: 'dub' } },
    // Weight 0 is standby: failover's first tier is left with only ash-0, and Dublin (next tier,
    // with weight) answers instead; balanced services never pick it while a region with weight is up.
    { name: 'ash-1 and Singapore down: the standby stays unused', states: { 'ash-1': 'down', sin: 'down' }, allDown: { failopen: 'dub', fallback: 'dub', servfail: 'dub' } },
    { name: 'Dublin down: failover to Singapore', states: { dub: 'down' }, allDown: { failopen: 'sin', fallback: 'sin', servfail: 'sin' } },
    // Only the standby is left: it answers every service, balanced or not.
    { name: 'all but the standby down', states: { dub: 'down', 'ash-1': 'down', 'ash-2': 'down', sin: 'down' }, allDown: { failopen: 'dub', fallback: 'sin', servfail: 'SERVFAIL' } },
    {
      name: 'everything down: fail open as if all were up',
      states: { dub: 'down', 'ash-1': 'down', 'ash-2': 'down', 'ash-0': 'down', sin: 'down' },
      allDown: { failopen: 'dub', fallback: 'sin', servfail: 'SERVFAIL' },
    },
    // Drained is the operator's decision: failing open skips it while another region is left.
    { name: 'Dublin drained, Singapore down', states: { dub: 'drained', sin: 'down' }, allDown: { failopen: 'sin', fallback: 'sin', servfail: 'SERVFAIL' } },
  ];
  for (const sc of scenarios) {
    test(`overrides: ${sc.name}`, async () => {
      await setOverrides(sc.states);
      assert.deepEqual(await allDownAnswers(), sc.allDown, 'failover and the all-down modes');
      // Under overrides too, and when the answer is SERVFAIL (its reply carries SCOPE 0).
      for (const mode of Object.keys(ALL_DOWN)) await explainAgrees(`alldown-${mode}.${Z}`, explainClients(50, sc.name.length));
      const down = new Set(Object.keys(sc.states));
      const allDown = down.size === SERVICE_REGIONS.length;
      for (const s of MATRIX) {
        const answers = await ask(node, s.name, SUBNETS.slice(0, 300));
        assertShares(`${s.name} with ${sc.name}`, firstRegions(answers), expectedShares(s, sc.states));
        if (s.select === 'multi' && !allDown) {
          for (const a of answers) {
            assert.ok(
              a.addresses.every((x) => !down.has(REGION_OF.get(x)!)),
              `${s.name}: no address of a down region: ${a.addresses.join(', ')}`,
            );
            const up = REGIONS.filter((r) => !down.has(r.id)).flatMap((r) => r.addresses.ipv4).length;
            assert.equal(a.addresses.length, Math.min(2, up), `${s.name}: up to 2 healthy addresses`);
          }
        }
      }
    });
  }

  test('a subnet keeps its region while weights stay the same (after health changes and back)', async () => {
    await setOverrides({});
    assert.deepEqual(await allDownAnswers(), { failopen: 'dub', fallback: 'dub', servfail: 'dub' });
    for (const s of BALANCED) {
      const regions = firstRegions(await ask(node, s.name, SUBNETS.slice(0, 1000)));
      assert.deepEqual(regions, firstPass.get(s.name)!.slice(0, 1000), s.name);
    }
  });

  test('sticky: a weight change through the API moves the minimum share of subnets, all to the region that gained', async () => {
    const version = await node.applied();
    const r = await node.api('PUT', '/v1/regions/sin/weight?reason=policy%20matrix', { weight: 300 });
    assert.equal(r.status, 200, r.text);
    const deadline = Date.now() + 5000;
    while ((await node.applied()) <= version) {
      assert.ok(Date.now() < deadline, 'the weight change was not applied');
      await new Promise((res) => setTimeout(res, 20));
    }
    const weight = new Map(WEIGHT).set('sin', 300);
    const s = byName('none-sticky-one');
    const before = firstPass.get(s.name)!;
    const after = firstRegions(await ask(node, s.name, SUBNETS));
    assertShares(`${s.name} after sin 100 -> 300`, after, expectedShares(s, {}, weight));
    // The minimum that must move is the total variation distance between the two share vectors.
    const [old, now] = [expectedShares(s), expectedShares(s, {}, weight)];
    const minimum = [...now].reduce((n, [id, p]) => n + Math.max(0, p - (old.get(id) ?? 0)), 0);
    let moved = 0;
    for (let i = 0; i < SUBNETS.length; i++) {
      if (before[i] === after[i]) continue;
      moved++;
      assert.equal(after[i], 'sin', `${SUBNETS[i]} moved from ${before[i]} to ${after[i]}, not to the region that gained`);
    }
    assert.ok(moved / SUBNETS.length <= 1.1 * minimum, `moved ${((moved / SUBNETS.length) * 100).toFixed(2)}%, minimum ${(minimum * 100).toFixed(2)}%`);
    // weighted follows the new weights too; a tier without Singapore does not move at all.
    const w = byName('none-weighted-one');
    assertShares(`${w.name} after sin 100 -> 300`, firstRegions(await ask(node, w.name, SUBNETS.slice(0, 5000))), expectedShares(w, {}, weight));
    const g = byName('geo-sticky-one');
    assert.deepEqual(firstRegions(await ask(node, g.name, SUBNETS.slice(0, 2000))), firstPass.get(g.name)!.slice(0, 2000), `${g.name}: Singapore is not in its tier`);
  });
});
