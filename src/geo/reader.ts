/**
 * One loaded, validated MaxMind-format database and the lookups the answer path makes on it.
 *
 * The `maxmind` package parses the metadata and decodes records, and its `getWithPrefixLength` is
 * the reference the walk below is checked against. The hot path walks the search tree itself over
 * the same bytes because maxmind's lookup takes only text (split + parseInt per call) and the DNS
 * layer holds the ECS address as bytes: the walk reads two or three bytes per bit and allocates
 * nothing. Decoded records are normalised once per data record; results for a network are made
 * once and shared (frozen), so repeat lookups return the same object.
 *
 * `open` reads and checks the whole file before anything uses it: the metadata, the tree layout,
 * every tree record (a node, "no data", or a pointer inside the data section), the first few
 * thousand distinct data records (decoded through maxmind, whose prefix length must agree with the
 * walk), and a few sample lookups. A truncated or corrupt file throws.
 * @module
 */
import { readFileSync } from 'node:fs';
import { Reader, type CountryResponse } from 'maxmind';
import { normalize } from './adapter.js';
import { formatIPv4, formatIPv6, isIpv4Mapped, parseAddress } from './address.js';
import type { GeoResult, Location } from './types.js';

export interface GeoDatabaseInfo {
  path: string;
  /** `database_type` from the metadata, e.g. `GeoIP2-City` or `country ipvAll`. */
  type: string;
  /** Build time from the metadata, seconds since the epoch. */
  buildEpoch: number;
  ipVersion: 4 | 6;
  recordSize: number;
  nodeCount: number;
  bytes: number;
  /**
   * Whether the records decoded at open name subdivisions: false for a country database, where
   * subdivision rules never match (`meridian check` warns). Decided on up to 4,096 records.
   */
  subdivisions: boolean;
}

const MARKER = Buffer.from([0xab, 0xcd, 0xef, ...Buffer.from('MaxMind.com', 'latin1')]);
/** Distinct data records decoded at open: every one in a country database, a sample of a city one. */
const DECODE_LIMIT = 4096;
const NO_PARENT = 0xffffffff;
/**
 * Bounds on the per-database caches; on reaching one the cache is emptied (cheaper than LRU upkeep,
 * and a refill costs one decode per record or one small object per network).
 */
const LOCATION_CACHE = 1 << 17;
const RESULT_CACHE = 1 << 17;
const SAMPLES = ['1.1.1.1', '8.8.8.8', '81.2.69.160', '2001:4860:4860::8888', '2a00:1450:4001::1'];

export class GeoDatabase {
  readonly description: GeoDatabaseInfo;
  /**
   * Prefix length of the network where the last lookup ended; after a lookup that returned null it
   * is the width of the empty space around the address, which is the ECS scope of "no record"
   * (read it right after the call: lookups are synchronous, so nothing runs in between).
   */
  missPrefixLength = 0;
  private readonly reader: Reader<CountryResponse>;
  private readonly db: Buffer;
  private readonly nodeCount: number;
  private readonly recordSize: number;
  private readonly ipVersion: 4 | 6;
  /** Node where IPv4 addresses start: 0 in an IPv4 tree, the node at ::/96 in an IPv6 tree. */
  private readonly ipv4Start: number;
  private readonly dataEnd: number;
  private readonly locations = new Map<number, Location | null>();
  /** Results by the tree record that ended the walk (a leaf is one network, so one result). */
  private readonly results4 = new Map<number, Cached>();
  private readonly results6 = new Map<number, Cached>();
  private readonly scratch = new Uint8Array(16);

  /** Reads and validates a database file; throws an Error naming the file and the problem. */
  static open(path: string): GeoDatabase {
    let bytes: Buffer;
    try {
      bytes = readFileSync(path);
    } catch (err) {
      throw new Error(`geo database ${path}: ${(err as Error).message}`, { cause: err });
    }
    return GeoDatabase.fromBuffer(bytes, path);
  }

  static fromBuffer(bytes: Buffer, path = '<buffer>'): GeoDatabase {
    try {
      return new GeoDatabase(bytes, path);
    } catch (err) {
      throw new Error(`geo database ${path}: ${(err as Error).message}`, { cause: err });
    }
  }

  private constructor(db: Buffer, path: string) {
    const markerAt = db.lastIndexOf(MARKER);
    if (markerAt < 0) throw new Error('no metadata marker: truncated, or not a MaxMind DB file');
    this.reader = new Reader<CountryResponse>(db);
    const m = this.reader.metadata;
    if (m.binaryFormatMajorVersion !== 2) throw new Error(`binary format ${m.binaryFormatMajorVersion} (only 2 is supported)`);
    if (m.ipVersion !== 4 && m.ipVersion !== 6) throw new Error(`ip_version ${String(m.ipVersion)}`);
    if (!Number.isSafeInteger(m.nodeCount) || m.nodeCount < 1) throw new Error(`node_count ${String(m.nodeCount)}`);
    if (m.searchTreeSize + 16 > markerAt) throw new Error(`search tree (${m.searchTreeSize} bytes) runs past the data section: truncated?`);
    for (let i = m.searchTreeSize; i < m.searchTreeSize + 16; i++) {
      if (db[i] !== 0) throw new Error('no 16-byte separator after the search tree: corrupt');
    }
    this.db = db;
    this.nodeCount = m.nodeCount;
    this.recordSize = m.recordSize;
    this.ipVersion = m.ipVersion;
    this.dataEnd = markerAt - m.searchTreeSize - 16;
    let start = 0;
    if (m.ipVersion === 6) for (let i = 0; i < 96 && start < this.nodeCount; i++) start = this.record(start, 0);
    this.ipv4Start = start;
    this.check();
    let subdivisions = false;
    for (const loc of this.locations.values()) if (loc?.subdivision) subdivisions = true;
    const buildEpoch = m.buildEpoch.getTime() / 1000;
    if (!Number.isFinite(buildEpoch)) throw new Error('no build_epoch in the metadata');
    this.description = {
      path,
      type: String(m.databaseType),
      buildEpoch,
      ipVersion: m.ipVersion,
      recordSize: m.recordSize,
      nodeCount: m.nodeCount,
      bytes: db.length,
      subdivisions,
    };
    for (const s of SAMPLES) if (m.ipVersion === 6 || !s.includes(':')) this.lookup(s);
  }

  /** True when both were read from identical bytes (a reload of an unchanged file). */
  sameBytes(other: GeoDatabase): boolean {
    return this === other || this.db.equals(other.db);
  }

  /**
   * The location of an IPv4 or IPv6 address given as text, or null when the database has none.
   * IPv4-mapped IPv6 text (`::ffff:192.0.2.1`, what a dual-stack socket reports for an IPv4 peer)
   * is looked up as the IPv4 address. Throws a TypeError for text that is not an address.
   */
  lookup(address: string): GeoResult | null {
    const b = this.scratch;
    const family = parseAddress(address, b);
    if (family === 0) throw new TypeError(`not an IP address: ${JSON.stringify(address)}`);
    if (family === 4 || isIpv4Mapped(b)) {
      const o = family === 4 ? 0 : 12;
      return this.lookup4(((b[o]! << 24) | (b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!) >>> 0);
    }
    return this.lookup6(b);
  }

  /**
   * The same lookup from address bytes, as an ECS option carries them: family 1 (IPv4) reads 4
   * bytes, family 2 (IPv6) 16; missing trailing bytes count as zero, so the option's address can be
   * passed as sent. IPv6 bytes are looked up as IPv6 even when IPv4-mapped, so that the prefix
   * length stays in the option's own family.
   */
  lookupBytes(family: 1 | 2, bytes: Uint8Array): GeoResult | null {
    if (family === 1) return this.lookup4((((bytes[0] ?? 0) << 24) | ((bytes[1] ?? 0) << 16) | ((bytes[2] ?? 0) << 8) | (bytes[3] ?? 0)) >>> 0);
    if (bytes.length >= 16) return this.lookup6(bytes);
    const b = this.scratch;
    for (let i = 0; i < 16; i++) b[i] = bytes[i] ?? 0;
    return this.lookup6(b);
  }

  private lookup4(addr: number): GeoResult | null {
    const nodeCount = this.nodeCount;
    let node = this.ipv4Start;
    let slot = -1; // the tree record that ended the walk: (parent node, bit); -1 when there was no step
    let depth = 0;
    for (; depth < 32 && node < nodeCount; depth++) {
      const bit = (addr >>> (31 - depth)) & 1;
      slot = node * 2 + bit;
      node = this.record(node, bit);
    }
    this.missPrefixLength = depth;
    if (node <= nodeCount) return null; // "no data", or a tree deeper than an address (malformed)
    const net = depth === 0 ? 0 : (addr & (-1 << (32 - depth))) >>> 0;
    const hit = this.results4.get(slot);
    if (hit !== undefined && hit.w0 === net && hit.result.prefixLength === depth) return hit.result;
    const loc = this.location(node, depth, () => formatIPv4(addr));
    if (loc === null) return null;
    const result = makeResult(loc, depth, `${formatIPv4(net)}/${depth}`);
    if (this.results4.size >= RESULT_CACHE) this.results4.clear();
    this.results4.set(slot, new Cached(result, net, 0, 0, 0));
    return result;
  }

  private lookup6(b: Uint8Array): GeoResult | null {
    // An IPv4-only database says nothing about any IPv6 address: one empty network, ::/0.
    this.missPrefixLength = 0;
    if (this.ipVersion === 4) return null;
    const nodeCount = this.nodeCount;
    let node = 0;
    let slot = -1;
    let depth = 0;
    for (; depth < 128 && node < nodeCount; depth++) {
      const bit = (b[depth >> 3]! >> (7 - (depth & 7))) & 1;
      slot = node * 2 + bit;
      node = this.record(node, bit);
    }
    this.missPrefixLength = depth;
    if (node <= nodeCount) return null;
    // An aliased subtree (::ffff:0:0/96, 2002::/16 …) is reached by several paths: the same record
    // then stands for several networks, so a cached result counts only for the network it was made for.
    const w0 = masked(b, 0, depth);
    const w1 = masked(b, 1, depth);
    const w2 = masked(b, 2, depth);
    const w3 = masked(b, 3, depth);
    const hit = this.results6.get(slot);
    if (hit !== undefined && hit.w0 === w0 && hit.w1 === w1 && hit.w2 === w2 && hit.w3 === w3 && hit.result.prefixLength === depth) {
      return hit.result;
    }
    const loc = this.location(node, depth, () => formatIPv6(b));
    if (loc === null) return null;
    const result = makeResult(loc, depth, `${formatIPv6(b, depth)}/${depth}`);
    if (this.results6.size >= RESULT_CACHE) this.results6.clear();
    this.results6.set(slot, new Cached(result, w0, w1, w2, w3));
    return result;
  }

  /** Right (bit 1) or left record of a node. */
  private record(node: number, bit: number): number {
    const db = this.db;
    switch (this.recordSize) {
      case 24: {
        const o = node * 6 + bit * 3;
        return (db[o]! << 16) | (db[o + 1]! << 8) | db[o + 2]!;
      }
      case 28: {
        const o = node * 7;
        const mid = db[o + 3]!;
        return bit === 0 ? ((mid & 0xf0) << 20) | (db[o]! << 16) | (db[o + 1]! << 8) | db[o + 2]! : ((mid & 0x0f) << 24) | (db[o + 4]! << 16) | (db[o + 5]! << 8) | db[o + 6]!;
      }
      default:
        return db.readUInt32BE(node * 8 + bit * 4);
    }
  }

  /**
   * The normalised record behind a data pointer. On first sight the record is decoded by maxmind
   * from the address text (made only then), and maxmind's prefix length must equal the walk's.
   */
  private location(pointer: number, depth: number, text: () => string): Location | null {
    const cached = this.locations.get(pointer);
    if (cached !== undefined) return cached;
    const address = text();
    const [raw, prefix] = this.reader.getWithPrefixLength(address);
    if (prefix !== depth || raw === null) {
      throw new Error(`tree walk disagrees with maxmind at ${address}: /${depth} vs /${prefix}${raw === null ? ' (no record)' : ''}`);
    }
    const loc = normalize(raw as unknown);
    if (this.locations.size >= LOCATION_CACHE) this.locations.clear();
    this.locations.set(pointer, loc);
    return loc;
  }

  /**
   * Checks every tree record in file order: a node number, "no data", or a pointer inside the data
   * section. A linear scan (~10 ms per million nodes; a depth-first walk was ten times slower, its
   * reads all over the file). The scan notes each node's parent, so that the first DECODE_LIMIT
   * distinct data records (all of them in a country database) get an address that leads to them:
   * each is decoded through maxmind from that address, normalised, and cross-checked.
   */
  private check(): void {
    const nodeCount = this.nodeCount;
    const limit = nodeCount + 16 + this.dataEnd;
    const parent = new Uint32Array(nodeCount).fill(NO_PARENT);
    const parentBit = new Uint8Array(nodeCount);
    const records = new Map<number, number>(); // data pointer -> node * 2 + bit of one record holding it
    for (let node = 0; node < nodeCount; node++) {
      for (let bit = 0; bit < 2; bit++) {
        const v = this.record(node, bit);
        if (v < nodeCount) {
          if (parent[v] === NO_PARENT && v !== 0) {
            parent[v] = node;
            parentBit[v] = bit;
          }
        } else if (v > nodeCount) {
          if (v >= limit || v < nodeCount + 16) throw new Error(`record ${v} of node ${node} points outside the data section: corrupt`);
          if (records.size < DECODE_LIMIT && !records.has(v)) records.set(v, node * 2 + bit);
        }
      }
    }
    const bits = this.ipVersion === 4 ? 32 : 128;
    const path: number[] = [];
    for (const [pointer, slot] of records) {
      // Climb to the root; a record in a subtree nothing points to is never used, so it is skipped.
      path.length = 0;
      path.push(slot & 1);
      let node = Math.floor(slot / 2);
      while (node !== 0 && parent[node] !== NO_PARENT) {
        if (path.length >= bits) throw new Error(`node ${node} lies deeper than an address: corrupt tree`);
        path.push(parentBit[node]!);
        node = parent[node]!;
      }
      if (node !== 0) continue;
      const b = new Uint8Array(16);
      for (let i = 0; i < path.length; i++) if (path[path.length - 1 - i]) b[i >> 3] |= 0x80 >> (i & 7);
      const text = this.ipVersion === 4 ? formatIPv4(((b[0]! << 24) | (b[1]! << 16) | (b[2]! << 8) | b[3]!) >>> 0) : formatIPv6(b);
      this.location(pointer, path.length, () => text);
    }
  }
}

/** A shared result and the network (four masked 32-bit words) it was made for. */
class Cached {
  constructor(
    readonly result: GeoResult,
    readonly w0: number,
    readonly w1: number,
    readonly w2: number,
    readonly w3: number,
  ) {}
}

/** Word `i` (0-3) of a 16-byte address with the bits past `prefix` cleared. */
function masked(b: Uint8Array, i: number, prefix: number): number {
  const keep = prefix - i * 32;
  if (keep <= 0) return 0;
  const o = i * 4;
  const w = ((b[o]! << 24) | (b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!) >>> 0;
  return keep >= 32 ? w : (w & (-1 << (32 - keep))) >>> 0;
}

/** Results are shared between lookups, hence frozen. Written out: object spread is slower here. */
function makeResult(loc: Location, prefixLength: number, network: string): GeoResult {
  return Object.freeze({
    continent: loc.continent,
    country: loc.country,
    subdivision: loc.subdivision,
    lat: loc.lat,
    lon: loc.lon,
    prefixLength,
    network,
  });
}
