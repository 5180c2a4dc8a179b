/**
 * A zone's text compiled into a `Zone`: a zone file (`loadZoneText`, problems as `file:line`) or a
 * config document's zone (`compileZoneSource`, problems as RFC 6901 paths), through the same
 * parser, validator and compiler; and how services fit the zones (`owningOrigin`,
 * `serviceZoneClashes`). The YAML loader and the document compiler (src/node/) use them.
 * @module
 */
import { pointer, zoneText, type DocumentProblem, type ZoneSource } from '../config/document.js';
import { cnameChainWarnings, zoneCnames } from './chains.js';
import { canonicalOrigin, parseZoneText } from './parse.js';
import { RRType, type SourceError } from './types.js';
import { INVALID_ADDRESS } from '../wire/usable.js';
import { dedupe, validateZone } from './validate.js';
import { compileZone, isAtOrBelow, parentName, type Zone } from './zone.js';

// The compiled zones are part of every compiled document and loaded config; src/config/ names no
// component type, so the zone component adds them here.
declare module '../config/document.js' {
  interface CompiledDocument {
    zones: Zone[];
  }
}

/**
 * Parses, validates and compiles one zone file; returns its errors instead when there are any.
 * What is served but will not work (CNAME loops, chains past the limit) goes to `warnings`.
 */
export function loadZoneText(text: string, file: string, origin: string, serviceNames: string[] = [], warnings?: SourceError[]): Zone | SourceError[] {
  const parsed = parseZoneText(text, { file, origin });
  if (parsed.errors.length) return parsed.errors;
  const records = dedupe(parsed.records);
  const problems = validateZone(records, { file, origin });
  if (problems.length) return problems;
  const zone = compileZone(canonicalOrigin(origin), records, serviceNames);
  if (warnings) {
    const line = new Map(records.filter((r) => r.type === RRType.CNAME).map((r) => [r.name, r.line] as const));
    for (const w of cnameChainWarnings(zoneCnames(zone))) {
      // A loop at its last record in the file (as pair errors are), a long chain at its head.
      const at = w.reason.includes('_LOOP') ? Math.max(...w.owners.map((o) => line.get(o) ?? 0)) : (line.get(w.owners[0]!) ?? 0);
      warnings.push({ file, line: at, reason: w.reason });
    }
  }
  return zone;
}

/** Parses and validates one zone of a document; problems point at `/zones/<z>/records/<i>`. */
export function compileZoneSource(zone: ZoneSource, z: number, serviceNames: string[]): Zone | DocumentProblem[] {
  const origin = canonicalOrigin(zone.origin);
  const file = `zone ${origin}`;
  const at = (line: number): string => (line >= 2 && line - 2 < zone.records.length ? pointer(['zones', z, 'records', line - 2]) : pointer(['zones', z]));
  const parsed = parseZoneText(zoneText(zone), { file, origin });
  // An unusable address gets the API's answer-address code, as in a region (src/wire/usable.ts).
  if (parsed.errors.length) return parsed.errors.map((e) => ({ path: at(e.line), reason: e.reason, ...(e.reason.startsWith(INVALID_ADDRESS) ? { code: INVALID_ADDRESS } : {}) }));
  const records = dedupe(parsed.records);
  const problems = validateZone(records, { file, origin });
  if (problems.length) return problems.map((e) => ({ path: at(e.line), reason: e.reason }));
  try {
    return compileZone(origin, records, serviceNames);
  } catch (err) {
    return [{ path: pointer(['zones', z]), reason: (err as Error).message }];
  }
}

/** Whether a delegation (NS below the apex) sits at or above `name`. */
function cutAbove(zone: Zone, name: string): boolean {
  for (let p = name; p !== zone.origin && p !== '.'; p = parentName(p)) if (zone.nodes.get(p)?.cut) return true;
  return false;
}

/**
 * What keeps a service and the static data of its zone apart: a service owns its A/AAAA answers, so
 * the zone may not hold A, AAAA or CNAME records at that name, and it may not sit below a delegation.
 */
export function serviceZoneClashes(zone: Zone, serviceName: string): string[] {
  const reasons: string[] = [];
  const node = zone.nodes.get(serviceName);
  const clash = [RRType.A, RRType.AAAA, RRType.CNAME].filter((t) => node?.rrsets.has(t)).map((t) => ({ 1: 'A', 28: 'AAAA', 5: 'CNAME' })[t]);
  if (clash.length) reasons.push(`service ${serviceName} also has ${clash.join('/')} records in zone ${zone.origin}; a service owns its A/AAAA answers`);
  if (cutAbove(zone, serviceName)) reasons.push(`service ${serviceName} is below a delegation in zone ${zone.origin}`);
  return reasons;
}

/** The most specific of `origins` that contains `name`, or null. */
export function owningOrigin(name: string, origins: string[]): string | null {
  let best: string | null = null;
  for (const o of origins) if (isAtOrBelow(name, o) && (best === null || o.length > best.length)) best = o;
  return best;
}
