/**
 * The health view the answer path reads: an immutable snapshot, swapped whole by its source.
 * This issue provides a static source built from config; the probe plane (Redis, quorum,
 * thresholds, overrides) produces the same interface later.
 * @module
 */

export type RegionState = 'up' | 'down' | 'drained';

export interface HealthSnapshot {
  /** Increases with every swap; part of the decision-cache validity. */
  readonly version: number;
  region(id: string): RegionState;
  /** Whether one address of a region is healthy. Unknown addresses count as up (Route 53: no check = healthy). */
  addressUp(regionId: string, address: string): boolean;
  /**
   * The weight balancing policies use for a region: its configured weight, lowered by load feedback
   * from the forwarders (src/health/load.ts). Absent = the configured weight.
   */
  effectiveWeight?(regionId: string, configured: number): number;
}

export interface StaticRegionHealth {
  id: string;
  state: RegionState;
  /** Addresses forced down in config. */
  downAddresses?: string[];
}

/** Health as configured: each region's `state`, every address up unless listed as down. */
export class StaticHealth implements HealthSnapshot {
  private readonly states: Map<string, RegionState>;
  private readonly down: Set<string>;

  constructor(
    regions: StaticRegionHealth[],
    readonly version = 1,
  ) {
    this.states = new Map(regions.map((r) => [r.id, r.state]));
    this.down = new Set(regions.flatMap((r) => (r.downAddresses ?? []).map((a) => `${r.id}|${a}`)));
  }

  region(id: string): RegionState {
    return this.states.get(id) ?? 'up';
  }

  addressUp(regionId: string, address: string): boolean {
    return !this.down.has(`${regionId}|${address}`);
  }
}
