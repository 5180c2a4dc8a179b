/**
 * Compiled zone: nodes indexed by owner name, with RRsets by type, empty non-terminals and zone cuts
 * marked, so that every lookup is a handful of Map reads proportional to the label count.
 * @module
 */
import type { ParsedRecord, RData } from './types.js';
import { RRType } from './types.js';

export interface RRset {
  owner: string;
  type: number;
  ttl: number;
  rdatas: RData[];
}

export interface ZoneNode {
  name: string;
  rrsets: Map<number, RRset>;
  /** NS records at a non-apex name: everything at and below it is answered with a referral. */
  cut: boolean;
}

export interface Zone {
  origin: string;
  nodes: Map<string, ZoneNode>;
  soa: RRset;
  /** SOA for negative answers, with TTL = min(SOA TTL, SOA MINIMUM) (RFC 2308 §5). */
  negativeSoa: RRset;
}

/**
 * Parent of an absolute name (`a.b.` -> `b.`, `b.` -> `.`). Query names reach here in presentation
 * form with `\.` and `\DDD` escapes (see keyToName), so an escaped dot is part of its label.
 */
export function parentName(name: string): string {
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i);
    if (c === 0x5c) i += isDigit(name.charCodeAt(i + 1)) ? 3 : 1;
    else if (c === 0x2e) return i === name.length - 1 ? '.' : name.slice(i + 1);
  }
  return '.';
}

const isDigit = (c: number): boolean => c >= 0x30 && c <= 0x39;

/** True when the character at `i` is preceded by an odd run of backslashes (so it is escaped). */
function isEscaped(name: string, i: number): boolean {
  let n = 0;
  while (i - 1 - n >= 0 && name.charCodeAt(i - 1 - n) === 0x5c) n++;
  return n % 2 === 1;
}

export function isAtOrBelow(name: string, origin: string): boolean {
  if (origin === '.' || name === origin) return true;
  const dot = name.length - origin.length - 1;
  return dot >= 0 && name.endsWith(origin) && name.charCodeAt(dot) === 0x2e && !isEscaped(name, dot);
}

/**
 * Builds a zone from records that already passed parse and validateZone. `extraNames` (service
 * names) get nodes even without records, so their other types are NODATA rather than NXDOMAIN.
 */
export function compileZone(origin: string, records: ParsedRecord[], extraNames: string[] = []): Zone {
  const nodes = new Map<string, ZoneNode>();
  const node = (name: string): ZoneNode => {
    let n = nodes.get(name);
    if (!n) {
      n = { name, rrsets: new Map(), cut: false };
      nodes.set(name, n);
    }
    return n;
  };
  node(origin);
  for (const r of records) {
    const n = node(r.name);
    let set = n.rrsets.get(r.type);
    if (!set) {
      set = { owner: r.name, type: r.type, ttl: r.ttl, rdatas: [] };
      n.rrsets.set(r.type, set);
    }
    set.rdatas.push(r.rdata);
    // Empty non-terminals exist (RFC 4592 §2.2.2): a query for one gets NODATA, not NXDOMAIN.
    for (let p = r.name; p !== origin && isAtOrBelow(p, origin);) {
      p = parentName(p);
      node(p);
    }
  }
  for (const name of extraNames) {
    node(name);
    for (let p = name; p !== origin && isAtOrBelow(p, origin);) {
      p = parentName(p);
      node(p);
    }
  }
  for (const n of nodes.values()) n.cut = n.name !== origin && n.rrsets.has(RRType.NS);
  const soa = nodes.get(origin)?.rrsets.get(RRType.SOA);
  if (!soa || soa.rdatas[0]?.type !== RRType.SOA) throw new Error(`zone ${origin} has no SOA`);
  const negativeTtl = Math.min(soa.ttl, soa.rdatas[0].minimum);
  return { origin, nodes, soa, negativeSoa: { ...soa, ttl: negativeTtl } };
}
