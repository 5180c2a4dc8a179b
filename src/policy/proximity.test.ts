import assert from 'node:assert/strict';
import { test } from 'node:test';
import { biased, greatCircleKm, proximity } from './proximity.js';
import { ALL, ctx, geoAt, ids, region, REGIONS, state, tiersOf } from './testkit.js';

const regionIds = ALL.map((r) => r.id);

test('great-circle distances match known city pairs within 1%', () => {
  const table: [string, number, number, number, number, number][] = [
    ['London-Paris', 51.5074, -0.1278, 48.8566, 2.3522, 344],
    ['New York-Los Angeles', 40.7128, -74.006, 34.0522, -118.2437, 3936],
    ['Sydney-Singapore', -33.8688, 151.2093, 1.3521, 103.8198, 6300],
    ['same point', 10, 10, 10, 10, 0],
  ];
  for (const [name, a, b, c, d, km] of table) {
    const got = greatCircleKm(a, b, c, d);
    assert.ok(Math.abs(got - km) <= Math.max(1, km * 0.01), `${name}: ${got} vs ${km}`);
  }
});

const cases: { name: string; at: [number, number]; bias?: Record<string, number>; want: string[] }[] = [
  { name: 'Berlin -> Dublin first', at: [52.52, 13.4], want: ['eu-west', 'us-east', 'ap-southeast'] },
  { name: 'Chicago -> Ashburn first', at: [41.88, -87.63], want: ['us-east', 'eu-west', 'ap-southeast'] },
  { name: 'Tokyo -> Singapore, then Dublin (9585 km) before Ashburn (10872 km)', at: [35.68, 139.69], want: ['ap-southeast', 'eu-west', 'us-east'] },
  { name: 'Reykjavik is nearer Dublin', at: [64.15, -21.94], want: ['eu-west', 'us-east', 'ap-southeast'] },
  { name: 'a +60 bias is not enough to pull Reykjavik to Ashburn (1809 vs 1495 km)', at: [64.15, -21.94], bias: { 'us-east': 60 }, want: ['eu-west', 'us-east', 'ap-southeast'] },
  { name: 'a +70 bias pulls Reykjavik to Ashburn (1357 vs 1495 km)', at: [64.15, -21.94], bias: { 'us-east': 70 }, want: ['us-east', 'eu-west', 'ap-southeast'] },
  { name: 'a -85 bias pushes Dublin behind Ashburn for Berlin (8780 vs 6727 km)', at: [52.52, 13.4], bias: { 'eu-west': -85 }, want: ['us-east', 'eu-west', 'ap-southeast'] },
];
for (const c of cases) {
  test(`proximity: ${c.name}`, () => {
    const step = proximity.build(proximity.parseConfig({ bias: c.bias ?? {} }, regionIds));
    const out = step(state(), ctx({ geo: geoAt({ lat: c.at[0], lon: c.at[1], prefixLength: 20 }), geoPrefix: 20 }));
    assert.deepEqual(ids(out), c.want);
    assert.deepEqual(
      out.candidates.map((x) => x.tier),
      [0, 1, 2],
      'each region its own tier',
    );
    assert.equal(out.scope, 20);
  });
}

test('proximity: no location keeps the candidates as they are (one tier), scope is the geo prefix', () => {
  const step = proximity.build(proximity.parseConfig({}, regionIds));
  const out = step(state(), ctx({ geo: geoAt({ country: 'DE' }), geoPrefix: 12 }));
  assert.deepEqual(tiersOf(out), ['us-east@0', 'eu-west@0', 'ap-southeast@0']);
  assert.equal(out.scope, 12);
});

test('proximity: regions at the same effective distance (to the km) share a tier, in service order', () => {
  const a2 = region('us-east-2', { lat: REGIONS.use.lat, lon: REGIONS.use.lon });
  const near = region('us-east-3', { lat: REGIONS.use.lat + 0.001, lon: REGIONS.use.lon });
  const regions = [REGIONS.euw, a2, REGIONS.use, near, REGIONS.aps];
  const step = proximity.build(
    proximity.parseConfig(
      { bias: { 'eu-west': 50 } },
      regions.map((r) => r.id),
    ),
  );
  const out = step(state(regions), ctx({ geo: geoAt({ lat: 41.88, lon: -87.63 }), geoPrefix: 20 }));
  // Chicago: the three Ashburn sites at ~956 km (one 0.1 km further: same km), then Dublin at
  // 5,800 km biased to half, then Singapore.
  assert.deepEqual(tiersOf(out), ['us-east-2@0', 'us-east@0', 'us-east-3@0', 'eu-west@1', 'ap-southeast@2']);
});

test('bias arithmetic', () => {
  assert.equal(biased(1000, 0), 1000);
  assert.equal(biased(1000, 50), 500);
  assert.equal(biased(1000, -50), 2000);
});

for (const [json, want] of [
  [{ bias: { 'us-east': 100 } }, /-99 to 99/],
  [{ bias: { 'us-east': 1.5 } }, /-99 to 99/],
  [{ bias: { nowhere: 1 } }, /unknown region "nowhere"/],
  [{ radius: 5 }, /unknown key "radius"/],
] as [unknown, RegExp][]) {
  test(`proximity: rejects ${JSON.stringify(json)}`, () => assert.throws(() => proximity.parseConfig(json, regionIds), want));
}
