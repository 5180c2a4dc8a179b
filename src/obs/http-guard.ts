/**
 * What one client may hold on an operators' HTTP listener (the admin API, /metrics): both have a
 * small connection cap, so a few hundred idle sockets from one address used to lock every operator
 * and scraper out (a fresh-eyes review of issue 16: 256 idle connections held the admin API for
 * 120 s, 16 held /metrics for 61 s). A connection that moves no byte for `idleMs` is closed, TLS
 * handshakes included, and each address may hold at most `perSource` connections.
 * @module
 */
import type { Server, Socket } from 'node:net';

export interface HttpGuardOptions {
  /** Open connections one client address may hold, more are closed at once; null = no limit. */
  perSource: number | null;
  /** A connection with no byte either way for this long is closed. */
  idleMs: number;
}

/** Counts refusals by reason, for tests and metrics. */
export interface HttpGuardStats {
  refusedSource: number;
  idleClosed: number;
}

export function guardHttpServer(server: Server, opts: HttpGuardOptions): HttpGuardStats {
  const stats: HttpGuardStats = { refusedSource: 0, idleClosed: 0 };
  const open = new Map<string, number>();
  // Registered after the HTTP server's own listener, so its socket settings cannot undo these.
  server.on('connection', (socket: Socket) => {
    const source = socket.remoteAddress ?? '';
    const count = (open.get(source) ?? 0) + 1;
    if (opts.perSource !== null && count > opts.perSource) {
      stats.refusedSource++;
      socket.destroy();
      return;
    }
    open.set(source, count);
    socket.setTimeout(opts.idleMs, () => {
      stats.idleClosed++;
      socket.destroy();
    });
    socket.once('close', () => {
      const left = (open.get(source) ?? 1) - 1;
      if (left > 0) open.set(source, left);
      else open.delete(source);
    });
  });
  return stats;
}
