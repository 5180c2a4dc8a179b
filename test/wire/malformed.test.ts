/**
 * Malformed and unusual queries over real sockets: drop vs FORMERR vs NOTIMP vs REFUSED vs BADVERS
 * (anchors.md B4 table, B6 items 1, 2 and 9). Every case checks the action, the header hygiene
 * (ID copied, QR=1, RD and opcode kept), the exact stats counter that moved, and that a valid query
 * right after still gets NOERROR.
 *
 * Origins:
 * - gdnsd t/004misc/019bad.t (UDP, packets #2-#27 as numbered there, #28 TCP pipelining; #29/#30 are
 *   PROXY-protocol cases, which Meridian has no listener for). gdnsd's `example.com` becomes our
 *   apex `gslb.example.com` and `foo.example.com` becomes `www.gslb.example.com`; RD=1 is added so
 *   "RD kept" is tested.
 * - BIND bin/tests/system/formerr/tests_formerr.py (TCP, all 19 byte-exact cases, bytes unchanged).
 *   Where Meridian's documented choice differs from BIND's, the case says so and asserts Meridian's.
 * - Meridian: the remaining rows of the B4 table (opcodes, label types, OPT/ECS rules, classes, meta
 *   types, TSIG, trailing bytes).
 */
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { after, before, describe, it } from 'node:test';
import { tcpExchange, udpExchange } from '../helpers/client.js';
import { C, OPCODE, RC, T, header, labels, name, opt, option, ecsData, pointer, question, rr, u16, u32, wire } from '../helpers/packets.js';
import * as P from '../helpers/packets.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import type { DnsStats } from '../../src/dns/stats.js';

interface Want {
  rcode: number | 'drop';
  /** QDCOUNT of the response; when 1, the question bytes must equal the query's. */
  qd?: 0 | 1;
  /** OPT present (true) or absent (false); unchecked when undefined. */
  opt?: boolean;
  /** Answer records expected (NOERROR cases). */
  answers?: boolean;
  exact?: Buffer;
  check?: (res: Buffer) => void;
}
interface Case {
  name: string;
  msg: Buffer;
  want: Want;
  todo?: string;
}

const OUTCOMES = ['dropped', 'formerr', 'notimp', 'refused', 'badvers', 'noerror', 'nxdomain', 'servfail', 'notauth', 'internalErrors', 'formerrRateLimited', 'notimpRateLimited', 'queries'] as const;
const COUNTER: Record<number, (typeof OUTCOMES)[number]> = {
  [RC.NOERROR]: 'noerror',
  [RC.FORMERR]: 'formerr',
  [RC.NXDOMAIN]: 'nxdomain',
  [RC.NOTIMP]: 'notimp',
  [RC.REFUSED]: 'refused',
  [RC.NOTAUTH]: 'notauth',
  [RC.BADVERS]: 'badvers',
};
const snap = (s: DnsStats): Record<string, number> => Object.fromEntries(OUTCOMES.map((k) => [k, s[k]]));

let srv: TestServer;
before(async () => {
  srv = await startTestServer();
});
after(() => srv.stop());

let nextId = 0x2a00;
const q = (f: P.QueryFields = {}): Buffer => P.query({ id: nextId++, rd: true, ...f });
const withOpt = (o: P.OptFields = {}, f: P.QueryFields = {}): Buffer => q({ ...f, additional: [opt(o)] });
const withEcs = (data: Buffer): Buffer => withOpt({ rdata: option(8, data) });
const cut = (b: Buffer, n: number): Buffer => b.subarray(0, b.length - n);
const hdr = (f: P.HeaderFields): Buffer => header({ id: nextId++, rd: true, ...f });
const APEX = 'gslb.example.com';
const WWW = 'www.gslb.example.com';
const L63 = '012345678901234567890123456789012345678901234567890123456789012';

/** Checks of the OPT in a response. */
const noOptions = (r: Buffer): void => assert.deepEqual(P.readOpt(r)?.options, [], 'no option echoed');
const echoEcs =
  (data: Buffer) =>
  (r: Buffer): void => {
    const o = P.readOpt(r);
    assert.ok(o, 'OPT in response');
    assert.equal(o.options.length, 1, 'only the client-subnet option is echoed');
    assert.equal(o.options[0]!.code, 8);
    // FAMILY, SOURCE and ADDRESS unchanged, SCOPE 0 for static data (RFC 7871 §7.2.1).
    assert.deepEqual(o.options[0]!.data, Buffer.concat([data.subarray(0, 3), Buffer.from([0]), data.subarray(4)]));
  };
const badvers = (r: Buffer): void => {
  const o = P.readOpt(r);
  assert.ok(o, 'OPT in BADVERS response');
  assert.equal(o.version, 0, 'our OPT is version 0');
  assert.equal(o.extRcode, 1, 'extended rcode 1 (BADVERS = 16)');
  const h = P.readHeader(r);
  assert.deepEqual([h.ancount, h.nscount, h.arcount], [0, 0, 1], 'empty sections, only the OPT');
};

async function exchange(msg: Buffer, via: 'udp' | 'tcp', waitMs: number): Promise<Buffer | null> {
  if (via === 'udp') return udpExchange(srv.port, msg, { timeoutMs: waitMs });
  const [res] = await tcpExchange(srv.tcpPort, [msg], { timeoutMs: waitMs });
  return res ?? null;
}

async function runCase(c: Case, via: 'udp' | 'tcp'): Promise<void> {
  const stats = srv.node.responder.stats;
  const before = snap(stats);
  const res = await exchange(c.msg, via, c.want.rcode === 'drop' ? 300 : 1500);
  const delta = Object.fromEntries(OUTCOMES.map((k) => [k, stats[k] - before[k]!]).filter(([, v]) => v !== 0));
  const counter = c.want.rcode === 'drop' ? 'dropped' : COUNTER[c.want.rcode]!;
  if (c.want.rcode === 'drop') {
    assert.equal(res, null, 'no response expected');
  } else {
    assert.ok(res, 'a response expected');
    const h = P.readHeader(res);
    const sent = P.readHeader(Buffer.concat([c.msg, Buffer.alloc(12)]));
    assert.equal(h.id, sent.id, 'ID copied');
    assert.equal(h.qr, true, 'QR=1');
    assert.equal(h.rd, sent.rd, 'RD kept');
    assert.equal(h.opcode, sent.opcode, 'opcode kept');
    assert.equal(h.tc, false, 'not truncated');
    assert.equal(P.fullRcode(res), c.want.rcode, 'rcode');
    if (c.want.exact) assert.deepEqual(res, c.want.exact, 'byte-exact response');
    if (c.want.qd !== undefined) assert.equal(h.qdcount, c.want.qd, 'QDCOUNT');
    if (c.want.qd === 1) assert.deepEqual(P.questionBytes(res), c.msg.subarray(12, P.skipName(c.msg, 12) + 4), 'question echoed byte for byte');
    if (c.want.opt !== undefined) assert.equal(P.readOpt(res) !== null, c.want.opt, 'OPT presence');
    if (c.want.answers) assert.ok(h.ancount > 0, 'answer records');
    else assert.equal(h.ancount, 0, 'no answer records');
    if (c.want.rcode === RC.REFUSED) assert.equal(h.aa, false, 'AA=0 on REFUSED');
    c.want.check?.(res);
  }
  assert.deepEqual(delta, { queries: 1, [counter]: 1 }, 'stats: exactly one query and one outcome counter');
  const ok = await exchange(q({ qname: WWW }), via, 1500);
  assert.ok(ok, 'valid query after the case is answered');
  assert.equal(P.readHeader(ok).rcode, RC.NOERROR);
  assert.equal(P.readHeader(ok).ancount, 2);
}

// ---------------------------------------------------------------------------------------------
// gdnsd t/004misc/019bad.t — make_query(qname, qdcount, ancount, nscount, arcount, qtype, qclass)
const g = (qn: string | Buffer, qd = 1, an = 0, ns = 0, ar = 0, qtype = 1, qclass = 1): Buffer => wire(hdr({ qdcount: qd, ancount: an, nscount: ns, arcount: ar }), question(qn, qtype, qclass));
const GOPT = Buffer.from('0000290200000000000000', 'hex'); // root, OPT, 512, ttl 0, rdlen 0
const gdnsd: Case[] = [
  { name: '#2 valid query (apex A, NODATA)', msg: g(APEX), want: { rcode: RC.NOERROR, qd: 1, opt: false } },
  { name: '#3 compressed label in question name', msg: g(Buffer.from('\x03ggg\xc0\x01', 'latin1')), want: { rcode: RC.FORMERR, qd: 0 } },
  { name: '#4 question name illegally long (5 x 63)', msg: g(labels(L63, L63, L63, L63, L63)), want: { rcode: RC.FORMERR, qd: 0 } },
  { name: '#5 truncated before qclass ended', msg: cut(g('ggg'), 1), want: { rcode: RC.FORMERR, qd: 0 } },
  { name: '#6 truncated before qtype ended', msg: cut(g('ggg'), 3), want: { rcode: RC.FORMERR, qd: 0 } },
  { name: '#7 truncated before qname ended', msg: cut(g('ggg.zzz'), 5), want: { rcode: RC.FORMERR, qd: 0 } },
  { name: '#8 too-short OPT RR at the end', msg: wire(g('ggg', 1, 0, 0, 1), [0, 0, 0]), want: { rcode: RC.FORMERR, qd: 1, opt: false } },
  { name: '#9 OPT with UDP size 1 (ggg. is not ours)', msg: wire(g('ggg', 1, 0, 0, 1), Buffer.from('0000290001000000000000', 'hex')), want: { rcode: RC.REFUSED, qd: 1, opt: true, check: noOptions } },
  { name: '#10 IXFR (gdnsd NOTIMP; Meridian REFUSED, B4 zone transfer)', msg: g(APEX, 1, 0, 0, 0, T.IXFR), want: { rcode: RC.REFUSED, qd: 1 } },
  { name: '#11 CLASS=HS', msg: g(APEX, 1, 0, 0, 0, 1, C.HS), want: { rcode: RC.REFUSED, qd: 1 } },
  { name: '#12 QCLASS=ANY works just like IN', msg: g(WWW, 1, 0, 0, 0, 1, C.ANY), want: { rcode: RC.NOERROR, qd: 1, answers: true } },
  { name: '#13 QDCOUNT=2 but only 1 question', msg: g(APEX, 2), want: { rcode: RC.FORMERR, qd: 0 } },
  { name: '#14 QDCOUNT=2, 2nd question truncated mid-label', msg: wire(g(APEX, 2), Buffer.from('\x07abc', 'latin1')), want: { rcode: RC.FORMERR, qd: 0 } },
  { name: '#15 QDCOUNT=2, 2nd question truncated in type/class', msg: wire(g(APEX, 2), Buffer.from('\x07example\x00\x00\x01', 'latin1')), want: { rcode: RC.FORMERR, qd: 0 } },
  { name: '#16 QDCOUNT=2, 2nd question name illegally long', msg: wire(g(APEX, 2), labels(L63, L63, L63, L63).subarray(0, -1), [0, 0, 0, 0, 0]), want: { rcode: RC.FORMERR, qd: 0 } },
  { name: '#17 duplicate OPT record', msg: wire(g(APEX, 1, 0, 0, 2), GOPT, GOPT), want: { rcode: RC.FORMERR, qd: 1, opt: true } },
  { name: '#18 answer record with a dangling partial pointer', msg: wire(g(APEX, 1, 1), Buffer.from('\x07example\xc0', 'latin1')), want: { rcode: RC.FORMERR, qd: 1 } },
  { name: '#19 authority record one byte short of rdlen', msg: wire(g(APEX, 1, 0, 1), Buffer.from('c00c000100010000000100', 'hex')), want: { rcode: RC.FORMERR, qd: 1 } },
  { name: '#20 authority record one byte short of rdata', msg: wire(g(APEX, 1, 0, 1), Buffer.from('c00c00010001000000010004010202', 'hex')), want: { rcode: RC.FORMERR, qd: 1 } },
  { name: '#21 OPT version 1 -> BADVERS', msg: wire(g(APEX, 1, 0, 0, 1), Buffer.from('0000290200000100000000', 'hex')), want: { rcode: RC.BADVERS, qd: 1, opt: true, check: badvers } },
  { name: '#22 OPT rdlen past the end of the packet', msg: wire(g(APEX, 1, 0, 0, 1), Buffer.from('0000290200000000000001', 'hex')), want: { rcode: RC.FORMERR, qd: 1 } },
  {
    name: '#23 OPT rdata too short for optcode+optlen',
    msg: wire(g(APEX, 1, 0, 0, 1), Buffer.from('0000290200000000000003787878', 'hex')),
    want: { rcode: RC.FORMERR, qd: 1, opt: true, check: noOptions },
  },
  { name: '#24 option length overruns the OPT rdata', msg: wire(g(APEX, 1, 0, 0, 1), Buffer.from('00002902000000000000055555000201', 'hex')), want: { rcode: RC.FORMERR, qd: 1, opt: true } },
  {
    name: '#25 OPT followed by another additional record',
    msg: wire(g(WWW, 1, 0, 0, 2), GOPT, rr('example', T.A, C.IN, 255, Buffer.from([1, 2, 3, 4]))),
    want: { rcode: RC.NOERROR, qd: 1, opt: true, answers: true },
  },
  {
    name: '#26 OPT after another additional record',
    msg: wire(g(WWW, 1, 0, 0, 2), rr('example', T.A, C.IN, 255, Buffer.from([1, 2, 3, 4])), GOPT),
    want: { rcode: RC.NOERROR, qd: 1, opt: true, answers: true },
  },
  {
    name: '#27 two COOKIE options, REFUSED name (cookies ignored, not echoed)',
    msg: wire(g('foo', 1, 0, 0, 1), opt({ udpSize: 512, rdata: wire(option(10, Buffer.from('0123456789abcdef', 'hex')), option(10, Buffer.from('fedcba9876543210', 'hex'))) })),
    want: { rcode: RC.REFUSED, qd: 1, opt: true, check: noOptions },
  },
];

// ---------------------------------------------------------------------------------------------
// BIND bin/tests/system/formerr/tests_formerr.py — byte-exact, over TCP, as there.
const FH = (f: P.HeaderFields = {}): Buffer => header({ qr: true, rcode: RC.FORMERR, ...f });
const AAA = name('AAAAAAAAAAAAAA.');
const ROOT = name('.');
const oversized = labels(...Array.from({ length: 15 }, () => 'A'.repeat(15)), 'A'.repeat(14));
const soaRr = (min: number): Buffer => rr(ROOT, T.SOA, C.IN, 1, wire(ROOT, ROOT, u32(1), u32(2), u32(3), u32(4), u32(min)));
const aRr = (owner = ROOT): Buffer => rr(owner, T.A, C.IN, 1, Buffer.alloc(4));
const tsigRr = (cls: number = C.ANY): Buffer => rr(ROOT, T.TSIG, cls, 1, wire(ROOT, Buffer.from('010203040506', 'hex'), u16(0x0102), u16(1), [0], u16(0), u16(0), u16(0)));
const bind: Case[] = [
  { name: 'nametoolong', msg: wire(header({ qdcount: 1 }), question(oversized)), want: { rcode: RC.FORMERR, exact: FH() } },
  { name: 'twoquestionnames', msg: wire(header({ qdcount: 2 }), question(AAA), question(wire(AAA, name('AAAAAAAAAAAAAB.')))), want: { rcode: RC.FORMERR, exact: FH() } },
  { name: 'twoquestiontypes (BIND echoes both questions; Meridian QDCOUNT 0)', msg: wire(header({ qdcount: 2 }), question(AAA), question(AAA, T.NS)), want: { rcode: RC.FORMERR, exact: FH() } },
  { name: 'dupquestion', msg: wire(header({ qdcount: 2 }), question(AAA), question(AAA)), want: { rcode: RC.FORMERR, exact: FH() } },
  {
    name: 'dupans (question echoed, as BIND does)',
    msg: wire(header({ qdcount: 1, ancount: 2 }), question(ROOT, T.SOA), soaRr(5), soaRr(6)),
    want: { rcode: RC.FORMERR, exact: wire(FH({ qdcount: 1 }), question(ROOT, T.SOA)) },
  },
  { name: 'qtypeasanswer', msg: wire(header({ ancount: 1 }), rr(ROOT, T.MAILB, C.IN, 1)), want: { rcode: RC.FORMERR, exact: FH() } },
  { name: 'noquestions', msg: header(), want: { rcode: RC.FORMERR, exact: FH() } },
  {
    name: 'badnsec3owner (BIND SERVFAIL; Meridian FORMERR: authority in a query, question echoed)',
    msg: wire(header({ qdcount: 1, nscount: 1 }), question(ROOT), rr(name('X.'), T.NSEC3, C.IN, 1, Buffer.from([240, 0, 0, 0, 0, 1, 0xff]))),
    want: { rcode: RC.FORMERR, exact: wire(FH({ qdcount: 1 }), question(ROOT)) },
  },
  { name: 'shortrecord', msg: wire(header({ arcount: 1 }), question(ROOT)), want: { rcode: RC.FORMERR, exact: FH() } },
  { name: 'shortquestion', msg: wire(header({ qdcount: 1 }), ROOT, u16(T.A)), want: { rcode: RC.FORMERR, exact: FH() } },
  { name: 'twoquestionclasses', msg: wire(header({ qdcount: 2 }), question(ROOT), question(ROOT, T.A, 2)), want: { rcode: RC.FORMERR, exact: FH() } },
  { name: 'badrecordname', msg: wire(header({ arcount: 1 }), aRr(oversized)), want: { rcode: RC.FORMERR, exact: FH() } },
  { name: 'wrongclass', msg: wire(header({ arcount: 2 }), aRr(), rr(ROOT, 65280, 256, 1, Buffer.alloc(4))), want: { rcode: RC.FORMERR, exact: FH() } },
  {
    name: 'keyclass (BIND FORMERR; Meridian ignores the KEY, root is not ours -> REFUSED)',
    msg: wire(header({ qdcount: 1, arcount: 1 }), question(ROOT), rr(ROOT, T.KEY, 2, 1, Buffer.from([0, 0, 0, 248, 0]))),
    want: { rcode: RC.REFUSED, exact: wire(header({ qr: true, rcode: RC.REFUSED, qdcount: 1 }), question(ROOT)) },
  },
  { name: 'optwrongname', msg: wire(header({ arcount: 1 }), rr(name('A.'), T.OPT, C.IN, 0)), want: { rcode: RC.FORMERR, exact: FH() } },
  {
    name: 'malformedrrsig',
    msg: wire(header({ arcount: 1 }), rr(ROOT, T.RRSIG, C.IN, 1, wire(u16(0), [240, 0], u32(1), u32(2), u32(3), u16(0), ROOT, [0]))),
    want: { rcode: RC.FORMERR, exact: FH() },
  },
  {
    name: 'malformeddeltype (UPDATE: BIND FORMERR; Meridian NOTIMP, opcode kept)',
    msg: wire(header({ opcode: OPCODE.UPDATE, nscount: 1 }), rr(ROOT, T.A, C.ANY, 0, Buffer.from([0]))),
    want: { rcode: RC.NOTIMP, exact: header({ qr: true, opcode: OPCODE.UPDATE, rcode: RC.NOTIMP }) },
  },
  { name: 'tsigwrongclass', msg: wire(header({ arcount: 1 }), tsigRr(C.IN)), want: { rcode: RC.FORMERR, exact: FH() } },
  { name: 'tsignotlast (message ID 67 preserved)', msg: wire(header({ id: 67, arcount: 2 }), tsigRr(), aRr()), want: { rcode: RC.FORMERR, exact: FH({ id: 67 }) } },
];

// ---------------------------------------------------------------------------------------------
// Meridian: the rest of the B4 table.
const v4 = (src: number, addr: number[]): Buffer => ecsData(1, src, 0, addr);
const v6 = (src: number, bytes: number): Buffer =>
  ecsData(
    2,
    src,
    0,
    Array.from({ length: bytes }, (_, i) => (i === bytes - 1 && src % 8 ? 0x80 : 0x20 + i)),
  );
const longName = (total: number): Buffer => {
  // Labels of 63 under gslb.example.com, padded so the whole wire name is `total` bytes.
  const tail = name(APEX);
  let room = total - tail.length;
  const ls: string[] = [];
  while (room > 0) {
    const n = Math.min(63, room - 1);
    ls.push('x'.repeat(n));
    room -= n + 1;
  }
  return wire(labels(...ls).subarray(0, -1), tail);
};
const meridian: Case[] = [
  { name: 'empty datagram -> drop', msg: Buffer.alloc(0), want: { rcode: 'drop' } },
  { name: '1 byte -> drop', msg: Buffer.from([0x2a]), want: { rcode: 'drop' } },
  { name: '11 bytes (short header) -> drop', msg: q().subarray(0, 11), want: { rcode: 'drop' } },
  { name: 'QR=1 query -> drop (no reflection loops)', msg: q({ qr: true }), want: { rcode: 'drop' } },
  { name: 'QR=1 full response-shaped packet -> drop', msg: q({ qr: true, aa: true, ancount: 1, trailing: rr(pointer(12), T.A, C.IN, 60, Buffer.from([192, 0, 2, 1])) }), want: { rcode: 'drop' } },
  ...[OPCODE.IQUERY, OPCODE.STATUS, OPCODE.NOTIFY, OPCODE.UPDATE, 3, 15].map((op): Case => ({
    name: `opcode ${op} -> NOTIMP (opcode echoed)`,
    msg: q({ opcode: op }),
    want: { rcode: RC.NOTIMP, qd: 0 },
  })),
  { name: 'QDCOUNT 0 -> FORMERR', msg: hdr({}), want: { rcode: RC.FORMERR, qd: 0 } },
  { name: 'QDCOUNT 2 (two valid questions) -> FORMERR', msg: wire(hdr({ qdcount: 2 }), question(WWW), question(APEX)), want: { rcode: RC.FORMERR, qd: 0 } },
  { name: 'ANCOUNT 1 -> FORMERR, question echoed', msg: q({ ancount: 1, trailing: aRr() }), want: { rcode: RC.FORMERR, qd: 1 } },
  { name: 'NSCOUNT 1 -> FORMERR, question echoed', msg: q({ nscount: 1, trailing: aRr() }), want: { rcode: RC.FORMERR, qd: 1 } },
  { name: 'pointer as the whole qname -> FORMERR', msg: q({ qname: wire(pointer(12)) }), want: { rcode: RC.FORMERR, qd: 0 } },
  { name: 'pointer loop in qname (points at itself) -> FORMERR', msg: q({ qname: wire([3], Buffer.from('www'), pointer(12)) }), want: { rcode: RC.FORMERR, qd: 0 } },
  { name: 'label type 0x40 (extended label) -> FORMERR', msg: q({ qname: wire([0x41, 0x00], name(APEX)) }), want: { rcode: RC.FORMERR, qd: 0 } },
  { name: 'label type 0x80 (reserved) -> FORMERR', msg: q({ qname: wire([0x81, 0x61], name(APEX)) }), want: { rcode: RC.FORMERR, qd: 0 } },
  { name: 'qname of exactly 255 bytes is valid (NXDOMAIN)', msg: q({ qname: longName(255) }), want: { rcode: RC.NXDOMAIN, qd: 1 } },
  { name: 'qname of 256 bytes -> FORMERR', msg: q({ qname: longName(256) }), want: { rcode: RC.FORMERR, qd: 0 } },
  { name: 'qname label of 64 bytes (0x40 length) -> FORMERR', msg: q({ qname: wire([64], Buffer.alloc(64, 0x61), name(APEX)) }), want: { rcode: RC.FORMERR, qd: 0 } },
  { name: 'truncated qtype -> FORMERR', msg: cut(q(), 3), want: { rcode: RC.FORMERR, qd: 0 } },
  { name: 'two OPT records -> FORMERR', msg: q({ additional: [opt(), opt()] }), want: { rcode: RC.FORMERR, qd: 1, opt: true } },
  { name: 'OPT owner not root -> FORMERR', msg: q({ additional: [opt({ owner: name('a') })] }), want: { rcode: RC.FORMERR, qd: 1, opt: false } },
  { name: 'OPT rdlen past end -> FORMERR', msg: withOpt({ rdlen: 8 }), want: { rcode: RC.FORMERR, qd: 1 } },
  { name: 'option TLV truncated (2 bytes) -> FORMERR', msg: withOpt({ rdata: Buffer.from([0, 8]) }), want: { rcode: RC.FORMERR, qd: 1, opt: true } },
  { name: 'unknown option 100 -> NOERROR, not echoed', msg: withOpt({ rdata: option(100, [1, 2, 3]) }), want: { rcode: RC.NOERROR, qd: 1, opt: true, answers: true, check: noOptions } },
  { name: 'EDNS version 1 -> BADVERS, OPT v0, empty sections', msg: withOpt({ version: 1 }), want: { rcode: RC.BADVERS, qd: 1, opt: true, check: badvers } },
  {
    name: 'EDNS version 255 with a broken ECS -> BADVERS (options not read)',
    msg: withOpt({ version: 255, rdata: option(8, [0, 3]) }),
    want: { rcode: RC.BADVERS, qd: 1, opt: true, check: (r) => (badvers(r), noOptions(r)) },
  },
  {
    name: 'EDNS version 1 with DO -> BADVERS, DO echoed',
    msg: withOpt({ version: 1, flags: 0x8000 }),
    want: { rcode: RC.BADVERS, qd: 1, check: (r) => (badvers(r), assert.equal(P.readOpt(r)!.flags, 0x8000)) },
  },
  {
    name: 'DO + unknown flag 0x4000 -> DO echoed, MBZ cleared',
    msg: withOpt({ flags: 0xc000 }),
    want: { rcode: RC.NOERROR, qd: 1, answers: true, check: (r) => assert.equal(P.readOpt(r)!.flags, 0x8000) },
  },
  // ECS FORMERR rules (RFC 7871 §6, gdnsd handle_edns_client_subnet)
  { name: 'ECS option shorter than 4 bytes -> FORMERR', msg: withEcs(Buffer.from([0, 1, 24])), want: { rcode: RC.FORMERR, qd: 1, opt: true, check: noOptions } },
  { name: 'ECS non-zero SCOPE in a query -> FORMERR', msg: withEcs(ecsData(1, 24, 24, [192, 0, 2])), want: { rcode: RC.FORMERR, qd: 1, opt: true, check: noOptions } },
  { name: 'ECS family 3 -> FORMERR', msg: withEcs(ecsData(3, 0, 0, [])), want: { rcode: RC.FORMERR, qd: 1, opt: true, check: noOptions } },
  { name: 'ECS family 0 -> FORMERR', msg: withEcs(ecsData(0, 0, 0, [])), want: { rcode: RC.FORMERR, qd: 1, opt: true, check: noOptions } },
  { name: 'ECS v4 source 33 -> FORMERR', msg: withEcs(ecsData(1, 33, 0, [192, 0, 2, 1, 0])), want: { rcode: RC.FORMERR, qd: 1, opt: true, check: noOptions } },
  { name: 'ECS v6 source 129 -> FORMERR', msg: withEcs(ecsData(2, 129, 0, Buffer.alloc(17))), want: { rcode: RC.FORMERR, qd: 1, opt: true, check: noOptions } },
  { name: 'ECS v4/24 with 4 address bytes -> FORMERR', msg: withEcs(ecsData(1, 24, 0, [192, 0, 2, 0])), want: { rcode: RC.FORMERR, qd: 1, opt: true, check: noOptions } },
  { name: 'ECS v4/24 with 2 address bytes -> FORMERR', msg: withEcs(ecsData(1, 24, 0, [192, 0])), want: { rcode: RC.FORMERR, qd: 1, opt: true, check: noOptions } },
  { name: 'ECS v4/0 with an address byte -> FORMERR', msg: withEcs(ecsData(1, 0, 0, [0])), want: { rcode: RC.FORMERR, qd: 1, opt: true, check: noOptions } },
  { name: 'ECS v4/23 with a bit beyond the prefix -> FORMERR', msg: withEcs(ecsData(1, 23, 0, [192, 0, 3])), want: { rcode: RC.FORMERR, qd: 1, opt: true, check: noOptions } },
  { name: 'ECS v6/57 with a bit beyond the prefix -> FORMERR', msg: withEcs(ecsData(2, 57, 0, [0x20, 1, 0xd, 0xb8, 0, 0, 0, 0x41])), want: { rcode: RC.FORMERR, qd: 1, opt: true, check: noOptions } },
  { name: 'two ECS options -> FORMERR', msg: withOpt({ rdata: wire(option(8, v4(8, [10])), option(8, v4(8, [10]))) }), want: { rcode: RC.FORMERR, qd: 1, opt: true } },
  // Valid ECS echoed unchanged with SCOPE 0 (static data)
  ...(
    [
      [0, []],
      [8, [10]],
      [20, [192, 0, 0x10]],
      [24, [192, 0, 2]],
      [32, [192, 0, 2, 1]],
    ] as [number, number[]][]
  ).map(([src, a]): Case => ({
    name: `ECS v4/${src} echoed, SCOPE 0`,
    msg: withEcs(v4(src, a)),
    want: { rcode: RC.NOERROR, qd: 1, answers: true, check: echoEcs(v4(src, a)) },
  })),
  ...[0, 48, 56, 57, 64, 128].map((src): Case => ({
    name: `ECS v6/${src} echoed, SCOPE 0`,
    msg: withEcs(v6(src, Math.ceil(src / 8))),
    want: { rcode: RC.NOERROR, qd: 1, answers: true, check: echoEcs(v6(src, Math.ceil(src / 8))) },
  })),
  // Meta types, classes, zones
  { name: 'AXFR -> REFUSED', msg: q({ qname: APEX, qtype: T.AXFR }), want: { rcode: RC.REFUSED, qd: 1 } },
  { name: 'IXFR -> REFUSED', msg: q({ qname: APEX, qtype: T.IXFR }), want: { rcode: RC.REFUSED, qd: 1 } },
  { name: 'qtype MAILB -> NOTIMP', msg: q({ qtype: T.MAILB }), want: { rcode: RC.NOTIMP, qd: 1 } },
  { name: 'qtype MAILA -> NOTIMP', msg: q({ qtype: T.MAILA }), want: { rcode: RC.NOTIMP, qd: 1 } },
  { name: 'qtype TSIG as a question -> NOTIMP', msg: q({ qtype: T.TSIG }), want: { rcode: RC.NOTIMP, qd: 1 } },
  { name: 'class HS -> REFUSED', msg: q({ qclass: C.HS }), want: { rcode: RC.REFUSED, qd: 1 } },
  { name: 'class CH version.bind TXT (chaos off) -> REFUSED', msg: q({ qname: 'version.bind', qtype: T.TXT, qclass: C.CH }), want: { rcode: RC.REFUSED, qd: 1 } },
  { name: 'class NONE -> REFUSED', msg: q({ qclass: C.NONE }), want: { rcode: RC.REFUSED, qd: 1 } },
  { name: 'class ANY treated like IN', msg: q({ qclass: C.ANY }), want: { rcode: RC.NOERROR, qd: 1, answers: true } },
  { name: 'foreign zone -> REFUSED, AA=0', msg: q({ qname: 'www.example.org' }), want: { rcode: RC.REFUSED, qd: 1 } },
  { name: 'mixed-case qname echoed byte for byte', msg: q({ qname: 'wWw.GsLb.ExAmPlE.cOm' }), want: { rcode: RC.NOERROR, qd: 1, answers: true } },
  {
    name: 'Z bit set -> answered, Z clear, CD kept',
    msg: q({ z: true, cd: true }),
    want: { rcode: RC.NOERROR, qd: 1, answers: true, check: (r) => (assert.equal(P.readHeader(r).flags & 0x40, 0), assert.equal(P.readHeader(r).cd, true)) },
  },
  // TSIG (no keys configured)
  { name: 'TSIG not last -> FORMERR', msg: q({ additional: [tsigRr(), opt()] }), want: { rcode: RC.FORMERR, qd: 1 } },
  { name: 'TSIG last, unknown key -> NOTAUTH (RFC 8945 §5.2)', msg: q({ additional: [opt(), tsigRr()] }), want: { rcode: RC.NOTAUTH, qd: 1 } },
  // Trailing bytes
  { name: 'trailing garbage after the question is tolerated', msg: q({ trailing: Buffer.from('deadbeefcafe', 'hex') }), want: { rcode: RC.NOERROR, qd: 1, answers: true, opt: false } },
  { name: 'trailing garbage after the OPT is tolerated', msg: q({ additional: [opt()], trailing: Buffer.from([0xff, 0xff, 0xff]) }), want: { rcode: RC.NOERROR, qd: 1, answers: true, opt: true } },
  // A label holding a dot is one label (RFC 4343 §2.1): `x.sub` directly under the apex does not exist.
  {
    name: 'label "x.sub" (one label) under the apex -> NXDOMAIN, not a referral (regression: parentName split escaped dots)',
    msg: q({ qname: labels('x.sub', 'gslb', 'example', 'com') }),
    want: { rcode: RC.NXDOMAIN, qd: 1 },
  },
  { name: 'label "x.apps" (one label) under the apex -> NXDOMAIN, no *.apps synthesis', msg: q({ qname: labels('x.apps', 'gslb', 'example', 'com') }), want: { rcode: RC.NXDOMAIN, qd: 1 } },
];

describe('gdnsd t/004misc/019bad.t (UDP)', () => {
  for (const c of gdnsd) it(c.name, c.todo ? { todo: c.todo } : {}, () => runCase(c, 'udp'));

  it('#28 TCP pipelining: 5 root-name queries (REFUSED) + 1 apex query (NOERROR) in one write', async () => {
    const s = srv.node.responder.stats;
    const before = snap(s);
    const msgs = [...Array.from({ length: 5 }, () => g('.')), g(APEX)];
    const res = await tcpExchange(srv.tcpPort, msgs);
    assert.equal(res.length, 6);
    assert.deepEqual(res.map((r) => P.readHeader(r).id).sort(), msgs.map((m) => m.readUInt16BE(0)).sort());
    assert.deepEqual(res.map((r) => P.readHeader(r).rcode).sort(), [0, 5, 5, 5, 5, 5]);
    assert.equal(s.refused - before.refused!, 5);
    assert.equal(s.noerror - before.noerror!, 1);
  });
});

describe('BIND formerr/tests_formerr.py (TCP, byte-exact)', () => {
  for (const c of bind) it(c.name, c.todo ? { todo: c.todo } : {}, () => runCase(c, 'tcp'));
});

describe('Meridian malformed-packet table (UDP)', () => {
  for (const c of meridian) it(c.name, c.todo ? { todo: c.todo } : {}, () => runCase(c, 'udp'));
});

describe('Meridian malformed-packet table over TCP (first 12 answered cases: same actions)', () => {
  for (const c of meridian.filter((m) => m.want.rcode !== 'drop' && !m.todo).slice(0, 12)) it(c.name, () => runCase(c, 'tcp'));
});

describe('error-response rate limit (errorRateLimit=5)', () => {
  let limited: TestServer;
  before(async () => {
    limited = await startTestServer({ dns: { errorRateLimit: 5 } });
  });
  after(() => limited.stop());

  it('a burst of 50 FORMERR-causing packets gets 5-6 answers; the rest are counted, valid queries still answered', async () => {
    const s = limited.node.responder.stats;
    const before = snap(s);
    const sock = dgram.createSocket('udp4');
    const got: Buffer[] = [];
    sock.on('message', (m) => got.push(m));
    await new Promise<void>((r) => sock.bind(0, '127.0.0.1', r));
    for (let i = 0; i < 50; i++) sock.send(header({ id: 0x5000 + i, rd: true }), limited.port, '127.0.0.1');
    await new Promise((r) => setTimeout(r, 500));
    sock.close();
    assert.ok(got.length >= 5 && got.length <= 6, `answered ${got.length}`);
    for (const m of got) assert.equal(P.readHeader(m).rcode, RC.FORMERR);
    // formerr counts responses sent; the suppressed ones are counted apart (they were never sent).
    assert.equal(s.formerr - before.formerr!, got.length);
    assert.equal(s.formerrRateLimited - before.formerrRateLimited!, 50 - got.length);
    const ok = await udpExchange(limited.port, q());
    assert.equal(ok && P.readHeader(ok).rcode, RC.NOERROR, 'NOERROR answers are not limited');
    const tcp = await tcpExchange(limited.tcpPort, [header({ id: 7 })]);
    assert.equal(tcp.length === 1 && P.readHeader(tcp[0]!).rcode, RC.FORMERR, 'TCP error answers are not limited');
  });
});
