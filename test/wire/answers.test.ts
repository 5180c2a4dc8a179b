/**
 * Authoritative answers over real UDP sockets, decoded with dns-packet as an independent oracle.
 * One table row per behaviour of issue 3's "Wire behaviour" list (CoreDNS test.Case style).
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import dnsPacket from 'dns-packet';
import { decode, query, tcpExchange, udpExchange, type DecodedMsg, type DecodedRR } from '../helpers/client.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

const Z = 'gslb.example.com';

interface Case {
  name: string;
  qname: string;
  qtype: string;
  rcode: string;
  aa: boolean;
  /** "owner type data" strings, order-insensitive. */
  answer?: string[];
  authority?: string[];
  additional?: string[];
  /** TTL expected on the authority SOA for negative answers. */
  soaTtl?: number;
}

const cases: Case[] = [
  { name: 'A RRset', qname: `www.${Z}`, qtype: 'A', rcode: 'NOERROR', aa: true, answer: [`www.${Z} A 192.0.2.10`, `www.${Z} A 198.51.100.10`] },
  { name: 'AAAA', qname: `www.${Z}`, qtype: 'AAAA', rcode: 'NOERROR', aa: true, answer: [`www.${Z} AAAA 2001:db8::10`] },
  { name: 'NXDOMAIN with SOA, negative TTL = min(SOA TTL 3600, minimum 300)', qname: `nope.${Z}`, qtype: 'A', rcode: 'NXDOMAIN', aa: true, answer: [], authority: [`${Z} SOA`], soaTtl: 300 },
  { name: 'NODATA with SOA', qname: `www.${Z}`, qtype: 'MX', rcode: 'NOERROR', aa: true, answer: [], authority: [`${Z} SOA`], soaTtl: 300 },
  { name: 'empty non-terminal is NODATA, not NXDOMAIN', qname: `ent.chain.${Z}`, qtype: 'A', rcode: 'NOERROR', aa: true, answer: [], authority: [`${Z} SOA`] },
  { name: 'below an existing leaf is NXDOMAIN', qname: `x.www.${Z}`, qtype: 'A', rcode: 'NXDOMAIN', aa: true, answer: [], authority: [`${Z} SOA`] },
  {
    name: 'CNAME chain inside the zone',
    qname: `alias.${Z}`,
    qtype: 'A',
    rcode: 'NOERROR',
    aa: true,
    answer: [`alias.${Z} CNAME api.${Z}`, `api.${Z} CNAME www.${Z}`, `www.${Z} A 192.0.2.10`, `www.${Z} A 198.51.100.10`],
  },
  { name: 'CNAME query returns the CNAME only', qname: `alias.${Z}`, qtype: 'CNAME', rcode: 'NOERROR', aa: true, answer: [`alias.${Z} CNAME api.${Z}`] },
  { name: 'CNAME loop stops', qname: `loop1.${Z}`, qtype: 'A', rcode: 'NOERROR', aa: true, answer: [`loop1.${Z} CNAME loop2.${Z}`, `loop2.${Z} CNAME loop1.${Z}`] },
  { name: 'dangling CNAME gives NXDOMAIN (RFC 6604)', qname: `dangling.${Z}`, qtype: 'A', rcode: 'NXDOMAIN', aa: true, answer: [`dangling.${Z} CNAME missing.${Z}`], authority: [`${Z} SOA`] },
  { name: 'CNAME out of zone is not followed', qname: `outside.${Z}`, qtype: 'A', rcode: 'NOERROR', aa: true, answer: [`outside.${Z} CNAME www.example.org`], authority: [] },
  { name: 'wildcard synthesis (RFC 4592)', qname: `x.apps.${Z}`, qtype: 'A', rcode: 'NOERROR', aa: true, answer: [`x.apps.${Z} A 192.0.2.80`] },
  { name: 'wildcard two labels deep', qname: `a.b.apps.${Z}`, qtype: 'A', rcode: 'NOERROR', aa: true, answer: [`a.b.apps.${Z} A 192.0.2.80`] },
  { name: 'wildcard NODATA', qname: `x.apps.${Z}`, qtype: 'AAAA', rcode: 'NOERROR', aa: true, answer: [], authority: [`${Z} SOA`] },
  { name: 'wildcard does not cover its empty parent', qname: `apps.${Z}`, qtype: 'A', rcode: 'NOERROR', aa: true, answer: [] },
  { name: 'referral with glue, AA=0', qname: `host.sub.${Z}`, qtype: 'A', rcode: 'NOERROR', aa: false, answer: [], authority: [`sub.${Z} NS ns.sub.${Z}`], additional: [`ns.sub.${Z} A 192.0.2.53`] },
  { name: 'referral at the cut itself', qname: `sub.${Z}`, qtype: 'NS', rcode: 'NOERROR', aa: false, answer: [], authority: [`sub.${Z} NS ns.sub.${Z}`] },
  { name: 'glue is not authoritative data', qname: `ns.sub.${Z}`, qtype: 'A', rcode: 'NOERROR', aa: false, answer: [] },
  { name: 'DS at the cut is answered by the parent side', qname: `sub.${Z}`, qtype: 'DS', rcode: 'NOERROR', aa: true, answer: [], authority: [`${Z} SOA`] },
  {
    name: 'apex NS with in-zone addresses in additional',
    qname: Z,
    qtype: 'NS',
    rcode: 'NOERROR',
    aa: true,
    answer: [`${Z} NS ns1.${Z}`, `${Z} NS ns2.${Z}`],
    additional: [`ns1.${Z} A 127.0.0.1`, `ns1.${Z} AAAA ::1`, `ns2.${Z} A 127.0.0.2`],
  },
  { name: 'MX with additional A', qname: Z, qtype: 'MX', rcode: 'NOERROR', aa: true, answer: [`${Z} MX 10 mail.${Z}`], additional: [`mail.${Z} A 192.0.2.25`] },
  { name: 'SRV with additional A', qname: `_sip._tcp.${Z}`, qtype: 'SRV', rcode: 'NOERROR', aa: true, answer: [`_sip._tcp.${Z} SRV 10 60 5060 sip.${Z}`], additional: [`sip.${Z} A 192.0.2.50`] },
  { name: 'TXT', qname: Z, qtype: 'TXT', rcode: 'NOERROR', aa: true, answer: [`${Z} TXT v=spf1 -all`] },
  { name: 'CAA', qname: Z, qtype: 'CAA', rcode: 'NOERROR', aa: true, answer: [`${Z} CAA 0 issue letsencrypt.org`] },
  { name: 'PTR', qname: `10.2.0.192.in-addr.${Z}`, qtype: 'PTR', rcode: 'NOERROR', aa: true, answer: [`10.2.0.192.in-addr.${Z} PTR www.${Z}`] },
  { name: 'SOA', qname: Z, qtype: 'SOA', rcode: 'NOERROR', aa: true, answer: [`${Z} SOA`] },
  { name: 'ANY (RFC 8482): one synthesized HINFO', qname: Z, qtype: 'ANY', rcode: 'NOERROR', aa: true, answer: [`${Z} HINFO RFC8482`] },
  { name: 'ANY at a CNAME follows the CNAME', qname: `api.${Z}`, qtype: 'ANY', rcode: 'NOERROR', aa: true, answer: [`api.${Z} CNAME www.${Z}`, `www.${Z} HINFO RFC8482`] },
  { name: 'outside every zone: REFUSED, AA=0', qname: 'www.example.org', qtype: 'A', rcode: 'REFUSED', aa: false, answer: [] },
  { name: 'parent of the zone: REFUSED', qname: 'example.com', qtype: 'SOA', rcode: 'REFUSED', aa: false, answer: [] },
];

function render(rr: DecodedRR): string {
  const d = (rr as { data?: unknown }).data;
  switch (rr.type) {
    case 'SOA':
      return `${rr.name} SOA`;
    case 'MX': {
      const mx = d as { preference: number; exchange: string };
      return `${rr.name} MX ${mx.preference} ${mx.exchange}`;
    }
    case 'SRV': {
      const s = d as { priority: number; weight: number; port: number; target: string };
      return `${rr.name} SRV ${s.priority} ${s.weight} ${s.port} ${s.target}`;
    }
    case 'TXT':
      return `${rr.name} TXT ${(d as Buffer[]).map((b) => b.toString()).join('')}`;
    case 'CAA': {
      const c = d as { flags: number; tag: string; value: string };
      return `${rr.name} CAA ${c.flags} ${c.tag} ${c.value}`;
    }
    case 'HINFO':
      return `${rr.name} HINFO ${(d as { cpu: string }).cpu}`;
    default:
      return `${rr.name} ${rr.type} ${String(d)}`;
  }
}

describe('authoritative answers (UDP, dns-packet oracle)', () => {
  let srv: TestServer;
  before(async () => {
    srv = await startTestServer({ ipv6: true });
  });
  after(() => srv.stop());

  for (const c of cases) {
    test(c.name, async () => {
      const raw = await udpExchange(srv.port, query(c.qname, c.qtype));
      assert.ok(raw, 'no answer');
      const r: DecodedMsg = decode(raw);
      assert.equal(r.id, 4242);
      assert.equal(r.rcode, c.rcode);
      assert.equal(r.flag_qr, true);
      assert.equal(r.flag_aa, c.aa, 'AA');
      assert.equal(r.flag_rd, true, 'RD copied');
      assert.equal(r.flag_ra, false, 'RA never set by an authoritative server');
      if (c.answer) assert.deepEqual((r.answers ?? []).map(render).sort(), [...c.answer].sort());
      if (c.authority) assert.deepEqual((r.authorities ?? []).map(render).sort(), [...c.authority].sort());
      const additional = (r.additionals ?? []).filter((a) => a.type !== 'OPT');
      if (c.additional) assert.deepEqual(additional.map(render).sort(), [...c.additional].sort());
      if (c.soaTtl !== undefined) assert.equal(r.authorities?.[0]?.ttl, c.soaTtl);
    });
  }

  test('QNAME letter case is echoed exactly, in the question and in compressed owners', async () => {
    const raw = await udpExchange(srv.port, query(`wWw.GsLb.ExAmPlE.cOm`, 'A'));
    const r = decode(raw!);
    assert.equal(r.questions![0]!.name, 'wWw.GsLb.ExAmPlE.cOm');
    assert.equal(r.answers![0]!.name, 'wWw.GsLb.ExAmPlE.cOm');
    const again = decode((await udpExchange(srv.port, query(`WWW.gslb.EXAMPLE.com`, 'A')))!);
    assert.equal(again.questions![0]!.name, 'WWW.gslb.EXAMPLE.com', 'a cached answer must not leak the first client’s case');
  });

  test('no OPT in the query: no OPT in the answer, 512-byte limit', async () => {
    const r = decode((await udpExchange(srv.port, query(`www.${Z}`, 'A', { edns: false })))!);
    assert.equal((r.additionals ?? []).filter((a) => a.type === 'OPT').length, 0);
    const big = await udpExchange(srv.port, query(`big.${Z}`, 'TXT', { edns: false }));
    assert.ok(big!.length <= 512);
    assert.equal(decode(big!).flag_tc, true);
  });

  test('our OPT advertises 1232 whatever the client offers; DO is echoed', async () => {
    const r = decode((await udpExchange(srv.port, query(`www.${Z}`, 'A', { udpSize: 4096, do: true })))!);
    const opt = r.additionals!.find((a) => a.type === 'OPT') as unknown as { udpPayloadSize: number; flag_do: boolean; ednsVersion: number };
    assert.equal(opt.udpPayloadSize, 1232);
    assert.equal(opt.flag_do, true);
    assert.equal(opt.ednsVersion, 0);
  });

  test('an answer larger than the client limit gets TC=1 over UDP and comes whole over TCP', async () => {
    const udp = await udpExchange(srv.port, query(`big.${Z}`, 'TXT', { udpSize: 512 }));
    assert.ok(udp!.length <= 512, `UDP answer is ${udp!.length} bytes`);
    const u = decode(udp!);
    assert.equal(u.flag_tc, true);
    assert.equal(u.flag_aa, true);
    const [tcp] = await tcpExchange(srv.tcpPort, [query(`big.${Z}`, 'TXT', { udpSize: 512 })]);
    const t = decode(tcp!);
    assert.equal(t.flag_tc, false);
    assert.equal(t.answers!.length, 18);
    assert.ok(tcp!.length > 1232, 'the fixture RRset is larger than our UDP ceiling');
    const capped = await udpExchange(srv.port, query(`big.${Z}`, 'TXT', { udpSize: 4096 }));
    assert.equal(decode(capped!).flag_tc, true, 'a 4096-byte offer is clamped to our 1232');
    assert.ok(capped!.length <= 1232);
  });

  test('IPv6 listener answers from ::1', async () => {
    const raw = await udpExchange(srv.port6!, query(`www.${Z}`, 'AAAA'), { host: '::1' });
    assert.equal(decode(raw!).answers![0]!.data, '2001:db8::10');
  });

  test('CHAOS version.bind is refused when chaos is off', async () => {
    const q = dnsPacket.encode({ type: 'query', id: 7, questions: [{ type: 'TXT', name: 'version.bind', class: 'CH' }] });
    assert.equal(decode((await udpExchange(srv.port, q))!).rcode, 'REFUSED');
  });
});

describe('CHAOS identity when enabled', () => {
  test('version.bind and id.server answer TXT in class CH', async () => {
    const srv = await startTestServer({ dns: { chaos: true, identity: 'dns-test-1' } });
    try {
      for (const [name, want] of [
        ['version.bind', /^Meridian /],
        ['id.server', /^dns-test-1$/],
      ] as const) {
        const q = dnsPacket.encode({ type: 'query', id: 7, questions: [{ type: 'TXT', name, class: 'CH' }] });
        const r = decode((await udpExchange(srv.port, q))!);
        assert.equal(r.rcode, 'NOERROR');
        assert.equal(r.answers![0]!.class, 'CH');
        assert.match((r.answers![0] as { data: Buffer[] }).data[0]!.toString(), want);
      }
    } finally {
      await srv.stop();
    }
  });
});
