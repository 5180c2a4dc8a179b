/**
 * DNS over TCP per RFC 7766: 2-byte length framing, pipelined queries answered as they arrive,
 * an idle timeout, a per-message read timeout against slow senders (Knot's tcp-io-timeout), a
 * connection cap that evicts the longest-idle connection (gdnsd), and a bound on unread output.
 * @module
 */
import net from 'node:net';
import type { Responder } from './respond.js';
import { bindSharing, type PortSharing } from './udp.js';

export interface TcpOptions {
  idleTimeoutMs: number;
  ioTimeoutMs: number;
  maxConnections: number;
}

/** A client that stops reading its answers may not make us buffer without bound. */
const MAX_UNREAD_OUTPUT = 256 * 1024;

interface Conn {
  socket: net.Socket;
  /** Client address, read once: the socket loses it after close. */
  remote: string;
  pending: Buffer | null;
  lastActivity: number;
  /** When the first byte of a still incomplete message arrived, or 0. */
  partialSince: number;
}

export class TcpListener {
  private server: net.Server | null = null;
  private readonly conns = new Set<Conn>();
  private sweeper: NodeJS.Timeout | null = null;

  constructor(
    private readonly responder: Responder,
    readonly host: string,
    private port: number,
    private readonly opts: TcpOptions,
    private readonly sharing: PortSharing | null = null,
  ) {}

  get boundPort(): number {
    return this.port;
  }

  get connectionCount(): number {
    return this.conns.size;
  }

  start(): Promise<void> {
    const server = net.createServer({ noDelay: true }, (s) => this.onConnection(s));
    this.server = server;
    // Deadlines are checked by one sweep rather than two timers per connection.
    const tick = Math.max(50, Math.min(1000, Math.floor(Math.min(this.opts.idleTimeoutMs, this.opts.ioTimeoutMs) / 4)));
    this.sweeper = setInterval(() => this.sweep(), tick);
    this.sweeper.unref();
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      // `reusePort` is in Node's net since 22.12 (not in the Node 20 types this project builds with).
      const listen: net.ListenOptions & { reusePort?: boolean } = { host: this.host, port: this.port, ipv6Only: net.isIPv6(this.host), backlog: 511, ...bindSharing(this.sharing) };
      server.listen(listen, () => {
        server.off('error', reject);
        server.on('error', () => {});
        this.port = (server.address() as net.AddressInfo).port;
        resolve();
      });
    });
  }

  private onConnection(socket: net.Socket): void {
    if (this.conns.size >= this.opts.maxConnections) this.evictLongestIdle();
    const conn: Conn = { socket, remote: socket.remoteAddress ?? '127.0.0.1', pending: null, lastActivity: Date.now(), partialSince: 0 };
    this.conns.add(conn);
    this.responder.stats.tcpConnections++;
    socket.on('data', (chunk) => this.onData(conn, chunk));
    socket.on('error', () => socket.destroy());
    socket.on('close', () => this.conns.delete(conn));
  }

  private onData(conn: Conn, chunk: Buffer): void {
    const now = Date.now();
    conn.lastActivity = now;
    const buf = conn.pending ? Buffer.concat([conn.pending, chunk]) : chunk;
    let off = 0;
    while (buf.length - off >= 2) {
      const len = buf.readUInt16BE(off);
      if (buf.length - off - 2 < len) break;
      const msg = buf.subarray(off + 2, off + 2 + len);
      off += 2 + len;
      this.responder.stats.tcp++;
      const out = this.responder.answer(msg, false, conn.remote);
      if (out) this.write(conn, out);
    }
    if (off < buf.length) {
      conn.pending = off === 0 ? buf : Buffer.from(buf.subarray(off));
      // The read deadline runs from the first byte of *this* message: a chunk that completed an
      // earlier message and started the next one restarts it (regression: tcp.test.ts straddle case).
      if (!conn.partialSince || off > 0) conn.partialSince = now;
    } else {
      conn.pending = null;
      conn.partialSince = 0;
    }
  }

  private write(conn: Conn, out: Buffer): void {
    const framed = Buffer.allocUnsafe(out.length + 2);
    framed.writeUInt16BE(out.length, 0);
    out.copy(framed, 2);
    conn.socket.write(framed);
    if (conn.socket.writableLength > MAX_UNREAD_OUTPUT) conn.socket.destroy();
  }

  private evictLongestIdle(): void {
    let victim: Conn | null = null;
    for (const c of this.conns) if (!victim || c.lastActivity < victim.lastActivity) victim = c;
    if (!victim) return;
    this.conns.delete(victim);
    this.responder.stats.tcpEvicted++;
    victim.socket.destroy();
  }

  private sweep(): void {
    const now = Date.now();
    for (const c of this.conns) {
      const idle = now - c.lastActivity > this.opts.idleTimeoutMs;
      const slow = c.partialSince > 0 && now - c.partialSince > this.opts.ioTimeoutMs;
      if (idle || slow) {
        this.conns.delete(c);
        this.responder.stats.tcpTimeouts++;
        c.socket.destroy();
      }
    }
  }

  close(): Promise<void> {
    if (this.sweeper) clearInterval(this.sweeper);
    for (const c of this.conns) c.socket.destroy();
    this.conns.clear();
    const s = this.server;
    this.server = null;
    return new Promise((resolve) => (s ? s.close(() => resolve()) : resolve()));
  }
}
