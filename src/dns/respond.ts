/**
 * The answer path shared by UDP and TCP: decode + guard -> prepared answer (cached) -> bytes.
 *
 * A prepared answer is the encoded answer/authority/additional sections for one (QNAME, QTYPE),
 * compressed against a question at offset 12. Because the question is copied verbatim from the
 * query and its length does not depend on letter case, the same bytes serve every client: the
 * per-packet work is one decode pass, two Map reads and three copies.
 * @module
 */
import { RRClass, RRType } from '../zone/types.js';
import { CLASSIC_UDP_LIMIT, EDNS_DO, Flag, HEADER_LEN, OPCODE_MASK, Rcode } from '../wire/constants.js';
import type { Edns, Query } from './query.js';
import { decodeQuery } from './query.js';
import { clientFromAddress, clientFromEcs } from '../routing/client.js';
import type { Decision, Service } from '../routing/service.js';
import type { ClientSampler } from '../routing/samples.js';
import { copyBytes, put16, put32 } from './bytes.js';
import { DnsStats } from './stats.js';
import { keyToName, lookup, type ZoneSet } from './lookup.js';
import type { Resolution } from '../zone/resolve.js';
import { MessageWriter } from './writer.js';
import type { ErrorCap } from './error-cap.js';
import { bucketOf, RrlAction, RrlKind, type ResponseRateLimiter } from './rrl.js';

export interface Prepared {
  /** AA bit and the low 4 bits of the rcode. */
  flags: number;
  an: number;
  ns: number;
  ar: number;
  body: Buffer;
  /** Byte length of the body without optional additional records (0 when none can be dropped). */
  minimalLength: number;
  /** Set for A/AAAA ending at a service name: its records are decided per client; `body` is the NODATA form. */
  service?: ServiceTail;
  /** The response's kind and RRL bucket (rrl.ts), named once when the answer is prepared. */
  rrl?: { kind: RrlKind; bucket: string };
}

/**
 * How a service's decision joins a prepared answer. Asked directly, the decision's records are the
 * whole answer; through in-zone CNAMEs (RFC 1034 §4.3.2 step 3a) they follow the chain, owned by the
 * service name where the last CNAME's RDATA spells it.
 */
export interface ServiceTail {
  service: Service;
  /** Bytes and RR count of the answer section before the service's records: the CNAME chain. */
  chainLength: number;
  chainCount: number;
  /** Message offset of the service name, for the records' owner pointer (12, the QNAME, when direct). */
  owner: number;
  /** Chain + decision bodies, built once per decision (decisions are cached per client subnet). */
  bodies: WeakMap<Decision, Buffer>;
}

export interface ResponderOptions {
  /** Our EDNS UDP payload size: advertised in our OPT and the ceiling for UDP answers. */
  udpSize: number;
  /** Answer CHAOS TXT version.bind / id.server. */
  chaos: boolean;
  /** Strings for the CHAOS answers. */
  version: string;
  identity: string;
  /** Upper bound of prepared answers kept; the cache is emptied when it is reached. */
  cacheEntries: number;
}

const ERROR_FLAGS_KEPT = OPCODE_MASK | Flag.RD | Flag.CD;
const ANSWER_FLAGS_KEPT = Flag.RD | Flag.CD;

/**
 * What the UDP listener limits, asked before a response is built. TCP passes none: a TCP client
 * has completed a handshake, so its address is not spoofed and its answers cannot be reflected.
 */
export interface UdpLimits {
  /** The per-netblock FORMERR/NOTIMP cap (`dns.errorRateLimit`); null = no cap. */
  errors: ErrorCap | null;
  /** Response rate limiting (`dns.rrl`); null = off. */
  rrl: ResponseRateLimiter | null;
}

const EMPTY = Buffer.alloc(0);

export class Responder {
  private zones: ZoneSet;
  private cache = new Map<number, Map<string, Prepared>>();
  private cached = 0;

  /** Recent service clients for admin dry runs; null = not kept. */
  clientSampler: ClientSampler | null = null;

  /**
   * `stats`: where the answer path counts; a subclass that counts nothing is the "without" of
   * bench/dns/accounting.bench.ts (what the per-query accounting costs). Production passes none.
   */
  constructor(
    zones: ZoneSet,
    private readonly opts: ResponderOptions,
    readonly stats: DnsStats = new DnsStats(),
  ) {
    this.zones = zones;
  }

  /** Swaps in new zone data; prepared answers of the old data are dropped with it. */
  setZones(zones: ZoneSet): void {
    this.zones = zones;
    this.cache = new Map();
    this.cached = 0;
  }

  /**
   * Answers one message. Returns null when the message must be dropped, or when a UDP limit
   * (`limits`: the error cap, RRL) keeps the response back; such a response is never built. Never
   * throws: an internal fault is SERVFAIL. Every response returned is counted by its rcode, so the
   * rcode counters count responses sent.
   */
  answer(msg: Buffer, isUdp: boolean, source = '127.0.0.1', limits: UdpLimits | null = null): Buffer | null {
    this.stats.queries++;
    if (!this.stats.timed()) return this.respond(msg, isUdp, source, limits);
    // One query in 16 is timed: two clock reads per answer would cost more than the 2 % of qps
    // the histogram may (src/dns/README.md, Metrics).
    const start = performance.now();
    const out = this.respond(msg, isUdp, source, limits);
    this.stats.observeLatency((performance.now() - start) / 1000);
    return out;
  }

  private respond(msg: Buffer, isUdp: boolean, source: string, limits: UdpLimits | null): Buffer | null {
    let decoded;
    try {
      decoded = decodeQuery(msg);
    } catch {
      this.stats.dropped++;
      return null;
    }
    if (decoded.kind === 'drop') {
      this.stats.dropped++;
      return null;
    }
    if (decoded.kind === 'error') return this.error(msg, decoded.id, decoded.flags, decoded.rcode, decoded.questionEnd, decoded.edns, source, limits);
    const q = decoded.query;
    this.stats.countQuery(q.qtype, q.edns?.ecs != null);
    try {
      return this.answerQuery(msg, q, isUdp, source, limits);
    } catch {
      this.stats.internalErrors++;
      return this.error(msg, q.id, q.flags, Rcode.SERVFAIL, q.questionEnd, q.edns, source, limits);
    }
  }

  /** An error response, unless a UDP limit keeps it back: then it is counted there, and never built. */
  private error(msg: Buffer, id: number, qflags: number, rcode: number, questionEnd: number, edns: Edns | null, source: string, limits: UdpLimits | null): Buffer | null {
    if (limits !== null) {
      if (limits.errors !== null && (rcode === Rcode.FORMERR || rcode === Rcode.NOTIMP) && !limits.errors.allow(source)) {
        if (rcode === Rcode.FORMERR) this.stats.formerrRateLimited++;
        else this.stats.notimpRateLimited++;
        return null;
      }
      // Errors are never slipped (rrl.ts): the answer is a drop, or the error itself.
      if (limits.rrl !== null && limits.rrl.check(source, RrlKind.error, ERROR_BUCKET) === RrlAction.drop) return null;
    }
    return this.errorResponse(msg, id, qflags, rcode, questionEnd, edns);
  }

  private answerQuery(msg: Buffer, q: Query, isUdp: boolean, source: string, limits: UdpLimits | null): Buffer | null {
    if (q.qclass !== RRClass.IN && q.qclass !== RRClass.ANY) {
      if (q.qclass === RRClass.CH && this.opts.chaos) return this.chaos(msg, q, source, limits);
      return this.error(msg, q.id, q.flags, Rcode.REFUSED, q.questionEnd, q.edns, source, limits);
    }
    if (q.qtype === RRType.AXFR || q.qtype === RRType.IXFR) {
      // A GSLB has no secondaries; transfers would also leak every service name (Zonemaster NS03).
      return this.error(msg, q.id, q.flags, Rcode.REFUSED, q.questionEnd, q.edns, source, limits);
    }
    if (q.qtype >= 128 && q.qtype <= 254) return this.error(msg, q.id, q.flags, Rcode.NOTIMP, q.questionEnd, q.edns, source, limits);
    let byType = this.cache.get(q.qtype);
    let prepared = byType?.get(q.key);
    if (!prepared) {
      prepared = this.prepare(q);
      if (this.cached >= this.opts.cacheEntries) {
        this.cache = new Map();
        this.cached = 0;
        byType = undefined;
      }
      if (!byType) this.cache.set(q.qtype, (byType = new Map()));
      byType.set(q.key, prepared);
      this.cached++;
    }
    const limit = isUdp ? (q.edns ? Math.min(q.edns.udpSize, this.opts.udpSize) : CLASSIC_UDP_LIMIT) : 65535;
    // Decided before the answer is built: a service's decision is the costly part of a response.
    const rrl = limits?.rrl ?? null;
    const action = rrl !== null && prepared.rrl ? rrl.check(source, prepared.rrl.kind, prepared.rrl.bucket) : RrlAction.send;
    if (action === RrlAction.drop) return null;
    if (prepared.service) return this.answerService(msg, q, prepared, prepared.service, source, limit, action === RrlAction.slip ? rrl : null);
    if (action === RrlAction.slip) return this.assemble(msg, q, slipped(prepared), limit, 0);
    return this.assemble(msg, q, prepared, limit, 0);
  }

  /**
   * A/AAAA of a service (maybe behind CNAMEs): the decision for this client, with its ECS scope.
   * `slipping` (RRL chose to slip this answer): a TC=1 answer, unless the decision is SERVFAIL,
   * which is known only once decided and, like every error, is leaked rather than slipped.
   */
  private answerService(msg: Buffer, q: Query, nodata: Prepared, tail: ServiceTail, source: string, limit: number, slipping: ResponseRateLimiter | null): Buffer {
    const ecs = q.edns?.ecs;
    // RFC 7871 §7.1.2: SOURCE PREFIX-LENGTH 0 opts out; tailor to the resolver and answer SCOPE 0.
    const subnet = ecs && ecs.sourcePrefix > 0 ? ecs : null;
    const qfamily = q.qtype === RRType.A ? 4 : 6;
    const sampler = this.clientSampler;
    const sample = sampler !== null && sampler.due();
    // A cached decision for an IPv4 ECS subnet is found from the option's bytes: no Client is built.
    let d = !sample && subnet !== null && subnet.family === 1 ? tail.service.cachedIpv4(subnet.address, qfamily) : undefined;
    if (d === undefined) {
      const client = subnet !== null ? clientFromEcs(subnet) : clientFromAddress(source);
      if (sample) sampler.keep(client);
      d = tail.service.decide(client, qfamily);
    }
    if (d.allDown) this.stats.allDown++;
    if (d.rcode === Rcode.SERVFAIL) {
      slipping?.leakedInstead();
      return this.errorResponse(msg, q.id, q.flags, Rcode.SERVFAIL, q.questionEnd, q.edns);
    }
    if (slipping) return this.assemble(msg, q, slipped(nodata), limit, 0);
    const scope = subnet !== null ? d.scope : 0;
    if (d.an === 0) return this.assemble(msg, q, nodata, limit, scope);
    this.stats.dynamic++;
    for (const cell of d.cells) cell.n++;
    const body = tail.chainCount === 0 ? d.body : chainBody(nodata.body, tail, d);
    return this.assemble(msg, q, { flags: Flag.AA, an: tail.chainCount + d.an, ns: 0, ar: 0, body, minimalLength: 0 }, limit, scope);
  }

  /** Resolves and encodes an answer that is not cached yet. */
  prepare(q: Query): Prepared {
    const found = lookup(this.zones, q.key, q.qtype);
    if (!found) return { flags: Rcode.REFUSED, an: 0, ns: 0, ar: 0, body: EMPTY, minimalLength: 0, rrl: { kind: RrlKind.error, bucket: ERROR_BUCKET } };
    const { qname, res } = found;
    const w = new MessageWriter(q.questionEnd);
    w.seedQuestion(q.key, qname, HEADER_LEN);
    for (const rr of res.answer) for (const rd of rr.rdatas) w.rr(rr.owner, rr.type, RRClass.IN, rr.ttl, rd);
    const chainLength = w.length;
    for (const rr of res.authority) for (const rd of rr.rdatas) w.rr(rr.owner, rr.type, RRClass.IN, rr.ttl, rd);
    const withoutAdditional = w.length;
    for (const rr of res.additional) for (const rd of rr.rdatas) w.rr(rr.owner, rr.type, RRClass.IN, rr.ttl, rd);
    const count = (list: typeof res.answer): number => list.reduce((n, rr) => n + rr.rdatas.length, 0);
    const service = res.dynamic === null ? undefined : this.zones.services.get(res.dynamic);
    return {
      flags: (res.aa ? Flag.AA : 0) | res.rcode,
      an: count(res.answer),
      ns: count(res.authority),
      ar: count(res.additional),
      body: w.bytes(),
      minimalLength: res.additional.length > 0 && !res.additionalRequired ? withoutAdditional : 0,
      ...(service ? { service: serviceTail(service, w, chainLength, count(res.answer)) } : {}),
      rrl: service ? { kind: RrlKind.answer, bucket: answerBucket(q) } : rrlBucket(q, found.zone.origin, res),
    };
  }

  private assemble(msg: Buffer, q: Query, p: Prepared, limit: number, scope: number): Buffer {
    const qEnd = q.questionEnd;
    const optLen = q.edns ? optLength(q.edns) : 0;
    let bodyLen = p.body.length;
    let an = p.an;
    let ns = p.ns;
    let ar = p.ar;
    let flags = p.flags;
    if (qEnd + bodyLen + optLen > limit) {
      if (p.minimalLength > 0 && qEnd + p.minimalLength + optLen <= limit) {
        bodyLen = p.minimalLength;
        ar = 0;
      } else {
        // RFC 2181 §9: TC with what fits; the header and question alone tell the client to retry on TCP.
        bodyLen = an = ns = ar = 0;
        flags |= Flag.TC;
        this.stats.truncated++;
      }
    }
    const out = Buffer.allocUnsafe(qEnd + bodyLen + optLen);
    put16(out, 0, q.id);
    put16(out, 2, Flag.QR | (q.flags & ANSWER_FLAGS_KEPT) | flags);
    put16(out, 4, 1);
    put16(out, 6, an);
    put16(out, 8, ns);
    put16(out, 10, ar + (q.edns ? 1 : 0));
    copyBytes(msg, HEADER_LEN, qEnd, out, HEADER_LEN);
    if (bodyLen > 0) out.set(bodyLen === p.body.length ? p.body : p.body.subarray(0, bodyLen), qEnd);
    if (q.edns) writeOpt(out, qEnd + bodyLen, q.edns, this.opts.udpSize, 0, scope);
    this.stats.countRcode(flags & 0xf);
    return out;
  }

  private errorResponse(msg: Buffer, id: number, qflags: number, rcode: number, questionEnd: number, edns: Edns | null): Buffer {
    this.stats.countRcode(rcode);
    const optLen = edns ? optLength({ ...edns, ecs: rcode === Rcode.BADVERS ? null : edns.ecs }) : 0;
    const qLen = questionEnd > 0 ? questionEnd - HEADER_LEN : 0;
    const out = Buffer.allocUnsafe(HEADER_LEN + qLen + optLen);
    out.writeUInt16BE(id, 0);
    out.writeUInt16BE(Flag.QR | (qflags & ERROR_FLAGS_KEPT) | (rcode & 0xf), 2);
    out.writeUInt16BE(qLen > 0 ? 1 : 0, 4);
    out.writeUInt32BE(0, 6);
    out.writeUInt16BE(edns ? 1 : 0, 10);
    if (qLen > 0) msg.copy(out, HEADER_LEN, HEADER_LEN, questionEnd);
    if (edns) {
      const echo = rcode === Rcode.BADVERS ? { ...edns, ecs: null } : edns;
      writeOpt(out, HEADER_LEN + qLen, echo, this.opts.udpSize, rcode >> 4, 0);
    }
    return out;
  }

  private chaos(msg: Buffer, q: Query, source: string, limits: UdpLimits | null): Buffer | null {
    const name = keyToName(q.key);
    const text = name === 'version.bind.' || name === 'version.server.' ? this.opts.version : name === 'id.server.' || name === 'hostname.bind.' ? this.opts.identity : null;
    if (text === null || (q.qtype !== RRType.TXT && q.qtype !== RRType.ANY)) {
      return this.error(msg, q.id, q.flags, Rcode.REFUSED, q.questionEnd, q.edns, source, limits);
    }
    const limit = q.edns ? Math.min(q.edns.udpSize, this.opts.udpSize) : CLASSIC_UDP_LIMIT;
    const action = limits?.rrl ? limits.rrl.check(source, RrlKind.answer, 'CH' + answerBucket(q)) : RrlAction.send;
    if (action === RrlAction.drop) return null;
    if (action === RrlAction.slip) return this.assemble(msg, q, slipped({ flags: Flag.AA }), limit, 0);
    const w = new MessageWriter(q.questionEnd);
    w.seedQuestion(q.key, name, HEADER_LEN);
    w.rr(name, RRType.TXT, RRClass.CH, 0, { type: 16, strings: [Buffer.from(text.slice(0, 255))] });
    const p: Prepared = { flags: Flag.AA, an: 1, ns: 0, ar: 0, body: w.bytes(), minimalLength: 0 };
    return this.assemble(msg, q, p, limit, 0);
  }
}

const ERROR_BUCKET = bucketOf(RrlKind.error, '');

/** A positive answer's RRL bucket: QNAME and QTYPE. */
function answerBucket(q: Query): string {
  return bucketOf(RrlKind.answer, q.key + String.fromCharCode(q.qtype));
}

/**
 * The RRL kind and bucket of a static resolution (BIND's classification): NXDOMAIN counts on the
 * zone, so random subnames of one parent are one bucket; NODATA on the QNAME, whatever the QTYPE;
 * a referral on the delegation point; an answer on QNAME + QTYPE.
 */
function rrlBucket(q: Query, zone: string, res: Resolution): { kind: RrlKind; bucket: string } {
  if (res.rcode === Rcode.NXDOMAIN) return { kind: RrlKind.nxdomain, bucket: bucketOf(RrlKind.nxdomain, zone) };
  if (res.rcode !== Rcode.NOERROR) return { kind: RrlKind.error, bucket: ERROR_BUCKET };
  // Answers synthesized from a wildcard count on the wildcard (BIND: as `*.origin`), so random
  // labels under it are one bucket, as random NXDOMAIN subnames are.
  const name = res.wildcard !== undefined ? '*' + res.wildcard : q.key;
  if (res.answer.length > 0) return { kind: RrlKind.answer, bucket: bucketOf(RrlKind.answer, name + String.fromCharCode(q.qtype)) };
  if (!res.aa && res.authority[0]) return { kind: RrlKind.referral, bucket: bucketOf(RrlKind.referral, res.authority[0].owner) };
  return { kind: RrlKind.nodata, bucket: bucketOf(RrlKind.nodata, name) };
}

/**
 * What a slipped response carries: header, question and OPT with TC=1, and the full answer's AA
 * and rcode (Knot's RRL test checks TC=1 and AA=1), so the client retries over TCP.
 */
function slipped(p: Pick<Prepared, 'flags'>): Prepared {
  return { flags: p.flags | Flag.TC, an: 0, ns: 0, ar: 0, body: EMPTY, minimalLength: 0 };
}

function serviceTail(service: Service, w: MessageWriter, chainLength: number, chainCount: number): ServiceTail {
  // Always found: the QNAME, or the last CNAME's target, written well below the 16 KiB pointer limit.
  const owner = w.offsetOf(service.def.name);
  if (owner === undefined) throw new Error(`${service.def.name} is not in the prepared message`);
  return { service, chainLength, chainCount, owner, bodies: new WeakMap() };
}

/** The CNAME chain, then the decision's records re-owned by the service name (one copy per decision). */
function chainBody(nodata: Buffer, tail: ServiceTail, d: Decision): Buffer {
  let body = tail.bodies.get(d);
  if (body) return body;
  body = Buffer.allocUnsafe(tail.chainLength + d.body.length);
  nodata.copy(body, 0, 0, tail.chainLength);
  d.body.copy(body, tail.chainLength);
  // encodeAddresses writes fixed-size records, each starting with a 2-byte owner pointer.
  const size = d.body.length / d.an;
  for (let p = tail.chainLength; p < body.length; p += size) put16(body, p, 0xc000 | tail.owner);
  tail.bodies.set(d, body);
  return body;
}

function optLength(edns: Edns): number {
  return 11 + (edns.ecs ? 8 + edns.ecs.address.length : 0);
}

/**
 * Our OPT RR: our UDP size, version 0, DO echoed (RFC 3225), every other flag cleared, no option
 * echoed except client-subnet (RFC 7871 §7.2.1: FAMILY, SOURCE and ADDRESS as received, our SCOPE).
 */
function writeOpt(out: Buffer, pos: number, edns: Edns, udpSize: number, extRcode: number, scope: number): void {
  out[pos] = 0;
  put16(out, pos + 1, 41);
  put16(out, pos + 3, udpSize);
  put32(out, pos + 5, ((extRcode & 0xff) << 24) | (edns.dnssecOk ? EDNS_DO : 0));
  const ecs = edns.ecs;
  if (!ecs) {
    put16(out, pos + 9, 0);
    return;
  }
  const a = ecs.address;
  put16(out, pos + 9, 8 + a.length);
  put16(out, pos + 11, 8);
  put16(out, pos + 13, 4 + a.length);
  put16(out, pos + 15, ecs.family);
  out[pos + 17] = ecs.sourcePrefix;
  out[pos + 18] = scope;
  copyBytes(a, 0, a.length, out, pos + 19);
}
