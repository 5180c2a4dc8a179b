/**
 * Test kit for cluster mode with real processes: a `meridian serve` node with an admin API on a
 * config store in a real redis-server, a static admin token (so the API works whatever the store
 * holds), HTTP calls through that API, DNS answers over UDP and the node's JSON log lines.
 *
 *   const redis = await startRedis();
 *   const node = await startClusterNode({ redisUrl: redis.url });
 *   assert.equal(await node.answer(), '192.0.2.10');
 *   const res = await node.api('PUT', '/v1/regions/us-east', usEast('192.0.2.99'));
 */
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { decode, query, udpExchange } from './client.js';
import { freePort, startMeridian, type RunningServer } from './dnsproc.js';
import { allowLoopback } from './targets.js';

export const ZONE = 'gslb.example.com';
export const SERVICE = `svc.${ZONE}`;
const ZONE_TEXT = `$ORIGIN ${ZONE}.\n$TTL 300\n@ SOA ns1 host 1 7200 3600 1209600 300\n@ NS ns1\nns1 A 127.0.0.1\n`;

/** One static admin token shared by every node of a test (the YAML holds only its hash). */
export const ADMIN_SECRET = `mrd_${randomBytes(32).toString('base64url')}`;
const ADMIN_TOKEN = { name: 'ops', role: 'admin', sha256: createHash('sha256').update(ADMIN_SECRET).digest('hex') };

export function usEast(ipv4: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { location: { lat: 39, lon: -77, continent: 'NA', country: 'US' }, addresses: { ipv4: [ipv4], ipv6: [] }, ...extra };
}

/** Two regions, one failover service: the answer is us-east's address while us-east is up. */
export function clusterConfig(redisUrl: string, adminPort: number, extra: Record<string, unknown> = {}, admin: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    health: { redisUrl },
    admin: { listen: `127.0.0.1:${adminPort}`, tokens: [ADMIN_TOKEN], ...admin },
    regions: [
      { id: 'us-east', ...usEast('192.0.2.10') },
      { id: 'eu-west', location: { lat: 53, lon: -6, continent: 'EU', country: 'IE' }, addresses: { ipv4: ['198.51.100.10'] } },
    ],
    services: [{ name: SERVICE, ttl: 30, regions: ['us-east', 'eu-west'], policy: { failover: ['us-east', 'eu-west'] } }],
    ...extra,
  };
}

export interface ApiResponse {
  status: number;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  body: any;
  text: string;
}

export interface ClusterNode {
  proc: RunningServer;
  adminPort: number;
  /** One call to the admin API with the static admin token (or `token`). */
  api(method: string, path: string, body?: unknown, token?: string): Promise<ApiResponse>;
  /** The first A record of SERVICE, or undefined (no answer, or no address). */
  answer(): Promise<string | undefined>;
  /** The node's JSON log lines so far, optionally only those whose msg contains `text`. */
  logs(text?: string): Record<string, unknown>[];
  /** Rewrites the YAML config in place (`edit` changes the parsed object). */
  editConfig(edit: (config: Record<string, unknown>) => void): void;
  signal(sig: NodeJS.Signals): void;
  stop(): Promise<void>;
}

export interface ClusterNodeOptions {
  redisUrl: string;
  extra?: Record<string, unknown>;
  /** Keys merged into the `admin:` section. */
  admin?: Record<string, unknown>;
  /** Files written beside the config first (e.g. a local copy under `data/`). */
  files?: Record<string, string>;
  readyTimeoutMs?: number;
}

export async function startClusterNode(opts: ClusterNodeOptions): Promise<ClusterNode> {
  const adminPort = await freePort();
  const proc = await startMeridian({
    zones: [{ origin: ZONE, text: ZONE_TEXT }],
    extra: clusterConfig(opts.redisUrl, adminPort, opts.extra, opts.admin),
    ...(opts.files ? { files: opts.files } : {}),
    readyTimeoutMs: opts.readyTimeoutMs ?? 60_000, // a loaded 2-core box has taken over 20 s to start one
  });
  return clusterNodeOf(proc, adminPort);
}

export function clusterNodeOf(proc: RunningServer, adminPort: number): ClusterNode {
  return {
    proc,
    adminPort,
    async api(method, path, body, token = ADMIN_SECRET) {
      const res = await fetch(`http://127.0.0.1:${adminPort}${path}`, {
        method,
        headers: { authorization: `Bearer ${token}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
        signal: AbortSignal.timeout(10_000),
      });
      const text = await res.text();
      let parsed: unknown = null;
      try {
        parsed = JSON.parse(text);
      } catch {
        // not JSON (jsonl export): the text is there
      }
      return { status: res.status, body: parsed, text };
    },
    async answer() {
      const raw = await udpExchange(proc.port, query(SERVICE, 'A'), { timeoutMs: 1000 });
      return raw ? (decode(raw).answers[0]?.data as string | undefined) : undefined;
    },
    logs(text) {
      const out: Record<string, unknown>[] = [];
      for (const line of proc.output().split('\n')) {
        if (!line.startsWith('{')) continue;
        try {
          const entry = JSON.parse(line) as Record<string, unknown>;
          if (text === undefined || String(entry.msg ?? '').includes(text)) out.push(entry);
        } catch {
          // a partial last line
        }
      }
      return out;
    },
    editConfig(edit) {
      const config = parse(readFileSync(proc.configPath, 'utf8')) as Record<string, unknown>;
      edit(config);
      writeFileSync(proc.configPath, stringify(allowLoopback(config)));
    },
    signal(sig) {
      process.kill(proc.pid, sig);
    },
    stop: () => proc.stop(),
  };
}

/** The node's local copy (cluster mode), to boot another node from it. */
export function localCopyOf(node: ClusterNode): string {
  return readFileSync(join(node.proc.dir, 'data', 'local-copy.json'), 'utf8');
}

export async function waitFor(pred: () => Promise<boolean> | boolean, timeoutMs: number, stepMs = 50): Promise<boolean> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (await pred()) return true;
    await new Promise((r) => setTimeout(r, stepMs));
  }
  return pred();
}
