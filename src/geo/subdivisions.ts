/**
 * ISO 3166-2 subdivisions: the one spelling Meridian uses for them (`US-CA`), and the way there
 * from what databases and configs write.
 *
 * Databases disagree: GeoIP2 files give the code's suffix (`subdivisions[0].iso_code: "CA"`),
 * DB-IP's GeoIP2-format files and the flat `@ip-location-db` city files give only an English name
 * (`names.en` / `state1`: `"California"`). Both become `US-CA` here, so a rule written as a code
 * matches every database, and a rule written as a name does too.
 *
 * The table: Unicode CLDR's English subdivision names (`cldr-subdivisions-full`, Unicode-3.0),
 * whose keys are ISO 3166-2 codes (`usca`) and whose names are the English exonyms geolocation
 * databases use (`Hesse`, `North Holland`; ISO's own list has `Hessen`, `Noord-Holland`). Names are
 * compared folded: case, diacritics and punctuation ignored (`Sao Paulo` = `São Paulo`). Where
 * ISO re-coded a subdivision and CLDR kept both codes under one name (IN-CT and IN-CG,
 * Chhattisgarh), the codes are aliases of one subdivision: the first in code order stands for both,
 * preferring codes CLDR does not mark deprecated (†).
 *
 * The JSON (160 KB) is parsed once, on first use.
 * @module
 */
import { createRequire } from 'node:module';
import { countryInfo } from './countries.js';

interface Table {
  /** Every known code -> the code that stands for its subdivision (itself unless an alias). */
  canonical: Map<string, string>;
  /** `US:california` -> `US-CA`. */
  byName: Map<string, string>;
  /** `california` -> the canonical codes of every country's subdivision of that name. */
  bare: Map<string, string[]>;
}

/** Case, diacritics and punctuation ignored: `São Paulo`, `SAO-PAULO` and `sao paulo` are one name. */
export function foldName(name: string): string {
  return name
    .normalize('NFKD')
    .replace(/\p{M}/gu, '')
    .toLowerCase()
    .replace(/[^\p{L}\p{N}]+/gu, ' ')
    .trim();
}

/** CLDR marks some names with footnote digits (`Île-de-France²`) or a dagger for deprecated codes. */
const MARKS = /[\u00b2\u00b3\u00b9\u2070-\u2079\u2020]/g;

let table: Table | undefined;

function load(): Table {
  const json = createRequire(import.meta.url)('cldr-subdivisions-full/subdivisions/en/en.json') as {
    subdivisions: { localeDisplayNames: { subdivisions: Record<string, string> } };
  };
  const names = json.subdivisions.localeDisplayNames.subdivisions;
  const groups = new Map<string, { code: string; deprecated: boolean }[]>(); // `US:california` -> codes
  for (const [key, raw] of Object.entries(names)) {
    if (!/^[a-z]{2}[a-z0-9]{1,3}$/.test(key)) continue;
    const country = key.slice(0, 2).toUpperCase();
    const code = `${country}-${key.slice(2).toUpperCase()}`;
    const folded = foldName(raw.replace(MARKS, ''));
    if (folded === '') continue;
    const k = `${country}:${folded}`;
    if (!groups.has(k)) groups.set(k, []);
    groups.get(k)!.push({ code, deprecated: raw.includes('\u2020') });
  }
  const t: Table = { canonical: new Map(), byName: new Map(), bare: new Map() };
  for (const [k, codes] of groups) {
    codes.sort((a, b) => Number(a.deprecated) - Number(b.deprecated) || (a.code < b.code ? -1 : 1));
    const first = codes[0]!.code;
    for (const c of codes) t.canonical.set(c.code, first);
    t.byName.set(k, first);
    const bare = k.slice(3);
    if (!t.bare.has(bare)) t.bare.set(bare, []);
    t.bare.get(bare)!.push(first);
  }
  return t;
}

const tbl = (): Table => (table ??= load());

/** The canonical code for a known ISO 3166-2 code (any case), else null. */
export function knownSubdivision(code: string): string | null {
  return tbl().canonical.get(code.toUpperCase()) ?? null;
}

/** The canonical code of `country`'s subdivision called `name` (folded comparison), else null. */
export function subdivisionByName(country: string, name: string): string | null {
  return tbl().byName.get(`${country}:${foldName(name)}`) ?? null;
}

/** Canonical codes of every subdivision called `name`, in any country. */
export function subdivisionsNamed(name: string): string[] {
  return tbl().bare.get(foldName(name)) ?? [];
}

/** An ISO 3166-2 suffix is one to three letters or digits. */
const SUFFIX = /^[A-Za-z0-9]{1,3}$/;

/**
 * The subdivision a database record names, in Meridian's spelling: the canonical ISO 3166-2 code
 * when the code or the name is known, else `CC-Name` with the database's own name (a region that
 * the table does not know can still be matched by a rule written the same way). Null without a
 * country: a subdivision means nothing without it.
 */
export function recordSubdivision(country: string | null, code: string | null, name: string | null): string | null {
  if (country === null || (code === null && name === null)) return null;
  if (code !== null && SUFFIX.test(code)) {
    const known = knownSubdivision(`${country}-${code}`);
    if (known) return known;
  }
  if (name !== null) {
    // Flat files are meant to hold names, but a code in their name field is still a code.
    if (SUFFIX.test(name)) {
      const known = knownSubdivision(`${country}-${name}`);
      if (known) return known;
    }
    return subdivisionByName(country, name) ?? `${country}-${name}`;
  }
  return `${country}-${code!.toUpperCase()}`;
}

/** How a config key is matched: an ISO code, or (for a region the table does not know) a name. */
export type SubdivisionKey = { kind: 'code'; code: string } | { kind: 'name'; key: string; warning: string };

/** The match key of a `CC-Name` that is not in the table; `recordSubdivision` output goes through it too. */
export function nameKey(subdivision: string): string {
  return `${subdivision.slice(0, 2).toUpperCase()}-${foldName(subdivision.slice(3))}`;
}

/**
 * A `geo.subdivisions` key as the operator wrote it -> what it matches. Accepted: an ISO 3166-2
 * code (`US-CA`, any case); `CC-Name` (`US-California`, `BR-Sao Paulo`); a bare name when only one
 * country has a subdivision of that name (`California`; `Limburg` is Belgian and Dutch). A
 * `CC-Name` the table does not know is accepted with a warning, since a database may name a region
 * the table lacks. Throws Error(reason) for anything else.
 */
export function parseSubdivisionKey(text: string): SubdivisionKey {
  const key = text.trim();
  if (key === '') throw new Error('"" is not a subdivision: write an ISO 3166-2 code such as US-CA, or a name');
  const m = /^([A-Za-z]{2})-(.+)$/.exec(key);
  if (m) {
    const country = m[1]!.toUpperCase();
    const rest = m[2]!.trim();
    const code = (SUFFIX.test(rest) && knownSubdivision(`${country}-${rest}`)) || subdivisionByName(country, rest);
    if (code) return { kind: 'code', code };
  }
  const named = subdivisionsNamed(key);
  if (named.length === 1) return { kind: 'code', code: named[0]! };
  if (named.length > 1) throw new Error(`"${key}" names subdivisions of several countries (${named.join(', ')}): write one of those codes`);
  if (!m) throw new Error(`"${key}" is not a subdivision name Meridian knows; write it as CC-Name (US-California) or as an ISO 3166-2 code (US-CA)`);
  const country = m[1]!.toUpperCase();
  const rest = m[2]!.trim();
  if (!countryInfo(country)) throw new Error(`"${m[1]}" is not an ISO 3166-1 country code (write US-CA, or a name)`);
  if (SUFFIX.test(rest)) throw new Error(`"${rest}" is not an ISO 3166-2 subdivision code of ${country}`);
  return {
    kind: 'name',
    key: nameKey(`${country}-${rest}`),
    warning: `"${rest}" is not a subdivision of ${country} that Meridian knows (CLDR names); the rule matches only a database that names the region "${rest}"`,
  };
}
