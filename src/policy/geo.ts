/**
 * geo: ordered region lists chosen by where the client is: subdivision (`US-CA`), then country
 * (`DE`), then continent (`EU`), then `default`. Like gdnsd's geoip map, the most specific match
 * wins. ECS scope: the prefix of the geo database network that decided.
 *
 * Subdivisions are ISO 3166-2 codes on both sides: the geo layer turns what a database gives (a
 * code, or a name such as `California`) into `US-CA`, and a rule key written as a code, `CC-Name`
 * or a bare name becomes the same code here (src/geo/subdivisions.ts). A `CC-Name` no table knows
 * is kept as a name and matched against the database's name, folded.
 * @module
 */
import { nameKey, parseSubdivisionKey, type SubdivisionKey } from '../geo/subdivisions.js';
import { asRecord, attempt, candidatesFromTiers, ConfigPathError, ConfigProblems, parseTierList, rejectUnknownKeys, type TierList } from './lists.js';
import type { ParseNotes, PolicyDefinition } from './types.js';

export interface GeoConfig {
  /** By canonical ISO 3166-2 code (`US-CA`). */
  subdivisions: Map<string, TierList>;
  /** By `CC-folded name`, for regions the subdivision table does not know (`US-cascadia`). */
  subdivisionNames: Map<string, TierList>;
  countries: Map<string, TierList>;
  continents: Map<string, TierList>;
  default: TierList | null;
}

const CONTINENTS = ['AF', 'AN', 'AS', 'EU', 'NA', 'OC', 'SA'];

/** A map of tier lists by key; every bad key and list is reported, each at its key. */
function parseMap(json: unknown, regionIds: string[], where: string, keyCheck: (k: string) => string | null): Map<string, TierList> {
  const out = new Map<string, TierList>();
  const problems: ConfigPathError[] = [];
  const path = where.split('.');
  for (const [k, v] of Object.entries(asRecord(json, where))) {
    attempt(problems, [...path, k], () => {
      const problem = keyCheck(k);
      if (problem) throw new Error(`${where}: ${problem}`);
      out.set(k.toUpperCase(), parseTierList(v, regionIds, `${where}.${k}`));
    });
  }
  if (problems.length) throw new ConfigProblems(problems);
  return out;
}

/** `geo.subdivisions`: each key in any accepted spelling -> its code (or folded name); errors point at the key. */
function parseSubdivisions(json: unknown, regionIds: string[], notes: ParseNotes | undefined): Pick<GeoConfig, 'subdivisions' | 'subdivisionNames'> {
  const byCode = new Map<string, TierList>();
  const byName = new Map<string, TierList>();
  const written = new Map<string, string>(); // match key -> the key as written, to report two spellings of one place
  for (const [k, v] of Object.entries(asRecord(json, 'geo.subdivisions'))) {
    const where = `geo.subdivisions.${k}`;
    const at = ['geo', 'subdivisions', k];
    let parsed: SubdivisionKey;
    try {
      parsed = parseSubdivisionKey(k);
    } catch (err) {
      throw new ConfigPathError(at, `${where}: ${(err as Error).message}`);
    }
    const match = parsed.kind === 'code' ? parsed.code : parsed.key;
    const twin = written.get(match);
    if (twin !== undefined) throw new ConfigPathError(at, `${where}: the same subdivision as "${twin}"${parsed.kind === 'code' ? ` (${parsed.code})` : ''}`);
    written.set(match, k);
    (parsed.kind === 'code' ? byCode : byName).set(match, parseTierList(v, regionIds, where));
    if (parsed.kind === 'name') notes?.warnings.push({ path: at, reason: `${where}: ${parsed.warning}` });
    notes?.subdivisions.push(parsed.kind === 'code' ? parsed.code : k.trim());
  }
  return { subdivisions: byCode, subdivisionNames: byName };
}

export const geo: PolicyDefinition<GeoConfig> = {
  name: 'geo',
  phase: 'locate',
  needsGeo: true,
  parseConfig(json, regionIds, notes) {
    const o = asRecord(json, 'geo');
    rejectUnknownKeys(o, ['subdivisions', 'countries', 'continents', 'default'], 'geo');
    // Each part is checked even when another is wrong, so every problem is reported at once.
    const problems: ConfigPathError[] = [];
    const subs = attempt(problems, ['geo', 'subdivisions'], () => parseSubdivisions(o.subdivisions, regionIds, notes));
    const countries = attempt(problems, ['geo', 'countries'], () =>
      parseMap(o.countries, regionIds, 'geo.countries', (k) => (/^[A-Za-z]{2}$/.test(k) ? null : `"${k}" is not an ISO 3166-1 alpha-2 code`)),
    );
    const continents = attempt(problems, ['geo', 'continents'], () =>
      parseMap(o.continents, regionIds, 'geo.continents', (k) => (CONTINENTS.includes(k.toUpperCase()) ? null : `"${k}" is not a continent code (${CONTINENTS.join(', ')})`)),
    );
    const dflt = attempt(problems, ['geo', 'default'], () => (o.default === undefined ? null : parseTierList(o.default, regionIds, 'geo.default')));
    if (problems.length) throw new ConfigProblems(problems);
    return { ...subs!, countries: countries!, continents: continents!, default: dflt ?? null };
  },
  build(cfg) {
    return (state, ctx) => {
      const g = ctx.geo;
      let list: TierList | undefined;
      let matched = 'default';
      if (g) {
        // The geo layer gives ISO 3166-2 (`US-CA`), or `CC-Name` for a region its table lacks.
        const sub = g.subdivision;
        if (sub && ((list = cfg.subdivisions.get(sub)) || (cfg.subdivisionNames.size > 0 && (list = cfg.subdivisionNames.get(nameKey(sub)))))) {
          matched = `subdivision ${sub}`;
        } else if (g.country && (list = cfg.countries.get(g.country.toUpperCase()))) matched = `country ${g.country}`;
        else if (g.continent && (list = cfg.continents.get(g.continent.toUpperCase()))) matched = `continent ${g.continent}`;
      }
      list ??= cfg.default ?? undefined;
      const candidates = list ? candidatesFromTiers(list, state.candidates) : state.candidates;
      ctx.trace?.push(`geo: matched ${list ? matched : "nothing (no default list): the service's regions, one tier"} -> ${candidates.map((c) => `${c.region.id}@${c.tier}`).join(' ')}`);
      return { ...state, candidates, scope: Math.max(state.scope, ctx.geoPrefix) };
    };
  },
};
