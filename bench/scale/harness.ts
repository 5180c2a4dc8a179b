/**
 * The processes of a scale run: a throwaway `redis-server`, a `meridian serve` on the generated
 * deployment in cluster mode (config store and health bus on that Redis, admin API with a static
 * token, metrics, geo from geodb/test-city.mmdb) and a `meridian probe` sidecar, the real path of
 * a health flip. `serve` runs with one DNS worker (`MERIDIAN_WORKERS=1`) unless the environment sets
 * `MERIDIAN_WORKERS`; its RSS counts every process of its tree.
 * @module
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { freePort, REPO_ROOT } from '../../test/helpers/dnsproc.js';
import { respCommand, startRedis, type TestRedis } from '../../test/helpers/redis.js';
import { writeDeployment, type Deployment } from './deployment.js';

/**
 * Which build of Meridian runs: `src` through tsx (tests: the code as it is), or `dist`, the
 * compiled JavaScript operators run (the benchmarks: tsx transpiles every module at first use and
 * maps stack traces, which a node in production does not pay).
 */
export type Build = 'src' | 'dist';

function cliArgv(build: Build): string[] {
  if (build === 'src') return ['--import', 'tsx', join(REPO_ROOT, 'src/cli.ts')];
  const cli = join(REPO_ROOT, 'dist/cli.js');
  if (!existsSync(cli)) throw new Error(`${cli} not found: npm run build first`);
  return [cli];
}
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export interface Proc {
  child: ChildProcess;
  /** The last 64 kB it printed. */
  output(): string;
  stop(): Promise<void>;
}

/** A `meridian` subcommand as a child process, its output kept for error reports. */
export function spawnMeridian(args: string[], opts: { build: Build; cpuProf?: string; env?: NodeJS.ProcessEnv }): Proc {
  const node = [...(opts.cpuProf ? ['--cpu-prof', '--cpu-prof-dir', opts.cpuProf] : []), ...cliArgv(opts.build), ...args];
  // One DNS worker unless the environment asks for more (serve's own default is one per core).
  const env = { ...process.env, MERIDIAN_LOG_LEVEL: 'warn', MERIDIAN_WORKERS: process.env.MERIDIAN_WORKERS ?? '1', ...opts.env };
  const child = spawn(process.execPath, node, { cwd: REPO_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const keep = (d: Buffer): void => void (out = (out + d.toString()).slice(-65_536));
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  const exited = new Promise<void>((r) => (child.exitCode !== null ? r() : child.once('exit', () => r())));
  return {
    child,
    output: () => out,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      // A profiled process writes its profile on the way out: give it time.
      const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** Resident memory (bytes) of a process and all its descendants, from /proc. */
export function treeRss(pid: number): number {
  let total = 0;
  const stack = [pid];
  while (stack.length > 0) {
    const p = stack.pop()!;
    try {
      const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${p}/status`, 'utf8'));
      total += Number(m?.[1] ?? 0) * 1024;
      for (const task of readdirSync(`/proc/${p}/task`)) {
        const kids = readFileSync(`/proc/${p}/task/${task}/children`, 'utf8').trim();
        if (kids) stack.push(...kids.split(/\s+/).map(Number));
      }
    } catch {
      // the process ended meanwhile
    }
  }
  return total;
}

export interface ApiReply {
  status: number;
  body: unknown;
  ms: number;
}

export interface ScaleNode {
  redis: TestRedis;
  dir: string;
  dnsPort: number;
  adminPort: number;
  metricsPort: number;
  serve: Proc;
  probe: Proc | null;
  api(method: string, path: string, body?: unknown): Promise<ApiReply>;
  metrics(): Promise<string>;
  /** One series' value from /metrics (the first line that starts with `series`), or null. */
  metric(series: string): Promise<number | null>;
  redisCommand(args: string[]): Promise<unknown>;
  stop(): Promise<void>;
}

export interface NodeOptions {
  /** Start a `meridian probe --region <first region>` sidecar. */
  probe: boolean;
  build: Build;
  cpuProf?: string;
  /** Extra top-level config (merged over the defaults here). */
  extra?: Record<string, unknown>;
}

async function until(cond: () => Promise<boolean>, ms: number, what: string, proc: Proc): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (proc.child.exitCode !== null) throw new Error(`${what}: the process exited (${proc.child.exitCode}):\n${proc.output().slice(-4000)}`);
    if (await cond().catch(() => false)) return;
    await sleep(250);
  }
  throw new Error(`timed out: ${what}\n${proc.output().slice(-4000)}`);
}

/** Starts Redis, the DNS node and (optionally) the probe on deployment `d`; everything stops on failure. */
export async function startScaleNode(d: Deployment, opts: NodeOptions): Promise<ScaleNode> {
  const redis = await startRedis();
  const opened: (() => Promise<void>)[] = [() => redis.stop()];
  const stop = async (): Promise<void> => {
    for (const close of opened.reverse()) await close().catch(() => undefined);
  };
  try {
    const [dnsPort, adminPort, metricsPort, probeMetrics] = [await freePort(), await freePort(), await freePort(), await freePort()];
    const secret = `mrd_${randomBytes(32).toString('base64url')}`;
    const token = { name: 'bench', role: 'admin', sha256: createHash('sha256').update(secret).digest('hex') };
    const { dir, file } = writeDeployment(d, {
      dns: { listen: [`127.0.0.1:${dnsPort}`] },
      redis: { url: redis.url },
      // The run's own API traffic (status polls, registrations) is far over the default 600 a minute.
      admin: { listen: `127.0.0.1:${adminPort}`, store: 'redis', dataDir: 'data', tokens: [token], rateLimit: 1_000_000, bodyLimitBytes: 64 * 1024 * 1024 },
      metrics: { listen: `127.0.0.1:${metricsPort}` },
      geo: { database: join(REPO_ROOT, 'geodb/test-city.mmdb') },
      ...opts.extra,
    });
    opened.push(async () => rmSync(dir, { recursive: true, force: true }));
    const env = { REDIS_URL: redis.url };
    const serve = spawnMeridian(['serve', '--config', file], { build: opts.build, env, ...(opts.cpuProf ? { cpuProf: opts.cpuProf } : {}) });
    opened.push(() => serve.stop());
    const api = async (method: string, path: string, body?: unknown): Promise<ApiReply> => {
      const t = performance.now();
      const res = await fetch(`http://127.0.0.1:${adminPort}${path}`, {
        method,
        headers: { authorization: `Bearer ${secret}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
        signal: AbortSignal.timeout(120_000),
      });
      const text = await res.text();
      const ms = performance.now() - t;
      let parsed: unknown = text;
      try {
        parsed = JSON.parse(text);
      } catch {
        // not JSON: keep the text
      }
      return { status: res.status, body: parsed, ms };
    };
    const metrics = async (): Promise<string> => (await fetch(`http://127.0.0.1:${metricsPort}/metrics`, { signal: AbortSignal.timeout(60_000) })).text();
    const metric = async (series: string): Promise<number | null> => {
      const line = (await metrics()).split('\n').find((l) => l.startsWith(series + ' ') || l.startsWith(series + '{'));
      return line ? Number(line.slice(line.lastIndexOf(' ') + 1)) : null;
    };
    await until(async () => (await api('GET', '/v1/status')).status === 200 && (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).ok, 180_000, 'DNS node ready', serve);
    let probe: Proc | null = null;
    if (opts.probe) {
      probe = spawnMeridian(['probe', '--region', d.regions[0]!.id, '--vantage', 'bench-probe', '--metrics', `127.0.0.1:${probeMetrics}`, '--config', file], { build: opts.build, env });
      opened.push(() => probe!.stop());
      await until(async () => ((await metric('meridian_health_live_vantages')) ?? 0) >= 1, 180_000, 'probe view live on the DNS node', probe);
    }
    return { redis, dir, dnsPort, adminPort, metricsPort, serve, probe, api, metrics, metric, redisCommand: (args) => respCommand(redis.port, args, 10_000), stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
