/**
 * What clients may hold on an operators' HTTP listener (the admin API, /metrics): both have a small
 * connection cap that src/node/fds.ts reserves descriptors for, so idle sockets must never be able
 * to lock operators and scrapers out (fresh-eyes reviews of issue 16: 256 idle connections from one
 * address held the admin API for 120 s, then 30 s; 16 held /metrics for 61 s; 16 idle connections
 * relayed by the demo's forwarder to its /metrics backend took the probe's checks, and the region).
 *
 * The rules, those of DNS over TCP (gdnsd; src/dns/tcp.ts) with a per-address bound on top:
 * - a connection that moves no byte for `idleMs` is closed, TLS handshakes included;
 * - at `perSource` connections from one address, a new one from it displaces one of that address's
 *   idle connections; at `maxConnections` in all, one of any address's. Idle means no request in
 *   flight (from its headers until its response is done). The one displaced is, longest idle first:
 *   1. a connection that never started a request NEW_CONNECTION_GRACE_MS after it was accepted
 *      (an idle flood, a slowloris still sending its headers, a client that went away). A real
 *      client sends its request at once, but a busy server parses it a while after accepting the
 *      connection: displacing a connection younger than that reset a request already on its way
 *      (ECONNRESET in test/admin/concurrency.test.ts under load, at 2-5 ms after the accept);
 *   2. else one between keep-alive requests, idle for KEEP_ALIVE_REUSE_MS or more. Under that, its
 *      client may send its next request on it at any moment (fetch reuses an idle connection for
 *      4 s, Node's agent for 5 s), and closing it then fails that request ("other side closed");
 * - with nothing to displace at its own bound, an address whose connections are all busy or just
 *   used goes over the bound while the listener has room: that is a burst of real requests (100
 *   writers in parallel from one host, test/admin/concurrency.test.ts, open more than 128
 *   connections), not a flood. At the listener's cap with nothing to displace by those rules, a
 *   newcomer displaces the longest-idle connection (never one with a request in flight) of the
 *   address holding the most, its own included: no address keeps others out by re-using all its
 *   connections every few seconds or by a flood inside the grace, and a new request is a better bet
 *   than an idle connection (the demo's probe checks reach /metrics from the address its forwarder
 *   relays a flood from: test/integration/demo-flood.test.ts); only when every connection of that
 *   address has a request in flight is the new connection closed at once.
 * So an idle flood only ever displaces itself (within the grace it may go over its address's bound
 * while the listener has room, as a real burst does), and a flood from many addresses cannot keep a
 * newcomer out, while requests in flight, live keep-alive connections and requests on their way are
 * never cut.
 * @module
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Server, Socket } from 'node:net';

export interface HttpGuardOptions {
  /** Open connections in all; at it, a new connection displaces an idle one (see the rules above), else is closed. */
  maxConnections: number;
  /** Open connections per client address; at it, a new one displaces one of that address's idle ones. null = no bound but the total. */
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
  /** New connections closed at once: at the cap, nothing could be displaced. */
  refused: number;
  idleClosed: number;
}

/** How long a client may reuse an idle keep-alive connection: longer than undici's 4 s and Node's agent's 5 s. */
export const KEEP_ALIVE_REUSE_MS = 6_000;
/** How long a new connection has to start its first request before it counts as idle: the event-loop delay of a busy node. */
export const NEW_CONNECTION_GRACE_MS = 1_000;

interface Conn {
  socket: Socket;
  key: string;
  source: string;
  inFlight: number;
  /** Requests started on it. */
  requests: number;
  /** performance.now() when it last became idle (accepted, or its last response done). */
  idleSince: number;
}

/** A TLS socket and the TCP socket under it share the peer's address and port; both find the connection by them. */
const keyOf = (s: Socket): string => `${s.remoteAddress ?? ''}|${s.remotePort ?? 0}`;

/** The longest-idle connection with no request in flight among `conns`, or null. */
function longestIdle(conns: Iterable<Conn>): Conn | null {
  let best: Conn | null = null;
  for (const c of conns) if (c.inFlight === 0 && (best === null || c.idleSince < best.idleSince)) best = c;
  return best;
}

/** The connection to displace among `conns` (the rules in the module comment), or null. */
function victim(conns: Iterable<Conn>, now: number): Conn | null {
  let unused: Conn | null = null;
  let stale: Conn | null = null;
  for (const c of conns) {
    if (c.inFlight > 0) continue;
    if (c.requests === 0) {
      if (now - c.idleSince >= NEW_CONNECTION_GRACE_MS && (unused === null || c.idleSince < unused.idleSince)) unused = c;
    } else if (now - c.idleSince >= KEEP_ALIVE_REUSE_MS && (stale === null || c.idleSince < stale.idleSince)) stale = c;
  }
  return unused ?? stale;
}

export function guardHttpServer(server: Server, opts: HttpGuardOptions): HttpGuardStats {
  const stats: HttpGuardStats = { evictedSource: 0, evictedTotal: 0, refused: 0, idleClosed: 0 };
  const byKey = new Map<string, Conn>();
  const bySource = new Map<string, Set<Conn>>();

  const forget = (c: Conn): void => {
    if (byKey.get(c.key) === c) byKey.delete(c.key);
    const set = bySource.get(c.source);
    if (set?.delete(c) && set.size === 0) bySource.delete(c.source);
  };
  // 'close' comes a tick after destroy(): a displaced connection leaves the counts at once.
  const evict = (c: Conn): void => {
    forget(c);
    c.socket.destroy();
  };
  /** At the cap with nothing idle long enough: the biggest holder's longest-idle connection (never one in flight). */
  const fromBiggest = (): Conn | null => {
    let top: Set<Conn> | null = null;
    for (const set of bySource.values()) if (top === null || set.size > top.size) top = set;
    return top === null ? null : longestIdle(top);
  };
  /** Room for one more from `source`: true when there was room or an idle connection gave its place. */
  const makeRoom = (source: string, now: number): boolean => {
    const mine = bySource.get(source);
    if (opts.perSource !== null && mine && mine.size >= opts.perSource) {
      const v = victim(mine, now);
      if (v) {
        stats.evictedSource++;
        evict(v);
      }
    }
    if (byKey.size >= opts.maxConnections) {
      const v = victim(byKey.values(), now) ?? fromBiggest();
      if (!v) return false;
      stats.evictedTotal++;
      evict(v);
    }
    return true;
  };

  // Registered after the HTTP server's own listener, so its socket settings cannot undo these.
  server.on('connection', (socket: Socket) => {
    const source = socket.remoteAddress ?? '';
    const now = performance.now();
    if (!makeRoom(source, now)) {
      stats.refused++;
      socket.destroy();
      return;
    }
    const conn: Conn = { socket, key: keyOf(socket), source, inFlight: 0, requests: 0, idleSince: now };
    byKey.set(conn.key, conn);
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
    conn.requests++;
    res.once('close', () => {
      conn.inFlight--;
      if (conn.inFlight === 0) conn.idleSince = performance.now();
    });
  });
  return stats;
}
