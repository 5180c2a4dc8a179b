/**
 * Country -> continent and centre, for databases that carry only a country (the embedded default)
 * or no continent (the flat @ip-location-db shape).
 *
 * Source: the `world-countries` npm package (mledoze/countries, ODbL-1.0). It is the maintained
 * package that has a coordinate per ISO country (`latlng`, an approximate centre); `countries-list`
 * (MIT) has continent codes but no coordinates, and `country-state-city` is GPL-3.0. Its regions
 * map onto MaxMind's continent codes: Americas splits on subregion (South America -> SA, the rest,
 * Central America and the Caribbean included, -> NA), Antarctic -> AN. Where sources disagree
 * (Russia), this gives EU, as MaxMind's own databases do.
 *
 * The 1.4 MB JSON is parsed once, on first use, and only the small table is kept.
 * @module
 */
import { createRequire } from 'node:module';
import type { Countries } from 'world-countries';
import type { Continent } from './types.js';

export interface CountryInfo {
  continent: Continent;
  lat: number;
  lon: number;
}

export const CONTINENTS: readonly Continent[] = ['AF', 'AN', 'AS', 'EU', 'NA', 'OC', 'SA'];

const REGION: Record<string, Continent> = { Africa: 'AF', Antarctic: 'AN', Asia: 'AS', Europe: 'EU', Oceania: 'OC' };

/** MaxMind continent code for a world-countries region/subregion, or null if it is not a known one. */
export function continentOf(region: string, subregion: string): Continent | null {
  if (region === 'Americas') return subregion === 'South America' ? 'SA' : 'NA';
  return REGION[region] ?? null;
}

/**
 * Codes that RIR data still uses but world-countries no longer lists: AN (Netherlands Antilles,
 * withdrawn from ISO 3166-1 in 2010) appears in the embedded database. Centre: Curaçao.
 */
const WITHDRAWN: Record<string, CountryInfo> = { AN: { continent: 'NA', lat: 12.2, lon: -69 } };

let table: Map<string, CountryInfo> | undefined;

function load(): Map<string, CountryInfo> {
  const countries = createRequire(import.meta.url)('world-countries') as Countries;
  const out = new Map<string, CountryInfo>(Object.entries(WITHDRAWN));
  for (const c of countries) {
    const continent = continentOf(c.region, c.subregion);
    const [lat, lon] = c.latlng;
    if (continent && Number.isFinite(lat) && Number.isFinite(lon)) out.set(c.cca2, { continent, lat, lon });
  }
  return out;
}

/** Continent and centre of an upper-case ISO 3166-1 alpha-2 code; undefined for unknown codes. */
export function countryInfo(iso2: string): CountryInfo | undefined {
  return (table ??= load()).get(iso2);
}

/** Every code in the table (tests and `meridian check` use it to validate geo rules). */
export function countryCodes(): string[] {
  return [...(table ??= load()).keys()];
}
