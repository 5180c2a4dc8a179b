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

/** Parent of an absolute name (`a.b.` -> `b.`, `b.` -> `.`). */
export function parentName(name: string): string {
  const dot = name.indexOf('.');
  return dot === name.length - 1 ? '.' : name.slice(dot + 1);
}

export function isAtOrBelow(name: string, origin: string): boolean {
  return origin === '.' || name === origin || name.endsWith('.' + origin);
}

/** Builds a zone from records that already passed parse and validateZone. */
export function compileZone(origin: string, records: ParsedRecord[]): Zone {
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
    for (let p = r.name; p !== origin && isAtOrBelow(p, origin); ) {
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
