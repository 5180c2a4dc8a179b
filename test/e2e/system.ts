/**
 * Meridian on the e2e internet: Redis with Sentinel, six backends, three forwarders, three probes, two DNS
 * nodes and the client agents, each started on its own host from the built CLI with its own copy
 * of the config. `settle()` waits for the steady state every drill starts from.
 * @module
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { Agent } from './agents.js';
import { ADMIN_SECRET, WWW, writeHostConfig } from './config.js';
import { sleep } from './client-ops.js';
import { parseMetrics, type Metrics } from './metrics.js';
import { AGENT, CLI, REPO_ROOT } from './paths.js';
import { CLIENTS, DNS_NODES, PORTS, REGIONS, backendHost, forwarderHost, probeHost, regionOf, type RegionPlan } from './plan.js';
import { ProcessSet, type Proc } from './processes.js';
import { RedisHa } from './redis-ha.js';
import type { Topology } from './topology.js';

const READY_MS = 60_000;

/** A backend: answers `/healthz` and names itself on every other path (`?hold=MS` delays the reply). */
const BACKEND_JS = `
const http = require('node:http');
const [name, address, port] = process.argv.slice(1);
http.createServer((req, res) => {
  if (req.url === '/healthz') return res.end('ok');
  const hold = Number(new URL(req.url, 'http://x').searchParams.get('hold') || 0);
  setTimeout(() => { res.setHeader('connection', 'close'); res.end(name + '\\n'); }, hold);
}).listen(Number(port), address, () => console.log('listening'));
`;

export interface ApiReply {
  status: number;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  body: any;
}

export class System {
  readonly procs: ProcessSet;
  /** Running processes by host (one Meridian role or server per host). */
  readonly running = new Map<string, Proc>();
  readonly agents = new Map<string, Agent>();
  readonly redis: RedisHa;
  private readonly env: NodeJS.ProcessEnv;

  constructor(
    readonly topo: Topology,
    readonly runDir: string,
  ) {
    mkdirSync(join(runDir, 'logs'), { recursive: true });
    this.procs = new ProcessSet(join(runDir, 'logs'));
    this.redis = new RedisHa(topo, this.procs, (host) => this.hostDir(host));
    // Redis comes from the config's redis: section (the sentinels), never from the caller's env.
    this.env = { ...process.env, REDIS_URL: '', MERIDIAN_LOG_LEVEL: 'info', MERIDIAN_WORKERS: process.env.MERIDIAN_WORKERS ?? '1' };
  }

  hostDir(host: string): string {
    return join(this.runDir, 'hosts', host);
  }

  /** The host's config (written once: a restart keeps its data directory, as a real host does). */
  private configOf(host: string): string {
    return writeHostConfig(this.hostDir(host), this.topo.address(host));
  }

  private meridian(host: string, args: string[]): Proc {
    const proc = this.procs.spawn(this.topo.ns(host), host, [process.execPath, CLI, ...args, '--config', this.configOf(host)], { env: this.env, cwd: this.hostDir(host) });
    this.running.set(host, proc);
    return proc;
  }

  async startBackend(host: string): Promise<void> {
    const proc = this.procs.spawn(this.topo.ns(host), host, [process.execPath, '-e', BACKEND_JS, host, this.topo.address(host), String(PORTS.backend)]);
    this.running.set(host, proc);
    await proc.waitFor('listening', READY_MS);
  }

  /** Starts a DNS node without waiting for it (drill 9 times its first answer). */
  spawnDns(host: string): Proc {
    return this.meridian(host, ['serve']);
  }

  async startDns(host: string): Promise<Proc> {
    const proc = this.spawnDns(host);
    await proc.waitFor('"msg":"ready"', READY_MS);
    return proc;
  }

  async startForwarder(r: RegionPlan): Promise<void> {
    const host = forwarderHost(r);
    const proc = this.meridian(host, ['forward', '--region', r.id, '--id', host, '--metrics', `${r.forwarder}:${PORTS.fwdMetrics}`]);
    await proc.waitFor('"msg":"ready"', READY_MS);
  }

  async startProbe(r: RegionPlan): Promise<void> {
    const host = probeHost(r);
    const proc = this.meridian(host, ['probe', '--region', r.id, '--vantage', r.id, '--metrics', `${r.probe}:${PORTS.probeMetrics}`]);
    await proc.waitFor('"msg":"ready"', READY_MS);
  }

  private async startAgent(host: string, address: string): Promise<void> {
    const proc = this.procs.spawn(this.topo.ns(host), `agent-${host}`, [process.execPath, '--import', 'tsx', AGENT], { cwd: REPO_ROOT });
    await proc.waitFor('agent ready', READY_MS);
    this.agents.set(host, new Agent(host, address, proc));
  }

  /** Everything, in dependency order; then waits for the steady state. */
  async start(): Promise<void> {
    await this.redis.start();
    await Promise.all([
      ...REGIONS.flatMap((r) => r.backends.map((_, i) => this.startBackend(backendHost(r, i)))),
      ...CLIENTS.map((c) => this.startAgent(c.host, c.address)),
      ...DNS_NODES.map((d) => this.startDns(d.host)),
    ]);
    await Promise.all(REGIONS.flatMap((r) => [this.startForwarder(r), this.startProbe(r)]));
    await this.settle();
  }

  agent(host: string): Agent {
    const a = this.agents.get(host);
    if (!a) throw new Error(`no agent on ${host}`);
    return a;
  }

  async api(node: string, method: string, path: string, body?: unknown, token = ADMIN_SECRET): Promise<ApiReply> {
    const res = await fetch(`http://${this.topo.address(node)}:${PORTS.admin}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      signal: AbortSignal.timeout(5000),
    });
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = JSON.parse(text);
    } catch {
      // not JSON: keep the text
    }
    return { status: res.status, body: parsed };
  }

  async metrics(address: string, port: number = PORTS.metrics): Promise<Metrics> {
    const res = await fetch(`http://${address}:${port}/metrics`, { signal: AbortSignal.timeout(3000) });
    return parseMetrics(await res.text());
  }

  /** Up/down flips every probe has seen so far (meridian_probe_flips_total), summed. */
  async probeFlips(): Promise<number> {
    const all = await Promise.all(
      REGIONS.map((r) =>
        this.metrics(r.probe, PORTS.probeMetrics).then(
          (m) => m.sum('meridian_probe_flips_total'),
          () => 0,
        ),
      ),
    );
    return all.reduce((a, b) => a + b, 0);
  }

  /**
   * The steady state: every process running, both DNS nodes hearing all three vantages and handing
   * each continent's client its nearest region. Throws with what is missing after `timeoutMs`.
   */
  async settle(timeoutMs = 30_000): Promise<void> {
    const end = Date.now() + timeoutMs;
    let missing = '';
    while (Date.now() < end) {
      missing = await this.steadyStateGap();
      if (!missing) return;
      await sleep(200);
    }
    throw new Error(`no steady state within ${timeoutMs} ms: ${missing}`);
  }

  private async steadyStateGap(): Promise<string> {
    for (const [host, p] of this.running) if (!p.running) return `${host} is not running`;
    for (const d of DNS_NODES) {
      let m: Metrics;
      try {
        m = await this.metrics(d.address);
      } catch (err) {
        return `${d.host} metrics: ${(err as Error).message}`;
      }
      if (m.value('meridian_health_live_vantages') !== REGIONS.length) return `${d.host} hears ${m.value('meridian_health_live_vantages')} vantages`;
      const down = m.series('meridian_health_endpoint_up').filter((s) => s.value !== 1);
      if (down.length) return `${d.host}: endpoints not up: ${down.map((s) => `${s.labels.region}/${s.labels.endpoint}`).join(', ')}`;
      for (const c of CLIENTS) {
        const want = regionOf(c.nearest).forwarder;
        const a = await this.agent(c.host).query({ server: d.address, name: WWW });
        if (!a?.addresses.includes(want)) return `${d.host} answers ${c.host} with ${a?.addresses.join(',') ?? 'nothing'}, not ${want}`;
      }
    }
    return '';
  }

  async stop(): Promise<void> {
    await this.procs.stopAll();
  }
}
