/**
 * A health snapshot as plain data, so a dry run can decide in a worker thread with the node's
 * health: for each region its state, its effective weight for each configured weight a dry run may
 * ask about, and its addresses that are down. It is read only through the HealthSnapshot interface
 * (the node's aggregated snapshot stays where it is), and read back as one.
 * @module
 */
import type { HealthSnapshot, RegionState } from '../health/snapshot.js';
import type { Region } from '../policy/types.js';

export interface RegionHealthData {
  id: string;
  state: RegionState;
  /** `[configured, effective]` for each configured weight of the region in the configs compared. */
  weights: [number, number][];
  /** Addresses of the region the snapshot says are down. */
  down: string[];
}

export interface HealthView {
  version: number;
  regions: RegionHealthData[];
}

/**
 * What `snapshot` says about every region of `configs` (the same region may appear in several, with
 * other addresses or another weight: the union is asked). Cost: regions × addresses, no decisions.
 */
export function materialiseHealth(snapshot: HealthSnapshot, configs: Iterable<Region>[]): HealthView {
  const byId = new Map<string, { addresses: Set<string>; weights: Set<number> }>();
  for (const regions of configs) {
    for (const r of regions) {
      const e = byId.get(r.id) ?? { addresses: new Set<string>(), weights: new Set<number>() };
      for (const a of [...r.ipv4, ...r.ipv6]) e.addresses.add(a);
      e.weights.add(r.weight);
      byId.set(r.id, e);
    }
  }
  const regions: RegionHealthData[] = [];
  for (const [id, { addresses, weights }] of byId) {
    regions.push({
      id,
      state: snapshot.region(id),
      weights: [...weights].map((w) => [w, snapshot.effectiveWeight?.(id, w) ?? w]),
      down: [...addresses].filter((a) => !snapshot.addressUp(id, a)),
    });
  }
  return { version: snapshot.version, regions };
}

/**
 * A HealthView read back as a snapshot. What the view does not name answers as the interface
 * says an unknown does: a region up, an address up, a weight as configured.
 */
export class ViewHealth implements HealthSnapshot {
  readonly version: number;
  private readonly states = new Map<string, RegionState>();
  private readonly down = new Set<string>();
  private readonly weights = new Map<string, number>();

  constructor(view: HealthView) {
    this.version = view.version;
    for (const r of view.regions) {
      this.states.set(r.id, r.state);
      for (const a of r.down) this.down.add(`${r.id}|${a}`);
      for (const [configured, effective] of r.weights) this.weights.set(`${r.id}|${configured}`, effective);
    }
  }

  region(id: string): RegionState {
    return this.states.get(id) ?? 'up';
  }

  addressUp(regionId: string, address: string): boolean {
    return !this.down.has(`${regionId}|${address}`);
  }

  effectiveWeight(regionId: string, configured: number): number {
    return this.weights.get(`${regionId}|${configured}`) ?? configured;
  }
}
