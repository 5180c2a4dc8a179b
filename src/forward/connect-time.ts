/**
 * Each backend's connect time as an exponentially weighted moving average over time, what the
 * `least-response-time` balancer ranks by (pick.ts). Both relay lanes feed it: listener.ts times
 * every successful connect around the lane's own dial (a `net.Socket` or a libuv handle).
 *
 * - A sample's weight is `1 - e^(-Δt/τ)`, Δt the time since the backend's previous sample and τ
 *   `forward.leastResponseTime.decayMs` (Finagle's and Envoy's peak-EWMA family, without the
 *   peak). Weighting by time rather than by count makes the average cover about the last τ of
 *   traffic whatever the connection rate: at 1,000 connects/s one sample moves it by 0.01 %, at
 *   one a minute by 99.8 %.
 * - Failed connects are not samples: a refused connect is fast and must not make a backend look
 *   good; ejection (passive.ts) is what handles failures.
 * - The cost used for picking relaxes toward the pool's best average while a backend gets no new
 *   samples, with the same τ. A backend that was slow, and is therefore no longer picked, is thus
 *   tried again after a few τ instead of never; a new sample then shows whether it recovered.
 * @module
 */

/** A backend's average: `connectMs` is NaN until its first successful connect. */
export interface ConnectTimed {
  connectMs: number;
  /** When the last sample was taken (ms, monotonic: `performance.now()`). */
  connectAt: number;
}

/** The least cost a backend can have: keeps `(active + 1)` meaningful for a backend measured at ~0 ms. */
export const MIN_COST_MS = 0.001;

export function observeConnect(b: ConnectTimed, ms: number, now: number, decayMs: number): void {
  if (Number.isNaN(b.connectMs)) b.connectMs = ms;
  else {
    const keep = Math.exp(-Math.max(0, now - b.connectAt) / decayMs);
    b.connectMs = b.connectMs * keep + ms * (1 - keep);
  }
  b.connectAt = now;
}

/** Whether the backend has an average yet (a pool's Pickables may not carry one at all). */
export function measured(b: Partial<ConnectTimed>): b is ConnectTimed {
  return b.connectMs !== undefined && !Number.isNaN(b.connectMs);
}

/**
 * What `b` costs now, given `floor`, the best average of its pool: an unmeasured backend costs
 * `floor` (as a new backend in least-connections gets its share at once); a measured one its
 * average, relaxed toward `floor` by `e^(-idle/τ)` since its last sample.
 */
export function connectCost(b: Partial<ConnectTimed>, floor: number, now: number, decayMs: number): number {
  if (!measured(b)) return floor;
  const avg = Math.max(b.connectMs, MIN_COST_MS);
  if (avg <= floor) return avg;
  return floor + (avg - floor) * Math.exp(-Math.max(0, now - b.connectAt) / decayMs);
}

/** The best average among `pool` (at least MIN_COST_MS), or 1 when none is measured (then only connections count). */
export function poolFloor(pool: readonly Partial<ConnectTimed>[]): number {
  let floor = Infinity;
  for (const b of pool) if (measured(b) && b.connectMs < floor) floor = b.connectMs;
  return floor === Infinity ? 1 : Math.max(floor, MIN_COST_MS);
}
