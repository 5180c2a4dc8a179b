/**
 * Normalises one raw database record into the location fields of a GeoResult. Two shapes exist:
 *
 * | field | GeoIP2 (MaxMind, DB-IP) | flat (@ip-location-db packages) |
 * |---|---|---|
 * | country | `country.iso_code` | `country_code` |
 * | continent | `continent.code` | none (from the country table) |
 * | subdivision | `subdivisions[0].iso_code`, else `.names.en` (DB-IP) | `state1`, a name (`Hesse`) |
 * | lat, lon | `location.latitude`, `location.longitude` | `latitude`, `longitude` (float32) |
 *
 * Subdivisions come out as ISO 3166-2 (`US-CA`, `DE-HE`) whichever the database gives, code or
 * name (subdivisions.ts); a name the table does not know stays a name, as `CC-Name`.
 * Flat city files write every field, with `""` for unknown ones, so empty strings count as absent.
 * `registered_country` (where the block's owner registered it) is not used as a location: for
 * anycast and satellite ranges it is the one thing GeoIP2 knows, and it is not where the client is.
 * Missing continent and coordinates are filled from the country table, so a country-only database
 * still gives a continent and the country's centre.
 * @module
 */
import { countryInfo } from './countries.js';
import { recordSubdivision } from './subdivisions.js';
import type { Location } from './types.js';

type Rec = Record<string, unknown>;

const isRec = (v: unknown): v is Rec => typeof v === 'object' && v !== null && !Array.isArray(v);

function str(v: unknown): string | null {
  if (typeof v !== 'string') return null;
  const s = v.trim();
  return s === '' ? null : s;
}

/**
 * A coordinate, rounded to 7 significant digits: flat databases store float32, which would show
 * 50.11090087890625 for 50.1109; the rounding moves a point by under a metre.
 */
function coord(v: unknown, limit: number): number | null {
  const n = typeof v === 'number' ? v : typeof v === 'string' && v.trim() !== '' ? Number(v) : NaN;
  return Number.isFinite(n) && Math.abs(n) <= limit ? Number(n.toPrecision(7)) : null;
}

const COUNTRY = /^[A-Z]{2}$/;
const CONTINENT = /^(AF|AN|AS|EU|NA|OC|SA)$/;

/** The location in a raw record, or null when it names neither a place nor coordinates. */
export function normalize(raw: unknown): Location | null {
  if (!isRec(raw)) return null;
  let country: string | null;
  let continent: string | null;
  let subCode: string | null = null;
  let subName: string | null = null;
  let lat: number | null;
  let lon: number | null;

  if (isRec(raw.country) || isRec(raw.continent) || isRec(raw.location) || Array.isArray(raw.subdivisions)) {
    country = isRec(raw.country) ? str(raw.country.iso_code) : null;
    continent = isRec(raw.continent) ? str(raw.continent.code) : null;
    const sub = Array.isArray(raw.subdivisions) ? (raw.subdivisions[0] as unknown) : undefined;
    if (isRec(sub)) {
      subCode = str(sub.iso_code);
      subName = isRec(sub.names) ? str(sub.names.en) : null;
    }
    const loc = isRec(raw.location) ? raw.location : {};
    lat = coord(loc.latitude, 90);
    lon = coord(loc.longitude, 180);
  } else {
    country = str(raw.country_code);
    continent = str(raw.continent_code);
    subName = str(raw.state1);
    lat = coord(raw.latitude, 90);
    lon = coord(raw.longitude, 180);
  }

  country = country === null ? null : country.toUpperCase();
  if (country !== null && !COUNTRY.test(country)) country = null;
  if (continent !== null && !CONTINENT.test(continent.toUpperCase())) continent = null;
  if (lat === null || lon === null) lat = lon = null;
  const subdivision = recordSubdivision(country, subCode, subName);

  if (country !== null) {
    const info = countryInfo(country);
    if (info) {
      continent ??= info.continent;
      if (lat === null) [lat, lon] = [info.lat, info.lon];
    }
  }
  if (country === null && continent === null && lat === null) return null;
  return { continent: continent?.toUpperCase() ?? null, country, subdivision, lat, lon };
}
