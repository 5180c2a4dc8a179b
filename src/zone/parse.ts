/**
 * RFC 1035 §5 master-file parser producing {@link ParsedRecord}s.
 *
 * Every problem becomes a {@link SourceError} and parsing resumes at the next entry, so one run
 * shows the operator all mistakes. Only the first problem of each entry is reported: later
 * fields of a broken record are usually noise caused by the first.
 *
 * Escapes inside domain names (`\.`, `\DDD`) are rejected with an error rather than supported:
 * names are carried as presentation strings throughout Meridian, and a label containing a
 * literal dot would be split wrongly by every consumer that does `name.split('.')`.
 * @module
 */
import { isIPv4, isIPv6 } from 'node:net';
import { INVALID_ADDRESS, unusableAddress } from '../wire/usable.js';
import { tokenize, type Token } from './tokenize.js';
import { RRType, type ParsedRecord, type RData, type SourceError } from './types.js';

export interface ParseOptions {
  file: string;
  /** Zone apex, the initial $ORIGIN. */
  origin: string;
  /** TTL for records that have none, when the file has no $TTL. */
  defaultTtl?: number;
}

/** Thrown inside the parser only; converted to a SourceError for the current entry. */
class ParseError extends Error {}
function fail(reason: string): never {
  throw new ParseError(reason);
}

export const MAX_TTL = 2147483647; // RFC 2181 §8

/** Lower-case, ensure trailing dot; `''` and `.` both mean the root. */
export function canonicalOrigin(origin: string): string {
  const o = asciiLower(origin.trim());
  if (o === '' || o === '.') return '.';
  return o.endsWith('.') ? o : o + '.';
}

// Only ASCII folds (RFC 4343); String#toLowerCase would also change non-ASCII octets.
const asciiLower = (s: string): string => s.replace(/[A-Z]/g, (c) => c.toLowerCase());

/** Checks label and name lengths of an absolute lower-case name; throws ParseError. */
export function checkName(name: string): string {
  if (name === '.') return name;
  const labels = name.slice(0, -1).split('.');
  let wire = 1;
  for (const label of labels) {
    const len = Buffer.byteLength(label, 'utf8');
    if (len === 0) fail(`empty label in "${name}"`);
    if (len > 63) fail(`label "${label.slice(0, 20)}..." longer than 63 bytes`);
    wire += 1 + len;
  }
  if (wire > 255) fail(`name "${name.slice(0, 30)}..." longer than 255 bytes`);
  return name;
}

/** Resolves a presentation name against `origin` (`@`, relative, absolute). */
export function absoluteName(tok: Token, origin: string): string {
  if (tok.quoted) fail(`expected a domain name, got quoted string "${tok.raw}"`);
  const raw = tok.raw;
  if (raw.includes('\\')) fail(`escaped characters in names are not supported: "${raw}"`);
  // Octets outside printable ASCII are legal on the wire but in a zone file are almost always
  // an un-punycoded IDN or an editor accident, and would make the wire encoding ambiguous.
  if (/[^\x21-\x7e]/.test(raw)) fail(`non-ASCII or control character in name "${raw}" (IDNs must be punycode)`);
  if (raw === '@') return origin;
  if (raw === '.') return '.';
  let name = asciiLower(raw);
  if (!name.endsWith('.')) name = origin === '.' ? `${name}.` : `${name}.${origin}`;
  return checkName(name);
}

function uint(tok: Token | undefined, max: number, what: string): number {
  if (tok === undefined || tok.quoted || !/^\d+$/.test(tok.raw) || Number(tok.raw) > max) {
    return fail(`${what} must be 0-${max}`);
  }
  return Number(tok.raw);
}

const TTL_UNITS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400, w: 604800 };

/** TTL in seconds: plain number or BIND units (`1w2d3h4m5s`, case-insensitive). */
export function parseTtl(raw: string, what = 'TTL', max = MAX_TTL): number {
  let total: number;
  if (/^\d+$/.test(raw)) total = Number(raw);
  else if (/^(\d+[smhdw])+$/i.test(raw)) {
    total = 0;
    for (const m of raw.matchAll(/(\d+)([smhdw])/gi)) total += Number(m[1]) * TTL_UNITS[m[2]!.toLowerCase()]!;
  } else return fail(`bad ${what} "${raw}"`);
  if (total > max) fail(`${what} must be 0-${max}`);
  return total;
}

const CLASS_NAMES = new Set(['IN', 'CH', 'CHAOS', 'HS', 'HESIOD', 'CS', 'NONE', 'ANY']);
const isClass = (raw: string): boolean => CLASS_NAMES.has(raw.toUpperCase()) || /^CLASS\d+$/i.test(raw);

// Types that only make sense in queries or OPT pseudo-records, never in zone data.
const META_TYPES = new Set<number>([RRType.OPT, RRType.IXFR, RRType.AXFR, RRType.MAILB, RRType.MAILA, RRType.ANY]);
const NAME_OF = new Map<number, string>(Object.entries(RRType).map(([k, v]) => [v, k]));

function typeCode(tok: Token | undefined): number {
  if (tok === undefined) return fail('missing record type');
  const up = tok.raw.toUpperCase();
  let code = Object.hasOwn(RRType, up) ? (RRType as Record<string, number>)[up] : undefined;
  const m = /^TYPE(\d+)$/.exec(up);
  if (m) {
    code = Number(m[1]);
    if (code < 1 || code > 65535) fail(`bad record type "${tok.raw}"`);
  }
  if (tok.quoted || code === undefined) return fail(`unknown record type "${tok.raw}"`);
  if (META_TYPES.has(code)) fail(`record type "${tok.raw}" not allowed in zone data`);
  return code;
}
const typeName = (code: number): string => NAME_OF.get(code) ?? `TYPE${code}`;

function characterString(tok: Token): Buffer {
  if (tok.bytes.length > 255) fail(`character-string longer than 255 bytes (${tok.bytes.length})`);
  return tok.bytes;
}

/** An address no client can use is refused as the API refuses it in a region (src/wire/usable.ts). */
function usable(type: 'A' | 'AAAA', address: string): string {
  const why = unusableAddress(address);
  if (why) fail(`${INVALID_ADDRESS}: ${type} "${address}" is ${why}: no client can use it`);
  return address;
}
function ipv4(tok: Token): string {
  if (tok.quoted || !isIPv4(tok.raw)) fail(`bad IPv4 address "${tok.raw}"`);
  return usable('A', tok.raw);
}
function ipv6(tok: Token): string {
  // isIPv6 accepts scoped addresses (`fe80::1%eth0`), which have no meaning in DNS data.
  if (tok.quoted || !isIPv6(tok.raw)) fail(`bad IPv6 address "${tok.raw}"`);
  return usable('AAAA', tok.raw);
}

/** Number of presentation fields for fixed-arity types; TXT is variadic. */
const ARITY: Record<number, number> = { 1: 1, 28: 1, 2: 1, 5: 1, 12: 1, 6: 7, 13: 2, 15: 2, 33: 4, 257: 3 };

function typedRData(code: number, f: Token[], origin: string): RData {
  const want = ARITY[code];
  if (want !== undefined && f.length < want) {
    fail(`${typeName(code)} needs ${want} rdata field${want > 1 ? 's' : ''}, got ${f.length}`);
  }
  if (want !== undefined && f.length > want) fail(`trailing garbage "${f[want]!.raw}" after ${typeName(code)} rdata`);
  const name = (i: number): string => absoluteName(f[i]!, origin);
  switch (code) {
    case 1:
      return { type: 1, address: ipv4(f[0]!) };
    case 28:
      return { type: 28, address: ipv6(f[0]!) };
    case 2:
    case 5:
    case 12:
      return { type: code, target: name(0) };
    case 6: {
      const [mname, rname] = [name(0), name(1)];
      const serial = uint(f[2], 0xffffffff, 'SOA serial');
      const t = (i: number, what: string): number => {
        if (f[i]!.quoted) fail(`bad SOA ${what} "${f[i]!.raw}"`);
        return parseTtl(f[i]!.raw, `SOA ${what}`, 0xffffffff);
      };
      return {
        type: 6,
        mname,
        rname,
        serial,
        refresh: t(3, 'refresh'),
        retry: t(4, 'retry'),
        expire: t(5, 'expire'),
        minimum: t(6, 'minimum'),
      };
    }
    case 13:
      return { type: 13, cpu: characterString(f[0]!), os: characterString(f[1]!) };
    case 15:
      return { type: 15, preference: uint(f[0], 65535, 'MX preference'), exchange: name(1) };
    case 16: {
      if (f.length === 0) fail('TXT needs at least 1 character-string');
      const strings = f.map(characterString);
      if (strings.reduce((n, s) => n + 1 + s.length, 0) > 65535) fail('TXT rdata longer than 65535 bytes');
      return { type: 16, strings };
    }
    case 33:
      return {
        type: 33,
        priority: uint(f[0], 65535, 'SRV priority'),
        weight: uint(f[1], 65535, 'SRV weight'),
        port: uint(f[2], 65535, 'SRV port'),
        target: name(3),
      };
    case 257: {
      const flags = uint(f[0], 255, 'CAA flags');
      const tag = f[1]!;
      // RFC 8659 §4.1: tags are 1-15 ASCII letters and digits.
      if (tag.quoted || !/^[A-Za-z0-9]{1,15}$/.test(tag.raw)) fail(`bad CAA tag "${tag.raw}"`);
      if (f[2]!.bytes.length > 65535 - 2 - tag.raw.length) fail('CAA value too long');
      return { type: 257, flags, tag: tag.raw, value: f[2]!.bytes };
    }
    default:
      return fail(`record type ${typeName(code)} needs RFC 3597 "\\#" rdata`);
  }
}

/** RFC 3597 `\# len hex...`. Known types are decoded so consumers see a single representation. */
function genericRData(code: number, f: Token[]): RData {
  const len = uint(f[1], 65535, '\\# length');
  const hex = f
    .slice(2)
    .map((t) => t.raw)
    .join('');
  if (!/^[0-9a-fA-F]*$/.test(hex) || f.slice(2).some((t) => t.quoted)) fail(`bad hex in \\# rdata "${hex.slice(0, 20)}"`);
  if (hex.length !== len * 2) fail(`\\# length ${len} but ${hex.length / 2} bytes of hex`);
  const data = Buffer.from(hex, 'hex');
  return code in ARITY || code === 16 ? fromWire(code, data) : { type: 'generic', code, data };
}

function fromWire(code: number, d: Buffer): RData {
  let p = 0;
  const need = (n: number): void => {
    if (p + n > d.length) fail(`${typeName(code)} \\# rdata too short`);
  };
  const u8 = (): number => (need(1), d[p++]!);
  const u16 = (): number => (need(2), (p += 2), d.readUInt16BE(p - 2));
  const u32 = (): number => (need(4), (p += 4), d.readUInt32BE(p - 4));
  const bytes = (n: number): Buffer => (need(n), (p += n), d.subarray(p - n, p));
  const str = (): Buffer => Buffer.from(bytes(u8()));
  const name = (): string => {
    const labels: string[] = [];
    for (let n = u8(); n !== 0; n = u8()) {
      if (n > 63) fail(`${typeName(code)} \\# rdata has a compressed or bad name`);
      const label = bytes(n).toString('latin1');
      if (/[^\x21-\x7e]|[.\\]/.test(label)) fail(`${typeName(code)} \\# rdata name needs escapes (not supported)`);
      labels.push(asciiLower(label));
    }
    return labels.length === 0 ? '.' : checkName(labels.join('.') + '.');
  };
  let r: RData;
  switch (code) {
    case 1:
      r = { type: 1, address: [...bytes(4)].join('.') };
      break;
    case 28: {
      const b = bytes(16);
      const groups = Array.from({ length: 8 }, (_, i) => b.readUInt16BE(i * 2).toString(16));
      r = { type: 28, address: new URL(`http://[${groups.join(':')}]/`).hostname.slice(1, -1) };
      break;
    }
    case 2:
    case 5:
    case 12:
      r = { type: code, target: name() };
      break;
    case 6:
      r = { type: 6, mname: name(), rname: name(), serial: u32(), refresh: u32(), retry: u32(), expire: u32(), minimum: u32() };
      break;
    case 13:
      r = { type: 13, cpu: str(), os: str() };
      break;
    case 15:
      r = { type: 15, preference: u16(), exchange: name() };
      break;
    case 16: {
      const strings: Buffer[] = [];
      while (p < d.length) strings.push(str());
      if (strings.length === 0) fail('TXT needs at least 1 character-string');
      r = { type: 16, strings };
      break;
    }
    case 33:
      r = { type: 33, priority: u16(), weight: u16(), port: u16(), target: name() };
      break;
    default: {
      const flags = u8();
      const tag = bytes(u8()).toString('latin1');
      if (!/^[A-Za-z0-9]{1,15}$/.test(tag)) fail(`bad CAA tag "${tag}"`);
      r = { type: 257, flags, tag, value: Buffer.from(bytes(d.length - p)) };
    }
  }
  if (p !== d.length) fail(`trailing garbage in ${typeName(code)} \\# rdata`);
  return r;
}

/** Parses master-file text. Never throws: every problem is returned in `errors`. */
export function parseZoneText(text: string, opts: ParseOptions): { records: ParsedRecord[]; errors: SourceError[] } {
  const records: ParsedRecord[] = [];
  const errors: SourceError[] = [];
  const apex = canonicalOrigin(opts.origin);
  let origin = apex;
  let dollarTtl: number | undefined;
  let soaMinimum: number | undefined;
  let lastOwner: string | undefined;
  // After a bad owner, blank-owner continuation lines would all say "no owner": pure noise.
  let ownerBroken = false;

  try {
    checkName(apex);
  } catch (e) {
    if (!(e instanceof ParseError)) throw e;
    // Line 0: the origin comes from the caller's config, not from any line of this file.
    errors.push({ file: opts.file, line: 0, reason: `bad zone origin: ${e.message}` });
  }

  for (const entry of tokenize(text)) {
    const line = entry.line;
    try {
      if (entry.error) {
        errors.push({ file: opts.file, line: entry.error.line, reason: entry.error.reason });
        if (!entry.blankOwner && entry.tokens[0] && !entry.tokens[0].raw.startsWith('$')) {
          lastOwner = undefined;
          ownerBroken = true;
        }
        continue;
      }
      const t = entry.tokens;
      const first = t[0]!;
      if (!entry.blankOwner && !first.quoted && first.raw.startsWith('$')) {
        const dir = first.raw.toUpperCase();
        if (dir === '$INCLUDE') fail('$INCLUDE is not supported');
        if (dir !== '$ORIGIN' && dir !== '$TTL') fail(`unknown directive "${first.raw}"`);
        if (t.length < 2) fail(`${dir} needs an argument`);
        if (t.length > 2) fail(`trailing garbage "${t[2]!.raw}" after ${dir}`);
        if (dir === '$ORIGIN') origin = absoluteName(t[1]!, origin);
        else dollarTtl = parseTtl(t[1]!.raw);
        continue;
      }

      let i = 0;
      let owner: string | undefined;
      if (entry.blankOwner) {
        owner = lastOwner;
        if (owner === undefined && !ownerBroken) fail('no owner name (first record starts with whitespace)');
      } else {
        i = 1;
        // Cleared first: if this name is bad, its continuation lines must not attach to an older owner.
        lastOwner = undefined;
        ownerBroken = true;
        owner = lastOwner = absoluteName(first, origin);
        ownerBroken = false;
      }

      let ttl: number | undefined;
      let cls: string | undefined;
      for (let tok = t[i]; tok !== undefined && !tok.quoted; tok = t[i]) {
        if (ttl === undefined && /^\d/.test(tok.raw)) ttl = parseTtl(tok.raw);
        else if (cls === undefined && isClass(tok.raw)) cls = tok.raw.toUpperCase();
        else break;
        i++;
      }
      if (cls !== undefined && cls !== 'IN') fail(`class "${cls}" not supported (only IN)`);

      const code = typeCode(t[i]);
      const fields = t.slice(i + 1);
      const rdata = fields[0] !== undefined && !fields[0].quoted && fields[0].raw === '\\#' ? genericRData(code, fields) : typedRData(code, fields, origin);

      // SOA minimum as last resort, like BIND; the SOA's own minimum applies to itself.
      if (rdata.type === 6 && soaMinimum === undefined) soaMinimum = rdata.minimum;
      ttl ??= dollarTtl ?? opts.defaultTtl ?? soaMinimum;
      if (ttl === undefined) fail('no TTL and no $TTL');
      if (owner !== undefined) records.push({ name: owner, ttl, type: code, rdata, line });
    } catch (e) {
      if (!(e instanceof ParseError)) throw e;
      errors.push({ file: opts.file, line, reason: e.message });
    }
  }
  return { records, errors };
}
