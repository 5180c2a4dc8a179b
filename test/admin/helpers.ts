/**
 * Shared by the admin API tests: a real DNS node with the admin API (temp dir, ephemeral ports,
 * the bootstrap admin token read from `<dir>/data/admin-token`), an `inject()` request helper, and
 * DNS answers over real UDP (with an optional ECS subnet) to check that a change really reached
 * what clients get.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino, type Logger } from 'pino';
import { startDnsNode, type DnsNode } from '../../src/serve.js';
import { decode, query, udpExchange } from '../helpers/client.js';
import { allowLoopback } from '../helpers/targets.js';

export const Z = 'gslb.example.com';
export const EU = '198.51.100.10';
export const EU6 = '2001:db8:b::1';
export const US = '192.0.2.10';
export const AP = '203.0.113.10';
export const ZONE = `$ORIGIN ${Z}.\n$TTL 300\n@ SOA ns1 host 1 7200 3600 1209600 300\n@ NS ns1\nns1 A 127.0.0.1\nmail A 192.0.2.25\n`;

export const REGIONS = [
  { id: 'eu-west', location: { lat: 53.35, lon: -6.26, continent: 'EU', country: 'IE' }, addresses: { ipv4: [EU], ipv6: [EU6] } },
  { id: 'us-east', location: { lat: 39.04, lon: -77.49, continent: 'NA', country: 'US' }, addresses: { ipv4: [US] } },
  { id: 'ap-southeast', location: { lat: 1.35, lon: 103.82, continent: 'AS', country: 'SG' }, addresses: { ipv4: [AP] } },
];

export const SERVICES = [
  { name: `www.${Z}`, ttl: 30, regions: ['eu-west', 'us-east'], policy: { failover: ['eu-west', 'us-east'] } },
  // One tier of two regions: they share answers by weight.
  { name: `lb.${Z}`, ttl: 30, regions: ['eu-west', 'us-east'], policy: { failover: [['eu-west', 'us-east']], weighted: {} } },
];

export interface ApiResponse {
  status: number;
  headers: Record<string, string | string[] | number | undefined>;
  body: string;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  json: any;
}

export interface RequestOptions {
  body?: unknown;
  /** Bearer secret; default the bootstrap admin token; null = no Authorization header. */
  token?: string | null;
  headers?: Record<string, string>;
  remoteAddress?: string;
}

export interface AdminNode {
  node: DnsNode;
  dir: string;
  configPath: string;
  /** DNS port (UDP). */
  port: number;
  /** The admin API's real HTTP port. */
  httpPort: number;
  /** The bootstrap admin secret (null when this node found tokens in the store already). */
  secret: string;
  api(method: string, url: string, opts?: RequestOptions): Promise<ApiResponse>;
  /** Current head version, read through the API. */
  head(): Promise<number>;
  /** Waits until this DNS node answers from `version` (or newer). */
  applied(version: number): Promise<void>;
  stop(): Promise<void>;
}

export interface AdminNodeOptions {
  admin?: Record<string, unknown>;
  regions?: unknown[];
  services?: unknown[];
  /** Other top-level config keys (health, geo …). */
  extra?: Record<string, unknown>;
  zoneText?: string;
  logger?: Logger;
  /** The admin secret to use when the store already has tokens (a second node on one Redis). */
  secret?: string;
}

export async function startAdminNode(opts: AdminNodeOptions = {}): Promise<AdminNode> {
  const dir = mkdtempSync(join(tmpdir(), 'meridian-admin-'));
  writeFileSync(join(dir, 'zone'), opts.zoneText ?? ZONE);
  const config = {
    dns: { listen: ['127.0.0.1:0'], errorRateLimit: 0 },
    zones: [{ origin: Z, file: 'zone' }],
    regions: opts.regions ?? REGIONS,
    services: opts.services ?? SERVICES,
    admin: { listen: '127.0.0.1:0', rateLimit: 1_000_000, ...opts.admin },
    ...opts.extra,
  };
  const configPath = join(dir, 'meridian.yaml');
  writeFileSync(configPath, JSON.stringify(allowLoopback(config), null, 2)); // JSON is YAML
  let node: DnsNode;
  try {
    node = await startDnsNode(configPath, opts.logger ?? pino({ level: 'silent' }));
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  const tokenFile = join(dir, 'data', 'admin-token');
  const secret = opts.secret ?? (existsSync(tokenFile) ? readFileSync(tokenFile, 'utf8').trim() : '');
  const admin = node.admin!;
  const api = async (method: string, url: string, o: RequestOptions = {}): Promise<ApiResponse> => {
    const token = o.token === undefined ? secret : o.token;
    // A string body is sent as is (with the caller's content type); anything else as JSON.
    const json = o.body !== undefined && typeof o.body !== 'string';
    const headers: Record<string, string> = { ...(token !== null ? { authorization: `Bearer ${token}` } : {}), ...(json ? { 'content-type': 'application/json' } : {}), ...o.headers };
    const res = await admin.app.inject({
      method: method as 'GET',
      url,
      headers,
      ...(o.body !== undefined ? { payload: json ? JSON.stringify(o.body) : (o.body as string) } : {}),
      ...(o.remoteAddress ? { remoteAddress: o.remoteAddress } : {}),
    });
    let parsed: unknown;
    try {
      parsed = JSON.parse(res.body);
    } catch {
      parsed = undefined;
    }
    return { status: res.statusCode, headers: res.headers, body: res.body, json: parsed };
  };
  return {
    node,
    dir,
    configPath,
    port: node.udp[0]!.boundPort,
    httpPort: admin.port,
    secret,
    api,
    async head() {
      const r = await api('GET', '/v1/status');
      if (r.status !== 200) throw new Error(`/v1/status: ${r.status} ${r.body}`);
      return r.json.head as number;
    },
    async applied(version: number) {
      const ok = await waitFor(() => (node.follower?.version ?? 0) >= version, 3000, 5);
      if (!ok) throw new Error(`node did not apply version ${version} (at ${node.follower?.version})`);
    },
    async stop() {
      await node.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export async function waitFor(pred: () => Promise<boolean> | boolean, timeoutMs: number, stepMs = 20): Promise<boolean> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    if (await pred()) return true;
    if (Date.now() >= end) return false;
    await new Promise((r) => setTimeout(r, stepMs));
  }
}

export interface DnsAnswer {
  rcode: string;
  addresses: string[];
  ttls: number[];
}

/** One A/AAAA query over real UDP, optionally with an ECS option (`81.2.69.0/24`). */
export async function dnsQuery(port: number, name: string, type: 'A' | 'AAAA' = 'A', ecs?: string): Promise<DnsAnswer> {
  const msg = query(name, type, { id: 4321, rd: false, ...(ecs !== undefined ? { ecs } : {}) });
  const raw = await udpExchange(port, msg, { timeoutMs: 1000 });
  if (!raw) throw new Error(`no DNS answer for ${name} ${type}`);
  const m = decode(raw);
  const rrs = m.answers.filter((a) => a.type === type);
  return { rcode: m.rcode, addresses: rrs.map((a) => String(a.data)).sort(), ttls: rrs.map((a) => a.ttl) };
}

/** Polls DNS until `pred` holds for the answer; returns the last answer either way. */
export async function dnsUntil(port: number, name: string, pred: (a: DnsAnswer) => boolean, opts: { type?: 'A' | 'AAAA'; ecs?: string; timeoutMs?: number } = {}): Promise<DnsAnswer> {
  let last = await dnsQuery(port, name, opts.type ?? 'A', opts.ecs);
  const end = Date.now() + (opts.timeoutMs ?? 2000);
  while (!pred(last) && Date.now() < end) {
    await new Promise((r) => setTimeout(r, 20));
    last = await dnsQuery(port, name, opts.type ?? 'A', opts.ecs);
  }
  return last;
}

/** `"12"` → 12. */
export function etagVersion(h: ApiResponse['headers']['etag']): number {
  const m = /^"(\d+)"$/.exec(String(h));
  if (!m) throw new Error(`not a version ETag: ${String(h)}`);
  return Number(m[1]);
}
