/**
 * The PROXY protocol (HAProxy, https://www.haproxy.org/download/2.9/doc/proxy-protocol.txt):
 * v1 (text) and v2 (binary) headers toward backends, so they see the client's address, and a v2
 * decoder for the cross-region relay hop, whose header also carries Meridian's own TLV (the
 * listener the connection belongs to). The decoder never trusts lengths: everything is checked
 * against what was received, and a header is capped at MAX_V2_HEADER bytes.
 * @module
 */
import { isIPv4, isIPv6 } from 'node:net';
import { ipv6Bytes } from '../wire/address.js';

export const V2_SIGNATURE = Buffer.from([0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a]);
/** The first of the TLV types the spec leaves to applications (PP2_TYPE_MIN_CUSTOM). */
export const TLV_MERIDIAN = 0xe0;
/** Version byte of the Meridian TLV's value; a receiver refuses any other. */
export const MERIDIAN_TLV_VERSION = 1;
/** 16 bytes of fixed header + addresses and TLVs. Ours are < 100 bytes; the spec allows 64 KiB. */
export const MAX_V2_HEADER = 4096;

export interface ProxyAddresses {
  /** The client, as the first hop saw it. */
  sourceAddress: string;
  sourcePort: number;
  /** The address the client connected to. */
  destAddress: string;
  destPort: number;
}

export interface Tlv {
  type: number;
  value: Buffer;
}

/** `::ffff:1.2.3.4` → `1.2.3.4`: a dual-stack socket reports IPv4 clients that way. */
export function unmapV4(address: string): string {
  return address.startsWith('::ffff:') && isIPv4(address.slice(7)) ? address.slice(7) : address;
}

function familyOf(a: ProxyAddresses): 4 | 6 | null {
  const s = unmapV4(a.sourceAddress);
  const d = unmapV4(a.destAddress);
  if (isIPv4(s) && isIPv4(d)) return 4;
  if ((isIPv4(s) || isIPv6(s)) && (isIPv4(d) || isIPv6(d))) return 6;
  return null;
}

/** A v1 line: `PROXY TCP4 src dst sport dport\r\n`, or `PROXY UNKNOWN\r\n` when the addresses are not IPs. */
export function encodeV1(a: ProxyAddresses): Buffer {
  const fam = familyOf(a);
  if (fam === null) return Buffer.from('PROXY UNKNOWN\r\n', 'latin1');
  const s = fam === 4 ? unmapV4(a.sourceAddress) : toV6(a.sourceAddress);
  const d = fam === 4 ? unmapV4(a.destAddress) : toV6(a.destAddress);
  return Buffer.from(`PROXY TCP${fam} ${s} ${d} ${a.sourcePort} ${a.destPort}\r\n`, 'latin1');
}

function toV6(address: string): string {
  const a = unmapV4(address);
  return isIPv4(a) ? `::ffff:${a}` : a;
}

function v4Bytes(address: string): Buffer {
  return Buffer.from(unmapV4(address).split('.').map(Number));
}

/** 16 bytes of an IPv6 address (IPv4 as v4-mapped). */
export function v6Bytes(address: string): Buffer {
  const a = unmapV4(address);
  if (isIPv4(a)) return Buffer.concat([Buffer.from([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff]), v4Bytes(a)]);
  return ipv6Bytes(a.split('%')[0]!); // a zone id (`fe80::1%eth0`) has no place on the wire
}

/** A v2 PROXY header (command PROXY, TCP), with optional TLVs. Non-IP addresses give a LOCAL header. */
export function encodeV2(a: ProxyAddresses, tlvs: Tlv[] = []): Buffer {
  const fam = familyOf(a);
  const tlvBytes = Buffer.concat(
    tlvs.map((t) => {
      const head = Buffer.alloc(3);
      head[0] = t.type;
      head.writeUInt16BE(t.value.length, 1);
      return Buffer.concat([head, t.value]);
    }),
  );
  let addr: Buffer;
  let famByte: number;
  if (fam === 4) {
    addr = Buffer.alloc(12);
    v4Bytes(a.sourceAddress).copy(addr, 0);
    v4Bytes(a.destAddress).copy(addr, 4);
    addr.writeUInt16BE(a.sourcePort, 8);
    addr.writeUInt16BE(a.destPort, 10);
    famByte = 0x11; // AF_INET, STREAM
  } else if (fam === 6) {
    addr = Buffer.alloc(36);
    v6Bytes(a.sourceAddress).copy(addr, 0);
    v6Bytes(a.destAddress).copy(addr, 16);
    addr.writeUInt16BE(a.sourcePort, 32);
    addr.writeUInt16BE(a.destPort, 34);
    famByte = 0x21; // AF_INET6, STREAM
  } else {
    addr = Buffer.alloc(0);
    famByte = 0x00;
  }
  const head = Buffer.alloc(16);
  V2_SIGNATURE.copy(head, 0);
  head[12] = fam === null ? 0x20 : 0x21; // version 2; LOCAL or PROXY
  head[13] = famByte;
  head.writeUInt16BE(addr.length + tlvBytes.length, 14);
  return Buffer.concat([head, addr, tlvBytes]);
}

export interface DecodedV2 {
  command: 'local' | 'proxy';
  addresses: ProxyAddresses | null;
  tlvs: Tlv[];
  /** Bytes the header took; what follows is the stream. */
  length: number;
}

export type DecodeResult = { ok: true; header: DecodedV2 } | { ok: false; incomplete: true } | { ok: false; incomplete: false; reason: string };

const INCOMPLETE = { ok: false, incomplete: true } as const;
const bad = (reason: string): DecodeResult => ({ ok: false, incomplete: false, reason });

/** Decodes a v2 header at the start of `buf`. `incomplete` = read more (the caller bounds how much). */
export function decodeV2(buf: Buffer): DecodeResult {
  const sigLen = Math.min(buf.length, 12);
  if (!buf.subarray(0, sigLen).equals(V2_SIGNATURE.subarray(0, sigLen))) return bad('not a PROXY v2 header');
  if (buf.length < 16) return INCOMPLETE;
  const verCmd = buf[12]!;
  if (verCmd >> 4 !== 2) return bad(`PROXY version ${verCmd >> 4}`);
  const cmd = verCmd & 0x0f;
  if (cmd > 1) return bad(`PROXY command ${cmd}`);
  const len = buf.readUInt16BE(14);
  if (16 + len > MAX_V2_HEADER) return bad(`PROXY header of ${16 + len} bytes is over ${MAX_V2_HEADER}`);
  if (buf.length < 16 + len) return INCOMPLETE;
  const body = buf.subarray(16, 16 + len);
  const fam = buf[13]!;
  let addresses: ProxyAddresses | null = null;
  let at: number;
  if (fam === 0x11 || fam === 0x12) {
    if (len < 12) return bad('PROXY v2 IPv4 block truncated');
    addresses = {
      sourceAddress: [...body.subarray(0, 4)].join('.'),
      destAddress: [...body.subarray(4, 8)].join('.'),
      sourcePort: body.readUInt16BE(8),
      destPort: body.readUInt16BE(10),
    };
    at = 12;
  } else if (fam === 0x21 || fam === 0x22) {
    if (len < 36) return bad('PROXY v2 IPv6 block truncated');
    addresses = { sourceAddress: v6Text(body.subarray(0, 16)), destAddress: v6Text(body.subarray(16, 32)), sourcePort: body.readUInt16BE(32), destPort: body.readUInt16BE(34) };
    at = 36;
  } else if (fam === 0x31 || fam === 0x32) {
    if (len < 216) return bad('PROXY v2 unix block truncated');
    at = 216;
  } else if (fam === 0x00) {
    at = 0;
  } else return bad(`PROXY v2 address family 0x${fam.toString(16)}`);
  const tlvs: Tlv[] = [];
  while (at < body.length) {
    if (body.length - at < 3) return bad('PROXY v2 TLV truncated');
    const tlen = body.readUInt16BE(at + 1);
    if (at + 3 + tlen > body.length) return bad('PROXY v2 TLV overruns the header');
    tlvs.push({ type: body[at]!, value: Buffer.from(body.subarray(at + 3, at + 3 + tlen)) });
    at += 3 + tlen;
  }
  // A LOCAL header's addresses are to be ignored (spec 2.2): the connection is the proxy's own.
  return { ok: true, header: { command: cmd === 0 ? 'local' : 'proxy', addresses: cmd === 0 ? null : addresses, tlvs, length: 16 + len } };
}

function v6Text(b: Buffer): string {
  if (b.subarray(0, 10).every((x) => x === 0) && b[10] === 0xff && b[11] === 0xff) return [...b.subarray(12, 16)].join('.');
  const words: string[] = [];
  for (let i = 0; i < 16; i += 2) words.push(b.readUInt16BE(i).toString(16));
  // Longest run of zero words becomes `::` (RFC 5952).
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8;) {
    if (words[i] !== '0') {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && words[j] === '0') j++;
    if (j - i > bestLen) {
      best = i;
      bestLen = j - i;
    }
    i = j;
  }
  if (best < 0) return words.join(':');
  return `${words.slice(0, best).join(':')}::${words.slice(best + bestLen).join(':')}`;
}

/** The Meridian relay TLV: version, hop count, listener name. */
export function meridianTlv(listener: string, hops = 1): Tlv {
  return { type: TLV_MERIDIAN, value: Buffer.concat([Buffer.from([MERIDIAN_TLV_VERSION, hops]), Buffer.from(listener, 'utf8')]) };
}

export function parseMeridianTlv(tlvs: Tlv[]): { listener: string; hops: number } | null {
  const t = tlvs.find((x) => x.type === TLV_MERIDIAN);
  if (!t || t.value.length < 3 || t.value[0] !== MERIDIAN_TLV_VERSION) return null;
  return { hops: t.value[1]!, listener: t.value.subarray(2).toString('utf8') };
}
