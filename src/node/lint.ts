/**
 * `meridian check`'s warnings about a valid config that is probably not what was meant, as
 * `gdnsd checkconf` warns: a zone with one NS record, an NS or PTR target written without its
 * trailing dot (so the origin is appended and it points at nothing inside the zone), a TTL below 5 s, a
 * service with one region. They never fail the check; `serve` answers such a config as written.
 * @module
 */
import type { LoadedConfig } from '../config/load.js';
import { readConfigText } from '../config/load.js';
import { formatSourceError, type SourceError } from '../config/source-error.js';
import { canonicalOrigin, parseZoneText } from '../zone/parse.js';
import { RRType, type ParsedRecord } from '../zone/types.js';
import { readConfigFileUtf8, zoneTextOf, type ConfigReader } from './load.js';

/** Below this an answer is asked for again nearly every query (and some resolvers raise it anyway). */
export const MIN_SENSIBLE_TTL = 5;

/** Every warning, as `file:line: warning: reason`. */
export function lintConfig(config: LoadedConfig, readFile: ConfigReader = readConfigFileUtf8): string[] {
  const read = readConfigText(readFile(config.file), config.file);
  if (!read.ok) return [];
  const { source, lineOf } = read.read;
  const found: SourceError[] = [];
  const warn = (line: number, reason: string): number => found.push({ file: config.file, line, reason });
  source.zones.forEach((ref, i) => {
    const text = zoneTextOf(ref, i, config.file, lineOf, readFile);
    if ('error' in text) return;
    const origin = canonicalOrigin(ref.origin);
    const { records } = parseZoneText(text.zoneText, { file: text.zoneFile, origin });
    found.push(...zoneWarnings(origin, records, text.zoneText.split('\n'), text.zoneFile).map(text.fromZone));
  });
  source.services.forEach((s, i) => {
    if (s.ttl < MIN_SENSIBLE_TTL) warn(lineOf(['services', i, 'ttl']), `service ${s.name}: ttl ${s.ttl} s is below ${MIN_SENSIBLE_TTL} s: resolvers would ask again for nearly every query`);
    if (s.regions.length === 1) warn(lineOf(['services', i, 'regions']), `service ${s.name} has one region (${s.regions[0]}): when it is down there is nowhere to send clients`);
  });
  return found.map((w) => formatSourceError({ ...w, reason: `warning: ${w.reason}` }));
}

function zoneWarnings(origin: string, records: ParsedRecord[], lines: string[], file: string): SourceError[] {
  const found: SourceError[] = [];
  const owners = new Set(records.map((r) => r.name));
  const apexNs = records.filter((r) => r.type === RRType.NS && r.name === origin);
  if (apexNs.length === 1) {
    found.push({ file, line: apexNs[0]!.line, reason: `zone ${origin} has one NS record: resolvers have no other server to ask when it does not answer (list at least two, RFC 1034 4.1)` });
  }
  for (const r of records) {
    if (r.ttl < MIN_SENSIBLE_TTL) found.push({ file, line: r.line, reason: `${r.name}: TTL ${r.ttl} s is below ${MIN_SENSIBLE_TTL} s: resolvers would ask again for nearly every query` });
    if (r.type !== RRType.NS && r.type !== RRType.PTR) continue;
    // A target read inside the zone with a dot in its relative part (`ns1.example.net` extended by
    // the origin) at a name this zone has nothing at is a full name missing its trailing dot. One
    // the zone has records at (glue such as `ns.sub`) was meant, and so was one written in full.
    if (!('target' in r.rdata) || !r.rdata.target.endsWith(`.${origin}`) || owners.has(r.rdata.target)) continue;
    const written = r.rdata.target.slice(0, -origin.length - 1);
    if (!written.includes('.') || (lines[r.line - 1] ?? '').toLowerCase().includes(r.rdata.target)) continue;
    const type = r.type === RRType.NS ? 'NS' : 'PTR';
    found.push({ file, line: r.line, reason: `${type} target "${written}" has no trailing dot, so it is read as ${r.rdata.target}, inside ${origin}; end it with a dot if ${written}. was meant` });
  }
  return found;
}
