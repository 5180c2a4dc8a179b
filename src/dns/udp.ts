/**
 * UDP listener: one socket per configured address, so every answer leaves from the address the
 * query was sent to (Zonemaster NAMESERVER04) — Node has no IP_PKTINFO to do that on a wildcard.
 * @module
 */
import dgram from 'node:dgram';
import { isIPv6 } from 'node:net';
import type { ErrorGate, Responder } from './respond.js';

export interface UdpOptions {
  /** FORMERR/NOTIMP answers per second across all clients; 0 disables the cap (NSD caps at 100/s). */
  errorRateLimit: number;
}

/**
 * The answer goes back to the address the query came from, always an IP literal, so dgram's
 * per-send `dns.lookup()` (argument checks and a `process.nextTick` per datagram) has nothing to
 * look up: this one hands the literal straight back, synchronously.
 */
function literalLookup(family: 4 | 6): dgram.SocketOptions['lookup'] {
  return ((address: string, _options: unknown, callback: (err: Error | null, address: string, family: number) => void) => callback(null, address, family)) as dgram.SocketOptions['lookup'];
}

export class UdpListener {
  private socket: dgram.Socket | null = null;
  private errorWindowStart = 0;
  private errorsInWindow = 0;
  /** Built once: the responder asks it before building a FORMERR/NOTIMP (null = no cap). */
  private readonly errorGate: ErrorGate | null;

  constructor(
    private readonly responder: Responder,
    readonly host: string,
    private port: number,
    private readonly opts: UdpOptions,
  ) {
    this.errorGate = opts.errorRateLimit > 0 ? () => this.allowError() : null;
  }

  get boundPort(): number {
    return this.port;
  }

  start(): Promise<void> {
    const family = isIPv6(this.host) ? 6 : 4;
    const socket = dgram.createSocket({ type: family === 6 ? 'udp6' : 'udp4', ipv6Only: family === 6, lookup: literalLookup(family) });
    this.socket = socket;
    socket.on('message', (msg, rinfo) => this.onMessage(msg, rinfo));
    return new Promise((resolve, reject) => {
      socket.once('error', reject);
      socket.bind(this.port, this.host, () => {
        socket.off('error', reject);
        // A socket error after bind (e.g. ICMP-driven) must never take the process down.
        socket.on('error', () => {});
        try {
          socket.setRecvBufferSize(4 * 1024 * 1024);
        } catch {
          // The kernel cap (net.core.rmem_max) may be lower; the default still works.
        }
        this.port = socket.address().port;
        resolve();
      });
    });
  }

  private onMessage(msg: Buffer, rinfo: dgram.RemoteInfo): void {
    const stats = this.responder.stats;
    stats.udp++;
    const out = this.responder.answer(msg, true, rinfo.address, this.errorGate);
    if (out) this.socket?.send(out, rinfo.port, rinfo.address);
  }

  /** Fixed one-second window: error answers are what reflection attacks would be made of. */
  private allowError(): boolean {
    const now = Date.now();
    if (now - this.errorWindowStart >= 1000) {
      this.errorWindowStart = now;
      this.errorsInWindow = 0;
    }
    return ++this.errorsInWindow <= this.opts.errorRateLimit;
  }

  close(): Promise<void> {
    const s = this.socket;
    this.socket = null;
    return new Promise((resolve) => (s ? s.close(() => resolve()) : resolve()));
  }
}
