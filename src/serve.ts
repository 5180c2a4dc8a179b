/**
 * Composition root of the DNS node: load config -> build the responder -> bind listeners.
 * Reload (SIGHUP) re-reads everything and swaps the zone data whole; a bad file leaves the running
 * data answering and is logged as `file:line: reason`.
 * @module
 */
import { hostname } from 'node:os';
import { loadConfigFile, type LoadedConfig } from './config/load.js';
import { Responder, type ZoneSet } from './dns/respond.js';
import { TcpListener } from './dns/tcp.js';
import { UdpListener } from './dns/udp.js';
import { nameKey } from './dns/writer.js';
import type { Logger } from './obs/log.js';
import { formatSourceError } from './zone/types.js';
import { VERSION } from './version.js';

export interface DnsNode {
  config: LoadedConfig;
  responder: Responder;
  udp: UdpListener[];
  tcp: TcpListener[];
  /** Re-reads the config file; returns the problems found (empty when the new data is live). */
  reload(): string[];
  close(): Promise<void>;
}

export function zoneSet(config: LoadedConfig): ZoneSet {
  return { byKey: new Map(config.zones.map((z) => [nameKey(z.origin), z])) };
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
  const responder = new Responder(zoneSet(config), {
    udpSize: dns.udpSize,
    chaos: dns.chaos,
    version: `Meridian ${VERSION}`,
    identity: dns.identity ?? hostname(),
    cacheEntries: dns.answerCacheEntries,
  });
  const udp = config.listen.map((a) => new UdpListener(responder, a.host, a.port, { errorRateLimit: dns.errorRateLimit }));
  const tcp = config.listen.map((a) => new TcpListener(responder, a.host, a.port, dns.tcp));
  const all = [...udp, ...tcp];
  try {
    await Promise.all(all.map((l) => l.start()));
  } catch (err) {
    await Promise.all(all.map((l) => l.close()));
    throw err;
  }
  const node: DnsNode = {
    get config() {
      return config;
    },
    responder,
    udp,
    tcp,
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
      responder.setZones(zoneSet(config));
      log.info({ zones: config.zones.map((z) => z.origin) }, 'reloaded');
      return [];
    },
    async close() {
      await Promise.all(all.map((l) => l.close()));
    },
  };
  return node;
}
