/**
 * The dashboard's live feed: server-sent events of the dashboard state (state.ts). Each tick the
 * state is built once; a stream gets it only when it differs from the last one that stream was
 * sent (its `at` aside), else a keep-alive comment now and then. Between ticks with no stream open,
 * only the health flips are tracked, and only when the health snapshot was swapped (snapshots are
 * immutable, so an unchanged one has no flip).
 *
 * Backpressure (fresh-eyes review of issue 19: 10 clients that stopped reading 770 KB frames grew
 * serve's memory by 200 MB in 48 s): a stream whose last write has not drained is sent nothing (the
 * next state it gets is the latest), so it buffers at most one frame, and one that has not drained
 * for UI_STREAM_SLOW_MS is ended. Every stream ends after UI_STREAM_MAX_MS (streams.ts).
 * @module
 */
import type { ServerResponse } from 'node:http';
import type { AdminDeps } from '../context.js';
import type { HealthSnapshot } from '../../health/snapshot.js';
import { FlipLog } from './flips.js';
import { dashboardState, healthNow, observed } from './state.js';
import { UI_STREAM_MAX_MS, UI_STREAM_SLOW_MS, type UiStreamStats } from './streams.js';

/** One tick a second: an override shows within about a second. */
export const UI_TICK_MS = 1000;
/** A comment on a stream with nothing new for this long, so the connection guard's 30 s idle timeout never closes it. */
export const UI_KEEP_ALIVE_MS = 10_000;

interface Stream {
  /** The check of its token: a token revoked while the page is open ends its stream. */
  authorized: () => Promise<boolean>;
  /** The state (without `at`) last written to it. */
  sent: string | null;
  /** performance.now() of the write that did not drain yet, or null. */
  blockedSince: number | null;
  lastWrite: number;
  lifetime: NodeJS.Timeout;
}

export class DashboardFeed {
  private readonly streams = new Map<ServerResponse, Stream>();
  readonly flips = new FlipLog();
  private timer: NodeJS.Timeout | null = null;
  private lastSnapshot: HealthSnapshot | null = null;
  private busy = false;

  constructor(
    private readonly deps: AdminDeps,
    private readonly stats: UiStreamStats,
  ) {}

  start(): void {
    this.timer = setInterval(() => void this.tick(), UI_TICK_MS);
    this.timer.unref();
    void this.tick();
  }

  /**
   * Starts sending to `res` (its headers are written here); the first state goes at once. Before each
   * state `authorized` is asked again, and a stream whose token is gone is ended (the page then
   * reconnects, gets 401 and signs out). `released` runs once when the stream is gone.
   */
  add(res: ServerResponse, authorized: () => Promise<boolean>, released: () => void): void {
    res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-store', 'x-accel-buffering': 'no' });
    res.write('retry: 2000\n\n');
    const lifetime = setTimeout(() => {
      this.stats.ended.lifetime++;
      res.end();
    }, UI_STREAM_MAX_MS);
    lifetime.unref();
    this.streams.set(res, { authorized, sent: null, blockedSince: null, lastWrite: performance.now(), lifetime });
    this.stats.open = this.streams.size;
    res.on('close', () => {
      clearTimeout(lifetime);
      this.streams.delete(res);
      this.stats.open = this.streams.size;
      released();
    });
    void this.tick();
  }

  get open(): number {
    return this.streams.size;
  }

  /** Ends every stream (the API is closing: an open stream would hold it). */
  close(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    for (const res of [...this.streams.keys()]) res.end();
  }

  private async tick(): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    try {
      const snapshot = this.deps.health();
      if (snapshot === this.lastSnapshot && this.streams.size === 0) return;
      this.lastSnapshot = snapshot;
      const report = healthNow(this.deps);
      this.flips.observe(observed(report), Date.now());
      if (this.streams.size === 0) return;
      const { at, ...rest } = await dashboardState(this.deps, report, this.flips);
      const key = JSON.stringify(rest);
      const frame = `event: state\ndata: {"at":${JSON.stringify(at)},${key.slice(1)}\n\n`;
      let maxBuffered = 0;
      for (const [res, s] of this.streams) {
        if (await s.authorized()) this.send(res, s, key, frame);
        else res.end();
        maxBuffered = Math.max(maxBuffered, res.writableLength);
      }
      this.stats.maxBuffered = maxBuffered;
    } catch (err) {
      this.deps.log.warn({ err: (err as Error).message }, 'dashboard: state');
    } finally {
      this.busy = false;
    }
  }

  /** The state `key` (as `frame`) to one stream, unless its last write has not drained (see the module comment). */
  private send(res: ServerResponse, s: Stream, key: string, frame: string): void {
    const now = performance.now();
    if (s.blockedSince !== null) {
      if (s.sent !== key) this.stats.framesSkipped++;
      if (now - s.blockedSince >= UI_STREAM_SLOW_MS) {
        this.stats.ended.slow++;
        res.destroy();
      }
      return;
    }
    let ok: boolean;
    if (s.sent !== key) {
      ok = res.write(frame);
      s.sent = key;
    } else if (now - s.lastWrite >= UI_KEEP_ALIVE_MS) ok = res.write(': keep-alive\n\n');
    else return;
    s.lastWrite = now;
    if (!ok) {
      s.blockedSince = now;
      res.once('drain', () => (s.blockedSince = null));
    }
  }
}
