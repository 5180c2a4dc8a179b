/**
 * geo: ordered region lists chosen by where the client is: subdivision (`US-CA`), then country
 * (`DE`), then continent (`EU`), then `default`. Like gdnsd's geoip map, the most specific match
 * wins. ECS scope: the prefix of the geo database network that decided.
 * @module
 */
import { asRecord, candidatesFromTiers, parseTierList, rejectUnknownKeys, type TierList } from './lists.js';
import type { PolicyDefinition } from './types.js';

export interface GeoConfig {
  subdivisions: Map<string, TierList>;
  countries: Map<string, TierList>;
  continents: Map<string, TierList>;
  default: TierList | null;
}

const CONTINENTS = ['AF', 'AN', 'AS', 'EU', 'NA', 'OC', 'SA'];

function parseMap(json: unknown, regionIds: string[], where: string, keyCheck: (k: string) => string | null): Map<string, TierList> {
  const out = new Map<string, TierList>();
  for (const [k, v] of Object.entries(asRecord(json, where))) {
    const problem = keyCheck(k);
    if (problem) throw new Error(`${where}: ${problem}`);
    out.set(k.toUpperCase(), parseTierList(v, regionIds, `${where}.${k}`));
  }
  return out;
}

export const geo: PolicyDefinition<GeoConfig> = {
  name: 'geo',
  phase: 'locate',
  needsGeo: true,
  parseConfig(json, regionIds) {
    const o = asRecord(json, 'geo');
    rejectUnknownKeys(o, ['subdivisions', 'countries', 'continents', 'default'], 'geo');
    const cfg: GeoConfig = {
      subdivisions: parseMap(o.subdivisions, regionIds, 'geo.subdivisions', (k) =>
        /^[A-Za-z]{2}-[A-Za-z0-9]{1,3}$/.test(k) ? null : `"${k}" is not an ISO 3166-2 code like US-CA`,
      ),
      countries: parseMap(o.countries, regionIds, 'geo.countries', (k) => (/^[A-Za-z]{2}$/.test(k) ? null : `"${k}" is not an ISO 3166-1 alpha-2 code`)),
      continents: parseMap(o.continents, regionIds, 'geo.continents', (k) =>
        CONTINENTS.includes(k.toUpperCase()) ? null : `"${k}" is not a continent code (${CONTINENTS.join(', ')})`,
      ),
      default: o.default === undefined ? null : parseTierList(o.default, regionIds, 'geo.default'),
    };
    return cfg;
  },
  build(cfg) {
    return (state, ctx) => {
      const g = ctx.geo;
      let list: TierList | undefined;
      let matched = 'default';
      if (g) {
        // GeoIP2 data arrives as ISO 3166-2 (`US-CA`); a bare code (`CA`) is qualified by the country.
        const sub = g.subdivision ? (g.subdivision.includes('-') ? g.subdivision : g.country ? `${g.country}-${g.subdivision}` : null)?.toUpperCase() ?? null : null;
        if (sub && (list = cfg.subdivisions.get(sub))) matched = `subdivision ${sub}`;
        else if (g.country && (list = cfg.countries.get(g.country.toUpperCase()))) matched = `country ${g.country}`;
        else if (g.continent && (list = cfg.continents.get(g.continent.toUpperCase()))) matched = `continent ${g.continent}`;
      }
      list ??= cfg.default ?? undefined;
      const candidates = list ? candidatesFromTiers(list, state.candidates) : state.candidates;
      ctx.trace?.push(
        `geo: matched ${list ? matched : 'nothing (no default list): service order'} -> ${candidates.map((c) => `${c.region.id}@${c.tier}`).join(' ')}`,
      );
      return { ...state, candidates, scope: Math.max(state.scope, ctx.geoPrefix) };
    };
  },
};
