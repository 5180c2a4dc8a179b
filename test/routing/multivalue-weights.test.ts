/**
 * weighted or sticky with multivalue: every answer slot is drawn by weight among the regions not
 * yet answered (a weighted shuffle without replacement, as NS1's weighted_shuffle before
 * select_first_n), not filled in service order. The demo's `pool` service (weights 100/100/50,
 * multivalue max 2) through a real `meridian serve` over 6,000 random client /24s: the first slot
 * is 40/40/20, and the second follows the draw among the two regions left:
 * P(us-east second) = P(eu-west first)·100/150 + P(ap first)·100/200 = 0.4·2/3 + 0.2·1/2 ≈ 36.7 %,
 * the same for eu-west, and ap-southeast 0.4·1/3·2 ≈ 26.7 %. Service order gave 60/40/0.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ecsQueries, udpPipeline } from '../helpers/client.js';
import { startMeridian, type RunningServer } from '../helpers/dnsproc.js';
import { answerOf, ashburnSubnets, assertShares } from '../helpers/routing.js';

const Z = 'gslb.example.com';
const ZONE = `$ORIGIN ${Z}.\n$TTL 300\n@ SOA ns1 host 1 7200 3600 1209600 300\n@ NS ns1\nns1 A 127.0.0.1\n`;
const at = { lat: 0, lon: 0, continent: 'EU', country: 'DE' };
const REGIONS = [
  { id: 'us-east', weight: 100, location: at, addresses: { ipv4: ['192.0.2.10'] } },
  { id: 'eu-west', weight: 100, location: at, addresses: { ipv4: ['198.51.100.10'] } },
  { id: 'ap-southeast', weight: 50, location: at, addresses: { ipv4: ['203.0.113.10'] } },
];
/** Weight 0: standby, never in an answer while a region with weight is up (not even in a later slot). */
const STANDBY = { id: 'standby', weight: 0, location: at, addresses: { ipv4: ['192.0.2.99'] } };
const REGION_OF = new Map(REGIONS.map((r) => [r.addresses.ipv4[0]!, r.id] as const));
const FIRST = new Map([
  ['us-east', 0.4],
  ['eu-west', 0.4],
  ['ap-southeast', 0.2],
]);
const SECOND = new Map([
  ['us-east', 0.4 * (2 / 3) + 0.2 * 0.5],
  ['eu-west', 0.4 * (2 / 3) + 0.2 * 0.5],
  ['ap-southeast', 0.4 * (1 / 3) * 2],
]);
const SUBNETS = ashburnSubnets(6000, 71);

describe('multivalue after a balance step: each slot drawn by weight among the regions left', () => {
  let srv: RunningServer;
  before(async () => {
    srv = await startMeridian({
      zones: [{ origin: Z, text: ZONE }],
      dns: { errorRateLimit: 0 },
      extra: {
        regions: [...REGIONS, STANDBY],
        services: ['weighted', 'sticky'].flatMap((balance) => [
          { name: `pool-${balance}.${Z}`, regions: REGIONS.map((r) => r.id), policy: { [balance]: {}, multivalue: { max: 2 } } },
          { name: `standby-${balance}.${Z}`, regions: ['ap-southeast', 'standby'], policy: { [balance]: {}, multivalue: { max: 2 } } },
        ]),
      },
    });
  });
  after(() => srv?.stop());

  for (const balance of ['weighted', 'sticky']) {
    test(`${balance} + multivalue max 2: first slot by weight, second by weight among the rest`, async () => {
      const replies = await udpPipeline(srv.port, ecsQueries(`pool-${balance}.${Z}`, 'A', SUBNETS, { rd: false }));
      const slots = replies.map((raw) => answerOf(raw).addresses.map((a) => REGION_OF.get(a)!));
      for (const s of slots) assert.equal(new Set(s).size, 2, `two regions: ${s.join(', ')}`);
      assertShares(
        `pool-${balance} first slot`,
        slots.map((s) => s[0]!),
        FIRST,
      );
      assertShares(
        `pool-${balance} second slot`,
        slots.map((s) => s[1]!),
        SECOND,
      );
    });

    test(`${balance} + multivalue: a standby region fills no slot while a region with weight is up`, async () => {
      const replies = await udpPipeline(srv.port, ecsQueries(`standby-${balance}.${Z}`, 'A', SUBNETS.slice(0, 500), { rd: false }));
      const answers = new Map<string, number>();
      for (const raw of replies) {
        const key = answerOf(raw).addresses.join(' ');
        answers.set(key, (answers.get(key) ?? 0) + 1);
      }
      assert.deepEqual([...answers], [['203.0.113.10', 500]]);
    });
  }
});
