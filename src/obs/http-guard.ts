/**
 * What clients may hold on an operators' HTTP listener (the admin API, /metrics): both have a small
 * connection cap that src/node/fds.ts reserves descriptors for, so idle sockets must never be able
 * to lock operators and scrapers out (fresh-eyes reviews of issue 16: 256 idle connections from one
 * address held the admin API for 120 s, then 30 s; 16 held /metrics for 61 s; 16 idle connections
 * relayed by the demo's forwarder to its /metrics backend took the probe's checks, and the region).
 *
 * The rules, those of DNS over TCP (gdnsd; src/dns/tcp.ts) with a per-address bound on top:
 * - a connection that moves no byte for `idleMs` is closed, TLS handshakes included;
 * - at `perSource` connections from one address, a new one from it closes that address's
 *   longest-idle connection; at `maxConnections` in all, a new one closes the longest-idle
 *   connection of any address. Idle means no request in flight (read from its headers until its
 *   response is done): a connection between keep-alive requests, one still sending its headers,
 *   or one that never sent a byte. So an idle flood only ever displaces itself, while a burst of
 *   active requests from one host (automation writing in parallel) keeps working up to the cap;
 * - only when every candidate has a request in flight is the new connection closed at once.
 * @module
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Server, Socket } from 'node:net';

export interface HttpGuardOptions {
  /** Open connections in all; at it, a new connection displaces the longest-idle one. */
  maxConnections: number;
  /** Open connections per client address; at it, a new one displaces that address's longest-idle one. null = no bound but the total. */
  perSource: number | null;
  /** A connection with no byte either way for this long is closed. */
  idleMs: number;
}

/** Counts by reason, for tests and metrics. */
export interface HttpGuardStats {
  /** Idle connections closed to make room for a newer one from the same address. */
  evictedSource: number;
  /** Idle connections closed to make room at the listener's cap. */
  evictedTotal: number;
  /** New connections closed at once: every candidate had a request in flight. */
  refused: number;
  idleClosed: number;
}

interface Conn {
  socket: Socket;
  key: string;
  source: string;
  inFlight: number;
  /** When it last became idle, in guard events (a sequence, not a clock: only the order matters). */
  idleSince: number;
}

/** A TLS socket and the TCP socket under it share the peer's address and port; both find the connection by them. */
const keyOf = (s: Socket): string => `${s.remoteAddress ?? ''}|${s.remotePort ?? 0}`;

function longestIdle(conns: Iterable<Conn>): Conn | null {
  let best: Conn | null = null;
  for (const c of conns) if (c.inFlight === 0 && (best === null || c.idleSince < best.idleSince)) best = c;
  return best;
}

export function guardHttpServer(server: Server, opts: HttpGuardOptions): HttpGuardStats {
  const stats: HttpGuardStats = { evictedSource: 0, evictedTotal: 0, refused: 0, idleClosed: 0 };
  const byKey = new Map<string, Conn>();
  const bySource = new Map<string, Set<Conn>>();
  let clock = 0;

  const forget = (c: Conn): void => {
    if (byKey.get(c.key) === c) byKey.delete(c.key);
    const set = bySource.get(c.source);
    if (set?.delete(c) && set.size === 0) bySource.delete(c.source);
  };
  // 'close' comes a tick after destroy(): an evicted connection leaves the counts at once.
  const evict = (c: Conn): void => {
    forget(c);
    c.socket.destroy();
  };
  /** Room for one more from `source`: true when there was room or an idle connection gave its place. */
  const makeRoom = (source: string): boolean => {
    const mine = bySource.get(source);
    if (opts.perSource !== null && mine && mine.size >= opts.perSource) {
      const victim = longestIdle(mine);
      if (!victim) return false;
      stats.evictedSource++;
      evict(victim);
    }
    if (byKey.size >= opts.maxConnections) {
      const victim = longestIdle(byKey.values());
      if (!victim) return false;
      stats.evictedTotal++;
      evict(victim);
    }
    return true;
  };

  // Registered after the HTTP server's own listener, so its socket settings cannot undo these.
  server.on('connection', (socket: Socket) => {
    const source = socket.remoteAddress ?? '';
    const key = keyOf(socket);
    if (!makeRoom(source)) {
      stats.refused++;
      socket.destroy();
      return;
    }
    const conn: Conn = { socket, key, source, inFlight: 0, idleSince: ++clock };
    byKey.set(key, conn);
    let set = bySource.get(source);
    if (!set) bySource.set(source, (set = new Set()));
    set.add(conn);
    socket.setTimeout(opts.idleMs, () => {
      stats.idleClosed++;
      socket.destroy();
    });
    socket.once('close', () => forget(conn));
  });
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    const conn = byKey.get(keyOf(req.socket));
    if (!conn) return;
    conn.inFlight++;
    res.once('close', () => {
      conn.inFlight--;
      if (conn.inFlight === 0) conn.idleSince = ++clock;
    });
  });
  return stats;
}
