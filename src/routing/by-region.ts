/**
 * Which services use which region, so a health change empties the decision caches of the services
 * that can answer differently, and no others. A service reads health only for its own regions
 * (region state, address health, effective weight of its candidates: src/policy), so a region's
 * answers changing cannot change the decisions of a service that does not list it.
 * @module
 */

export interface CachedService {
  readonly def: { readonly name: string; readonly regions: readonly { readonly id: string }[] };
  clearCache(): void;
}

export class ServicesByRegion {
  private readonly index = new Map<string, CachedService[]>();
  private readonly all: CachedService[];

  constructor(services: Iterable<CachedService>) {
    this.all = [...services];
    for (const s of this.all) {
      for (const r of new Set(s.def.regions.map((x) => x.id))) {
        const list = this.index.get(r);
        if (list) list.push(s);
        else this.index.set(r, [s]);
      }
    }
  }

  /** Services that list the region. */
  using(region: string): readonly CachedService[] {
    return this.index.get(region) ?? [];
  }

  /** Empties the caches of the services using any of `regions`; returns how many it emptied. */
  clear(regions: Iterable<string>): number {
    const done = new Set<CachedService>();
    for (const r of regions) for (const s of this.using(r)) done.add(s);
    for (const s of done) s.clearCache();
    return done.size;
  }

  /** Every service (a new geo database changes any geo decision). */
  clearAll(): number {
    for (const s of this.all) s.clearCache();
    return this.all.length;
  }
}
