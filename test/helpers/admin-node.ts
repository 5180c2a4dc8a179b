/**
 * A real `meridian serve` process with an admin API on the Redis config store, configured by a
 * `redis:` section (single, Sentinel or Cluster), for the Redis HA tests. It serves one service,
 * `svc.gslb.example.com`, failing over us-east -> eu-west, so an API change to us-east's address
 * shows in DNS answers.
 *
 *   const node = await startAdminNode({ sentinels, name });
 *   const res = await node.api('POST', '/v1/regions/us-east/endpoints', { … });
 *   await node.answer();   // first A of svc.gslb.example.com, or undefined
 */
import { createHash, randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { decode, query, udpExchange } from './client.js';
import { freePort, startMeridian, type RunningServer } from './dnsproc.js';

export const SERVICE = 'svc.gslb.example.com';
const FIXTURE = fileURLToPath(new URL('../fixtures/gslb.example.com.zone', import.meta.url));
export const US_EAST = { id: 'us-east', location: { lat: 39, lon: -77, continent: 'NA', country: 'US' }, addresses: { ipv4: ['192.0.2.10'], ipv6: [] } };
const EU_WEST = { id: 'eu-west', location: { lat: 53, lon: -6, continent: 'EU', country: 'IE' }, addresses: { ipv4: ['198.51.100.10'], ipv6: [] } };

export interface AdminNode {
  srv: RunningServer;
  adminPort: number;
  /** One admin API call with the node's admin token; never throws on an HTTP status. */
  api(method: string, path: string, body?: unknown, timeoutMs?: number): Promise<{ status: number; body: unknown }>;
  /** The first A record of the service (undefined: no answer, timeout or no data). */
  answer(timeoutMs?: number): Promise<string | undefined>;
  stop(): Promise<void>;
}

export async function startAdminNode(redis: Record<string, unknown>, env: NodeJS.ProcessEnv = {}): Promise<AdminNode> {
  const secret = randomBytes(16).toString('hex');
  const adminPort = await freePort();
  const srv = await startMeridian({
    zones: [{ origin: 'gslb.example.com', file: FIXTURE }],
    dns: { errorRateLimit: 0 },
    extra: {
      redis,
      admin: {
        listen: `127.0.0.1:${adminPort}`,
        store: 'redis',
        rateLimit: 1_000_000,
        tokens: [{ name: 'ops', role: 'admin', sha256: createHash('sha256').update(secret).digest('hex') }],
      },
      regions: [US_EAST, EU_WEST],
      services: [{ name: SERVICE, ttl: 30, regions: ['us-east', 'eu-west'], policy: { failover: ['us-east', 'eu-west'] } }],
    },
    // The section under test names Redis, not an inherited REDIS_URL.
    env: { REDIS_URL: '', MERIDIAN_LOG_LEVEL: 'info', ...env },
    readyTimeoutMs: 30_000,
  });
  return {
    srv,
    adminPort,
    async api(method, path, body, timeoutMs = 5_000) {
      try {
        const res = await fetch(`http://127.0.0.1:${adminPort}${path}`, {
          method,
          headers: { authorization: `Bearer ${secret}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
          ...(body === undefined ? {} : { body: JSON.stringify(body) }),
          signal: AbortSignal.timeout(timeoutMs),
        });
        const text = await res.text();
        return { status: res.status, body: text ? (JSON.parse(text) as unknown) : null };
      } catch (err) {
        return { status: 0, body: (err as Error).message }; // no HTTP answer at all (timeout, reset)
      }
    },
    async answer(timeoutMs = 500) {
      const raw = await udpExchange(srv.port, query(SERVICE, 'A'), { timeoutMs });
      return raw ? (decode(raw).answers[0]?.data as string | undefined) : undefined;
    },
    stop: () => srv.stop(),
  };
}
