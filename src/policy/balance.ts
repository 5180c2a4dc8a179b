/**
 * Shared part of the two balancing policies (weighted, sticky): which candidates compete, the
 * subnet-prefix config, and putting the winner order back in front of the other tiers.
 *
 * Competing set: the best (lowest) tier among candidates with weight > 0. Weight-0 regions are
 * standby: they compete only when no weighted candidate is left in any tier (Route 53's rule), and
 * then with equal shares; until then they are dropped (a multivalue answer lists none of them).
 *
 * Weights are effective weights: the configured weight lowered by forwarder load feedback when the
 * health snapshot carries it (src/health/load.ts). Standby is decided on the configured weight, so
 * load can shrink a region's share but never turn it into a standby.
 * @module
 */
import type { HealthSnapshot } from '../health/snapshot.js';
import { asRecord, rejectUnknownKeys } from './lists.js';
import type { Candidate, ChainState, PolicyContext } from './types.js';

export interface BalanceConfig {
  prefix4: number;
  prefix6: number;
}

export function parseBalanceConfig(json: unknown, name: string): BalanceConfig {
  const o = asRecord(json, name);
  rejectUnknownKeys(o, ['prefix4', 'prefix6'], name);
  const int = (v: unknown, def: number, max: number, key: string): number => {
    if (v === undefined) return def;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > max) throw new Error(`${name}.${key} must be an integer from 0 to ${max}`);
    return v;
  };
  // /24 and /56 are what resolvers send in ECS (RFC 7871 §11.1): finer keys would not be seen.
  return { prefix4: int(o.prefix4, 24, 32, 'prefix4'), prefix6: int(o.prefix6, 56, 128, 'prefix6') };
}

export interface Competition {
  members: Candidate[];
  /** Weights used for the competition (1 each for standby regions). */
  weights: number[];
  rest: Candidate[];
}

export function competition(candidates: Candidate[], health?: HealthSnapshot): Competition | null {
  if (candidates.length === 0) return null;
  const weighted = candidates.filter((c) => c.region.weight > 0);
  const pool = weighted.length > 0 ? weighted : candidates;
  const best = Math.min(...pool.map((c) => c.tier));
  const members = pool.filter((c) => c.tier === best);
  // Candidates are healthy here (the health step ran), so while any has weight a standby has no
  // place in the answer at all, not even in a later multivalue slot.
  const rest = candidates.filter((c) => !members.includes(c) && (weighted.length === 0 || c.region.weight > 0));
  const weightOf = (c: Candidate): number => health?.effectiveWeight?.(c.region.id, c.region.weight) ?? c.region.weight;
  return { members, weights: members.map((c) => (weighted.length > 0 ? weightOf(c) : 1)), rest };
}

export function applyOrder(state: ChainState, ctx: PolicyContext, cfg: BalanceConfig, comp: Competition, ordered: Candidate[], how: string): ChainState {
  const prefix = ctx.client.family === 4 ? cfg.prefix4 : cfg.prefix6;
  // With one competitor the hash decides nothing, and the scope must not be narrowed for it.
  const scope = comp.members.length > 1 ? Math.max(state.scope, Math.min(prefix, ctx.client.family === 4 ? 32 : 128)) : state.scope;
  const w = (c: Candidate): string => {
    const eff = ctx.health.effectiveWeight?.(c.region.id, c.region.weight) ?? c.region.weight;
    return eff === c.region.weight ? `w${eff}` : `w${c.region.weight}->${eff} by load`;
  };
  ctx.trace?.push(`${how}: ${ordered.map((c) => `${c.region.id}(${w(c)})`).join(' > ')}${comp.members.length > 1 ? ` keyed on the client /${prefix}` : ''}`);
  return { ...state, candidates: [...ordered, ...comp.rest], scope };
}
