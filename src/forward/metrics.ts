/**
 * The forwarder's Prometheus metrics, read from its counters at scrape time (nothing is done per
 * connection for metrics). Names follow `meridian_<component>_<name>` as src/obs/metrics.ts.
 * Several forwarders may share one registry (every region embedded in one process): the metrics
 * are registered once per registry and every series carries the forwarder's `region`.
 * @module
 */
import { Counter, Gauge, type Registry } from 'prom-client';
import { splitKey } from '../probe/types.js';
import type { ConnectionBudget } from './budget.js';
import type { DrainResult } from './drain.js';
import type { LoadReporter } from './load.js';
import type { OutlierDetector } from './passive.js';
import { pooledReadBufferBytes } from './relay.js';
import type { ForwarderState } from './state.js';

/**
 * What the metrics read of a forwarder. forwarder.ts's `Forwarder` has all of it; naming only this
 * here keeps the import one-way (forwarder.ts registers its metrics, this module never imports it).
 */
export interface MeteredForwarder {
  readonly region: string;
  readonly budget: ConnectionBudget;
  readonly state: ForwarderState;
  readonly outlier: Pick<OutlierDetector, 'ejected'>;
  readonly loadReporter: Pick<LoadReporter, 'published' | 'failed'> | null;
  readonly draining: boolean;
  readonly lastDrain: Pick<DrainResult, 'remaining'> | null;
  lane(listener: string): 'fast' | 'socket' | null;
  limits(listener: string): { cap: number; perSource: number } | null;
}

function counter(registry: Registry, name: string, help: string, labelNames: string[], read: (set: (labels: Record<string, string>, v: number) => void) => void): void {
  new Counter({
    name,
    help,
    labelNames,
    registers: [registry],
    collect() {
      this.reset();
      read((labels, v) => this.inc(labels, v));
    },
  });
}

function gauge(registry: Registry, name: string, help: string, labelNames: string[], read: (set: (labels: Record<string, string>, v: number) => void) => void): void {
  new Gauge({
    name,
    help,
    labelNames,
    registers: [registry],
    collect() {
      this.reset();
      read((labels, v) => this.set(labels, v));
    },
  });
}

const registered = new WeakMap<Registry, Set<MeteredForwarder>>();

/** Adds a forwarder to the registry's metrics (registering them on first use); returns a remover. */
export function registerForwarderMetrics(registry: Registry, fwd: MeteredForwarder): () => void {
  let set = registered.get(registry);
  if (!set) {
    registered.set(registry, (set = new Set()));
    const all = set;
    define(registry, () => [...all]);
  }
  set.add(fwd);
  return () => set.delete(fwd);
}

function define(registry: Registry, forwarders: () => MeteredForwarder[]): void {
  const each = (f: (fwd: MeteredForwarder, region: string) => void): void => {
    for (const fwd of forwarders()) f(fwd, fwd.region);
  };
  gauge(registry, 'meridian_forward_connections_active', 'Client connections open now, per listener.', ['region', 'listener'], (set) => {
    each((fwd, region) => {
      for (const [listener, c] of fwd.state.listeners) set({ region, listener }, c.active);
    });
  });
  counter(
    registry,
    'meridian_forward_connections_total',
    'Client connections by outcome: accepted, refused at the cap, while draining, at the fd budget or at the per-source limit, failed (no backend anywhere), relayed out to / in from another region, SNI rejected, idle timeout.',
    ['region', 'listener', 'outcome'],
    (set) => {
      each((fwd, region) => {
        for (const [listener, c] of fwd.state.listeners) {
          const outcomes = {
            accepted: c.accepted,
            refused_cap: c.refusedCap,
            refused_draining: c.refusedDraining,
            refused_budget: c.refusedBudget,
            refused_source: c.refusedSource,
            failed: c.failed,
            relayed_out: c.relayedOut,
            relayed_in: c.relayedIn,
            sni_rejected: c.sniRejected,
            idle_timeout: c.idleTimeouts,
          };
          for (const [outcome, v] of Object.entries(outcomes)) set({ region, listener, outcome }, v);
        }
      });
    },
  );
  // Backends are named `<region>/<id>`: their region label is the forwarder's own.
  gauge(registry, 'meridian_forward_backend_connections_active', 'Connections open (or being opened) to each backend.', ['region', 'endpoint'], (set) => {
    each((fwd) => {
      for (const [key, b] of fwd.state.backends) set(splitKey(key), b.active);
    });
  });
  counter(registry, 'meridian_forward_backend_connections_total', 'Connections established to each backend.', ['region', 'endpoint'], (set) => {
    each((fwd) => {
      for (const [key, b] of fwd.state.backends) set(splitKey(key), b.connections);
    });
  });
  counter(
    registry,
    'meridian_forward_backend_connect_failures_total',
    'Failed connects (refused, unreachable, timeout) per backend; each one was retried elsewhere.',
    ['region', 'endpoint'],
    (set) => {
      each((fwd) => {
        for (const [key, b] of fwd.state.backends) set(splitKey(key), b.connectFailures);
      });
    },
  );
  gauge(
    registry,
    'meridian_forward_backend_connect_time_seconds',
    'Average time to connect to each backend (EWMA over forward.leastResponseTime.decayMs; what least-response-time ranks by); absent until a first connect.',
    ['region', 'endpoint'],
    (set) => {
      each((fwd) => {
        for (const [key, b] of fwd.state.backends) if (!Number.isNaN(b.connectMs)) set(splitKey(key), b.connectMs / 1000);
      });
    },
  );
  gauge(registry, 'meridian_forward_backend_ejected', '1 while passive health has the backend ejected.', ['region', 'endpoint'], (set) => {
    each((fwd) => {
      const ejected = new Set(fwd.outlier.ejected());
      for (const key of fwd.state.backends.keys()) set(splitKey(key), ejected.has(key) ? 1 : 0);
    });
  });
  counter(registry, 'meridian_forward_relay_total', 'Cross-region relay attempts, from this region to another, by result.', ['region', 'to', 'result'], (set) => {
    each((fwd, region) => {
      for (const [to, c] of fwd.state.relayOut) {
        set({ region, to, result: 'ok' }, c.ok);
        set({ region, to, result: 'failed' }, c.failed);
      }
    });
  });
  counter(registry, 'meridian_forward_relay_rejected_total', 'Connections on the relay port closed for lack of a valid Meridian PROXY v2 header.', ['region'], (set) =>
    each((fwd, region) => set({ region }, fwd.state.relayInRejected)),
  );
  counter(registry, 'meridian_forward_bytes_total', 'Bytes relayed, by direction (finished connections and open ones).', ['region', 'direction'], (set) => {
    each((fwd, region) => {
      const s = fwd.state;
      let c = s.bytesFromClients;
      let b = s.bytesFromBackends;
      for (const conn of s.conns) {
        c += conn.relay?.counters.fromClient ?? 0;
        b += conn.relay?.counters.fromBackend ?? 0;
      }
      set({ region, direction: 'from_client' }, c);
      set({ region, direction: 'from_backend' }, b);
    });
  });
  gauge(registry, 'meridian_forward_buffered_bytes', 'Bytes held in relay buffers now (bounded per connection by backpressure).', ['region'], (set) =>
    each((fwd, region) => set({ region }, fwd.state.bufferedBytes())),
  );
  gauge(registry, 'meridian_forward_read_buffer_bytes', 'Reused read buffers (forward.readBufferBytes each, two per connection) held by open connections.', ['region'], (set) =>
    each((fwd, region) => set({ region }, fwd.state.readBufferBytes())),
  );
  gauge(registry, 'meridian_forward_read_buffer_pool_bytes', 'Read buffers of ended connections kept for new ones (process-wide, at most 256).', [], (set) => set({}, pooledReadBufferBytes()));
  gauge(
    registry,
    'meridian_forward_fast_lane',
    '1 when the listener relays on libuv handles (src/forward/fast-lane.ts), 0 on net.Socket (SNI, forward.fastLane off, or a Node without the bindings).',
    ['region', 'listener'],
    (set) => {
      each((fwd, region) => {
        for (const listener of fwd.state.listeners.keys()) {
          const lane = fwd.lane(listener);
          if (lane !== null) set({ region, listener }, lane === 'fast' ? 1 : 0);
        }
      });
    },
  );
  gauge(
    registry,
    'meridian_forward_fd_budget',
    'The process file-descriptor budget (src/forward/budget.ts): kind=limit (RLIMIT_NOFILE read at start), reserve (kept for DNS, admin API, metrics, probes), connections (relayed connections allowed, two fds each), in_use (relayed connections open), lingering (refusals reading up to the client FIN).',
    ['kind'],
    (set) => {
      // One budget per process: every forwarder shares it, so the first one's is the process's.
      const b = forwarders()[0]?.budget;
      if (!b) return;
      if (b.limit !== null) set({ kind: 'limit' }, b.limit);
      set({ kind: 'reserve' }, b.reserve);
      if (b.connections !== Infinity) set({ kind: 'connections' }, b.connections);
      set({ kind: 'in_use' }, b.inUse);
      set({ kind: 'lingering' }, b.lingering);
    },
  );
  gauge(
    registry,
    'meridian_forward_listener_limit',
    'Connection limits in force on a listener: kind=cap (maxConnections, or its share of the fd budget), per_source (maxConnectionsPerSource, or a quarter of the cap, at most 256; 0 = none).',
    ['region', 'listener', 'kind'],
    (set) => {
      each((fwd, region) => {
        for (const listener of fwd.state.listeners.keys()) {
          const limits = fwd.limits(listener);
          if (!limits) continue;
          set({ region, listener, kind: 'cap' }, limits.cap);
          set({ region, listener, kind: 'per_source' }, limits.perSource);
        }
      });
    },
  );
  gauge(registry, 'meridian_forward_draining', '1 while the forwarder drains (not accepting).', ['region'], (set) => each((fwd, region) => set({ region }, fwd.draining ? 1 : 0)));
  gauge(registry, 'meridian_forward_drain_remaining_connections', 'While draining: connections still open; after a drain: those its deadline closed.', ['region'], (set) => {
    each((fwd, region) => set({ region }, fwd.draining ? fwd.state.active : (fwd.lastDrain?.remaining ?? 0)));
  });
  counter(registry, 'meridian_forward_load_reports_total', 'Load reports published to the health bus, by result.', ['region', 'result'], (set) => {
    each((fwd, region) => {
      set({ region, result: 'ok' }, fwd.loadReporter?.published ?? 0);
      set({ region, result: 'failed' }, fwd.loadReporter?.failed ?? 0);
    });
  });
}
