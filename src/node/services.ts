/**
 * Parts every role that answers or routes shares: the run-time services of a config and the geo
 * database they read (serve, forward, explain).
 * @module
 */
import { dirname, resolve as resolvePath } from 'node:path';
import type { LoadedConfig } from '../config/load.js';
import type { ZoneSet } from '../dns/lookup.js';
import { nameKey } from '../dns/writer.js';
import { GeoSource } from '../geo/source.js';
import type { Logger } from '../obs/log.js';
import { Service, type ServiceEnv } from '../routing/service.js';
import { countryOnlyWarnings } from '../routing/warnings.js';

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
export function geoWarnings(config: LoadedConfig): { service: string; reason: string }[] | string {
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
