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

/**
 * How the DNS worker processes of one node (`meridian serve --workers N`) share a port:
 * - `reuseport`: each worker binds its own socket with SO_REUSEPORT (Node >= 22.12) and the kernel
 *   spreads packets and connections over them by a hash of the client's address and port;
 * - `cluster`: node:cluster's shared handles: one UDP socket whose queue every worker reads, and one
 *   TCP listener in the primary that hands connections to the workers in turn.
 */
export type PortSharing = 'reuseport' | 'cluster';

/** Bind options for a socket that `sharing` shares (null: a process answering alone). */
export function bindSharing(sharing: PortSharing | null): { exclusive: boolean; reusePort?: true } {
  // `exclusive: false` is what routes a cluster worker's bind through its primary's shared handle.
  return sharing === 'reuseport' ? { exclusive: true, reusePort: true } : { exclusive: sharing !== 'cluster' };
}

export class UdpListener {
  private socket: dgram.Socket | null = null;

  /** `limits` (the error cap and RRL) are shared by every UDP socket of the node: a client may query any of its addresses. */
  constructor(
    private readonly responder: Responder,
    readonly host: string,
    private port: number,
    private readonly limits: UdpLimits,
    private readonly sharing: PortSharing | null = null,
  ) {}

  get boundPort(): number {
    return this.port;
  }

  start(): Promise<void> {
    const family = isIPv6(this.host) ? 6 : 4;
    const { exclusive, reusePort } = bindSharing(this.sharing);
    // `reusePort` is in Node's dgram since 22.12 (not in the Node 20 types this project builds with).
    const options: dgram.SocketOptions & { reusePort?: boolean } = { type: family === 6 ? 'udp6' : 'udp4', ipv6Only: family === 6, lookup: literalLookup(family), ...(reusePort ? { reusePort } : {}) };
    const socket = dgram.createSocket(options);
    this.socket = socket;
    socket.on('message', (msg, rinfo) => this.onMessage(msg, rinfo));
    return new Promise((resolve, reject) => {
      socket.once('error', reject);
      socket.bind({ port: this.port, address: this.host, exclusive }, () => {
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
