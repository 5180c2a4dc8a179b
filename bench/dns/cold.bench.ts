/**
 * In-process micro-benchmark of the cold path (issue 17): `Responder.answer` for `www` of the demo
 * (geo on the embedded country database, then sticky: `cold-routing.yaml`, as `run.sh` gives the cold
 * scenario), each query with a random ECS address from 0.0.0.0/1, source /32, as calidns sends.
 * No socket: what it measures is Meridian's own work per miss, the part the socket does not bound.
 * It also prints the work counted per query (policy chain runs, geo lookups), so a change can be
 * checked for doing less, not only for running faster. Bounded: a fixed number of queries.
 * Run: `npm run bench:cold` (BENCH_ITERATIONS, default 2,000,000; add
 * `--cpu-prof` to the node flags for a profile).
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import dnsPacket from 'dns-packet';
import { Responder } from '../../src/dns/respond.js';
import { buildServices, openGeo, zoneSet } from '../../src/node/services.js';
import { loadConfigFile } from '../../src/node/config.js';
import { StaticHealth } from '../../src/health/snapshot.js';
import type { DecisionCounters } from '../../src/routing/service.js';
import { xorshift32 } from '../random.js';

const N = Number(process.env.BENCH_ITERATIONS ?? 2_000_000);
const ORIGIN = 'gslb.example.com';

const dir = mkdtempSync(join(tmpdir(), 'meridian-cold-'));
try {
  writeFileSync(join(dir, `${ORIGIN}.zone`), `$ORIGIN ${ORIGIN}.\n$TTL 300\n@ SOA ns1 host 1 7200 3600 1209600 300\n@ NS ns1\nns1 A 127.0.0.1\n`);
  // The cold scenario's Meridian config (bench/dns/run.sh), without listeners.
  const routing = readFileSync(new URL('cold-routing.yaml', import.meta.url), 'utf8');
  writeFileSync(join(dir, 'meridian.yaml'), `zones:\n  - { origin: ${ORIGIN}, file: ${ORIGIN}.zone }\n${routing}`);
  const loaded = loadConfigFile(join(dir, 'meridian.yaml'));
  if (!loaded.ok) throw new Error(`bench config invalid: ${JSON.stringify(loaded)}`);
  const config = loaded.config;
  const geo = openGeo(config, null);
  const health = new StaticHealth(config.routing.regions.map((r) => ({ id: r.id, state: 'up' as const })));
  const counters: DecisionCounters = { decisions: 0, geoLookups: 0 };
  const services = buildServices(config, { geo: () => geo?.current ?? null, health: () => health, counters });
  const responder = new Responder(zoneSet(config, services), { udpSize: 1232, chaos: false, version: 'bench', identity: 'bench', cacheEntries: 100_000 });

  const template = dnsPacket.encode({
    type: 'query',
    id: 1,
    flags: 0,
    questions: [{ type: 'A', name: `www.${ORIGIN}` }],
    additionals: [{ type: 'OPT', name: '.', udpPayloadSize: 1232, options: [{ code: 'CLIENT_SUBNET', family: 1, sourcePrefixLength: 32, scopePrefixLength: 0, ip: '1.2.3.4' }] } as never],
  });
  const at = template.length - 4; // the ECS address is the last thing in the query
  const next = xorshift32(); // the same addresses on every run
  const addrs = new Uint32Array(1 << 20).map(() => next() >>> 1); // 0.0.0.0/1
  const ask = (i: number): Buffer | null => {
    template.writeUInt32BE(addrs[i & (addrs.length - 1)]!, at);
    return responder.answer(template, true, '127.0.0.1', null);
  };
  for (let i = 0; i < 300_000; i++) ask(i); // JIT warm-up, decision caches filled as a running node's are
  const before = { ...counters, noerror: responder.stats.noerror };
  // CPU time, not wall time: on a shared machine the process is descheduled at times.
  const t0 = process.cpuUsage();
  for (let i = 0; i < N; i++) ask(i + 300_000);
  const used = process.cpuUsage(t0);
  const ns = (used.user + used.system) * 1000;
  if (responder.stats.noerror - before.noerror !== N) throw new Error('not every query was answered NOERROR');
  console.log(`| queries | CPU ns/query | queries per CPU second | chain runs/query | geo lookups/query |\n|---:|---:|---:|---:|---:|`);
  console.log(
    `| ${N.toLocaleString('en-US')} | ${(ns / N).toFixed(0)} | ${Math.round((N / ns) * 1e9).toLocaleString('en-US')} | ${((counters.decisions - before.decisions) / N).toFixed(4)} | ${((counters.geoLookups - before.geoLookups) / N).toFixed(4)} |`,
  );
  geo?.stop();
} finally {
  rmSync(dir, { recursive: true, force: true });
}
