/**
 * proximity: regions ordered by great-circle distance from the client's geo location, each
 * distance scaled by the region's bias like Route 53 geoproximity: bias +50 makes a region look
 * half as far (it attracts more clients), -50 makes it look twice as far... precisely,
 * effective = distance × (1 − bias/100) for bias ≥ 0 and distance / (1 + bias/100) for bias < 0.
 * Regions at the same effective distance (rounded to the kilometre) form one tier, so co-located
 * regions share by weight under weighted or sticky. ECS scope: the geo network's prefix. Without a
 * location the candidates are left as they are (all one tier, as without a locate step).
 * @module
 */
import { asRecord, rejectUnknownKeys } from './lists.js';
import type { PolicyDefinition } from './types.js';

export interface ProximityConfig {
  bias: Map<string, number>;
}

const EARTH_RADIUS_KM = 6371.0088;
const RAD = Math.PI / 180;

/** Haversine distance in km. */
export function greatCircleKm(lat1: number, lon1: number, lat2: number, lon2: number): number {
  const dLat = (lat2 - lat1) * RAD;
  const dLon = (lon2 - lon1) * RAD;
  const a = Math.sin(dLat / 2) ** 2 + Math.cos(lat1 * RAD) * Math.cos(lat2 * RAD) * Math.sin(dLon / 2) ** 2;
  return 2 * EARTH_RADIUS_KM * Math.asin(Math.min(1, Math.sqrt(a)));
}

export function biased(distanceKm: number, bias: number): number {
  return bias >= 0 ? distanceKm * (1 - bias / 100) : distanceKm / (1 + bias / 100);
}

export const proximity: PolicyDefinition<ProximityConfig> = {
  name: 'proximity',
  phase: 'locate',
  needsGeo: true,
  parseConfig(json, regionIds) {
    const o = asRecord(json, 'proximity');
    rejectUnknownKeys(o, ['bias'], 'proximity');
    const bias = new Map<string, number>();
    for (const [id, v] of Object.entries(asRecord(o.bias, 'proximity.bias'))) {
      if (!regionIds.includes(id)) throw new Error(`proximity.bias: unknown region "${id}"`);
      if (typeof v !== 'number' || !Number.isInteger(v) || v < -99 || v > 99) throw new Error(`proximity.bias.${id} must be an integer from -99 to 99`);
      bias.set(id, v);
    }
    return { bias };
  },
  build(cfg) {
    return (state, ctx) => {
      const g = ctx.geo;
      if (!g || g.lat === null || g.lon === null) {
        ctx.trace?.push('proximity: client location unknown -> service regions as they are (one tier)');
        return { ...state, scope: Math.max(state.scope, ctx.geoPrefix) };
      }
      const scored = state.candidates.map((c) => {
        const km = greatCircleKm(g.lat!, g.lon!, c.region.lat, c.region.lon);
        const eff = biased(km, cfg.bias.get(c.region.id) ?? 0);
        return { c, km, eff, tieKm: Math.round(eff) };
      });
      // Regions at the same effective distance (to the kilometre: two regions of one site) are one
      // tier and share by weight; the stable sort keeps service order inside a tier.
      scored.sort((a, b) => a.tieKm - b.tieKm);
      const candidates = scored.map((s) => ({ region: s.c.region, tier: 0 }));
      for (let i = 1; i < scored.length; i++) candidates[i]!.tier = candidates[i - 1]!.tier + (scored[i]!.tieKm === scored[i - 1]!.tieKm ? 0 : 1);
      ctx.trace?.push(
        `proximity: from ${g.lat.toFixed(2)},${g.lon.toFixed(2)}: ` +
          scored.map((s, i) => `${s.c.region.id}@${candidates[i]!.tier} ${Math.round(s.km)} km${s.eff !== s.km ? ` (biased ${Math.round(s.eff)})` : ''}`).join(', '),
      );
      return { ...state, candidates, scope: Math.max(state.scope, ctx.geoPrefix) };
    };
  },
};
