/**
 * `GET /v1/health`: every region's and endpoint's health as this node sees it — the verdict its
 * answers act on, what decided it, and each live vantage's vote (status, RTT, last error) — as
 * plain JSON for `meridian status`. Built from the node's own health view and the vantage views it
 * holds: no I/O, so it shows exactly what this node acts on.
 * @module
 */
import { activeOverrides, type HealthView } from '../health/aggregate.js';
import type { Override, VantageView } from '../health/types.js';

type State = 'up' | 'down' | 'drained';

export interface OverrideView {
  state: State;
  reason: string;
  author: string;
  expiresAt: string | null;
}

export interface Vote {
  vantage: string;
  status: 'up' | 'down';
  since: string;
  checkedAt: string;
  rttMs: number | null;
  error: string | null;
}

export interface EndpointHealth {
  id: string;
  state: State;
  source: 'probes' | 'override' | 'cold';
  /** Live vantages that see it up / down, and how many report it (the quorum's denominator). */
  up: number;
  down: number;
  live: number;
  override: OverrideView | null;
  votes: Vote[];
}

export interface RegionHealth {
  id: string;
  state: State;
  source: 'probes' | 'override' | 'config' | 'empty';
  endpointsUp: number;
  endpointsCounted: number;
  override: OverrideView | null;
  endpoints: EndpointHealth[];
}

export interface HealthReport {
  /** The config version this node answers from. */
  version: number;
  /** The vantages whose views vote (heartbeat within its TTL). */
  vantages: { vantage: string; region: string | null; heartbeatAt: string }[];
  regions: RegionHealth[];
}

const iso = (ms: number): string => new Date(ms).toISOString();
const overrideView = (o: Override | undefined): OverrideView | null => (o ? { state: o.state, reason: o.reason, author: o.author, expiresAt: o.expiresAt === null ? null : iso(o.expiresAt) } : null);

export function healthReport(version: number, view: HealthView, views: readonly VantageView[], overrides: readonly Override[], now: number): HealthReport {
  const voters = new Set(view.vantages.map((v) => v.vantage));
  const live = views.filter((v) => voters.has(v.vantage)).sort((a, b) => a.vantage.localeCompare(b.vantage));
  const inForce = activeOverrides(overrides, now);
  const endpointsOf = new Map<string, EndpointHealth[]>();
  for (const [key, v] of view.endpoints()) {
    const slash = key.indexOf('/');
    const region = key.slice(0, slash);
    const votes: Vote[] = [];
    for (const vantage of live) {
      const o = vantage.endpoints.get(key);
      if (o) votes.push({ vantage: vantage.vantage, status: o.status, since: iso(o.since), checkedAt: iso(o.checkedAt), rttMs: o.rttMs, error: o.error });
    }
    const e: EndpointHealth = { id: key.slice(slash + 1), state: v.status, source: v.source, up: v.up, down: v.down, live: v.live, override: overrideView(inForce.get(`endpoint/${key}`)), votes };
    endpointsOf.set(region, [...(endpointsOf.get(region) ?? []), e]);
  }
  const regions = [...view.regions()].map(([id, r]) => ({
    id,
    state: r.state,
    source: r.source,
    endpointsUp: r.up,
    endpointsCounted: r.counted,
    override: overrideView(inForce.get(`region/${id}`)),
    endpoints: endpointsOf.get(id) ?? [],
  }));
  return { version, vantages: live.map((v) => ({ vantage: v.vantage, region: v.region, heartbeatAt: iso(v.heartbeatAt) })), regions };
}
