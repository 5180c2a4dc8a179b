/**
 * The dashboard's live feed: server-sent events of the dashboard state (state.ts), one a tick to
 * every open stream. Between ticks with no stream open, only the health flips are tracked, and only
 * when the health snapshot was swapped (snapshots are immutable, so an unchanged one has no flip).
 * @module
 */
import type { ServerResponse } from 'node:http';
import type { AdminDeps } from '../context.js';
import type { HealthSnapshot } from '../../health/snapshot.js';
import { FlipLog } from './flips.js';
import { dashboardState, healthNow, observed } from './state.js';

/** One state a second: an override shows within about a second, and the stream is never idle long enough for the connection guard's 30 s. */
export const UI_TICK_MS = 1000;

export class DashboardFeed {
  /** Each open stream with the check of its token: a token revoked while the page is open ends its stream. */
  private readonly streams = new Map<ServerResponse, () => Promise<boolean>>();
  readonly flips = new FlipLog();
  private timer: NodeJS.Timeout | null = null;
  private lastSnapshot: HealthSnapshot | null = null;
  private busy = false;

  constructor(private readonly deps: AdminDeps) {}

  start(): void {
    this.timer = setInterval(() => void this.tick(), UI_TICK_MS);
    this.timer.unref();
    void this.tick();
  }

  /**
   * Starts sending to `res` (its headers are written here); the first state goes at once. Before each
   * state `authorized` is asked again, and a stream whose token is gone is ended (the page then
   * reconnects, gets 401 and signs out).
   */
  add(res: ServerResponse, authorized: () => Promise<boolean>): void {
    res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-store', 'x-accel-buffering': 'no' });
    res.write('retry: 2000\n\n');
    this.streams.set(res, authorized);
    res.on('close', () => this.streams.delete(res));
    void this.tick();
  }

  get open(): number {
    return this.streams.size;
  }

  /** Ends every stream (the API is closing: an open stream would hold it). */
  close(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    for (const res of this.streams.keys()) res.end();
    this.streams.clear();
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
      const frame = `event: state\ndata: ${JSON.stringify(await dashboardState(this.deps, report, this.flips))}\n\n`;
      for (const [res, authorized] of this.streams) {
        if (await authorized()) res.write(frame);
        else {
          this.streams.delete(res);
          res.end();
        }
      }
    } catch (err) {
      this.deps.log.warn({ err: (err as Error).message }, 'dashboard: state');
    } finally {
      this.busy = false;
    }
  }
}
