/**
 * Client netblocks for the UDP limits: the prefix (/24 IPv4, /56 IPv6 by default, BIND RRL's
 * `ipv4-prefix-length` / `ipv6-prefix-length`) a response is accounted to, and the exempt list.
 * A spoofed flood picks any source inside a netblock, so accounts are per prefix, not per address.
 * Runs per UDP datagram while a limit is on: IPv4, the common case, is parsed by hand into a number.
 * @module
 */
import { ipv6Bytes } from '../wire/address.js';

interface Net6 {
  bytes: Buffer;
  bits: number;
}

/** An IPv4 dotted quad as an unsigned 32-bit number; -1 when it is not one. */
export function ipv4Number(text: string): number {
  let value = 0;
  let part = 0;
  let digits = 0;
  let dots = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x2e) {
      if (digits === 0 || ++dots > 3) return -1;
      value = value * 256 + part;
      part = digits = 0;
    } else if (c >= 0x30 && c <= 0x39 && digits < 3) {
      part = part * 10 + (c - 0x30);
      digits++;
      if (part > 255) return -1;
    } else return -1;
  }
  return dots === 3 && digits > 0 ? value * 256 + part : -1;
}

/** The top `bits` of a 32-bit number, the rest zero (unsigned). */
function mask4(value: number, bits: number): number {
  return bits === 0 ? 0 : (value & (0xffffffff << (32 - bits))) >>> 0;
}

/** Whether the first `bits` of two 16-byte addresses are equal. */
function sameBits(a: Buffer, b: Buffer, bits: number): boolean {
  const whole = bits >> 3;
  for (let i = 0; i < whole; i++) if (a[i] !== b[i]) return false;
  const rest = bits & 7;
  if (rest === 0) return true;
  const m = (0xff << (8 - rest)) & 0xff;
  return (a[whole]! & m) === (b[whole]! & m);
}

/** IPv6 text (a zone id, `%eth0`, is not part of the address) as 16 bytes. */
function v6(text: string): Buffer {
  const pct = text.indexOf('%');
  return ipv6Bytes(pct < 0 ? text : text.slice(0, pct));
}

export class ClientPrefixes {
  private readonly exempt4: { net: number; bits: number }[] = [];
  private readonly exempt6: Net6[] = [];

  /**
   * `exempt` holds CIDRs or bare addresses, already validated by the config loader
   * (src/config/cidr.ts parseCidr); one that is not is a programming error and throws.
   */
  constructor(
    private readonly v4Bits: number,
    private readonly v6Bits: number,
    exempt: readonly string[] = [],
  ) {
    for (const text of exempt) {
      const [addr = '', len] = text.split('/');
      const n = ipv4Number(addr);
      if (n >= 0) this.exempt4.push({ bits: Number(len ?? 32), net: mask4(n, Number(len ?? 32)) });
      else if (addr.includes(':')) this.exempt6.push({ bytes: v6(addr), bits: Number(len ?? 128) });
      else throw new Error(`exempt client "${text}" is not an address or CIDR`);
    }
  }

  /**
   * The account key of an address's netblock: decimal digits of the masked IPv4 number, or the
   * masked IPv6 bytes in hex with a `:` (the two forms cannot collide). Null for an exempt client.
   */
  keyOf(address: string): string | null {
    const n = ipv4Number(address);
    if (n >= 0) {
      for (const e of this.exempt4) if (mask4(n, e.bits) === e.net) return null;
      return String(mask4(n, this.v4Bits));
    }
    // An IPv4-mapped IPv6 source is the IPv4 client it maps (a dual-stack socket reports those).
    if (address.startsWith('::ffff:') && ipv4Number(address.slice(7)) >= 0) return this.keyOf(address.slice(7));
    const bytes = v6(address);
    for (const e of this.exempt6) if (sameBits(bytes, e.bytes, e.bits)) return null;
    const whole = this.v6Bits >> 3;
    const rest = this.v6Bits & 7;
    let key = ':';
    for (let i = 0; i < whole; i++) key += bytes[i]! < 16 ? '0' + bytes[i]!.toString(16) : bytes[i]!.toString(16);
    if (rest > 0) key += (bytes[whole]! & (0xff << (8 - rest)) & 0xff).toString(16).padStart(2, '0');
    return key;
  }
}

/** A key of keyOf() as a readable netblock (`192.0.2.0/24`, `2001:db8:ab:cd00::/56`), for logs. */
export function describePrefix(key: string, v4Bits: number, v6Bits: number): string {
  if (!key.startsWith(':')) {
    const n = Number(key);
    return `${n >>> 24}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}/${v4Bits}`;
  }
  const hex = key.slice(1).padEnd(32, '0');
  const groups: string[] = [];
  for (let i = 0; i < 32; i += 4) groups.push(parseInt(hex.slice(i, i + 4), 16).toString(16));
  return `${groups.join(':').replace(/(^|:)0(:0)+$/, '::')}/${v6Bits}`;
}
