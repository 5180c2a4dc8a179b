/**
 * UDP listener: one socket per configured address, so every answer leaves from the address the
 * query was sent to (Zonemaster NAMESERVER04) — Node has no IP_PKTINFO to do that on a wildcard.
 * @module
 */
import dgram from 'node:dgram';
import { isIPv6 } from 'node:net';
import type { Responder, UdpLimits } from './respond.js';

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

  /** `limits` (the error cap and RRL) are shared by every UDP socket of the node: a client may query any of its addresses. */
  constructor(
    private readonly responder: Responder,
    readonly host: string,
    private port: number,
    private readonly limits: UdpLimits,
  ) {}

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
    const out = this.responder.answer(msg, true, rinfo.address, this.limits);
    if (out) this.socket?.send(out, rinfo.port, rinfo.address);
  }

  close(): Promise<void> {
    const s = this.socket;
    this.socket = null;
    return new Promise((resolve) => (s ? s.close(() => resolve()) : resolve()));
  }
}
