/**
 * The fast lane: the common connection of a plain listener (no SNI) relayed on libuv TCP handles
 * directly, without `net.Socket` and the stream layer above it.
 *
 * Why: on new connections a node relay spends about 40 % of its CPU building two `net.Socket`
 * stream objects per connection and running their connect/end/finish/close machinery (profiles in
 * bench/forward/README.md). With the handles alone the forwarder does what HAProxy does per
 * connection: accept, connect, read, write, shutdown, close, and a few JS calls around them.
 *
 * The handles are what `node:net` itself is built on, reached through `process.binding('tcp_wrap')`
 * and `('stream_wrap')`: internal bindings, deprecated as a public API (DEP0111, a warning only under
 * `--pending-deprecation`) and free to change between Node majors. So:
 * - {@link fastLane} is null unless every piece this module uses is there with the expected shape
 *   (checked once, at load); listeners then use the `net.Socket` path, which behaves the same.
 * - `forward.fastLane: false` turns it off without a code change.
 * - test/forward/fast-lane.test.ts fails on a Node where the lane is missing, and the forwarder
 *   suites run with it on (the default), so the contract of relay.ts is tested on this code.
 *
 * Contract: the one of relay.ts (backpressure, half-close, an error closes both and resets the
 * other side, idle timeout,
 * `onEnd` once after both handles closed). Backpressure here is one read chunk per direction: a
 * side stops reading while a write of its bytes to the other side is queued, so memory per
 * connection is its two read buffers (`forward.readBufferBytes` each, from the pool relay.ts
 * keeps), and the queued bytes are always in one of them.
 *
 * Only the straight path runs here: a local backend picked and connected. Anything else (no local
 * backend, so a hop or the last-resort pass) hands the client handle to a `net.Socket` first
 * ({@link LaneEnd.toSocket}); refusals (drain, cap) do that at once.
 * @module
 */
import type { Server, Socket } from 'node:net';
import { getSystemErrorName } from 'node:util';
import { socketFromHandle } from './accept.js';
import { giveBackReadBuffer, IdleClock, takeReadBuffer, trackIdle, untrackIdle, type Relay, type RelayCounters, type RelayEnd, type RelayOptions } from './relay.js';

// ---- the bindings ----------------------------------------------------------------------------------

/** What a libuv TCP handle (node's `TCPWrap`) offers; only the members used here. */
export interface TcpHandle {
  readStart(): number;
  readStop(): number;
  writeBuffer(req: WriteReq, data: Uint8Array): number;
  shutdown(req: ShutdownReq): number;
  close(callback?: () => void): void;
  /** uv_tcp_close_reset: closes with an RST. Fails (and must not be followed by close) on a handle with a shutdown issued. */
  reset?(callback?: () => void): number;
  setNoDelay(on: boolean): number;
  connect(req: ConnectReq, address: string, port: number): number;
  connect6(req: ConnectReq, address: string, port: number): number;
  getpeername(out: Record<string, unknown>): number;
  getsockname(out: Record<string, unknown>): number;
  useUserBuffer(buffer: Uint8Array): void;
  readonly writeQueueSize: number;
  /** Returning a buffer would make it the one the handle reads into next; the lane never switches. */
  onread: ((this: TcpHandle) => Uint8Array | undefined) | null;
  [END]?: LaneEnd;
}
interface WriteReq {
  handle: TcpHandle;
  oncomplete: (this: WriteReq, status: number) => void;
  async: boolean;
  /** The bytes, kept alive while libuv may still read them. */
  buffer: Buffer | null;
  /** The side the bytes were read from (null: bytes of our own, the PROXY header). */
  source: LaneEnd | null;
}
interface ShutdownReq {
  handle: TcpHandle;
  oncomplete: (this: ShutdownReq, status: number) => void;
}
interface ConnectReq {
  oncomplete: (status: number, handle: TcpHandle) => void;
  address: string;
  port: number;
}
interface Bindings {
  newTcp(): TcpHandle;
  newWrite(): WriteReq;
  newShutdown(): ShutdownReq;
  newConnect(): ConnectReq;
  /** Shared with C++: a read's byte count (or error), whether the last write was queued. */
  state: Int32Array;
  kReadBytesOrError: number;
  kLastWriteWasAsync: number;
  UV_EOF: number;
}

const END = Symbol('meridian.laneEnd');

function loadBindings(): Bindings | null {
  try {
    const binding = (process as unknown as { binding?: (name: string) => Record<string, unknown> }).binding;
    if (typeof binding !== 'function') return null;
    const tcp = binding('tcp_wrap');
    const stream = binding('stream_wrap');
    const uv = binding('uv');
    const TCP = tcp.TCP as new (type: number) => TcpHandle;
    const TCPConnectWrap = tcp.TCPConnectWrap as new () => ConnectReq;
    const WriteWrap = stream.WriteWrap as new () => WriteReq;
    const ShutdownWrap = stream.ShutdownWrap as new () => ShutdownReq;
    const SOCKET = (tcp.constants as Record<string, number> | undefined)?.SOCKET;
    const state = stream.streamBaseState;
    const { kReadBytesOrError, kLastWriteWasAsync } = stream;
    const { UV_EOF } = uv;
    if (
      typeof TCP !== 'function' ||
      typeof TCPConnectWrap !== 'function' ||
      typeof WriteWrap !== 'function' ||
      typeof ShutdownWrap !== 'function' ||
      typeof SOCKET !== 'number' ||
      !(state instanceof Int32Array) ||
      typeof kReadBytesOrError !== 'number' ||
      typeof kLastWriteWasAsync !== 'number' ||
      typeof UV_EOF !== 'number'
    )
      return null;
    const proto = TCP.prototype as unknown as Record<string, unknown>;
    for (const m of ['readStart', 'readStop', 'writeBuffer', 'shutdown', 'close', 'setNoDelay', 'connect', 'connect6', 'getpeername', 'getsockname', 'useUserBuffer']) {
      if (typeof proto[m] !== 'function') return null;
    }
    return {
      newTcp: () => new TCP(SOCKET),
      newWrite: () => new WriteWrap(),
      newShutdown: () => new ShutdownWrap(),
      newConnect: () => new TCPConnectWrap(),
      state,
      kReadBytesOrError,
      kLastWriteWasAsync,
      UV_EOF,
    };
  } catch {
    return null;
  }
}

const B = loadBindings();

/** True when this Node has the handle bindings the lane needs (Node 20 does). */
export const fastLane: boolean = B !== null;

function uvError(code: number, syscall: string): Error {
  let name: string;
  try {
    name = getSystemErrorName(code);
  } catch {
    name = `libuv error ${code}`;
  }
  return Object.assign(new Error(`${syscall} ${name}`), { code: name, syscall });
}

// ---- one side of a connection ------------------------------------------------------------------------

interface Dialing {
  resolve(r: LaneEnd | Error): void;
  timer: NodeJS.Timeout;
}

/** One TCP handle of the lane: the client's, or the backend's. */
export class LaneEnd {
  /** Closed, closing, or handed to a net.Socket: this object does nothing with the handle any more. */
  destroyed = false;
  pair: LanePair | null = null;
  peer: LaneEnd | null = null;
  /** What the handle reads into (set when the relay starts); kept here, since libuv holds only its address. */
  buf: Buffer | null = null;
  /** This side sent its FIN. */
  eof = false;
  /** A shutdown (our FIN) was issued toward this side: it can no longer be reset, only closed. */
  shutdownIssued = false;
  /** Called once when the handle has closed (not when it was handed to a net.Socket). */
  onClose: (() => void) | null = null;
  dialing: Dialing | null = null;
  private names: { peer: Record<string, unknown> | null; sock: Record<string, unknown> | null } = { peer: null, sock: null };

  constructor(readonly handle: TcpHandle) {
    handle[END] = this;
  }

  // The addresses, as net.Socket names them (for Origin: PROXY headers, source hash, the hop order).
  get remoteAddress(): string | undefined {
    return this.peerName().address as string | undefined;
  }
  get remotePort(): number | undefined {
    return this.peerName().port as number | undefined;
  }
  get localAddress(): string | undefined {
    return this.sockName().address as string | undefined;
  }
  get localPort(): number | undefined {
    return this.sockName().port as number | undefined;
  }
  private peerName(): Record<string, unknown> {
    if (this.names.peer === null) {
      this.names.peer = {};
      if (!this.destroyed) this.handle.getpeername(this.names.peer);
    }
    return this.names.peer;
  }
  private sockName(): Record<string, unknown> {
    if (this.names.sock === null) {
      this.names.sock = {};
      if (!this.destroyed) this.handle.getsockname(this.names.sock);
    }
    return this.names.sock;
  }

  /** Closes this side (and, once relaying, the pair). */
  destroy(): void {
    if (this.pair !== null) this.pair.abort();
    else this.close();
  }

  close(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    const d = this.dialing;
    if (d !== null) {
      this.dialing = null;
      clearTimeout(d.timer);
      d.resolve(new Error('aborted'));
    }
    this.handle.close(onHandleClosed);
  }

  /** Closes with an RST (the other side failed), or with close() where a reset is not possible. */
  reset(): void {
    if (this.destroyed) return;
    if (this.shutdownIssued || typeof this.handle.reset !== 'function' || this.dialing !== null) return this.close();
    this.destroyed = true;
    // node's TCPWrap::Reset marks the handle closing whatever uv_tcp_close_reset returns, so a
    // failure cannot fall back to close(); it fails only on a handle with a shutdown, excluded above.
    this.handle.reset(onHandleClosed);
  }

  /**
   * Hands the (not yet reading) handle to a paused net.Socket, as net.Server would have built it;
   * `onClose` moves to the socket's 'close' event. Only before the relay started.
   */
  toSocket(server: Server): Socket {
    // Origin may still ask for the addresses (the hop's PROXY header): read them while the handle is ours.
    this.peerName();
    this.sockName();
    this.destroyed = true;
    const socket = socketFromHandle(server, this.handle);
    const onClose = this.onClose;
    this.onClose = null;
    if (onClose !== null) socket.once('close', onClose);
    return socket;
  }

  /** Bytes of our own before the relay starts (a PROXY header); an error closes this side (or the pair). */
  writeFirst(bytes: Buffer): void {
    const req = newWriteReq(this.handle, afterOwnWrite, null);
    req.buffer = bytes;
    if (this.handle.writeBuffer(req, bytes) !== 0) this.destroy();
  }
}

/** A write request toward `handle`, its bytes coming from `source` (null: bytes of our own). */
function newWriteReq(handle: TcpHandle, oncomplete: WriteReq['oncomplete'], source: LaneEnd | null): WriteReq {
  const req = B!.newWrite();
  req.handle = handle;
  req.oncomplete = oncomplete;
  req.async = false;
  req.buffer = null;
  req.source = source;
  return req;
}

function onHandleClosed(this: TcpHandle): void {
  const end = this[END];
  if (end === undefined) return;
  end.pair?.endClosed();
  const cb = end.onClose;
  end.onClose = null;
  cb?.();
}

function afterOwnWrite(this: WriteReq, status: number): void {
  if (status < 0) this.handle[END]?.destroy();
}

/** A TCP handle for an accepted connection: ours until the relay starts or it is handed to a socket. */
export function acceptedEnd(handle: TcpHandle): LaneEnd {
  const end = new LaneEnd(handle);
  handle.setNoDelay(true);
  return end;
}

// ---- connecting to a backend -------------------------------------------------------------------------

function afterConnect(status: number, handle: TcpHandle): void {
  const end = handle[END];
  const d = end?.dialing;
  if (end === undefined || d === undefined || d === null) return; // closed meanwhile: already resolved
  end.dialing = null;
  clearTimeout(d.timer);
  if (status < 0) {
    end.close();
    d.resolve(uvError(status, 'connect'));
  } else d.resolve(end);
}

function dialTimedOut(end: LaneEnd): void {
  const d = end.dialing;
  if (d === null) return;
  end.dialing = null;
  end.close();
  d.resolve(new Error('connect timeout'));
}

/**
 * A TCP connection to `address` (an IP literal) with TCP_NODELAY, or why it failed. `onPending`
 * gets the side while it connects, so drain and a client that leaves can abort it.
 */
export function dialLane(address: string, port: number, timeoutMs: number, onPending: (end: LaneEnd) => void): Promise<LaneEnd | Error> {
  const handle = B!.newTcp();
  const end = new LaneEnd(handle);
  const req = B!.newConnect();
  req.oncomplete = afterConnect;
  req.address = address;
  req.port = port;
  // Endpoint addresses are validated IP literals (src/routing/compile.ts): a colon means IPv6, no regex needed.
  const err = address.includes(':') ? handle.connect6(req, address, port) : handle.connect(req, address, port);
  if (err !== 0) {
    end.close();
    return Promise.resolve(uvError(err, 'connect'));
  }
  handle.setNoDelay(true);
  onPending(end);
  return new Promise((resolve) => {
    end.dialing = { resolve, timer: setTimeout(dialTimedOut, timeoutMs, end) };
  });
}

// ---- the relay --------------------------------------------------------------------------------------

/** `onread` of both handles (`this` is the handle): bytes, a FIN, or an error. */
function onLaneRead(this: TcpHandle): undefined {
  const { state } = B!;
  const nread = state[B!.kReadBytesOrError]!;
  const end = this[END];
  const pair = end?.pair;
  if (pair === null || pair === undefined || pair.closing) return undefined;
  if (nread > 0) return pair.forward(end!, nread);
  if (nread === 0) return undefined;
  if (nread === B!.UV_EOF) pair.ended(end!);
  else pair.finish('error', uvError(nread, 'read'), end!);
  return undefined;
}

function afterRelayWrite(this: WriteReq, status: number): void {
  const src = this.source!;
  const pair = src.pair!;
  this.buffer = null;
  if (pair.closing) return;
  // The write toward src's peer failed: that side is the broken one.
  if (status < 0) return pair.finish('error', uvError(status, 'write'), src.peer!);
  pair.active = true;
  if (this.async && !src.eof) src.handle.readStart();
}

function afterShutdown(this: ShutdownReq, status: number): void {
  const pair = this.handle[END]?.pair;
  if (pair === null || pair === undefined || pair.closing) return;
  if (status < 0) return pair.finish('error', uvError(status, 'shutdown'));
  pair.shutdownDone();
}

export class LanePair extends IdleClock implements Relay, RelayCounters {
  readonly counters: RelayCounters = this;
  fromClient = 0;
  fromBackend = 0;
  closing = false;
  private how: RelayEnd = 'done';
  private error: Error | null = null;
  private closedEnds = 0;
  private shutdownsIssued = 0;
  private shutdownsDone = 0;
  protected readonly idleLimitMs: number;

  constructor(
    readonly client: LaneEnd,
    readonly upstream: LaneEnd,
    private readonly opts: RelayOptions,
  ) {
    super();
    this.idleLimitMs = opts.idleTimeoutMs;
  }

  start(): void {
    const { client, upstream } = this;
    client.peer = upstream;
    upstream.peer = client;
    for (const end of [client, upstream]) {
      end.pair = this;
      end.buf = takeReadBuffer();
      end.handle.useUserBuffer(end.buf);
      end.handle.onread = onLaneRead;
    }
    trackIdle(this);
    if (client.handle.readStart() !== 0 || upstream.handle.readStart() !== 0) this.finish('error', new Error('readStart failed'));
  }

  /** `n` bytes read from `src` into its buffer: write them to the other side. */
  forward(src: LaneEnd, n: number): undefined {
    this.active = true;
    if (src === this.client) this.fromClient += n;
    else this.fromBackend += n;
    const buf = src.buf!;
    const dst = src.peer!;
    const req = newWriteReq(dst.handle, afterRelayWrite, src);
    const err = dst.handle.writeBuffer(req, n === buf.length ? buf : buf.subarray(0, n));
    if (err !== 0) {
      this.finish('error', uvError(err, 'write'));
      return undefined;
    }
    if (B!.state[B!.kLastWriteWasAsync] !== 0) {
      // Queued: libuv writes from `buf` later. This side stops reading until that is done, which bounds
      // memory and keeps the buffer from being read into while it is being written from.
      req.async = true;
      req.buffer = buf;
      src.handle.readStop();
    }
    return undefined; // the next read goes into the same buffer
  }

  /** `src` sent its FIN (its earlier bytes are written: reads stop while a write is queued). */
  ended(src: LaneEnd): void {
    src.eof = true;
    const dst = src.peer!;
    if (dst.eof && src.handle.writeQueueSize === 0 && dst.handle.writeQueueSize === 0) {
      // Both sides have sent their FIN and libuv holds no bytes for either (always so: a side's EOF
      // is read only after the write of its last bytes completed; checked anyway): close() now. The kernel
      // still sends what is in each socket's send buffer, then the FIN (nothing is left unread, so
      // no reset), so a shutdown() toward `dst`, and the one toward `src` that may still be queued
      // behind the poll loop (it is cancelled), would only cost system calls: HAProxy makes none.
      this.finish('done', null);
      return;
    }
    const req = B!.newShutdown();
    req.handle = dst.handle;
    req.oncomplete = afterShutdown;
    this.shutdownsIssued++;
    dst.shutdownIssued = true;
    // libuv's shutdown waits for the writes queued before it: the FIN follows the data.
    if (dst.handle.shutdown(req) !== 0) this.finish('error', new Error('shutdown failed'));
  }

  shutdownDone(): void {
    this.shutdownsDone++;
    if (this.client.eof && this.upstream.eof && this.shutdownsDone === this.shutdownsIssued) this.finish('done', null);
  }

  /** Ends the pair; `failed` = the side whose error ended it: it is closed and the other side reset. */
  finish(how: RelayEnd, err: Error | null, failed: LaneEnd | null = null): void {
    if (this.closing) return;
    this.closing = true;
    this.how = how;
    this.error = err;
    untrackIdle(this);
    if (failed !== null) {
      failed.close();
      failed.peer!.reset();
      return;
    }
    this.client.close();
    this.upstream.close();
  }

  endClosed(): void {
    if (++this.closedEnds < 2) return;
    for (const end of [this.client, this.upstream]) {
      if (end.buf !== null) giveBackReadBuffer(end.buf);
      end.buf = null;
    }
    this.opts.onEnd(this.how, this.error, this.counters);
  }

  protected queuedBytes(): number {
    return this.client.handle.writeQueueSize + this.upstream.handle.writeQueueSize;
  }

  protected idleTimedOut(): void {
    this.finish('idle', null);
  }

  buffered(): number {
    return this.queuedBytes();
  }

  readBuffers(): number {
    return (this.client.buf?.length ?? 0) + (this.upstream.buf?.length ?? 0);
  }

  abort(): void {
    this.finish('aborted', null);
  }
}

/** Relays between an accepted client and a connected backend, both still open and not reading. */
export function startLaneRelay(client: LaneEnd, upstream: LaneEnd, opts: RelayOptions): Relay {
  const pair = new LanePair(client, upstream, opts);
  pair.start();
  return pair;
}
