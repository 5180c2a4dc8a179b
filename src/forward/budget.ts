/**
 * The process's file-descriptor budget for relayed connections.
 *
 * A relayed connection holds two descriptors (the client's and the backend's, or the relay hop's).
 * Without a bound, an idle flood to one listener used every descriptor the process had, and DNS
 * over TCP, the admin API, /metrics and the in-process probes (all in the same process when the
 * forwarder is embedded in `meridian serve`) failed with EMFILE. So:
 * - the descriptor limit is read once at start ({@link readFdLimit});
 * - the process assembly (src/node/fds.ts) keeps a reserve for everything that is not a relayed
 *   connection; what is left, halved, is the number of relayed connections the process may hold
 *   ({@link ConnectionBudget.connections}), across all its listeners and forwarders;
 * - a listener without `maxConnections` gets an equal share of it (at most {@link MAX_DEFAULT_CAP}), and refusals that close
 *   cleanly (they linger up to a second to read the client's FIN) are bounded too, so a refused
 *   flood cannot eat the reserve either.
 * @module
 */
import { readFileSync } from 'node:fs';

/** Refusals that may linger (reading until the client's FIN, up to a second) at once; beyond, a refusal closes at once. */
export const MAX_LINGERING_REFUSALS = 64;
/**
 * The most a listener without `maxConnections` takes: 10,000 connections is about what one core
 * relays, and 1.25 GiB of read buffers (2 × `readBufferBytes`); also its cap when the process has no
 * budget (a forwarder started as a library: tests, benches).
 */
export const MAX_DEFAULT_CAP = 10_000;

/**
 * The soft RLIMIT_NOFILE of this process, or null when it cannot be read. Node has no API for
 * getrlimit(2); on Linux /proc/self/limits holds it (the "Max open files" soft column). Reading a
 * file keeps this free of a shell (`ulimit -n` through a parent is what other systems would need);
 * elsewhere the caller treats the limit as unknown. "unlimited" is reported as null as well.
 */
export function readFdLimit(limitsText?: string): number | null {
  let text = limitsText;
  if (text === undefined) {
    try {
      text = readFileSync('/proc/self/limits', 'utf8');
    } catch {
      return null;
    }
  }
  const m = /^Max open files\s+(\d+|unlimited)\s/m.exec(text);
  if (!m || m[1] === 'unlimited') return null;
  return Number(m[1]);
}

/** Relayed connections that fit in `limit` descriptors once `reserve` are kept for the rest (two each). */
export function connectionsFor(limit: number, reserve: number): number {
  return Math.max(0, Math.floor((limit - reserve) / 2));
}

/**
 * Relayed connections open in this process against their maximum. Listeners take one per admitted
 * connection and give it back when it closes; every forwarder of the process shares one budget.
 */
export class ConnectionBudget {
  /** Admitted relayed connections now. */
  inUse = 0;
  /** Refusals now reading up to the client's FIN. */
  lingering = 0;
  private listeners = 0;

  /**
   * @param limit the descriptor limit read at start (null: unknown, unbounded)
   * @param reserve descriptors kept for everything else
   */
  constructor(
    readonly limit: number | null,
    readonly reserve: number,
  ) {}

  /** A budget that never refuses, for forwarders started without one (listener caps then default to {@link MAX_DEFAULT_CAP}). */
  static unbounded(): ConnectionBudget {
    return new ConnectionBudget(null, 0);
  }

  /** Relayed connections the process may hold; Infinity when the limit is unknown. */
  get connections(): number {
    return this.limit === null ? Infinity : connectionsFor(this.limit, this.reserve);
  }

  /** A listener joins (its default cap is a share of the budget); returns the function that leaves. */
  join(): () => void {
    this.listeners++;
    let left = false;
    return () => {
      if (!left) this.listeners--;
      left = true;
    };
  }

  /** The default cap of a listener: an equal share of the budget among the process's listeners, at most {@link MAX_DEFAULT_CAP}. */
  share(): number {
    const total = this.connections;
    if (total === Infinity) return MAX_DEFAULT_CAP;
    return Math.max(1, Math.min(MAX_DEFAULT_CAP, Math.floor(total / Math.max(1, this.listeners))));
  }

  /** One relayed connection, if the budget has room. */
  take(): boolean {
    if (this.inUse >= this.connections) return false;
    this.inUse++;
    return true;
  }

  give(): void {
    this.inUse--;
  }

  /** Room for one more lingering refusal (else the refusal closes at once). */
  takeLinger(): boolean {
    if (this.lingering >= MAX_LINGERING_REFUSALS) return false;
    this.lingering++;
    return true;
  }

  giveLinger(): void {
    this.lingering--;
  }
}
