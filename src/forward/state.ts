/**
 * The forwarder's mutable run-time state, shared by listeners, the relay hop, drain, load reports
 * and metrics: backend records (active connections, cumulative counters), per-listener counters
 * and the set of open connections. Only plain counters are bumped per connection; rates and
 * metrics are derived from them when read.
 * @module
 */
import type { EndpointDefinition } from '../routing/compile.js';
import type { BackendSelector } from './config.js';
import type { Pickable } from './pick.js';
import type { Relay } from './relay.js';

export class BackendRecord implements Pickable {
  active = 0;
  /** Cumulative: connections established, connect failures (refused, unreachable, timeout). */
  connections = 0;
  connectFailures = 0;
  /** Connect-time average (connect-time.ts), fed by every successful connect on either lane. */
  connectMs = Number.NaN;
  connectAt = 0;

  constructor(
    readonly key: string,
    readonly id: string,
    public address: string,
    public port: number,
    public weight: number,
  ) {}
}

export interface ListenerCounters {
  active: number;
  accepted: number;
  refusedCap: number;
  refusedDraining: number;
  /** Refused because the process's relayed-connection budget (budget.ts) was used up. */
  refusedBudget: number;
  /** Refused because its client address had `maxConnectionsPerSource` open. */
  refusedSource: number;
  /** Closed without a backend: no local one reachable and no region to relay to. */
  failed: number;
  /** Sent to another region's forwarder / received from one. */
  relayedOut: number;
  relayedIn: number;
  idleTimeouts: number;
  sniRejected: number;
}

export function newListenerCounters(): ListenerCounters {
  return { active: 0, accepted: 0, refusedCap: 0, refusedDraining: 0, refusedBudget: 0, refusedSource: 0, failed: 0, relayedOut: 0, relayedIn: 0, idleTimeouts: 0, sniRejected: 0 };
}

/** One side of a connection as drain and shutdown see it: a net.Socket, or a fast-lane handle. */
export interface ConnSide {
  readonly destroyed: boolean;
  destroy(): void;
}

/** One client connection, from accept to close. */
export interface Conn {
  listener: string;
  client: ConnSide;
  /** Set once bytes flow. */
  relay: Relay | null;
  /** A backend or relay connection being made, so drain and close can abort it too. */
  pending: ConnSide | null;
  /** The client address counted against `maxConnectionsPerSource`, or null (no limit, or relayed in). */
  source: string | null;
}

export class ForwarderState {
  readonly backends = new Map<string, BackendRecord>();
  readonly listeners = new Map<string, ListenerCounters>();
  readonly conns = new Set<Conn>();
  /** Per destination region: connections relayed there, and relay attempts that failed. */
  readonly relayOut = new Map<string, { ok: number; failed: number }>();
  relayInRejected = 0;
  bytesFromClients = 0;
  bytesFromBackends = 0;

  listener(name: string): ListenerCounters {
    let c = this.listeners.get(name);
    if (!c) this.listeners.set(name, (c = newListenerCounters()));
    return c;
  }

  relayTo(region: string): { ok: number; failed: number } {
    let c = this.relayOut.get(region);
    if (!c) this.relayOut.set(region, (c = { ok: 0, failed: 0 }));
    return c;
  }

  /** The shared record of a backend (connection counts are per backend, whatever pool picked it). */
  record(e: EndpointDefinition, weight: number): BackendRecord {
    let r = this.backends.get(e.key);
    if (!r) this.backends.set(e.key, (r = new BackendRecord(e.key, e.id, e.address, e.port, weight)));
    r.address = e.address;
    r.port = e.port;
    r.weight = weight;
    return r;
  }

  get active(): number {
    return this.conns.size;
  }

  /** Bytes of reused read buffers held by open connections (relay.ts). */
  readBufferBytes(): number {
    let n = 0;
    for (const c of this.conns) n += c.relay?.readBuffers() ?? 0;
    return n;
  }

  /** Bytes held in relay buffers across all connections (the slow-reader bound is tested on it). */
  bufferedBytes(): number {
    let n = 0;
    for (const c of this.conns) n += c.relay?.buffered() ?? 0;
    return n;
  }
}

/** The endpoints of `region` a selector names: by `ids`, else by `port`, else all of them. */
export function selectEndpoints(endpoints: readonly EndpointDefinition[], region: string, sel: BackendSelector): EndpointDefinition[] {
  return endpoints.filter((e) => e.region === region && (sel.ids ? sel.ids.includes(e.id) : sel.port === undefined || e.port === sel.port));
}
