/**
 * DNS latency and admin API latency while endpoints flip, on a generated deployment (issue 17,
 * defect 1). Bounded: runs `--seconds` (default 30) and stops everything it started.
 *
 *   node --import tsx bench/scale/flips.ts [--regions 200] [--services 1000] [--endpoints 10000]
 *     [--flips-per-second 100] [--qps 500] [--seconds 30] [--cpu-prof DIR]
 *
 * What runs (cluster mode, the real path of a flip at this size):
 * - a throwaway `redis-server` (test/helpers/redis.ts);
 * - `meridian serve` on the generated config, with its admin API (file store) and metrics;
 * - a vantage in this process writing to the health bus exactly as a `meridian probe` sidecar does
 *   (`RedisBus.writeView` every second as its heartbeat, `publishChange` per flip), seeing every
 *   endpoint up, then flipping `--flips-per-second` random endpoints a second (1 % of 10,000);
 * - a paced UDP client: `--qps` A queries a second over random services and client subnets (ECS),
 *   each timed from send to answer; and `GET /v1/status` twice a second.
 * Prints p50/p99/max of both and the node's health counters (metrics), as JSON on the last line.
 * @module
 */
import { spawn } from 'node:child_process';
import dgram from 'node:dgram';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { RedisBus } from '../../src/health/redis-bus.js';
import type { EndpointObservation, VantageView } from '../../src/health/types.js';
import { query } from '../../test/helpers/client.js';
import { freePort, REPO_ROOT } from '../../test/helpers/dnsproc.js';
import { startRedis } from '../../test/helpers/redis.js';
import { deployment, endpointKey, serviceName, writeDeployment } from './deployment.js';

const { values: args } = parseArgs({
  options: {
    regions: { type: 'string', default: '200' },
    services: { type: 'string', default: '1000' },
    endpoints: { type: 'string', default: '10000' },
    'flips-per-second': { type: 'string', default: '100' },
    qps: { type: 'string', default: '500' },
    seconds: { type: 'string', default: '30' },
    'cpu-prof': { type: 'string' },
  },
});
const shape = { regions: Number(args.regions), services: Number(args.services), endpoints: Number(args.endpoints) };
const flipsPerSecond = Number(args['flips-per-second']);
const qps = Number(args.qps);
const seconds = Number(args.seconds);

function pct(xs: number[], p: number): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil(s.length * p) - 1)]!;
}
const summary = (xs: number[]): Record<string, number> => ({ n: xs.length, p50: round(pct(xs, 0.5)), p99: round(pct(xs, 0.99)), max: round(pct(xs, 1)) });
const round = (x: number): number => Math.round(x * 100) / 100;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

const obs = (status: 'up' | 'down', at: number): EndpointObservation => ({ status, since: at, checkedAt: at, rttMs: status === 'up' ? 1 : null, error: status === 'down' ? 'ECONNREFUSED' : null });

async function startNode(file: string, cpuProf: string | undefined): Promise<{ stop(): Promise<void> }> {
  const node = [...(cpuProf ? ['--cpu-prof', '--cpu-prof-dir', cpuProf] : []), '--import', 'tsx', join(REPO_ROOT, 'src/cli.ts'), 'serve', '--config', file];
  const child = spawn(process.execPath, node, {
    cwd: REPO_ROOT,
    env: { ...process.env, MERIDIAN_LOG_LEVEL: 'warn', MERIDIAN_WORKERS: process.env.MERIDIAN_WORKERS ?? '1' },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  return {
    async stop() {
      child.kill('SIGTERM');
      await Promise.race([exited, sleep(120_000).then(() => child.kill('SIGKILL'))]);
    },
  };
}

async function until(cond: () => Promise<boolean>, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await cond().catch(() => false)) return;
    await sleep(200);
  }
  throw new Error(`timed out: ${what}`);
}

/** Paced UDP queries; each answer's latency from its send, by DNS id. */
function dnsLoad(port: number, rate: number, stopAt: number): Promise<{ latencies: number[]; lost: number }> {
  const sock = dgram.createSocket('udp4');
  const sent = new Map<number, number>();
  const latencies: number[] = [];
  let id = 0;
  sock.on('message', (m) => {
    const t = sent.get(m.readUInt16BE(0));
    if (t === undefined) return;
    sent.delete(m.readUInt16BE(0));
    latencies.push(performance.now() - t);
  });
  return new Promise((resolve) => {
    const start = performance.now();
    let done = 0;
    const tick = setInterval(() => {
      const due = Math.floor(((performance.now() - start) / 1000) * rate);
      for (; done < due; done++) {
        id = (id + 1) & 0xffff;
        const k = Math.floor(Math.random() * shape.services);
        const ecs = `${10 + (done % 200)}.${done & 255}.${(done >> 8) & 255}.0/24`;
        const q = query(serviceName(k), 'A', { id, ecs });
        sent.set(id, performance.now());
        sock.send(q, port, '127.0.0.1');
      }
      if (Date.now() >= stopAt) {
        clearInterval(tick);
        setTimeout(() => {
          sock.close();
          resolve({ latencies, lost: sent.size });
        }, 1000);
      }
    }, 5);
  });
}

async function statusLoad(url: string, token: string, stopAt: number): Promise<number[]> {
  const out: number[] = [];
  while (Date.now() < stopAt) {
    const t = performance.now();
    // A request that takes longer than the run counts as the run's length (and is abandoned).
    const left = Math.max(1000, stopAt - Date.now());
    try {
      const r = await fetch(url, { headers: { authorization: `Bearer ${token}` }, signal: AbortSignal.timeout(left) });
      await r.text();
    } catch {
      // timed out: recorded below as what it cost
    }
    out.push(performance.now() - t);
    await sleep(500);
  }
  return out;
}

async function main(): Promise<void> {
  const redis = await startRedis();
  const [dnsPort, adminPort, metricsPort] = [await freePort(), await freePort(), await freePort()];
  const d = deployment(shape);
  const { dir, file } = writeDeployment(d, {
    dns: { listen: [`127.0.0.1:${dnsPort}`] },
    redis: { url: redis.url },
    admin: { listen: `127.0.0.1:${adminPort}`, store: 'file', dataDir: 'data' },
    metrics: { listen: `127.0.0.1:${metricsPort}` },
  });
  const keys = d.regions.flatMap((r, i) => r.endpoints.map((_, j) => endpointKey(i, j)));
  const bus = new RedisBus({ url: redis.url });
  const t0 = Date.now();
  const node = await startNode(file, args['cpu-prof']);
  try {
    await bus.whenConnected();
    const view = (): VantageView => ({ vantage: 'bench', region: null, heartbeatAt: Date.now(), endpoints: new Map(keys.map((k) => [k, obs(state.get(k) ?? 'up', Date.now())])) });
    const state = new Map<string, 'up' | 'down'>();
    await bus.writeView(view(), 15_000);
    await until(async () => existsSync(join(dir, 'data', 'admin-token')) && (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).ok, 120_000, 'node ready');
    const token = readFileSync(join(dir, 'data', 'admin-token'), 'utf8').trim();
    const startup = Date.now() - t0;
    await sleep(2000);
    const stopAt = Date.now() + seconds * 1000;
    const heartbeat = setInterval(() => void bus.writeView(view(), 15_000).catch(() => undefined), 5000);
    let flips = 0;
    const flipper = setInterval(() => {
      // Ten batches a second, so the flips are spread over the second as independent probes' are.
      for (let i = 0; i < flipsPerSecond / 10; i++) {
        const k = keys[Math.floor(Math.random() * keys.length)]!;
        const next = state.get(k) === 'down' ? 'up' : 'down';
        state.set(k, next);
        flips++;
        void bus.publishChange('bench', k, obs(next, Date.now())).catch(() => undefined);
      }
    }, 100);
    const [dns, status] = await Promise.all([dnsLoad(dnsPort, qps, stopAt), statusLoad(`http://127.0.0.1:${adminPort}/v1/status`, token, stopAt)]);
    clearInterval(flipper);
    clearInterval(heartbeat);
    const metrics = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
    const counters = Object.fromEntries(
      [...metrics.matchAll(/^(meridian_(?:health_endpoint_evaluations|health_region_evaluations|health_full_recomputes|dns_decision_flushes)_total) (\S+)$/gm)].map((m) => [m[1], Number(m[2])]),
    );
    const result = { shape, flipsPerSecond, qps, seconds, flips, startupMs: startup, dnsMs: summary(dns.latencies), dnsLost: dns.lost, statusMs: summary(status), counters };
    console.log(JSON.stringify(result));
  } finally {
    await node.stop();
    await bus.close();
    await redis.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
