/**
 * Record model shared by the zone-file parser, the zone validator and the zone compiler.
 *
 * Names are absolute, in presentation form, lower-cased, with a trailing dot (`www.example.com.`);
 * the root is `.`. Case is folded at parse time because DNS names compare case-insensitively
 * (RFC 4343) and answers echo the client's QNAME case from the question, not ours.
 * @module
 */

/** RR type numbers Meridian knows by name (IANA registry). */
export const RRType = {
  A: 1,
  NS: 2,
  CNAME: 5,
  SOA: 6,
  PTR: 12,
  HINFO: 13,
  MX: 15,
  TXT: 16,
  AAAA: 28,
  SRV: 33,
  OPT: 41,
  CAA: 257,
  // Meta types (queries only)
  IXFR: 251,
  AXFR: 252,
  MAILB: 253,
  MAILA: 254,
  ANY: 255,
} as const;
export type RRTypeName = keyof typeof RRType;

export const RRClass = { IN: 1, CH: 3, HS: 4, NONE: 254, ANY: 255 } as const;

export type RData =
  | { type: 1; address: string } // A, dotted quad
  | { type: 28; address: string } // AAAA, any RFC 4291 text form
  | { type: 2 | 5 | 12; target: string } // NS, CNAME, PTR
  | {
      type: 6;
      mname: string;
      rname: string;
      serial: number;
      refresh: number;
      retry: number;
      expire: number;
      minimum: number;
    }
  | { type: 13; cpu: Buffer; os: Buffer } // HINFO character-strings
  | { type: 15; preference: number; exchange: string } // MX
  | { type: 16; strings: Buffer[] } // TXT character-strings (each <= 255 bytes)
  | { type: 33; priority: number; weight: number; port: number; target: string } // SRV
  | { type: 257; flags: number; tag: string; value: Buffer } // CAA
  | { type: 'generic'; code: number; data: Buffer }; // RFC 3597 \# form, any other type

export interface ParsedRecord {
  /** Absolute lower-case owner name with trailing dot. */
  name: string;
  ttl: number;
  /** Numeric RR type (RData.type, or RData.code for generic data). */
  type: number;
  rdata: RData;
  /** 1-based line of the record's first token in its file, for `file:line: reason` errors. */
  line: number;
}

// The `file:line: reason` form is shared with the YAML loader, so it lives in the config leaf.
export { formatSourceError, type SourceError } from '../config/source-error.js';
