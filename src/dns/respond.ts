/**
 * The answer path shared by UDP and TCP: decode + guard -> prepared answer (cached) -> bytes.
 *
 * A prepared answer is the encoded answer/authority/additional sections for one (QNAME, QTYPE),
 * compressed against a question at offset 12. Because the question is copied verbatim from the
 * query and its length does not depend on letter case, the same bytes serve every client: the
 * per-packet work is one decode pass, two Map reads and three copies.
 * @module
 */
import { resolve } from '../zone/resolve.js';
import { RRClass, RRType } from '../zone/types.js';
import type { Zone } from '../zone/zone.js';
import { CLASSIC_UDP_LIMIT, EDNS_DO, Flag, HEADER_LEN, OPCODE_MASK, Rcode } from './constants.js';
import type { Edns, Query } from './query.js';
import { decodeQuery } from './query.js';
import { clientFromAddress, clientFromEcs } from '../routing/client.js';
import type { Service } from '../routing/service.js';
import type { ClientSampler } from '../routing/samples.js';
import { copyBytes, put16, put32 } from './bytes.js';
import { DnsStats } from './stats.js';
import { MessageWriter } from './writer.js';

export interface Prepared {
  /** AA bit and the low 4 bits of the rcode. */
  flags: number;
  an: number;
  ns: number;
  ar: number;
  body: Buffer;
  /** Byte length of the body without optional additional records (0 when none can be dropped). */
  minimalLength: number;
  /** Set for A/AAAA at a service name: the answer is decided per client; `body` is its NODATA. */
  service?: Service;
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

/** Immutable zone data the responder reads; swapped whole on reload. */
export interface ZoneSet {
  /** Zone apex wire key (see nameKey) -> zone. */
  byKey: Map<string, Zone>;
  /** Service name (absolute, lower case) -> service, whose A/AAAA answers are per client. */
  services: Map<string, Service>;
}

const ERROR_FLAGS_KEPT = OPCODE_MASK | Flag.RD | Flag.CD;
const ANSWER_FLAGS_KEPT = Flag.RD | Flag.CD;

/** Presentation form of a wire key; dots, backslashes and non-printables escaped (RFC 4343 §2.1). */
export function keyToName(key: string): string {
  if (key === '') return '.';
  let out = '';
  for (let i = 0; i < key.length; ) {
    const len = key.charCodeAt(i);
    for (let j = i + 1; j <= i + len; j++) {
      const c = key.charCodeAt(j);
      if (c === 0x2e || c === 0x5c) out += '\\' + key[j];
      else if (c <= 0x20 || c >= 0x7f) out += '\\' + String(c).padStart(3, '0');
      else out += key[j];
    }
    out += '.';
    i += len + 1;
  }
  return out;
}

/** Whether one more FORMERR/NOTIMP response may be sent now (the UDP error-response rate limit). */
export type ErrorGate = () => boolean;

export class Responder {
  readonly stats = new DnsStats();
  private zones: ZoneSet;
  private cache = new Map<number, Map<string, Prepared>>();
  private cached = 0;

  /** Recent service clients for admin dry runs; null = not kept. */
  clientSampler: ClientSampler | null = null;

  constructor(zones: ZoneSet, private readonly opts: ResponderOptions) {
    this.zones = zones;
  }

  /** Swaps in new zone data; prepared answers of the old data are dropped with it. */
  setZones(zones: ZoneSet): void {
    this.zones = zones;
    this.cache = new Map();
    this.cached = 0;
  }

  /**
   * Answers one message. `transportLimit` is 65535 for TCP and the datagram ceiling for UDP.
   * Returns null when the message must be dropped, or when `errorGate` (the UDP error-response rate
   * limit) keeps a FORMERR/NOTIMP back. Never throws: an internal fault is SERVFAIL. Every response
   * returned is counted by its rcode, so the rcode counters count responses sent.
   */
  answer(msg: Buffer, isUdp: boolean, source = '127.0.0.1', errorGate: ErrorGate | null = null): Buffer | null {
    this.stats.queries++;
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
    if (decoded.kind === 'error') {
      if (this.keptBack(decoded.rcode, errorGate)) return null;
      return this.errorResponse(msg, decoded.id, decoded.flags, decoded.rcode, decoded.questionEnd, decoded.edns);
    }
    const q = decoded.query;
    try {
      return this.answerQuery(msg, q, isUdp, source, errorGate);
    } catch {
      this.stats.internalErrors++;
      return this.errorResponse(msg, q.id, q.flags, Rcode.SERVFAIL, q.questionEnd, q.edns);
    }
  }

  /** A FORMERR or NOTIMP the gate refuses is counted as rate limited, and never built or sent. */
  private keptBack(rcode: number, gate: ErrorGate | null): boolean {
    if (gate === null || (rcode !== Rcode.FORMERR && rcode !== Rcode.NOTIMP) || gate()) return false;
    if (rcode === Rcode.FORMERR) this.stats.formerrRateLimited++;
    else this.stats.notimpRateLimited++;
    return true;
  }

  private answerQuery(msg: Buffer, q: Query, isUdp: boolean, source: string, errorGate: ErrorGate | null): Buffer | null {
    if (q.qclass !== RRClass.IN && q.qclass !== RRClass.ANY) {
      if (q.qclass === RRClass.CH && this.opts.chaos) return this.chaos(msg, q);
      return this.errorResponse(msg, q.id, q.flags, Rcode.REFUSED, q.questionEnd, q.edns);
    }
    if (q.qtype === RRType.AXFR || q.qtype === RRType.IXFR) {
      // A GSLB has no secondaries; transfers would also leak every service name (Zonemaster NS03).
      return this.errorResponse(msg, q.id, q.flags, Rcode.REFUSED, q.questionEnd, q.edns);
    }
    if (q.qtype >= 128 && q.qtype <= 254) {
      if (this.keptBack(Rcode.NOTIMP, errorGate)) return null;
      return this.errorResponse(msg, q.id, q.flags, Rcode.NOTIMP, q.questionEnd, q.edns);
    }
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
    if (prepared.service) return this.answerService(msg, q, prepared, prepared.service, source, limit);
    return this.assemble(msg, q, prepared, limit, 0);
  }

  /** A/AAAA of a service: the decision for this client, with its ECS scope. */
  private answerService(msg: Buffer, q: Query, nodata: Prepared, service: Service, source: string, limit: number): Buffer {
    const ecs = q.edns?.ecs;
    // RFC 7871 §7.1.2: SOURCE PREFIX-LENGTH 0 opts out; tailor to the resolver and answer SCOPE 0.
    const client = ecs && ecs.sourcePrefix > 0 ? clientFromEcs(ecs) : clientFromAddress(source);
    this.clientSampler?.offer(client);
    const d = service.decide(client, q.qtype === RRType.A ? 4 : 6);
    if (d.allDown) this.stats.allDown++;
    if (d.rcode === Rcode.SERVFAIL) return this.errorResponse(msg, q.id, q.flags, Rcode.SERVFAIL, q.questionEnd, q.edns);
    const scope = ecs && ecs.sourcePrefix > 0 ? d.scope : 0;
    if (d.an === 0) return this.assemble(msg, q, nodata, limit, scope);
    this.stats.dynamic++;
    return this.assemble(msg, q, { flags: Flag.AA, an: d.an, ns: 0, ar: 0, body: d.body, minimalLength: 0 }, limit, scope);
  }

  private findZone(key: string): Zone | undefined {
    const zones = this.zones.byKey;
    for (let off = 0; ; off += key.charCodeAt(off) + 1) {
      const z = zones.get(off === 0 ? key : key.substring(off));
      if (z || off >= key.length) return z;
    }
  }

  /** Resolves and encodes an answer that is not cached yet. */
  prepare(q: Query): Prepared {
    const zone = this.findZone(q.key);
    if (!zone) return { flags: Rcode.REFUSED, an: 0, ns: 0, ar: 0, body: Buffer.alloc(0), minimalLength: 0 };
    const qname = keyToName(q.key);
    const service = this.zones.services.get(qname);
    const res = resolve(zone, qname, q.qtype, this.zones.services);
    const w = new MessageWriter(q.questionEnd);
    w.seedQuestion(q.key, qname, HEADER_LEN);
    for (const rr of res.answer) for (const rd of rr.rdatas) w.rr(rr.owner, rr.type, RRClass.IN, rr.ttl, rd);
    for (const rr of res.authority) for (const rd of rr.rdatas) w.rr(rr.owner, rr.type, RRClass.IN, rr.ttl, rd);
    const withoutAdditional = w.length;
    for (const rr of res.additional) for (const rd of rr.rdatas) w.rr(rr.owner, rr.type, RRClass.IN, rr.ttl, rd);
    const count = (list: typeof res.answer): number => list.reduce((n, rr) => n + rr.rdatas.length, 0);
    return {
      flags: (res.aa ? Flag.AA : 0) | res.rcode,
      an: count(res.answer),
      ns: count(res.authority),
      ar: count(res.additional),
      body: w.bytes(),
      minimalLength: res.additional.length > 0 && !res.additionalRequired ? withoutAdditional : 0,
      ...(service && (q.qtype === RRType.A || q.qtype === RRType.AAAA) ? { service } : {}),
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

  private chaos(msg: Buffer, q: Query): Buffer {
    const name = keyToName(q.key);
    const text =
      name === 'version.bind.' || name === 'version.server.'
        ? this.opts.version
        : name === 'id.server.' || name === 'hostname.bind.'
          ? this.opts.identity
          : null;
    if (text === null || (q.qtype !== RRType.TXT && q.qtype !== RRType.ANY)) {
      return this.errorResponse(msg, q.id, q.flags, Rcode.REFUSED, q.questionEnd, q.edns);
    }
    const w = new MessageWriter(q.questionEnd);
    w.seedQuestion(q.key, name, HEADER_LEN);
    w.rr(name, RRType.TXT, RRClass.CH, 0, { type: 16, strings: [Buffer.from(text.slice(0, 255))] });
    const p: Prepared = { flags: Flag.AA, an: 1, ns: 0, ar: 0, body: w.bytes(), minimalLength: 0 };
    return this.assemble(msg, q, p, q.edns ? Math.min(q.edns.udpSize, this.opts.udpSize) : CLASSIC_UDP_LIMIT, 0);
  }
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
