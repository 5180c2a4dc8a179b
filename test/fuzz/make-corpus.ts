/**
 * Generator of the seed corpus in test/fuzz/corpus/ (deterministic; re-run after editing):
 *
 *   node --import tsx test/fuzz/make-corpus.ts
 *
 * Writes one `<name>.bin` per seed and `expect.json` (seed -> expected action, checked by
 * replay.test.ts). Seeds are:
 * - the five shapes of PowerDNS fuzzing/corpus/raw-dns-packets (basic, ecs, powerdns-ds,
 *   powerdns-referral-com, root-ns-answer), rebuilt with dns-packet rather than copied: a plain
 *   query, a query with OPT+ECS, and three response-shaped, compressed, multi-record packets (sent
 *   as-is they are dropped for QR=1, so each also has a `-asquery` twin with QR cleared);
 * - malformed packets from the B4 table (test/wire/malformed.test.ts has the full table).
 * A crash found by props.test.ts goes in as `crash-<date>-<what>.bin` with its expected action.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import dnsPacket from 'dns-packet';
import { C, OPCODE, T, ecs, ecsData, header, labels, name, opt, option, pointer, query, question, rr, wire } from '../helpers/packets.js';

type Expect = { action: 'drop' | 'NOERROR' | 'NXDOMAIN' | 'FORMERR' | 'NOTIMP' | 'REFUSED' | 'NOTAUTH' | 'BADVERS'; tc?: boolean; todo?: string };
const seeds: Record<string, [Buffer, Expect]> = {};
const add = (n: string, b: Buffer, e: Expect): void => {
  seeds[n] = [b, e];
};
const asQuery = (b: Buffer): Buffer => {
  const c = Buffer.from(b);
  c.writeUInt16BE(c.readUInt16BE(2) & 0x7fff, 2);
  return c;
};

// --- PowerDNS raw-dns-packets shapes -----------------------------------------------------------
add('pdns-basic', dnsPacket.encode({ type: 'query', id: 0x1234, flags: dnsPacket.RECURSION_DESIRED, questions: [{ type: 'A', name: 'www.gslb.example.com', class: 'IN' }] }), { action: 'NOERROR' });
add(
  'pdns-ecs',
  dnsPacket.encode({
    type: 'query',
    id: 0x2345,
    flags: dnsPacket.RECURSION_DESIRED,
    questions: [{ type: 'AAAA', name: 'www.gslb.example.com', class: 'IN' }],
    additionals: [
      {
        type: 'OPT',
        name: '.',
        udpPayloadSize: 4096,
        flags: dnsPacket.DNSSEC_OK,
        options: [{ code: 8, family: 1, sourcePrefixLength: 24, scopePrefixLength: 0, ip: '192.0.2.0' }],
      } as unknown as dnsPacket.Answer,
    ],
  }),
  { action: 'NOERROR' },
);
const ds = dnsPacket.encode({
  type: 'response',
  id: 0x3456,
  flags: dnsPacket.AUTHORITATIVE_ANSWER,
  questions: [{ type: 'DS', name: 'powerdns.com', class: 'IN' }],
  answers: [1, 2].map((n) => ({ type: 'DS' as const, name: 'powerdns.com', ttl: 3600, data: { keyTag: 44974 + n, algorithm: 8, digestType: 2, digest: Buffer.alloc(32, n) } })),
  additionals: [{ type: 'OPT', name: '.', udpPayloadSize: 1232, flags: dnsPacket.DNSSEC_OK, options: [] } as unknown as dnsPacket.Answer],
});
add('pdns-powerdns-ds', ds, { action: 'drop' });
add('pdns-powerdns-ds-asquery', asQuery(ds), { action: 'FORMERR' });
const referral = dnsPacket.encode({
  type: 'response',
  id: 0x4567,
  flags: 0,
  questions: [{ type: 'A', name: 'www.powerdns.com', class: 'IN' }],
  authorities: 'abcdefghijklm'.split('').map((l) => ({ type: 'NS' as const, name: 'com', ttl: 172800, data: `${l}.gtld-servers.net` })),
  additionals: 'abcdefghijklm'.split('').map((l, i) => ({ type: 'A' as const, name: `${l}.gtld-servers.net`, ttl: 172800, data: `192.5.6.${30 + i}` })),
});
add('pdns-powerdns-referral-com', referral, { action: 'drop' });
add('pdns-powerdns-referral-com-asquery', asQuery(referral), { action: 'FORMERR' });
const rootNs = dnsPacket.encode({
  type: 'response',
  id: 0x5678,
  flags: dnsPacket.AUTHORITATIVE_ANSWER,
  questions: [{ type: 'NS', name: '.', class: 'IN' }],
  answers: 'abcdefghijklm'.split('').map((l) => ({ type: 'NS' as const, name: '.', ttl: 518400, data: `${l}.root-servers.net` })),
  additionals: 'abcdefghijklm'.split('').flatMap((l, i) => [
    { type: 'A' as const, name: `${l}.root-servers.net`, ttl: 518400, data: `198.41.0.${i + 4}` },
    { type: 'AAAA' as const, name: `${l}.root-servers.net`, ttl: 518400, data: `2001:503:ba3e::2:${(i + 0x30).toString(16)}` },
  ]),
});
add('pdns-root-ns-answer', rootNs, { action: 'drop' });
add('pdns-root-ns-answer-asquery', asQuery(rootNs), { action: 'FORMERR' });
// A valid query whose additional records use compression pointers into the question.
add(
  'compressed-additional',
  query({ id: 0x6789, rd: true, additional: [rr(pointer(12), T.A, C.IN, 60, Buffer.from([192, 0, 2, 1])), rr(pointer(16), T.TXT, C.IN, 60, Buffer.from([1, 0x61])), opt()] }),
  { action: 'NOERROR' },
);

// --- Malformed and edge seeds (B4) ---------------------------------------------------------------
const q = (f: Parameters<typeof query>[0] = {}): Buffer => query({ id: 0xbeef, rd: true, ...f });
const L63 = 'x'.repeat(63);
add('short-empty', Buffer.alloc(0), { action: 'drop' });
add('short-11', q().subarray(0, 11), { action: 'drop' });
add('qr-set', q({ qr: true }), { action: 'drop' });
add('opcode-15', q({ opcode: 15 }), { action: 'NOTIMP' });
add('opcode-notify', q({ opcode: OPCODE.NOTIFY, aa: true }), { action: 'NOTIMP' });
add('qdcount-0', header({ id: 1 }), { action: 'FORMERR' });
add('qdcount-2', wire(header({ id: 2, qdcount: 2 }), question('www.gslb.example.com'), question('gslb.example.com')), { action: 'FORMERR' });
add('ancount-1', q({ ancount: 1, trailing: rr(name('.'), T.A, C.IN, 1, Buffer.alloc(4)) }), { action: 'FORMERR' });
add('pointer-in-question', q({ qname: wire(labels('www').subarray(0, -1), pointer(12)) }), { action: 'FORMERR' });
add('pointer-forward', q({ qname: pointer(40) }), { action: 'FORMERR' });
add('label-0x40', q({ qname: wire([0x41, 0], name('gslb.example.com')) }), { action: 'FORMERR' });
add('label-0x80', q({ qname: wire([0x81, 0x61], name('gslb.example.com')) }), { action: 'FORMERR' });
add('name-256', q({ qname: wire(labels(L63, L63, L63, 'x'.repeat(45)).subarray(0, -1), name('gslb.example.com')) }), { action: 'FORMERR' });
add('name-255', q({ qname: wire(labels(L63, L63, L63, 'x'.repeat(44)).subarray(0, -1), name('gslb.example.com')) }), { action: 'NXDOMAIN' });
add('truncated-qtype', q().subarray(0, q().length - 3), { action: 'FORMERR' });
add('two-opt', q({ additional: [opt(), opt()] }), { action: 'FORMERR' });
add('opt-owner-not-root', q({ additional: [opt({ owner: name('a') })] }), { action: 'FORMERR' });
add('opt-rdlen-past-end', q({ additional: [opt({ rdlen: 20 })] }), { action: 'FORMERR' });
add('option-tlv-truncated', q({ additional: [opt({ rdata: Buffer.from([0, 8, 0]) })] }), { action: 'FORMERR' });
add('option-overrun', q({ additional: [opt({ rdata: option(100, [1], 9) })] }), { action: 'FORMERR' });
add('edns-version-1', q({ additional: [opt({ version: 1, flags: 0x8000 })] }), { action: 'BADVERS' });
const withEcs = (d: Buffer): Buffer => q({ additional: [opt({ rdata: option(8, d) })] });
add('ecs-short', withEcs(Buffer.from([0, 1, 24])), { action: 'FORMERR' });
add('ecs-scope-nonzero', withEcs(ecsData(1, 24, 16, [192, 0, 2])), { action: 'FORMERR' });
add('ecs-family-3', withEcs(ecsData(3, 0, 0, [])), { action: 'FORMERR' });
add('ecs-v4-source-33', withEcs(ecsData(1, 33, 0, [1, 2, 3, 4, 5])), { action: 'FORMERR' });
add('ecs-v6-source-129', withEcs(ecsData(2, 129, 0, Buffer.alloc(17))), { action: 'FORMERR' });
add('ecs-wrong-length', withEcs(ecsData(1, 24, 0, [192, 0, 2, 0])), { action: 'FORMERR' });
add('ecs-bits-beyond-prefix', withEcs(ecsData(1, 22, 0, [192, 0, 3])), { action: 'FORMERR' });
add('ecs-v4-24', q({ additional: [opt({ rdata: ecs(1, 24, 0, [192, 0, 2]) })] }), { action: 'NOERROR' });
add('ecs-v6-56', q({ additional: [opt({ rdata: ecs(2, 56, 0, [0x20, 1, 0xd, 0xb8, 0, 1, 2]) })] }), { action: 'NOERROR' });
add('axfr', q({ qname: 'gslb.example.com', qtype: T.AXFR }), { action: 'REFUSED' });
add('mailb', q({ qtype: T.MAILB }), { action: 'NOTIMP' });
add('class-hs', q({ qclass: C.HS }), { action: 'REFUSED' });
add('class-ch-version-bind', q({ qname: 'version.bind', qtype: T.TXT, qclass: C.CH }), { action: 'REFUSED' });
add('class-any', q({ qclass: C.ANY }), { action: 'NOERROR' });
add('foreign-zone', q({ qname: 'www.example.org' }), { action: 'REFUSED' });
const tsig = rr(name('.'), T.TSIG, C.ANY, 0, wire(name('.'), Buffer.alloc(6), Buffer.from([1, 44, 0, 0, 0, 0, 0, 0, 0, 0])));
add('tsig-not-last', q({ additional: [tsig, opt()] }), { action: 'FORMERR' });
add('tsig-last', q({ additional: [opt(), tsig] }), { action: 'NOTAUTH' });
add('trailing-garbage', q({ trailing: Buffer.from('0badc0ffee', 'hex') }), { action: 'NOERROR' });
add('big-txt-no-edns', q({ qname: 'big.gslb.example.com', qtype: T.TXT }), { action: 'NOERROR', tc: true });
add('big-txt-edns-512', q({ qname: 'big.gslb.example.com', qtype: T.TXT, additional: [opt({ udpSize: 512 })] }), { action: 'NOERROR', tc: true });
add('big-txt-edns-65535', q({ qname: 'big.gslb.example.com', qtype: T.TXT, additional: [opt({ udpSize: 65535 })] }), { action: 'NOERROR', tc: true });
add('any-apex', q({ qname: 'gslb.example.com', qtype: T.ANY }), { action: 'NOERROR' });
add('label-with-dot', q({ qname: labels('x.sub', 'gslb', 'example', 'com') }), { action: 'NXDOMAIN' });

const dir = new URL('./corpus/', import.meta.url);
mkdirSync(dir, { recursive: true });
const expect: Record<string, Expect> = {};
for (const [n, [bytes, e]] of Object.entries(seeds)) {
  writeFileSync(new URL(`${n}.bin`, dir), bytes);
  expect[`${n}.bin`] = e;
}
writeFileSync(new URL('expect.json', dir), JSON.stringify(expect, null, 2) + '\n');
console.log(`wrote ${Object.keys(seeds).length} seeds to ${dir.pathname}`);
