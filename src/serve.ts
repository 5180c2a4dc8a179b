/**
 * Composition root of the DNS node: load config -> build the responder -> bind listeners.
 * Reload (SIGHUP) re-reads everything and swaps the zone data whole; a bad file leaves the running
 * data answering and is logged as `file:line: reason`.
 * @module
 */
import { hostname } from 'node:os';
import { dirname, resolve as resolvePath } from 'node:path';
import { loadConfigFile, type LoadedConfig } from './config/load.js';
import type { ZoneSet } from './dns/lookup.js';
import { Responder } from './dns/respond.js';
import { TcpListener } from './dns/tcp.js';
import { UdpListener } from './dns/udp.js';
import { nameKey } from './dns/writer.js';
import type { Logger } from './obs/log.js';
import { formatSourceError } from './zone/types.js';
import { Service, type ServiceEnv } from './routing/service.js';
import { GeoSource } from './geo/source.js';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import { createMetrics, createProbeMetrics, serveMetrics } from './obs/metrics.js';
import { openHealthPlane, type HealthPlane } from './health/plane.js';
import { VERSION } from './version.js';
import { ConfigFollower } from './config/follow.js';
import { parseListen } from './config/load.js';
import { compileDocument, type CompiledDocument, type ConfigDocument } from './config/document.js';
import { compileRegionForwarders, type ForwardProblem } from './forward/config.js';
import { redisUrlOf } from './health/plane.js';
import { isLive } from './health/load.js';
import { openFileStore } from './store/file.js';
import { openRedisStore } from './store/redis.js';
import type { ConfigStore, VersionRecord } from './store/types.js';
import { ClientSampler } from './routing/samples.js';
import { countryOnlyWarnings, policyWarnings } from './routing/warnings.js';
import type { AdminServer } from './admin/server.js';
import type { Forwarder } from './forward/forwarder.js';

export interface DnsNode {
  config: LoadedConfig;
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
  /** Re-reads the config file; returns the problems found (empty when the new data is live). */
  reload(): string[];
  close(): Promise<void>;
}

export function zoneSet(config: LoadedConfig, services: Map<string, Service> = new Map()): ZoneSet {
  return { byKey: new Map(config.zones.map((z) => [nameKey(z.origin), z])), services };
}

/** Builds the run-time services of a config against the given snapshots. */
export function buildServices(config: LoadedConfig, env: ServiceEnv): Map<string, Service> {
  return new Map(config.routing.services.map((def) => [def.name, new Service(def, env)]));
}

/** The geo database named by the config, when any service needs one; a failure to open is fatal. */
export function openGeo(config: LoadedConfig, log: Logger | null): GeoSource | null {
  if (!config.routing.services.some((s) => s.chain.needsGeo)) return null;
  const db = config.geo.database;
  // A database path is relative to the config file, like zone files.
  const source = new GeoSource({
    path: db === 'embedded' ? 'embedded' : resolvePath(dirname(config.file), db),
    ...(log ? { log: log.child({ component: 'geo' }) } : {}),
  });
  if (log) {
    source.startSchedule(config.geo.reloadCron);
    log.info({ database: source.current.description }, 'geo database loaded');
  }
  return source;
}

/**
 * For `meridian check`: opens the geo database as serve would (when a service needs one) and
 * returns what the config's rules cannot get from it, or the reason it cannot be opened.
 */
export function geoWarnings(config: LoadedConfig): string[] | string {
  let geo: GeoSource | null;
  try {
    geo = openGeo(config, null);
  } catch (err) {
    return `geo.database: ${(err as Error).message}`;
  }
  if (!geo) return [];
  geo.stop();
  return countryOnlyWarnings(config.routing.services, geo.current.description, config.geo.database);
}

/**
 * The config with a store version's zones and routing swapped in; the regions' `forwarder:` blocks
 * are recompiled from the version's regions, so forwarders follow edits made through the API.
 */
export function configWithDocument(config: LoadedConfig, compiled: CompiledDocument, document: ConfigDocument, log: Logger): LoadedConfig {
  const problems: ForwardProblem[] = [];
  const regions = compileRegionForwarders(document.regions, new Set(config.forward.listeners.map((l) => l.name)), parseListen, problems);
  if (problems.length) log.error({ problems: problems.map((p) => p.reason) }, 'forwarder settings of this config version are invalid; keeping the previous ones');
  return { ...config, zones: compiled.zones, routing: compiled.routing, document, forward: problems.length ? config.forward : { ...config.forward, regions } };
}

/** The store named by `admin.store`: Redis in cluster mode, files in the data directory otherwise. */
export function storeOpener(config: LoadedConfig, log: Logger): { kind: 'file' | 'redis'; dataDir: string; open(): Promise<ConfigStore> } {
  const admin = config.admin!;
  const dataDir = resolvePath(dirname(config.file), admin.dataDir);
  const url = redisUrlOf(config);
  const kind = admin.store === 'auto' ? (url ? 'redis' : 'file') : admin.store;
  if (kind === 'redis') {
    if (!url) throw new ConfigError([`${config.file}: admin.store is redis but neither REDIS_URL nor health.redisUrl is set`]);
    return { kind, dataDir, open: () => openRedisStore(url, { log: log.child({ component: 'store' }) }) };
  }
  return { kind, dataDir, open: () => openFileStore(dataDir) };
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(problems.join('\n'));
  }
}

export async function startDnsNode(configPath: string, log: Logger): Promise<DnsNode> {
  const loaded = loadConfigFile(configPath);
  if (!loaded.ok) throw new ConfigError(loaded.errors.map(formatSourceError));
  let config = loaded.config;
  const dns = config.dns;
  // The geo database first: it may refuse to open, and nothing else is running yet then.
  const geo = openGeo(config, log);
  const probeMetrics = createProbeMetrics();
  const plane = openHealthPlane(config, { log, probes: true, onCheck: probeMetrics.onCheck, onFlip: probeMetrics.onFlip });
  const allDownLog = log.child({ component: 'policy/alldown' });
  const env: ServiceEnv = {
    geo: () => geo?.current ?? null,
    health: () => plane.source.current,
    onAllDown(service, family, allDown, changed) {
      // Logged once per state change; every answer given in that state is counted (stats.allDown).
      if (changed) allDownLog[allDown ? 'warn' : 'info']({ service, family }, allDown ? 'every region is down: all-down policy in force' : 'regions are back: all-down policy lifted');
    },
  };
  let services = buildServices(config, env);
  // Valid config that will not do what it says: each distinct warning is logged once, at start and
  // when a config version or a geo database brings a new one.
  const warned = new Set<string>();
  const logWarnings = (): void => {
    const found = policyWarnings(config.routing.services);
    if (geo) found.push(...countryOnlyWarnings(config.routing.services, geo.current.description, config.geo.database));
    for (const w of found.filter((x) => !warned.has(x))) {
      warned.add(w);
      log.warn(w);
    }
  };
  // A new geo database or health snapshot changes decisions: those cached under the old one are void.
  const clearDecisions = (): void => {
    for (const s of services.values()) s.clearCache();
  };
  geo?.onSwap(clearDecisions);
  geo?.onSwap(logWarnings);
  plane.source.onSwap(clearDecisions);
  const responder = new Responder(zoneSet(config, services), {
    udpSize: dns.udpSize,
    chaos: dns.chaos,
    version: `Meridian ${VERSION}`,
    identity: dns.identity ?? hostname(),
    cacheEntries: dns.answerCacheEntries,
  });
  const sampler = new ClientSampler(config.admin?.sampleSize ?? 0);
  if (config.admin) responder.clientSampler = sampler;
  /** Swaps in a compiled config document (a store version), exactly as a reload swaps zone files. */
  const applyCompiled = (compiled: CompiledDocument, record: VersionRecord): void => {
    config = configWithDocument(config, compiled, record.document, log);
    plane.update(config);
    for (const f of forwarders) f.update(config);
    services = buildServices(config, env);
    responder.setZones(zoneSet(config, services));
    logWarnings();
  };
  const udp = config.listen.map((a) => new UdpListener(responder, a.host, a.port, { errorRateLimit: dns.errorRateLimit }));
  const tcp = config.listen.map((a) => new TcpListener(responder, a.host, a.port, dns.tcp));
  const all = [...udp, ...tcp];
  let follower: ConfigFollower | null = null;
  let admin: AdminServer | null = null;
  const forwarders: Forwarder[] = [];
  const stopAll = async (): Promise<void> => {
    // Forwarders first, while the health plane they read is still up: they drain (new connections
    // refused, open ones get forward.drainDeadlineMs), as `meridian forward` does on SIGTERM.
    await Promise.all(forwarders.map((f) => f.drain(config.forward.drainDeadlineMs)));
    await Promise.all(forwarders.map((f) => f.close()));
    await admin?.close();
    await follower?.close();
    await Promise.all(all.map((l) => l.close()));
    geo?.stop();
    await plane.close();
  };
  try {
    if (config.admin) {
      const opener = storeOpener(config, log);
      follower = new ConfigFollower({
        openStore: opener.open,
        seed: config.document,
        probeDefaults: config.health.probe,
        apply: applyCompiled,
        localCopyPath: opener.kind === 'redis' ? resolvePath(opener.dataDir, 'local-copy.json') : null,
        log: log.child({ component: 'config' }),
      });
      await follower.start();
    }
    await Promise.all(all.map((l) => l.start()));
    logWarnings();
  } catch (err) {
    await stopAll();
    throw err;
  }
  const metrics = createMetrics({
    dns: () => responder.stats,
    tcpOpen: () => tcp.reduce((n, l) => n + l.connectionCount, 0),
    ...(geo ? { geo: () => geo.metrics } : {}),
    health: () => plane,
  });
  probeMetrics.register(metrics);
  if (config.forward.embedded.length) {
    // Loaded only when used, like the admin API: a DNS node without forwarders does not carry them.
    const { startForwarder } = await import('./forward/forwarder.js');
    try {
      for (const region of config.forward.embedded) {
        forwarders.push(await startForwarder(config, region, { health: plane.source, bus: plane.bus, geo: () => geo?.current ?? null, log, metrics }));
      }
    } catch (err) {
      await stopAll();
      throw err;
    }
  }
  let metricsServer: Server | null = null;
  if (config.metricsListen) {
    try {
      metricsServer = await serveMetrics(metrics, config.metricsListen.host, config.metricsListen.port);
    } catch (err) {
      await stopAll();
      throw err;
    }
  }
  if (config.admin?.listen && follower) {
    const listen = parseListen(config.admin.listen);
    const f = follower;
    try {
      if (typeof listen === 'string') throw new ConfigError([`${config.file}: admin.listen: ${listen}`]);
      if (!f.store) throw new Error('the admin API needs the config store, which is unreachable');
      // Loaded only when the API is on: fastify and its plugins make the heap bigger and every
      // scavenge slower (bench/forward/README.md), which a DNS node without an API should not pay.
      const { startAdminServer } = await import('./admin/server.js');
      // Dry runs decide with the live code on hypothetical state: what they find is not an event to log.
      const { onAllDown: _live, ...whatIf } = env;
      admin = await startAdminServer(
        {
          store: f.store,
          compile: (doc) => compileDocument(doc, config.health.probe),
          live: () => ({ version: f.version, services, zones: zoneSet(config, services).byKey }),
          applied: () => f.catchUp(),
          servicesFor: (compiled) => buildServices({ ...config, ...compiled }, whatIf),
          servicesUnder: (overrides) => {
            const health = plane.source.withOverrides(overrides);
            return buildServices(config, { ...whatIf, health: () => health });
          },
          bus: plane.bus,
          onOverridesChanged: () => void plane.source.refresh(),
          recentClients: () => sampler.recent(),
          forwarderConnections: async (region) => {
            const live = (await plane.bus.readLoads([region])).filter((r) => isLive(r, Date.now()));
            return live.length ? live.reduce((n, r) => n + r.active, 0) : null;
          },
          settings: config.admin,
          staticTokens: config.admin.tokens,
          log,
        },
        listen,
        resolvePath(dirname(config.file), config.admin.dataDir),
      );
      const a = admin;
      f.onApplied(() => void a.runtime.drains.resume().catch(() => undefined));
    } catch (err) {
      await stopAll();
      throw err;
    }
  }
  const node: DnsNode = {
    get config() {
      return config;
    },
    responder,
    udp,
    tcp,
    metrics,
    health: plane,
    follower,
    admin,
    forwarders,
    get metricsPort() {
      return metricsServer ? (metricsServer.address() as AddressInfo).port : null;
    },
    reload() {
      const next = loadConfigFile(config.file);
      if (!next.ok) {
        const problems = next.errors.map(formatSourceError);
        log.error({ problems }, 'reload rejected; the running data keeps answering');
        return problems;
      }
      if (JSON.stringify(next.config.dns) !== JSON.stringify(config.dns)) {
        log.warn('dns listener settings changed; they apply at the next restart');
      }
      if (follower) {
        // With a config store, zones/regions/services come from the store; the YAML gives settings.
        const again = follower.recompile(next.config.health.probe);
        if (again && !again.ok) {
          const problems = again.problems.map((p) => `config version ${follower!.version} ${p.path}: ${p.reason}`);
          log.error({ problems }, 'reload rejected; the running data keeps answering');
          return problems;
        }
        config = { ...next.config, dns: config.dns, listen: config.listen, admin: config.admin, ...(again?.ok ? again.compiled : { zones: config.zones, routing: config.routing }) };
      } else config = { ...next.config, dns: config.dns, listen: config.listen };
      plane.update(config);
      for (const f of forwarders) f.update(config);
      geo?.reload();
      services = buildServices(config, env);
      responder.setZones(zoneSet(config, services));
      logWarnings();
      log.info({ zones: config.zones.map((z) => z.origin) }, 'reloaded');
      return [];
    },
    async close() {
      await new Promise<void>((r) => (metricsServer ? metricsServer.close(() => r()) : r()));
      await stopAll();
    },
  };
  return node;
}
