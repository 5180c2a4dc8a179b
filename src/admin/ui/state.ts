/**
 * What the dashboard shows, as one plain JSON object built from this node's own state: its config
 * version and regions (location, configured state and weight), its health snapshot (each region's
 * verdict, override and endpoints with every live vantage's vote), effective weights after load
 * feedback, forwarder connections from the load reports, the share of recent answers, and the
 * health flips seen since the API started.
 * @module
 */
import type { AdminDeps } from '../context.js';
import type { HealthReport, RegionHealth } from '../health-report.js';
import type { Flip, FlipLog, Observed } from './flips.js';
import { answerShare } from './share.js';

/** How the map colours a region: the health verdict, `degraded` when up with endpoints down, `overridden` when an override decides (a region's, or an endpoint's forcing it down). */
export type DisplayState = 'up' | 'degraded' | 'down' | 'drained' | 'overridden';

export interface RegionView {
  id: string;
  lat: number;
  lon: number;
  country: string;
  continent: string;
  /** The operator's configured state and weight (GET /v1/regions). */
  configured: { state: string; weight: number; draining: boolean };
  effectiveWeight: number;
  display: DisplayState;
  health: RegionHealth | null;
  forwarderConnections: number | null;
  /** Fraction of recent answers carrying this region (share.ts), 0..1. */
  share: number;
}

export interface DashboardState {
  at: string;
  version: number;
  vantages: HealthReport['vantages'];
  regions: RegionView[];
  answersSampled: number;
  flips: Flip[];
}

interface ConfiguredRegion {
  id: string;
  location: { lat: number; lon: number; continent: string; country: string };
  weight?: number;
  state?: string;
  drain?: unknown;
}

export function displayState(h: RegionHealth | null): DisplayState {
  if (!h) return 'down';
  if (h.override) return 'overridden';
  // Down with an endpoint forced down: the override decided it, not the probes (review of issue 19).
  if (h.state === 'down' && h.endpoints.some((e) => e.override?.state === 'down')) return 'overridden';
  if (h.state !== 'up') return h.state;
  return h.endpointsUp < h.endpointsCounted ? 'degraded' : 'up';
}

/** The targets a flip log compares: every region and endpoint of the report. */
export function observed(report: HealthReport): Observed[] {
  const out: Observed[] = [];
  for (const r of report.regions) {
    out.push({ target: `region/${r.id}`, state: r.state, source: r.source });
    for (const e of r.endpoints) out.push({ target: `endpoint/${r.id}/${e.id}`, state: e.state, source: e.source });
  }
  return out;
}

function configuredRegions(deps: AdminDeps): ConfiguredRegion[] {
  const doc = deps.current?.()?.document;
  if (doc) return doc.regions as unknown as ConfiguredRegion[];
  // No record yet: the regions the live services carry.
  const byId = new Map<string, ConfiguredRegion>();
  for (const s of deps.live().services.values()) for (const r of s.def.regions) byId.set(r.id, { id: r.id, location: r, weight: r.weight });
  return [...byId.values()];
}

export function healthNow(deps: AdminDeps): HealthReport {
  return deps.healthReport?.() ?? { version: deps.live().version, vantages: [], regions: [] };
}

export async function dashboardState(deps: AdminDeps, report: HealthReport, flips: FlipLog): Promise<DashboardState> {
  const health = deps.health();
  const byId = new Map(report.regions.map((r) => [r.id, r]));
  const share = answerShare(deps.live().services.values(), deps.recentClients());
  const regions = await Promise.all(
    configuredRegions(deps).map(async (r): Promise<RegionView> => {
      const h = byId.get(r.id) ?? null;
      const weight = r.weight ?? 100;
      return {
        id: r.id,
        lat: r.location.lat,
        lon: r.location.lon,
        country: r.location.country,
        continent: r.location.continent,
        configured: { state: r.state ?? 'up', weight, draining: r.drain !== undefined },
        effectiveWeight: health.effectiveWeight?.(r.id, weight) ?? weight,
        display: displayState(h),
        health: h,
        forwarderConnections: (await deps.forwarderConnections?.(r.id).catch(() => null)) ?? null,
        share: share.byRegion.get(r.id) ?? 0,
      };
    }),
  );
  return { at: new Date(deps.now?.() ?? Date.now()).toISOString(), version: report.version, vantages: report.vantages, regions, answersSampled: share.answers, flips: flips.recent() };
}
