import assert from 'node:assert/strict';
import { test } from 'node:test';
import { geo } from './geo.js';
import { ConfigProblems } from './lists.js';
import type { ParseNotes } from './types.js';
import { ALL, ctx, geoAt, state, tiersOf } from './testkit.js';

const ids = ALL.map((r) => r.id);
const config = geo.parseConfig(
  {
    subdivisions: { 'US-CA': ['ap-southeast', 'us-east'], 'DE-Hesse': ['us-east'], 'US-Cascadia': ['eu-west'] },
    countries: { DE: [['eu-west', 'us-east']] },
    continents: { EU: ['eu-west', 'us-east'], AS: ['ap-southeast'] },
    default: ['us-east'],
  },
  ids,
);
const step = geo.build(config);

const cases: { name: string; geo: ReturnType<typeof geoAt> | null; prefix: number; want: string[]; scope: number }[] = [
  {
    name: 'subdivision beats country and continent',
    geo: geoAt({ continent: 'NA', country: 'US', subdivision: 'US-CA', prefixLength: 20 }),
    prefix: 20,
    want: ['ap-southeast@0', 'us-east@1', 'eu-west@2'],
    scope: 20,
  },
  {
    name: 'a rule written CC-Name matches the code the geo layer gives',
    geo: geoAt({ continent: 'EU', country: 'DE', subdivision: 'DE-HE' }),
    prefix: 16,
    want: ['us-east@0', 'eu-west@1', 'ap-southeast@2'],
    scope: 16,
  },
  {
    name: 'a region the table lacks matches its CC-Name rule, folded',
    geo: geoAt({ continent: 'NA', country: 'US', subdivision: 'US-CASCADIA' }),
    prefix: 16,
    want: ['eu-west@0', 'us-east@1', 'ap-southeast@2'],
    scope: 16,
  },
  {
    name: 'US-CA is not CA-anything: Ontario falls to the default',
    geo: geoAt({ continent: 'NA', country: 'CA', subdivision: 'CA-ON' }),
    prefix: 20,
    want: ['us-east@0', 'eu-west@1', 'ap-southeast@2'],
    scope: 20,
  },
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
  [{ subdivisions: { Californa: ['us-east'] } }, /geo.subdivisions.Californa: "Californa" is not a subdivision name Meridian knows/],
  [{ subdivisions: { 'XX-CA': ['us-east'] } }, /geo.subdivisions.XX-CA: "XX" is not an ISO 3166-1 country code/],
  [{ subdivisions: { 'US-ZZ': ['us-east'] } }, /geo.subdivisions.US-ZZ: "ZZ" is not an ISO 3166-2 subdivision code of US/],
  [{ subdivisions: { Limburg: ['us-east'] } }, /names subdivisions of several countries \(.*NL-LI.*\)/],
  [{ subdivisions: { 'US-CA': ['us-east'], California: ['eu-west'] } }, /geo.subdivisions.California: the same subdivision as "US-CA" \(US-CA\)/],
  [{ subdivisions: { 'US-CA': 'us-east' } }, /geo.subdivisions.US-CA must be a non-empty list/],
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

test('geo: every accepted spelling of a subdivision key becomes one code; unknown CC-Names warn', () => {
  const notes: ParseNotes = { warnings: [], subdivisions: [] };
  const keys = ['US-CA', 'us-va', 'Texas', 'DE-Hesse', 'BR-Sao Paulo', 'JP-13', 'IN-CT', 'US-Cascadia'];
  const cfg = geo.parseConfig({ subdivisions: Object.fromEntries(keys.map((k) => [k, ['us-east']])) }, ids, notes);
  assert.deepEqual([...cfg.subdivisions.keys()], ['US-CA', 'US-VA', 'US-TX', 'DE-HE', 'BR-SP', 'JP-13', 'IN-CG']);
  assert.deepEqual([...cfg.subdivisionNames.keys()], ['US-cascadia']);
  assert.deepEqual(notes.subdivisions, ['US-CA', 'US-VA', 'US-TX', 'DE-HE', 'BR-SP', 'JP-13', 'IN-CG', 'US-Cascadia']);
  assert.deepEqual(
    notes.warnings.map((w) => w.path),
    [['geo', 'subdivisions', 'US-Cascadia']],
  );
  assert.match(notes.warnings[0]!.reason, /"Cascadia" is not a subdivision of US that Meridian knows/);
});

test('geo: a bad subdivision key carries its path below policy', () => {
  assert.throws(
    () => geo.parseConfig({ subdivisions: { 'XX-CA': ['us-east'] } }, ids),
    (err: unknown) => err instanceof ConfigProblems && err.problems.length === 1 && err.problems[0]!.path.join('/') === 'geo/subdivisions/XX-CA',
  );
});

test('geo: every bad key is reported, each at its path', () => {
  assert.throws(
    () => geo.parseConfig({ subdivisions: { 'XX-CA': ['us-east'] }, countries: { USA: ['us-east'] }, continents: { EU: ['mars'], XX: ['us-east'] }, default: [] }, ids),
    (err: unknown) =>
      err instanceof ConfigProblems &&
      JSON.stringify(err.problems.map((p) => p.path.join('/'))) === JSON.stringify(['geo/subdivisions/XX-CA', 'geo/countries/USA', 'geo/continents/EU', 'geo/continents/XX', 'geo/default']),
  );
});
