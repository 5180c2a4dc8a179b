/**
 * A service at run time: its compiled chain, the snapshots it reads, and a decision cache keyed
 * by client subnet so that the steady state costs one Map read per query.
 *
 * Cache rule: a decision is stored under the client's address masked to /24 (IPv4) or /56 (IPv6)
 * (bits a client did not send are zero), and only when its ECS scope is no longer than that mask:
 * then every client under the key provably gets the same decision. Decisions with a narrower scope
 * (a /28 geo network, say) are computed each time. The cache is emptied whenever the config or the
 * geo database is swapped, and when a region this service lists changes its answers (by-region.ts).
 *
 * In front of the IPv4 cache, a /16 level: a decision whose scope is /16 or shorter (most of the
 * IPv4 space lies in geo networks of /7 to /16) is stored under the client's /16 instead, so a
 * resolver population's misses in that /16 cost one Map read, no geo lookup and no per-/24 entry.
 *
 * Behind it, on a miss, a second cache keyed by the geo network that matched (the reader's shared
 * result object): a decision whose scope is no longer than that network's prefix depended on no bit
 * past it (the scope is the widest prefix any input read), so every client in the network gets it,
 * whatever /24 it is in. A miss then costs the geo lookup and two Map operations, and the chain runs
 * once per network (per query family) rather than once per /24. Sticky or weighted hashing among
 * several regions reads the client's /24 and so raises the scope past a wider network: such decisions
 * stay per /24, as before.
 * @module
 */
import { Rcode } from '../wire/constants.js';
import { ipv6Bytes } from '../wire/address.js';
import type { GeoResult } from '../geo/types.js';
import type { HealthSnapshot } from '../health/snapshot.js';
import { runChain, type CompiledChain } from '../policy/chain.js';
import { stringHash } from '../policy/hash.js';
import { clientText } from './client.js';
import { WideCache } from './wide-cache.js';
import type { Client, Region } from '../policy/types.js';

export interface GeoLookup {
  lookupBytes(family: 1 | 2, bytes: Uint8Array): GeoResult | null;
  /** Width of the empty network after a lookup that returned null (GeoDatabase provides it). */
  readonly missPrefixLength?: number;
}

export interface ServiceDefinition {
  /** Absolute lower-case name with trailing dot. */
  name: string;
  ttl: number;
  regions: Region[];
  /** How many regions' addresses an answer carries (multivalue overrides it). */
  answers: number;
  chain: CompiledChain;
  /** Addresses of draining regions and their lowered TTL (src/admin/drain.ts); absent when none drains. */
  drainTtls?: Map<string, number>;
}

export interface Decision {
  rcode: number;
  /** Answer RRs, owner compressed to the QNAME at offset 12. */
  body: Buffer;
  an: number;
  scope: number;
  addresses: string[];
  allDown: boolean;
  /** One cell per region the addresses come from (ServiceEnv.tally; empty without one): the answer path bumps them. */
  cells: AnswerCell[];
}

/** A counter a decision carries, so counting an answer is one increment. */
export interface AnswerCell {
  n: number;
}

/** How the decision caches did, and answers by service and region (DnsStats in `serve`; src/dns/README.md, Metrics). */
export interface DecisionTally {
  /** Cache hits: the client's /16 or /24 (IPv6: /56). */
  decisionHits: number;
  /** Per-/24 misses the geo network's cache answered. */
  decisionNetworkHits: number;
  /** Per-/24 misses that ran the chain. */
  decisionMisses: number;
  /** The cell of `service`'s answers from `region`, the same one for every config version. */
  answerCell(service: string, region: string): AnswerCell;
}

/** Work done on decision-cache misses, summed over services (DnsStats holds them in `serve`). */
export interface DecisionCounters {
  /** Policy chain runs (explain's included). */
  decisions: number;
  /** Geo database lookups. */
  geoLookups: number;
}

export interface ServiceEnv {
  geo(): GeoLookup | null;
  health(): HealthSnapshot;
  counters?: DecisionCounters;
  tally?: DecisionTally;
  /** Called when a freshly computed decision is an all-down one, and when that state changes. */
  onAllDown?(service: string, family: 4 | 6, allDown: boolean, changed: boolean): void;
}

const CACHE_BITS = { 4: 24, 6: 56 } as const;
const MAX_CACHED = 200_000;
/** The IPv4 level in front of the per-/24 cache: decisions that hold for a whole /16 (see the module comment). */
const WIDE_BITS = 16;

export class Service {
  readonly salt: number;
  private readonly cache = { 4: new Map<number, Decision>(), 6: new Map<string, Decision>() };
  /** IPv4 decisions whose scope is /16 or shorter, by the client's /16 and the query family (wide-cache.ts). */
  private readonly wide = new WideCache<Decision>();
  /** By the geo network that decided, per query family (see the module comment). */
  private readonly byNetwork = { 4: new Map<GeoResult, Decision>(), 6: new Map<GeoResult, Decision>() };
  /** Set by `locate`: the prefix the geo step depends on (read right after it, nothing runs between). */
  private geoPrefix = 0;
  private readonly lastAllDown = { 4: false, 6: false };
  /** `tally`'s cells by region id, fetched once per service. */
  private readonly cells = new Map<string, AnswerCell>();

  constructor(
    readonly def: ServiceDefinition,
    private readonly env: ServiceEnv,
  ) {
    this.salt = stringHash(def.name);
  }

  clearCache(): void {
    this.wide.clear();
    this.cache[4].clear();
    this.cache[6].clear();
    this.byNetwork[4].clear();
    this.byNetwork[6].clear();
  }

  /** The decision for a client and query family, from the cache when it may be. */
  decide(client: Client, qfamily: 4 | 6): Decision {
    if (client.family === 4) return this.cachedIpv4(client.bytes, qfamily) ?? this.missIpv4(client, qfamily);
    let key = String.fromCharCode(qfamily);
    for (let i = 0; i < 7; i++) key += String.fromCharCode(client.bytes[i]!);
    let d = this.cache[6].get(key);
    if (!d) {
      d = this.miss(client, qfamily);
      if (d.scope <= CACHE_BITS[6]) this.store(this.cache[6], key, d);
    } else if (this.env.tally) this.env.tally.decisionHits++;
    return d;
  }

  /**
   * The cached decision for an IPv4 client given by its address bytes, or undefined. The responder
   * asks this first with the ECS option's bytes as sent (shorter than 4 when the source prefix is:
   * the missing bytes are zero), so a hit builds no Client.
   */
  cachedIpv4(b: Uint8Array, qfamily: 4 | 6): Decision | undefined {
    const b0 = b[0] ?? 0;
    const b1 = b[1] ?? 0;
    const fam = qfamily === 4 ? 0 : 1;
    const d = this.wide.get((((b0 << 8) | b1) << 1) | fam) ?? this.cache[4].get(((((b0 << 16) | (b1 << 8) | (b[2] ?? 0)) >>> 0) << 1) + fam);
    if (d !== undefined && this.env.tally) this.env.tally.decisionHits++;
    return d;
  }

  private missIpv4(client: Client, qfamily: 4 | 6): Decision {
    const b = client.bytes;
    const fam = qfamily === 4 ? 0 : 1;
    const d = this.miss(client, qfamily);
    // A decision that holds for the whole /16 goes to the /16 level only: the next miss in that
    // /16 then costs one read (no geo lookup, no per-/24 entry to insert and later evict).
    if (d.scope <= WIDE_BITS) this.wide.set((((b[0]! << 8) | b[1]!) << 1) | fam, d);
    else if (d.scope <= CACHE_BITS[4]) this.store(this.cache[4], ((((b[0]! << 16) | (b[1]! << 8) | b[2]!) >>> 0) << 1) + fam, d);
    return d;
  }

  private store<K>(map: Map<K, Decision>, key: K, d: Decision): void {
    if (map.size >= MAX_CACHED) map.clear();
    map.set(key, d);
  }

  /** A per-/24 (or /56) miss: the decision of the client's geo network when it holds for all of it, else the chain. */
  private miss(client: Client, qfamily: 4 | 6): Decision {
    const tally = this.env.tally;
    if (!this.def.chain.needsGeo) return this.missRun(client, qfamily, null, 0);
    const geo = this.locate(client);
    const prefix = this.geoPrefix;
    if (geo === null) return this.missRun(client, qfamily, null, prefix);
    const byNetwork = this.byNetwork[qfamily];
    let d = byNetwork.get(geo);
    if (d === undefined) {
      d = this.missRun(client, qfamily, geo, prefix);
      if (d.scope <= prefix) this.store(byNetwork, geo, d);
    } else if (tally) tally.decisionNetworkHits++;
    return d;
  }

  /** A miss of both caches: the chain runs. */
  private missRun(client: Client, qfamily: 4 | 6, geo: GeoResult | null, prefix: number): Decision {
    if (this.env.tally) this.env.tally.decisionMisses++;
    return this.run(client, qfamily, geo, prefix, null);
  }

  /** Looks the client up and sets `geoPrefix`. */
  private locate(client: Client): GeoResult | null {
    const db = this.env.geo();
    if (this.env.counters) this.env.counters.geoLookups++;
    const geo = db ? db.lookupBytes(client.family === 4 ? 1 : 2, client.bytes) : null;
    // The answer depends on the bits of the database network, whatever the client sent: a scope
    // longer than the ECS source is legal (RFC 7871 §7.2.1) and is the truth here. Without a
    // record it is the width of the empty space around the address, when the reader knows it,
    // else the whole address (always correct, never cached).
    this.geoPrefix = geo ? geo.prefixLength : (db?.missPrefixLength ?? (client.family === 4 ? 32 : 128));
    return geo;
  }

  /** Runs the chain, no cache involved; with a trace array this is `explain`. */
  compute(client: Client, qfamily: 4 | 6, trace: string[] | null): Decision {
    if (!this.def.chain.needsGeo) return this.run(client, qfamily, null, 0, trace);
    const geo = this.locate(client);
    const db = this.env.geo();
    trace?.push(
      geo
        ? `geo: ${geo.network} -> continent ${geo.continent ?? '?'}, country ${geo.country ?? '?'}${geo.subdivision ? `, subdivision ${geo.subdivision}` : ''}${geo.lat !== null ? `, ${geo.lat},${geo.lon}` : ''}`
        : `geo: no record for ${clientText(client)}${db ? '' : ' (no geo database loaded)'}`,
    );
    return this.run(client, qfamily, geo, this.geoPrefix, trace);
  }

  private run(client: Client, qfamily: 4 | 6, geo: GeoResult | null, geoPrefix: number, trace: string[] | null): Decision {
    if (this.env.counters) this.env.counters.decisions++;
    trace?.push(`candidates: ${this.def.regions.map((r) => `${r.id} (weight ${r.weight}, ${this.env.health().region(r.id)})`).join(', ')}`);
    const { state, addresses, regions } = runChain(this.def.chain, {
      regions: this.def.regions,
      answers: this.def.answers,
      client,
      geo,
      geoPrefix,
      health: this.env.health(),
      qfamily,
      salt: this.salt,
      trace,
    });
    const scope = state.scope;
    if (!trace) this.noteAllDown(qfamily, state.allDown);
    // Every region of the service being down is the same for every client, and an error reply
    // carries SCOPE 0 (respond.ts): say so, so explain reports the scope the client gets.
    if (state.servfail) return { rcode: Rcode.SERVFAIL, body: Buffer.alloc(0), an: 0, scope: 0, addresses: [], allDown: true, cells: [] };
    const cells = trace || !this.env.tally ? [] : regions.map((r) => this.cellOf(r));
    return { rcode: Rcode.NOERROR, body: encodeAddresses(addresses, qfamily, this.ttlFor(addresses)), an: addresses.length, scope, addresses, allDown: state.allDown, cells };
  }

  private cellOf(region: string): AnswerCell {
    let cell = this.cells.get(region);
    if (!cell) this.cells.set(region, (cell = this.env.tally!.answerCell(this.def.name, region)));
    return cell;
  }

  /** The service TTL, or the lowest drain TTL of the addresses in the answer. */
  ttlFor(addresses: string[]): number {
    let ttl = this.def.ttl;
    if (this.def.drainTtls) for (const a of addresses) ttl = Math.min(ttl, this.def.drainTtls.get(a) ?? ttl);
    return ttl;
  }

  private noteAllDown(family: 4 | 6, allDown: boolean): void {
    const changed = this.lastAllDown[family] !== allDown;
    this.lastAllDown[family] = allDown;
    if (allDown || changed) this.env.onAllDown?.(this.def.name, family, allDown, changed);
  }
}

/** A/AAAA records owned by the QNAME (pointer 0xC00C), so one body serves every spelling of it. */
export function encodeAddresses(addresses: string[], family: 4 | 6, ttl: number): Buffer {
  const rdlen = family === 4 ? 4 : 16;
  const out = Buffer.alloc(addresses.length * (12 + rdlen));
  let p = 0;
  for (const a of addresses) {
    out.writeUInt16BE(0xc00c, p);
    out.writeUInt16BE(family === 4 ? 1 : 28, p + 2);
    out.writeUInt16BE(1, p + 4);
    out.writeUInt32BE(ttl, p + 6);
    out.writeUInt16BE(rdlen, p + 10);
    if (family === 4) {
      const parts = a.split('.');
      for (let i = 0; i < 4; i++) out[p + 12 + i] = Number(parts[i]);
    } else {
      ipv6Bytes(a).copy(out, p + 12);
    }
    p += 12 + rdlen;
  }
  return out;
}
