/**
 * The record adapter (both shapes, fill-ins from the country table, bad values) and the country
 * table itself (region -> continent mapping, centres).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { normalize } from './adapter.js';
import { CONTINENTS, continentOf, countryCodes, countryInfo } from './countries.js';
import type { Location } from './types.js';

const L = (continent: string | null, country: string | null, subdivision: string | null, lat: number | null, lon: number | null): Location => ({
  continent,
  country,
  subdivision,
  lat,
  lon,
});

const CASES: Array<[string, unknown, Location | null]> = [
  [
    'GeoIP2 City',
    { continent: { code: 'EU' }, country: { iso_code: 'DE' }, subdivisions: [{ iso_code: 'HE' }, { iso_code: 'DA' }], location: { latitude: 50.1109, longitude: 8.6821 } },
    L('EU', 'DE', 'DE-HE', 50.1109, 8.6821),
  ],
  ['GeoIP2 Country: centre from the table', { continent: { code: 'EU' }, country: { iso_code: 'FR' } }, L('EU', 'FR', null, 46, 2)],
  ['GeoIP2 without continent: filled', { country: { iso_code: 'BR' } }, L('SA', 'BR', null, -10, -55)],
  ['GeoIP2 lower-case codes', { continent: { code: 'na' }, country: { iso_code: 'us' }, subdivisions: [{ iso_code: 'CA' }] }, L('NA', 'US', 'US-CA', 38, -97)],
  ['registered_country is not a location', { continent: { code: 'OC' }, registered_country: { iso_code: 'AU' } }, L('OC', null, null, null, null)],
  ['a subdivision without its country means nothing', { location: { latitude: 1, longitude: 2 }, subdivisions: [{ iso_code: 'HE' }] }, L(null, null, null, 1, 2)],
  ['coordinates of the record win over the centre', { country: { iso_code: 'US' }, location: { latitude: 37.751, longitude: -97.822 } }, L('NA', 'US', null, 37.751, -97.822)],
  ['latitude out of range: the centre instead', { country: { iso_code: 'JP' }, location: { latitude: 91, longitude: 10 } }, L('AS', 'JP', null, 36, 138)],
  ['latitude without longitude: the centre instead', { country: { iso_code: 'JP' }, location: { latitude: 35 } }, L('AS', 'JP', null, 36, 138)],
  ['flat country package', { country_code: 'US' }, L('NA', 'US', null, 38, -97)],
  [
    'flat city package (float32 coordinates, "" for unknown)',
    { city: 'Frankfurt am Main', country_code: 'DE', latitude: Math.fround(50.1109), longitude: Math.fround(8.6821), postcode: '', state1: 'Hesse', state2: '', timezone: 'Europe/Berlin' },
    L('EU', 'DE', 'DE-HE', 50.1109, 8.6821),
  ],
  ['flat state1 without its diacritics', { country_code: 'BR', state1: 'Sao Paulo' }, L('SA', 'BR', 'BR-SP', -10, -55)],
  ['flat state1 the table does not know: CC-Name, as given', { country_code: 'US', state1: 'Cascadia' }, L('NA', 'US', 'US-Cascadia', 38, -97)],
  ['flat state1 of another country: not mapped across borders', { country_code: 'CA', state1: 'California' }, L('NA', 'CA', 'CA-California', 60, -95)],
  ['DB-IP GeoIP2 shape: names only', { country: { iso_code: 'US' }, subdivisions: [{ names: { en: 'California', de: 'Kalifornien' } }] }, L('NA', 'US', 'US-CA', 38, -97)],
  ['GeoIP2 code wins over the name', { country: { iso_code: 'US' }, subdivisions: [{ iso_code: 'NV', names: { en: 'California' } }] }, L('NA', 'US', 'US-NV', 38, -97)],
  ['GeoIP2 re-coded subdivision: both codes give one', { country: { iso_code: 'IN' }, subdivisions: [{ iso_code: 'CT' }] }, L('AS', 'IN', 'IN-CG', 20, 77)],
  ['GeoIP2 code the table lacks, no name: kept', { country: { iso_code: 'US' }, subdivisions: [{ iso_code: 'ZZ' }] }, L('NA', 'US', 'US-ZZ', 38, -97)],
  ['flat city with nothing but the country', { city: '', country_code: 'SG', latitude: Math.fround(1.3521), longitude: Math.fround(103.8198), state1: '' }, L('AS', 'SG', null, 1.3521, 103.8198)],
  ['flat state1 that is a code', { country_code: 'US', state1: 'CA' }, L('NA', 'US', 'US-CA', 38, -97)],
  ['flat coordinates as text', { country_code: 'PT', latitude: '38.7223', longitude: '-9.1393' }, L('EU', 'PT', null, 38.7223, -9.1393)],
  ['flat continent_code is used when present', { country_code: 'TR', continent_code: 'EU' }, L('EU', 'TR', null, 39, 35)],
  ['withdrawn code still in RIR data (AN)', { country_code: 'AN' }, L('NA', 'AN', null, 12.2, -69)],
  ['unknown two-letter code: kept, nothing filled', { country_code: 'ZZ' }, L(null, 'ZZ', null, null, null)],
  ['bad continent code is dropped', { continent: { code: 'XX' }, country: { iso_code: 'DE' } }, L('EU', 'DE', null, 51, 9)],
  ['three-letter country code is not a country', { country_code: 'USA' }, null],
  ['empty strings only', { country_code: '', state1: '', city: '' }, null],
  ['an ASN record', { autonomous_system_number: 13335, autonomous_system_organization: 'X' }, null],
  ['empty map', {}, null],
  ['not a map', 'DE', null],
  ['an array', [{ country_code: 'DE' }], null],
  ['null', null, null],
];

test('normalize: both record shapes, fill-ins and bad values', () => {
  for (const [name, raw, want] of CASES) assert.deepEqual(normalize(raw), want, name);
});

test('continentOf maps world-countries regions onto MaxMind continent codes', () => {
  const cases: Array<[string, string, string | null]> = [
    ['Americas', 'South America', 'SA'],
    ['Americas', 'North America', 'NA'],
    ['Americas', 'Central America', 'NA'],
    ['Americas', 'Caribbean', 'NA'],
    ['Antarctic', '', 'AN'],
    ['Europe', 'Eastern Europe', 'EU'],
    ['Asia', 'Western Asia', 'AS'],
    ['Africa', 'Northern Africa', 'AF'],
    ['Oceania', 'Polynesia', 'OC'],
    ['Atlantis', '', null],
  ];
  for (const [region, sub, want] of cases) assert.equal(continentOf(region, sub), want, `${region}/${sub}`);
});

test('the country table covers every ISO country, every continent, with sane centres', () => {
  const codes = countryCodes();
  assert.ok(codes.length >= 250, `${codes.length} countries`);
  const seen = new Set(codes.map((c) => countryInfo(c)!.continent));
  assert.deepEqual([...seen].sort(), [...CONTINENTS]);
  for (const c of codes) {
    const i = countryInfo(c)!;
    assert.ok(Math.abs(i.lat) <= 90 && Math.abs(i.lon) <= 180, c);
  }
  // Spot checks, including the ones where sources disagree (MaxMind puts Russia in Europe).
  assert.deepEqual(countryInfo('US'), { continent: 'NA', lat: 38, lon: -97 });
  assert.equal(countryInfo('RU')?.continent, 'EU');
  assert.equal(countryInfo('MX')?.continent, 'NA');
  assert.equal(countryInfo('AQ')?.continent, 'AN');
  assert.equal(countryInfo('NZ')?.continent, 'OC');
  assert.equal(countryInfo('us'), undefined, 'codes are upper case');
});
