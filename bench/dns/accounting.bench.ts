/**
 * What the per-query accounting of issue 18 costs (src/dns/README.md, "What was asked and what was
 * answered"): the QTYPE and ECS counts, the decision-cache tally, answers by service and region, and
 * the answer-latency histogram (one query in 16 timed). bench:dns rounds on a shared machine move by
 * far more than the 2 % this may cost, so it is measured in one process and one run: the same
 * pre-built queries answered by two real Responders over the demo config, A counting (as
 * production) and B counting nothing (a DnsStats subclass that drops the counts, services without a
 * tally), in alternating rounds, CPU time per query (process.cpuUsage: a descheduled process does
 * not count). Prints each round, then the median CPU ns/query of A and B and their ratio.
 * Short rounds, many of them: on a loaded machine the CPU time of a query moves by 20 % within
 * seconds (cache and core contention), so each A round is paired with the B round next to it and
 * the paired ratios' median and quartiles are what is reported.
 * Run: `npm run bench:accounting` (BENCH_QUERIES per round, default 200,000; BENCH_ROUNDS pairs,
 * default 25: 10 million answers).
 * @module
 */
import { loadavg, cpus } from 'node:os';
import dnsPacket from 'dns-packet';
import { Responder } from '../../src/dns/respond.js';
import { DnsStats } from '../../src/dns/stats.js';
import { StaticHealth } from '../../src/health/snapshot.js';
import { loadConfigFile } from '../../src/node/config.js';
import { buildServices, openGeo, zoneSet } from '../../src/node/services.js';
import type { DecisionCounters } from '../../src/routing/service.js';
import { xorshift32 } from '../random.js';

const N = Number(process.env.BENCH_QUERIES ?? 200_000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 25);
const ORIGIN = 'gslb.example.com';

/** B: the accounting of the answer path dropped (the rcode and transport counters stay in both). */
class UncountedStats extends DnsStats {
  override countQuery(): void {}
  override timed(): boolean {
    return false;
  }
  override observeLatency(): void {}
}

const loaded = loadConfigFile(new URL('../../zones/meridian.yaml', import.meta.url).pathname);
if (!loaded.ok) throw new Error(`demo config invalid: ${JSON.stringify(loaded)}`);
const config = loaded.config;
const geo = openGeo(config, null);
const health = new StaticHealth(config.routing.regions.map((r) => ({ id: r.id, state: 'up' as const })));

function responder(counting: boolean): Responder {
  const counters: DecisionCounters = { decisions: 0, geoLookups: 0 };
  const stats = counting ? new DnsStats() : new UncountedStats();
  const services = buildServices(config, { geo: () => geo?.current ?? null, health: () => health, counters, tally: counting ? stats : undefined });
  return new Responder(zoneSet(config, services), { udpSize: 1232, chaos: false, version: 'bench', identity: 'bench', cacheEntries: 100_000 }, stats);
}

/**
 * The queries, as a resolver population asks: mostly the service's A (ECS from 1,024 client /24s,
 * so the decision caches hit as on a running node; a fifth without ECS), its AAAA, static names, a
 * CNAME into the service, NXDOMAIN.
 */
function queries(): Buffer[] {
  const out: Buffer[] = [];
  const next = xorshift32();
  const ask = (name: string, type: string, ecs: string | null): Buffer =>
    dnsPacket.encode({
      type: 'query',
      id: next() & 0xffff,
      flags: 0,
      questions: [{ type, name } as never],
      additionals: [{ type: 'OPT', name: '.', udpPayloadSize: 1232, options: ecs ? [{ code: 'CLIENT_SUBNET', family: 1, sourcePrefixLength: 24, scopePrefixLength: 0, ip: ecs }] : [] } as never],
    });
  const subnet = (): string => `${(next() % 223) + 1}.${next() % 256}.${next() % 4}.0`;
  for (let i = 0; i < 4096; i++) {
    const r = i % 20;
    if (r < 10) out.push(ask(`www.${ORIGIN}`, 'A', subnet()));
    else if (r < 12) out.push(ask(`www.${ORIGIN}`, 'A', null));
    else if (r < 14) out.push(ask(`www.${ORIGIN}`, 'AAAA', subnet()));
    else if (r < 15) out.push(ask(`api.${ORIGIN}`, 'A', subnet()));
    else if (r < 16) out.push(ask(`mail.${ORIGIN}`, 'A', null));
    else if (r < 17) out.push(ask(ORIGIN, 'SOA', null));
    else if (r < 18) out.push(ask(ORIGIN, 'NS', null));
    else if (r < 19) out.push(ask(`www.${ORIGIN}`, 'TXT', null));
    else out.push(ask(`nope${i}.${ORIGIN}`, 'A', null));
  }
  return out;
}

/** CPU ns per query over `n` answers of `qs` (cycled); throws if any query went unanswered. */
function round(r: Responder, qs: Buffer[], n: number): number {
  const mask = qs.length - 1;
  let answered = 0;
  const t0 = process.cpuUsage();
  for (let i = 0; i < n; i++) if (r.answer(qs[i & mask]!, true, '192.0.2.1', null) !== null) answered++;
  const used = process.cpuUsage(t0);
  if (answered !== n) throw new Error(`${n - answered} queries unanswered`);
  return ((used.user + used.system) * 1000) / n;
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

const qs = queries();
const a = responder(true);
const b = responder(false);
// Warm-up: JIT, prepared answers and decision caches filled, as on a running node.
for (let i = 0; i < 3; i++) {
  round(a, qs, 200_000);
  round(b, qs, 200_000);
}
const load = loadavg().map((l) => l.toFixed(2));
console.log(`${cpus().length} x ${cpus()[0]?.model ?? '?'}, Node ${process.version}; load average ${load.join(' ')} at the start`);
console.log(`${ROUNDS} rounds of ${N.toLocaleString('en-US')} queries each, A then B, then B then A (alternating which goes first)\n`);
console.log('| round | A: counting, CPU ns/query | B: not counting, CPU ns/query | A/B |\n|---:|---:|---:|---:|');
const as: number[] = [];
const bs: number[] = [];
for (let i = 0; i < ROUNDS; i++) {
  let x: number;
  let y: number;
  if (i % 2 === 0) {
    x = round(a, qs, N);
    y = round(b, qs, N);
  } else {
    y = round(b, qs, N);
    x = round(a, qs, N);
  }
  as.push(x);
  bs.push(y);
  console.log(`| ${i + 1} | ${x.toFixed(0)} | ${y.toFixed(0)} | ${(x / y).toFixed(3)} |`);
}
const ratios = as.map((x, i) => x / bs[i]!).sort((x, y) => x - y);
const quartile = (q: number): number => ratios[Math.round(q * (ratios.length - 1))]!;
console.log(
  `| **median** | **${median(as).toFixed(0)}** | **${median(bs).toFixed(0)}** | **${median(ratios).toFixed(3)}** (median of the paired ratios; quartiles ${quartile(0.25).toFixed(3)}-${quartile(0.75).toFixed(3)}) |`,
);
console.log(
  `\nload average ${loadavg()
    .map((l) => l.toFixed(2))
    .join(
      ' ',
    )} at the end; A counted ${a.stats.queries.toLocaleString('en-US')} queries, ${[...a.stats.byQtype].reduce((s, v) => s + v, 0).toLocaleString('en-US')} by QTYPE, ${(a.stats.decisionHits + a.stats.decisionNetworkHits + a.stats.decisionMisses).toLocaleString('en-US')} decisions, ${[...a.stats.latencyBuckets].reduce((s, v) => s + v, 0).toLocaleString('en-US')} timed; B by QTYPE ${[...b.stats.byQtype].reduce((s, v) => s + v, 0)}`,
);
geo?.stop();
