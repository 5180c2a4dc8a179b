/**
 * Amplification under a spoofed-source flood, RRL off vs on (`npm run bench:rrl`).
 *
 * Two real `meridian serve` processes on loopback, one without `dns.rrl` and one with the setting
 * the top-level README recommends. For each query shape (a small query for a large answer, as an
 * attacker picks), a bounded flood of BENCH_RRL_QUERIES queries (default 20,000, at most 100,000)
 * goes out at about BENCH_RRL_QPS (default 10,000) from 64 source addresses of one /24
 * (127.0.9.1-64: one victim netblock), and the bytes the server sent back are counted. Everything
 * stays on 127.0.0.0/8; each flood is bounded in count, and the whole run in time (about 20 s).
 * Prints a markdown table (also to BENCH_OUT when set).
 * @module
 */
import dgram from 'node:dgram';
import { writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import dnsPacket from 'dns-packet';
import { startMeridian, type RunningServer } from '../../test/helpers/dnsproc.js';

const QUERIES = Math.min(100_000, Math.max(100, Number(process.env.BENCH_RRL_QUERIES ?? 20_000)));
const QPS = Math.min(50_000, Math.max(100, Number(process.env.BENCH_RRL_QPS ?? 10_000)));
const SOURCES = 64;
const Z = 'gslb.example.com';

/** The README's recommended setting (README.md "Response rate limiting"). */
export const RECOMMENDED = { responsesPerSecond: 20, slip: 2, window: 15 };

const TXT = Array.from({ length: 4 }, (_, i) => `big IN TXT "${String.fromCharCode(97 + i).repeat(200)}"`);
const ZONE = [
  `$ORIGIN ${Z}.`,
  '$TTL 300',
  '@ SOA ns1 hostmaster.example.com. 1 7200 3600 1209600 300',
  '@ NS ns1',
  '@ NS ns2',
  '@ MX 10 mail',
  '@ TXT "v=spf1 -all"',
  '@ CAA 0 issue "letsencrypt.org"',
  'ns1 A 127.0.0.1',
  'ns2 A 127.0.0.2',
  'mail A 192.0.2.25',
  ...TXT,
  '',
].join('\n');

/** A multivalue service: eight addresses per answer (answers: 8). */
const ROUTING = {
  regions: [{ id: 'pool', location: { lat: 0, lon: 0, continent: 'EU', country: 'DE' }, addresses: { ipv4: Array.from({ length: 8 }, (_, i) => `192.0.2.${100 + i}`) } }],
  services: [{ name: `multi.${Z}`, regions: ['pool'], answers: 8 }],
};

const SHAPES: { label: string; name: string; type: 'ANY' | 'TXT' | 'A' }[] = [
  { label: `ANY ${Z} (RFC 8482: one HINFO)`, name: Z, type: 'ANY' },
  { label: `TXT big.${Z} (4 × 200-byte strings)`, name: `big.${Z}`, type: 'TXT' },
  { label: `A multi.${Z} (service, 8 addresses)`, name: `multi.${Z}`, type: 'A' },
];

interface Result {
  sent: number;
  bytesIn: number;
  bytesOut: number;
  full: number;
  slipped: number;
  seconds: number;
}

function queryBytes(name: string, type: string): Buffer {
  // EDNS with a 1232-byte buffer: what an amplification attacker asks for.
  return dnsPacket.encode({ type: 'query', id: 1, questions: [{ type: type as 'A', name }], additionals: [{ type: 'OPT', name: '.', udpPayloadSize: 1232 } as never] });
}

async function flood(port: number, msg: Buffer): Promise<Result> {
  const socks = await Promise.all(
    Array.from({ length: SOURCES }, async (_, i) => {
      const s = dgram.createSocket({ type: 'udp4', recvBufferSize: 1 << 22 });
      await new Promise<void>((resolve) => s.bind(0, `127.0.9.${i + 1}`, resolve));
      return s;
    }),
  );
  const r: Result = { sent: 0, bytesIn: 0, bytesOut: 0, full: 0, slipped: 0, seconds: 0 };
  for (const s of socks)
    s.on('message', (m) => {
      r.bytesOut += m.length;
      if (m.readUInt16BE(2) & 0x0200) r.slipped++;
      else r.full++;
    });
  const start = performance.now();
  const batch = Math.max(1, Math.round(QPS / 100));
  while (r.sent < QUERIES) {
    for (let i = 0; i < batch && r.sent < QUERIES; i++, r.sent++) {
      const out = Buffer.from(msg);
      out.writeUInt16BE(r.sent & 0xffff, 0);
      socks[r.sent % SOURCES]!.send(out, port, '127.0.0.1');
      r.bytesIn += out.length;
    }
    // Paced in 10 ms steps; the elapsed time is measured, not assumed.
    const due = start + (r.sent / QPS) * 1000;
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, due - performance.now())));
  }
  r.seconds = (performance.now() - start) / 1000;
  await new Promise((resolve) => setTimeout(resolve, 500));
  for (const s of socks) s.close();
  return r;
}

async function main(): Promise<void> {
  const zones = [{ origin: Z, text: ZONE }];
  const [off, on]: RunningServer[] = await Promise.all([
    startMeridian({ zones, extra: ROUTING, dns: { errorRateLimit: 100 } }),
    startMeridian({ zones, extra: ROUTING, dns: { errorRateLimit: 100, rrl: RECOMMENDED } }),
  ]);
  const rows: string[] = [];
  try {
    for (const shape of SHAPES) {
      const msg = queryBytes(shape.name, shape.type);
      for (const [label, srv] of [
        ['off', off],
        [`on (${JSON.stringify(RECOMMENDED).replace(/"/g, '')})`, on],
      ] as const) {
        process.stderr.write(`bench:rrl: ${shape.label}, RRL ${label}\n`);
        const r = await flood(srv!.port, msg);
        rows.push(
          `| ${shape.label} | ${label} | ${r.sent} in ${r.seconds.toFixed(1)} s | ${msg.length} | ${r.bytesIn} | ${r.bytesOut} | **${(r.bytesOut / r.bytesIn).toFixed(2)}** | ${r.full} | ${r.slipped} | ${r.sent - r.full - r.slipped} |`,
        );
      }
    }
  } finally {
    await Promise.all([off?.stop(), on?.stop()]);
  }
  const table = [
    `### Amplification under a flood from one /24 (${new Date().toISOString().slice(0, 16)}Z)`,
    '',
    `Machine: ${cpus().length} CPU (${cpus()[0]?.model.trim()}), Node ${process.version}; ${QUERIES} queries per row at about ${QPS} qps from ${SOURCES} sources in 127.0.9.0/24, loopback.`,
    '',
    '| query | RRL | queries | query bytes | bytes in | bytes out | out / in | full answers | TC=1 slips | no answer |',
    '|---|---|---:|---:|---:|---:|---:|---:|---:|---:|',
    ...rows,
    '',
  ].join('\n');
  process.stdout.write(table + '\n');
  if (process.env.BENCH_OUT) writeFileSync(process.env.BENCH_OUT, table + '\n');
}

main().catch((err: unknown) => {
  process.stderr.write(`bench:rrl: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
