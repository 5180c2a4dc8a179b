/**
 * Encoder for resource records with RFC 1035 §4.1.4 name compression.
 *
 * This runs when an answer is first prepared, never per packet on the hot path: a prepared answer's
 * bytes are cached and copied behind the client's own question. The writer therefore seeds its
 * compression table with the question name at offset 12, so owner names that equal (or end in) the
 * QNAME become 2-byte pointers into the client's question and echo its letter case.
 * @module
 */
import { isIPv4, isIPv6 } from 'node:net';
import type { RData } from '../zone/types.js';
import { ipv6Bytes } from '../wire/address.js';

/** Types whose RDATA names may be compressed (RFC 3597 §4: only the RFC 1035 well-known types). */
const COMPRESSIBLE_RDATA = new Set([2, 5, 6, 12, 15]);

/** Splits an absolute presentation name (`www.example.com.`, or `.`) into labels. */
export function nameLabels(name: string): string[] {
  if (name === '.' || name === '') return [];
  const trimmed = name.endsWith('.') ? name.slice(0, -1) : name;
  return trimmed.split('.');
}

/** Uncompressed wire form of a name, lower-cased: the key used by every name-indexed map. */
export function nameKey(name: string): string {
  let out = '';
  for (const label of nameLabels(name)) out += String.fromCharCode(label.length) + label.toLowerCase();
  return out;
}

export class MessageWriter {
  private buf: Buffer;
  private pos = 0;
  /** Wire key of a name suffix -> absolute offset in the final message. */
  private readonly names = new Map<string, number>();

  /**
   * @param base absolute message offset at which this writer's first byte will sit
   *   (header + question length), so compression pointers are right once the bytes are copied there.
   */
  constructor(
    private readonly base: number = 0,
    initialSize = 512,
  ) {
    this.buf = Buffer.alloc(initialSize);
  }

  /**
   * Registers the question name, already in the message at `absoluteOffset`, by its wire key
   * (see nameKey), and remembers its presentation form so an owner equal to the QNAME is always
   * written as a pointer, even when a label holds a dot or other bytes that presentation escapes.
   */
  seedQuestion(key: string, presentation: string, absoluteOffset: number): void {
    this.qname = presentation;
    this.qnameOffset = absoluteOffset;
    for (let i = 0; i < key.length; i += key.charCodeAt(i) + 1) {
      const off = absoluteOffset + i;
      const suffix = key.substring(i);
      if (off < 0x4000 && !this.names.has(suffix)) this.names.set(suffix, off);
    }
  }
  private qname: string | null = null;
  private qnameOffset = 0;

  get length(): number {
    return this.pos;
  }

  /** Absolute offset where `name` is spelled out in the message so far (a pointer target), if it is. */
  offsetOf(name: string): number | undefined {
    return this.names.get(nameKey(name));
  }

  bytes(): Buffer {
    return Buffer.from(this.buf.subarray(0, this.pos));
  }

  private ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    const next = Buffer.alloc(Math.max(this.buf.length * 2, this.pos + n));
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }

  u8(v: number): void {
    this.ensure(1);
    this.buf[this.pos++] = v & 0xff;
  }
  u16(v: number): void {
    this.ensure(2);
    this.buf.writeUInt16BE(v & 0xffff, this.pos);
    this.pos += 2;
  }
  u32(v: number): void {
    this.ensure(4);
    this.buf.writeUInt32BE(v >>> 0, this.pos);
    this.pos += 4;
  }
  raw(b: Uint8Array): void {
    this.ensure(b.length);
    this.buf.set(b, this.pos);
    this.pos += b.length;
  }
  charString(b: Buffer): void {
    this.u8(b.length);
    this.raw(b);
  }

  name(name: string, compress: boolean): void {
    if (compress && name === this.qname && this.qnameOffset < 0x4000) {
      this.u16(0xc000 | this.qnameOffset);
      return;
    }
    const labels = nameLabels(name);
    for (let i = 0; i < labels.length; i++) {
      const key = labels
        .slice(i)
        .map((l) => String.fromCharCode(l.length) + l.toLowerCase())
        .join('');
      const known = compress ? this.names.get(key) : undefined;
      if (known !== undefined) {
        this.u16(0xc000 | known);
        return;
      }
      const abs = this.base + this.pos;
      if (abs < 0x4000 && !this.names.has(key)) this.names.set(key, abs);
      const label = Buffer.from(labels[i]!, 'latin1');
      this.u8(label.length);
      this.raw(label);
    }
    this.u8(0);
  }

  /** Writes one resource record. */
  rr(owner: string, type: number, cls: number, ttl: number, rdata: RData): void {
    this.name(owner, true);
    this.u16(type);
    this.u16(cls);
    this.u32(ttl);
    const lenAt = this.pos;
    this.u16(0);
    this.rdata(rdata, COMPRESSIBLE_RDATA.has(type));
    this.buf.writeUInt16BE(this.pos - lenAt - 2, lenAt);
  }

  private rdata(r: RData, compress: boolean): void {
    switch (r.type) {
      case 1:
        if (!isIPv4(r.address)) throw new Error(`bad IPv4 address ${r.address}`);
        for (const part of r.address.split('.')) this.u8(Number(part));
        return;
      case 28:
        if (!isIPv6(r.address)) throw new Error(`bad IPv6 address ${r.address}`);
        this.raw(ipv6Bytes(r.address));
        return;
      case 2:
      case 5:
      case 12:
        this.name(r.target, compress);
        return;
      case 6:
        this.name(r.mname, compress);
        this.name(r.rname, compress);
        this.u32(r.serial);
        this.u32(r.refresh);
        this.u32(r.retry);
        this.u32(r.expire);
        this.u32(r.minimum);
        return;
      case 13:
        this.charString(r.cpu);
        this.charString(r.os);
        return;
      case 15:
        this.u16(r.preference);
        this.name(r.exchange, compress);
        return;
      case 16:
        for (const s of r.strings) this.charString(s);
        return;
      case 33:
        this.u16(r.priority);
        this.u16(r.weight);
        this.u16(r.port);
        this.name(r.target, false); // RFC 2782: the SRV target is never compressed
        return;
      case 257:
        this.u8(r.flags);
        this.charString(Buffer.from(r.tag, 'latin1'));
        this.raw(r.value);
        return;
      case 'generic':
        this.raw(r.data);
        return;
    }
  }
}
