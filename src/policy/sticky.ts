/**
 * sticky: weighted rendezvous hashing (HRW) on the client subnet. Each region scores
 * -ln(u)/weight with u a hash of (subnet, region) in (0,1); the lowest score wins. A subnet keeps
 * its region while weights stay the same, and when one weight changes only the subnets that must
 * move to honour the new shares move (the minimum), unlike cumulative buckets.
 * @module
 */
import { applyOrder, competition, parseBalanceConfig, type BalanceConfig } from './balance.js';
import { fmix32, stringHash, subnetHash, unitInterval } from './hash.js';
import type { Candidate, PolicyDefinition } from './types.js';

const regionSalt = new Map<string, number>();
function saltOf(id: string): number {
  let s = regionSalt.get(id);
  if (s === undefined) regionSalt.set(id, (s = stringHash(id)));
  return s;
}

export const sticky: PolicyDefinition<BalanceConfig> = {
  name: 'sticky',
  phase: 'balance',
  needsGeo: false,
  parseConfig: (json) => parseBalanceConfig(json, 'sticky'),
  build(cfg) {
    return (state, ctx) => {
      const comp = competition(state.candidates, ctx.health);
      if (!comp) return state;
      const prefix = ctx.client.family === 4 ? cfg.prefix4 : cfg.prefix6;
      const h = subnetHash(ctx.client, prefix, ctx.salt);
      const scored: { c: Candidate; score: number }[] = comp.members.map((c, i) => ({
        c,
        score: -Math.log(unitInterval(fmix32(h ^ saltOf(c.region.id)))) / comp.weights[i]!,
      }));
      scored.sort((a, b) => a.score - b.score);
      return applyOrder(
        state,
        ctx,
        cfg,
        comp,
        scored.map((s) => s.c),
        'sticky',
      );
    };
  },
};
