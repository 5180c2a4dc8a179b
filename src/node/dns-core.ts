/**
 * The answering part of a DNS node: geo database, responder, services and zones, the one `apply`
 * that swaps config into them, and the UDP/TCP listeners. `meridian serve` builds it in its own
 * process (src/serve.ts), and with `--workers N` once in each worker process (src/node/workers/),
 * which differ only in where health comes from (`HealthFeed`) and how listeners share a port.
 * @module
 */
import { hostname } from 'node:os';
import type { LoadedConfig } from '../config/load.js';
import { Responder, type UdpLimits } from '../dns/respond.js';
import { TcpListener } from '../dns/tcp.js';
import { UdpListener, type PortSharing } from '../dns/udp.js';
import { ErrorCap } from '../dns/error-cap.js';
import { ClientPrefixes } from '../dns/prefix.js';
import { ResponseRateLimiter, RRL_LOG_LINES, RRL_LOG_WINDOW_MS, rrlEnabled, type LimitedReport, type RrlSettings } from '../dns/rrl.js';
import type { DnsStats } from '../dns/stats.js';
import type { Forwarder } from '../forward/forwarder.js';
import type { ConnectionBudget } from '../forward/budget.js';
import type { GeoSource } from '../geo/source.js';
import type { HealthPlane } from '../health/plane.js';
import type { HealthSnapshot } from '../health/snapshot.js';
import type { Role } from '../lifecycle/role.js';
import type { ResourceStack } from '../lifecycle/stack.js';
import type { Logger } from '../obs/log.js';
import { LogBudget } from '../obs/log-budget.js';
import { ClientSampler } from '../routing/samples.js';
import { ServicesByRegion } from '../routing/by-region.js';
import type { DecisionCounters, DecisionTally, Service, ServiceEnv } from '../routing/service.js';
import { countryOnlyWarnings, policyWarnings } from '../routing/warnings.js';
import { VERSION } from '../version.js';
import { cnameChainWarnings, zoneCnames } from '../zone/chains.js';
import { budgetProblems } from './fds.js';
import { buildServices, openGeo, zoneSet } from './services.js';

/** Where a core reads health: the process's own health plane, or a worker's copy of its primary's (src/health/mirror.ts). */
export interface HealthFeed {
  current(): HealthSnapshot;
  /** `listener` hears the regions whose answers changed. */
  onSwap(listener: (regions: ReadonlySet<string>) => void): void;
  /** A new config (regions, endpoints, thresholds). */
  update(config: LoadedConfig): void;
}

export function planeFeed(plane: HealthPlane): HealthFeed {
  return {
    current: () => plane.source.current,
    onSwap: (listener) => void plane.source.onSwap((_, change) => listener(change.regions)),
    update: (config) => plane.update(config),
  };
}

/** What the node's apply() swaps config into: health, forwarders, services and zones. */
export interface DnsCore extends Role<LoadedConfig> {
  config: LoadedConfig;
  geo: GeoSource | null;
  responder: Responder;
  sampler: ClientSampler;
  env: ServiceEnv;
  services(): Map<string, Service>;
  forwarders: Forwarder[];
  /** The relayed-connection budget of the embedded forwarders; null without them. */
  budget: ConnectionBudget | null;
}

export function openDnsCore(yaml: LoadedConfig, log: Logger, stack: ResourceStack, health: HealthFeed, budget: ConnectionBudget | null): DnsCore {
  // The geo database first: it may refuse to open, and nothing else is running yet then. Without
  // a service that needs it, it is opened by the first config version that does (apply below).
  let geo = openGeo(yaml, log);
  const { responder, sampler } = openResponder(yaml);
  const env = serviceEnv(log, () => geo, health, responder.stats);
  let services = new Map<string, Service>();
  let byRegion = new ServicesByRegion([]);
  // A new geo database changes any decision; a health change only those of the services using a
  // region whose answers changed (a flip costs its region's services, not the deployment's).
  const clearDecisions = (): void => void byRegion.clearAll();
  health.onSwap((regions) => {
    responder.stats.decisionFlushes += byRegion.clear(regions);
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
      health.update(core.config);
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
function serviceEnv(log: Logger, geo: () => GeoSource | null, health: HealthFeed, counters: DecisionCounters & DecisionTally): ServiceEnv {
  const allDownLog = log.child({ component: 'policy/alldown' });
  return {
    geo: () => geo()?.current ?? null,
    health: () => health.current(),
    counters,
    tally: counters,
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

/** A worker's part of the node's sockets: how a port is shared, and among how many workers. */
export interface WorkerShare {
  sharing: PortSharing;
  workers: number;
}

/** One UDP and one TCP listener per `dns.listen` address; `share` in a DNS worker, null in a process that answers alone. */
export async function openDnsListeners(core: DnsCore, yaml: LoadedConfig, stack: ResourceStack, log: Logger, share: WorkerShare | null = null): Promise<{ udp: UdpListener[]; tcp: TcpListener[] }> {
  const limits = udpLimits(yaml.dns, core.responder.stats, log, share?.workers ?? 1);
  const sharing = share?.sharing ?? null;
  const udp = yaml.listen.map((a) => new UdpListener(core.responder, a.host, a.port, limits, sharing));
  const tcp = yaml.listen.map((a) => new TcpListener(core.responder, a.host, a.port, yaml.dns.tcp, sharing));
  for (const l of [...udp, ...tcp])
    await stack.open(
      'dns listener',
      () => l.start(),
      () => l.close(),
    );
  return { udp, tcp };
}

/**
 * The UDP limits every UDP socket shares: the per-netblock error cap and, when `dns.rrl` sets a rate,
 * RRL. The configured rates are the node's: each of `workers` processes keeps its own tables and
 * enforces its share (rate / workers), which adds up to the rate when a netblock's queries spread
 * over the workers, as queries from random source ports do (src/node/workers/README.md).
 */
function udpLimits(dns: LoadedConfig['dns'], stats: DnsStats, log: Logger, workers: number): UdpLimits {
  const rrl = workers > 1 ? rrlShare(dns.rrl, workers) : dns.rrl;
  const prefixes = new ClientPrefixes(rrl.ipv4PrefixLength, rrl.ipv6PrefixLength);
  const errors = dns.errorRateLimit > 0 ? new ErrorCap(dns.errorRateLimit / workers, prefixes, rrl.tableSize, stats) : null;
  if (!rrlEnabled(rrl)) return { errors, rrl: null };
  const rrlLog = log.child({ component: 'dns/rrl' });
  // Each netblock is logged once per period (rrl.ts); across netblocks a flood from many of them is
  // capped too, the rest counted in one summary line per window (src/dns/README.md).
  const budget = new LogBudget(RRL_LOG_LINES, RRL_LOG_WINDOW_MS, (suppressed) =>
    rrlLog.warn(
      { suppressed, seconds: RRL_LOG_WINDOW_MS / 1000 },
      `rate limiting: netblocks limited but not logged in the last ${RRL_LOG_WINDOW_MS / 1000} s (at most ${RRL_LOG_LINES} lines a window)`,
    ),
  );
  const onLimited: LimitedReport = (e) => {
    if (budget.take()) rrlLog.warn(e, e.logOnly ? 'responses to this netblock would be rate limited (log-only)' : 'rate limiting responses to this netblock');
  };
  log.info({ rrl, workers }, 'response rate limiting on');
  return { errors, rrl: new ResponseRateLimiter(rrl, stats, { onLimited }) };
}

/** One worker's part of every RRL rate (0 stays 0: not limited). */
function rrlShare(rrl: RrlSettings, workers: number): RrlSettings {
  const part = (r: number | undefined): number | undefined => (r === undefined ? undefined : r / workers);
  return {
    ...rrl,
    responsesPerSecond: rrl.responsesPerSecond / workers,
    nxdomainsPerSecond: part(rrl.nxdomainsPerSecond),
    nodataPerSecond: part(rrl.nodataPerSecond),
    referralsPerSecond: part(rrl.referralsPerSecond),
    errorsPerSecond: part(rrl.errorsPerSecond),
    allPerSecond: rrl.allPerSecond / workers,
  };
}
