/**
 * What the geo layer tells the policy chain about a client address.
 * @module
 */

/** Continent codes as MaxMind uses them (and GeoIP2's `continent.code`). */
export type Continent = 'AF' | 'AN' | 'AS' | 'EU' | 'NA' | 'OC' | 'SA';

export interface GeoResult {
  /** AF, AN, AS, EU, NA, OC or SA; from the database, else from the country table. */
  continent: string | null;
  /** ISO 3166-1 alpha-2, upper case. */
  country: string | null;
  /**
   * ISO 3166-2 (`US-CA`), from the database's code (GeoIP2) or its region name (DB-IP, flat
   * `@ip-location-db` files: `California` -> `US-CA`); `CC-Name` with the database's own name when
   * no known subdivision of the country has that name (src/geo/subdivisions.ts).
   */
  subdivision: string | null;
  /** Degrees; the country's centre when the database has only a country. */
  lat: number | null;
  lon: number | null;
  /**
   * Prefix length of the database network that matched, in bits of the query's own family
   * (IPv4 addresses: 0-32 even when the database is an IPv6 tree). This is the ECS scope.
   */
  prefixLength: number;
  /** CIDR text of that network. */
  network: string;
}

/** The per-record part of a GeoResult: shared by every address that lands on the same record. */
export type Location = Omit<GeoResult, 'prefixLength' | 'network'>;
