/**
 * Issue 17, the cold path: a resolver population sends many client subnets, so most queries miss the
 * per-/24 decision cache. In front of it, an IPv4 decision whose scope is /16 or shorter is kept per
 * /16, so the other /24s of that /16 cost no geo lookup; behind it, decisions are cached per geo
 * network when their scope allows: many /24s of one network cost one policy-chain run, and a
 * decision that read the client's /24 (sticky among several regions) stays per /24. Work is counted
 * through the node's own metrics
 * (`meridian_dns_decisions_computed_total`, `meridian_dns_geo_lookups_total`), never timed.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { decode, ecsQueries, ecsScope, udpPipeline } from '../helpers/client.js';
import { freePort, startMeridian, type RunningServer } from '../helpers/dnsproc.js';
import { metric } from '../helpers/role.js';

const GEODB = new URL('../../geodb/test-city.mmdb', import.meta.url).pathname;
const Z = 'gslb.example.com';
const ADDR = { 'us-east': '192.0.2.10', 'eu-west': '198.51.100.10', 'eu-central': '198.51.100.20' };

const region = (id: keyof typeof ADDR, continent: string): Record<string, unknown> => ({ id, location: { lat: 50, lon: 0, continent, country: 'US' }, addresses: { ipv4: [ADDR[id]] } });

/** `count` distinct /24s: a.(b0 + i / 256).(i % 256).0/24. */
function subnets(a: number, b0: number, count: number): string[] {
  return Array.from({ length: count }, (_, i) => `${a}.${b0 + (i >> 8)}.${i & 255}.0/24`);
}

describe('cold path: decisions per geo network where the scope allows', () => {
  let srv: RunningServer;
  let metricsPort: number;
  const work = async (): Promise<{ decisions: number; geoLookups: number }> => ({
    decisions: (await metric(metricsPort, 'meridian_dns_decisions_computed_total')) ?? NaN,
    geoLookups: (await metric(metricsPort, 'meridian_dns_geo_lookups_total')) ?? NaN,
  });
  /** Sends one A query per subnet; returns each reply's address and ECS scope, and the work it cost. */
  const ask = async (nets: string[]): Promise<{ answers: { address: string; scope: number | null }[]; decisions: number; geoLookups: number }> => {
    const before = await work();
    const replies = await udpPipeline(srv.port, ecsQueries(`www.${Z}`, 'A', nets));
    const answers = replies.map((r) => {
      const m = decode(r);
      return { address: (m.answers[0] as { data?: string } | undefined)?.data ?? '', scope: ecsScope(m) };
    });
    const now = await work();
    return { answers, decisions: now.decisions - before.decisions, geoLookups: now.geoLookups - before.geoLookups };
  };

  before(async () => {
    metricsPort = await freePort();
    srv = await startMeridian({
      zones: [{ origin: Z, text: `$ORIGIN ${Z}.\n$TTL 300\n@ SOA ns1 host 1 7200 3600 1209600 300\n@ NS ns1\nns1 A 127.0.0.1\n` }],
      extra: {
        metrics: { listen: `127.0.0.1:${metricsPort}` },
        geo: { database: GEODB },
        regions: [region('us-east', 'NA'), region('eu-west', 'EU'), region('eu-central', 'EU')],
        services: [
          {
            name: `www.${Z}`,
            regions: ['us-east', 'eu-west', 'eu-central'],
            // The demo's shape: geo lists, then sticky; EU shares one tier between two regions.
            policy: { geo: { continents: { NA: ['us-east', 'eu-west'], EU: [['eu-west', 'eu-central'], 'us-east'] }, default: ['us-east'] }, sticky: {} },
          },
        ],
      },
    });
  });
  after(async () => {
    await srv?.stop();
  });

  test('500 /24s of one geo network (Ashburn, the fixture leaf 3.0.0.0/10) in two /16s: one chain run, one geo lookup per /16', async () => {
    const nets = subnets(3, 0, 500);
    const r = await ask(nets);
    assert.deepEqual(new Set(r.answers.map((a) => a.address)), new Set([ADDR['us-east']]));
    assert.deepEqual(new Set(r.answers.map((a) => a.scope)), new Set([10]), 'the scope is the geo network, as computed fresh');
    assert.equal(r.geoLookups, 2, 'a scope of /10 holds for the whole /16: the first /24 of each of 3.0 and 3.1 looks up, the others do not');
    assert.equal(r.decisions, 1, 'the chain runs once for the whole network');
    const again = await ask(nets);
    assert.deepEqual([again.decisions, again.geoLookups], [0, 0], 'per-/24 hits: no geo lookup, no chain');
    assert.deepEqual(again.answers, r.answers);
  });

  test('sticky between two regions reads the /24: 300 /24s of one network (Paris, 2.128.0.0/9) are 300 decisions, spread over both', async () => {
    const r = await ask(subnets(2, 200, 300));
    assert.equal(r.decisions, 300, 'a decision with a scope past the network is never shared by the network');
    assert.equal(r.geoLookups, 300);
    assert.deepEqual(new Set(r.answers.map((a) => a.scope)), new Set([24]));
    const counts = new Map<string, number>();
    for (const a of r.answers) counts.set(a.address, (counts.get(a.address) ?? 0) + 1);
    assert.deepEqual([...counts.keys()].sort(), [ADDR['eu-central'], ADDR['eu-west']].sort(), 'both EU regions answer some /24s');
  });

  test('AAAA and A of one network are separate decisions (the query family is part of the key)', async () => {
    const nets = subnets(3, 10, 20);
    const before = await work();
    await udpPipeline(srv.port, ecsQueries(`www.${Z}`, 'AAAA', nets));
    const now = await work();
    // The A decision of this network was cached by the first test; AAAA (NODATA here) is its own,
    // computed once and then kept for the /16 (3.10) under the AAAA key.
    assert.equal(now.decisions - before.decisions, 1);
    assert.equal(now.geoLookups - before.geoLookups, 1);
  });

  test('6,144 /16s without a record (104.0.0.0-127.255.255.255; past the /16 level turning into an array at 4,096): one geo lookup per /16, then none', async () => {
    const sixteens = Array.from({ length: 24 * 256 }, (_, i) => `${104 + (i >> 8)}.${i & 255}`);
    const r = await ask(sixteens.map((s) => `${s}.7.0/24`));
    assert.deepEqual(new Set(r.answers.map((a) => a.address)), new Set([ADDR['us-east']]), 'the default list');
    assert.ok(
      r.answers.every((a) => a.scope !== null && a.scope <= 16),
      'the scope is the empty network around the address (/4, /5)',
    );
    assert.equal(r.geoLookups, sixteens.length);
    // Other /24s of the same /16s: every one is answered from the /16 level, the entries made
    // before it became an array included.
    const again = await ask(sixteens.map((s) => `${s}.9.0/24`));
    assert.deepEqual([again.decisions, again.geoLookups], [0, 0]);
    assert.deepEqual(
      again.answers.map((a) => a.scope),
      r.answers.map((a) => a.scope),
    );
  });

  test('a network narrower than /16 (Toronto, 24.48.0.0/20): its decision stays per /24, one chain run, one geo lookup per /24', async () => {
    const r = await ask(subnets(24, 48, 16));
    assert.deepEqual(new Set(r.answers.map((a) => a.address)), new Set([ADDR['us-east']]));
    assert.deepEqual(new Set(r.answers.map((a) => a.scope)), new Set([20]));
    assert.equal(r.geoLookups, 16, 'a /20 decision does not hold for the /16: each /24 looks up');
    assert.equal(r.decisions, 1, 'the network cache still shares the chain run');
    const again = await ask(subnets(24, 48, 16));
    assert.deepEqual([again.decisions, again.geoLookups], [0, 0], 'per-/24 hits');
  });
});
