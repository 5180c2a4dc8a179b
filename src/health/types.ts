/**
 * The health plane's shared vocabulary: what a probe vantage reports, how views travel (the
 * HealthBus, in memory or through Redis), and operator overrides. See src/health/README.md.
 * @module
 */
import type { RegionState } from './snapshot.js';

/** `<region>/<endpoint id>`: endpoints are named within their region. */
export type EndpointKey = string;

export interface EndpointObservation {
  /** Verdict after the rise/fall thresholds of the vantage that saw it. */
  status: 'up' | 'down';
  /** When the status last changed (ms since epoch). */
  since: number;
  /** When the last check finished (ms since epoch). */
  checkedAt: number;
  /** Round-trip time of the last successful check, ms. */
  rttMs: number | null;
  /** Error of the last failed check (`ECONNREFUSED`, `status 503`, `timeout`…), else null. */
  error: string | null;
}

/** Everything one vantage point (a probe sidecar) currently believes. */
export interface VantageView {
  vantage: string;
  /** Region the vantage runs in, for metrics and explain; null for an in-process probe. */
  region: string | null;
  /** Last heartbeat (ms since epoch). A view whose heartbeat expired has no vote. */
  heartbeatAt: number;
  endpoints: Map<EndpointKey, EndpointObservation>;
}

export type OverrideScope = `region/${string}` | `endpoint/${string}/${string}`;

export interface Override {
  scope: OverrideScope;
  state: RegionState;
  /** ms since epoch; null = until cleared. */
  expiresAt: number | null;
  reason: string;
  author: string;
  createdAt: number;
}

/** Connection counters of one backend (or a whole forwarder) over the last report interval. */
export interface LoadCounters {
  /** Connections open at report time. */
  active: number;
  /** Connections started per second. */
  newPerSec: number;
  /** Backend connect failures and timeouts per second. */
  connectFailuresPerSec: number;
}

/**
 * What one forwarder publishes every report interval (src/forward/load.ts). Routing reads
 * `active / capacity` per region as utilisation and lowers the region's effective weight past a
 * threshold (aggregate.ts).
 */
export interface LoadReport extends LoadCounters {
  region: string;
  /** Forwarder instance id: a region may run more than one, and their reports add up. */
  forwarder: string;
  /** When the report was made (ms since epoch). */
  at: number;
  /** The report is ignored once `at + ttlMs` has passed (a dead forwarder stops counting). */
  ttlMs: number;
  /** Connections this forwarder takes at 100 % utilisation. */
  capacity: number;
  backends: Record<EndpointKey, LoadCounters>;
}

export type BusEvent =
  | { kind: 'change'; vantage: string; endpoint: EndpointKey; observation: EndpointObservation }
  /** A forwarder's load report, delivered whole (applied without a re-read). */
  | { kind: 'load'; report: LoadReport }
  | { kind: 'view'; vantage: string }
  /** A vantage's heartbeat: its view is unchanged apart from the changes already announced. */
  | { kind: 'beat'; vantage: string; region: string | null; heartbeatAt: number }
  | { kind: 'override' }
  /** The bus (re)connected: state may have been missed, read everything again. */
  | { kind: 'resync' };

/**
 * Transport of health views between probes and DNS nodes. Two implementations: in memory
 * (embedded mode, one process) and Redis (cluster mode). Everything above is the same code.
 * No method is ever awaited on the DNS answer path.
 */
export interface HealthBus {
  /** Writes this vantage's whole view and refreshes its heartbeat (TTL = heartbeatTtlMs). */
  writeView(view: VantageView, heartbeatTtlMs: number): Promise<void>;
  /**
   * Refreshes the heartbeat (and TTL) of the vantage's view without rewriting it, and announces it:
   * a reader that holds the view needs nothing else. False, with nothing written, when the view does
   * not exist (expired): the probe then writes it whole.
   */
  beat(vantage: string, region: string | null, heartbeatAt: number, heartbeatTtlMs: number): Promise<boolean>;
  /** Records one endpoint's new observation in the vantage's view and announces it. */
  publishChange(vantage: string, endpoint: EndpointKey, observation: EndpointObservation): Promise<void>;
  /** Every view whose heartbeat has not expired. */
  readViews(): Promise<VantageView[]>;
  readOverrides(): Promise<Override[]>;
  /**
   * The overrides, and whether the bus holds an override record at all (`present`): false when none
   * was ever written, or when the bus lost its data (a Redis restarted empty). A reader then keeps
   * the overrides it has until they are restored, rather than lifting them all at once. Buses that
   * cannot lose their data apart from their process leave it out (present, always).
   */
  readOverrideState?(): Promise<{ overrides: Override[]; present: boolean }>;
  /**
   * Puts overrides back into a bus that lost them: writes them (and the record that marks overrides
   * as present) only if the bus holds no override record at all. True when this call wrote them; of
   * several nodes restoring at once exactly one does.
   */
  restoreOverrides?(overrides: Override[]): Promise<boolean>;
  writeOverride(override: Override): Promise<void>;
  deleteOverride(scope: OverrideScope): Promise<boolean>;
  /**
   * Removes the overrides whose expiry has passed and returns the ones this call removed: across
   * processes sharing the bus, each expired record is returned by exactly one sweep (so exactly one
   * audit entry records it). Reads never remove expired records; they only skip them.
   */
  sweepExpiredOverrides(): Promise<Override[]>;
  /** Stores a forwarder's load report (replacing its previous one) with a TTL and announces it. */
  writeLoad(report: LoadReport, ttlMs: number): Promise<void>;
  /** Unexpired load reports of the given regions, every forwarder's. */
  readLoads(regions: string[]): Promise<LoadReport[]>;
  /** Change notices; also `resync` after every (re)connection. Returns an unsubscribe function. */
  subscribe(listener: (event: BusEvent) => void): () => void;
  /** Whether the transport is connected now (always true in memory). */
  readonly connected: boolean;
  close(): Promise<void>;
}
