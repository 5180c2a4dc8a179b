/**
 * Micro-benchmark of the per-packet work: dns2's codec (parse + build a one-A answer) against
 * Meridian's decode + prepared-answer assembly, in the same process on the same query bytes.
 * Bounded: a fixed number of iterations per case. Run: `npm run bench:codec`.
 */
import dnsPacket from 'dns-packet';
import dns2 from 'dns2';
import { Responder } from '../src/dns/respond.js';
import { zoneSet } from '../src/node/services.js';
import { loadConfigFile } from '../src/node/config.js';
import { ErrorCap } from '../src/dns/error-cap.js';
import { ClientPrefixes } from '../src/dns/prefix.js';
import { ResponseRateLimiter } from '../src/dns/rrl.js';
import { DnsStats } from '../src/dns/stats.js';

const { Packet } = dns2 as { Packet: any }; // eslint-disable-line @typescript-eslint/no-explicit-any
const N = Number(process.env.BENCH_ITERATIONS ?? 200_000);

const query = dnsPacket.encode({
  type: 'query',
  id: 1,
  flags: dnsPacket.RECURSION_DESIRED,
  questions: [{ type: 'A', name: 'www.gslb.example.com' }],
  additionals: [{ type: 'OPT', name: '.', udpPayloadSize: 1232 } as never],
});

function run(name: string, fn: () => unknown): { name: string; opsPerSec: number } {
  for (let i = 0; i < Math.min(N, 20_000); i++) fn(); // warm-up for the JIT
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < N; i++) fn();
  const ns = Number(process.hrtime.bigint() - t0);
  return { name, opsPerSec: (N / ns) * 1e9 };
}

const loaded = loadConfigFile(new URL('../zones/meridian.yaml', import.meta.url).pathname);
if (!loaded.ok) throw new Error('demo config invalid');
const responder = new Responder(zoneSet(loaded.config), {
  udpSize: 1232,
  chaos: false,
  version: 'bench',
  identity: 'bench',
  cacheEntries: 100_000,
});

// The UDP limits as `serve` builds them (src/serve.ts udpLimits). RRL is on at the schema's largest
// rate with a clock that moves 1 µs per call, so every response is accounted and sent: the rows
// with it measure what RRL adds to a response it does not limit.
const stats = new DnsStats();
const errors = new ErrorCap(100, new ClientPrefixes(24, 56), 20_000, stats);
const rrlSettings = { responsesPerSecond: 1_000_000, allPerSecond: 0, window: 15, slip: 2, ipv4PrefixLength: 24, ipv6PrefixLength: 56, exemptClients: [], logOnly: false, tableSize: 20_000 };
let tick = 0;
const rrl = new ResponseRateLimiter(rrlSettings, stats, { now: () => (tick += 0.001) });
const staticQuery = dnsPacket.encode({ type: 'query', id: 1, questions: [{ type: 'A', name: 'mail.gslb.example.com' }], additionals: [{ type: 'OPT', name: '.', udpPayloadSize: 1232 } as never] });
const SOURCE = '192.0.2.77';

const results = [
  run('dns2 Packet.parse (query)', () => Packet.parse(query)),
  run('dns2 parse + build answer + toBuffer', () => {
    const req = Packet.parse(query);
    const res = Packet.createResponseFromRequest(req);
    res.answers.push({ name: 'www.gslb.example.com', type: Packet.TYPE.A, class: Packet.CLASS.IN, ttl: 300, address: '192.0.2.10' });
    return res.toBuffer();
  }),
  run('dns-packet decode (query)', () => dnsPacket.decode(query)),
  run('meridian decode + answer (cached)', () => responder.answer(query, true)),
  run('meridian service A, UDP limits, RRL off', () => responder.answer(query, true, SOURCE, { errors, rrl: null })),
  run('meridian service A, RRL on (not limiting)', () => responder.answer(query, true, SOURCE, { errors, rrl })),
  run('meridian static A, UDP limits, RRL off', () => responder.answer(staticQuery, true, SOURCE, { errors, rrl: null })),
  run('meridian static A, RRL on (not limiting)', () => responder.answer(staticQuery, true, SOURCE, { errors, rrl })),
];
if (stats.rrlDropped + stats.rrlSlipped > 0) throw new Error('RRL limited a response in the benchmark: the "not limiting" rows are wrong');
const base = results[1]!.opsPerSec;
console.log(`\n| case | ops/s | vs dns2 codec |\n|---|---:|---:|`);
for (const r of results) console.log(`| ${r.name} | ${Math.round(r.opsPerSec).toLocaleString('en-US')} | ${(r.opsPerSec / base).toFixed(1)}x |`);
