/**
 * The DNS node's side of the health plane: keeps `current`, the aggregate of every vantage's view
 * (a HealthState, state.ts), fed from a HealthBus in the background. The answer path reads
 * `current` and nothing else.
 *
 * - `change` events are applied to the cached views at once (no Redis round trip), so a flip
 *   reaches the answers in one pub/sub hop, and re-evaluate only the flipped endpoint and its
 *   region: a flip costs the same in a deployment of ten endpoints or ten thousand.
 * - `beat` events (a vantage's heartbeat) move the cached view's deadline: no read.
 * - `view`, `override`, `resync` events re-read everything. Reads are coalesced: at most one in
 *   flight, and events during a read schedule exactly one more.
 * - A timer judges what time alone changes (heartbeat, override and load expiry, which Redis
 *   announces to nobody) from the cache, and re-reads everything every FULL_READ_EVERY ticks as
 *   the safety net for lost messages.
 * - A failed read changes nothing: the last snapshot stays in force indefinitely (static
 *   stability) and `snapshotAgeSeconds` grows. Connection state changes are logged once each.
 * - Listeners hear of a change only when a verdict, a vote count or the set of live vantages
 *   changes, with the regions whose answers changed, so heartbeats empty no DNS decision cache and
 *   a flip empties only those of the services using its region.
 * - Forwarders' `load` reports are applied directly too, to their region only; they change
 *   answers only when the region's effective-weight factor changes (load.ts).
 * @module
 */
import type { Logger } from '../obs/log.js';
import { aggregate, DEFAULT_QUORUM, DEFAULT_REGION_UP_FRACTION, type AggregatedHealth, type HealthView, type RegionInput } from './aggregate.js';
import { isLive, LOAD_DEFAULTS, regionLoad, type LoadSettings, type RegionLoad } from './load.js';
import { isExpired } from './overrides.js';
import { HealthState, type HealthChange, type RegionAnswer, type StateWork } from './state.js';
import type { BusEvent, EndpointKey, EndpointObservation, HealthBus, LoadReport, Override, VantageView } from './types.js';

export interface HealthSettings {
  /** Fraction of reporting live vantages that must see an endpoint down (strictly exceeded). */
  quorum: number;
  regionUpFraction: number;
  coldStart: 'up' | 'down';
  heartbeatTtlMs: number;
  /** Load feedback: threshold and floor of the effective-weight factor. */
  load: LoadSettings;
}

export const HEALTH_DEFAULTS = {
  quorum: DEFAULT_QUORUM,
  regionUpFraction: DEFAULT_REGION_UP_FRACTION,
  coldStart: 'up',
  heartbeatTtlMs: 15_000,
  load: LOAD_DEFAULTS,
  resyncIntervalMs: 5_000,
  clockSkewMs: 1_000,
} as const satisfies HealthSettings & { resyncIntervalMs: number; clockSkewMs: number };

/** Timer ticks (every `resyncIntervalMs`) per full re-read of the bus; between them expiry is judged from the cache. */
export const FULL_READ_EVERY = 6;

export interface HealthSourceOptions extends Partial<HealthSettings> {
  bus: HealthBus;
  regions: RegionInput[];
  /** Full re-read period: bounds how long a lost message or an expired vantage goes unnoticed. */
  resyncIntervalMs?: number;
  /** Allowance for probe and DNS host clocks disagreeing when judging heartbeats locally. */
  clockSkewMs?: number;
  log?: Logger;
  now?: () => number;
  /** close() also closes the bus (default true: the source owns it). */
  closeBus?: boolean;
  /**
   * Overrides in force before the first read (a node's local copy): a node that boots while Redis
   * is away, or empty, keeps the operators' overrides instead of starting without them.
   */
  initialOverrides?: Override[];
}

/** `change.regions`: the regions whose answers changed (empty when only vote counts or vantages did). */
export type HealthSwapListener = (health: HealthView, change: HealthChange) => void;

export class HealthSource {
  private readonly state: HealthState;
  private readonly bus: HealthBus;
  private regions: RegionInput[];
  private settings: HealthSettings;
  private readonly log: Logger | undefined;
  private readonly now: () => number;
  private readonly skewMs: number;
  private readonly closeBus: boolean;
  private readonly listeners = new Set<HealthSwapListener>();
  private readonly unsubscribe: () => void;
  private readonly timer: NodeJS.Timeout;
  private views = new Map<string, VantageView>();
  private overrideList: Override[];
  /** The bus was seen without its override record while overrides were in force (logged once). */
  private overridesLost = false;
  /** region → forwarder → the forwarder's latest report. */
  private loads = new Map<string, Map<string, LoadReport>>();
  private synced = false;
  private lastUpdateAt: number;
  private reading = false;
  private again = false;
  /** Changes seen while a read is in flight, re-applied on top of its (possibly older) result. */
  private pendingChanges: Extract<BusEvent, { kind: 'change' }>[] = [];
  private loggedConnected: boolean | null = null;
  private everConnected = false;
  private readFailing = false;
  private readFailWarned = false;
  private closed = false;
  private waiters: (() => void)[] = [];
  private stats = { reads: 0, readFailures: 0, swaps: 0, changesApplied: 0, beats: 0, ticks: 0 };
  /** The clock of the last recompute: deadlines after it are still ahead of the state. */
  private recomputedAt = 0;

  constructor(opts: HealthSourceOptions) {
    this.bus = opts.bus;
    this.regions = opts.regions;
    this.settings = {
      quorum: opts.quorum ?? HEALTH_DEFAULTS.quorum,
      regionUpFraction: opts.regionUpFraction ?? HEALTH_DEFAULTS.regionUpFraction,
      coldStart: opts.coldStart ?? HEALTH_DEFAULTS.coldStart,
      heartbeatTtlMs: opts.heartbeatTtlMs ?? HEALTH_DEFAULTS.heartbeatTtlMs,
      load: opts.load ?? HEALTH_DEFAULTS.load,
    };
    this.log = opts.log;
    this.now = opts.now ?? Date.now;
    this.skewMs = opts.clockSkewMs ?? HEALTH_DEFAULTS.clockSkewMs;
    this.closeBus = opts.closeBus ?? true;
    this.overrideList = opts.initialOverrides ?? [];
    this.lastUpdateAt = this.now();
    // Cold start: no views, so every endpoint takes `coldStart` (README "Cold start").
    this.state = new HealthState(this.regions, this.settings);
    this.state.recomputeAll(this.fullInput(this.now()));
    this.unsubscribe = this.bus.subscribe((e) => this.onEvent(e));
    const interval = opts.resyncIntervalMs ?? HEALTH_DEFAULTS.resyncIntervalMs;
    this.timer = setInterval(() => this.tick(), interval);
    this.timer.unref();
    // Both buses send `resync` once connected, which triggers the first read; reading before that
    // would only fail. The timer covers a bus that never says so.
    if (this.bus.connected) this.requestRead();
  }

  /**
   * The aggregate in force: a live view, updated in place by each change (its `version` says
   * when). Read synchronously; what the answers depend on per region is an immutable record
   * (`HealthState.answerOf`) replaced whole.
   */
  get current(): HealthView {
    return this.state;
  }

  /** What a region's answers depend on now (a DNS worker's copy is fed these, src/health/mirror.ts). */
  answerOf(regionId: string): RegionAnswer | undefined {
    return this.state.answerOf(regionId);
  }

  /** The vantage views this node holds (expired ones may linger until the next read); `current.vantages` names those that vote. */
  get vantageViews(): VantageView[] {
    return [...this.views.values()];
  }

  /** The overrides in the snapshot in force (the last read; kept while the bus is away). */
  get overrides(): Override[] {
    return [...this.overrideList];
  }

  /** Whether the bus is connected now (`meridian_health_redis_connected`). */
  get connected(): boolean {
    return this.bus.connected;
  }

  /** Whether at least one full read has succeeded since start (false = still the cold-start snapshot). */
  get hasSynced(): boolean {
    return this.synced;
  }

  /** Counters for metrics and tests, with the work the aggregate did (state.ts). */
  get metrics(): Readonly<typeof this.stats & StateWork> {
    return { ...this.stats, ...this.state.work };
  }

  /**
   * Seconds since the bus last confirmed the state (a full read or an applied change); since start
   * while still cold. `meridian_health_snapshot_age_seconds`: it grows without bound while Redis is away.
   */
  snapshotAgeSeconds(now = this.now()): number {
    return Math.max(0, (now - this.lastUpdateAt) / 1000);
  }

  /** Calls `listener` after each swap (the DNS layer drops its decision caches). Returns a remover. */
  onSwap(listener: HealthSwapListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Per cached vantage view: how many endpoints it sees up (metrics: per-vantage state). */
  vantageSummary(): [string, number][] {
    return [...this.views.values()].map((v) => [v.vantage, [...v.endpoints.values()].filter((o) => o.status === 'up').length]);
  }

  /** Every region's load from the latest reports (fresher than the snapshot's; for metrics). */
  regionLoads(now = this.now()): Map<string, RegionLoad> {
    const out = new Map<string, RegionLoad>();
    for (const [id, reports] of this.loads) {
      const l = regionLoad([...reports.values()], now, this.settings.load);
      if (l) out.set(id, l);
    }
    return out;
  }

  /**
   * The snapshot as it would be with `overrides` instead of the ones in force, from the same cached
   * views and loads (an override's dry run): a whole aggregate, built apart. Nothing changes.
   */
  withOverrides(overrides: Override[]): AggregatedHealth {
    return aggregate({
      ...this.fullInput(this.aggregateNow()),
      overrides,
      regions: this.regions,
      version: this.state.version,
      quorum: this.settings.quorum,
      regionUpFraction: this.settings.regionUpFraction,
      coldStart: this.settings.coldStart,
      load: this.settings.load,
    });
  }

  /** New config (regions, thresholds): re-aggregates from the cached views, no read needed. */
  updateConfig(regions: RegionInput[], settings: Partial<HealthSettings> = {}): void {
    this.regions = regions;
    this.settings = { ...this.settings, ...settings };
    this.state.configure(regions, this.settings);
    this.recompute();
  }

  /** Resolves after the next full read finishes, whatever its outcome. For CLI tools and tests. */
  refresh(): Promise<void> {
    return new Promise((resolve) => {
      if (this.closed) return resolve();
      this.waiters.push(resolve);
      this.requestRead();
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.timer);
    this.unsubscribe();
    this.listeners.clear();
    for (const w of this.waiters.splice(0)) w();
    if (this.closeBus) await this.bus.close().catch(() => undefined);
  }

  private onEvent(event: BusEvent): void {
    if (this.closed) return;
    if (event.kind === 'load') {
      // A report is whole and self-dated: no read needed, and a stale one is simply not live.
      const { region, forwarder } = event.report;
      const reports = this.loads.get(region) ?? new Map<string, LoadReport>();
      const prev = reports.get(forwarder);
      if (!prev || prev.at <= event.report.at) reports.set(forwarder, event.report);
      this.loads.set(region, reports);
      this.publish(this.state.recomputeLoad(region, [...reports.values()], this.aggregateNow()));
    } else if (event.kind === 'beat') {
      this.applyBeat(event);
    } else if (event.kind === 'change') {
      if (this.reading) this.pendingChanges.push(event);
      // A change for a vantage we have not read yet cannot be applied alone; the read brings it.
      if (this.applyChange(event)) {
        this.lastUpdateAt = this.now();
        this.stats.changesApplied++;
        this.publish(this.state.recomputeEndpoint(event.endpoint));
      } else this.requestRead();
    } else {
      this.requestRead();
    }
    this.checkConnection();
  }

  /**
   * A heartbeat of a cached view moves its deadline and nothing else: every change of that view was
   * announced and applied, so no read is needed (a probe beats every few seconds, and a read of
   * every vantage's whole view is O(endpoints × vantages) on the DNS event loop). The view object is
   * updated in place, so the live state keeps counting its votes. A view that had expired votes
   * again: everything is recomputed. An uncached vantage is read.
   */
  private applyBeat(e: { vantage: string; region: string | null; heartbeatAt: number }): void {
    const view = this.views.get(e.vantage);
    if (!view) return this.requestRead();
    const now = this.aggregateNow();
    const ttl = this.settings.heartbeatTtlMs + this.skewMs;
    const wasLive = view.heartbeatAt + ttl > now;
    if (e.heartbeatAt > view.heartbeatAt) view.heartbeatAt = e.heartbeatAt;
    view.region = e.region;
    this.lastUpdateAt = this.now();
    this.stats.beats++;
    if (!wasLive && view.heartbeatAt + ttl > now) this.recompute();
  }

  /** Writes the observation into the cached view; false when that view is not cached. */
  private applyChange(e: { vantage: string; endpoint: EndpointKey; observation: EndpointObservation }): boolean {
    const view = this.views.get(e.vantage);
    if (!view) return false;
    const prev = view.endpoints.get(e.endpoint);
    // Older news (a read raced the change) never replaces newer: checkedAt is per-vantage monotonic.
    if (!prev || prev.checkedAt <= e.observation.checkedAt) view.endpoints.set(e.endpoint, e.observation);
    return true;
  }

  private requestRead(): void {
    if (this.closed) return;
    if (this.reading) {
      this.again = true;
      return;
    }
    void this.read();
  }

  private async read(): Promise<void> {
    this.reading = true;
    this.again = false;
    this.pendingChanges = [];
    this.stats.reads++;
    try {
      const regionIds = this.regions.map((r) => r.id);
      const [views, overrides, loads] = await Promise.all([this.bus.readViews(), this.readOverrides(), this.bus.readLoads(regionIds)]);
      if (this.closed) return;
      this.loads = this.mergeLoads(loads);
      this.views = this.mergeViews(views);
      for (const c of this.pendingChanges) this.applyChange(c);
      this.overrideList = this.keepOrReplace(overrides);
      this.synced = true;
      this.lastUpdateAt = this.now();
      if (this.readFailWarned) this.log?.info('health: reads from the bus succeed again');
      this.readFailing = false;
      this.readFailWarned = false;
      this.recompute();
    } catch (err) {
      this.stats.readFailures++;
      // Static stability: keep the snapshot. One log line per failure streak, not one per read.
      // While disconnected the connection log line already says so.
      if (!this.readFailWarned && this.bus.connected) {
        this.log?.warn({ err: (err as Error).message }, 'health: read from the bus failed; keeping the last snapshot');
        this.readFailWarned = true;
      }
      this.readFailing = true;
    } finally {
      this.reading = false;
      this.pendingChanges = [];
      this.checkConnection();
      if (this.again && !this.closed) void this.read();
      else for (const w of this.waiters.splice(0)) w();
    }
  }

  private async readOverrides(): Promise<{ overrides: Override[]; present: boolean }> {
    return this.bus.readOverrideState ? this.bus.readOverrideState() : { overrides: await this.bus.readOverrides(), present: true };
  }

  /**
   * A bus that holds no override record at all while this node has overrides in force lost its data
   * (a Redis restarted empty). The overrides stay in force (unexpired ones) rather than being lifted
   * at once, and this node puts them back (restoreOverrides writes only into a bus still without an
   * override record, so of several nodes exactly one does, and an operator's newer write wins).
   * Tried at every read until it is back; logged once each way.
   */
  private keepOrReplace(read: { overrides: Override[]; present: boolean }): Override[] {
    const now = this.now();
    const kept = this.overrideList.filter((o) => !isExpired(o, now));
    if (read.present || kept.length === 0) {
      this.overridesLost = false;
      return read.overrides;
    }
    if (!this.overridesLost) this.log?.warn({ kept: kept.length }, 'health: the bus holds no overrides (Redis restarted empty?); keeping those in force and restoring them');
    this.overridesLost = true;
    this.bus.restoreOverrides?.(kept).then(
      (wrote) => {
        if (wrote) this.log?.info({ restored: kept.length }, 'health: restored the overrides to the bus');
        this.requestRead();
      },
      () => undefined, // the next read tries again
    );
    return kept;
  }

  /**
   * The read is the truth for every vantage it returns. A cached vantage it does not return is kept
   * until its own heartbeat deadline: Redis would have expired it at about the same time, and this
   * way a Redis restart or failover that lost the keys does not flip verdicts before probes
   * rewrite their views (they do so every heartbeat).
   */
  private mergeViews(read: VantageView[]): Map<string, VantageView> {
    const next = new Map(read.map((v) => [v.vantage, v]));
    const deadline = this.now() - this.settings.heartbeatTtlMs - this.skewMs;
    for (const [id, v] of this.views) if (!next.has(id) && v.heartbeatAt > deadline) next.set(id, v);
    return next;
  }

  /** Like views: a report the read did not return stays until its own expiry (a Redis restart loses keys). */
  private mergeLoads(read: LoadReport[]): Map<string, Map<string, LoadReport>> {
    const next = new Map<string, Map<string, LoadReport>>();
    const put = (r: LoadReport): void => {
      const reports = next.get(r.region) ?? new Map<string, LoadReport>();
      reports.set(r.forwarder, r);
      next.set(r.region, reports);
    };
    for (const r of read) put(r);
    const now = this.now();
    for (const reports of this.loads.values()) {
      for (const r of reports.values()) {
        const n = next.get(r.region)?.get(r.forwarder);
        if (n ? n.at < r.at : isLive(r, now)) put(r);
      }
    }
    return next;
  }

  /**
   * While the bus is away, time stands still for the views: judging the cached heartbeats against
   * the wall clock would expire every vantage and flip the snapshot to cold without any news.
   */
  private aggregateNow(): number {
    return this.readFailing || !this.bus.connected ? Math.min(this.now(), this.lastUpdateAt) : this.now();
  }

  /**
   * The timer. The cache holds every view, override and load report as the bus does, since every
   * change is announced and a reconnection re-reads everything; what time alone changes (a view's
   * heartbeat, an override or a load report expiring) is judged from the cache: a recompute when
   * a deadline passed, nothing otherwise. The whole bus is re-read every FULL_READ_EVERY ticks, as a
   * safety net, and at every tick while reads fail or before the first one succeeded. (Until issue
   * 17 every tick re-read everything: at 10,000 endpoints 50-90 ms of the event loop every 5 s, a
   * recompute from the cache 12-16 ms, on the loaded benchmark machine.)
   */
  private tick(): void {
    if (this.closed || this.reading) return;
    this.stats.ticks++;
    if (!this.synced || this.readFailing || !this.bus.connected || this.stats.ticks % FULL_READ_EVERY === 0) return this.requestRead();
    if (this.nextDeadline() <= this.aggregateNow()) this.recompute();
  }

  /** The earliest moment after the last recompute at which a view, override or load report expires. */
  private nextDeadline(): number {
    const since = this.recomputedAt;
    let due = Infinity;
    const ttl = this.settings.heartbeatTtlMs + this.skewMs;
    for (const v of this.views.values()) if (v.heartbeatAt + ttl > since) due = Math.min(due, v.heartbeatAt + ttl);
    for (const o of this.overrideList) if (o.expiresAt !== null && o.expiresAt > since) due = Math.min(due, o.expiresAt);
    for (const reports of this.loads.values()) for (const r of reports.values()) if (r.at + r.ttlMs > since) due = Math.min(due, r.at + r.ttlMs);
    return due;
  }

  /** Everything again (a read, overrides, config, an expiry): O(endpoints × vantages), never per flip. */
  private recompute(): void {
    this.recomputedAt = this.aggregateNow();
    this.publish(this.state.recomputeAll(this.fullInput(this.recomputedAt)));
  }

  private fullInput(now: number): { views: VantageView[]; overrides: Override[]; loads: LoadReport[]; now: number; heartbeatTtlMs: number } {
    const loads = [...this.loads.values()].flatMap((reports) => [...reports.values()]);
    return { views: [...this.views.values()], overrides: this.overrideList, loads, now, heartbeatTtlMs: this.settings.heartbeatTtlMs + this.skewMs };
  }

  private publish(change: HealthChange | null): void {
    if (!change) return;
    this.stats.swaps++;
    for (const l of [...this.listeners]) {
      try {
        l(this.state, change);
      } catch (err) {
        this.log?.error({ err: (err as Error).message }, 'health: swap listener threw');
      }
    }
  }

  private checkConnection(): void {
    const c = this.bus.connected;
    if (c === this.loggedConnected) return;
    this.loggedConnected = c;
    if (c) {
      this.log?.info(this.everConnected ? 'health: bus reconnected; resyncing the whole state' : 'health: bus connected');
      this.everConnected = true;
    } else if (this.everConnected) {
      this.log?.warn('health: bus disconnected; serving the last snapshot until it returns (reconnecting with backoff)');
    } else {
      this.log?.warn('health: bus not connected since start; serving the cold-start snapshot until it is');
    }
  }
}
