/**
 * From what the vantages see to what the DNS answers: a pure function of views, overrides,
 * the configured regions and the clock. No I/O, so it is table-tested and `explain` can show
 * the same vote counts the DNS node acted on.
 *
 * Rules (README "Quorum and region fraction" gives the reasons):
 * - A view votes only while `heartbeatAt + heartbeatTtlMs > now`.
 * - Endpoint: down ⇔ down votes > quorum × (live vantages that report it). Ties stay up.
 *   No report from any live vantage → `coldStart`.
 * - Region: down ⇔ up endpoints / counted endpoints < regionUpFraction, where drained endpoints
 *   are not counted; every endpoint drained → drained; no endpoints at all → up.
 * - Address: an endpoint at one of the region's own addresses that is down takes that address out
 *   of the answers (its backends may be fine, but clients cannot reach them through it); a region
 *   with no address left is not handed out (src/policy/health.ts).
 * - Precedence: region override > region state in config (when not `up`) > endpoint votes;
 *   endpoint override > endpoint probes. Expired overrides are ignored.
 * - Load: a region's live forwarder reports give its utilisation; past `load.threshold` its
 *   effective weight is lowered (load.ts). Only the factor is part of the fingerprint.
 * @module
 */
import { endpointScope, isExpired, regionScope } from './overrides.js';
import { effectiveWeight, LOAD_DEFAULTS, regionLoad, type LoadSettings, type RegionLoad } from './load.js';
import type { HealthSnapshot, RegionState } from './snapshot.js';
import type { EndpointKey, LoadReport, Override, VantageView } from './types.js';

export interface RegionInput {
  id: string;
  /** Endpoint keys (`<region>/<id>`) whose health decides the region's state. */
  endpoints: string[];
  /** The region's `state` in config: `down`/`drained` there are operator intent and beat probes. */
  state?: RegionState;
  /** Addresses forced down in config; every other address is up (Route 53: no check = healthy). */
  downAddresses?: string[];
  /**
   * Endpoints at one of the region's own addresses (a forwarder or load balancer clients connect
   * to), by key: when one is down its address is down too, whatever the endpoints behind it say.
   */
  addressEndpoints?: Record<EndpointKey, string>;
}

export interface AggregateInput {
  views: VantageView[];
  overrides: Override[];
  regions: RegionInput[];
  now: number;
  /** Fraction of reporting live vantages that must see an endpoint down, strictly exceeded. */
  quorum: number;
  /** A region is down when its up fraction falls below this. */
  regionUpFraction: number;
  /** Verdict for an endpoint no live vantage reports. */
  coldStart: 'up' | 'down';
  version: number;
  /** Backstop for buses that do not expire views themselves; absent = trust the bus. */
  heartbeatTtlMs?: number;
  /** Forwarders' load reports (any regions; expired ones are ignored). */
  loads?: LoadReport[];
  load?: LoadSettings;
}

export type VerdictSource = 'probes' | 'override' | 'cold';

export interface EndpointVerdict {
  status: RegionState;
  /** Live vantages reporting up / down; `live` = up + down (the quorum denominator). */
  up: number;
  down: number;
  live: number;
  source: VerdictSource;
}

export interface RegionVerdict {
  state: RegionState;
  /** Endpoints up, and endpoints counted (configured minus drained). */
  up: number;
  counted: number;
  source: 'probes' | 'override' | 'config' | 'empty';
}

export const DEFAULT_QUORUM = 0.5;
export const DEFAULT_REGION_UP_FRACTION = 0.5;

/**
 * What the health plane shows besides answers: verdicts with their vote counts (explain, metrics,
 * the admin API) and load. `AggregatedHealth` (a pure, immutable aggregate) and `HealthState` (the
 * incremental one a DNS node keeps, state.ts) both provide it.
 */
export interface HealthView extends HealthSnapshot {
  effectiveWeight(regionId: string, configured: number): number;
  regionLoad(id: string): RegionLoad | undefined;
  /** Verdict and votes for a configured endpoint; undefined for keys not in config. */
  endpoint(key: EndpointKey): EndpointVerdict | undefined;
  regionVerdict(id: string): RegionVerdict | undefined;
  endpoints(): IterableIterator<[EndpointKey, EndpointVerdict]>;
  regions(): IterableIterator<[string, RegionVerdict]>;
  /** Vantages that had a vote, with their region (for `meridian_health_live_vantages`). */
  readonly vantages: readonly { vantage: string; region: string | null }[];
  readonly liveVantages: number;
}

/** A whole aggregate computed at once: eager and immutable (dry runs, explain of what-ifs, tests). */
export class AggregatedHealth implements HealthView {
  private fp: string | undefined;

  constructor(
    readonly version: number,
    private readonly regionMap: ReadonlyMap<string, RegionVerdict>,
    private readonly endpointMap: ReadonlyMap<EndpointKey, EndpointVerdict>,
    private readonly downAddresses: ReadonlySet<string>,
    /** Vantages that had a vote, with their region (for `meridian_health_live_vantages`). */
    readonly vantages: readonly { vantage: string; region: string | null }[],
    private readonly loadMap: ReadonlyMap<string, RegionLoad> = new Map(),
  ) {}

  /** The weight the weighted and sticky policies use: lowered while the region is over its load threshold. */
  effectiveWeight(regionId: string, configured: number): number {
    const l = this.loadMap.get(regionId);
    return l ? effectiveWeight(configured, l.factor) : configured;
  }

  /** The region's load as of this snapshot (utilisation may be a few reports old; the factor is exact). */
  regionLoad(id: string): RegionLoad | undefined {
    return this.loadMap.get(id);
  }

  region(id: string): RegionState {
    return this.regionMap.get(id)?.state ?? 'up';
  }

  addressUp(regionId: string, address: string): boolean {
    return !this.downAddresses.has(`${regionId}|${address}`);
  }

  /** Verdict and votes for a configured endpoint; undefined for keys not in config. */
  endpoint(key: EndpointKey): EndpointVerdict | undefined {
    return this.endpointMap.get(key);
  }

  regionVerdict(id: string): RegionVerdict | undefined {
    return this.regionMap.get(id);
  }

  endpoints(): IterableIterator<[EndpointKey, EndpointVerdict]> {
    return this.endpointMap.entries();
  }

  regions(): IterableIterator<[string, RegionVerdict]> {
    return this.regionMap.entries();
  }

  get liveVantages(): number {
    return this.vantages.length;
  }

  /**
   * Everything but the version: equal fingerprints mean the same answers and the same explain
   * output. O(endpoints): for comparing whole aggregates in tests, never on a DNS node's flip path
   * (HealthState diffs per endpoint instead).
   */
  get fingerprint(): string {
    this.fp ??= JSON.stringify([
      [...this.regionMap],
      [...this.endpointMap],
      [...this.downAddresses].sort(),
      this.vantages.map((v) => `${v.vantage}@${v.region ?? ''}`).sort(),
      // The factor, not the utilisation: a load that moves within one step changes no answer.
      [...this.loadMap].filter(([, l]) => l.factor < 1).map(([id, l]) => `${id}:${l.factor}`),
    ]);
    return this.fp;
  }
}

export function activeOverrides(overrides: readonly Override[], now: number): Map<string, Override> {
  const map = new Map<string, Override>();
  for (const o of overrides) {
    if (isExpired(o, now)) continue;
    // Two records for one scope cannot come from either bus; if a hand-edited file has them, the newest wins.
    const prev = map.get(o.scope);
    if (!prev || o.createdAt >= prev.createdAt) map.set(o.scope, o);
  }
  return map;
}

export function aggregate(input: AggregateInput): AggregatedHealth {
  const { now, quorum, regionUpFraction, coldStart } = input;
  const ttl = input.heartbeatTtlMs;
  const live = input.views.filter((v) => ttl === undefined || v.heartbeatAt + ttl > now);
  const overrides = activeOverrides(input.overrides, now);

  const endpointMap = new Map<EndpointKey, EndpointVerdict>();
  const regionMap = new Map<string, RegionVerdict>();
  const downAddresses = new Set<string>();

  for (const region of input.regions) {
    for (const a of region.downAddresses ?? []) downAddresses.add(`${region.id}|${a}`);
    let up = 0;
    let counted = 0;
    for (const key of region.endpoints) {
      const v = endpointVerdict(key, live, overrides, quorum, coldStart);
      endpointMap.set(key, v);
      const front = region.addressEndpoints?.[key];
      if (front !== undefined && v.status === 'down') downAddresses.add(`${region.id}|${front}`);
      if (v.status === 'drained') continue;
      counted++;
      if (v.status === 'up') up++;
    }
    regionMap.set(region.id, regionVerdict(region, up, counted, overrides, regionUpFraction));
  }

  const vantages = live.map((v) => ({ vantage: v.vantage, region: v.region }));
  const loadMap = new Map<string, RegionLoad>();
  if (input.loads?.length) {
    const byRegion = new Map<string, LoadReport[]>();
    for (const r of input.loads) byRegion.set(r.region, [...(byRegion.get(r.region) ?? []), r]);
    for (const region of input.regions) {
      const l = regionLoad(byRegion.get(region.id) ?? [], now, input.load ?? LOAD_DEFAULTS);
      if (l) loadMap.set(region.id, l);
    }
  }
  return new AggregatedHealth(input.version, regionMap, endpointMap, downAddresses, vantages, loadMap);
}

export function endpointVerdict(key: EndpointKey, live: readonly VantageView[], overrides: ReadonlyMap<string, Override>, quorum: number, coldStart: 'up' | 'down'): EndpointVerdict {
  let up = 0;
  let down = 0;
  for (const view of live) {
    const obs = view.endpoints.get(key);
    if (!obs) continue;
    if (obs.status === 'down') down++;
    else up++;
  }
  const n = up + down;
  const o = overrides.get(endpointScope(key));
  if (o) return { status: o.state, up, down, live: n, source: 'override' };
  if (n === 0) return { status: coldStart, up, down, live: n, source: 'cold' };
  // Strictly more than the quorum: with the 0.5 default a tie (1 of 2) keeps the endpoint up, so a
  // single partitioned vantage can never fail an endpoint another vantage still reaches.
  return { status: down > quorum * n ? 'down' : 'up', up, down, live: n, source: 'probes' };
}

export function regionVerdict(region: RegionInput, up: number, counted: number, overrides: ReadonlyMap<string, Override>, regionUpFraction: number): RegionVerdict {
  const o = overrides.get(regionScope(region.id));
  if (o) return { state: o.state, up, counted, source: 'override' };
  if (region.state && region.state !== 'up') return { state: region.state, up, counted, source: 'config' };
  if (region.endpoints.length === 0) return { state: 'up', up, counted, source: 'empty' };
  // Every endpoint drained by an operator: the region is being emptied on purpose, not failing.
  if (counted === 0) return { state: 'drained', up, counted, source: 'override' };
  return { state: up / counted < regionUpFraction ? 'down' : 'up', up, counted, source: 'probes' };
}
