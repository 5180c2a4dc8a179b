/**
 * DNS latency while dry runs run (issue 17, defect 2). Starts a real `meridian serve` with its admin
 * API and 100 services, sends UDP queries open-loop at a fixed rate, and reports p50/p99/max of the
 * answers to the queries sent while no dry run runs (baseline) and while two concurrent dry runs
 * with a 1,000-address sample run (a weight change and an override, each touching every service).
 * Bounded: a few rounds of a few seconds each.
 *
 *   node --import tsx bench/admin/dryrun-dns.ts [repo]   # repo: another checkout's root (its src/cli.ts), e.g. an older commit
 *
 * Env: QPS (default 1000), ROUNDS (default 3).
 */
import dgram from 'node:dgram';
import os from 'node:os';
import path from 'node:path';
import { startMeridianWithApi } from '../../test/helpers/apiproc.js';
import { query } from '../../test/helpers/client.js';
import { REGIONS, SAMPLE, sharedServices, Z, ZONE } from '../../test/helpers/dryrun-fixture.js';

const QPS = Number(process.env.QPS ?? 1000);
const ROUNDS = Number(process.env.ROUNDS ?? 3);
const SERVICES = sharedServices(100);

/** Open-loop UDP load: `QPS` queries a second, each answer's latency recorded under the phase it was sent in. */
function load(port: number) {
  const sock = dgram.createSocket('udp4');
  const sent = new Map<number, { at: bigint; phase: string }>();
  const latencies = new Map<string, number[]>();
  const counts = new Map<string, number>();
  let phase = 'warm-up';
  let id = 0;
  sock.on('message', (msg) => {
    const s = sent.get(msg.readUInt16BE(0));
    if (!s) return;
    sent.delete(msg.readUInt16BE(0));
    const list = latencies.get(s.phase) ?? [];
    list.push(Number(process.hrtime.bigint() - s.at) / 1e6);
    latencies.set(s.phase, list);
  });
  const started = process.hrtime.bigint();
  let total = 0;
  const tick = setInterval(() => {
    const due = Math.floor((Number(process.hrtime.bigint() - started) / 1e9) * QPS) - total;
    for (let i = 0; i < due; i++, total++) {
      id = (id + 1) & 0xffff;
      sent.set(id, { at: process.hrtime.bigint(), phase });
      counts.set(phase, (counts.get(phase) ?? 0) + 1);
      sock.send(query(`s${id % 100}.${Z}`, 'A', { id }), port, '127.0.0.1');
    }
  }, 1);
  return {
    set phase(p: string) {
      phase = p;
    },
    stats(p: string) {
      const l = (latencies.get(p) ?? []).sort((a, b) => a - b);
      const q = (f: number): string => (l.length ? l[Math.min(l.length - 1, Math.floor(f * l.length))]!.toFixed(2) : '-');
      return { phase: p, sent: counts.get(p) ?? 0, answered: l.length, p50: q(0.5), p99: q(0.99), max: l.length ? l.at(-1)!.toFixed(2) : '-' };
    },
    stop() {
      clearInterval(tick);
      sock.close();
    },
  };
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function main(): Promise<void> {
  const repo = process.argv[2] ? path.resolve(process.argv[2]) : null;
  const node = await startMeridianWithApi({
    zones: [{ origin: Z, text: ZONE }],
    extra: { regions: REGIONS.slice(0, 3), services: SERVICES },
    ...(repo ? { command: [process.execPath, '--import', 'tsx', path.join(repo, 'src/cli.ts')] } : {}),
  });
  const gen = load(node.port);
  try {
    await sleep(1000);
    let lookups = 0;
    let ms = 0;
    for (let round = 0; round < ROUNDS; round++) {
      gen.phase = 'baseline';
      await sleep(2000);
      gen.phase = 'dry runs';
      const t0 = Date.now();
      const replies = await Promise.all([
        node.api('PUT', `/v1/regions/eu-west/weight?dryRun=true&sample=${SAMPLE}`, { weight: 7 }),
        node.api('PUT', `/v1/overrides/region/us-east?dryRun=true&sample=${SAMPLE}`, { state: 'down', reason: 'bench' }),
      ]);
      ms += Date.now() - t0;
      for (const r of replies) {
        if (r.status !== 200) throw new Error(`dry run: ${r.status} ${r.text.slice(0, 300)}`);
        lookups += r.json.answers.compared as number;
      }
      gen.phase = 'after';
    }
    await sleep(1000);
    console.log(
      `machine: ${os.cpus().length} cores (${os.cpus()[0]?.model}), load average ${os
        .loadavg()
        .map((x) => x.toFixed(2))
        .join(' ')}; node ${process.version}; ${QPS} qps; ${ROUNDS} rounds`,
    );
    console.log(`code: ${repo ?? 'this checkout'}; dry runs: ${lookups} lookups in ${ms} ms of wall time (two at a time)`);
    console.log('| phase | queries | answered | p50 ms | p99 ms | max ms |');
    console.log('|---|---|---|---|---|---|');
    for (const p of ['baseline', 'dry runs']) {
      const s = gen.stats(p);
      console.log(`| ${s.phase} | ${s.sent} | ${s.answered} | ${s.p50} | ${s.p99} | ${s.max} |`);
    }
  } finally {
    gen.stop();
    await node.stop();
  }
}

await main();
