/**
 * failover: an ordered list; the first healthy region wins (the health step removes the others).
 * The answer does not depend on the client, so the ECS scope stays as it is (0 on its own).
 * @module
 */
import { asRecord, candidatesFromTiers, parseTierList, rejectUnknownKeys, type TierList } from './lists.js';
import type { PolicyDefinition } from './types.js';

export interface FailoverConfig {
  order: TierList;
}

export const failover: PolicyDefinition<FailoverConfig> = {
  name: 'failover',
  phase: 'locate',
  needsGeo: false,
  parseConfig(json, regionIds) {
    const o = Array.isArray(json) ? { order: json } : asRecord(json, 'failover');
    rejectUnknownKeys(o, ['order'], 'failover');
    return { order: parseTierList(o.order, regionIds, 'failover.order') };
  },
  build(cfg) {
    return (state, ctx) => {
      const candidates = candidatesFromTiers(cfg.order, state.candidates);
      ctx.trace?.push(`failover: order ${candidates.map((c) => `${c.region.id}@${c.tier}`).join(' ')}`);
      return { ...state, candidates };
    };
  },
};
