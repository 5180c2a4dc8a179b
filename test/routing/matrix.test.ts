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
import { readAddresses } from '../helpers/packets.js';

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
  (['none', 'weighted', 'sticky'] as const).flatMap((balance) =>
    (['one', 'multi'] as const).map((select) => ({ name: `${locate}-${balance}-${select}.${Z}`, locate, balance, select })),
  ),
);
const BALANCED = MATRIX.filter((s) => s.balance !== 'none');
const byName = (name: string): MatrixService => MATRIX.find((s) => s.name === `${name}.${Z}`)!;

/** Failover from Dublin to Singapore under each all-down mode (the fallback region is Singapore). */
const ALL_DOWN = {
  failopen: { mode: 'failopen' },
  fallback: { mode: 'fallback', region: 'sin' },
  servfail: { mode: 'servfail' },
} as const;

function serviceConfig(s: MatrixService): Record<string, unknown> {
  const policy: Record<string, unknown> = { ...LOCATE[s.locate].policy };
  if (s.balance !== 'none') policy[s.balance] = {};
  if (s.select === 'multi') policy.multivalue = { max: 2 };
  return { name: s.name, regions: SERVICE_REGIONS, policy };
}

const SERVICES = [
  ...MATRIX.map(serviceConfig),
  ...Object.entries(ALL_DOWN).map(([mode, allDown]) => ({ name: `alldown-${mode}.${Z}`, regions: ['dub', 'sin'], policy: { failover: ['dub', 'sin'] }, allDown })),
];

/**
 * The documented decision for an Ashburn client, as shares of first answers: the located tiers
 * without the regions that are down; every region down: fail open (as if all were up). Without a
 * balance step the first region wins; with one, the best tier that has a region with weight shares
 * by weight, and standby regions (weight 0) share equally only when no region with weight is up.
 */
function expectedShares(s: MatrixService, down: ReadonlySet<string> = new Set(), weight: ReadonlyMap<string, number> = WEIGHT): Map<string, number> {
  const order = LOCATE[s.locate].order;
  let tiers = order.map((t) => t.filter((id) => !down.has(id))).filter((t) => t.length > 0);
  if (tiers.length === 0) tiers = order;
  if (s.balance === 'none') return new Map([[tiers[0]![0]!, 1]]);
  const weighted = tiers.map((t) => t.filter((id) => weight.get(id)! > 0)).filter((t) => t.length > 0);
  const members = weighted[0] ?? tiers[0]!;
  const w = (id: string): number => (weighted.length > 0 ? weight.get(id)! : 1);
  const total = members.reduce((n, id) => n + w(id), 0);
  return new Map(members.map((id) => [id, w(id) / total]));
}

/** Deterministic PRNG (mulberry32), so every run uses the same clients. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** `n` distinct /24s of 3.0.0.0/8 outside 3.101.0.0/16 (San Jose in the fixture): all Ashburn. */
function ashburnSubnets(n: number, seed: number): string[] {
  const all: number[] = [];
  for (let i = 0; i < 65536; i++) if (i >> 8 !== 101) all.push(i);
  const rnd = prng(seed);
  for (let i = 0; i < n; i++) {
    const j = i + Math.floor(rnd() * (all.length - i));
    [all[i], all[j]] = [all[j]!, all[i]!];
  }
  return all.slice(0, n).map((i) => `3.${i >> 8}.${i & 255}.0/24`);
}

const SUBNETS = ashburnSubnets(20_000, 13);

const RCODE = ['NOERROR', 'FORMERR', 'SERVFAIL', 'NXDOMAIN'];

interface Answer {
  rcode: string;
  addresses: string[];
  scope: number | null;
}

function answerOf(raw: Buffer): Answer {
  const r = readAddresses(raw);
  return { rcode: RCODE[r.rcode] ?? String(r.rcode), addresses: r.addresses, scope: r.scope };
}

/** One A query per subnet, pipelined over UDP. */
async function ask(node: ApiNode, name: string, subnets: string[]): Promise<Answer[]> {
  return (await udpPipeline(node.port, ecsQueries(name, 'A', subnets, { rd: false }))).map(answerOf);
}

function firstRegions(answers: Answer[]): string[] {
  return answers.map((a) => (a.addresses[0] === undefined ? `(${a.rcode}, no address)` : REGION_OF.get(a.addresses[0])!));
}

function sharesOf(regions: string[]): Map<string, number> {
  const out = new Map<string, number>();
  for (const r of regions) out.set(r, (out.get(r) ?? 0) + 1);
  for (const [r, n] of out) out.set(r, n / regions.length);
  return out;
}

/**
 * Every region's observed share within ±2 percentage points of its expected share, or five
 * standard deviations of a share over `n` clients when that is wider; a region expected to get
 * nothing must get nothing.
 */
function assertShares(what: string, regions: string[], expected: Map<string, number>): void {
  const observed = sharesOf(regions);
  const ids = new Set([...observed.keys(), ...expected.keys()]);
  const table = [...ids].map((id) => `${id} ${((observed.get(id) ?? 0) * 100).toFixed(2)}% (want ${((expected.get(id) ?? 0) * 100).toFixed(2)}%)`).join(', ');
  for (const id of ids) {
    const p = expected.get(id) ?? 0;
    const bound = p === 0 ? 0 : Math.max(0.02, 5 * Math.sqrt((p * (1 - p)) / regions.length));
    assert.ok(Math.abs((observed.get(id) ?? 0) - p) <= bound, `${what} over ${regions.length} client /24s: ${table}`);
  }
}

/** Bounded concurrency for the API requests. */
async function eachLimit<T>(items: T[], limit: number, fn: (item: T, index: number) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      await fn(items[i]!, i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

interface ExplainClient {
  /** ECS option as sent, or undefined for a query without one (the resolver's address decides). */
  ecs: string | undefined;
  type: 'A' | 'AAAA';
}

/** IPv4 or IPv6 text of `bytes` with every bit past `prefix` cleared. */
function masked(bytes: number[], prefix: number): string {
  const b = bytes.map((x, i) => x & (0xff << Math.max(0, Math.min(8, 8 * (i + 1) - prefix))) & 0xff);
  if (b.length === 4) return b.join('.');
  return Array.from({ length: 8 }, (_, i) => ((b[2 * i]! << 8) | b[2 * i + 1]!).toString(16)).join(':');
}

/**
 * Random clients of every kind a resolver sends: Ashburn /24s, any IPv4 subnet of any length, the
 * fixture's networks (every geo branch), IPv6 subnets, ECS /0 and no ECS; A and AAAA.
 */
function explainClients(n: number, seed: number): ExplainClient[] {
  const rnd = prng(seed);
  const int = (k: number): number => Math.floor(rnd() * k);
  const FIXTURE4 = [[81, 2, 69], [2, 16, 32], [2, 16, 7], [3, 101, 4], [24, 48, 2], [43, 224, 5], [103, 5, 140], [13, 54, 3], [177, 71, 130], [41, 0, 9], [192, 0, 2], [198, 51, 100], [203, 0, 113]];
  const FIXTURE6 = [[0x2600, 0x1f18], [0x2600, 0x1f1c], [0x2001, 0x0db8], [0x2400, 0xcb00], [0x2406, 0xda1c], [0x2804, 0x014c], [0x2c0f, 0xfb50], [0x3fff, 0x0001]];
  return Array.from({ length: n }, (): ExplainClient => {
    const type = rnd() < 0.8 ? 'A' : 'AAAA';
    const kind = int(10);
    if (kind < 3) return { ecs: `3.${int(256)}.${int(256)}.0/24`, type };
    if (kind < 5) {
      const prefix = 1 + int(32);
      return { ecs: `${masked([int(256), int(256), int(256), int(256)], prefix)}/${prefix}`, type };
    }
    if (kind < 7) {
      const [a, b, c] = FIXTURE4[int(FIXTURE4.length)]!;
      return { ecs: `${a}.${b}.${c}.${int(256)}/${rnd() < 0.5 ? 24 : 32}`, type };
    }
    if (kind < 9) {
      const [g0, g1] = FIXTURE6[int(FIXTURE6.length)]!;
      const bytes = [g0! >> 8, g0! & 255, g1! >> 8, g1! & 255, ...Array.from({ length: 12 }, () => int(256))];
      const prefix = [32, 48, 56, 64][int(4)]!;
      return { ecs: `${masked(bytes, prefix)}/${prefix}`, type };
    }
    return { ecs: rnd() < 0.5 ? '0.0.0.0/0' : undefined, type };
  });
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
  async function setOverrides(states: Record<string, 'down' | 'drained'>): Promise<void> {
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

  for (const s of [...MATRIX.map((m) => m.name), ...Object.keys(ALL_DOWN).map((m) => `alldown-${m}.${Z}`)]) {
    test(`explain agrees with the live answer for 1,000 random clients: ${s}`, async () => {
      const clients = explainClients(1000, s.length * 7919 + s.charCodeAt(0));
      const replies = await udpPipeline(node.port, clients.map((c) => query(s, c.type, { rd: false, ...(c.ecs ? { ecs: c.ecs } : {}) })), { window: 64 });
      await eachLimit(clients, 16, async (c, i) => {
        const live = answerOf(replies[i]!);
        const e = await node.api('GET', `/v1/explain?name=${s}&ip=127.0.0.1&type=${c.type}${c.ecs ? `&ecs=${encodeURIComponent(c.ecs)}` : ''}`);
        const what = `${s} ${c.type} for ECS ${c.ecs ?? '(none)'}: live ${JSON.stringify(live)}, explain ${e.text}`;
        assert.equal(e.status, 200, what);
        assert.equal(live.rcode, e.json.rcode, what);
        assert.deepEqual(live.addresses, e.json.addresses, what);
        // Without ECS the reply carries no option; with SOURCE /0 its SCOPE is 0 (RFC 7871 §7.1.2).
        assert.equal(live.scope, c.ecs === undefined ? null : e.json.scope, what);
      });
    });
  }

  const scenarios: { name: string; states: Record<string, 'down' | 'drained'>; allDown: Record<string, string> }[] = [
    { name: 'ash-1 down', states: { 'ash-1': 'down' }, allDown: { failopen: 'dub', fallback: 'dub', servfail: 'dub' } },
    // Weight 0 is standby: failover's first tier is left with only ash-0, and Dublin (next tier,
    // with weight) answers instead; balanced services never pick it while a region with weight is up.
    { name: 'ash-1 and Singapore down: the standby stays unused', states: { 'ash-1': 'down', sin: 'down' }, allDown: { failopen: 'dub', fallback: 'dub', servfail: 'dub' } },
    { name: 'Dublin down: failover to Singapore', states: { dub: 'down' }, allDown: { failopen: 'sin', fallback: 'sin', servfail: 'sin' } },
    // Only the standby is left: it answers every service, balanced or not.
    { name: 'all but the standby down', states: { dub: 'down', 'ash-1': 'down', 'ash-2': 'down', sin: 'down' }, allDown: { failopen: 'dub', fallback: 'sin', servfail: 'SERVFAIL' } },
    { name: 'everything down: fail open as if all were up', states: { dub: 'down', 'ash-1': 'down', 'ash-2': 'down', 'ash-0': 'down', sin: 'down' }, allDown: { failopen: 'dub', fallback: 'sin', servfail: 'SERVFAIL' } },
    // Drained is the operator's decision: failing open skips it while another region is left.
    { name: 'Dublin drained, Singapore down', states: { dub: 'drained', sin: 'down' }, allDown: { failopen: 'sin', fallback: 'sin', servfail: 'SERVFAIL' } },
  ];
  for (const sc of scenarios) {
    test(`overrides: ${sc.name}`, async () => {
      await setOverrides(sc.states);
      assert.deepEqual(await allDownAnswers(), sc.allDown, 'failover and the all-down modes');
      const down = new Set(Object.keys(sc.states));
      const allDown = down.size === SERVICE_REGIONS.length;
      for (const s of MATRIX) {
        const answers = await ask(node, s.name, SUBNETS.slice(0, 300));
        // Failing open answers as if every region were up, so the all-up decision is expected.
        assertShares(`${s.name} with ${sc.name}`, firstRegions(answers), expectedShares(s, allDown ? new Set() : down));
        if (s.select === 'multi' && !allDown) {
          for (const a of answers) {
            assert.ok(a.addresses.every((x) => !down.has(REGION_OF.get(x)!)), `${s.name}: no address of a down region: ${a.addresses.join(', ')}`);
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
    assertShares(`${s.name} after sin 100 -> 300`, after, expectedShares(s, new Set(), weight));
    // The minimum that must move is the total variation distance between the two share vectors.
    const [old, now] = [expectedShares(s), expectedShares(s, new Set(), weight)];
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
    assertShares(`${w.name} after sin 100 -> 300`, firstRegions(await ask(node, w.name, SUBNETS.slice(0, 5000))), expectedShares(w, new Set(), weight));
    const g = byName('geo-sticky-one');
    assert.deepEqual(firstRegions(await ask(node, g.name, SUBNETS.slice(0, 2000))), firstPass.get(g.name)!.slice(0, 2000), `${g.name}: Singapore is not in its tier`);
  });
});
