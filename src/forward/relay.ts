/**
 * The byte relay between a client socket and a backend socket: the forwarder's inner loop, kept in
 * this one module so it can be replaced (bench/forward/ measures it) without touching the rest.
 *
 * Contract, whatever the implementation:
 * - Backpressure: a direction stops reading as soon as the other socket's write buffer is over its
 *   high-water mark, and resumes on `drain`. Memory per connection is bounded by the two sockets'
 *   buffers (about highWaterMark + one read chunk per direction), however slow either peer reads.
 * - Half-close: a FIN from one side is passed on with `end()` once its data is flushed, and the
 *   other direction keeps flowing (both sockets must have `allowHalfOpen: true`). The connection is
 *   over when both directions have ended.
 * - Errors: an error on either socket destroys both (no half-dead pairs).
 * - Idle: no read and no completed write on the client socket for `idleTimeoutMs` closes both; the
 *   client socket sees every byte of both directions, so one timer covers the pair.
 * - `onEnd` is called exactly once, after both sockets have closed.
 * @module
 */
import type { Socket } from 'node:net';

export type RelayEnd = 'done' | 'error' | 'idle' | 'aborted';

export interface RelayCounters {
  /** Bytes read from the client (and written to the backend). */
  fromClient: number;
  fromBackend: number;
}

export interface RelayOptions {
  idleTimeoutMs: number;
  onEnd(how: RelayEnd, error: Error | null, counters: RelayCounters): void;
}

export interface Relay {
  readonly counters: RelayCounters;
  /** Bytes held in memory by this pair now (both sockets' read and write buffers). */
  buffered(): number;
  /** Closes both sockets now (drain deadline, shutdown). */
  abort(): void;
}

export function startRelay(client: Socket, backend: Socket, opts: RelayOptions): Relay {
  const counters: RelayCounters = { fromClient: 0, fromBackend: 0 };
  let how: RelayEnd | null = null;
  let error: Error | null = null;
  let closed = 0;

  const finish = (h: RelayEnd, err: Error | null): void => {
    if (how === null) {
      how = h;
      error = err;
    }
  };
  const destroyBoth = (h: RelayEnd, err: Error | null): void => {
    finish(h, err);
    client.destroy();
    backend.destroy();
  };

  const pump = (src: Socket, dst: Socket, count: (n: number) => void): void => {
    src.on('data', (chunk: Buffer) => {
      count(chunk.length);
      if (!dst.write(chunk)) src.pause();
    });
    dst.on('drain', () => src.resume());
    // A FIN is passed on after the buffered data (end() flushes first); the other way keeps flowing.
    src.on('end', () => dst.end());
  };
  if (client.destroyed || backend.destroyed) {
    // One side left while the backend was being chosen: there is nothing to relay.
    client.destroy();
    backend.destroy();
    setImmediate(() => opts.onEnd('aborted', null, counters));
    return { counters, buffered: () => 0, abort: () => undefined };
  }
  pump(client, backend, (n) => (counters.fromClient += n));
  pump(backend, client, (n) => (counters.fromBackend += n));
  // A FIN that arrived while the backend was being chosen (the SNI reader saw it) was already emitted.
  if (client.readableEnded) backend.end();
  if (backend.readableEnded) client.end();

  for (const s of [client, backend]) {
    s.on('error', (err: Error) => destroyBoth('error', err));
    s.once('close', () => {
      const other = s === client ? backend : client;
      if (!other.destroyed) {
        // The pair is over once one side is gone: flush what the other still has to write, then close it.
        if (other.writableFinished) other.destroy();
        else {
          other.once('finish', () => other.destroy());
          if (!other.writableEnded) other.end();
          // A peer that never reads would keep the flush (and the socket) forever: bound it.
          other.setTimeout(opts.idleTimeoutMs, () => other.destroy());
        }
      }
      if (++closed === 2) opts.onEnd(how ?? 'done', error, counters);
    });
  }
  client.setTimeout(opts.idleTimeoutMs, () => destroyBoth('idle', null));
  // Data that arrived while the backend was being chosen waits in the client's read buffer.
  client.resume();
  backend.resume();

  return {
    counters,
    buffered: () => client.writableLength + backend.writableLength + client.readableLength + backend.readableLength,
    abort: () => destroyBoth('aborted', null),
  };
}
