/**
 * The subdivision table and its two entry points: what a database record names, and what a config
 * key says. Both must land on the same ISO 3166-2 code for the same place.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { foldName, knownSubdivision, parseSubdivisionKey, recordSubdivision, subdivisionByName, subdivisionsNamed } from './subdivisions.js';

test('foldName ignores case, diacritics and punctuation', () => {
  assert.equal(foldName('São Paulo'), 'sao paulo');
  assert.equal(foldName('  SAO-PAULO '), 'sao paulo');
  assert.equal(foldName('Bangka–Belitung Islands'), 'bangka belitung islands');
  assert.equal(foldName("Val-d'Oise"), 'val d oise');
  assert.equal(foldName('Tôkyô'), 'tokyo');
});

test('the table: codes, English names, aliases of re-coded subdivisions', () => {
  assert.equal(knownSubdivision('us-ca'), 'US-CA');
  assert.equal(knownSubdivision('US-ZZ'), null);
  assert.equal(knownSubdivision('IN-CT'), 'IN-CG', 'Chhattisgarh: ISO re-coded CT as CG; both name one place');
  assert.equal(knownSubdivision('IN-CG'), 'IN-CG');
  assert.equal(knownSubdivision('MK-801'), 'MK-01', 'a code CLDR marks deprecated yields to the current one');
  assert.equal(subdivisionByName('DE', 'Hesse'), 'DE-HE', 'the English exonym geolocation databases use');
  assert.equal(subdivisionByName('NL', 'north holland'), 'NL-NH');
  assert.equal(subdivisionByName('FR', 'Île-de-France'), 'FR-IDF', 'CLDR footnote mark (²) ignored');
  assert.equal(subdivisionByName('AU', 'New South Wales'), 'AU-NSW');
  assert.equal(subdivisionByName('JP', 'Tokyo'), 'JP-13');
  assert.equal(subdivisionByName('CA', 'California'), null, 'names are per country');
  assert.deepEqual(subdivisionsNamed('Limburg').sort(), ['BE-VLI', 'NL-LI']);
  assert.deepEqual(subdivisionsNamed('California'), ['US-CA']);
});

test('every US state name resolves to its code, both ways', () => {
  const states: [string, string][] = [
    ['Alabama', 'AL'],
    ['Alaska', 'AK'],
    ['Arizona', 'AZ'],
    ['California', 'CA'],
    ['New York', 'NY'],
    ['North Carolina', 'NC'],
    ['Texas', 'TX'],
    ['Virginia', 'VA'],
    ['Washington', 'WA'],
    ['West Virginia', 'WV'],
    ['Wyoming', 'WY'],
  ];
  for (const [name, code] of states) {
    assert.equal(recordSubdivision('US', null, name), `US-${code}`, name);
    assert.equal(recordSubdivision('US', code, null), `US-${code}`, code);
    assert.deepEqual(parseSubdivisionKey(name), { kind: 'code', code: `US-${code}` }, name);
  }
});

test('recordSubdivision: what a database gives -> ISO 3166-2', () => {
  const cases: [country: string | null, code: string | null, name: string | null, want: string | null][] = [
    ['US', 'CA', 'California', 'US-CA'], //          GeoIP2
    ['US', null, 'California', 'US-CA'], //          DB-IP GeoIP2-format, flat state1
    ['US', 'ca', null, 'US-CA'],
    ['BR', null, 'Sao Paulo', 'BR-SP'],
    ['US', null, 'CA', 'US-CA'], //                  a code in a name field
    ['US', 'XX', 'California', 'US-CA'], //          an unknown code yields to a known name
    ['US', 'ZZ', null, 'US-ZZ'], //                  unknown code, no name: kept
    ['US', null, 'Cascadia', 'US-Cascadia'], //      unknown name: CC-Name as given
    [null, 'CA', 'California', null], //             no country, no subdivision
    ['US', null, null, null],
  ];
  for (const [country, code, name, want] of cases) assert.equal(recordSubdivision(country, code, name), want, `${country} ${code} ${name}`);
});

test('parseSubdivisionKey: accepted spellings', () => {
  const cases: [string, ReturnType<typeof parseSubdivisionKey>['kind'], string][] = [
    ['US-CA', 'code', 'US-CA'],
    ['us-ca', 'code', 'US-CA'],
    ['US-California', 'code', 'US-CA'],
    ['California', 'code', 'US-CA'],
    ['  california  ', 'code', 'US-CA'],
    ['DE-Hesse', 'code', 'DE-HE'],
    ['BR-São Paulo', 'code', 'BR-SP'],
    ['JP-13', 'code', 'JP-13'],
    ['IN-CT', 'code', 'IN-CG'],
    ['IN-Goa', 'code', 'IN-GA'], //                  a three-letter name, not a code
    ['Al-Qassim', 'code', 'SA-05'], //               looks like AL-…, is a Saudi province's name
    ['US-Cascadia', 'name', 'US-cascadia'],
  ];
  for (const [key, kind, want] of cases) {
    const got = parseSubdivisionKey(key);
    assert.equal(got.kind, kind, key);
    assert.equal(got.kind === 'code' ? got.code : got.key, want, key);
  }
});

test('parseSubdivisionKey: nonsense is rejected with a reason', () => {
  const bad: [string, RegExp][] = [
    ['', /"" is not a subdivision/],
    ['XX-CA', /"XX" is not an ISO 3166-1 country code/],
    ['US-ZZ', /"ZZ" is not an ISO 3166-2 subdivision code of US/],
    ['US-C4', /"C4" is not an ISO 3166-2 subdivision code of US/],
    ['Californa', /not a subdivision name Meridian knows; write it as CC-Name/],
    ['CA', /not a subdivision name Meridian knows/],
    ['Limburg', /names subdivisions of several countries/],
  ];
  for (const [key, want] of bad) assert.throws(() => parseSubdivisionKey(key), want, key);
});
