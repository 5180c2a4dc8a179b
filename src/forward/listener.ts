/**
 * One forwarder listener: accepts client connections on a service's port and gives each a backend.
 *
 * Per connection, in order (every loop is bounded by the pool or the region list):
 * 1. Refuse (FIN, no data) when draining, when the process's connection budget is used up
 *    (budget.ts), at the listener's cap, or at `maxConnectionsPerSource` from the client's address.
 * 2. SNI listeners read the ClientHello (bounded, timed) and pick the pool by server name.
 * 3. Local backends: usable = weight > 0, not down or drained in the health snapshot, not ejected
 *    by passive health. The balancer picks one; a failed connect ejects it and the next is tried,
 *    while the client waits paused, so it never sees the failure.
 * 4. No local backend connected (and the connection did not itself arrive over a relay): one hop
 *    to the next region's forwarder, in the service's DNS order for this client (hop.ts).
 * 5. Last resort: local backends that are ejected but up in the snapshot (ejection is a guess).
 * 6. Otherwise the client is closed and counted as failed.
 * Then the PROXY header (if configured) and any bytes already read go to the backend, and the
 * relay (relay.ts) moves bytes until both sides are done.
 * @module
 */
import { connect, createServer, type Server, type Socket } from 'node:net';
import type { ListenAddress, LoadedConfig } from '../config/load.js';
import type { RegionState } from '../health/snapshot.js';
import type { HealthSnapshot } from '../health/snapshot.js';
import type { Logger } from '../obs/log.js';
import type { GeoLookup } from '../routing/service.js';
import { defaultPerSource, type ListenerConfig } from './config.js';
import { dialRelay, RELAY_ACK, regionOrder, type RelayedIn } from './hop.js';
import type { OutlierDetector } from './passive.js';
import { observeConnect } from './connect-time.js';
import { createBalancer, type Balancer } from './pick.js';
import { encodeV1, encodeV2, meridianTlv, type ProxyAddresses } from './proxy-protocol.js';
import { installAccept, socketFromHandle } from './accept.js';
import type { ConnectionBudget } from './budget.js';
import { acceptedEnd, dialLane, fastLane, startLaneRelay, type LaneEnd, type TcpHandle } from './fast-lane.js';
import { relayReads, startRelay, usesRelayReads, type RelayOptions } from './relay.js';
import { MAX_CLIENT_HELLO_BYTES, parseClientHello, sniMatches, type SniResult } from './sni.js';
import { selectEndpoints, type BackendRecord, type Conn, type ConnSide, type ForwarderState } from './state.js';

/** The health the forwarder reads: region states for the hop order, endpoint verdicts for pools. */
export interface ForwardHealth extends HealthSnapshot {
  endpoint?(key: string): { status: RegionState } | undefined;
}

export interface ListenerEnv {
  region: string;
  state: ForwarderState;
  outlier: OutlierDetector;
  config(): LoadedConfig;
  health(): ForwardHealth;
  geo(): GeoLookup | null;
  draining(): boolean;
  /** The process's relayed-connection budget, shared by every listener of every forwarder. */
  budget: ConnectionBudget;
  /** Called after each connection closed (drain waits on it). */
  closed?(): void;
  log?: Logger;
}

/** What a connection's addresses are read from: a net.Socket, or a fast-lane handle. */
interface AddressSource {
  readonly remoteAddress?: string | undefined;
  readonly remotePort?: number | undefined;
  readonly localAddress?: string | undefined;
  readonly localPort?: number | undefined;
}

/** A connected upstream (backend or relay hop) and the backend record it counts against. */
interface Picked<T> {
  upstream: T;
  record: BackendRecord;
}

/** Where a connection came from. The addresses cost two system calls, so they are read only when used. */
class Origin {
  private known: ProxyAddresses | null;
  constructor(
    readonly relayed: boolean,
    private readonly socket: AddressSource | null,
    addresses: ProxyAddresses | null,
  ) {
    this.known = addresses;
  }

  get addresses(): ProxyAddresses {
    if (this.known === null) {
      const s = this.socket!;
      this.known = { sourceAddress: s.remoteAddress ?? '', sourcePort: s.remotePort ?? 0, destAddress: s.localAddress ?? '', destPort: s.localPort ?? 0 };
    }
    return this.known;
  }
}

const noop = (): void => undefined;

/** Why a connection is refused before it is admitted (each is a `meridian_forward_connections_total` outcome). */
type Refusal = 'refusedDraining' | 'refusedBudget' | 'refusedCap' | 'refusedSource';

export class ForwardListener {
  private server: Server | null = null;
  private readonly balancers = new Map<string, Balancer>();
  private pools = new Map<string, BackendRecord[]>();
  private poolsOf: LoadedConfig | null = null;
  private boundPort: number | null = null;
  /** Open connections per client address (only when `maxConnectionsPerSource` is set). */
  private readonly perSource = new Map<string, number>();
  private readonly leaveBudget: () => void;
  /** True when this listener accepts through accept.ts (reused read buffers, and the fast lane). */
  fastAccept = false;

  constructor(
    public cfg: ListenerConfig,
    readonly bind: ListenAddress,
    private readonly env: ListenerEnv,
  ) {
    env.state.listener(cfg.name);
    this.leaveBudget = env.budget.join();
  }

  /** The cap in force: `maxConnections`, or this listener's share of the process's budget. */
  get cap(): number {
    return this.cfg.maxConnections ?? this.env.budget.share();
  }

  /** The per-source limit in force (0 = none): `maxConnectionsPerSource`, or a quarter of the cap, at most 256. */
  get perSourceCap(): number {
    return this.cfg.maxConnectionsPerSource ?? defaultPerSource(this.cap);
  }

  /**
   * Why a new connection must be refused, or null. Relayed-in connections skip the per-source
   * limit: their sender applied it to the client, and the peer here is a forwarder.
   */
  private refusal(origin: Origin): Refusal | null {
    if (this.env.draining()) return 'refusedDraining';
    if (this.env.state.listener(this.cfg.name).active >= this.cap) return 'refusedCap';
    const perSource = this.perSourceCap;
    if (perSource > 0 && !origin.relayed && (this.perSource.get(origin.addresses.sourceAddress) ?? 0) >= perSource) return 'refusedSource';
    if (!this.env.budget.take()) return 'refusedBudget';
    return null;
  }

  /** Counts a refusal and closes the connection: cleanly while few refusals linger, else at once. */
  private refuse(socket: Socket, why: Refusal): void {
    this.env.state.listener(this.cfg.name)[why]++;
    socket.on('error', noop);
    const { budget } = this.env;
    if (!budget.takeLinger()) return void socket.destroy();
    socket.once('close', () => budget.giveLinger());
    refuse(socket);
  }

  get port(): number | null {
    const a = this.server?.address();
    return a && typeof a === 'object' ? a.port : null;
  }

  get listening(): boolean {
    return this.server !== null;
  }

  async start(): Promise<void> {
    if (this.server) return;
    // pauseOnConnect: nothing is read from a client before its backend is ready (backpressure from the start).
    const server = createServer({ allowHalfOpen: true, pauseOnConnect: true }, (s) => void this.serve(s, new Origin(false, s, null)));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      // After a drain is lifted, the same port again even when the config said 0 (ephemeral).
      server.listen(this.boundPort ?? this.bind.port, this.bind.host, () => {
        this.boundPort = (server.address() as { port: number }).port;
        server.removeListener('error', reject);
        resolve();
      });
    });
    server.on('error', (err) => this.env.log?.error({ listener: this.cfg.name, err: err.message }, 'listener error'));
    // SNI listeners read the ClientHello through 'data' events before choosing a pool, so they keep
    // net.Server's own accept path.
    this.fastAccept = !this.cfg.sni && installAccept(server, (handle) => this.accept(server, handle));
    this.server = server;
  }

  /** How new connections are relayed: on libuv handles (fast-lane.ts) or on net.Socket. */
  get lane(): 'fast' | 'socket' {
    return this.fastAccept && fastLane && this.env.config().forward.fastLane ? 'fast' : 'socket';
  }

  private accept(server: Server, handle: unknown): void {
    if (this.lane === 'fast') return this.serveFast(server, handle as TcpHandle);
    const s = socketFromHandle(server, handle);
    void this.serve(s, new Origin(false, s, null));
  }

  /** The fast lane: a local backend on libuv handles; anything else on net.Socket (see fast-lane.ts). */
  private serveFast(server: Server, handle: TcpHandle): void {
    const client = acceptedEnd(handle);
    const origin = new Origin(false, client, null);
    const why = this.refusal(origin);
    if (why !== null) return this.refuse(client.toSocket(server), why);
    const conn = this.admit(client, origin);
    client.onClose = () => this.release(conn);
    void this.routeFast(server, conn, client, origin);
  }

  private async routeFast(server: Server, conn: Conn, client: LaneEnd, origin: Origin): Promise<void> {
    try {
      const pool = this.pool('default');
      const timeout = this.cfg.connectTimeoutMs;
      const picked = await this.connectLocal(conn, pool, origin, false, (b) => dialLane(b.address, b.port, timeout, (p) => (conn.pending = p)));
      conn.pending = null;
      if (client.destroyed) return discard(picked);
      if (picked) {
        const { upstream, record } = picked;
        const header = this.proxyHeader(origin);
        if (header) upstream.writeFirst(header);
        conn.relay = startLaneRelay(client, upstream, this.relayOptions(conn, record));
        return;
      }
      // No local backend connected: the hop and the last-resort pass run on net.Socket (hop.ts speaks it).
      const socket = client.toSocket(server);
      socket.on('error', noop);
      conn.client = socket;
      await this.afterLocal(conn, socket, origin, pool, null, null);
    } catch (err) {
      this.env.log?.error({ listener: this.cfg.name, err: (err as Error).message }, 'connection setup failed');
      conn.client.destroy();
    }
  }

  /** Counts a connection in (refusals are decided before; the budget was taken by {@link refusal}). */
  private admit(client: ConnSide, origin: Origin): Conn {
    const { state } = this.env;
    const counters = state.listener(this.cfg.name);
    const source = this.perSourceCap > 0 && !origin.relayed ? origin.addresses.sourceAddress : null;
    const conn: Conn = { listener: this.cfg.name, client, relay: null, pending: null, source };
    if (source !== null) this.perSource.set(source, (this.perSource.get(source) ?? 0) + 1);
    counters.active++;
    counters.accepted++;
    if (origin.relayed) counters.relayedIn++;
    state.conns.add(conn);
    return conn;
  }

  /** The client side closed: count it out (exactly once per admitted connection). */
  private release(conn: Conn): void {
    const { state } = this.env;
    state.listener(conn.listener).active--;
    state.conns.delete(conn);
    this.env.budget.give();
    if (conn.source !== null) {
      const n = this.perSource.get(conn.source)! - 1;
      if (n === 0) this.perSource.delete(conn.source);
      else this.perSource.set(conn.source, n);
    }
    conn.pending?.destroy();
    this.env.closed?.();
  }

  /**
   * Stops accepting new connections; open ones continue. Does not wait for them: net.Server's
   * close callback only fires once every connection has ended, which is the drain's job to bound.
   */
  async stop(): Promise<void> {
    const server = this.server;
    this.server = null;
    server?.close();
  }

  /** The forwarder closed for good: its share of the budget goes to the process's other listeners. */
  leave(): void {
    this.leaveBudget();
  }

  /** A new config (same listener name): new pools and balancer for the next connections. */
  update(cfg: ListenerConfig): void {
    if (cfg.balance !== this.cfg.balance) this.balancers.clear();
    this.cfg = cfg;
  }

  /** A connection that another region's forwarder relayed here: local backends only. */
  serveRelayed(r: RelayedIn): void {
    void this.serve(r.socket, new Origin(true, null, r.addresses));
  }

  private async serve(socket: Socket, origin: Origin): Promise<void> {
    socket.on('error', noop); // setup-phase errors surface as 'close'; the relay adds its own handler
    const why = this.refusal(origin);
    if (why !== null) return this.refuse(socket, why);
    const conn = this.admit(socket, origin);
    socket.once('close', () => this.release(conn));
    socket.setNoDelay(true);
    try {
      let initial: Buffer | null = null;
      let poolId = 'default';
      if (this.cfg.sni) {
        const hello = await readHello(socket, this.cfg.sni.timeoutMs);
        if (socket.destroyed) return;
        initial = hello.bytes.length ? hello.bytes : null;
        const name = hello.result.kind === 'tls' ? hello.result.serverName : null;
        const route = name === null ? -1 : this.cfg.sni.routes.findIndex((r) => r.names.some((n) => sniMatches(n, name)));
        if (route >= 0) poolId = `sni:${route}`;
        else if (this.cfg.sni.unmatched === 'reject' || hello.result.kind === 'invalid') {
          this.env.state.listener(this.cfg.name).sniRejected++;
          return void socket.destroy();
        }
      }
      const pool = this.pool(poolId);
      const picked = await this.connectLocal(conn, pool, origin, false, this.dialSocket(conn));
      await this.afterLocal(conn, socket, origin, pool, initial, picked);
    } catch (err) {
      this.env.log?.error({ listener: this.cfg.name, err: (err as Error).message }, 'connection setup failed');
      socket.destroy();
    }
  }

  /** After the first pass over the local backends: the hop, the last-resort pass, then the relay. */
  private async afterLocal(conn: Conn, socket: Socket, origin: Origin, pool: BackendRecord[], initial: Buffer | null, first: Picked<Socket> | null): Promise<void> {
    let picked = first;
    if (!picked && !origin.relayed && !socket.destroyed) {
      if (await this.hop(conn, socket, origin, initial)) return;
    }
    if (!picked && !socket.destroyed) picked = await this.connectLocal(conn, pool, origin, true, this.dialSocket(conn));
    if (socket.destroyed) return discard(picked);
    if (!picked) {
      this.env.state.listener(this.cfg.name).failed++;
      return refuse(socket); // a FIN: over a relay hop it tells the sender to try elsewhere
    }
    const { upstream: backend, record } = picked;
    if (origin.relayed) socket.write(Buffer.from([RELAY_ACK]));
    const header = this.proxyHeader(origin);
    if (header) backend.write(header);
    if (initial) backend.write(initial);
    this.relay(conn, socket, backend, record);
  }

  /** The PROXY header this listener sends its backends first, if it is configured to. */
  private proxyHeader(origin: Origin): Buffer | null {
    if (this.cfg.proxyProtocol === 'v1') return encodeV1(origin.addresses);
    if (this.cfg.proxyProtocol === 'v2') return encodeV2(origin.addresses);
    return null;
  }

  private dialSocket(conn: Conn): (b: BackendRecord) => Promise<Socket | Error> {
    return (b) => connectTcp(b.address, b.port, this.cfg.connectTimeoutMs, conn);
  }

  private pool(id: string): BackendRecord[] {
    const config = this.env.config();
    if (this.poolsOf !== config) {
      this.pools = new Map();
      this.poolsOf = config;
    }
    let pool = this.pools.get(id);
    if (!pool) {
      const sel = id === 'default' ? this.cfg.backends : this.cfg.sni!.routes[Number(id.slice(4))]!.backends;
      const weights = config.forward.regions.get(this.env.region)?.weights;
      pool = selectEndpoints(config.routing.endpoints, this.env.region, sel).map((e) => this.env.state.record(e, weights?.get(e.id) ?? 1));
      this.pools.set(id, pool);
    }
    return pool;
  }

  private balancer(): Balancer {
    let b = this.balancers.get(this.cfg.balance);
    if (!b) this.balancers.set(this.cfg.balance, (b = createBalancer(this.cfg.balance, { decayMs: () => this.decayMs })));
    return b;
  }

  private get decayMs(): number {
    return this.env.config().forward.leastResponseTime.decayMs;
  }

  /** Tries the pool's backends, best first; `panic` = only those ejected by passive health. */
  private async connectLocal<T>(conn: Conn, pool: BackendRecord[], origin: Origin, panic: boolean, dial: (b: BackendRecord) => Promise<T | Error>): Promise<Picked<T> | null> {
    const { outlier } = this.env;
    const health = this.env.health();
    const tried = new Set<string>();
    for (let attempt = 0; attempt < pool.length && !conn.client.destroyed; attempt++) {
      const usable = pool.filter((b) => {
        if (tried.has(b.key) || b.weight <= 0) return false;
        const status = health.endpoint?.(b.key)?.status ?? 'up';
        return status === 'up' && outlier.isEjected(b.key) === panic;
      });
      const balancer = this.balancer();
      const b = balancer.pick(usable, balancer.usesSource ? origin.addresses.sourceAddress : '');
      if (!b) return null;
      tried.add(b.key);
      b.active++; // counted while connecting, so parallel picks see it
      const started = performance.now();
      const s = await dial(b);
      if (!(s instanceof Error)) {
        // Both lanes come through here, each with its own dial: the connect time is measured on either.
        const now = performance.now();
        observeConnect(b, now - started, now, this.decayMs);
        outlier.onSuccess(b.key);
        b.connections++;
        return { upstream: s, record: b };
      }
      b.active--;
      // The client left while we were connecting: that says nothing about the backend.
      if (conn.client.destroyed) return null;
      b.connectFailures++;
      const period = outlier.onFailure(b.key);
      if (period !== null) this.env.log?.warn({ listener: this.cfg.name, backend: b.key, err: s.message, ejectedForMs: period }, 'backend ejected after a failed connect');
    }
    return null;
  }

  /** One hop to another region; true when the connection was handed on (or the client left). */
  private async hop(conn: Conn, client: Socket, origin: Origin, initial: Buffer | null): Promise<boolean> {
    const config = this.env.config();
    const def = config.routing.services.find((s) => s.name === this.cfg.service);
    if (!def) return false;
    const order = regionOrder(def, this.env.health(), this.env.geo(), origin.addresses.sourceAddress);
    const header = encodeV2(origin.addresses, [meridianTlv(this.cfg.name)]);
    for (const id of order) {
      if (id === this.env.region) continue;
      const target = config.forward.regions.get(id)?.relay;
      if (!target) continue;
      const s = await dialRelay(target, header, initial, this.cfg.connectTimeoutMs, config.forward.relay.ackTimeoutMs, (p) => (conn.pending = p));
      conn.pending = null;
      if (conn.client.destroyed) {
        if (!(s instanceof Error)) s.destroy();
        return true;
      }
      if (s instanceof Error) {
        this.env.state.relayTo(id).failed++;
        this.env.log?.debug({ listener: this.cfg.name, region: id, err: s.message }, 'relay to region failed; trying the next');
        continue;
      }
      this.env.state.relayTo(id).ok++;
      this.env.state.listener(this.cfg.name).relayedOut++;
      this.relay(conn, client, s, null);
      return true;
    }
    return false;
  }

  private relay(conn: Conn, client: Socket, backend: Socket, record: BackendRecord | null): void {
    conn.pending = null;
    conn.relay = startRelay(client, backend, this.relayOptions(conn, record));
  }

  private relayOptions(conn: Conn, record: BackendRecord | null): RelayOptions {
    const { state } = this.env;
    return {
      idleTimeoutMs: this.cfg.idleTimeoutMs,
      onEnd: (how, _err, c) => {
        state.bytesFromClients += c.fromClient;
        state.bytesFromBackends += c.fromBackend;
        if (how === 'idle') state.listener(this.cfg.name).idleTimeouts++;
        if (record) record.active--;
        conn.relay = null;
      },
    };
  }
}

/**
 * A backend connected for a client that left meanwhile: close it, and count it out again
 * (connectLocal counted it in; nothing else will, since no relay starts).
 */
function discard(picked: Picked<{ destroy(): void }> | null): void {
  if (picked === null) return;
  picked.upstream.destroy();
  picked.record.active--;
}

/**
 * Refused cleanly: a FIN without data (never an RST from closing over unread bytes); whatever the
 * client sends meanwhile is discarded, and the socket is closed after its FIN or a second.
 */
function refuse(socket: Socket): void {
  const timer = setTimeout(() => socket.destroy(), 1_000);
  timer.unref();
  socket.once('close', () => clearTimeout(timer));
  socket.once('end', () => socket.destroy());
  socket.resume();
  socket.end();
}

/** A TCP connection to a backend, or the reason it failed (refused, unreachable, timeout). */
function connectTcp(host: string, port: number, timeoutMs: number, conn: Conn): Promise<Socket | Error> {
  return new Promise((resolve) => {
    const s = connect({ host, port, allowHalfOpen: true, noDelay: true, onread: relayReads });
    usesRelayReads(s);
    // Nothing is read before the relay starts: with onread, bytes read with no relay attached are dropped.
    s.pause();
    conn.pending = s;
    const timer = setTimeout(() => {
      s.destroy();
      resolve(new Error('connect timeout'));
    }, timeoutMs);
    const onError = (err: Error): void => {
      clearTimeout(timer);
      s.destroy();
      resolve(err);
    };
    s.once('error', onError);
    // Destroyed from outside (the client left, drain deadline): no 'error' comes, only 'close'.
    const onClose = (): void => onError(new Error('aborted'));
    s.once('close', onClose);
    s.once('connect', () => {
      clearTimeout(timer);
      s.removeListener('error', onError);
      s.removeListener('close', onClose);
      s.on('error', noop); // until the relay attaches its handler, in the same tick
      resolve(s);
    });
  });
}

/** Reads until the ClientHello is complete (or clearly not TLS), bounded in bytes and time. */
function readHello(socket: Socket, timeoutMs: number): Promise<{ bytes: Buffer; result: SniResult }> {
  return new Promise((resolve) => {
    let buf = Buffer.alloc(0);
    const done = (result: SniResult): void => {
      clearTimeout(timer);
      socket.removeListener('data', onData);
      socket.removeListener('end', onEnd);
      socket.removeListener('close', onEnd);
      socket.pause();
      resolve({ bytes: buf, result });
    };
    const onData = (chunk: Buffer): void => {
      buf = Buffer.concat([buf, chunk]);
      const r = parseClientHello(buf);
      if (r.kind !== 'need-more') done(r);
      else if (buf.length >= MAX_CLIENT_HELLO_BYTES) done({ kind: 'invalid', reason: 'ClientHello too large' });
    };
    const onEnd = (): void => done({ kind: 'invalid', reason: 'closed before the ClientHello' });
    const timer = setTimeout(() => done({ kind: 'invalid', reason: 'ClientHello timeout' }), timeoutMs);
    socket.on('data', onData);
    socket.once('end', onEnd);
    socket.once('close', onEnd);
    socket.resume();
  });
}
