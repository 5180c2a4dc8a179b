/**
 * health: drops candidates that are down or drained, or that have no healthy address of the query
 * family; when nothing is left, applies the service's all-down policy. Always in the chain, right
 * after the locate step ("put UP first", NS1).
 * @module
 */
import { onAllDown, type AllDownConfig } from './alldown.js';
import type { Candidate, PolicyContext, PolicyStep, Region } from './types.js';

export function addressesOf(region: Region, family: 4 | 6): string[] {
  return family === 4 ? region.ipv4 : region.ipv6;
}

export function buildHealthStep(allDown: AllDownConfig): PolicyStep {
  return (state, ctx) => {
    const withFamily = state.candidates.filter((c) => addressesOf(c.region, ctx.qfamily).length > 0);
    const healthy = withFamily.filter((c) => isHealthy(c, ctx));
    ctx.trace?.push(
      `health: ${withFamily.map((c) => `${c.region.id}=${ctx.health.region(c.region.id)}${isHealthy(c, ctx) ? '' : ' (excluded)'}`).join(', ') || `no region has IPv${ctx.qfamily} addresses`}`,
    );
    if (healthy.length > 0 || withFamily.length === 0) return { ...state, candidates: healthy };
    const fallback = onAllDown(allDown, withFamily, (id) => ctx.health.region(id) === 'drained');
    ctx.trace?.push(`health: every candidate is down -> all-down policy ${allDown.mode}${fallback ? `: ${fallback.map((c) => c.region.id).join(', ')}` : ': SERVFAIL'}`);
    return { ...state, candidates: fallback ?? [], allDown: true, servfail: fallback === null };
  };
}

function isHealthy(c: Candidate, ctx: PolicyContext): boolean {
  if (ctx.health.region(c.region.id) !== 'up') return false;
  return addressesOf(c.region, ctx.qfamily).some((a) => ctx.health.addressUp(c.region.id, a));
}
