/**
 * Cross-region failover: the one hop from a forwarder whose region has no usable backend to the
 * forwarder of the next region.
 *
 * - Order: the service's own policy chain (src/policy/chain.ts runChain), run for the client's
 *   address against the current health snapshot and geo database: the regions in the order DNS
 *   would now answer that client, minus this region. No second implementation of the decision.
 * - Wire: the sender connects to the target region's relay listener (`regions[].forwarder.relay`)
 *   and writes a PROXY v2 header (the client's addresses, and a Meridian TLV naming the listener),
 *   then any bytes it already read from the client (a ClientHello). The receiver answers one ACK
 *   byte once it is connected to one of its own backends; only then does the sender start
 *   relaying. No ACK (refused, closed, timeout) = try the next region: the client never sees it.
 * - Loop prevention: a connection that arrived on a relay listener is served by local backends
 *   only, never relayed again; client-facing listeners never parse PROXY headers. At most one hop.
 * @module
 */
import { connect, createServer, type Server, type Socket } from 'node:net';
import type { ListenAddress } from '../config/load.js';
import type { HealthSnapshot } from '../health/snapshot.js';
import type { Logger } from '../obs/log.js';
import { runChain } from '../policy/chain.js';
import { stringHash } from '../policy/hash.js';
import { clientFromAddress } from '../routing/client.js';
import type { GeoLookup, ServiceDefinition } from '../routing/service.js';
import { decodeV2, MAX_V2_HEADER, parseMeridianTlv, unmapV4, type ProxyAddresses } from './proxy-protocol.js';

/** The byte a relay receiver sends once it has a backend: "the stream is yours". */
export const RELAY_ACK = 0x06;

/**
 * Region ids in the order the service's chain ranks them for this client now. The geo lookup and
 * salt are prepared as src/routing/service.ts Service.compute prepares them (see the forward README
 * for the hook that would let this call the Service itself).
 */
export function regionOrder(def: ServiceDefinition, health: HealthSnapshot, geoDb: GeoLookup | null, clientAddress: string): string[] {
  const client = clientFromAddress(unmapV4(clientAddress), 'socket');
  let geo = null;
  let geoPrefix = 0;
  if (def.chain.needsGeo) {
    geo = geoDb ? geoDb.lookupBytes(client.family === 4 ? 1 : 2, client.bytes) : null;
    geoPrefix = geo ? geo.prefixLength : (geoDb?.missPrefixLength ?? (client.family === 4 ? 32 : 128));
  }
  const { state } = runChain(def.chain, {
    regions: def.regions,
    answers: def.answers,
    client,
    geo,
    geoPrefix,
    health,
    qfamily: client.family,
    salt: stringHash(def.name),
    trace: null,
  });
  return state.servfail ? [] : state.candidates.map((c) => c.region.id);
}

/**
 * Connects to a relay listener, sends the header and the client's first bytes, and waits for the
 * ACK. Resolves with the socket (paused, bytes after the ACK put back) or with the failure.
 */
export function dialRelay(
  target: ListenAddress,
  header: Buffer,
  initial: Buffer | null,
  connectTimeoutMs: number,
  ackTimeoutMs: number,
  onSocket: (s: Socket) => void = () => undefined,
): Promise<Socket | Error> {
  return new Promise((resolve) => {
    const s = connect({ host: target.host, port: target.port, allowHalfOpen: true });
    onSocket(s); // so a drain or the client leaving can abort the attempt
    let done = false;
    const fail = (err: Error): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      s.destroy();
      resolve(err);
    };
    let timer = setTimeout(() => fail(new Error('relay connect timeout')), connectTimeoutMs);
    s.once('error', fail);
    // allowHalfOpen: the receiver's FIN alone does not close the socket, so 'end' is the refusal.
    const refused = (): void => fail(new Error('relay closed without ACK (no backend there)'));
    s.once('end', refused);
    s.once('close', refused);
    s.once('connect', () => {
      clearTimeout(timer);
      timer = setTimeout(() => fail(new Error('relay ACK timeout')), ackTimeoutMs);
      s.setNoDelay(true);
      s.write(initial ? Buffer.concat([header, initial]) : header);
      s.once('data', (chunk: Buffer) => {
        s.pause();
        if (chunk[0] !== RELAY_ACK) return fail(new Error('relay answered without ACK'));
        if (done) return;
        done = true;
        clearTimeout(timer);
        s.removeListener('error', fail);
        s.removeListener('end', refused);
        s.removeListener('close', refused);
        s.on('error', () => undefined); // until the relay attaches its own handler
        if (chunk.length > 1) s.unshift(chunk.subarray(1));
        resolve(s);
      });
    });
  });
}

export interface RelayedIn {
  socket: Socket;
  listener: string;
  /** The original client, from the sender's PROXY header. */
  addresses: ProxyAddresses;
}

/**
 * The relay listener of a region: accepts only connections that start with a PROXY v2 header
 * carrying the Meridian TLV, within `headerTimeoutMs`; anything else is closed. It trusts the
 * header's client address, so it must be reachable by forwarders only (bind it to a private
 * address, firewall it): see the README.
 */
/** Relay-port connections that may wait for their PROXY header at once (src/node/fds.ts reserves them). */
export const MAX_PENDING_HEADERS = 64;

export class RelayListener {
  private server: Server | null = null;
  private readonly pending = new Set<Socket>();
  private boundPort: number | null = null;

  constructor(
    private readonly at: ListenAddress,
    private readonly opts: { headerTimeoutMs: number; log?: Logger; onRelayed(r: RelayedIn): void; onRejected(reason: string): void },
  ) {}

  get port(): number | null {
    const a = this.server?.address();
    return a && typeof a === 'object' ? a.port : null;
  }

  async start(): Promise<void> {
    const server = createServer({ allowHalfOpen: true, pauseOnConnect: true }, (s) => this.accept(s));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.boundPort ?? this.at.port, this.at.host, () => {
        this.boundPort = (server.address() as { port: number }).port;
        server.removeListener('error', reject);
        resolve();
      });
    });
    server.on('error', (err) => this.opts.log?.error({ err: err.message }, 'relay listener error'));
    this.server = server;
  }

  /** Stops accepting; connections already handed on are not touched, half-read headers are dropped. */
  async stop(): Promise<void> {
    const server = this.server;
    this.server = null;
    for (const s of this.pending) s.destroy();
    server?.close(); // not awaited: its callback waits for every relayed connection to end
  }

  private accept(s: Socket): void {
    // Bounded, so connections that never send a header cannot hold the process's descriptors (budget.ts).
    if (this.pending.size >= MAX_PENDING_HEADERS) {
      this.opts.onRejected('too many connections waiting for their header');
      return void s.destroy();
    }
    this.pending.add(s);
    let buf = Buffer.alloc(0);
    let settled = false;
    const reject = (reason: string): void => {
      if (settled) return; // after the hand-off, errors belong to the connection's own handlers
      settled = true;
      cleanup();
      s.destroy();
      this.opts.onRejected(reason);
    };
    const timer = setTimeout(() => reject('no PROXY header in time'), this.opts.headerTimeoutMs);
    const onData = (chunk: Buffer): void => {
      buf = Buffer.concat([buf, chunk]);
      const r = decodeV2(buf);
      if (!r.ok) {
        if (!r.incomplete) return reject(r.reason);
        if (buf.length >= MAX_V2_HEADER) return reject('PROXY header too long');
        return;
      }
      const tlv = parseMeridianTlv(r.header.tlvs);
      // hops must be 1: the sender is a client-facing listener. Anything else would be a second hop.
      if (!tlv || tlv.hops !== 1 || !r.header.addresses) return reject('not a Meridian relay header');
      settled = true;
      cleanup();
      s.pause();
      const rest = buf.subarray(r.header.length);
      if (rest.length) s.unshift(rest);
      this.opts.onRelayed({ socket: s, listener: tlv.listener, addresses: r.header.addresses });
    };
    const onEnd = (): void => reject('closed before the PROXY header');
    const cleanup = (): void => {
      clearTimeout(timer);
      this.pending.delete(s);
      s.removeListener('data', onData);
      s.removeListener('end', onEnd);
    };
    s.on('error', () => reject('socket error'));
    s.on('data', onData);
    s.once('end', onEnd);
    s.resume();
  }
}
