/**
 * Composition root of the DNS node: load config -> build the responder -> bind listeners.
 * Reload (SIGHUP) re-reads everything and swaps the zone data whole; a bad file leaves the running
 * data answering and is logged as `file:line: reason`.
 * @module
 */
import { hostname } from 'node:os';
import { dirname, resolve as resolvePath } from 'node:path';
import { loadConfigFile, type LoadedConfig } from './config/load.js';
import { Responder, type ZoneSet } from './dns/respond.js';
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

export interface DnsNode {
  config: LoadedConfig;
  responder: Responder;
  udp: UdpListener[];
  tcp: TcpListener[];
  metrics: Registry;
  health: HealthPlane;
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
  // A new geo database or health snapshot changes decisions: those cached under the old one are void.
  const clearDecisions = (): void => {
    for (const s of services.values()) s.clearCache();
  };
  geo?.onSwap(clearDecisions);
  plane.source.onSwap(clearDecisions);
  const responder = new Responder(zoneSet(config, services), {
    udpSize: dns.udpSize,
    chaos: dns.chaos,
    version: `Meridian ${VERSION}`,
    identity: dns.identity ?? hostname(),
    cacheEntries: dns.answerCacheEntries,
  });
  const udp = config.listen.map((a) => new UdpListener(responder, a.host, a.port, { errorRateLimit: dns.errorRateLimit }));
  const tcp = config.listen.map((a) => new TcpListener(responder, a.host, a.port, dns.tcp));
  const all = [...udp, ...tcp];
  const stopAll = async (): Promise<void> => {
    await Promise.all(all.map((l) => l.close()));
    geo?.stop();
    await plane.close();
  };
  try {
    await Promise.all(all.map((l) => l.start()));
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
  let metricsServer: Server | null = null;
  if (config.metricsListen) {
    try {
      metricsServer = await serveMetrics(metrics, config.metricsListen.host, config.metricsListen.port);
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
      config = { ...next.config, dns: config.dns, listen: config.listen };
      plane.update(config);
      geo?.reload();
      services = buildServices(config, env);
      responder.setZones(zoneSet(config, services));
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
