import assert from 'node:assert/strict';
import { test } from 'node:test';
import { geo } from './geo.js';
import { ALL, ctx, geoAt, state, tiersOf } from './testkit.js';

const ids = ALL.map((r) => r.id);
const config = geo.parseConfig(
  {
    subdivisions: { 'US-CA': ['ap-southeast', 'us-east'] },
    countries: { DE: [['eu-west', 'us-east']] },
    continents: { EU: ['eu-west', 'us-east'], AS: ['ap-southeast'] },
    default: ['us-east'],
  },
  ids,
);
const step = geo.build(config);

const cases: { name: string; geo: ReturnType<typeof geoAt> | null; prefix: number; want: string[]; scope: number }[] = [
  { name: 'subdivision beats country and continent', geo: geoAt({ continent: 'NA', country: 'US', subdivision: 'US-CA', prefixLength: 20 }), prefix: 20, want: ['ap-southeast@0', 'us-east@1', 'eu-west@2'], scope: 20 },
  { name: 'a bare subdivision code is qualified by the country', geo: geoAt({ continent: 'NA', country: 'US', subdivision: 'ca' }), prefix: 20, want: ['ap-southeast@0', 'us-east@1', 'eu-west@2'], scope: 20 },
  { name: 'a subdivision name from a flat database matches nothing', geo: geoAt({ continent: 'NA', country: 'US', subdivision: 'California' }), prefix: 20, want: ['us-east@0', 'eu-west@1', 'ap-southeast@2'], scope: 20 },
  { name: 'country with a weighted tier', geo: geoAt({ continent: 'EU', country: 'DE', prefixLength: 16 }), prefix: 16, want: ['eu-west@0', 'us-east@0', 'ap-southeast@1'], scope: 16 },
  { name: 'continent', geo: geoAt({ continent: 'EU', country: 'FR', prefixLength: 12 }), prefix: 12, want: ['eu-west@0', 'us-east@1', 'ap-southeast@2'], scope: 12 },
  { name: 'unlisted regions follow in service order', geo: geoAt({ continent: 'AS', country: 'JP' }), prefix: 16, want: ['ap-southeast@0', 'us-east@1', 'eu-west@2'], scope: 16 },
  { name: 'no match: default list', geo: geoAt({ continent: 'SA', country: 'BR' }), prefix: 10, want: ['us-east@0', 'eu-west@1', 'ap-southeast@2'], scope: 10 },
  { name: 'no geo record: default list, scope of the empty space', geo: null, prefix: 8, want: ['us-east@0', 'eu-west@1', 'ap-southeast@2'], scope: 8 },
  { name: 'lower-case codes in the record still match', geo: geoAt({ continent: 'eu', country: 'de' }), prefix: 16, want: ['eu-west@0', 'us-east@0', 'ap-southeast@1'], scope: 16 },
];

for (const c of cases) {
  test(`geo: ${c.name}`, () => {
    const out = step(state(), ctx({ geo: c.geo, geoPrefix: c.prefix }));
    assert.deepEqual(tiersOf(out), c.want);
    assert.equal(out.scope, c.scope);
  });
}

test('geo: keeps a wider scope already set by an earlier input', () => {
  const out = step({ ...state(), scope: 24 }, ctx({ geo: geoAt({ continent: 'EU' }), geoPrefix: 16 }));
  assert.equal(out.scope, 24);
});

const bad: [unknown, RegExp][] = [
  [{ continents: { XX: ['us-east'] } }, /geo.continents: "XX" is not a continent code/],
  [{ countries: { USA: ['us-east'] } }, /geo.countries: "USA" is not an ISO 3166-1 alpha-2 code/],
  [{ subdivisions: { California: ['us-east'] } }, /not an ISO 3166-2 code/],
  [{ default: ['mars-1'] }, /geo.default\[0\]: unknown region "mars-1"/],
  [{ default: ['us-east', ['us-east']] }, /listed twice/],
  [{ default: [] }, /non-empty list/],
  [{ colour: 'blue' }, /geo: unknown key "colour"/],
  [{ continents: { EU: [[]] } }, /empty tier/],
  [['us-east'], /geo must be a mapping/],
];
for (const [json, want] of bad) {
  test(`geo: rejects ${JSON.stringify(json)}`, () => assert.throws(() => geo.parseConfig(json, ids), want));
}
