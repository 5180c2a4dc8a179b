/**
 * The embedded-mode HealthBus: probes and the DNS node in one process, no Redis. It behaves like
 * the Redis bus where callers could tell the difference: heartbeats expire (on an injectable
 * clock, so tests need no sleeps), events arrive asynchronously, reads return copies, and
 * publishChange without a live view is refused. Overrides persist to a JSON file when a path is
 * given, written atomically so a crash mid-write leaves the previous file intact.
 * @module
 */
import { closeSync, fsyncSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import { parseLoadReport } from './load.js';
import { isExpired, parseOverride } from './overrides.js';
import type { BusEvent, EndpointKey, EndpointObservation, HealthBus, LoadReport, Override, OverrideScope, VantageView } from './types.js';

export interface MemoryBusOptions {
  /** Clock for heartbeat and override expiry (ms since epoch). */
  now?: () => number;
  /** Where overrides persist; absent = in memory only (tests, throwaway demos). */
  overridesFile?: string;
}

/** Thrown by publishChange when the vantage has no live view: the probe must writeView first. */
export class NoViewError extends Error {
  constructor(vantage: string) {
    super(`health bus: vantage '${vantage}' has no live view; call writeView first`);
    this.name = 'NoViewError';
  }
}

interface StoredView {
  view: VantageView;
  expiresAt: number;
}

export function cloneView(v: VantageView): VantageView {
  return {
    vantage: v.vantage,
    region: v.region,
    heartbeatAt: v.heartbeatAt,
    endpoints: new Map([...v.endpoints].map(([k, o]) => [k, { ...o }])),
  };
}

export class MemoryBus implements HealthBus {
  readonly connected = true;
  private readonly now: () => number;
  private readonly file: string | undefined;
  private readonly views = new Map<string, StoredView>();
  private readonly overrides = new Map<OverrideScope, Override>();
  /** region → forwarder → report and its expiry, as the Redis hash `load:<region>` per forwarder. */
  private readonly loads = new Map<string, Map<string, { report: LoadReport; expiresAt: number }>>();
  private readonly listeners = new Set<(event: BusEvent) => void>();
  /** Serialises file writes so two quick overrides cannot land out of order. */
  private writing: Promise<void> = Promise.resolve();
  private closed = false;

  /** Loads the overrides file now; a corrupt file throws (losing operator overrides silently is worse than not starting). */
  constructor(opts: MemoryBusOptions = {}) {
    this.now = opts.now ?? Date.now;
    this.file = opts.overridesFile;
    if (this.file) for (const o of loadOverridesFile(this.file)) this.overrides.set(o.scope, o);
  }

  async writeView(view: VantageView, heartbeatTtlMs: number): Promise<void> {
    this.checkOpen();
    this.views.set(view.vantage, { view: cloneView(view), expiresAt: this.now() + heartbeatTtlMs });
    this.emit({ kind: 'view', vantage: view.vantage });
  }

  async beat(vantage: string, region: string | null, heartbeatAt: number, heartbeatTtlMs: number): Promise<boolean> {
    this.checkOpen();
    const stored = this.live(vantage);
    if (!stored) return false;
    stored.view.heartbeatAt = heartbeatAt;
    stored.view.region = region;
    stored.expiresAt = this.now() + heartbeatTtlMs;
    this.emit({ kind: 'beat', vantage, region, heartbeatAt });
    return true;
  }

  async publishChange(vantage: string, endpoint: EndpointKey, observation: EndpointObservation): Promise<void> {
    this.checkOpen();
    const stored = this.live(vantage);
    if (!stored) throw new NoViewError(vantage);
    stored.view.endpoints.set(endpoint, { ...observation });
    this.emit({ kind: 'change', vantage, endpoint, observation: { ...observation } });
  }

  async readViews(): Promise<VantageView[]> {
    this.checkOpen();
    const out: VantageView[] = [];
    for (const id of [...this.views.keys()]) {
      const stored = this.live(id);
      if (stored) out.push(cloneView(stored.view));
    }
    return out;
  }

  async writeLoad(report: LoadReport, ttlMs: number): Promise<void> {
    this.checkOpen();
    // Same validation as a report read back from Redis: a bad report must fail its writer, not its readers.
    const r = parseLoadReport(report);
    if (!r) throw new Error('health bus: invalid load report');
    let byForwarder = this.loads.get(r.region);
    if (!byForwarder) this.loads.set(r.region, (byForwarder = new Map()));
    byForwarder.set(r.forwarder, { report: r, expiresAt: this.now() + ttlMs });
    this.emit({ kind: 'load', report: structuredClone(r) });
  }

  async readLoads(regions: string[]): Promise<LoadReport[]> {
    this.checkOpen();
    const now = this.now();
    const out: LoadReport[] = [];
    for (const region of regions) {
      const byForwarder = this.loads.get(region);
      if (!byForwarder) continue;
      for (const [id, { report, expiresAt }] of [...byForwarder]) {
        if (expiresAt <= now) byForwarder.delete(id);
        else out.push(structuredClone(report));
      }
    }
    return out;
  }

  async readOverrides(): Promise<Override[]> {
    this.checkOpen();
    // Expired records are not returned, as from Redis; the file drops them at its next write.
    const now = this.now();
    return [...this.overrides.values()].filter((o) => !isExpired(o, now)).map((o) => ({ ...o }));
  }

  async writeOverride(override: Override): Promise<void> {
    this.checkOpen();
    const o = parseOverride(override);
    const prev = this.overrides.get(o.scope);
    this.overrides.set(o.scope, o);
    await this.persist().catch((err: unknown) => {
      // Not stored means not in force: the operator must see the failure, not a half-applied override.
      if (prev) this.overrides.set(o.scope, prev);
      else this.overrides.delete(o.scope);
      throw err;
    });
    this.emit({ kind: 'override' });
  }

  async deleteOverride(scope: OverrideScope): Promise<boolean> {
    this.checkOpen();
    const prev = this.overrides.get(scope);
    if (!prev) return false;
    this.overrides.delete(scope);
    await this.persist().catch((err: unknown) => {
      this.overrides.set(scope, prev);
      throw err;
    });
    this.emit({ kind: 'override' });
    return true;
  }

  async sweepExpiredOverrides(): Promise<Override[]> {
    this.checkOpen();
    const now = this.now();
    const swept = [...this.overrides.values()].filter((o) => isExpired(o, now));
    if (swept.length === 0) return [];
    for (const o of swept) this.overrides.delete(o.scope);
    await this.persist().catch((err: unknown) => {
      for (const o of swept) if (!this.overrides.has(o.scope)) this.overrides.set(o.scope, o);
      throw err;
    });
    return swept.map((o) => ({ ...o }));
  }

  /**
   * Re-reads the overrides file, for edits made by another process (`meridian override` while
   * `serve` runs, or a hand edit, as gdnsd watches its admin_state). A corrupt file is reported
   * and the overrides in force stay as they are.
   */
  reloadOverridesFile(): { ok: true; changed: boolean } | { ok: false; error: string } {
    if (!this.file || this.closed) return { ok: true, changed: false };
    let loaded: Override[];
    try {
      loaded = loadOverridesFile(this.file);
    } catch (err) {
      return { ok: false, error: (err as Error).message };
    }
    const before = JSON.stringify([...this.overrides.values()].sort((a, b) => a.scope.localeCompare(b.scope)));
    const after = JSON.stringify([...loaded].sort((a, b) => a.scope.localeCompare(b.scope)));
    if (before === after) return { ok: true, changed: false };
    this.overrides.clear();
    for (const o of loaded) this.overrides.set(o.scope, o);
    this.emit({ kind: 'override' });
    return { ok: true, changed: true };
  }

  subscribe(listener: (event: BusEvent) => void): () => void {
    this.listeners.add(listener);
    // Redis subscribers get `resync` once connected; a memory subscriber is connected at once.
    queueMicrotask(() => {
      if (this.listeners.has(listener)) safeCall(listener, { kind: 'resync' });
    });
    return () => this.listeners.delete(listener);
  }

  async close(): Promise<void> {
    this.closed = true;
    this.listeners.clear();
    await this.writing;
  }

  /** The stored view if its heartbeat has not expired; expired ones are dropped, as Redis would. */
  private live(vantage: string): StoredView | undefined {
    const stored = this.views.get(vantage);
    if (stored && stored.expiresAt <= this.now()) {
      this.views.delete(vantage);
      return undefined;
    }
    return stored;
  }

  private emit(event: BusEvent): void {
    // Delivered later, like a pub/sub message: a listener must never run inside the writer's call.
    for (const l of [...this.listeners]) queueMicrotask(() => safeCall(l, event));
  }

  private persist(): Promise<void> {
    const file = this.file;
    if (!file) return Promise.resolve();
    // Expired overrides are dropped from the file, so it does not grow with every past maintenance.
    const now = this.now();
    const data = [...this.overrides.values()].filter((o) => o.expiresAt === null || o.expiresAt > now);
    const next = this.writing.then(() => writeFileAtomic(file, JSON.stringify(data, null, 2) + '\n'));
    this.writing = next.catch(() => undefined);
    return next;
  }

  private checkOpen(): void {
    if (this.closed) throw new Error('health bus: closed');
  }
}

function safeCall(listener: (event: BusEvent) => void, event: BusEvent): void {
  try {
    listener(event);
  } catch {
    // A listener's bug must not stop delivery to the others (the DNS node's source never throws).
  }
}

/** Reads the overrides file: missing = none; anything unparsable throws with the file name. */
export function loadOverridesFile(file: string): Override[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  try {
    const data: unknown = JSON.parse(text);
    if (!Array.isArray(data)) throw new Error('expected a JSON array of overrides');
    return data.map(parseOverride);
  } catch (err) {
    throw new Error(`${file}: ${(err as Error).message}`, { cause: err });
  }
}

/**
 * temp file + fsync + rename + fsync of the directory: after a crash the file is either the old
 * or the new content, never a prefix, and the rename itself is durable.
 */
export async function writeFileAtomic(file: string, text: string): Promise<void> {
  const tmp = `${file}.${process.pid}.${Date.now()}.tmp`;
  const fd = openSync(tmp, 'w', 0o644);
  try {
    writeSync(fd, text);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, file);
  try {
    const dfd = openSync(dirname(file), 'r');
    try {
      fsyncSync(dfd);
    } finally {
      closeSync(dfd);
    }
  } catch {
    // Some platforms cannot fsync a directory; the rename is still atomic there.
  }
}
