/**
 * The one ordered list of policies (CoreDNS plugin.cfg, grpc-js registerLoadBalancerType): a
 * service names the policies it uses in its config, and this order decides how they chain:
 * locate (geo | proximity | failover) -> health (always) -> balance (weighted | sticky) -> select.
 * @module
 */
import { failover } from './failover.js';
import { geo } from './geo.js';
import { multivalue } from './multivalue.js';
import { proximity } from './proximity.js';
import { sticky } from './sticky.js';
import type { PolicyDefinition } from './types.js';
import { weighted } from './weighted.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export const REGISTRY: readonly PolicyDefinition<any>[] = [geo, proximity, failover, weighted, sticky, multivalue];

export const PHASE_ORDER = ['locate', 'health', 'balance', 'select'] as const;

export function policyByName(name: string): PolicyDefinition<unknown> | undefined {
  return REGISTRY.find((p) => p.name === name);
}
