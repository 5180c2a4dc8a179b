/**
 * Redis on the e2e hosts as README.md "Running on Redis" recommends for three regions: a primary
 * (redis-1) and a replica (redis-2), both with AOF fsynced every second, and three sentinels, one on
 * each Redis host (quorum 2). Meridian finds the primary through the sentinels (the `redis:`
 * section of config.ts), so after a failover the roles change hosts; `primary()` asks the sentinels.
 * @module
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { redisServerArgs, respCommand } from '../helpers/redis.js';
import { until } from './client-ops.js';
import { MASTER_NAME, PORTS, REDIS_HOSTS } from './plan.js';
import type { Proc, ProcessSet } from './processes.js';
import type { Topology } from './topology.js';

/** Sentinel timing: a primary silent for 1 s is down; a failover attempt may take 3 s. */
const DOWN_AFTER_MS = 1000;
const FAILOVER_TIMEOUT_MS = 3000;
const READY_MS = 60_000;

export class RedisHa {
  /** Data nodes by host (redis-1, redis-2), sentinels by host. */
  readonly data = new Map<string, Proc>();
  readonly sentinels = new Map<string, Proc>();
  /** A new data directory per start with `empty`: a node that lost its disk. */
  private disk = 0;

  constructor(
    private readonly topo: Topology,
    private readonly procs: ProcessSet,
    private readonly dirOf: (host: string) => string,
  ) {}

  private resp(address: string, port: number, args: string[]): Promise<unknown> {
    return respCommand(port, args, 2000, address);
  }

  /** Starts a data node; `replicaOf` an address, or null for a primary. */
  async startData(host: string, replicaOf: string | null, opts: { empty?: boolean } = {}): Promise<void> {
    if (opts.empty) this.disk++;
    const dir = join(this.dirOf(host), `redis-${this.disk}`);
    mkdirSync(dir, { recursive: true });
    const argv = ['redis-server', ...redisServerArgs({ port: PORTS.redis, bind: this.topo.address(host), dir, aof: true })];
    if (replicaOf) argv.push('--replicaof', replicaOf, String(PORTS.redis));
    const proc = this.procs.spawn(this.topo.ns(host), `redis-${host}`, argv);
    this.data.set(host, proc);
    await proc.waitFor('Ready to accept connections', READY_MS);
  }

  private async startSentinel(host: string): Promise<void> {
    const dir = this.dirOf(host);
    mkdirSync(dir, { recursive: true });
    const conf = join(dir, 'sentinel.conf');
    const primary = REDIS_HOSTS[0].address;
    writeFileSync(
      conf,
      [
        `port ${PORTS.sentinel}`,
        `bind ${this.topo.address(host)}`,
        'protected-mode no',
        `dir ${dir}`,
        `sentinel monitor ${MASTER_NAME} ${primary} ${PORTS.redis} 2`,
        `sentinel down-after-milliseconds ${MASTER_NAME} ${DOWN_AFTER_MS}`,
        `sentinel failover-timeout ${MASTER_NAME} ${FAILOVER_TIMEOUT_MS}`,
        `sentinel parallel-syncs ${MASTER_NAME} 1`,
        '',
      ].join('\n'),
    );
    const proc = this.procs.spawn(this.topo.ns(host), `sentinel-${host}`, ['redis-sentinel', conf]);
    this.sentinels.set(host, proc);
    await proc.waitFor('+monitor master', READY_MS);
  }

  /** Primary, replica and three sentinels; resolves once a failover could start at once. */
  async start(): Promise<void> {
    const [p, r] = REDIS_HOSTS;
    await this.startData(p.host, null);
    await this.startData(r.host, p.address);
    await Promise.all(REDIS_HOSTS.map((h) => this.startSentinel(h.host)));
    await this.waitHealthy();
  }

  /** The primary's address as the sentinels' majority sees it. */
  async primary(): Promise<string> {
    const votes = new Map<string, number>();
    for (const h of REDIS_HOSTS) {
      const reply = (await this.resp(h.address, PORTS.sentinel, ['SENTINEL', 'GET-MASTER-ADDR-BY-NAME', MASTER_NAME]).catch(() => null)) as string[] | null;
      if (reply?.[0]) votes.set(reply[0], (votes.get(reply[0]) ?? 0) + 1);
    }
    const best = [...votes].sort((a, b) => b[1] - a[1])[0];
    if (!best || best[1] < 2) throw new Error(`the sentinels agree on no primary: ${JSON.stringify([...votes])}`);
    return best[0];
  }

  hostOf(address: string): string {
    const h = REDIS_HOSTS.find((x) => x.address === address);
    if (!h) throw new Error(`no Redis host at ${address}`);
    return h.host;
  }

  /** Every sentinel sees the quorum and one replica, and the replica is in sync. */
  async waitHealthy(timeoutMs = 30_000): Promise<void> {
    const ok = await until(async () => {
      try {
        const primary = await this.primary();
        const info = String(await this.resp(primary, PORTS.redis, ['INFO', 'replication']));
        if (!/role:master/.test(info) || !/connected_slaves:1/.test(info) || !/state=online/.test(info)) return false;
        for (const h of REDIS_HOSTS) {
          const quorum = String(await this.resp(h.address, PORTS.sentinel, ['SENTINEL', 'CKQUORUM', MASTER_NAME]).catch((e: Error) => e.message));
          const replicas = (await this.resp(h.address, PORTS.sentinel, ['SENTINEL', 'REPLICAS', MASTER_NAME])) as string[][];
          const up = replicas.filter((r) => !String(r[r.indexOf('flags') + 1]).includes('down'));
          if (!quorum.includes('3 usable') || up.length !== 1) return false;
        }
        return true;
      } catch {
        return false;
      }
    }, timeoutMs);
    if (ok === null) throw new Error(`Redis is not a healthy primary + replica + 3 sentinels within ${timeoutMs} ms`);
  }

  /**
   * After a drill: every data node running again (a stopped one comes back as a replica of the
   * current primary, as an operator brings back a failed node), and the set healthy.
   */
  async repair(): Promise<void> {
    const primary = await this.primary();
    for (const h of REDIS_HOSTS.slice(0, 2)) {
      if (this.data.get(h.host)?.running) continue;
      await this.startData(h.host, h.address === primary ? null : primary);
    }
    await this.waitHealthy();
  }
}
