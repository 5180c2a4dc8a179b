/**
 * Generates the two test databases beside this file from one table of synthetic networks:
 *   test-city.mmdb  GeoIP2-City shape (continent/country/subdivisions/location maps), IPv6 tree, 24-bit records
 *   test-flat.mmdb  flat @ip-location-db shape (country_code, state1, latitude …), IPv6 tree, 28-bit records
 * Run: `node --import tsx geodb/make-fixture.ts`. The output is byte-for-byte reproducible (fixed
 * build epoch), and a test checks that the committed files equal a fresh build, so the table here,
 * the files and geodb/README.md cannot drift apart unnoticed.
 *
 * All of it is made up for tests: the networks are assigned to places to exercise nesting, prefix
 * lengths and both address families, not to say where those addresses really are.
 * @module
 */
import { writeFileSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { mmdb, writeMmdb, type MmdbEntry, type MmdbMap } from './mmdb-writer.js';

export interface Place {
  continent: string;
  country: string;
  /**
   * ISO 3166-2 suffix (GeoIP2 `iso_code`; '' for a region without one) and the region's English
   * name (GeoIP2 `names.en`, flat `state1`).
   */
  sub?: [code: string, name: string];
  city?: string;
  at?: [lat: number, lon: number];
  tz?: string;
}

const CONTINENT_NAMES: Record<string, string> = { AF: 'Africa', AS: 'Asia', EU: 'Europe', NA: 'North America', OC: 'Oceania', SA: 'South America' };

export const PLACES = {
  paris: { continent: 'EU', country: 'FR', sub: ['IDF', 'Île-de-France'], city: 'Paris', at: [48.8566, 2.3522], tz: 'Europe/Paris' },
  frankfurt: { continent: 'EU', country: 'DE', sub: ['HE', 'Hesse'], city: 'Frankfurt am Main', at: [50.1109, 8.6821], tz: 'Europe/Berlin' },
  amsterdam: { continent: 'EU', country: 'NL', sub: ['NH', 'North Holland'], city: 'Amsterdam', at: [52.3676, 4.9041], tz: 'Europe/Amsterdam' },
  london: { continent: 'EU', country: 'GB', sub: ['ENG', 'England'], city: 'London', at: [51.5074, -0.1278], tz: 'Europe/London' },
  ashburn: { continent: 'NA', country: 'US', sub: ['VA', 'Virginia'], city: 'Ashburn', at: [39.0438, -77.4874], tz: 'America/New_York' },
  sanJose: { continent: 'NA', country: 'US', sub: ['CA', 'California'], city: 'San Jose', at: [37.3382, -121.8863], tz: 'America/Los_Angeles' },
  toronto: { continent: 'NA', country: 'CA', sub: ['ON', 'Ontario'], city: 'Toronto', at: [43.6532, -79.3832], tz: 'America/Toronto' },
  tokyo: { continent: 'AS', country: 'JP', sub: ['13', 'Tokyo'], city: 'Tokyo', at: [35.6762, 139.6503], tz: 'Asia/Tokyo' },
  singapore: { continent: 'AS', country: 'SG', city: 'Singapore', at: [1.3521, 103.8198], tz: 'Asia/Singapore' },
  sydney: { continent: 'OC', country: 'AU', sub: ['NSW', 'New South Wales'], city: 'Sydney', at: [-33.8688, 151.2093], tz: 'Australia/Sydney' },
  saoPaulo: { continent: 'SA', country: 'BR', sub: ['SP', 'São Paulo'], city: 'São Paulo', at: [-23.5505, -46.6333], tz: 'America/Sao_Paulo' },
  johannesburg: { continent: 'AF', country: 'ZA', sub: ['GP', 'Gauteng'], city: 'Johannesburg', at: [-26.2041, 28.0473], tz: 'Africa/Johannesburg' },
  // Country-level records, as in a country database: no subdivision, no coordinates.
  germany: { continent: 'EU', country: 'DE' },
  netherlands: { continent: 'EU', country: 'NL' },
  // No continent in the record either: the reader fills it (and the centre) from the country table.
  unitedStates: { continent: '', country: 'US' },
  india: { continent: '', country: 'IN' },
} satisfies Record<string, Place>;

/** The networks, in no particular order (the writer's output does not depend on it). */
export const NETWORKS: ReadonlyArray<[network: string, place: keyof typeof PLACES]> = [
  ['2.0.0.0/8', 'paris'],
  ['2.16.0.0/16', 'frankfurt'], //          nested in 2.0.0.0/8
  ['2.16.32.0/20', 'amsterdam'], //         nested in 2.16.0.0/16
  ['2.16.32.128/25', 'london'], //          nested in 2.16.32.0/20
  ['81.2.69.0/24', 'london'],
  ['3.0.0.0/8', 'ashburn'],
  ['3.101.0.0/16', 'sanJose'], //           nested in 3.0.0.0/8
  ['24.48.0.0/20', 'toronto'],
  ['43.224.0.0/20', 'tokyo'],
  ['103.5.140.0/24', 'singapore'],
  ['13.54.0.0/16', 'sydney'],
  ['177.71.128.0/20', 'saoPaulo'],
  ['41.0.0.0/16', 'johannesburg'],
  ['192.0.2.0/24', 'germany'], //           TEST-NET-1
  ['192.0.2.53/32', 'netherlands'], //      nested host route
  ['198.51.100.0/24', 'unitedStates'], //   TEST-NET-2
  ['203.0.113.0/25', 'india'], //           TEST-NET-3, lower half only
  ['2001:db8::/32', 'paris'], //            IPv6 documentation prefix
  ['2001:db8:1::/48', 'frankfurt'], //      nested in the /32
  ['2001:db8:1:100::/56', 'amsterdam'], //  nested in the /48
  ['2600:1f18::/32', 'ashburn'],
  ['2600:1f1c::/32', 'sanJose'],
  ['2400:cb00::/32', 'tokyo'],
  ['2400:cb00:2048::/48', 'singapore'], //  nested in the /32
  ['2406:da1c::/32', 'sydney'],
  ['2804:14c::/32', 'saoPaulo'],
  ['2c0f:fb50::/32', 'johannesburg'],
];

const BUILD_EPOCH = 1_767_225_600; // 2026-01-01T00:00:00Z, fixed so that rebuilds are identical

/** Synthetic GeoNames-style ids: stable per name within one build, not real ones. */
type Ids = (name: string) => ReturnType<typeof mmdb.uint32>;
function idMaker(): Ids {
  const ids = new Map<string, number>();
  return (name) => {
    if (!ids.has(name)) ids.set(name, 1000 + ids.size);
    return mmdb.uint32(ids.get(name)!);
  };
}

/**
 * GeoIP2-City shape. `withCodes: false` leaves out `subdivisions[].iso_code`, as DB-IP's own
 * GeoIP2-format files do (they give the region's names only).
 */
function geoip2Record(p: Place, geonameId: Ids, withCodes = true): MmdbMap {
  const country = { geoname_id: geonameId(p.country), iso_code: p.country, names: { en: p.country } };
  const rec: MmdbMap = {};
  if (p.continent) rec.continent = { code: p.continent, geoname_id: geonameId(p.continent), names: { en: CONTINENT_NAMES[p.continent]! } };
  rec.country = country;
  rec.registered_country = country;
  if (p.sub) {
    const sub: MmdbMap = { geoname_id: geonameId(`${p.country}-${p.sub[0] || p.sub[1]}`) };
    if (withCodes && p.sub[0]) sub.iso_code = p.sub[0];
    sub.names = { en: p.sub[1] };
    rec.subdivisions = [sub];
  }
  if (p.city) rec.city = { geoname_id: geonameId(p.city), names: { en: p.city } };
  if (p.at) {
    rec.location = { accuracy_radius: mmdb.uint16(20), latitude: mmdb.double(p.at[0]), longitude: mmdb.double(p.at[1]), time_zone: p.tz ?? '' };
  }
  return rec;
}

/** The @ip-location-db city shape: every field present, "" when unknown, coordinates as float32. */
function flatRecord(p: Place): MmdbMap {
  if (!p.at) return { country_code: p.country }; // the country packages' shape
  return {
    city: p.city ?? '',
    country_code: p.country,
    latitude: mmdb.float(p.at[0]),
    longitude: mmdb.float(p.at[1]),
    postcode: '',
    state1: p.sub?.[1] ?? '',
    state2: '',
    timezone: p.tz ?? '',
  };
}

export function buildFixtures(): { city: Buffer; flat: Buffer } {
  const entries = (shape: (p: Place) => MmdbMap): MmdbEntry[] => NETWORKS.map(([network, place]) => ({ network, data: shape(PLACES[place]) }));
  const ids = idMaker();
  const city = writeMmdb(
    entries((p) => geoip2Record(p, ids)),
    {
      ipVersion: 6,
      recordSize: 24,
      databaseType: 'Meridian-Test-City',
      buildEpoch: BUILD_EPOCH,
      description: { en: 'Meridian synthetic test data, GeoIP2-City shape (geodb/make-fixture.ts)' },
    },
  );
  const flat = writeMmdb(entries(flatRecord), {
    ipVersion: 6,
    recordSize: 28,
    databaseType: 'Meridian-Test-Flat',
    buildEpoch: BUILD_EPOCH,
    description: { en: 'Meridian synthetic test data, @ip-location-db shape (geodb/make-fixture.ts)' },
  });
  return { city, flat };
}

/**
 * The record shapes of the databases Meridian reads:
 * - `geoip2`: MaxMind GeoIP2/GeoLite2-City (`subdivisions[].iso_code` and `names`);
 * - `geoip2-names`: DB-IP's own GeoIP2-format city files (`subdivisions[].names` only, no code);
 * - `flat`: the `@ip-location-db/*-city-mmdb` packages (`country_code`, `state1` as a name …);
 * - `country`: the `@ip-location-db/*-country-mmdb` packages (`{ country_code }` only), like the
 *   embedded default.
 */
export type DatabaseShape = 'geoip2' | 'geoip2-names' | 'flat' | 'country';

/** A database of `shape` over the given networks (for tests that need their own table). */
export function buildDatabase(shape: DatabaseShape, networks: ReadonlyArray<[network: string, place: Place]>): Buffer {
  const ids = idMaker();
  const record = (p: Place): MmdbMap => {
    if (shape === 'country') return { country_code: p.country };
    return shape === 'flat' ? flatRecord(p) : geoip2Record(p, ids, shape === 'geoip2');
  };
  return writeMmdb(
    networks.map(([network, place]) => ({ network, data: record(place) })),
    {
      ipVersion: 6,
      recordSize: shape === 'flat' || shape === 'country' ? 28 : 24,
      databaseType: `Meridian-Test-${shape}`,
      buildEpoch: BUILD_EPOCH,
      description: { en: `Meridian synthetic test data, ${shape} shape (geodb/make-fixture.ts)` },
    },
  );
}

export const FIXTURE_PATHS = {
  city: fileURLToPath(new URL('./test-city.mmdb', import.meta.url)),
  flat: fileURLToPath(new URL('./test-flat.mmdb', import.meta.url)),
};

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const { city, flat } = buildFixtures();
  writeFileSync(FIXTURE_PATHS.city, city);
  writeFileSync(FIXTURE_PATHS.flat, flat);
  console.log(`wrote ${FIXTURE_PATHS.city} (${city.length} bytes) and ${FIXTURE_PATHS.flat} (${flat.length} bytes)`);
}
