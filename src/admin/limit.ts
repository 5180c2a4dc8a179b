/**
 * A fixed-window request budget per key (one window per minute by default). Small on purpose: it
 * backs the per-token limit, which must run after authentication, where @fastify/rate-limit's
 * per-IP limit has already run for the request.
 * @module
 */
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
