/**
 * Zone records back to presentation form: a zone file's records as config-document records, which
 * is how a store is seeded from the YAML's zone files. The parser reads each record back to the
 * same data.
 * @module
 */
import type { ZoneSource } from '../config/document.js';
import { canonicalOrigin, parseZoneText } from './parse.js';
import { RRType, type ParsedRecord, type RData, type SourceError } from './types.js';
import { dedupe } from './validate.js';

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

/** A zone file's text as a document zone, or its parse errors. */
export function parseZoneSource(text: string, origin: string, file: string): ZoneSource | SourceError[] {
  const parsed = parseZoneText(text, { file, origin });
  return parsed.errors.length ? parsed.errors : zoneSourceFromRecords(origin, dedupe(parsed.records));
}

/** A zone file's text as a document zone; throws with the first problem when the file is bad. */
export function zoneSourceFromText(text: string, origin: string, file: string): ZoneSource {
  const zone = parseZoneSource(text, origin, file);
  if (!Array.isArray(zone)) return zone;
  const e = zone[0]!;
  throw new Error(`${e.file}:${e.line}: ${e.reason}`);
}
