/**
 * weighted: shares by capacity weight. The client's subnet hash picks a point on the cumulative
 * weight line, so each subnet keeps its region while weights stay the same and the shares over
 * many subnets follow the weights. A weight change shifts the boundaries, which can move more
 * subnets than the minimum; `sticky` avoids that at the cost of one hash per region.
 * Per-query randomness is not offered: two clients in one announced ECS scope must get the same
 * answer, or resolver caches would pin an arbitrary one.
 * @module
 */
import { applyOrder, competition, parseBalanceConfig, type BalanceConfig } from './balance.js';
import { fmix32, subnetHash, unitInterval } from './hash.js';
import type { Candidate, PolicyDefinition } from './types.js';

/**
 * Orders `members` by successive draws on the cumulative weight line, each among the members not
 * yet drawn (a weighted shuffle without replacement, NS1's weighted_shuffle), so that every answer
 * slot of multivalue follows the weights, not only the first. Draw k uses the subnet hash mixed with
 * k; draw 0 uses the hash itself, which keeps each subnet's first region. Pure in (members, hash).
 */
export function weightedShuffle(members: Candidate[], weights: number[], hash: number): Candidate[] {
  const left = members.map((c, i) => ({ c, w: weights[i]! }));
  const out: Candidate[] = [];
  for (let k = 0; left.length > 0; k++) {
    const total = left.reduce((n, m) => n + m.w, 0);
    const point = unitInterval(k === 0 ? hash : fmix32((hash + Math.imul(k, 0x9e3779b9)) >>> 0)) * total;
    let acc = 0;
    // A point past every bucket (rounding, or no weight left) takes the last member.
    let pick = left.length - 1;
    for (let i = 0; i < left.length; i++) {
      acc += left[i]!.w;
      if (point < acc) {
        pick = i;
        break;
      }
    }
    out.push(left.splice(pick, 1)[0]!.c);
  }
  return out;
}

export const weighted: PolicyDefinition<BalanceConfig> = {
  name: 'weighted',
  phase: 'balance',
  needsGeo: false,
  parseConfig: (json) => parseBalanceConfig(json, 'weighted'),
  build(cfg) {
    return (state, ctx) => {
      const comp = competition(state.candidates, ctx.health);
      if (!comp) return state;
      const prefix = ctx.client.family === 4 ? cfg.prefix4 : cfg.prefix6;
      const ordered = weightedShuffle(comp.members, comp.weights, subnetHash(ctx.client, prefix, ctx.salt));
      return applyOrder(state, ctx, cfg, comp, ordered, 'weighted');
    };
  },
};
