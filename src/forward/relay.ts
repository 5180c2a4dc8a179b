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
 * - Errors: an error on either socket destroys both (no half-dead pairs), and the other side is
 *   reset, not closed with a FIN: a backend's reset must not make a truncated stream look complete
 *   to the client (nor a client's reset look like a finished request to the backend). A side that
 *   has already sent its FIN can only be closed.
 * - Idle: no byte read on either side and no progress of either write queue for `idleTimeoutMs`
 *   closes both (checked by one sweep timer for all pairs, so within a sweep period of the limit).
 * - `onEnd` is called exactly once, after both sockets have closed.
 *
 * How it stays cheap (bench/forward/README.md, "Relay research", measured each of these):
 * - Sockets created with {@link relayReads} (backend sockets from `net.connect`, client sockets
 *   from accept.ts) read into a buffer of their own, reused read after read, instead of a fresh
 *   64 KiB buffer per read. Fresh buffers are what made bulk transfers slow: every read faulted
 *   in new pages and V8 ran its external-memory GCs every few tens of milliseconds. Reuse is safe
 *   because a read's bytes are handed to `write()` at once; when that write could not complete
 *   synchronously, the buffer belongs to the write queue and the socket gets a new one.
 *   The buffer is per socket, never shared: node holds the buffer a socket reads into next from
 *   the end of its previous read, so a shared one could be overwritten under another socket's
 *   queued write (test/forward/accept.test.ts catches exactly that).
 * - Handlers are shared functions that find their pair through a symbol on the socket, not
 *   closures per connection, and one sweep timer replaces a timer per socket.
 * Sockets made without {@link relayReads} (the cross-region relay's, the SNI listener's) are
 * relayed through `'data'` events with the same rules.
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
  /** Bytes of the reused read buffers its sockets hold (readBufferBytes each, 0 for 'data' sockets). */
  readBuffers(): number;
  /** Closes both sockets now (drain deadline, shutdown). */
  abort(): void;
}

/** What each relayed socket reads into; `forward.readBufferBytes` (src/forward/README.md). */
let readBufferBytes = 64 * 1024;
/** How often idle pairs are looked for; the idle timeout is honoured within this much. */
const SWEEP_MS = 100;

const PAIR = Symbol('meridian.relayPair');
/** On sockets created with relayReads: the buffer node will read into next. */
const HELD = Symbol('meridian.readBuffer');

interface RelaySocket extends Socket {
  [PAIR]?: Pair;
  [HELD]?: Buffer | undefined;
}

/** Sets the read buffer size of sockets created from now on (process-wide, like the buffers). */
export function setRelayReadBufferBytes(bytes: number): void {
  readBufferBytes = bytes;
}

/**
 * Buffers of relays that ended, for the next sockets: a fresh 64 KiB allocation per socket costs
 * page faults and GC pressure on every new connection. Bounded, so a burst that ended does not
 * keep its memory.
 */
const pool: Buffer[] = [];
const MAX_POOLED = 256;

/**
 * The buffer a socket reads into next. Node asks for it when the socket gets its handle and right
 * after each read callback, for the same socket, so the callback leaves its choice in `nextBuffer`
 * (the one it just read into, or a new one when a write queue holds that now).
 */
let nextBuffer: Buffer | null = null;
/** What readBuffer() handed out last: the buffer of the socket just created (see usesRelayReads). */
let handedOut: Buffer | null = null;
/** A read buffer of the configured size, from the pool when it has one (also used by fast-lane.ts). */
export function takeReadBuffer(): Buffer {
  for (let b = pool.pop(); b !== undefined; b = pool.pop()) if (b.length === readBufferBytes) return b;
  return Buffer.allocUnsafe(readBufferBytes);
}
/** A buffer nothing reads into or writes from any more, for the next connection (bounded pool). */
export function giveBackReadBuffer(b: Buffer): void {
  if (pool.length < MAX_POOLED && b.length === readBufferBytes) pool.push(b);
}
function readBuffer(): Buffer {
  if (nextBuffer !== null) {
    // After a read: the callback chose (it always does before node asks).
    const b = nextBuffer;
    nextBuffer = null;
    return b;
  }
  // A socket getting its handle: usesRelayReads() records this one as its buffer, right after.
  handedOut = takeReadBuffer();
  return handedOut;
}
/** Bytes of read buffers waiting in the pool for new connections. */
export function pooledReadBufferBytes(): number {
  let n = 0;
  for (const b of pool) n += b.length;
  return n;
}

/** A closed socket's buffer: nothing reads into it or writes from it any more. */
function recycle(s: RelaySocket): void {
  const b = s[HELD];
  if (b !== undefined) giveBackReadBuffer(b);
  s[HELD] = undefined;
}

/**
 * Bytes read before a pair is attached (a refused connection that is being drained of input,
 * a backend that spoke before the relay started) are not data to forward: they are dropped, as
 * `refuse()` and the paused setup intend. Returns false to pause the socket otherwise.
 */
function onUserBufferRead(this: RelaySocket, n: number, buf: Buffer): boolean {
  const pair = this[PAIR];
  if (pair === undefined) {
    nextBuffer = buf;
    return true;
  }
  return pair.forward(this, n === buf.length ? buf : buf.subarray(0, n), buf);
}

/**
 * `onread` for `net.connect()` and for accept.ts: reads into the socket's own buffer and goes through
 * the pair the socket belongs to. Sockets with it never emit `'data'`.
 */
export const relayReads = { buffer: readBuffer, callback: onUserBufferRead } as const;

/**
 * Marks a socket built with {@link relayReads}: call right after `net.connect()` or
 * `new Socket({ handle })`, which is when node took its first buffer.
 */
export function usesRelayReads(socket: Socket): void {
  (socket as RelaySocket)[HELD] = handedOut ?? undefined;
  handedOut = null;
}

// ---- the idle sweep: one timer for every pair, running only while pairs exist -------------------------
/** A relayed pair the sweep checks for idleness (this module's Pair, fast-lane.ts's LanePair). */
export interface IdleCheck {
  checkIdle(now: number): void;
}
const pairs = new Set<IdleCheck>();
let sweeper: NodeJS.Timeout | null = null;
export function trackIdle(p: IdleCheck): void {
  pairs.add(p);
  if (sweeper === null) {
    sweeper = setInterval(sweep, SWEEP_MS);
    sweeper.unref();
  }
}
export function untrackIdle(p: IdleCheck): void {
  pairs.delete(p);
  if (pairs.size === 0 && sweeper !== null) {
    clearInterval(sweeper);
    sweeper = null;
  }
}
/**
 * The idle rule of both relays (this module's Pair and fast-lane.ts's LanePair): idle is no byte
 * read on either side and no progress of either write queue for the relay's idle timeout.
 */
export abstract class IdleClock implements IdleCheck {
  /** Set by every read (and write completion); the sweep clears it and starts the clock when it finds it clear. */
  active = true;
  private idleSince = Date.now();
  private lastQueued = 0;

  /** Bytes waiting in both write queues now. */
  protected abstract queuedBytes(): number;
  /** Called by the sweep once the limit is reached. */
  protected abstract idleTimedOut(): void;
  protected abstract readonly idleLimitMs: number;

  checkIdle(now: number): void {
    const queued = this.queuedBytes();
    if (this.active || queued !== this.lastQueued) {
      this.active = false;
      this.lastQueued = queued;
      this.idleSince = now;
    } else if (now - this.idleSince >= this.idleLimitMs) {
      this.idleTimedOut();
    }
  }
}

function sweep(): void {
  const now = Date.now();
  for (const p of pairs) p.checkIdle(now);
}

// ---- shared event handlers (`this` is the socket) -----------------------------------------------------
function onData(this: RelaySocket, chunk: Buffer): void {
  this[PAIR]?.forward(this, chunk, null);
}
function onDrain(this: RelaySocket): void {
  this[PAIR]?.drained(this);
}
function onEndOfInput(this: RelaySocket): void {
  this[PAIR]?.ended(this);
}
function onSocketError(this: RelaySocket, err: Error): void {
  this[PAIR]?.failed(this, err);
}
function onSocketClose(this: RelaySocket): void {
  this[PAIR]?.closed(this);
}
function destroyThis(this: Socket): void {
  this.destroy();
}

class Pair extends IdleClock implements Relay {
  readonly counters: RelayCounters = { fromClient: 0, fromBackend: 0 };
  private how: RelayEnd | null = null;
  private error: Error | null = null;
  private closedCount = 0;
  protected readonly idleLimitMs: number;

  constructor(
    private readonly client: RelaySocket,
    private readonly backend: RelaySocket,
    private readonly opts: RelayOptions,
  ) {
    super();
    this.idleLimitMs = opts.idleTimeoutMs;
  }

  start(): void {
    const { client, backend } = this;
    client[PAIR] = this;
    backend[PAIR] = this;
    for (const s of [client, backend]) {
      if (s[HELD] === undefined) s.on('data', onData);
      s.on('end', onEndOfInput);
      s.on('drain', onDrain);
      s.on('error', onSocketError);
      s.on('close', onSocketClose);
    }
    // A FIN that arrived while the backend was being chosen (the SNI reader saw it) was already emitted.
    if (client.readableEnded) backend.end();
    if (backend.readableEnded) client.end();
    trackIdle(this);
    // Data that arrived while the backend was being chosen waits in the client's read buffer.
    client.resume();
    backend.resume();
  }

  /** Bytes read from `src`: write them to the other side; false (and a pause) when it is full. */
  forward(src: RelaySocket, bytes: Buffer, readBuf: Buffer | null): boolean {
    this.active = true;
    const toBackend = src === this.client;
    const dst = toBackend ? this.backend : this.client;
    if (toBackend) this.counters.fromClient += bytes.length;
    else this.counters.fromBackend += bytes.length;
    const ok = dst.write(bytes);
    if (readBuf === null) {
      if (!ok) src.pause();
    } else {
      // Written synchronously: read into it again. Otherwise the write queue owns it now.
      const next = dst.writableLength === 0 ? readBuf : takeReadBuffer();
      src[HELD] = next;
      nextBuffer = next;
    }
    return ok;
  }

  /** `dst` has room again: resume the side that writes into it. */
  drained(dst: RelaySocket): void {
    this.active = true;
    const src = dst === this.client ? this.backend : this.client;
    if (!src.destroyed) src.resume();
  }

  /** `src` sent its FIN: pass it on after the data queued before it; the other way keeps flowing. */
  ended(src: RelaySocket): void {
    const dst = src === this.client ? this.backend : this.client;
    if (!dst.destroyed) dst.end();
  }

  closed(s: RelaySocket): void {
    const other = s === this.client ? this.backend : this.client;
    if (!other.destroyed) {
      // The pair is over once one side is gone: flush what the other still has to write, then close it.
      if (other.writableFinished) other.destroy();
      else {
        other.once('finish', destroyThis);
        if (!other.writableEnded) other.end();
        // A peer that never reads would keep the flush (and the socket) forever: bound it.
        other.setTimeout(this.opts.idleTimeoutMs, destroyThis);
      }
    }
    if (++this.closedCount === 2) {
      untrackIdle(this);
      recycle(this.client);
      recycle(this.backend);
      this.opts.onEnd(this.how ?? 'done', this.error, this.counters);
    }
  }

  protected queuedBytes(): number {
    return this.client.writableLength + this.backend.writableLength;
  }

  protected idleTimedOut(): void {
    this.destroyBoth('idle', null);
  }

  /** `src` failed (reset, or any socket error): close it, and reset the other side. */
  failed(src: RelaySocket, err: Error): void {
    const other = src === this.client ? this.backend : this.client;
    if (this.how === null && !other.destroyed && !other.writableEnded) {
      this.how = 'error';
      this.error = err;
      untrackIdle(this);
      other.resetAndDestroy();
    }
    this.destroyBoth('error', err);
  }

  destroyBoth(how: RelayEnd, err: Error | null): void {
    if (this.how === null) {
      this.how = how;
      this.error = err;
    }
    untrackIdle(this);
    this.client.destroy();
    this.backend.destroy();
  }

  buffered(): number {
    const { client, backend } = this;
    return client.writableLength + backend.writableLength + client.readableLength + backend.readableLength;
  }

  readBuffers(): number {
    return (this.client[HELD]?.length ?? 0) + (this.backend[HELD]?.length ?? 0);
  }

  abort(): void {
    this.destroyBoth('aborted', null);
  }
}

export function startRelay(client: Socket, backend: Socket, opts: RelayOptions): Relay {
  if (client.destroyed || backend.destroyed) {
    // One side left while the backend was being chosen: there is nothing to relay.
    client.destroy();
    backend.destroy();
    const counters: RelayCounters = { fromClient: 0, fromBackend: 0 };
    setImmediate(() => opts.onEnd('aborted', null, counters));
    return { counters, buffered: () => 0, readBuffers: () => 0, abort: () => undefined };
  }
  const pair = new Pair(client, backend, opts);
  pair.start();
  return pair;
}
