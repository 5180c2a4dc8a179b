/**
 * Time-boxed property tests with fast-check (undici test/fuzzing style, anchors.md B1/B6 item 2),
 * through `responder.answer()`, the entry point both sockets use:
 * 1. raw bytes (`fc.uint8Array({maxLength: 4096})`) never throw and obey the oracle;
 * 2. structured messages (valid header + random question / additional / trailing bytes, optionally
 *    cut short) reach deep into the decoder and obey the oracle;
 * 3. round trip: random valid queries built by dns-packet get a response dns-packet decodes, with the
 *    same ID, the question bytes as sent (case kept), rcode NOERROR/NXDOMAIN/REFUSED, and ECS echoed.
 *
 * Budget: FUZZ_MS total (default 30 s with CI set, else 10 s), split 40/40/20 over the three. CI runs
 * the suite on Node 20 and on Node 24, so a CI run fuzzes for 60 s within its 30-minute budget; give
 * FUZZ_MS for a longer run.
 * A failure prints fast-check's seed and counterexample; save the bytes as corpus/crash-*.bin.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import dnsPacket from 'dns-packet';
import fc from 'fast-check';
import * as P from '../helpers/packets.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { checkResponse, trackUnhandled } from './oracle.js';

const TOTAL_MS = Number(process.env.FUZZ_MS) || (process.env.CI ? 30_000 : 10_000);
const ZONE = 'gslb.example.com';

/** Runs a property for `ms`, fails with fast-check's report, and returns how many runs it made. */
function timeBoxed<T>(arb: fc.Arbitrary<T>, ms: number, predicate: (v: T) => void): number {
  const details = fc.check(fc.property(arb, predicate), { numRuns: 10_000_000, interruptAfterTimeLimit: ms, markInterruptAsFailure: false });
  if (details.failed) throw new Error(fc.defaultReportMessage(details));
  return details.numRuns;
}

// ---- structured arbitrary -------------------------------------------------------------------------
/** Mostly `common`, sometimes `rare` (4:1), so most inputs get past the guard into the answer path. */
const often = <A, B>(common: fc.Arbitrary<A>, rare: fc.Arbitrary<B>, weight = 4): fc.Arbitrary<A | B> => fc.oneof({ arbitrary: common, weight }, { arbitrary: rare, weight: 1 });
const sometimes = <A>(arb: fc.Arbitrary<A>, weight = 6): fc.Arbitrary<A | null> => often(fc.constant(null), arb, weight);
const zoneLabels = ['www', 'gslb', 'example', 'com', 'apps', 'sub', 'ns', 'big', 'api', 'alias', 'loop1', '_sip', '_tcp', '*', 'WwW', 'x.sub'];
const labelBytes = often(
  fc.constantFrom(...zoneLabels).map((l) => Buffer.from(l, 'latin1')),
  fc.uint8Array({ maxLength: 70 }).map((b) => Buffer.from(b)),
  3,
);
/** A name: labels (length byte taken from the label, or random), then a terminator, pointer or nothing. */
const nameArb = fc
  .tuple(
    fc.array(fc.tuple(labelBytes, sometimes(fc.integer({ min: 0, max: 255 }), 12)), { maxLength: 5 }),
    often(fc.constant(true), fc.constant(false), 3),
    often(
      fc.constant(Buffer.from([0])),
      fc.oneof(
        fc.constant(P.name(ZONE)),
        fc.integer({ min: 0, max: 0xffff }).map((n) => P.u16(n | 0xc000)),
        fc.constant(Buffer.alloc(0)),
      ),
      8,
    ),
  )
  .map(([ls, zone, end]) => P.wire(...ls.map(([l, len]) => P.wire([len ?? l.length], l)), zone ? P.name(ZONE).subarray(0, -1) : Buffer.alloc(0), end));
const u16Arb = (common: number[]): fc.Arbitrary<number> => often(fc.constantFrom(...common), fc.integer({ min: 0, max: 0xffff }));
const ecsArb = fc
  .tuple(u16Arb([1, 2]), fc.integer({ min: 0, max: 140 }), often(fc.constant(0), fc.integer({ min: 0, max: 255 })), fc.uint8Array({ maxLength: 18 }), often(fc.constant(true), fc.constant(false)))
  .map(([fam, src, scope, addr, fit]) => P.ecsData(fam, src, scope, fit ? Buffer.from(addr).subarray(0, Math.ceil(src / 8)) : Buffer.from(addr)));
const optionArb = fc.oneof(
  ecsArb.map((d) => P.option(8, d)),
  fc.tuple(u16Arb([3, 10, 11, 12, 100]), fc.uint8Array({ maxLength: 40 })).map(([c, d]) => P.option(c, Buffer.from(d))),
  fc.uint8Array({ maxLength: 6 }).map((b) => Buffer.from(b)),
);
const recordArb = often(
  fc
    .record({
      udpSize: u16Arb([0, 512, 1232, 4096, 65535]),
      version: often(fc.constant(0), fc.integer({ min: 0, max: 255 }), 6),
      flags: u16Arb([0, 0x8000]),
      rdata: fc.array(optionArb, { maxLength: 3 }).map((o) => P.wire(...o)),
      rdlen: sometimes(fc.integer({ min: 0, max: 0xffff }), 10).map((v) => v ?? undefined),
    })
    .map((o) => P.opt(o)),
  fc.oneof(
    fc.tuple(nameArb, u16Arb([1, 41, 250, 16]), u16Arb([1, 255]), fc.uint8Array({ maxLength: 30 })).map(([n, t, c, d]) => P.rr(n, t, c, 0, Buffer.from(d))),
    fc.uint8Array({ maxLength: 24 }).map((b) => Buffer.from(b)),
  ),
  2,
);
const structured = fc
  .record({
    id: fc.integer({ min: 0, max: 0xffff }),
    flags: often(fc.constantFrom(0, 0x0100, 0x0110, 0x0140, 0x8000, 0x2100), fc.integer({ min: 0, max: 0xffff }), 8),
    qd: often(fc.constant(1), fc.integer({ min: 0, max: 3 }), 10),
    an: often(fc.constant(0), fc.integer({ min: 0, max: 2 }), 10),
    ns: often(fc.constant(0), fc.integer({ min: 0, max: 2 }), 10),
    qname: nameArb,
    qtype: u16Arb([1, 2, 5, 6, 15, 16, 28, 33, 41, 43, 250, 251, 252, 253, 254, 255]),
    qclass: u16Arb([1, 3, 4, 254, 255]),
    additional: fc.array(recordArb, { maxLength: 3 }),
    arDelta: often(fc.constant(0), fc.integer({ min: -1, max: 1 }), 8),
    trailing: often(fc.constant(new Uint8Array(0)), fc.uint8Array({ maxLength: 12 })),
    cut: sometimes(fc.nat(), 8),
  })
  .map((s) => {
    const head = P.wire(P.u16(s.id), P.u16(s.flags), P.u16(s.qd), P.u16(s.an), P.u16(s.ns), P.u16(Math.max(0, s.additional.length + s.arDelta)));
    const msg = P.wire(head, P.question(s.qname, s.qtype, s.qclass), ...s.additional, s.trailing);
    return s.cut === null ? msg : msg.subarray(0, s.cut % (msg.length + 1));
  });

// ---- round-trip arbitrary ---------------------------------------------------------------------------
const ldh = fc.stringMatching(/^[a-zA-Z0-9_][a-zA-Z0-9_-]{0,19}$/);
const QTYPES = ['A', 'AAAA', 'NS', 'CNAME', 'SOA', 'MX', 'TXT', 'SRV', 'PTR', 'CAA', 'ANY', 'DS', 'HINFO', 'NAPTR'] as const;
const SUFFIXES = [ZONE, `www.${ZONE}`, `apps.${ZONE}`, `sub.${ZONE}`, `Big.${ZONE}`, `_tcp.${ZONE}`, 'example.org', 'com', ''];
const validQuery = fc.record({
  id: fc.integer({ min: 0, max: 0xffff }),
  rd: fc.boolean(),
  labels: fc.array(ldh, { maxLength: 4 }),
  suffix: fc.constantFrom(...SUFFIXES),
  type: fc.constantFrom(...QTYPES),
  edns: fc.option(
    fc.record({
      size: fc.integer({ min: 0, max: 0xffff }),
      do: fc.boolean(),
      ecs: fc.option(
        fc.oneof(
          fc.tuple(fc.constant(1), fc.integer({ min: 0, max: 32 }), fc.uint8Array({ minLength: 4, maxLength: 4 })),
          fc.tuple(fc.constant(2), fc.integer({ min: 0, max: 128 }), fc.uint8Array({ minLength: 16, maxLength: 16 })),
        ),
      ),
    }),
  ),
});
/** ECS option payload with the address cut to the prefix and bits beyond it cleared (RFC 7871 §6). */
function ecsPayload(family: number, source: number, addr: Uint8Array): Buffer {
  const bytes = Buffer.from(addr.subarray(0, Math.ceil(source / 8)));
  if (source % 8) bytes[bytes.length - 1]! &= (0xff << (8 - (source % 8))) & 0xff;
  return P.ecsData(family, source, 0, bytes);
}

describe('fast-check properties through responder.answer()', () => {
  let srv: TestServer;
  const unhandled = trackUnhandled();
  before(async () => {
    srv = await startTestServer();
  });
  after(async () => {
    unhandled.dispose();
    await srv.stop();
  });

  it('raw bytes (uint8Array up to 4096): never throws; drop or a valid response (UDP and TCP)', (t) => {
    const r = srv.node.responder;
    const runs = timeBoxed(fc.uint8Array({ maxLength: 4096 }), TOTAL_MS * 0.4, (bytes) => {
      const msg = Buffer.from(bytes);
      checkResponse(msg, r.answer(msg, true), 'udp');
      checkResponse(msg, r.answer(msg, false), 'tcp');
    });
    t.diagnostic(`${runs} runs`);
    assert.ok(runs > 1000, `only ${runs} runs in the time box`);
  });

  it('structured messages (header + random question/OPT/records, sometimes cut): same properties', (t) => {
    const r = srv.node.responder;
    const before = { ...r.stats };
    const runs = timeBoxed(structured, TOTAL_MS * 0.4, (msg) => {
      checkResponse(msg, r.answer(msg, true), 'udp');
      checkResponse(msg, r.answer(msg, false), 'tcp');
    });
    const d = (k: 'noerror' | 'formerr' | 'nxdomain' | 'badvers' | 'refused'): number => r.stats[k] - before[k];
    t.diagnostic(`${runs} runs; noerror ${d('noerror')} nxdomain ${d('nxdomain')} refused ${d('refused')} formerr ${d('formerr')} badvers ${d('badvers')}`);
    assert.ok(runs > 1000, `only ${runs} runs in the time box`);
    // The generator must reach past the guard, or the property says little.
    for (const k of ['noerror', 'nxdomain', 'formerr', 'badvers', 'refused'] as const) assert.ok(d(k) > 0, `no ${k} outcome generated`);
    assert.equal(r.stats.internalErrors - before.internalErrors, 0, 'no internal errors');
  });

  it('round trip: dns-packet query -> response decodes, same ID, question bytes as sent, rcode NOERROR/NXDOMAIN/REFUSED', (t) => {
    const r = srv.node.responder;
    const runs = timeBoxed(validQuery, TOTAL_MS * 0.2, (v) => {
      const qname = [...v.labels, v.suffix].filter((s) => s !== '').join('.') || '.';
      const ecs = v.edns?.ecs ? ecsPayload(v.edns.ecs[0], v.edns.ecs[1], v.edns.ecs[2]) : null;
      const query = dnsPacket.encode({
        type: 'query',
        id: v.id,
        flags: v.rd ? dnsPacket.RECURSION_DESIRED : 0,
        questions: [{ type: v.type as dnsPacket.RecordType, name: qname, class: 'IN' }],
        additionals: v.edns
          ? [
              {
                type: 'OPT',
                name: '.',
                udpPayloadSize: v.edns.size,
                flags: v.edns.do ? dnsPacket.DNSSEC_OK : 0,
                options: ecs ? [{ code: 8, data: ecs, ip: undefined }] : [],
              } as unknown as dnsPacket.Answer,
            ]
          : [],
      });
      const res = r.answer(query, true);
      assert.ok(res, 'a valid query is always answered');
      checkResponse(query, res, 'udp');
      const d = dnsPacket.decode(res);
      assert.equal(d.id, v.id);
      assert.equal(d.flag_qr, true);
      assert.deepEqual(P.questionBytes(res), query.subarray(12, P.skipName(query, 12) + 4), 'question bytes identical');
      assert.equal(d.questions?.[0]?.name, qname === '.' ? '.' : qname, 'case preserved');
      const rcode = P.fullRcode(res);
      assert.ok([P.RC.NOERROR, P.RC.NXDOMAIN, P.RC.REFUSED].includes(rcode as 0), `rcode ${rcode}`);
      // Owners: the first answer is at the QNAME; nothing outside the zone (no out-of-zone data).
      const lower = qname.toLowerCase();
      if (d.answers?.length) assert.equal(d.answers[0]!.name.toLowerCase(), lower, 'first answer owned by the QNAME');
      for (const rr of [...(d.answers ?? []), ...(d.authorities ?? []), ...(d.additionals ?? []).filter((a) => a.type !== 'OPT')]) {
        const owner = rr.name.toLowerCase();
        assert.ok(owner === ZONE || owner.endsWith(`.${ZONE}`), `owner ${rr.name} inside ${ZONE}`);
      }
      const opt = P.readOpt(res);
      assert.equal(opt !== null, v.edns !== null, 'OPT in the response iff in the query');
      if (opt) {
        assert.equal(opt.flags, v.edns!.do ? 0x8000 : 0, 'DO echoed, nothing else');
        assert.deepEqual(
          opt.options.map((o) => o.data),
          ecs ? [ecs] : [],
          'ECS echoed unchanged with SCOPE 0',
        );
      }
    });
    t.diagnostic(`${runs} runs`);
    assert.ok(runs > 500, `only ${runs} runs in the time box`);
  });

  it('no unhandled rejections', () => {
    assert.deepEqual(unhandled.errors, []);
  });
});
