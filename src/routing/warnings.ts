/**
 * Config that is valid but will not do what it says: `meridian check` prints these, `serve` logs
 * them at start (and when a new config version brings a new one). Nothing here stops a node.
 * @module
 */
import type { GeoDatabaseInfo } from '../geo/reader.js';
import type { ServiceDefinition } from './service.js';

/** What the policies noted while parsing (e.g. a `CC-Name` no subdivision table knows). */
export function policyWarnings(services: ServiceDefinition[]): string[] {
  return services.flatMap((s) => s.chain.warnings.map((w) => `service ${s.name}: ${w.reason}`));
}

/**
 * Subdivision rules against a database without subdivisions (the embedded default is country
 * level): they never match, and the clients fall through to the country, continent or default
 * rules. `database` is `geo.database` as configured.
 */
export function countryOnlyWarnings(services: ServiceDefinition[], db: GeoDatabaseInfo, database: string): { service: string; reason: string }[] {
  if (db.subdivisions) return [];
  return services
    .filter((s) => s.chain.subdivisions.length > 0)
    .map((s) => ({
      service: s.name,
      reason:
        `service ${s.name}: geo.subdivisions (${s.chain.subdivisions.join(', ')}) never match: the geo database "${database}" has no ` +
        'subdivision data (country level only); point geo.database at a city database (src/geo/README.md)',
    }));
}
