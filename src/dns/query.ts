/**
 * Guard and decoder for incoming queries: one pass over the bytes that either yields a Query or
 * the RFC action for a malformed message (drop, FORMERR, NOTIMP, BADVERS).
 *
 * The decision table follows gdnsd's decode_query and NSD's query.c (anchors.md B4):
 * < 12 bytes or QR=1 -> drop; opcode != QUERY -> NOTIMP; QDCOUNT != 1, answer or authority
 * records, a bad name (pointer, loop, > 255 bytes, reserved label type), a truncated question or
 * additional record, two OPTs, an OPT not owned by the root, a bad option TLV, a malformed ECS option
 * or a TSIG that is not last -> FORMERR. Trailing bytes after the last record are tolerated.
 * @module
 */
import { u16, u32 } from './bytes.js';
import { EDNS_DO, EdnsOption, Flag, HEADER_LEN, OPCODE_MASK, OPCODE_QUERY, Rcode, type ClientSubnet } from '../wire/constants.js';

export interface Edns {
  /** Requester's UDP payload size, floored at 512 as RFC 6891 §6.2.5 requires. */
  udpSize: number;
  version: number;
  dnssecOk: boolean;
  ecs: ClientSubnet | null;
}

export interface Query {
  id: number;
  /** The query's flag word, as received. */
  flags: number;
  /** Offset just past QTYPE/QCLASS: bytes [12, questionEnd) are copied into the answer. */
  questionEnd: number;
  /** Lower-cased uncompressed wire form of the QNAME without its final zero byte. */
  key: string;
  qtype: number;
  qclass: number;
  edns: Edns | null;
}

export type Decoded =
  | { kind: 'query'; query: Query }
  | { kind: 'drop'; reason: 'short' | 'response' }
  | {
      kind: 'error';
      rcode: number;
      reason: string;
      id: number;
      flags: number;
      /** Set when the question parsed: it is echoed in the error response. */
      questionEnd: number;
      /** Set when a valid OPT was seen: the error response then carries our OPT too. */
      edns: Edns | null;
    };

const TYPE_OPT = 41;
const TYPE_TSIG = 250;
const scratch = Buffer.allocUnsafe(256);

/** Result of reading a name: the end offset, or a negative error code. */
const NAME_TOO_LONG = -1;
const NAME_TRUNCATED = -2;
const NAME_BAD_LABEL = -3;
const NAME_POINTER = -4;

/**
 * Reads the question name at `off` without following pointers (a pointer in the question is
 * FORMERR: nothing precedes it that it could legally point to). Leaves the lower-cased wire form
 * in `scratch[0, len)` and returns the offset after the terminating zero, or an error code.
 */
function readQname(msg: Buffer, off: number): number {
  let len = 0;
  for (;;) {
    if (off >= msg.length) return NAME_TRUNCATED;
    const l = msg[off]!;
    if (l === 0) return len + 1 > 255 ? NAME_TOO_LONG : off + 1;
    if (l & 0xc0) return (l & 0xc0) === 0xc0 ? NAME_POINTER : NAME_BAD_LABEL;
    if (off + 1 + l > msg.length) return NAME_TRUNCATED;
    if (len + 1 + l + 1 > 255) return NAME_TOO_LONG;
    scratch[len++] = l;
    for (let i = off + 1, end = off + 1 + l; i < end; i++) {
      const c = msg[i]!;
      // ASCII-only case folding (RFC 4343): bytes >= 0x80 are opaque and compare exactly.
      scratch[len++] = c >= 0x41 && c <= 0x5a ? c | 0x20 : c;
    }
    off += 1 + l;
  }
}

/** Skips a (possibly compressed) name in a non-question record; returns the end or -1. */
function skipName(msg: Buffer, off: number): number {
  for (let budget = 128; budget > 0; budget--) {
    if (off >= msg.length) return -1;
    const l = msg[off]!;
    if (l === 0) return off + 1;
    if ((l & 0xc0) === 0xc0) return off + 2 <= msg.length ? off + 2 : -1;
    if (l & 0xc0) return -1;
    off += 1 + l;
  }
  return -1;
}

const NAME_REASONS: Record<number, string> = {
  [NAME_TOO_LONG]: 'qname longer than 255 bytes',
  [NAME_TRUNCATED]: 'truncated qname',
  [NAME_BAD_LABEL]: 'reserved label type in qname',
  [NAME_POINTER]: 'compression pointer in question',
};

export function decodeQuery(msg: Buffer): Decoded {
  if (msg.length < HEADER_LEN) return { kind: 'drop', reason: 'short' };
  const id = u16(msg, 0);
  const flags = u16(msg, 2);
  if (flags & Flag.QR) return { kind: 'drop', reason: 'response' };
  const fail = (rcode: number, reason: string, questionEnd = 0, edns: Edns | null = null): Decoded => ({
    kind: 'error',
    rcode,
    reason,
    id,
    flags,
    questionEnd,
    edns,
  });
  if ((flags & OPCODE_MASK) >> 11 !== OPCODE_QUERY) return fail(Rcode.NOTIMP, 'opcode not implemented');
  const qdcount = u16(msg, 4);
  const ancount = u16(msg, 6);
  const nscount = u16(msg, 8);
  const arcount = u16(msg, 10);
  if (qdcount !== 1) return fail(Rcode.FORMERR, `qdcount ${qdcount}`);

  const nameEnd = readQname(msg, HEADER_LEN);
  if (nameEnd < 0) return fail(Rcode.FORMERR, NAME_REASONS[nameEnd]!);
  if (nameEnd + 4 > msg.length) return fail(Rcode.FORMERR, 'truncated question');
  const key = scratch.toString('latin1', 0, nameEnd - HEADER_LEN - 1);
  const qtype = u16(msg, nameEnd);
  const qclass = u16(msg, nameEnd + 2);
  const questionEnd = nameEnd + 4;
  // Checked after the question so that every FORMERR with a parsable question echoes it (BIND's
  // choice, one rule for all cases).
  if (ancount !== 0 || nscount !== 0) return fail(Rcode.FORMERR, 'answer or authority records in query', questionEnd);

  let edns: Edns | null = null;
  let badVersion = false;
  let off = questionEnd;
  for (let i = 0; i < arcount; i++) {
    const ownerStart = off;
    off = skipName(msg, off);
    if (off < 0 || off + 10 > msg.length) return fail(Rcode.FORMERR, 'truncated additional record', questionEnd, edns);
    const type = u16(msg, off);
    const rdlen = u16(msg, off + 8);
    const rdata = off + 10;
    const next = rdata + rdlen;
    if (next > msg.length) return fail(Rcode.FORMERR, 'additional record overruns message', questionEnd, edns);
    if (type === TYPE_OPT) {
      if (edns) return fail(Rcode.FORMERR, 'more than one OPT record', questionEnd, edns);
      if (off - ownerStart !== 1 || msg[ownerStart] !== 0) return fail(Rcode.FORMERR, 'OPT owner is not the root', questionEnd);
      const ttl = u32(msg, off + 4);
      const version = (ttl >>> 16) & 0xff;
      edns = {
        udpSize: Math.max(512, u16(msg, off + 2)),
        version,
        dnssecOk: (ttl & EDNS_DO) !== 0,
        ecs: null,
      };
      if (version > 0) {
        // RFC 6891 §6.1.3: an unknown version is answered BADVERS before any option is interpreted.
        badVersion = true;
      } else {
        const err = parseOptions(msg, rdata, next, edns);
        if (err) return fail(Rcode.FORMERR, err, questionEnd, { ...edns, ecs: null });
      }
    } else if (type === TYPE_TSIG && i !== arcount - 1) {
      return fail(Rcode.FORMERR, 'TSIG is not the last record', questionEnd, edns);
    } else if (type === TYPE_TSIG) {
      // No TSIG keys are configured, so the signature cannot be verified (RFC 8945 §5.2: NOTAUTH).
      return fail(Rcode.NOTAUTH, 'TSIG not supported', questionEnd, edns);
    }
    off = next;
  }
  if (badVersion) return fail(Rcode.BADVERS, 'unsupported EDNS version', questionEnd, edns);
  return { kind: 'query', query: { id, flags, questionEnd, key, qtype, qclass, edns } };
}

/** Walks the option TLVs of an OPT RDATA; returns a FORMERR reason or null. */
function parseOptions(msg: Buffer, off: number, end: number, edns: Edns): string | null {
  while (off < end) {
    if (off + 4 > end) return 'EDNS option header truncated';
    const code = u16(msg, off);
    const len = u16(msg, off + 2);
    const data = off + 4;
    if (data + len > end) return 'EDNS option overruns OPT';
    if (code === EdnsOption.CLIENT_SUBNET) {
      if (edns.ecs) return 'more than one client-subnet option';
      const parsed = parseClientSubnet(msg, data, len);
      if (typeof parsed === 'string') return parsed;
      edns.ecs = parsed;
    }
    // Every other option (cookies, NSID, keepalive, unknown codes) is ignored and never echoed.
    off = data + len;
  }
  return null;
}

/** RFC 7871 §6 validation, rule for rule as gdnsd's handle_edns_client_subnet applies them. */
export function parseClientSubnet(msg: Buffer, off: number, len: number): ClientSubnet | string {
  if (len < 4) return 'client-subnet option shorter than 4 bytes';
  const family = u16(msg, off);
  const source = msg[off + 2]!;
  const scope = msg[off + 3]!;
  if (family !== 1 && family !== 2) return `client-subnet family ${family} unknown`;
  const maxBits = family === 1 ? 32 : 128;
  if (source > maxBits) return `client-subnet source prefix ${source} exceeds ${maxBits}`;
  if (scope !== 0) return 'client-subnet scope prefix must be 0 in queries';
  const addrLen = Math.ceil(source / 8);
  if (len !== 4 + addrLen) return `client-subnet address must be ${addrLen} bytes for /${source}`;
  if (source % 8 !== 0) {
    const last = msg[off + 4 + addrLen - 1]!;
    const mask = 0xff >> (source % 8);
    if (last & mask) return 'client-subnet address has bits set beyond the source prefix';
  }
  return { family, sourcePrefix: source, address: msg.subarray(off + 4, off + 4 + addrLen) };
}
