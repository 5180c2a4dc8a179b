/**
 * The accept hook of plain listeners: each accepted handle goes to the fast lane (fast-lane.ts),
 * or becomes a socket whose reads go into the relay's reused buffer (relay.ts, `relayReads`).
 *
 * `net.Server` gives no way to pass `onread` to the sockets it accepts (only `net.connect()` and
 * `new net.Socket()` take it), and without it every read of a client allocates a fresh 64 KiB
 * buffer: on bulk transfers that cost a third of the forwarder's throughput (page faults on every
 * read and V8 external-memory GCs; bench/forward/README.md). So, as `net.Server` itself does in its
 * `onconnection`, we build the accepted `Socket` around the accepted handle, adding `onread`.
 *
 * This leans on two parts of `node:net` that are not public API: the listening handle's
 * `onconnection(err, clientHandle)` callback and the `handle` option of `new net.Socket()`. Both
 * are what `net.Server` uses internally (checked on Node 20). When either is missing, `installAccept`
 * returns false and the server keeps its normal accept path, which works the same, only slower;
 * test/forward/accept.test.ts fails on a Node where the fast path is no longer installed, so an
 * upgrade cannot lose it silently.
 * @module
 */
import { Socket, type Server } from 'node:net';
import { relayReads, usesRelayReads } from './relay.js';

interface AcceptingHandle {
  onconnection?: (err: number, clientHandle: unknown) => void;
}
interface ServerInternals {
  _handle?: AcceptingHandle | null;
  _connections?: number;
}
interface SocketInternals {
  server?: Server;
  _server?: Server;
}

/**
 * Replaces the accept path of a listening server: every accepted handle goes to `onHandle`, which
 * either builds a socket with {@link socketFromHandle} or relays on the handle itself (fast-lane.ts).
 * Call after `listen()` has completed. Returns false (and changes nothing) when this Node does not
 * have the internals it needs.
 */
export function installAccept(server: Server, onHandle: (clientHandle: unknown) => void): boolean {
  const internals = server as unknown as ServerInternals;
  const handle = internals._handle;
  if (!handle || typeof handle.onconnection !== 'function' || typeof internals._connections !== 'number') return false;
  handle.onconnection = (err, clientHandle) => {
    if (err) {
      server.emit('error', new Error(`accept failed (libuv error ${err})`));
      return;
    }
    onHandle(clientHandle);
  };
  return true;
}

/**
 * The socket net.Server would have built around an accepted handle, paused (as with
 * `pauseOnConnect`), half-open allowed, TCP_NODELAY on, reading through the relay's buffer.
 */
export function socketFromHandle(server: Server, clientHandle: unknown): Socket {
  const internals = server as unknown as ServerInternals;
  const socket = new Socket({
    handle: clientHandle,
    allowHalfOpen: true,
    pauseOnCreate: true,
    readable: true,
    writable: true,
    onread: relayReads,
  } as ConstructorParameters<typeof Socket>[0]);
  usesRelayReads(socket);
  socket.setNoDelay(true);
  // The bookkeeping net.Server does, so that close() and getConnections() still count these.
  internals._connections = (internals._connections ?? 0) + 1;
  (socket as unknown as SocketInternals).server = server;
  (socket as unknown as SocketInternals)._server = server;
  return socket;
}
