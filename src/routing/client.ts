/**
 * Where the client is: the ECS address when the query carries a usable one, else the address the
 * query came from (RFC 7871 §7.1.2: SOURCE PREFIX-LENGTH 0 means "do not use client data", so the
 * resolver's own address is used then).
 * @module
 */
import { isIPv4 } from 'node:net';
import { ipv6Bytes } from '../wire/address.js';
import type { ClientSubnet } from '../wire/constants.js';
import type { Client } from '../policy/types.js';

export function clientFromAddress(address: string, source: Client['source'] = 'socket'): Client {
  if (isIPv4(address)) {
    const bytes = new Uint8Array(4);
    let part = 0;
    let i = 0;
    for (let p = 0; p < address.length; p++) {
      const c = address.charCodeAt(p);
      if (c === 0x2e) {
        bytes[i++] = part;
        part = 0;
      } else part = part * 10 + (c - 0x30);
    }
    bytes[i] = part;
    return { family: 4, bytes, knownBits: 32, source, text: address };
  }
  const v6 = address.startsWith('::ffff:') && isIPv4(address.slice(7)) ? null : ipv6Bytes(address);
  if (!v6) return clientFromAddress(address.slice(7), source); // IPv4-mapped: the client is IPv4
  return { family: 6, bytes: new Uint8Array(v6), knownBits: 128, source, text: address };
}

export function clientFromEcs(ecs: ClientSubnet): Client {
  const len = ecs.family === 1 ? 4 : 16;
  const bytes = new Uint8Array(len);
  const a = ecs.address;
  for (let i = 0; i < a.length && i < len; i++) bytes[i] = a[i]!;
  const family = ecs.family === 1 ? 4 : 6;
  return { family, bytes, knownBits: ecs.sourcePrefix, source: 'ecs' };
}

/** Printable form of a client for explain and logs, computed only when asked for. */
export function clientText(c: Client): string {
  return c.text ?? `${formatAddress(c.family, c.bytes)}/${c.knownBits}`;
}

/** Parses `addr` or `addr/len` (explain's --ecs); returns a reason string when invalid. */
export function clientFromPrefix(text: string): Client | string {
  const [addr, len] = text.split('/');
  let c: Client;
  try {
    c = clientFromAddress(addr ?? '', 'explain');
  } catch {
    return `"${text}" is not an IP address or prefix`;
  }
  if (!/^[\d.:a-fA-F]+$/.test(addr ?? '') || (c.family === 6 && !(addr ?? '').includes(':'))) return `"${text}" is not an IP address or prefix`;
  if (len === undefined) return c;
  const bits = Number(len);
  const max = c.family === 4 ? 32 : 128;
  if (!Number.isInteger(bits) || bits < 0 || bits > max) return `prefix length must be 0-${max}`;
  const bytes = maskBytes(c.bytes, bits);
  return { family: c.family, bytes, knownBits: bits, source: 'explain', text: `${formatAddress(c.family, bytes)}/${bits}` };
}

export function maskBytes(src: Uint8Array, bits: number): Uint8Array {
  const out = new Uint8Array(src.length);
  const full = bits >> 3;
  out.set(src.subarray(0, full));
  if (bits & 7 && full < src.length) out[full] = src[full]! & (0xff << (8 - (bits & 7)));
  return out;
}

export function formatAddress(family: 4 | 6, bytes: Uint8Array): string {
  if (family === 4) return Array.from(bytes.subarray(0, 4)).join('.');
  const words: string[] = [];
  for (let i = 0; i < 16; i += 2) words.push(((bytes[i]! << 8) | bytes[i + 1]!).toString(16));
  return words
    .join(':')
    .replace(/(^|:)0(:0)+(:|$)/, '::')
    .replace(/:{3,}/, '::');
}
