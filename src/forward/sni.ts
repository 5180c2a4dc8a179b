/**
 * Reads the server name (SNI, RFC 6066 §3) from the first bytes of a TLS connection without
 * terminating TLS: the bytes are only looked at, and then forwarded unchanged to the chosen
 * backend. Handles a ClientHello split over several TLS records (large post-quantum key shares)
 * and over several TCP segments (`need-more`). Every length is checked against what arrived;
 * anything inconsistent is `invalid`, never an exception.
 * @module
 */

/** Bytes buffered at most while looking for the ClientHello (the listener closes past it). */
export const MAX_CLIENT_HELLO_BYTES = 64 * 1024;

export type SniResult =
  /** Read more bytes and call again. */
  | { kind: 'need-more' }
  /** A complete ClientHello; `serverName` null when it carries no SNI host name. */
  | { kind: 'tls'; serverName: string | null }
  /** The first byte is not a TLS handshake record: some other protocol. */
  | { kind: 'not-tls' }
  /** It starts like TLS but is malformed or too large. */
  | { kind: 'invalid'; reason: string };

const NEED_MORE: SniResult = { kind: 'need-more' };
const invalid = (reason: string): SniResult => ({ kind: 'invalid', reason });

const RECORD_HANDSHAKE = 0x16;
const HANDSHAKE_CLIENT_HELLO = 0x01;
const EXT_SERVER_NAME = 0x0000;
const NAME_TYPE_HOST = 0x00;
/** TLSPlaintext.length may not exceed 2^14 (RFC 8446 §5.1). */
const MAX_RECORD = 16_384;

export function parseClientHello(buf: Buffer): SniResult {
  if (buf.length === 0) return NEED_MORE;
  if (buf[0] !== RECORD_HANDSHAKE) return { kind: 'not-tls' };
  // Reassemble the handshake layer from consecutive handshake records.
  const parts: Buffer[] = [];
  let have = 0;
  let need = -1; // handshake message length + 4, once known
  let at = 0;
  while (need < 0 || have < need) {
    if (buf.length - at < 5) return buf.length >= MAX_CLIENT_HELLO_BYTES ? invalid('ClientHello too large') : NEED_MORE;
    if (buf[at] !== RECORD_HANDSHAKE) return invalid('ClientHello interrupted by a non-handshake record');
    if (buf[at + 1] !== 0x03) return invalid(`record version ${buf[at + 1]}.${buf[at + 2]}`);
    const len = buf.readUInt16BE(at + 3);
    if (len === 0 || len > MAX_RECORD) return invalid(`record length ${len}`);
    if (buf.length - at - 5 < len) return at + 5 + len > MAX_CLIENT_HELLO_BYTES ? invalid('ClientHello too large') : NEED_MORE;
    parts.push(buf.subarray(at + 5, at + 5 + len));
    have += len;
    at += 5 + len;
    if (need < 0 && have >= 4) {
      const hs = parts.length === 1 ? parts[0]! : Buffer.concat(parts);
      if (hs[0] !== HANDSHAKE_CLIENT_HELLO) return invalid(`first handshake message is type ${hs[0]}, not ClientHello`);
      need = 4 + ((hs[1]! << 16) | (hs[2]! << 8) | hs[3]!);
      if (need > MAX_CLIENT_HELLO_BYTES) return invalid('ClientHello too large');
    }
  }
  const hs = Buffer.concat(parts).subarray(0, need);
  return parseHelloBody(hs.subarray(4));
}

function parseHelloBody(b: Buffer): SniResult {
  let p = 2 + 32; // legacy_version, random
  if (b.length < p + 1) return invalid('ClientHello truncated before session id');
  p += 1 + b[p]!; // legacy_session_id
  if (b.length < p + 2) return invalid('ClientHello truncated before cipher suites');
  const suites = b.readUInt16BE(p);
  if (suites % 2 !== 0) return invalid('odd cipher suites length');
  p += 2 + suites;
  if (b.length < p + 1) return invalid('ClientHello truncated before compression methods');
  p += 1 + b[p]!;
  if (p > b.length) return invalid('ClientHello truncated in compression methods');
  if (p === b.length) return { kind: 'tls', serverName: null }; // no extensions (SSL 3.0-style hello)
  if (b.length < p + 2) return invalid('ClientHello truncated before extensions');
  const extEnd = p + 2 + b.readUInt16BE(p);
  if (extEnd !== b.length) return invalid('extensions length does not match the ClientHello');
  p += 2;
  let serverName: string | null = null;
  let seen = false;
  while (p < extEnd) {
    if (extEnd - p < 4) return invalid('extension header truncated');
    const type = b.readUInt16BE(p);
    const len = b.readUInt16BE(p + 2);
    p += 4;
    if (p + len > extEnd) return invalid('extension overruns the ClientHello');
    if (type === EXT_SERVER_NAME) {
      // RFC 8446 §4.2: an extension type must not appear twice.
      if (seen) return invalid('two server_name extensions');
      seen = true;
      const r = parseServerName(b.subarray(p, p + len));
      if (typeof r !== 'string' && r !== null) return r;
      serverName = r;
    }
    p += len;
  }
  return { kind: 'tls', serverName };
}

function parseServerName(e: Buffer): string | null | SniResult {
  if (e.length < 2) return invalid('server_name truncated');
  const listLen = e.readUInt16BE(0);
  if (listLen + 2 !== e.length) return invalid('server_name list length does not match');
  let p = 2;
  while (p < e.length) {
    if (e.length - p < 3) return invalid('server_name entry truncated');
    const type = e[p]!;
    const len = e.readUInt16BE(p + 1);
    p += 3;
    if (p + len > e.length) return invalid('server_name entry overruns the list');
    if (type === NAME_TYPE_HOST) {
      const name = e.subarray(p, p + len).toString('latin1');
      // RFC 6066: ASCII host name without a trailing dot; we accept the dot and fold case.
      if (len === 0 || len > 255 || !/^[A-Za-z0-9_.-]+$/.test(name)) return invalid('server name is not a host name');
      return name.toLowerCase().replace(/\.$/, '');
    }
    p += len;
  }
  return null;
}

/** Whether `name` matches a route pattern: exact, or `*.suffix` for names below the suffix. */
export function sniMatches(pattern: string, name: string): boolean {
  if (pattern.startsWith('*.')) {
    const suffix = pattern.slice(1); // ".example.com"
    return name.length > suffix.length && name.endsWith(suffix);
  }
  return pattern === name;
}
