/**
 * Authoritative resolution of one question against one compiled zone (RFC 1034 §4.3.2 with
 * RFC 4592 wildcards, RFC 2308 negative answers, RFC 6604 CNAME-chain rcodes, RFC 8482 ANY).
 *
 * Pure and allocation-happy on purpose: it runs only when an answer is not yet in the prepared
 * answer cache, and its result is encoded once and reused.
 * @module
 */
import { Rcode } from '../wire/constants.js';
import type { RData } from './types.js';
import { RRType } from './types.js';
import type { RRset, Zone, ZoneNode } from './zone.js';
import { isAtOrBelow, parentName } from './zone.js';
// Longest in-zone CNAME chain we follow; loops are cut by the visited set first (chains.ts warns of both).
import { MAX_CNAME_CHAIN } from './chains.js';

/** An RRset as it appears in a message: the owner may be a wildcard's synthesized name. */
export interface RRInstance {
  owner: string;
  type: number;
  ttl: number;
  rdatas: RData[];
}

export interface Resolution {
  rcode: number;
  aa: boolean;
  answer: RRInstance[];
  authority: RRInstance[];
  additional: RRInstance[];
  /** Referral glue must fit or the answer is truncated; other additional data may be dropped. */
  additionalRequired: boolean;
  /**
   * Set when an A/AAAA lookup ends at a service name (directly or through in-zone CNAMEs): that
   * name's addresses are decided per client and go after `answer`. The sections hold the NODATA
   * form (answer = the CNAME chain, authority = the SOA), which is the reply when the decision has
   * no address of the family.
   */
  dynamic: string | null;
  /** The wildcard owner (`*.apps.example.com.`) when the QNAME itself was synthesized from one (RFC 4592). */
  wildcard?: string;
}

/** RFC 8482 §4.2: a synthesized HINFO answers ANY; gdnsd uses the same text and TTL. */
const ANY_HINFO: RData = { type: 13, cpu: Buffer.from('RFC8482'), os: Buffer.alloc(0) };
const ANY_HINFO_TTL = 3600;

const instance = (set: RRset, owner = set.owner): RRInstance => ({
  owner,
  type: set.type,
  ttl: set.ttl,
  rdatas: set.rdatas,
});

/** The nearest zone cut strictly below the apex on the way to `name`, or null. */
function findCut(zone: Zone, name: string): ZoneNode | null {
  if (name === zone.origin) return null;
  const path: string[] = [];
  for (let p = name; p !== zone.origin; p = parentName(p)) path.push(p);
  for (let i = path.length - 1; i >= 0; i--) {
    const n = zone.nodes.get(path[i]!);
    if (!n) return null; // nothing exists below a missing name
    if (n.cut) return n;
  }
  return null;
}

function addTargetAddresses(zone: Zone, target: string, out: RRInstance[], allowBelowCut: boolean): void {
  if (!isAtOrBelow(target, zone.origin)) return; // no out-of-zone data (NSD confine-to-zone)
  if (!allowBelowCut && findCut(zone, target)) return;
  const n = zone.nodes.get(target);
  if (!n) return;
  for (const t of [RRType.A, RRType.AAAA]) {
    const set = n.rrsets.get(t);
    if (set && !out.some((o) => o.owner === target && o.type === t)) out.push(instance(set));
  }
}

function additionalFor(zone: Zone, set: RRInstance, out: RRInstance[]): void {
  for (const rd of set.rdatas) {
    if (rd.type === RRType.NS) addTargetAddresses(zone, rd.target, out, false);
    else if (rd.type === RRType.MX) addTargetAddresses(zone, rd.exchange, out, false);
    else if (rd.type === RRType.SRV) addTargetAddresses(zone, rd.target, out, false);
  }
}

function referral(zone: Zone, cut: ZoneNode, res: Resolution): Resolution {
  const ns = cut.rrsets.get(RRType.NS)!;
  res.aa = false;
  res.authority.push(instance(ns));
  for (const rd of ns.rdatas) {
    if (rd.type === RRType.NS && isAtOrBelow(rd.target, cut.name)) {
      addTargetAddresses(zone, rd.target, res.additional, true);
    }
  }
  res.additionalRequired = res.additional.length > 0;
  return res;
}

function negative(zone: Zone, res: Resolution, rcode: number): Resolution {
  res.rcode = rcode;
  res.authority.push(instance(zone.negativeSoa));
  return res;
}

/** Finds the node for `name`, synthesizing from a wildcard at the closest encloser when absent. */
function findNode(zone: Zone, name: string): ZoneNode | null {
  const exact = zone.nodes.get(name);
  if (exact) return exact;
  let ce = parentName(name);
  while (!zone.nodes.has(ce) && ce !== zone.origin) ce = parentName(ce);
  return zone.nodes.get('*.' + (ce === '.' ? '' : ce)) ?? null;
}

/**
 * @param dynamic names whose A/AAAA answers are computed per client (services). A CNAME chain is
 *   followed into one like into any other in-zone name (RFC 1034 §4.3.2 step 3a): for A/AAAA the
 *   result is marked `dynamic`; other types get the zone's data at that name. Such a name owns
 *   address data, so ANY there is answered with the RFC 8482 HINFO, never NODATA.
 */
export function resolve(zone: Zone, qname: string, qtype: number, dynamic?: { has(name: string): boolean }): Resolution {
  const res: Resolution = { rcode: Rcode.NOERROR, aa: true, answer: [], authority: [], additional: [], additionalRequired: false, dynamic: null };
  const visited = new Set<string>();
  let name = qname;
  for (let hop = 0; hop < MAX_CNAME_CHAIN; hop++) {
    visited.add(name);
    const cut = findCut(zone, name);
    // DS lives on the parent side of a cut (RFC 4035 §3.1.4.1), so a DS query at the cut is ours.
    if (cut && !(qtype === 43 && cut.name === name)) {
      return hop === 0 ? referral(zone, cut, res) : res;
    }
    const node = findNode(zone, name);
    if (!node) return negative(zone, res, Rcode.NXDOMAIN);
    if (hop === 0 && node.name !== name) res.wildcard = node.name;
    const cname = node.rrsets.get(RRType.CNAME);
    if (cname && qtype !== RRType.CNAME) {
      res.answer.push(instance(cname, name));
      const target = (cname.rdatas[0] as { target: string }).target;
      if (!isAtOrBelow(target, zone.origin) || visited.has(target)) return res;
      name = target;
      continue;
    }
    const isDynamic = dynamic?.has(name) === true;
    if (isDynamic && (qtype === RRType.A || qtype === RRType.AAAA)) {
      res.dynamic = name;
      return negative(zone, res, Rcode.NOERROR);
    }
    if (qtype === RRType.ANY) {
      if (node.rrsets.size === 0 && !isDynamic) return negative(zone, res, Rcode.NOERROR);
      res.answer.push({ owner: name, type: RRType.HINFO, ttl: ANY_HINFO_TTL, rdatas: [ANY_HINFO] });
      return res;
    }
    const set = node.rrsets.get(qtype);
    if (!set) return negative(zone, res, Rcode.NOERROR);
    const inst = instance(set, name);
    res.answer.push(inst);
    additionalFor(zone, inst, res.additional);
    return res;
  }
  return res;
}
