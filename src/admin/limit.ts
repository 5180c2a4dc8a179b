/**
 * The API's bounds: its connections (src/obs/http-guard.ts enforces them, src/node/fds.ts reserves
 * descriptors for them) and a fixed-window request budget per key (one window per minute by
 * default). The budget is small on purpose: it backs the per-token limit, which must run after
 * authentication, where @fastify/rate-limit's per-IP limit has already run for the request.
 * @module
 */

/**
 * Open connections the admin API keeps: operators and their tools, not the internet. 256, not
 * fewer: automation writes in parallel (test/admin/concurrency.test.ts runs 100 writers at once,
 * and a cap of 64 refused a third of them). At the cap a new connection displaces the longest-idle one.
 */
export const ADMIN_MAX_CONNECTIONS = 256;
/**
 * Open connections one address keeps, half the cap: a new one displaces that address's
 * longest-idle connection, so one address can never hold more than half the API, and its own
 * burst of up to 128 requests in flight at once (100 parallel writers) is served.
 */
export const ADMIN_MAX_PER_SOURCE = 128;
export class FixedWindowLimiter {
  private readonly windows = new Map<string, { start: number; count: number }>();

  constructor(
    private readonly max: number,
    private readonly windowMs: number,
    private readonly now: () => number,
  ) {}

  /** Counts one request for `key`; returns 0 when allowed, else ms until the window resets. */
  take(key: string): number {
    const now = this.now();
    let w = this.windows.get(key);
    if (!w || now - w.start >= this.windowMs) {
      // Expired windows of other keys go too, so the map holds only keys active this minute.
      if (this.windows.size > 10_000) for (const [k, v] of this.windows) if (now - v.start >= this.windowMs) this.windows.delete(k);
      w = { start: now, count: 0 };
      this.windows.set(key, w);
    }
    w.count++;
    return w.count <= this.max ? 0 : this.windowMs - (now - w.start);
  }
}
