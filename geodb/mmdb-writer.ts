/**
 * A small MaxMind DB (format 2.0) writer for test fixtures: no JavaScript writer exists on npm, and
 * committing a real vendor file would tie the tests to its licence and its changes.
 *
 * Spec: https://maxmind.github.io/MaxMind-DB/ (binary search tree of 24/28/32-bit records, 16 zero
 * bytes, the data section, "\xAB\xCD\xEFMaxMind.com", the metadata map). What this writer does:
 * - IPv4 trees (`ipVersion: 4`) and IPv6 trees (`ipVersion: 6`) where IPv4 networks live at ::/96,
 *   as MaxMind's own databases do, with ::ffff:0:0/96 aliased to that subtree so IPv4-mapped
 *   addresses find the same records (Teredo and 6to4 aliases are left out: fixtures do not need them).
 * - Nested networks: the most specific network wins for the addresses it covers; the rest of the
 *   enclosing network keeps the enclosing record. The output depends only on the set of entries,
 *   not on their order (duplicates are rejected rather than resolved by position).
 * - Data: maps, arrays, utf8 strings, doubles, floats, uint16/32/64, int32, booleans and bytes.
 *   Numbers without a type tag become uint32 (non-negative integers), int32 (negative integers) or
 *   double; `mmdb.double(50)` etc. force a type, as GeoIP2's schema needs. Repeated values (whole
 *   records, sub-maps, keys, strings) are written once and pointed to, as real databases do, so a
 *   reader's pointer handling is exercised too.
 * It is written for clarity, not speed: fixtures have dozens of networks.
 * @module
 */
import { isIPv4, isIPv6 } from 'node:net';

const TYPE = Symbol('mmdb.type');
type TypeName = 'double' | 'float' | 'uint16' | 'uint32' | 'int32' | 'uint64';
export interface Typed {
  readonly [TYPE]: TypeName;
  readonly value: number | bigint;
}
export type MmdbValue = string | number | boolean | bigint | Buffer | Typed | MmdbValue[] | MmdbMap;
export interface MmdbMap {
  [key: string]: MmdbValue;
}

const tag = (t: TypeName, value: number | bigint): Typed => ({ [TYPE]: t, value });
/** Type tags for numbers whose schema type is not what inference would pick. */
export const mmdb = {
  double: (n: number) => tag('double', n),
  float: (n: number) => tag('float', n),
  uint16: (n: number) => tag('uint16', n),
  uint32: (n: number) => tag('uint32', n),
  int32: (n: number) => tag('int32', n),
  uint64: (n: number | bigint) => tag('uint64', BigInt(n)),
};

export interface MmdbEntry {
  /** CIDR text, e.g. `192.0.2.0/24` or `2001:db8::/32`; host bits must be zero. */
  network: string;
  data: MmdbMap;
}

export interface MmdbOptions {
  ipVersion: 4 | 6;
  recordSize?: 24 | 28 | 32;
  databaseType: string;
  /** Seconds since the epoch; fixed by callers that want byte-identical output. */
  buildEpoch: number;
  description?: Record<string, string>;
  languages?: string[];
  /** Alias ::ffff:0:0/96 to the IPv4 subtree (IPv6 trees only). Default true. */
  aliasIpv4Mapped?: boolean;
}

const METADATA_MARKER = Buffer.from([0xab, 0xcd, 0xef, ...Buffer.from('MaxMind.com', 'latin1')]);

// ---- addresses -------------------------------------------------------------------------------

/** Address text to bytes (4 or 16). Independent of src/geo's parser so each can check the other. */
export function addressBytes(text: string): Buffer {
  if (isIPv4(text)) return Buffer.from(text.split('.').map(Number));
  if (!isIPv6(text)) throw new Error(`not an IP address: ${text}`);
  let s = text;
  const dotted = /(\d+\.\d+\.\d+\.\d+)$/.exec(s);
  if (dotted) {
    const b = dotted[1]!.split('.').map(Number);
    s = s.slice(0, dotted.index) + `${((b[0]! << 8) | b[1]!).toString(16)}:${((b[2]! << 8) | b[3]!).toString(16)}`;
  }
  const [head, tail] = s.includes('::') ? s.split('::') : [s, undefined];
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const groups = tail === undefined ? h : [...h, ...Array(8 - h.length - t.length).fill('0'), ...t];
  const out = Buffer.alloc(16);
  groups.forEach((g, i) => out.writeUInt16BE(parseInt(g, 16), i * 2));
  return out;
}

export interface ParsedNetwork {
  family: 4 | 6;
  bytes: Buffer;
  prefix: number;
}

export function parseNetwork(cidr: string): ParsedNetwork {
  const slash = cidr.indexOf('/');
  if (slash < 0) throw new Error(`${cidr}: missing /prefix`);
  const bytes = addressBytes(cidr.slice(0, slash));
  const family = bytes.length === 4 ? 4 : 6;
  const prefix = Number(cidr.slice(slash + 1));
  if (!Number.isInteger(prefix) || prefix < 0 || prefix > bytes.length * 8) throw new Error(`${cidr}: bad prefix length`);
  for (let i = prefix; i < bytes.length * 8; i++) {
    if (bit(bytes, i)) throw new Error(`${cidr}: host bits set (not a network address)`);
  }
  return { family, bytes, prefix };
}

const bit = (bytes: Buffer, i: number): 0 | 1 => ((bytes[i >> 3]! >> (7 - (i & 7))) & 1) as 0 | 1;

// ---- the search tree ---------------------------------------------------------------------------

/** Insertion trie: one node per prefix bit; `data` marks the end of an inserted network. */
interface Trie {
  child: [Trie | undefined, Trie | undefined];
  data?: MmdbMap;
  network?: string;
}
/** Final tree: a record is a node, a data record, or "no data". */
type Rec = { node: Node } | { data: MmdbMap } | null;
interface Node {
  rec: [Rec, Rec];
}

function buildTree(entries: readonly MmdbEntry[], opts: MmdbOptions): Node {
  const depth = opts.ipVersion === 4 ? 32 : 128;
  const alias = opts.ipVersion === 6 && opts.aliasIpv4Mapped !== false;
  const root: Trie = { child: [undefined, undefined] };
  for (const e of entries) {
    const n = parseNetwork(e.network);
    let bits: Buffer = n.bytes;
    let prefix = n.prefix;
    if (n.family === 6 && opts.ipVersion === 4) throw new Error(`${e.network}: IPv6 network in an IPv4 database`);
    if (n.family === 4 && opts.ipVersion === 6) {
      bits = Buffer.concat([Buffer.alloc(12), n.bytes]); // IPv4 lives at ::/96
      prefix += 96;
    }
    if (alias && prefix > 80 && bits.subarray(0, 10).every((b) => b === 0) && bits.readUInt16BE(10) === 0xffff) {
      throw new Error(`${e.network}: inside ::ffff:0:0/96, which aliases the IPv4 space`);
    }
    let t = root;
    for (let i = 0; i < prefix; i++) {
      const b = bit(bits, i);
      t = t.child[b] ??= { child: [undefined, undefined] };
    }
    if (t.data) throw new Error(`${e.network}: duplicate network (also ${t.network})`);
    t.data = e.data;
    t.network = e.network;
  }

  // Push each network's record down to the slots that no more specific network claims.
  const finalize = (t: Trie | undefined, inherited: MmdbMap | undefined, d: number): Rec => {
    const data = t?.data ?? inherited;
    if (!t || (!t.child[0] && !t.child[1]) || d === depth) return data ? { data } : null;
    return { node: { rec: [finalize(t.child[0], data, d + 1), finalize(t.child[1], data, d + 1)] } };
  };
  const top = finalize(root, undefined, 0);
  const rootNode: Node = top && 'node' in top ? top.node : { rec: [top, top] };

  if (alias) {
    // Find the record for ::/96, then hang it at ::ffff:0:0/96 (80 zero bits, 16 one bits).
    let r: Rec = { node: rootNode };
    for (let i = 0; i < 96 && r && 'node' in r; i++) r = r.node.rec[0];
    let n = rootNode;
    for (let i = 0; i < 95; i++) {
      const b = i < 80 ? 0 : 1;
      const next = n.rec[b];
      if (next && 'node' in next) n = next.node;
      else n = (n.rec[b] = { node: { rec: [next, next] } }).node; // split a leaf along the path
    }
    n.rec[1] = r;
  }
  return rootNode;
}

// ---- data section encoding ---------------------------------------------------------------------

const T = { pointer: 1, utf8: 2, double: 3, bytes: 4, uint16: 5, uint32: 6, map: 7, int32: 8, uint64: 9, array: 11, boolean: 14, float: 15 };

function control(type: number, size: number): Buffer {
  let sizeBits: number;
  let ext: number[];
  if (size < 29) [sizeBits, ext] = [size, []];
  else if (size < 285) [sizeBits, ext] = [29, [size - 29]];
  else if (size < 65821) [sizeBits, ext] = [30, [(size - 285) >> 8, (size - 285) & 0xff]];
  else [sizeBits, ext] = [31, [((size - 65821) >> 16) & 0xff, ((size - 65821) >> 8) & 0xff, (size - 65821) & 0xff]];
  return type <= 7 ? Buffer.from([(type << 5) | sizeBits, ...ext]) : Buffer.from([sizeBits, type - 7, ...ext]);
}

function pointer(p: number): Buffer {
  if (p < 2048) return Buffer.from([0x20 | (p >> 8), p & 0xff]);
  if (p < 526336) {
    const q = p - 2048;
    return Buffer.from([0x28 | (q >> 16), (q >> 8) & 0xff, q & 0xff]);
  }
  if (p < 526336 + 2 ** 27) {
    const q = p - 526336;
    return Buffer.from([0x30 | (q >>> 24), (q >> 16) & 0xff, (q >> 8) & 0xff, q & 0xff]);
  }
  const b = Buffer.alloc(5);
  b[0] = 0x38;
  b.writeUInt32BE(p, 1);
  return b;
}

/** Minimal big-endian bytes of an unsigned integer (zero is zero bytes). */
function uintBytes(v: bigint, max: number): Buffer {
  if (v < 0n || v >= 1n << BigInt(max * 8)) throw new Error(`integer ${v} out of range for ${max * 8} bits`);
  const out: number[] = [];
  for (let x = v; x > 0n; x >>= 8n) out.unshift(Number(x & 0xffn));
  return Buffer.from(out);
}

function scalar(type: number, payload: Buffer): Buffer {
  return Buffer.concat([control(type, payload.length), payload]);
}

function isTyped(v: unknown): v is Typed {
  return typeof v === 'object' && v !== null && TYPE in v;
}

/** A key that is equal for values that encode identically, used to write each value once. */
function identity(v: MmdbValue): string {
  if (typeof v === 'string') return `s${JSON.stringify(v)}`;
  if (typeof v !== 'object') return `${typeof v}:${String(v)}`;
  if (Buffer.isBuffer(v)) return `x${v.toString('hex')}`;
  if (isTyped(v)) return `${v[TYPE]}:${String(v.value)}`;
  if (Array.isArray(v)) return `[${v.map(identity).join(',')}]`;
  return `{${Object.keys(v)
    .map((k) => `${JSON.stringify(k)}:${identity(v[k]!)}`)
    .join(',')}}`;
}

class DataWriter {
  readonly chunks: Buffer[] = [];
  length = 0;
  private readonly seen = new Map<string, number>();
  constructor(private readonly dedupe: boolean) {}

  private push(b: Buffer): void {
    this.chunks.push(b);
    this.length += b.length;
  }

  /** Writes `v` (or a pointer to an earlier copy); returns the offset it can be found at. */
  write(v: MmdbValue): number {
    const big = typeof v === 'object' || (typeof v === 'string' && Buffer.byteLength(v) > 3);
    const key = this.dedupe && big ? identity(v) : undefined;
    const prior = key === undefined ? undefined : this.seen.get(key);
    if (prior !== undefined) {
      this.push(pointer(prior));
      return prior;
    }
    const at = this.length;
    if (key !== undefined) this.seen.set(key, at);
    this.encode(v);
    return at;
  }

  private encode(v: MmdbValue): void {
    if (typeof v === 'string') return this.push(scalar(T.utf8, Buffer.from(v, 'utf8')));
    if (typeof v === 'boolean') return this.push(control(T.boolean, v ? 1 : 0));
    if (typeof v === 'bigint') return this.push(scalar(T.uint64, uintBytes(v, 8)));
    if (typeof v === 'number') {
      if (Number.isInteger(v) && v >= 0 && v < 2 ** 32) return this.encode(mmdb.uint32(v));
      if (Number.isInteger(v) && v < 0 && v >= -(2 ** 31)) return this.encode(mmdb.int32(v));
      return this.encode(mmdb.double(v));
    }
    if (Buffer.isBuffer(v)) return this.push(scalar(T.bytes, v));
    if (isTyped(v)) {
      const t = v[TYPE];
      const n = v.value;
      const b = Buffer.alloc(8);
      switch (t) {
        case 'double':
          b.writeDoubleBE(Number(n));
          return this.push(scalar(T.double, b));
        case 'float':
          b.writeFloatBE(Number(n));
          return this.push(scalar(T.float, b.subarray(0, 4)));
        case 'uint16':
          return this.push(scalar(T.uint16, uintBytes(BigInt(n), 2)));
        case 'uint32':
          return this.push(scalar(T.uint32, uintBytes(BigInt(n), 4)));
        case 'uint64':
          return this.push(scalar(T.uint64, uintBytes(BigInt(n), 8)));
        case 'int32':
          // Negative values need all four bytes: readers sign-extend only a full-width int32.
          if (Number(n) >= 0) return this.push(scalar(T.int32, uintBytes(BigInt(n), 4)));
          b.writeInt32BE(Number(n));
          return this.push(scalar(T.int32, b.subarray(0, 4)));
      }
    }
    if (Array.isArray(v)) {
      this.push(control(T.array, v.length));
      for (const x of v) this.write(x);
      return;
    }
    const keys = Object.keys(v);
    this.push(control(T.map, keys.length));
    for (const k of keys) {
      this.write(k);
      this.write(v[k]!);
    }
  }
}

// ---- the file ----------------------------------------------------------------------------------

/** Builds a complete .mmdb file. Deterministic: same entries and options, same bytes. */
export function writeMmdb(entries: readonly MmdbEntry[], opts: MmdbOptions): Buffer {
  const recordSize = opts.recordSize ?? 24;
  if (![24, 28, 32].includes(recordSize)) throw new Error(`record size ${recordSize} is not 24, 28 or 32`);
  const root = buildTree(entries, opts);

  // Number the nodes breadth-first from the root (node 0); an aliased subtree is numbered once.
  const number = new Map<Node, number>();
  const order: Node[] = [];
  for (const queue = [root]; queue.length;) {
    const n = queue.shift()!;
    if (number.has(n)) continue;
    number.set(n, order.length);
    order.push(n);
    for (const r of n.rec) if (r && 'node' in r && !number.has(r.node)) queue.push(r.node);
  }
  const nodeCount = order.length;

  // Data records in tree order, so the layout does not depend on the order of `entries`.
  const data = new DataWriter(true);
  const offsets = new Map<MmdbMap, number>();
  const value = (r: Rec): number => {
    if (r === null) return nodeCount;
    if ('node' in r) return number.get(r.node)!;
    let off = offsets.get(r.data);
    if (off === undefined) offsets.set(r.data, (off = data.write(r.data)));
    return nodeCount + 16 + off;
  };
  const values = order.map((n) => [value(n.rec[0]), value(n.rec[1])] as const);
  const maxValue = 2 ** recordSize - 1;

  const nodeBytes = recordSize / 4;
  const tree = Buffer.alloc(nodeCount * nodeBytes);
  values.forEach(([l, r], i) => {
    if (l > maxValue || r > maxValue) throw new Error(`record value ${Math.max(l, r)} does not fit ${recordSize} bits`);
    const o = i * nodeBytes;
    if (recordSize === 24) {
      tree.writeUIntBE(l, o, 3);
      tree.writeUIntBE(r, o + 3, 3);
    } else if (recordSize === 28) {
      // The middle byte holds the high nibbles: left's in its top half, right's in its bottom half.
      tree.writeUIntBE(l & 0xffffff, o, 3);
      tree[o + 3] = ((l >>> 24) << 4) | (r >>> 24);
      tree.writeUIntBE(r & 0xffffff, o + 4, 3);
    } else {
      tree.writeUInt32BE(l, o);
      tree.writeUInt32BE(r, o + 4);
    }
  });

  const meta = new DataWriter(false);
  meta.write({
    binary_format_major_version: mmdb.uint16(2),
    binary_format_minor_version: mmdb.uint16(0),
    build_epoch: mmdb.uint64(opts.buildEpoch),
    database_type: opts.databaseType,
    description: opts.description ?? {},
    ip_version: mmdb.uint16(opts.ipVersion),
    languages: opts.languages ?? ['en'],
    node_count: mmdb.uint32(nodeCount),
    record_size: mmdb.uint16(recordSize),
  });
  return Buffer.concat([tree, Buffer.alloc(16), ...data.chunks, METADATA_MARKER, ...meta.chunks]);
}
