/**
 * The forwarder's configuration: the `forward:` block (listeners and timings, shared by every
 * region) and the optional `forwarder:` block of a region (its relay address, capacity, bind
 * overrides and backend weights), then the cross-checks the schema cannot express. Defaults and
 * their reasons: src/forward/README.md.
 * @module
 */
import { type Static, Type } from '@sinclair/typebox';
import { parseListen, type ListenAddress, type TakenAddress } from '../config/listen.js';
import type { CompiledRouting } from '../routing/compile.js';
import type { RegionSource } from '../config/schema.js';
import type { ConfigSection } from '../config/sections.js';
import { canonicalOrigin } from '../zone/parse.js';
import { unbindableAddress } from '../wire/usable.js';

declare module '../config/sections.js' {
  interface Sections {
    /** The `forward:` section and every region's `forwarder:` block, compiled. */
    forward: ForwardConfig;
  }
}
declare module '../config/schema.js' {
  interface RegionBlocks {
    /** The region's L4 forwarder; absent = defaults, no relay address. */
    forwarder?: RegionForwarderSource;
  }
}

export const BALANCE_MODES = ['round-robin', 'weighted-round-robin', 'least-connections', 'weighted-least-connections', 'source-hash', 'least-response-time', 'random-two-choices'] as const;

/** Default τ of the connect-time average (Finagle's peak EWMA default): see src/forward/README.md. */
export const DEFAULT_DECAY_MS = 10_000;
/** `maxConnectionsPerSource` default: a quarter of the listener's cap, at most 256 (src/forward/README.md gives the reasons). */
export const DEFAULT_PER_SOURCE = 256;
/** The per-source limit of a listener without `maxConnectionsPerSource`: no address may hold more than a quarter of `cap`. */
export const defaultPerSource = (cap: number): number => Math.max(1, Math.min(DEFAULT_PER_SOURCE, Math.floor(cap / 4)));
/** `idleTimeoutMs` default: 60 s (src/forward/README.md gives the reasons; it was 300 s). */
export const DEFAULT_IDLE_TIMEOUT_MS = 60_000;
export type BalanceMode = (typeof BALANCE_MODES)[number];

/** Which of a region's `endpoints` a listener (or an SNI route) sends to. Neither key: all of them. */
export const BackendSelectorSchema = Type.Object(
  {
    port: Type.Optional(Type.Integer({ minimum: 1, maximum: 65535 })),
    ids: Type.Optional(Type.Array(Type.String({ minLength: 1 }), { minItems: 1 })),
  },
  { additionalProperties: false, default: {} },
);

export const SniRouteSchema = Type.Object(
  {
    /** Exact host names, or `*.suffix` for any name below the suffix (one label or more). */
    names: Type.Array(Type.String({ minLength: 1, maxLength: 253 }), { minItems: 1 }),
    backends: BackendSelectorSchema,
  },
  { additionalProperties: false },
);

export const SniSchema = Type.Object(
  {
    routes: Type.Array(SniRouteSchema, { default: [] }),
    /** No SNI, no matching route, or not TLS: `default` uses the listener's backends, `reject` closes. */
    unmatched: Type.Union([Type.Literal('default'), Type.Literal('reject')], { default: 'default' }),
    /** The ClientHello must arrive within this time (slowloris guard). */
    timeoutMs: Type.Integer({ minimum: 100, maximum: 60_000, default: 5_000 }),
  },
  // No default for the block itself: a listener without `sni:` must not read ClientHellos.
  { additionalProperties: false },
);

export const ListenerSchema = Type.Object(
  {
    name: Type.String({ pattern: '^[a-z0-9][a-z0-9_-]{0,62}$' }),
    /** The DNS service this port serves: its policy chain orders the regions for failover. */
    service: Type.String({ minLength: 1 }),
    /** `host:port` to bind; a region can override it (`regions[].forwarder.listen.<name>`). */
    listen: Type.String({ minLength: 1 }),
    backends: BackendSelectorSchema,
    balance: Type.Union(
      BALANCE_MODES.map((m) => Type.Literal(m)),
      { default: 'weighted-least-connections' },
    ),
    proxyProtocol: Type.Union([Type.Literal('none'), Type.Literal('v1'), Type.Literal('v2')], { default: 'none' }),
    /** Absent: an equal share of the process's connection budget (budget.ts); above the budget it is a config error. */
    maxConnections: Type.Optional(Type.Integer({ minimum: 1, maximum: 1_000_000 })),
    /** Open connections from one client address (0 = no limit): one host cannot take the whole cap. Absent: a quarter of the cap, at most 256. */
    maxConnectionsPerSource: Type.Optional(Type.Integer({ minimum: 0, maximum: 1_000_000 })),
    connectTimeoutMs: Type.Optional(Type.Integer({ minimum: 50, maximum: 60_000 })),
    idleTimeoutMs: Type.Optional(Type.Integer({ minimum: 100, maximum: 86_400_000 })),
    sni: Type.Optional(SniSchema),
  },
  { additionalProperties: false },
);

export const ForwardSchema = Type.Object(
  {
    listeners: Type.Array(ListenerSchema, { default: [] }),
    connectTimeoutMs: Type.Integer({ minimum: 50, maximum: 60_000, default: 2_000 }),
    idleTimeoutMs: Type.Integer({ minimum: 100, maximum: 86_400_000, default: DEFAULT_IDLE_TIMEOUT_MS }),
    /** Descriptors kept for everything but relayed connections; absent = computed from the config (src/node/fds.ts). */
    fdReserve: Type.Optional(Type.Integer({ minimum: 0, maximum: 10_000_000 })),
    drainDeadlineMs: Type.Integer({ minimum: 0, maximum: 3_600_000, default: 30_000 }),
    readBufferBytes: Type.Integer({ minimum: 4_096, maximum: 1_048_576, default: 65_536 }),
    /** Relay plain listeners' connections on libuv handles (fast-lane.ts); false = net.Socket only. */
    fastLane: Type.Boolean({ default: true }),
    /** Regions whose forwarders `meridian serve` runs in its own process (the one-process demo). */
    embedded: Type.Array(Type.String({ minLength: 1 }), { default: [] }),
    outlier: Type.Object(
      {
        consecutiveFailures: Type.Integer({ minimum: 1, maximum: 100, default: 1 }),
        baseEjectionMs: Type.Integer({ minimum: 10, maximum: 3_600_000, default: 5_000 }),
        maxEjectionMs: Type.Integer({ minimum: 10, maximum: 3_600_000, default: 60_000 }),
      },
      { additionalProperties: false, default: {} },
    ),
    relay: Type.Object(
      {
        /** The receiving forwarder must read the PROXY v2 header within this time. */
        headerTimeoutMs: Type.Integer({ minimum: 50, maximum: 60_000, default: 2_000 }),
        /** The sender waits this long for the receiver's "connected to a backend" byte. */
        ackTimeoutMs: Type.Integer({ minimum: 100, maximum: 120_000, default: 10_000 }),
      },
      { additionalProperties: false, default: {} },
    ),
    /** The `least-response-time` balancer: τ of each backend's connect-time average (connect-time.ts). */
    leastResponseTime: Type.Object(
      {
        decayMs: Type.Integer({ minimum: 100, maximum: 3_600_000, default: DEFAULT_DECAY_MS }),
      },
      { additionalProperties: false, default: {} },
    ),
    load: Type.Object(
      {
        reportIntervalMs: Type.Integer({ minimum: 100, maximum: 60_000, default: 1_000 }),
        reportTtlMs: Type.Integer({ minimum: 200, maximum: 600_000, default: 5_000 }),
        threshold: Type.Number({ minimum: 0, maximum: 1, default: 0.8 }),
        floor: Type.Number({ exclusiveMinimum: 0, maximum: 1, default: 0.1 }),
      },
      { additionalProperties: false, default: {} },
    ),
  },
  { additionalProperties: false, default: {} },
);

/** `regions[].forwarder`: optional, so existing region documents are unchanged. */
export const RegionForwarderSchema = Type.Object(
  {
    /** `host:port` of this region's relay listener, where other regions' forwarders send over. */
    relay: Type.Optional(Type.String({ minLength: 1 })),
    /** Connections at 100 % utilisation (load feedback); default: the sum of the listeners' caps. */
    capacity: Type.Optional(Type.Integer({ minimum: 1, maximum: 100_000_000 })),
    /** Per listener name, a bind address replacing the listener's `listen` in this region. */
    listen: Type.Record(Type.String(), Type.String(), { default: {} }),
    /** Per endpoint id, a backend weight (default 1; 0 = no new connections). */
    weights: Type.Record(Type.String(), Type.Integer({ minimum: 0, maximum: 10_000 }), { default: {} }),
  },
  { additionalProperties: false },
);

export type ForwardSource = Static<typeof ForwardSchema>;
export type RegionForwarderSource = Static<typeof RegionForwarderSchema>;
export type ListenerSource = Static<typeof ListenerSchema>;
export type BackendSelector = Static<typeof BackendSelectorSchema>;

export interface SniRoute {
  /** Lower case, no trailing dot; `*.suffix` kept as written. */
  names: string[];
  backends: BackendSelector;
}

export interface ListenerConfig {
  name: string;
  /** Canonical service name (trailing dot), as in `routing.services`. */
  service: string;
  listen: ListenAddress;
  backends: BackendSelector;
  balance: BalanceMode;
  proxyProtocol: 'none' | 'v1' | 'v2';
  /** null: a share of the process's connection budget (budget.ts). */
  maxConnections: number | null;
  /** 0 = no per-source limit; null: a quarter of the cap in force, at most 256 (defaultPerSource). */
  maxConnectionsPerSource: number | null;
  connectTimeoutMs: number;
  idleTimeoutMs: number;
  sni: { routes: SniRoute[]; unmatched: 'default' | 'reject'; timeoutMs: number } | null;
}

export interface RegionForwarder {
  relay: ListenAddress | null;
  capacity: number | null;
  listen: Map<string, ListenAddress>;
  weights: Map<string, number>;
}

export interface ForwardConfig {
  listeners: ListenerConfig[];
  drainDeadlineMs: number;
  /** Descriptors kept for everything but relayed connections; null = computed (src/node/fds.ts). */
  fdReserve: number | null;
  /** Per relayed socket (two per connection), held while the connection is open. */
  readBufferBytes: number;
  /** Plain listeners relay on libuv handles when this Node has them (fast-lane.ts). */
  fastLane: boolean;
  /** Regions whose forwarders run inside `meridian serve`. */
  embedded: string[];
  outlier: ForwardSource['outlier'];
  relay: ForwardSource['relay'];
  leastResponseTime: ForwardSource['leastResponseTime'];
  load: ForwardSource['load'];
  /** Every configured region, with defaults when it has no `forwarder:` block. */
  regions: Map<string, RegionForwarder>;
}

export interface ForwardProblem {
  path: (string | number)[];
  reason: string;
  /** A more specific code than MERIDIAN_ERR_INVALID_CONFIG (a region's block: INVALID_FORWARDER). */
  code?: typeof INVALID_FORWARDER;
  /** A bind clash with a field of another region's block (that region's index): both blocks report it, the YAML once. */
  clashWith?: number;
}

/** Cross-checks and compiles the `forward:` section against the regions and services. */
export function compileForward(
  source: ForwardSource,
  regions: RegionSource[],
  routing: CompiledRouting,
  sockets: readonly TakenAddress[] = [],
): { forward: ForwardConfig; problems: ForwardProblem[] } {
  const problems: ForwardProblem[] = [];
  const services = new Set(routing.services.map((s) => s.name));
  const endpointIds = new Set(routing.endpoints.map((e) => e.id));
  const names = new Set<string>();
  const listeners: ListenerConfig[] = [];
  const checkSelector = (sel: BackendSelector, path: (string | number)[]): void => {
    sel.ids?.forEach((id, k) => {
      if (!endpointIds.has(id)) problems.push({ path: [...path, 'ids', k], reason: `forward: no region has an endpoint "${id}"` });
    });
  };
  source.listeners.forEach((l, i) => {
    const at = (...rest: (string | number)[]): (string | number)[] => ['forward', 'listeners', i, ...rest];
    if (names.has(l.name)) problems.push({ path: at('name'), reason: `forward: listener "${l.name}" is defined twice` });
    names.add(l.name);
    const service = canonicalOrigin(l.service);
    if (!services.has(service)) problems.push({ path: at('service'), reason: `forward: listener ${l.name}: unknown service "${l.service}"` });
    const listen = parseListen(l.listen);
    if (typeof listen === 'string') problems.push({ path: at('listen'), reason: `forward: listener ${l.name}: ${listen}` });
    checkSelector(l.backends, at('backends'));
    let sni: ListenerConfig['sni'] = null;
    if (l.sni) {
      const routes = l.sni.routes.map((r, j) => {
        r.names.forEach((n, k) => {
          if (!/^(\*\.)?([a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?\.)*[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?\.?$/i.test(n)) {
            problems.push({ path: at('sni', 'routes', j, 'names', k), reason: `forward: listener ${l.name}: "${n}" is not a host name or *.suffix` });
          }
        });
        checkSelector(r.backends, at('sni', 'routes', j, 'backends'));
        return { names: r.names.map((n) => n.toLowerCase().replace(/\.$/, '')), backends: r.backends };
      });
      sni = { routes, unmatched: l.sni.unmatched, timeoutMs: l.sni.timeoutMs };
    }
    listeners.push({
      name: l.name,
      service,
      listen: typeof listen === 'string' ? { host: '127.0.0.1', port: 0 } : listen,
      backends: l.backends,
      balance: l.balance,
      proxyProtocol: l.proxyProtocol,
      maxConnections: l.maxConnections ?? null,
      maxConnectionsPerSource: l.maxConnectionsPerSource ?? null,
      connectTimeoutMs: l.connectTimeoutMs ?? source.connectTimeoutMs,
      idleTimeoutMs: l.idleTimeoutMs ?? source.idleTimeoutMs,
      sni,
    });
  });
  if (source.outlier.maxEjectionMs < source.outlier.baseEjectionMs) {
    problems.push({ path: ['forward', 'outlier', 'maxEjectionMs'], reason: 'forward: outlier.maxEjectionMs must be at least baseEjectionMs' });
  }
  if (source.load.reportTtlMs <= source.load.reportIntervalMs) {
    problems.push({ path: ['forward', 'load', 'reportTtlMs'], reason: 'forward: load.reportTtlMs must be longer than reportIntervalMs (a live forwarder must never look dead)' });
  }

  const scope = { listeners: new Map(listeners.map((l) => [l.name, l.listen])), embedded: source.embedded, node: sockets };
  const compiled = compileRegionForwarders(regions, scope, problems);
  checkEmbedded(source.embedded, listeners, compiled, problems);

  return {
    forward: {
      listeners,
      drainDeadlineMs: source.drainDeadlineMs,
      fdReserve: source.fdReserve ?? null,
      readBufferBytes: source.readBufferBytes,
      fastLane: source.fastLane,
      embedded: source.embedded,
      outlier: source.outlier,
      relay: source.relay,
      leastResponseTime: source.leastResponseTime,
      load: source.load,
      regions: compiled,
    },
    problems,
  };
}

/**
 * `forward.embedded`: known regions, each once, with listeners to run, and no two in-process
 * listeners of embedded regions on the listener's own address (no region overrides it), which
 * would otherwise only show as EADDRINUSE when `serve` starts. A clash of an address a block sets
 * (a relay, a listen override) is the blocks' rule (checkRegionForwarders), reported there once.
 */
function checkEmbedded(embedded: string[], listeners: ListenerConfig[], regions: Map<string, RegionForwarder>, problems: ForwardProblem[]): void {
  const seen = new Set<string>();
  const bound = new Map<string, string>();
  if (embedded.length && listeners.length === 0) problems.push({ path: ['forward', 'embedded'], reason: 'forward: embedded: there are no forward.listeners to run' });
  embedded.forEach((id, i) => {
    const at = ['forward', 'embedded', i];
    const region = regions.get(id);
    if (!region) return void problems.push({ path: at, reason: `forward: embedded: unknown region "${id}"` });
    if (seen.has(id)) return void problems.push({ path: at, reason: `forward: embedded: region "${id}" is listed twice` });
    seen.add(id);
    for (const l of listeners) {
      const [what, a] = [`listener ${l.name}`, l.listen];
      if (a.port === 0 || region.listen.has(l.name)) continue; // ephemeral, or set by the block
      const key = `${a.host}:${a.port}`;
      const other = bound.get(key);
      if (other) problems.push({ path: at, reason: `forward: embedded: ${id} ${what} and ${other} both listen on ${key} (set regions[].forwarder.listen / relay per region)` });
      else bound.set(key, `${id} ${what}`);
    }
  });
}

/** The code of a region's `forwarder:` block that breaks the forwarder's rules (API answer, config lines, logs). */
export const INVALID_FORWARDER = 'MERIDIAN_ERR_INVALID_FORWARDER' as const;

/**
 * The listeners a region's block is judged against, by name with their `listen` address; null = not
 * known where the check runs (a node whose YAML has no `forward.listeners`), so the rules that need
 * them (listener names, clashes with a listener's own address) are left to the forwarders.
 */
export type KnownListeners = ReadonlyMap<string, ListenAddress> | null;

export const knownListeners = (listeners: readonly { name: string; listen: ListenAddress }[]): KnownListeners => (listeners.length ? new Map(listeners.map((l) => [l.name, l.listen])) : null);

/** A region without a `forwarder:` block: no relay, the listeners' own addresses, weight 1 each. */
export const defaultRegionForwarder = (): RegionForwarder => ({ relay: null, capacity: null, listen: new Map(), weights: new Map() });

/**
 * What the regions' blocks are judged against, from the whole config: the listeners, the regions
 * `meridian serve` runs in its own process (forward.embedded) and the node's own sockets.
 */
export interface ForwarderScope {
  listeners: KnownListeners;
  embedded: readonly string[];
  node: readonly TakenAddress[];
}

/**
 * The forwarder's rules for one region's `forwarder:` block (region `i` of the config), and the
 * block compiled. The one copy of these rules: the YAML loader (compileForward), the admin API's
 * write check and every role applying a config-store version (src/node/) all call it, through
 * checkRegionForwarders when the whole config is known. `taken`: the addresses other sockets of
 * the same process bind (the node's services, the other embedded regions' forwarders). Each
 * problem is coded with INVALID_FORWARDER and carries the path of the field (`regions, i,
 * forwarder, relay`).
 */
export function checkRegionForwarder(r: RegionSource, i: number, listeners: KnownListeners, taken: readonly TakenAddress[] = []): { block: RegionForwarder; problems: ForwardProblem[] } {
  const problems: ForwardProblem[] = [];
  const at = (...rest: (string | number)[]): (string | number)[] => ['regions', i, 'forwarder', ...rest];
  const problem = (path: (string | number)[], field: string, why: string): void =>
    void problems.push({ path, reason: `${INVALID_FORWARDER}: region ${r.id}: forwarder.${field}: ${why}`, code: INVALID_FORWARDER });
  const f = r.forwarder;
  const block = defaultRegionForwarder();
  block.capacity = f?.capacity ?? null;
  const bindable = (p: ListenAddress, path: (string | number)[], field: string): boolean => {
    const why = unbindableAddress(p.host);
    if (why) problem(path, field, `${p.host} is ${why}: no listener can bind it`);
    return !why;
  };
  if (f?.relay !== undefined) {
    const p = parseListen(f.relay);
    const undialable = typeof p === 'string' ? p : relayUndialable(p);
    if (undialable) problem(at('relay'), 'relay', undialable);
    else if (bindable(p as ListenAddress, at('relay'), 'relay')) block.relay = p as ListenAddress;
  }
  for (const [name, text] of Object.entries(f?.listen ?? {})) {
    if (listeners && !listeners.has(name)) problem(at('listen', name), `listen.${name}`, `no listener named "${name}" (forward.listeners)`);
    const p = parseListen(text);
    if (typeof p === 'string') problem(at('listen', name), `listen.${name}`, p);
    else if (bindable(p, at('listen', name), `listen.${name}`)) block.listen.set(name, p);
  }
  const own = new Set(r.endpoints.map((e) => e.id ?? `${e.address}:${e.port}`));
  for (const [id, w] of Object.entries(f?.weights ?? {})) {
    if (!own.has(id)) problem(at('weights', id), `weights.${id}`, `no endpoint "${id}" in this region`);
    block.weights.set(id, w);
  }
  for (const c of bindClashes(block, listeners, taken)) {
    problem(at(...c.path), c.path.join('.'), c.why);
    if (c.clashWith !== undefined) problems[problems.length - 1]!.clashWith = c.clashWith;
  }
  return { block, problems };
}

/**
 * Other regions' forwarders dial a region's relay address, and its listener trusts what arrives
 * (relayed connections are not counted again): so it names one host and one port, never a
 * wildcard (no one can dial 0.0.0.0, and the trusting listener would open on every interface) nor
 * port 0 (a port picked at start that no other region can know).
 */
function relayUndialable(p: ListenAddress): string | null {
  if (p.host === '0.0.0.0' || p.host === '::') return `${p.host} is a wildcard: other regions dial this address, so it names one host (a private address)`;
  if (p.port === 0) return 'port 0: other regions dial this address, so it needs a fixed port';
  return null;
}

/** Addresses that cannot both be bound: the same port, on the same host or a wildcard one. */
const clash = (a: ListenAddress, b: ListenAddress): boolean => a.port !== 0 && a.port === b.port && (a.host === b.host || [a.host, b.host].some((h) => h === '0.0.0.0' || h === '::'));

/** The sockets a region's forwarder binds with `block`: each listener (or its override) and the relay. */
function forwarderBinds(block: RegionForwarder, listeners: KnownListeners): { what: string; at: ListenAddress; path: (string | number)[] | null }[] {
  const binds: { what: string; at: ListenAddress; path: (string | number)[] | null }[] = [];
  for (const [name, listen] of listeners ?? []) {
    const override = block.listen.get(name);
    binds.push({ what: `listener ${name}`, at: override ?? listen, path: override ? ['listen', name] : null });
  }
  if (!listeners) for (const [name, at] of block.listen) binds.push({ what: `listener ${name}`, at, path: ['listen', name] });
  if (block.relay) binds.push({ what: 'the relay listener', at: block.relay, path: ['relay'] });
  return binds;
}

/**
 * The sockets a region's forwarder binds that the block sets (relay, listen overrides) against every
 * other one it binds and every address `taken` by the process: a clash would stop that forwarder
 * (or the whole `serve`, for an embedded region) at its next start (EADDRINUSE), long after the
 * change was accepted. Clashes between the listeners' own addresses are the `forward:` section's
 * business, not the block's.
 */
function bindClashes(block: RegionForwarder, listeners: KnownListeners, taken: readonly TakenAddress[]): { path: (string | number)[]; why: string; clashWith?: number }[] {
  const binds: (TakenAddress & { path: (string | number)[] | null })[] = [...taken.map((t) => ({ ...t, path: null })), ...forwarderBinds(block, listeners)];
  const out: { path: (string | number)[]; why: string; clashWith?: number }[] = [];
  binds.forEach((b, k) => {
    if (!b.path) return;
    // Reported once, at the block's later field of the two (taken addresses and the listeners' own come first).
    const other = binds.find((o, j) => j !== k && (j < k || !o.path) && clash(o.at, b.at));
    if (other)
      out.push({
        path: b.path,
        why: `${b.at.host}:${b.at.port} is also where ${other.what} binds (${other.at.host}:${other.at.port})`,
        ...(other.region !== undefined ? { clashWith: other.region } : {}),
      });
  });
  return out;
}

/**
 * Every region's block judged against the whole config (checkRegionForwarder for each): an
 * embedded region's also against the node's sockets and the other embedded regions' forwarders,
 * which run in the same process. A region not embedded runs as `meridian forward`, a process of
 * its own (often on its own host): only its own sockets can clash. A region with problems gets its
 * block as far as it compiled.
 */
export function checkRegionForwarders(regions: readonly RegionSource[], scope: ForwarderScope): { region: RegionSource; block: RegionForwarder; problems: ForwardProblem[] }[] {
  const first = regions.map((r, i) => ({ region: r, ...checkRegionForwarder(r, i, scope.listeners) }));
  const embedded = new Set(scope.embedded);
  const bindsOf = (e: (typeof first)[number], index: number): TakenAddress[] =>
    forwarderBinds(e.block, scope.listeners).map((b) => ({ what: `region ${e.region.id}'s ${b.what.replace(/^the /, '')}`, at: b.at, ...(b.path ? { region: index } : {}) }));
  return first.map((e, i) => {
    if (!embedded.has(e.region.id)) return e;
    const others = first.flatMap((o, j) => (o.region.id !== e.region.id && embedded.has(o.region.id) ? bindsOf(o, j) : []));
    return { region: e.region, ...checkRegionForwarder(e.region, i, scope.listeners, [...scope.node, ...others]) };
  });
}

/**
 * The `forwarder:` blocks of a set of regions (checkRegionForwarders); problems go to `problems`,
 * and a region with problems gets its block as far as it compiled. A clash between fields of two
 * regions' blocks is one problem of the file: reported at the later region (each block reports it,
 * as the API must, since either may be the one written).
 */
export function compileRegionForwarders(regions: RegionSource[], scope: ForwarderScope, problems: ForwardProblem[]): Map<string, RegionForwarder> {
  const compiled = new Map<string, RegionForwarder>();
  checkRegionForwarders(regions, scope).forEach((c, i) => {
    problems.push(...c.problems.filter((p) => p.clashWith === undefined || p.clashWith < i));
    compiled.set(c.region.id, c.block);
  });
  return compiled;
}

/** The `forward:` section (always compiled: every key has a default) and the regions' `forwarder:` block. */
export const forwardSection: ConfigSection<'forward'> = {
  key: 'forward',
  schema: ForwardSchema,
  compile(block, ctx) {
    const { forward, problems } = compileForward(block as ForwardSource, ctx.regions, ctx.routing, ctx.sockets);
    return { value: forward, problems };
  },
  region: { key: 'forwarder', schema: RegionForwarderSchema },
};
