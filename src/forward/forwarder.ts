/**
 * The forwarder of one region as a library: `startForwarder(config, region, deps)` binds every
 * listener (and the region's relay listener), publishes load reports, follows the health snapshot
 * (a `drained` region drains, and accepts again when that is lifted) and returns a handle.
 * `meridian forward` wraps it (src/commands/forward.ts); `meridian serve` can embed it the same way.
 * @module
 */
import { hostname } from 'node:os';
import type { Registry } from 'prom-client';
import type { LoadedConfig } from '../config/load.js';
import type { HealthBus } from '../health/types.js';
import type { Logger } from '../obs/log.js';
import type { GeoLookup } from '../routing/service.js';
import { ConnectionBudget } from './budget.js';
import { INVALID_FORWARDER } from './config.js';
import { DrainController, type DrainResult } from './drain.js';
import { RelayListener } from './hop.js';
import { ForwardListener, type ForwardHealth } from './listener.js';
import { LoadReporter } from './load.js';
import { registerForwarderMetrics } from './metrics.js';
import { OutlierDetector } from './passive.js';
import { setRelayReadBufferBytes } from './relay.js';
import { ForwarderState } from './state.js';

export interface ForwarderDeps {
  /** The health snapshot source (a HealthSource): read per connection, followed for drains. */
  health: { readonly current: ForwardHealth; onSwap?(listener: (h: ForwardHealth) => void): () => void };
  /** Where load reports go; null = not published (tests, or no bus). */
  bus: HealthBus | null;
  /** The geo database, for services whose chain needs it (the hop order). */
  geo?: () => GeoLookup | null;
  log?: Logger;
  /** Registers the forwarder's metrics here. */
  metrics?: Registry;
  /**
   * The process's relayed-connection budget, shared by every forwarder of the process (src/node/fds.ts
   * makes it); absent = unbounded, and listeners without `maxConnections` get budget.ts's MAX_DEFAULT_CAP.
   */
  budget?: ConnectionBudget;
  /** Instance id in load reports; default `<region>/<hostname>/<pid>`. */
  instanceId?: string;
  /** A socket the region's `forwarder:` block sets could not be bound (counted as a refused block). */
  onRejectedBlock?: (region: string) => void;
  now?: () => number;
}

export interface Forwarder {
  readonly region: string;
  readonly budget: ConnectionBudget;
  readonly state: ForwarderState;
  readonly outlier: OutlierDetector;
  readonly loadReporter: LoadReporter | null;
  readonly draining: boolean;
  readonly lastDrain: DrainResult | null;
  /** Plain counters: per listener, per backend, relays. */
  readonly stats: ForwarderStats;
  /** The bound address of a listener (port 0 in config = an ephemeral port). */
  address(listener: string): { host: string; port: number } | null;
  /** How a listener relays new connections: 'fast' (libuv handles, fast-lane.ts) or 'socket'; null = no such listener. */
  lane(listener: string): 'fast' | 'socket' | null;
  /** The connection limits in force on a listener (its cap, its per-source limit; 0 = none); null = no such listener. */
  limits(listener: string): { cap: number; perSource: number } | null;
  readonly relayPort: number | null;
  /** Stops accepting, waits for open connections up to `deadlineMs`, closes the rest. */
  drain(deadlineMs?: number): Promise<DrainResult>;
  /** A reloaded config: pools, weights, relay targets and timeouts apply to new connections. */
  update(config: LoadedConfig): void;
  /** Closes everything now (drain first for a graceful stop). */
  close(): Promise<void>;
}

export interface ForwarderStats {
  active: number;
  bufferedBytes: number;
  listeners: Record<string, ReturnType<ForwarderState['listener']>>;
  backends: Record<string, { active: number; connections: number; connectFailures: number; ejected: boolean }>;
  relayOut: Record<string, { ok: number; failed: number }>;
  relayInRejected: number;
}

export async function startForwarder(initial: LoadedConfig, region: string, deps: ForwarderDeps): Promise<Forwarder> {
  if (!initial.routing.regions.some((r) => r.id === region)) throw new Error(`forward: unknown region "${region}"`);
  let config = initial;
  setRelayReadBufferBytes(config.forward.readBufferBytes);
  const log = deps.log?.child({ component: 'forward', region });
  const now = deps.now ?? Date.now;
  const state = new ForwarderState();
  const budget = deps.budget ?? ConnectionBudget.unbounded();
  const outlier = new OutlierDetector(config.forward.outlier, now);
  // Assigned once, below: the controller needs the sockets, which need env; env reads it lazily.
  // eslint-disable-next-line prefer-const
  let drainer: DrainController;
  const env = {
    region,
    state,
    outlier,
    config: () => config,
    health: () => deps.health.current,
    geo: () => deps.geo?.() ?? null,
    draining: () => drainer.draining,
    budget,
    closed: () => drainer.notify(),
    ...(log ? { log } : {}),
  };
  const bindOf = (name: string, fallback: { host: string; port: number }) => config.forward.regions.get(region)?.listen.get(name) ?? fallback;
  const listeners = new Map(config.forward.listeners.map((l) => [l.name, new ForwardListener(l, bindOf(l.name, l.listen), env)]));
  const relayAt = config.forward.regions.get(region)?.relay ?? null;
  const relayListener = relayAt ? relayListenerOf(relayAt, config, listeners, state, log) : null;
  const sockets = regionSockets(config, region, listeners, relayAt, relayListener, deps.onRejectedBlock, log);
  drainer = new DrainController(state, { stopAccepting: sockets.stopAll, resumeAccepting: sockets.startAll }, log, now);
  try {
    await sockets.startAll();
  } catch (err) {
    await sockets.stopAll();
    throw err;
  }

  const capacity = (): number => config.forward.regions.get(region)?.capacity ?? [...listeners.values()].reduce((n, l) => n + l.cap, 0);
  const loadReporter = deps.bus
    ? new LoadReporter({
        bus: deps.bus,
        region,
        forwarder: deps.instanceId ?? `${region}/${hostname()}/${process.pid}`,
        state,
        capacity,
        intervalMs: config.forward.load.reportIntervalMs,
        ttlMs: config.forward.load.reportTtlMs,
        ...(log ? { log } : {}),
        now,
      })
    : null;
  loadReporter?.start();
  const drains = followDrains(region, deps.health, drainer, () => config, log);
  const fwd = handleOf({
    ...{ region, budget, state, outlier, loadReporter, drainer, listeners, relayListener, sockets, drains, bindOf, log, metrics: deps.metrics },
    config: () => config,
    setConfig: (c) => (config = c),
  });
  log?.info({ listeners: [...listeners.values()].map((l) => `${l.cfg.name}@${l.bind.host}:${l.port}`), relay: relayAt ? `${relayAt.host}:${relayListener!.port}` : null }, 'forwarder ready');
  return fwd;
}

/** What a running forwarder is made of (startForwarder builds it, handleOf exposes it). */
interface ForwarderParts {
  region: string;
  budget: ConnectionBudget;
  state: ForwarderState;
  outlier: OutlierDetector;
  loadReporter: LoadReporter | null;
  drainer: DrainController;
  listeners: Map<string, ForwardListener>;
  relayListener: RelayListener | null;
  sockets: { stopAll(): Promise<void> };
  drains: { stop(): void };
  bindOf(name: string, fallback: { host: string; port: number }): { host: string; port: number };
  log: Logger | undefined;
  /** Where the forwarder's metrics are registered (and unregistered at close). */
  metrics: Registry | undefined;
  config(): LoadedConfig;
  setConfig(next: LoadedConfig): void;
}

function handleOf(p: ForwarderParts): Forwarder {
  const { state, outlier, drainer, listeners, log } = p;
  const fwd: Forwarder = {
    region: p.region,
    budget: p.budget,
    state,
    outlier,
    loadReporter: p.loadReporter,
    get draining() {
      return drainer.draining;
    },
    get lastDrain() {
      return drainer.last;
    },
    get stats() {
      return statsOf(state, outlier);
    },
    address(name) {
      const l = listeners.get(name);
      return l?.port != null ? { host: l.bind.host, port: l.port } : null;
    },
    lane(name) {
      const l = listeners.get(name);
      return l?.listening ? l.lane : null;
    },
    limits(name) {
      const l = listeners.get(name);
      return l ? { cap: l.cap, perSource: l.perSourceCap } : null;
    },
    get relayPort() {
      return p.relayListener?.port ?? null;
    },
    drain: (deadlineMs = p.config().forward.drainDeadlineMs) => drainer.drain(deadlineMs, 'caller'),
    update(next) {
      p.setConfig(next);
      setRelayReadBufferBytes(next.forward.readBufferBytes);
      outlier.update(next.forward.outlier);
      for (const l of next.forward.listeners) {
        const running = listeners.get(l.name);
        if (!running) log?.warn({ listener: l.name }, 'new listener: it starts at the next restart');
        else {
          if (JSON.stringify(p.bindOf(l.name, l.listen)) !== JSON.stringify(running.bind)) log?.warn({ listener: l.name }, 'listen address changed: it applies at the next restart');
          running.update(l);
        }
      }
    },
    async close() {
      p.drains.stop();
      unregister();
      p.loadReporter?.stop();
      await p.sockets.stopAll();
      for (const l of listeners.values()) l.leave();
      for (const c of [...state.conns]) {
        if (c.relay) c.relay.abort();
        else c.client.destroy();
        c.pending?.destroy();
      }
    },
  };
  const unregister = p.metrics ? registerForwarderMetrics(p.metrics, fwd) : () => undefined;
  return fwd;
}

/** The region's relay listener: a relayed connection goes to the listener it names, or is refused. */
function relayListenerOf(at: { host: string; port: number }, config: LoadedConfig, listeners: Map<string, ForwardListener>, state: ForwarderState, log: Logger | undefined): RelayListener {
  return new RelayListener(at, {
    headerTimeoutMs: config.forward.relay.headerTimeoutMs,
    ...(log ? { log } : {}),
    onRelayed: (r) => {
      const l = listeners.get(r.listener);
      if (l) return l.serveRelayed(r);
      state.relayInRejected++;
      r.socket.destroy();
    },
    onRejected: (reason) => {
      state.relayInRejected++;
      log?.debug({ reason }, 'relay connection rejected');
    },
  });
}

/**
 * Starting and stopping every socket of the region (listeners and relay listener). A socket whose
 * address the region's `forwarder:` block sets (a store version can set it) and that cannot be
 * bound is logged and counted once, and the forwarder runs without it; the YAML's own addresses
 * stay fatal, since the operator starts the process and must see it fail.
 */
function regionSockets(
  config: LoadedConfig,
  region: string,
  listeners: Map<string, ForwardListener>,
  relayAt: { host: string; port: number } | null,
  relayListener: RelayListener | null,
  onRejectedBlock: ((region: string) => void) | undefined,
  log: Logger | undefined,
): { startAll(): Promise<void>; stopAll(): Promise<void> } {
  const sockets = [
    ...[...listeners].map(([name, l]) => ({ field: `listen.${name}`, fromBlock: config.forward.regions.get(region)?.listen.has(name) ?? false, at: l.bind, start: () => l.start() })),
    ...(relayListener && relayAt ? [{ field: 'relay', fromBlock: true, at: relayAt, start: () => relayListener.start() }] : []),
  ];
  const unbound = new Set<string>();
  return {
    async startAll() {
      const results = await Promise.allSettled(sockets.map((k) => k.start()));
      results.forEach((r, k) => {
        if (r.status === 'fulfilled') return;
        const socket = sockets[k]!;
        const code = (r.reason as NodeJS.ErrnoException).code;
        if (!socket.fromBlock || (code !== 'EADDRINUSE' && code !== 'EADDRNOTAVAIL')) throw r.reason;
        if (unbound.has(socket.field)) return;
        unbound.add(socket.field);
        onRejectedBlock?.(region);
        log?.error(
          { code: INVALID_FORWARDER, region, field: `forwarder.${socket.field}`, address: `${socket.at.host}:${socket.at.port}`, err: code },
          `the forwarder block of region ${region}: forwarder.${socket.field} cannot be bound (${code}): the forwarder runs without it`,
        );
      });
    },
    async stopAll() {
      await Promise.all([...[...listeners.values()].map((l) => l.stop()), relayListener?.stop()]);
    },
  };
}

/**
 * A `drained` region (override or config state) drains its forwarder; lifting it accepts again.
 * A drain through the admin API ends with the region no longer handed out, but resolvers may hold
 * the last answer for the drain's TTL: until then the forwarder keeps accepting (drainGraceMs).
 */
function followDrains(region: string, health: ForwarderDeps['health'], drainer: DrainController, config: () => LoadedConfig, log: Logger | undefined): { stop(): void } {
  let grace: NodeJS.Timeout | null = null;
  const drainNow = (): void => void drainer.drain(config().forward.drainDeadlineMs, 'override');
  const follow = (h: ForwardHealth): void => {
    const drained = h.region(region) === 'drained';
    if (!drained) {
      if (grace) clearTimeout(grace);
      grace = null;
      if (drainer.cause === 'override') void drainer.resume().catch((err: Error) => log?.error({ err: err.message }, 'cannot accept again after the drain'));
      return;
    }
    if (drainer.draining || grace) return;
    const wait = drainGraceMs(config(), region);
    if (wait === 0) return drainNow();
    log?.info({ graceMs: wait }, 'region drained: accepting for the drain TTL before draining');
    grace = setTimeout(() => {
      grace = null;
      if (health.current.region(region) === 'drained') drainNow();
    }, wait);
  };
  const unfollow = health.onSwap?.(follow) ?? (() => undefined);
  follow(health.current);
  return {
    stop() {
      unfollow();
      if (grace) clearTimeout(grace);
    },
  };
}

/** A copy of the forwarder's counters (per listener, per backend with its ejection, relays). */
function statsOf(state: ForwarderState, outlier: OutlierDetector): ForwarderStats {
  const ejected = new Set(outlier.ejected());
  return {
    active: state.active,
    bufferedBytes: state.bufferedBytes(),
    listeners: Object.fromEntries([...state.listeners].map(([k, c]) => [k, { ...c }])),
    backends: Object.fromEntries([...state.backends].map(([k, b]) => [k, { active: b.active, connections: b.connections, connectFailures: b.connectFailures, ejected: ejected.has(k) }])),
    relayOut: Object.fromEntries([...state.relayOut].map(([k, c]) => [k, { ...c }])),
    relayInRejected: state.relayInRejected,
  };
}

/** The margin a drain gives every node to apply its versions (src/admin/drain.ts, PROPAGATION_MS). */
const DRAIN_PROPAGATION_MS = 1_000;

/**
 * How long a drained region's forwarder keeps accepting: the drain TTL plus the propagation margin
 * when the region is drained through the admin API (its `drain` block, whichever phase this
 * forwarder's config is at yet: the health swap may come before the config update), else 0 (an
 * override or a config `state: drained` drains at once, as before).
 */
export function drainGraceMs(config: LoadedConfig, region: string): number {
  const drain = config.routing.regionSources.find((r) => r.id === region)?.drain;
  return drain ? drain.ttl * 1000 + DRAIN_PROPAGATION_MS : 0;
}
