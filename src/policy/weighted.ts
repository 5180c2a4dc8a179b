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
import { subnetHash, unitInterval } from './hash.js';
import type { PolicyDefinition } from './types.js';

export const weighted: PolicyDefinition<BalanceConfig> = {
  name: 'weighted',
  phase: 'balance',
  needsGeo: false,
  parseConfig: (json) => parseBalanceConfig(json, 'weighted'),
  build(cfg) {
    return (state, ctx) => {
      const comp = competition(state.candidates, ctx.health);
      if (!comp) return state;
      const total = comp.weights.reduce((a, b) => a + b, 0);
      const prefix = ctx.client.family === 4 ? cfg.prefix4 : cfg.prefix6;
      const point = unitInterval(subnetHash(ctx.client, prefix, ctx.salt)) * total;
      let acc = 0;
      let winner = comp.members.length - 1;
      for (let i = 0; i < comp.members.length; i++) {
        acc += comp.weights[i]!;
        if (point < acc) {
          winner = i;
          break;
        }
      }
      const ordered = [comp.members[winner]!, ...comp.members.filter((_, i) => i !== winner)];
      return applyOrder(state, ctx, cfg, comp, ordered, 'weighted');
    };
  },
};
