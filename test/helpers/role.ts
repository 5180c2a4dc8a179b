/**
 * A `meridian <role>` process (probe, forward, serve) for tests: spawned from src/cli.ts, its JSON
 * log lines parsed as they arrive, killed with the test process whatever happens.
 *
 *   const probe = spawnRole(['probe', '--region', 'us-east', '--config', file], { REDIS_URL: url });
 *   defer(() => probe.stop());
 *   await probe.line((l) => l.msg === 'ready');
 * @module
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { clusterConfig, SERVICE, usEast, ZONE } from './cluster.js';
import { freePort } from './dnsproc.js';
import { startRedis, type TestRedis } from './redis.js';
import { allowLoopback } from './targets.js';
import { MERIDIAN_ENTRY } from './meridian-bin.js';

export type LogLine = Record<string, unknown>;

export interface RoleProcess {
  proc: ChildProcess;
  /** Every JSON log line so far, in order. */
  lines: LogLine[];
  /** stdout lines that are not JSON, and stderr. */
  text(): string;
  /** Raw log lines that carry a binding key twice (a child logger re-binding `component`): JSON readers keep only one. */
  doubleBound: string[];
  /** Resolves with the first line (already seen or to come) that matches; rejects after timeoutMs. */
  line(match: (l: LogLine) => boolean, timeoutMs?: number, what?: string): Promise<LogLine>;
  /** Resolves with the exit code or signal. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** True while the process runs. */
  running(): boolean;
  /** SIGTERM, then SIGKILL after 5 s; resolves once it exited. Safe to call twice. */
  stop(): Promise<void>;
}

const live = new Set<ChildProcess>();
process.once('exit', () => {
  for (const p of live) p.kill('SIGKILL');
});

export function spawnRole(args: string[], env: NodeJS.ProcessEnv = {}): RoleProcess {
  const proc = spawn(process.execPath, [...MERIDIAN_ENTRY, ...args], {
    // One DNS process per node unless a test asks for workers (test/helpers/dnsproc.ts).
    env: { ...process.env, MERIDIAN_LOG_LEVEL: 'info', MERIDIAN_WORKERS: process.env.MERIDIAN_WORKERS ?? '1', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  live.add(proc);
  const lines: LogLine[] = [];
  const doubleBound: string[] = [];
  let other = '';
  let partial = '';
  proc.stdout!.on('data', (d: Buffer) => {
    partial += d.toString();
    const parts = partial.split('\n');
    partial = parts.pop()!;
    for (const p of parts) {
      if ((p.match(/"component":/g) ?? []).length > 1) doubleBound.push(p);
      try {
        lines.push(JSON.parse(p) as LogLine);
      } catch {
        other += p + '\n';
      }
    }
  });
  proc.stderr!.on('data', (d: Buffer) => (other += d.toString()));
  let exit: { code: number | null; signal: NodeJS.Signals | null } | null = null;
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    proc.once('exit', (code, signal) => {
      live.delete(proc);
      exit = { code, signal };
      resolve(exit);
    }),
  );
  const describe = (): string =>
    `${args.join(' ')}; exit ${JSON.stringify(exit)}; log: ${lines
      .slice(-15)
      .map((l) => JSON.stringify(l))
      .join('\n')}\n${other.slice(-2000)}`;
  return {
    proc,
    lines,
    doubleBound,
    text: () => other,
    exited,
    running: () => exit === null,
    line(match, timeoutMs = 15_000, what = 'log line') {
      return new Promise((resolve, reject) => {
        const deadline = Date.now() + timeoutMs;
        const check = (): void => {
          const hit = lines.find(match);
          if (hit) return resolve(hit);
          if (Date.now() > deadline || exit) return reject(new Error(`no ${what}: ${describe()}`));
          setTimeout(check, 20);
        };
        check();
      });
    },
    async stop() {
      if (exit) return;
      proc.kill('SIGTERM');
      const timer = setTimeout(() => proc.kill('SIGKILL'), 5_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** Polls `cond` every 25 ms until it holds; rejects with `what` after timeoutMs. */
export async function until(cond: () => boolean | Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for: ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** One Prometheus sample's value from a /metrics endpoint, or null when the series is absent. */
export async function metric(port: number, series: string): Promise<number | null> {
  const text = await fetch(`http://127.0.0.1:${port}/metrics`).then((r) => r.text());
  const line = text.split('\n').find((l) => l.startsWith(series + ' '));
  return line ? Number(line.slice(series.length + 1)) : null;
}

/** Every sample of `name` on a /metrics page, by its label set as printed (`{worker="1"}`, or '' without labels). */
export function samples(text: string, name: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    const m = /^(\w+)(\{[^}]*\})? (\S+)$/.exec(line);
    if (m && m[1] === name) out.set(m[2] ?? '', Number(m[3]));
  }
  return out;
}

/** A TCP endpoint on 127.0.0.1 that accepts (and closes) every connection: a TCP check passes. */
export function acceptor(): Promise<Server> {
  return new Promise((resolve) => {
    const s = createServer((c) => c.destroy()).listen(0, '127.0.0.1', () => resolve(s));
  });
}

export const portOf = (s: Server): number => (s.address() as AddressInfo).port;

/** Successful checks of endpoint `id` of region us-east, from a probe's --metrics port (0 before the first). */
export function okChecks(metricsPort: number): (id: string) => Promise<number> {
  return (id) => metric(metricsPort, `meridian_probe_check_duration_seconds_count{region="us-east",endpoint="${id}",result="ok"}`).then((n) => n ?? 0);
}

/** The us-east region of the cluster kit with TCP-checked endpoints on 127.0.0.1. */
export function usEastWith(endpoints: { id: string; port: number }[]): Record<string, unknown> {
  return { id: 'us-east', ...usEast('192.0.2.10', { endpoints: endpoints.map((e) => ({ id: e.id, address: '127.0.0.1', port: e.port })) }) };
}

/** A probe's YAML (JSON is YAML): the fixture zone, Redis, fast checks, us-east with `endpoints`. */
export function probeYaml(
  redisUrl: string,
  endpoints: { id: string; port: number }[],
  extra: Record<string, unknown> = {},
  probe: Record<string, unknown> = { intervalMs: 200, timeoutMs: 150 },
): string {
  const zone = new URL('../fixtures/gslb.example.com.zone', import.meta.url).pathname;
  return JSON.stringify(allowLoopback({ zones: [{ origin: 'gslb.example.com', file: zone }], health: { redisUrl, probe }, regions: [usEastWith(endpoints)], ...extra }));
}

export interface ProbeFixture {
  redis: TestRedis;
  /** Two endpoints that pass TCP checks: web-1 is in the first YAML, web-2 for the test to add. */
  web1: Server;
  web2: Server;
  dir: string;
  /** The probe's YAML. */
  file: string;
  /** Rewrites the YAML with these us-east endpoints (and `probe` as health.probe). */
  write(endpoints: { id: string; port: number }[], probe?: Record<string, unknown>): void;
  probe: RoleProcess;
  /** The probe's `--metrics` port. */
  metricsPort: number;
  checks: (id: string) => Promise<number>;
}

/**
 * A real redis-server and a `meridian probe --region us-east` on a YAML with web-1 (plus `extra`
 * top-level keys), ready and with web-1 checked once. Everything is stopped after the test.
 * `redisDown`: the server is killed before the probe starts (it runs on its local copy or the YAML).
 */
export async function startProbeFixture(t: TestContext, extra: Record<string, unknown> = {}, opts: { redisDown?: boolean } = {}): Promise<ProbeFixture> {
  const defer = deferrer(t);
  const redis = await startRedis();
  defer(() => redis.stop());
  if (opts.redisDown) await redis.kill();
  const [web1, web2] = [await acceptor(), await acceptor()];
  defer(() => void (web1.close(), web2.close()));
  const dir = mkdtempSync(join(tmpdir(), 'meridian-probe-'));
  defer(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'meridian.yaml');
  const metricsPort = await freePort();
  const write = (endpoints: { id: string; port: number }[], probe?: Record<string, unknown>): void => writeFileSync(file, probeYaml(redis.url, endpoints, extra, probe));
  write([{ id: 'web-1', port: portOf(web1) }]);
  const probe = spawnRole(['probe', '--region', 'us-east', '--metrics', `127.0.0.1:${metricsPort}`, '--config', file]);
  defer(() => probe.stop());
  const checks = okChecks(metricsPort);
  await probe.line((l) => l.msg === 'ready', 60_000, 'probe ready');
  await until(async () => (await checks('web-1')) > 0, 10_000, 'web-1 checked');
  return { redis, web1, web2, dir, file, write, probe, metricsPort, checks };
}

/**
 * Cleanups of a test, run after it newest first (as a start/close stack does), each even when an
 * earlier one threw: register one right after each resource is created, so a setup that fails
 * half-way still releases what it opened (a left-over server or child keeps the file's process alive).
 */
export function deferrer(t: TestContext): (cleanup: () => unknown) => void {
  const stack: (() => unknown)[] = [];
  t.after(async () => {
    for (const c of stack.reverse())
      await Promise.resolve()
        .then(c)
        .catch(() => undefined);
  });
  return (cleanup) => void stack.push(cleanup);
}

/**
 * A cluster-mode YAML in a temp dir (removed after the test): the cluster kit's config (admin API
 * with its static token, config store and health bus on `redisUrl`), a DNS port, the fixture zone,
 * us-east with one TCP-checked endpoint and a forwarder listener, then `extra` on top.
 */
export async function clusterYaml(t: TestContext, redisUrl: string, extra: Record<string, unknown> = {}): Promise<{ dir: string; file: string; adminPort: number }> {
  const dir = mkdtempSync(join(tmpdir(), 'meridian-role-'));
  deferrer(t)(() => rmSync(dir, { recursive: true, force: true }));
  const adminPort = await freePort();
  const base = clusterConfig(redisUrl, adminPort);
  const config = {
    ...base,
    dns: { listen: [`127.0.0.1:${await freePort()}`] },
    zones: [{ origin: ZONE, file: new URL('../fixtures/gslb.example.com.zone', import.meta.url).pathname }],
    regions: [usEastWith([{ id: 'web-1', port: 9 }]), (base.regions as unknown[])[1]],
    forward: { listeners: [{ name: 'web', service: SERVICE, listen: `127.0.0.1:${await freePort()}` }] },
    ...extra,
  };
  const file = join(dir, 'meridian.yaml');
  writeFileSync(file, JSON.stringify(allowLoopback(config)));
  return { dir, file, adminPort };
}
