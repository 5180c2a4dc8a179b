/**
 * The DNS node (`meridian serve`), a role in the shape of src/lifecycle/: startDnsNode builds it
 * from the YAML, opening every resource through one stack (a failed start closes what was opened,
 * so the process exits), and the first config, each config-store version and SIGHUP all reach it
 * through the same apply(). A bad file or version leaves the running data answering and is logged
 * as `file:line: reason`.
 * @module
 */
import { hostname } from 'node:os';
import type { AddressInfo } from 'node:net';
import { dirname, resolve as resolvePath } from 'node:path';
import type { Registry } from 'prom-client';
import type { AdminServer } from './admin/server.js';
import type { ConfigDocument } from './config/document.js';
import { ConfigError, parseListen, type LoadedConfig } from './config/load.js';
import { Responder } from './dns/respond.js';
import { TcpListener } from './dns/tcp.js';
import { UdpListener } from './dns/udp.js';
import { ErrorCap } from './dns/error-cap.js';
import { ClientPrefixes } from './dns/prefix.js';
import type { UdpLimits } from './dns/respond.js';
import { ResponseRateLimiter, rrlEnabled, type LimitedReport } from './dns/rrl.js';
import type { DnsStats } from './dns/stats.js';
import type { Forwarder } from './forward/forwarder.js';
import type { GeoSource } from './geo/source.js';
import { isLive } from './health/load.js';
import { openHealthPlane, type HealthPlane } from './health/plane.js';
import type { Override } from './health/types.js';
import type { Role } from './lifecycle/role.js';
import { build, type ResourceStack } from './lifecycle/stack.js';
import { ConfigSources, countRejected } from './node/sources.js';
import { buildServices, openGeo, zoneSet } from './node/services.js';
import { DryRunPool } from './node/dryrun-pool.js';
import { CopyRefresher, overridesOf } from './node/copy.js';
import { followStore, openLocalCopy, storeOpener, type StoreOpener } from './node/store.js';
import { configMetrics, createMetrics, createProbeMetrics } from './obs/metrics.js';
import { listenMetrics } from './node/metrics.js';
import type { Logger } from './obs/log.js';
import { ClientSampler } from './routing/samples.js';
import { ServicesByRegion } from './routing/by-region.js';
import type { DecisionCounters, Service, ServiceEnv } from './routing/service.js';
import { countryOnlyWarnings, policyWarnings } from './routing/warnings.js';
import type { ConfigFollower } from './store/follow.js';
import type { LocalCopyFile } from './store/local-copy.js';
import { VERSION } from './version.js';
import { compileDocument, loadConfigOrThrow } from './node/config.js';
import { refuseDenied } from './config/targets-document.js';
import { forwarderScope, refuseBadForwarders } from './node/forwarder-blocks.js';
import { budgetProblems, openBudget } from './node/fds.js';
import type { ConnectionBudget } from './forward/budget.js';
import { cnameChainWarnings, zoneCnames } from './zone/chains.js';

export { ConfigError };

export interface DnsNode extends Role<LoadedConfig> {
  responder: Responder;
  udp: UdpListener[];
  tcp: TcpListener[];
  metrics: Registry;
  health: HealthPlane;
  /** The config store this node follows; null when the YAML is the whole config (no `admin:`). */
  follower: ConfigFollower | null;
  /** The admin API, when `admin.listen` is set. */
  admin: AdminServer | null;
  /** The forwarders of the regions in `forward.embedded`, running in this process. */
  forwarders: Forwarder[];
  /** Port of the /metrics endpoint, when `metrics.listen` is set. */
  readonly metricsPort: number | null;
  /** SIGHUP: re-reads the config file; returns the problems found (empty when the new data is live). */
  reload(): string[];
}

export async function startDnsNode(configPath: string, log: Logger): Promise<DnsNode> {
  const yaml = loadConfigOrThrow(configPath);
  return build(async (stack) => {
    const opener = yaml.admin ? storeOpener(yaml, log) : null;
    const copy = opener ? openLocalCopy(opener, 'local-copy.json', log) : null;
    const budget = fdBudget(yaml, log);
    const core = openCore(yaml, log, stack, overridesOf(copy?.latest ?? null), budget);
    const sources = new ConfigSources(yaml, core, log);
    const follower = opener ? await followNodeStore(opener, copy, core, sources, log, stack) : null;
    if (!follower) {
      const problems = sources.applyYaml();
      if (problems.length) throw new ConfigError(problems);
    }
    const { udp, tcp } = await openDnsListeners(core, yaml, stack, log);
    const metrics = nodeMetrics(core, tcp, sources);
    await openForwarders(core, metrics, log, stack, (region) => countRejected(sources.rejectedBlocks, region));
    const metricsServer = yaml.metricsListen ? await listenMetrics(stack, metrics, yaml.metricsListen) : null;
    const admin = follower && yaml.admin?.listen ? await openAdmin(core, follower, sources, copy, log, stack) : null;
    return {
      get config() {
        return core.config;
      },
      responder: core.responder,
      udp,
      tcp,
      metrics,
      health: core.plane,
      follower,
      admin,
      forwarders: core.forwarders,
      get metricsPort() {
        return metricsServer ? (metricsServer.address() as AddressInfo).port : null;
      },
      apply: (config) => core.apply(config),
      reload: () => [...reloadNode(core, sources, log), ...reloadAdminTls(admin, log)],
      close: () => stack.close(),
    };
  });
}

/** The fd budget of a node running forwarders, read once at start, before any listener: relayed connections can never take the reserve (src/node/fds.ts). */
function fdBudget(yaml: LoadedConfig, log: Logger): ConnectionBudget | null {
  if (!yaml.forward.embedded.length) return null;
  const budget = openBudget(yaml, 'serve', yaml.forward.embedded.length);
  const problems = budgetProblems(yaml, budget);
  if (problems.length) throw new ConfigError(problems);
  log.info({ fdLimit: budget.limit, fdReserve: budget.reserve, relayedConnections: budget.connections }, 'fd budget');
  return budget;
}

async function openDnsListeners(core: DnsCore, yaml: LoadedConfig, stack: ResourceStack, log: Logger): Promise<{ udp: UdpListener[]; tcp: TcpListener[] }> {
  const limits = udpLimits(yaml.dns, core.responder.stats, log);
  const udp = yaml.listen.map((a) => new UdpListener(core.responder, a.host, a.port, limits));
  const tcp = yaml.listen.map((a) => new TcpListener(core.responder, a.host, a.port, yaml.dns.tcp));
  for (const l of [...udp, ...tcp])
    await stack.open(
      'dns listener',
      () => l.start(),
      () => l.close(),
    );
  return { udp, tcp };
}

/** The UDP limits every UDP socket shares: the per-netblock error cap and, when `dns.rrl` sets a rate, RRL. */
function udpLimits(dns: LoadedConfig['dns'], stats: DnsStats, log: Logger): UdpLimits {
  const { rrl } = dns;
  const prefixes = new ClientPrefixes(rrl.ipv4PrefixLength, rrl.ipv6PrefixLength);
  const errors = dns.errorRateLimit > 0 ? new ErrorCap(dns.errorRateLimit, prefixes, rrl.tableSize, stats) : null;
  if (!rrlEnabled(rrl)) return { errors, rrl: null };
  const rrlLog = log.child({ component: 'dns/rrl' });
  const onLimited: LimitedReport = (e) => rrlLog.warn(e, e.logOnly ? 'responses to this netblock would be rate limited (log-only)' : 'rate limiting responses to this netblock');
  log.info({ rrl }, 'response rate limiting on');
  return { errors, rrl: new ResponseRateLimiter(rrl, stats, { onLimited }) };
}

function nodeMetrics(core: DnsCore, tcp: TcpListener[], sources: ConfigSources): Registry {
  const metrics = createMetrics({
    forwarderBlocksRejected: () => sources.rejectedBlocks,
    dns: () => core.responder.stats,
    tcpOpen: () => tcp.reduce((n, l) => n + l.connectionCount, 0),
    // A getter: the database may be opened later, by the first version that needs it.
    geo: () => core.geo?.metrics ?? null,
    health: () => core.plane,
  });
  core.probeMetrics.register(metrics);
  configMetrics(metrics, sources);
  return metrics;
}

/** SIGHUP: the admin API's certificate files again (listener settings themselves apply at start). */
function reloadAdminTls(admin: AdminServer | null, log: Logger): string[] {
  try {
    admin?.reloadTls();
    return [];
  } catch (err) {
    log.error({ err: (err as Error).message }, 'admin API: certificate not reloaded; the old one is still served');
    return [`admin.tls: ${(err as Error).message}`];
  }
}

/** SIGHUP: the YAML and zone files again, through the same apply() as every store version. */
function reloadNode(core: DnsCore, sources: ConfigSources, log: Logger): string[] {
  const problems = sources.reload();
  if (problems.length) {
    log.error({ problems }, 'reload rejected; the running data keeps answering');
    return problems;
  }
  core.geo?.reload();
  log.info({ zones: core.config.zones.map((z) => z.origin) }, 'reloaded');
  return [];
}

/** What the node's apply() swaps config into: health plane, forwarders, services and zones. */
interface DnsCore extends Role<LoadedConfig> {
  config: LoadedConfig;
  geo: GeoSource | null;
  plane: HealthPlane;
  probeMetrics: ReturnType<typeof createProbeMetrics>;
  responder: Responder;
  sampler: ClientSampler;
  env: ServiceEnv;
  services(): Map<string, Service>;
  forwarders: Forwarder[];
  /** The relayed-connection budget of the embedded forwarders; null without them. */
  budget: ConnectionBudget | null;
}

function openCore(yaml: LoadedConfig, log: Logger, stack: ResourceStack, initialOverrides: Override[], budget: ConnectionBudget | null): DnsCore {
  // The geo database first: it may refuse to open, and nothing else is running yet then. Without
  // a service that needs it, it is opened by the first config version that does (apply below).
  let geo = openGeo(yaml, log);
  const probeMetrics = createProbeMetrics();
  const plane = openHealthPlane(yaml, { log, probes: true, onCheck: probeMetrics.onCheck, onFlip: probeMetrics.onFlip, onDenied: probeMetrics.onDenied, initialOverrides });
  stack.push('health plane', () => plane.close());
  const { responder, sampler } = openResponder(yaml);
  const env = serviceEnv(log, () => geo, plane, responder.stats);
  let services = new Map<string, Service>();
  let byRegion = new ServicesByRegion([]);
  // A new geo database changes any decision; a health change only those of the services using a
  // region whose answers changed (a flip costs its region's services, not the deployment's).
  const clearDecisions = (): void => void byRegion.clearAll();
  plane.source.onSwap((_, change) => {
    responder.stats.decisionFlushes += byRegion.clear(change.regions);
  });
  const logWarnings = warningLogger(
    log,
    () => core.config,
    () => geo,
  );
  const attachGeo = (g: GeoSource): void => {
    stack.push('geo database', () => g.stop());
    g.onSwap(clearDecisions);
    g.onSwap(logWarnings);
  };
  if (geo) attachGeo(geo);
  /** Opens the geo database for a config that needs it and has none yet; a problem if it cannot. */
  const geoFor = (next: LoadedConfig): string[] => {
    if (geo || !next.routing.services.some((s) => s.chain.needsGeo)) return [];
    try {
      geo = openGeo(next, log);
    } catch (err) {
      return [`${next.file}: geo.database: ${(err as Error).message}`];
    }
    if (geo) attachGeo(geo);
    core.geo = geo;
    return [];
  };
  const core: DnsCore = {
    config: yaml,
    geo,
    plane,
    probeMetrics,
    responder,
    sampler,
    env,
    services: () => services,
    forwarders: [],
    budget,
    apply(next) {
      // A cap over the fd budget in force is refused like any invalid config: the running one stays.
      const over = budget ? budgetProblems(next, budget) : [];
      if (over.length) return over;
      // A version whose rules need the geo database opens it; one that cannot be opened is refused.
      const noGeo = geoFor(next);
      if (noGeo.length) return noGeo;
      // Listeners, the admin API and the metrics endpoint are bound once: their settings need a restart.
      const running = core.config;
      if (JSON.stringify(next.dns) !== JSON.stringify(running.dns)) log.warn('dns listener settings changed; they apply at the next restart');
      core.config = { ...next, dns: running.dns, listen: running.listen, admin: running.admin, metricsListen: running.metricsListen };
      plane.update(core.config);
      for (const f of core.forwarders) f.update(core.config);
      services = buildServices(core.config, env);
      byRegion = new ServicesByRegion(services.values());
      responder.setZones(zoneSet(core.config, services));
      logWarnings();
      return [];
    },
    close: () => stack.close(),
  };
  return core;
}

/** What a service reads at answer time (geo database, health snapshot), and where it reports all-down. */
function serviceEnv(log: Logger, geo: () => GeoSource | null, plane: HealthPlane, counters: DecisionCounters): ServiceEnv {
  const allDownLog = log.child({ component: 'policy/alldown' });
  return {
    geo: () => geo()?.current ?? null,
    health: () => plane.source.current,
    counters,
    onAllDown(service, family, allDown, changed) {
      // Logged once per state change; every answer given in that state is counted (stats.allDown).
      if (changed) allDownLog[allDown ? 'warn' : 'info']({ service, family }, allDown ? 'every region is down: all-down policy in force' : 'regions are back: all-down policy lifted');
    },
  };
}

/**
 * Valid config that will not do what it says: each distinct warning is logged once, when the
 * first config, a config version, a reload or a geo database brings a new one.
 */
function warningLogger(log: Logger, config: () => LoadedConfig, geo: () => GeoSource | null): () => void {
  const warned = new Set<string>();
  return () => {
    const { routing, zones, geo: geoConfig } = config();
    const found = policyWarnings(routing.services);
    for (const z of zones) found.push(...cnameChainWarnings(zoneCnames(z)).map((w) => `zone ${z.origin}: ${w.reason}`));
    const g = geo();
    if (g) found.push(...countryOnlyWarnings(routing.services, g.current.description, geoConfig.database).map((w) => w.reason));
    for (const w of found.filter((x) => !warned.has(x))) {
      warned.add(w);
      log.warn(w);
    }
  };
}

/** The responder, with no zones until the first apply; it samples clients when the admin API can show them. */
function openResponder(yaml: LoadedConfig): { responder: Responder; sampler: ClientSampler } {
  const { dns } = yaml;
  const responder = new Responder(zoneSet({ ...yaml, zones: [] }), {
    udpSize: dns.udpSize,
    chaos: dns.chaos,
    version: `Meridian ${VERSION}`,
    identity: dns.identity ?? hostname(),
    cacheEntries: dns.answerCacheEntries,
  });
  const sampler = new ClientSampler(yaml.admin?.sampleSize ?? 0);
  if (yaml.admin) responder.clientSampler = sampler;
  return { responder, sampler };
}

/**
 * Follows the config store. In cluster mode the local copy is kept current with the tokens, audit
 * tail and overrides beside the version (a Redis that came back empty gets its overrides back from
 * the health source, src/health/source.ts, which keeps them in force meanwhile).
 */
async function followNodeStore(opener: StoreOpener, copy: LocalCopyFile | null, core: DnsCore, sources: ConfigSources, log: Logger, stack: ResourceStack): Promise<ConfigFollower> {
  const follower = await followStore(opener, core.config, sources, log, stack, { localCopy: copy, restores: true });
  if (copy) {
    const refresher = new CopyRefresher(copy, follower.gate, () => core.plane.source.overrides, core.config.admin?.copyRefreshMs);
    // A commit's audit entry comes with its version; tokens and other audit entries with a notice.
    follower.onSideChange(() => void refresher.refresh());
    follower.onApplied(() => void refresher.refresh());
    refresher.start();
    stack.push('local copy refresh', () => refresher.stop());
  }
  return follower;
}

async function openForwarders(core: DnsCore, metrics: Registry, log: Logger, stack: ResourceStack, onRejectedBlock: (region: string) => void): Promise<void> {
  if (!core.config.forward.embedded.length) return;
  // Loaded only when used, like the admin API: a DNS node without forwarders does not carry them.
  const { startForwarder } = await import('./forward/forwarder.js');
  const deps = { health: core.plane.source, bus: core.plane.bus, geo: () => core.geo?.current ?? null, log, metrics, onRejectedBlock, ...(core.budget ? { budget: core.budget } : {}) };
  for (const region of core.config.forward.embedded) {
    // Drained on close (new connections refused, open ones get forward.drainDeadlineMs), as
    // `meridian forward` does on SIGTERM, while the health plane they read is still up.
    const f = await stack.open(
      `forwarder ${region}`,
      () => startForwarder(core.config, region, deps),
      async (fwd) => {
        await fwd.drain(core.config.forward.drainDeadlineMs);
        await fwd.close();
      },
    );
    core.forwarders.push(f);
  }
}

async function openAdmin(core: DnsCore, follower: ConfigFollower, sources: ConfigSources, copy: LocalCopyFile | null, log: Logger, stack: ResourceStack): Promise<AdminServer> {
  const settings = core.config.admin!;
  const listen = parseListen(settings.listen!);
  if (typeof listen === 'string') throw new ConfigError([`${core.config.file}: admin.listen: ${listen}`]);
  const bus = core.plane.bus;
  // Dry runs decide with the live code in a worker thread, off the DNS event loop (src/node/dryrun-pool.ts).
  const dryRuns = new DryRunPool({
    queue: settings.dryRunQueue,
    context: () => ({ geo: core.geo ? { path: core.geo.path, version: core.geo.version } : null, probeDefaults: sources.settings.health.probe }),
    log,
  });
  stack.push('dry-run worker', () => dryRuns.close());
  // Loaded only when the API is on: fastify and its plugins make the heap bigger and every
  // scavenge slower (bench/forward/README.md), which a DNS node without an API should not pay.
  const { startAdminServer } = await import('./admin/server.js');
  const deps = {
    // The gate: the API starts and serves reads whether or not the store can be reached.
    store: follower.gate,
    current: () => follower.record,
    localTokens: () => copy?.latest?.tokens ?? [],
    overridesInForce: () => core.plane.source.overrides,
    regionHealth: (id: string) => {
      const v = core.plane.source.current.regionVerdict(id);
      return v ? { state: v.state, source: v.source, endpointsUp: v.up, endpointsCounted: v.counted } : null;
    },
    // Documents are validated with the probe defaults of the YAML in force, as the node compiles them,
    // and with its health.targets: a write cannot point a check where this node's probes may not go.
    // And with the forwarder's rules for the regions' forwarder: blocks, against this node's listeners and sockets.
    compile: (doc: unknown, base?: ConfigDocument) =>
      refuseDenied(refuseBadForwarders(compileDocument(doc, sources.settings.health.probe), forwarderScope(sources.settings), base), sources.settings.targets),
    live: () => ({ version: follower.version, services: core.services(), zones: zoneSet(core.config, core.services()).byKey }),
    applied: () => follower.catchUp(),
    health: () => core.plane.source.current,
    healthUnder: (overrides: Override[]) => core.plane.source.withOverrides(overrides),
    dryRuns,
    bus,
    onOverridesChanged: () => void core.plane.source.refresh(),
    recentClients: () => core.sampler.recent(),
    forwarderConnections: async (region: string) => {
      const live = (await bus.readLoads([region])).filter((r) => isLive(r, Date.now()));
      return live.length ? live.reduce((n, r) => n + r.active, 0) : null;
    },
    settings,
    staticTokens: settings.tokens,
    log,
  };
  const admin = await stack.open(
    'admin API',
    () => startAdminServer(deps, listen, resolvePath(dirname(core.config.file), settings.dataDir), settings.tls ?? null),
    (a) => a.close(),
  );
  follower.onApplied(() => void admin.runtime.drains.resume().catch(() => undefined));
  return admin;
}
