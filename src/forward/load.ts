/**
 * Load reports: every `reportIntervalMs` the forwarder publishes its active connections, new
 * connections per second and connect failures per second, per backend and in total, with its
 * capacity, to the health bus (`{meridian}:load:<region>` in Redis, or the embedded bus). DNS
 * nodes turn them into a utilisation per region and lower the region's effective weight past the
 * threshold (src/health/load.ts). Rates come from the difference of cumulative counters between
 * two reports over the real elapsed time, so a late tick does not inflate them.
 * @module
 */
import type { HealthBus, LoadCounters, LoadReport } from '../health/types.js';
import type { Logger } from '../obs/log.js';
import type { ForwarderState } from './state.js';

export interface LoadReporterOptions {
  bus: HealthBus;
  region: string;
  forwarder: string;
  state: ForwarderState;
  capacity(): number;
  intervalMs: number;
  ttlMs: number;
  log?: Logger;
  now?: () => number;
}

interface Totals {
  at: number;
  accepted: number;
  backends: Map<string, { connections: number; failures: number }>;
}

export class LoadReporter {
  private timer: NodeJS.Timeout | null = null;
  private prev: Totals;
  private failing = false;
  private inFlight = false;
  private readonly now: () => number;
  /** The last report built (published or not). */
  last: LoadReport | null = null;
  published = 0;
  failed = 0;

  constructor(private readonly opts: LoadReporterOptions) {
    this.now = opts.now ?? Date.now;
    this.prev = this.totals();
  }

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => void this.tick(), this.opts.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /** Builds and publishes one report (the timer calls it; tests call it directly). */
  async tick(): Promise<LoadReport> {
    const report = this.build();
    // One write in flight at most: a slow Redis must not pile up writes, the next tick has newer news.
    if (this.inFlight) return report;
    this.inFlight = true;
    try {
      await this.opts.bus.writeLoad(report, this.opts.ttlMs);
      this.published++;
      if (this.failing) this.opts.log?.info('load reports are published again');
      this.failing = false;
    } catch (err) {
      this.failed++;
      if (!this.failing) this.opts.log?.warn({ err: (err as Error).message }, 'cannot publish load report; routing keeps the last one until its TTL');
      this.failing = true;
    } finally {
      this.inFlight = false;
    }
    return report;
  }

  build(): LoadReport {
    const cur = this.totals();
    const dt = Math.max(1, cur.at - this.prev.at) / 1000;
    const rate = (a: number, b: number): number => Math.max(0, a - b) / dt;
    const backends: Record<string, LoadCounters> = {};
    let failures = 0;
    for (const [key, b] of cur.backends) {
      const p = this.prev.backends.get(key) ?? { connections: 0, failures: 0 };
      const record = this.opts.state.backends.get(key)!;
      const f = rate(b.failures, p.failures);
      failures += f;
      backends[key] = { active: record.active, newPerSec: rate(b.connections, p.connections), connectFailuresPerSec: f };
    }
    const report: LoadReport = {
      region: this.opts.region,
      forwarder: this.opts.forwarder,
      at: cur.at,
      ttlMs: this.opts.ttlMs,
      capacity: Math.max(1, this.opts.capacity()),
      active: this.opts.state.active,
      newPerSec: rate(cur.accepted, this.prev.accepted),
      connectFailuresPerSec: failures,
      backends,
    };
    this.prev = cur;
    this.last = report;
    return report;
  }

  private totals(): Totals {
    let accepted = 0;
    for (const c of this.opts.state.listeners.values()) accepted += c.accepted;
    const backends = new Map<string, { connections: number; failures: number }>();
    for (const [key, b] of this.opts.state.backends) backends.set(key, { connections: b.connections, failures: b.connectFailures });
    return { at: this.now(), accepted, backends };
  }
}
