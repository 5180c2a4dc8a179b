/**
 * Wire constants of the DNS header (RFC 1035 §4.1.1, RFC 6895) and EDNS (RFC 6891), and the parsed
 * client-subnet option. A leaf: zone/ and routing/ use rcodes without importing dns/, which
 * imports them.
 * @module
 */

export const HEADER_LEN = 12;

export const Rcode = {
  NOERROR: 0,
  FORMERR: 1,
  SERVFAIL: 2,
  NXDOMAIN: 3,
  NOTIMP: 4,
  REFUSED: 5,
  NOTAUTH: 9,
  /** Extended rcode (12 bits): upper 8 bits travel in the OPT TTL. */
  BADVERS: 16,
} as const;
export type RcodeValue = (typeof Rcode)[keyof typeof Rcode];

export const RCODE_NAMES: Record<number, string> = {
  0: 'NOERROR',
  1: 'FORMERR',
  2: 'SERVFAIL',
  3: 'NXDOMAIN',
  4: 'NOTIMP',
  5: 'REFUSED',
  9: 'NOTAUTH',
  16: 'BADVERS',
};

/** Bits of the second header word (flags). */
export const Flag = {
  QR: 0x8000,
  AA: 0x0400,
  TC: 0x0200,
  RD: 0x0100,
  RA: 0x0080,
  AD: 0x0020,
  CD: 0x0010,
} as const;

export const OPCODE_MASK = 0x7800;
export const OPCODE_QUERY = 0;

/** EDNS option codes we interpret (IANA "DNS EDNS0 Option Codes"). */
export const EdnsOption = {
  CLIENT_SUBNET: 8,
} as const;

/** DO bit inside the OPT TTL's flag half (RFC 3225). */
export const EDNS_DO = 0x8000;

/** Classic DNS over UDP limit without EDNS (RFC 1035 §4.2.1). */
export const CLASSIC_UDP_LIMIT = 512;
/** Default and maximum EDNS UDP payload (DNS Flag Day 2020; Knot and gdnsd default). */
export const DEFAULT_EDNS_UDP_SIZE = 1232;

/** An EDNS client-subnet option (RFC 7871) as parsed from a query. */
export interface ClientSubnet {
  family: 1 | 2;
  sourcePrefix: number;
  /**
   * Address bytes exactly as sent (ceil(source/8) bytes): echoed back unchanged. A view into the
   * query message, valid while the query is being answered (nothing keeps it longer).
   */
  address: Buffer;
}
