/**
 * Types shared by the routing policies. A policy is a pure step over an ordered candidate list
 * (NS1's filter chain, CoreDNS's plugin chain): no I/O, no clock, no randomness; everything it
 * needs is in the context, so explain can replay any decision exactly.
 * @module
 */
import type { GeoResult } from '../geo/types.js';
import type { HealthSnapshot, RegionState } from '../health/snapshot.js';

export interface Region {
  id: string;
  lat: number;
  lon: number;
  continent: string;
  country: string;
  ipv4: string[];
  ipv6: string[];
  /** Capacity weight; 0 = standby, used only when no region with weight is left in any tier (balance.ts). */
  weight: number;
}

export interface Candidate {
  region: Region;
  /**
   * Lower is preferred: a geo or failover list position, or a proximity distance; equal tiers share
   * traffic by weight. 0 for every region when no locate step ranked them.
   */
  tier: number;
}

export interface Client {
  family: 4 | 6;
  /** Address bytes (4 or 16), zero beyond the known prefix. */
  bytes: Uint8Array;
  /** Bits of `bytes` that are known: the ECS source prefix, or 32/128 for a socket address. */
  knownBits: number;
  /** Where the address came from, for explain. */
  source: 'ecs' | 'socket' | 'explain';
  /** Printable form; absent on the answer path, where nothing reads it (see clientText). */
  text?: string;
}

export interface PolicyContext {
  client: Client;
  /** Looked up once per decision by the chain runner, only when a step needs it. */
  geo: GeoResult | null;
  /** Prefix length of the geo network that matched (or of the empty space around the address). */
  geoPrefix: number;
  health: HealthSnapshot;
  /** The query's address family: candidates without an address of it cannot answer. */
  qfamily: 4 | 6;
  /** Hash salt of the service, so services spread clients independently of each other. */
  salt: number;
  /** Explain's trace; null on the answer path, so tracing costs one branch. */
  trace: string[] | null;
}

export interface ChainState {
  candidates: Candidate[];
  /** ECS scope so far: the most specific (largest) prefix any input of the decision depended on. */
  scope: number;
  /** Set by the health step when every candidate was down (the all-down policy then applied). */
  allDown: boolean;
  servfail: boolean;
  /** Regions whose addresses are answered, in order, and how many addresses at most. */
  maxAddresses: number;
  regionsToAnswer: number;
}

export type PolicyStep = (state: ChainState, ctx: PolicyContext) => ChainState;

/** What parsing a policy config found besides the config itself. */
export interface ParseNotes {
  /** Accepted but suspect: `meridian check` prints them and `serve` logs them. Paths are below `policy`. */
  warnings: { path: string[]; reason: string }[];
  /** ISO 3166-2 codes (or `CC-Name`) that rules depend on: they never match with a country-only database. */
  subdivisions: string[];
}

/** One registered policy: how to parse its config (once, at load) and build its step. */
export interface PolicyDefinition<C> {
  name: string;
  /** Chain position class; the registry orders steps by phase (architecture.md). */
  phase: 'locate' | 'balance' | 'select';
  /** Whether the step reads the client's geo record (the runner looks it up only then). */
  needsGeo: boolean;
  /**
   * Throws `${name}: reason` on bad config (a `ConfigPathError` when it can point below the
   * policy). `regionIds` are the regions the service may use; `notes` collects what is accepted but
   * worth telling the operator.
   */
  parseConfig(json: unknown, regionIds: string[], notes?: ParseNotes): C;
  build(config: C): PolicyStep;
}

export function describe(c: Candidate, health: HealthSnapshot): string {
  const state: RegionState = health.region(c.region.id);
  return `${c.region.id} (tier ${c.tier}, ${state}, weight ${c.region.weight})`;
}
