/**
 * Builders for the policy tables: regions, clients, contexts and a one-step runner. Test support
 * only; nothing on the answer path imports it.
 * @module
 */
import type { GeoResult } from '../geo/types.js';
import { StaticHealth, type RegionState } from '../health/snapshot.js';
import { clientFromAddress } from '../routing/client.js';
import { compileChain, runChain } from './chain.js';
import type { Candidate, ChainState, PolicyContext, PolicyStep, Region } from './types.js';

export function region(id: string, over: Partial<Region> = {}): Region {
  return { id, lat: 0, lon: 0, continent: 'EU', country: 'DE', ipv4: [`192.0.2.${id.length}`], ipv6: [`2001:db8::${id.length}`], weight: 100, ...over };
}

export const REGIONS = {
  use: region('us-east', { lat: 39.04, lon: -77.49, continent: 'NA', country: 'US', ipv4: ['192.0.2.1'], ipv6: ['2001:db8:1::1'] }),
  euw: region('eu-west', { lat: 53.35, lon: -6.26, continent: 'EU', country: 'IE', ipv4: ['192.0.2.2'], ipv6: ['2001:db8:2::1'] }),
  aps: region('ap-southeast', { lat: 1.35, lon: 103.82, continent: 'AS', country: 'SG', ipv4: ['192.0.2.3'], ipv6: [] }),
};
export const ALL = [REGIONS.use, REGIONS.euw, REGIONS.aps];

export function geoAt(over: Partial<GeoResult> = {}): GeoResult {
  return { continent: null, country: null, subdivision: null, lat: null, lon: null, prefixLength: 16, network: '198.18.0.0/16', ...over };
}

export function health(states: Record<string, RegionState> = {}, downAddresses: Record<string, string[]> = {}): StaticHealth {
  const ids = new Set([...Object.keys(states), ...Object.keys(downAddresses)]);
  return new StaticHealth([...ids].map((id) => ({ id, state: states[id] ?? 'up', downAddresses: downAddresses[id] ?? [] })));
}

export function ctx(over: Partial<PolicyContext> & { ip?: string } = {}): PolicyContext {
  const { ip, ...rest } = over;
  return {
    client: clientFromAddress(ip ?? '198.18.7.9'),
    geo: null,
    geoPrefix: 0,
    health: health(),
    qfamily: 4,
    salt: 12345,
    trace: [],
    ...rest,
  };
}

export function state(regions: Region[] = ALL, tiers?: number[]): ChainState {
  return {
    // Without tiers, one tier: what the chain runner starts from.
    candidates: regions.map((r, i): Candidate => ({ region: r, tier: tiers ? tiers[i]! : 0 })),
    scope: 0,
    allDown: false,
    servfail: false,
    maxAddresses: Number.POSITIVE_INFINITY,
    regionsToAnswer: 1,
  };
}

export const ids = (s: ChainState): string[] => s.candidates.map((c) => c.region.id);
export const tiersOf = (s: ChainState): string[] => s.candidates.map((c) => `${c.region.id}@${c.tier}`);

export function run(step: PolicyStep, s: ChainState, c: PolicyContext): ChainState {
  return step(s, c);
}

/** Runs a whole chain from its config, as the answer path does. */
export function decide(policy: unknown, c: PolicyContext, opts: { allDown?: unknown; regions?: Region[]; answers?: number } = {}) {
  const regions = opts.regions ?? ALL;
  const chain = compileChain(
    policy,
    opts.allDown,
    regions.map((r) => r.id),
  );
  return runChain(chain, {
    regions,
    answers: opts.answers ?? 1,
    client: c.client,
    geo: c.geo,
    geoPrefix: c.geoPrefix,
    health: c.health,
    qfamily: c.qfamily,
    salt: c.salt,
    trace: c.trace,
  });
}
