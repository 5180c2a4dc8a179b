/**
 * Byte-level builders for hand-crafted (often deliberately malformed) DNS messages, and a small
 * reader for response headers and the OPT record. No validation on purpose: every field can be
 * set to any value, so tests can say exactly which bytes go on the wire (BIND tests_formerr.py
 * style: header(...) + question(...) + rr(...)).
 */

export const T = {
  A: 1,
  NS: 2,
  CNAME: 5,
  SOA: 6,
  MX: 15,
  TXT: 16,
  AAAA: 28,
  SRV: 33,
  OPT: 41,
  RRSIG: 46,
  NSEC3: 50,
  KEY: 25,
  TSIG: 250,
  IXFR: 251,
  AXFR: 252,
  MAILB: 253,
  MAILA: 254,
  ANY: 255,
} as const;
export const C = { IN: 1, CH: 3, HS: 4, NONE: 254, ANY: 255 } as const;
export const RC = { NOERROR: 0, FORMERR: 1, SERVFAIL: 2, NXDOMAIN: 3, NOTIMP: 4, REFUSED: 5, NOTAUTH: 9, BADVERS: 16 } as const;
export const OPCODE = { QUERY: 0, IQUERY: 1, STATUS: 2, NOTIFY: 4, UPDATE: 5 } as const;

export function wire(...parts: (Buffer | Uint8Array | number[])[]): Buffer {
  return Buffer.concat(parts.map((p) => (Buffer.isBuffer(p) ? p : Buffer.from(p))));
}
export function u8(v: number): Buffer {
  return Buffer.from([v & 0xff]);
}
export function u16(v: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(v & 0xffff);
  return b;
}
export function u32(v: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(v >>> 0);
  return b;
}

export interface HeaderFields {
  id?: number;
  qr?: boolean;
  opcode?: number;
  aa?: boolean;
  tc?: boolean;
  rd?: boolean;
  ra?: boolean;
  /** The reserved Z bit (0x0040). */
  z?: boolean;
  ad?: boolean;
  cd?: boolean;
  rcode?: number;
  qdcount?: number;
  ancount?: number;
  nscount?: number;
  arcount?: number;
}

export function flagsWord(h: HeaderFields): number {
  return (
    (h.qr ? 0x8000 : 0) |
    (((h.opcode ?? 0) & 0xf) << 11) |
    (h.aa ? 0x0400 : 0) |
    (h.tc ? 0x0200 : 0) |
    (h.rd ? 0x0100 : 0) |
    (h.ra ? 0x0080 : 0) |
    (h.z ? 0x0040 : 0) |
    (h.ad ? 0x0020 : 0) |
    (h.cd ? 0x0010 : 0) |
    ((h.rcode ?? 0) & 0xf)
  );
}

/** A 12-byte header; counts default to 0 (BIND's header() defaults). */
export function header(h: HeaderFields = {}): Buffer {
  return wire(u16(h.id ?? 0), u16(flagsWord(h)), u16(h.qdcount ?? 0), u16(h.ancount ?? 0), u16(h.nscount ?? 0), u16(h.arcount ?? 0));
}

/** Uncompressed wire name from dotted text ('.' is the root). Labels are taken verbatim (latin1). */
export function name(text: string): Buffer {
  const t = text.endsWith('.') ? text.slice(0, -1) : text;
  if (t === '') return Buffer.from([0]);
  return labels(...t.split('.'));
}

/** Labels given one by one (so a label may hold a dot or any byte), plus the root terminator. */
export function labels(...ls: (string | Buffer)[]): Buffer {
  return wire(
    ...ls.flatMap((l) => {
      const b = typeof l === 'string' ? Buffer.from(l, 'latin1') : l;
      return [u8(b.length), b];
    }),
    [0],
  );
}

export function pointer(offset: number): Buffer {
  return u16(0xc000 | offset);
}

export function question(qname: Buffer | string, qtype: number = T.A, qclass: number = C.IN): Buffer {
  return wire(typeof qname === 'string' ? name(qname) : qname, u16(qtype), u16(qclass));
}

export function rr(owner: Buffer | string, type: number, cls: number, ttl: number, rdata: Buffer = Buffer.alloc(0)): Buffer {
  return wire(typeof owner === 'string' ? name(owner) : owner, u16(type), u16(cls), u32(ttl), u16(rdata.length), rdata);
}

/** One EDNS option TLV; `length` overrides the length field (for overrun cases). */
export function option(code: number, data: Buffer | number[] = [], length?: number): Buffer {
  const d = Buffer.from(data);
  return wire(u16(code), u16(length ?? d.length), d);
}

/** RFC 7871 client-subnet option payload: FAMILY, SOURCE, SCOPE, ADDRESS (taken verbatim). */
export function ecsData(family: number, source: number, scope: number, address: number[] | Buffer): Buffer {
  return wire(u16(family), u8(source), u8(scope), Buffer.from(address));
}
export function ecs(family: number, source: number, scope: number, address: number[] | Buffer): Buffer {
  return option(8, ecsData(family, source, scope, address));
}

export interface OptFields {
  owner?: Buffer;
  udpSize?: number;
  extRcode?: number;
  version?: number;
  /** The 16-bit flags half of the TTL (DO = 0x8000). */
  flags?: number;
  /** Raw RDATA (concatenated option TLVs). */
  rdata?: Buffer;
  /** Overrides RDLENGTH (for 'rdlen past end' cases). */
  rdlen?: number;
}

export function opt(o: OptFields = {}): Buffer {
  const rdata = o.rdata ?? Buffer.alloc(0);
  const ttl = (((o.extRcode ?? 0) & 0xff) << 24) | (((o.version ?? 0) & 0xff) << 16) | ((o.flags ?? 0) & 0xffff);
  return wire(o.owner ?? Buffer.from([0]), u16(T.OPT), u16(o.udpSize ?? 1232), u32(ttl), u16(o.rdlen ?? rdata.length), rdata);
}

export interface QueryFields extends HeaderFields {
  qname?: string | Buffer;
  qtype?: number;
  qclass?: number;
  /** Records appended after the question; arcount defaults to their number. */
  additional?: Buffer[];
  /** Bytes appended after everything, not counted anywhere. */
  trailing?: Buffer;
}

/** A well-formed query (unless fields say otherwise): counts follow the parts given. */
export function query(q: QueryFields = {}): Buffer {
  const add = q.additional ?? [];
  return wire(header({ qdcount: 1, arcount: add.length, ...q }), question(q.qname ?? 'www.gslb.example.com', q.qtype ?? T.A, q.qclass ?? C.IN), ...add, q.trailing ?? Buffer.alloc(0));
}

export interface ResponseHeader {
  id: number;
  flags: number;
  qr: boolean;
  opcode: number;
  aa: boolean;
  tc: boolean;
  rd: boolean;
  ra: boolean;
  cd: boolean;
  /** The low 4 bits from the header only. */
  rcode: number;
  qdcount: number;
  ancount: number;
  nscount: number;
  arcount: number;
}

export function readHeader(b: Buffer): ResponseHeader {
  if (b.length < 12) throw new Error(`message of ${b.length} bytes has no header`);
  const flags = b.readUInt16BE(2);
  return {
    id: b.readUInt16BE(0),
    flags,
    qr: (flags & 0x8000) !== 0,
    opcode: (flags >> 11) & 0xf,
    aa: (flags & 0x0400) !== 0,
    tc: (flags & 0x0200) !== 0,
    rd: (flags & 0x0100) !== 0,
    ra: (flags & 0x0080) !== 0,
    cd: (flags & 0x0010) !== 0,
    rcode: flags & 0xf,
    qdcount: b.readUInt16BE(4),
    ancount: b.readUInt16BE(6),
    nscount: b.readUInt16BE(8),
    arcount: b.readUInt16BE(10),
  };
}

/** Offset after a (possibly compressed) name; throws on overrun or a reserved label type. */
export function skipName(b: Buffer, off: number): number {
  for (;;) {
    if (off >= b.length) throw new Error('name overruns message');
    const l = b[off]!;
    if (l === 0) return off + 1;
    if ((l & 0xc0) === 0xc0) return off + 2;
    if (l & 0xc0) throw new Error('reserved label type');
    off += 1 + l;
  }
}

export interface OptInfo {
  udpSize: number;
  extRcode: number;
  version: number;
  flags: number;
  options: { code: number; data: Buffer }[];
}

/** Walks every section of a response and returns its OPT (throws if the message is malformed). */
export function readOpt(b: Buffer): OptInfo | null {
  const h = readHeader(b);
  let off = 12;
  for (let i = 0; i < h.qdcount; i++) off = skipName(b, off) + 4;
  let found: OptInfo | null = null;
  for (let i = 0; i < h.ancount + h.nscount + h.arcount; i++) {
    off = skipName(b, off);
    if (off + 10 > b.length) throw new Error('record overruns message');
    const type = b.readUInt16BE(off);
    const rdlen = b.readUInt16BE(off + 8);
    const rdata = off + 10;
    if (rdata + rdlen > b.length) throw new Error('rdata overruns message');
    if (type === T.OPT) {
      if (found) throw new Error('two OPT records in response');
      const ttl = b.readUInt32BE(off + 4);
      const options: OptInfo['options'] = [];
      for (let p = rdata; p < rdata + rdlen;) {
        const len = b.readUInt16BE(p + 2);
        options.push({ code: b.readUInt16BE(p), data: b.subarray(p + 4, p + 4 + len) });
        p += 4 + len;
      }
      found = { udpSize: b.readUInt16BE(off + 2), extRcode: ttl >>> 24, version: (ttl >>> 16) & 0xff, flags: ttl & 0xffff, options };
    }
    off = rdata + rdlen;
  }
  if (off !== b.length) throw new Error(`response has ${b.length - off} bytes after its last record`);
  return found;
}

/** The 12-bit rcode: header low bits plus the OPT extended bits (RFC 6891 §6.1.3). */
export function fullRcode(b: Buffer): number {
  const o = readOpt(b);
  return ((o?.extRcode ?? 0) << 4) | readHeader(b).rcode;
}

/** The question section bytes [12, end of first question), or an empty buffer when QDCOUNT is 0. */
export function questionBytes(b: Buffer): Buffer {
  if (readHeader(b).qdcount === 0) return Buffer.alloc(0);
  return b.subarray(12, skipName(b, 12) + 4);
}

/**
 * The A/AAAA addresses of a reply's answer section, its rcode and its ECS scope (null without an
 * ECS option): what a routing test reads, without a general decoder's cost per message (the policy
 * matrix reads hundreds of thousands of replies).
 */
export function readAddresses(b: Buffer): { rcode: number; addresses: string[]; scope: number | null } {
  const h = readHeader(b);
  let off = 12;
  for (let i = 0; i < h.qdcount; i++) off = skipName(b, off) + 4;
  const addresses: string[] = [];
  let scope: number | null = null;
  for (let i = 0; i < h.ancount + h.nscount + h.arcount; i++) {
    off = skipName(b, off);
    const type = b.readUInt16BE(off);
    const rdlen = b.readUInt16BE(off + 8);
    const rdata = off + 10;
    if (i < h.ancount && type === T.A && rdlen === 4) addresses.push(`${b[rdata]}.${b[rdata + 1]}.${b[rdata + 2]}.${b[rdata + 3]}`);
    if (i < h.ancount && type === T.AAAA && rdlen === 16) addresses.push(ipv6Text(b.subarray(rdata, rdata + 16)));
    if (type === T.OPT) {
      for (let p = rdata; p + 4 <= rdata + rdlen; p += 4 + b.readUInt16BE(p + 2)) if (b.readUInt16BE(p) === 8) scope = b[p + 7]!;
    }
    off = rdata + rdlen;
  }
  return { rcode: h.rcode, addresses, scope };
}

/** RFC 5952 text of 16 address bytes (longest run of zero groups compressed), as dns-packet prints it. */
function ipv6Text(bytes: Buffer): string {
  const groups = Array.from({ length: 8 }, (_, i) => bytes.readUInt16BE(i * 2));
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8;) {
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) [best, bestLen] = [i, j - i];
    i = j === i ? i + 1 : j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (best < 0) return hex.join(':');
  return `${hex.slice(0, best).join(':')}::${hex.slice(best + bestLen).join(':')}`;
}
