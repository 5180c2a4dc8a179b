/**
 * Bounds on the dashboard's event streams (fresh-eyes review of issue 19). A stream is a request in
 * flight for as long as it is open, so the connection guard (src/obs/http-guard.ts) never displaces
 * it: 256 streams from one address held every slot of the admin API and locked operators out. So
 * streams are counted here, well below the guard's bounds (256 connections, 128 per address), and
 * one over a bound is refused with 429 `MERIDIAN_ERR_TOO_MANY_STREAMS` (its connection is then an
 * ordinary idle one the guard may displace). A stream also has a maximum lifetime, and one whose
 * client stops reading is ended (events.ts).
 * @module
 */
import { AdminError } from '../errors.js';

/** Streams per token: a wall screen and a few operators' tabs share one viewer token. */
export const UI_STREAMS_PER_TOKEN = 8;
/** Streams per client address: a NAT of a few operators; an eighth of the guard's 128 per address. */
export const UI_STREAMS_PER_ADDRESS = 16;
/** Streams in all: a quarter of the guard's 256 connections, so streams never hold the API. */
export const UI_STREAMS_TOTAL = 64;
/** The server ends a stream after this long; the page reconnects at once (a token's stream cannot outlive a leak by much, and a stuck one goes). */
export const UI_STREAM_MAX_MS = 10 * 60_000;
/** A stream whose output has not drained for this long (its client stopped reading) is ended: its buffer holds at most one frame meanwhile. */
export const UI_STREAM_SLOW_MS = 5_000;

/** What the streams did, for /metrics (`meridian_admin_ui_*`). */
export interface UiStreamStats {
  open: number;
  refused: { token: number; address: number; total: number };
  /** Frames not written to a stream whose previous one had not drained (only the latest state matters). */
  framesSkipped: number;
  ended: { slow: number; lifetime: number };
  /** The largest output buffered for one open stream (bytes, the socket's included). */
  maxBuffered: number;
}

export const newUiStreamStats = (): UiStreamStats => ({ open: 0, refused: { token: 0, address: 0, total: 0 }, framesSkipped: 0, ended: { slow: 0, lifetime: 0 }, maxBuffered: 0 });

/** Open streams by token and by address; `admit` throws 429 when one more would pass a bound. */
export class StreamCounts {
  private readonly byToken = new Map<string, number>();
  private readonly byAddress = new Map<string, number>();
  private total = 0;

  constructor(private readonly stats: UiStreamStats) {}

  /** Counts a new stream of `token` from `address`; the returned function uncounts it (call once). */
  admit(token: string, address: string): () => void {
    const refuse = (which: keyof UiStreamStats['refused'], what: string): never => {
      this.stats.refused[which]++;
      throw new AdminError('MERIDIAN_ERR_TOO_MANY_STREAMS', `${what}; close a dashboard tab or retry later`);
    };
    if ((this.byToken.get(token) ?? 0) >= UI_STREAMS_PER_TOKEN) refuse('token', `token ${token} already has ${UI_STREAMS_PER_TOKEN} event streams open`);
    if ((this.byAddress.get(address) ?? 0) >= UI_STREAMS_PER_ADDRESS) refuse('address', `${address} already has ${UI_STREAMS_PER_ADDRESS} event streams open`);
    if (this.total >= UI_STREAMS_TOTAL) refuse('total', `the API already has ${UI_STREAMS_TOTAL} event streams open`);
    const bump = (m: Map<string, number>, k: string, d: number): void => {
      const n = (m.get(k) ?? 0) + d;
      if (n > 0) m.set(k, n);
      else m.delete(k);
    };
    bump(this.byToken, token, 1);
    bump(this.byAddress, address, 1);
    this.total++;
    let done = false;
    return () => {
      if (done) return;
      done = true;
      bump(this.byToken, token, -1);
      bump(this.byAddress, address, -1);
      this.total--;
    };
  }
}
