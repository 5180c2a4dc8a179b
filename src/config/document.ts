/**
 * The config document: the part of Meridian's configuration that the admin API edits and the config
 * store versions (zones with their records, regions with their endpoints, services). Process settings
 * (listen addresses, geo, health, metrics, admin) stay in the YAML file.
 *
 * A document is compiled with the same parser, validator and routing compiler as the YAML file, so
 * the API and the file can never disagree about what is valid. Problems carry RFC 6901 paths into
 * the document (`/regions/1/weight`) so that API errors name the field.
 * @module
 */
import { type Static, Type } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { canonicalOrigin, parseZoneText } from '../zone/parse.js';
import { RRType, type ParsedRecord, type RData } from '../zone/types.js';
import { dedupe, validateZone } from '../zone/validate.js';
import { compileZone, isAtOrBelow, parentName, type Zone } from '../zone/zone.js';
import { compileRouting, type CompiledRouting } from './routing.js';
import { RegionSchema, ServiceSchema, type RegionSource } from './schema.js';
import { schemaMessage } from './schema-messages.js';
import { checkRegionBlocks } from './sections.js';

// No line breaks, and nothing that would start a directive or a comment where a field begins: each
// record becomes exactly one zone-file line, so a field can never smuggle in a second record.
const oneLine = '^[^\\r\\n]*$';

export const ZoneRecordSchema = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 255, pattern: '^[^\\s;$()"\\\\]+$', description: 'owner: relative to the origin, absolute with a trailing dot, or @' }),
    ttl: Type.Optional(Type.Integer({ minimum: 0, maximum: 2_147_483_647 })),
    type: Type.String({ pattern: '^[A-Za-z][A-Za-z0-9]{0,15}$', description: 'mnemonic (A, AAAA, MX …) or TYPEnnn' }),
    data: Type.String({ minLength: 1, maxLength: 65_535, pattern: oneLine, description: 'RDATA in zone-file presentation form' }),
  },
  { additionalProperties: false },
);

export const ZoneSourceSchema = Type.Object(
  {
    origin: Type.String({ minLength: 1, maxLength: 255, pattern: '^[A-Za-z0-9_.-]+$' }),
    records: Type.Array(ZoneRecordSchema, { maxItems: 100_000 }),
  },
  { additionalProperties: false },
);

export const ConfigDocumentSchema = Type.Object(
  {
    zones: Type.Array(ZoneSourceSchema, { minItems: 1 }),
    regions: Type.Array(RegionSchema, { default: [] }),
    services: Type.Array(ServiceSchema, { default: [] }),
  },
  { additionalProperties: false },
);

export type ZoneRecordSource = Static<typeof ZoneRecordSchema>;
export type ZoneSource = Static<typeof ZoneSourceSchema>;
/** A document; its regions' component blocks typed by their components (schema.ts `RegionBlocks`). */
export type ConfigDocument = Omit<Static<typeof ConfigDocumentSchema>, 'regions'> & { regions: RegionSource[] };

/** Records without a TTL get this, as a `$TTL 3600` line would give them. */
export const DEFAULT_RECORD_TTL = 3600;

export interface DocumentProblem {
  /** RFC 6901 pointer into the document. */
  path: string;
  reason: string;
  /** A more specific error code than MERIDIAN_ERR_INVALID_CONFIG, for the API's reply. */
  code?: 'MERIDIAN_ERR_TARGET_DENIED';
}

export interface CompiledDocument {
  zones: Zone[];
  routing: CompiledRouting;
}

export type CompileResult = { ok: true; compiled: CompiledDocument; document: ConfigDocument } | { ok: false; problems: DocumentProblem[] };

export const pointer = (path: (string | number)[]): string => path.map((p) => '/' + String(p).replace(/~/g, '~0').replace(/\//g, '~1')).join('');

/** The zone-file text of a zone's records: line 2 + i is record i (line 1 is `$TTL`). */
export function zoneText(zone: ZoneSource): string {
  const lines = [`$TTL ${DEFAULT_RECORD_TTL}`];
  for (const r of zone.records) lines.push(`${r.name} ${r.ttl ?? ''} IN ${r.type} ${r.data}`);
  return lines.join('\n') + '\n';
}

/** Parses and validates one zone of a document; problems point at `/zones/<z>/records/<i>`. */
export function compileZoneSource(zone: ZoneSource, z: number, serviceNames: string[]): Zone | DocumentProblem[] {
  const origin = canonicalOrigin(zone.origin);
  const file = `zone ${origin}`;
  const at = (line: number): string => (line >= 2 && line - 2 < zone.records.length ? pointer(['zones', z, 'records', line - 2]) : pointer(['zones', z]));
  const parsed = parseZoneText(zoneText(zone), { file, origin });
  if (parsed.errors.length) return parsed.errors.map((e) => ({ path: at(e.line), reason: e.reason }));
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

/**
 * Validates a whole document (schema, zones, regions, services and how they fit together) and
 * compiles it. Defaults are filled in; the returned `document` is the normalised one to store.
 */
export function compileDocument(input: unknown, probeDefaults: unknown = {}): CompileResult {
  const document = Value.Default(ConfigDocumentSchema, structuredClone(input ?? {})) as ConfigDocument;
  const problems: DocumentProblem[] = [];
  // The reason names the field: an API client sees it as the message (src/admin/README.md, Errors).
  for (const e of Value.Errors(ConfigDocumentSchema, document)) problems.push({ path: e.path || '/', reason: `${e.path || '/'} ${schemaMessage(e)}` });
  for (const { pointer, error } of checkRegionBlocks(document.regions)) problems.push({ path: pointer, reason: `${pointer} ${schemaMessage(error)}` });
  if (problems.length) return { ok: false, problems: problems.slice(0, 50) };

  const origins = document.zones.map((z) => canonicalOrigin(z.origin));
  const { routing, problems: routingProblems } = compileRouting(document.regions, document.services, origins, probeDefaults);
  // Routing paths are relative to the YAML root, where regions/services sit just as in a document;
  // a `health` path means the YAML's probe defaults, which the document does not contain.
  for (const p of routingProblems) problems.push({ path: p.path[0] === 'health' ? '/' : pointer(p.path), reason: p.reason });

  const zones: Zone[] = [];
  const seen = new Map<string, number>();
  document.zones.forEach((zone, z) => {
    const origin = origins[z]!;
    if (seen.has(origin)) {
      problems.push({ path: pointer(['zones', z, 'origin']), reason: `zone ${origin} is listed twice` });
      return;
    }
    seen.set(origin, z);
    const mine = routing.services.filter((s) => owningOrigin(s.name, origins) === origin);
    const compiled = compileZoneSource(
      zone,
      z,
      mine.map((s) => s.name),
    );
    if (Array.isArray(compiled)) {
      problems.push(...compiled);
      return;
    }
    zones.push(compiled);
    for (const svc of mine) {
      const index = document.services.findIndex((s) => canonicalOrigin(s.name) === svc.name);
      for (const reason of serviceZoneClashes(compiled, svc.name)) problems.push({ path: pointer(['services', index, 'name']), reason });
    }
  });
  if (problems.length) return { ok: false, problems };
  return { ok: true, compiled: { zones, routing }, document };
}

// ---- Zone records back to presentation form (seeding a document from zone files) ----

/** A character-string in quotes, with `"` and `\` escaped and anything unprintable as \DDD. */
function quoted(bytes: Buffer): string {
  let out = '"';
  for (const b of bytes) {
    if (b === 0x22 || b === 0x5c) out += '\\' + String.fromCharCode(b);
    else if (b < 0x20 || b > 0x7e) out += '\\' + String(b).padStart(3, '0');
    else out += String.fromCharCode(b);
  }
  return out + '"';
}

/** RDATA in zone-file presentation form; the parser reads it back to the same data. */
export function formatRData(rdata: RData): string {
  switch (rdata.type) {
    case 1:
    case 28:
      return rdata.address;
    case 2:
    case 5:
    case 12:
      return rdata.target;
    case 6:
      return `${rdata.mname} ${rdata.rname} ${rdata.serial} ${rdata.refresh} ${rdata.retry} ${rdata.expire} ${rdata.minimum}`;
    case 13:
      return `${quoted(rdata.cpu)} ${quoted(rdata.os)}`;
    case 15:
      return `${rdata.preference} ${rdata.exchange}`;
    case 16:
      return rdata.strings.map(quoted).join(' ');
    case 33:
      return `${rdata.priority} ${rdata.weight} ${rdata.port} ${rdata.target}`;
    case 257:
      return `${rdata.flags} ${rdata.tag} ${quoted(rdata.value)}`;
    case 'generic':
      return `\\# ${rdata.data.length}${rdata.data.length ? ' ' + rdata.data.toString('hex') : ''}`;
  }
}

const TYPE_NAMES = new Map<number, string>(Object.entries(RRType).map(([k, v]) => [v, k]));

/** Owner relative to the origin where that is shorter: `@`, `www`, or absolute outside it. */
function relativeName(name: string, origin: string): string {
  if (name === origin) return '@';
  if (origin !== '.' && name.endsWith('.' + origin)) return name.slice(0, -(origin.length + 1));
  return name;
}

/** The records of a parsed zone file as document records. */
export function zoneSourceFromRecords(origin: string, records: ParsedRecord[]): ZoneSource {
  const o = canonicalOrigin(origin);
  return {
    origin: o,
    records: records.map((r) => ({
      name: relativeName(r.name, o),
      ttl: r.ttl,
      type: TYPE_NAMES.get(r.type) ?? `TYPE${r.type}`,
      data: formatRData(r.rdata),
    })),
  };
}

/** A zone file's text as a document zone; throws with the first problem when the file is bad. */
export function zoneSourceFromText(text: string, origin: string, file: string): ZoneSource {
  const parsed = parseZoneText(text, { file, origin });
  if (parsed.errors.length) {
    const e = parsed.errors[0]!;
    throw new Error(`${e.file}:${e.line}: ${e.reason}`);
  }
  return zoneSourceFromRecords(origin, dedupe(parsed.records));
}
