/**
 * The one place that builds Meridian's ioredis clients, from a resolved `RedisConnection` (or a
 * plain URL): a single server, a Sentinel-managed master, or a Redis Cluster. Every client gets
 * the same static-stability options, so nothing ever waits on a Redis that is away: no offline
 * queue, no retries per request, no resend, bounded command and connect timeouts, and capped,
 * jittered reconnects until the owner closes it. Callers see the error at once and keep their
 * last snapshot.
 *
 * Each owner (health bus, config store) opens two clients: `command` for reads, writes and scripts,
 * and `subscriber` for its pub/sub channel (a subscribed connection can run nothing else). On
 * Cluster the subscriber is an ioredis Cluster too: classic SUBSCRIBE goes to one node, and a
 * classic PUBLISH on any node is broadcast over the cluster bus to every node, so it needs no
 * slot routing (sharded SSUBSCRIBE would keep messages inside the channel's shard; we do not use it).
 * @module
 */
import { Cluster, Redis, type ClusterOptions, type RedisOptions } from 'ioredis';
import type { ConnectionOptions } from 'node:tls';
import { REDIS_DEFAULTS, type HostPort, type RedisConnection } from './config.js';

/** A client of either shape; ioredis gives both the same command surface. */
export type RedisClient = Redis | Cluster;

export interface ClientTimeouts {
  commandTimeoutMs: number;
  connectTimeoutMs: number;
  retryBaseMs: number;
  retryMaxMs: number;
}

export type ClientRole = 'command' | 'subscriber';

/**
 * ioredis options shared by every Meridian connection. `autoResubscribe` is off because owners
 * subscribe themselves on each `ready` (so they know when the channel is live again and resync).
 */
export function staticStabilityOptions(t: ClientTimeouts, closed: () => boolean): RedisOptions {
  return {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    autoResendUnfulfilledCommands: false,
    autoResubscribe: false,
    commandTimeout: t.commandTimeoutMs,
    connectTimeout: t.connectTimeoutMs,
    retryStrategy: (attempt) => (closed() ? null : backoff(attempt, t.retryBaseMs, t.retryMaxMs)),
  };
}

/** Exponential from baseMs, capped at maxMs, ±25 % jitter so a fleet does not reconnect in step. */
export function backoff(attempt: number, baseMs: number, maxMs: number, random = Math.random): number {
  const exp = Math.min(maxMs, baseMs * 2 ** Math.min(attempt - 1, 30));
  return Math.round(exp * (0.75 + random() * 0.5));
}

/** Timeouts of a connection, each overridable by the owner's own options (tests use short ones). */
export function timeoutsOf(conn: RedisConnection | string, own: Partial<ClientTimeouts>): ClientTimeouts {
  const c = typeof conn === 'string' ? null : conn;
  return {
    commandTimeoutMs: own.commandTimeoutMs ?? c?.commandTimeoutMs ?? REDIS_DEFAULTS.commandTimeoutMs,
    connectTimeoutMs: own.connectTimeoutMs ?? c?.connectTimeoutMs ?? REDIS_DEFAULTS.connectTimeoutMs,
    retryBaseMs: own.retryBaseMs ?? c?.reconnectBaseMs ?? REDIS_DEFAULTS.reconnectBaseMs,
    retryMaxMs: own.retryMaxMs ?? c?.reconnectMaxMs ?? REDIS_DEFAULTS.reconnectMaxMs,
  };
}

export interface ClientSpec {
  /** Shown in CLIENT LIST (`meridian-health`, `meridian-config-sub` …). */
  name: string;
  role: ClientRole;
  timeouts: ClientTimeouts;
  /** True once the owner is closing: stops every reconnect loop. */
  closed: () => boolean;
}

/** Opens a client; it connects in the background, like every ioredis client. */
export function createRedisClient(conn: RedisConnection | string, spec: ClientSpec): RedisClient {
  const common = { ...staticStabilityOptions(spec.timeouts, spec.closed), connectionName: spec.name };
  if (typeof conn === 'string') return keepConnecting(new Redis(conn, common), spec);
  const tls = tlsOptions(conn);
  const auth = { ...(conn.username ? { username: conn.username } : {}), ...(conn.password ? { password: conn.password } : {}) };
  const t = conn.target;
  if (t.kind === 'url') return keepConnecting(new Redis(t.url, { ...common, ...auth, ...(tls ? { tls } : {}) }), spec);
  if (t.kind === 'sentinel') {
    const retry = (attempt: number): number | null => (spec.closed() ? null : backoff(attempt, spec.timeouts.retryBaseMs, spec.timeouts.retryMaxMs));
    return keepConnecting(
      new Redis({
        ...common,
        ...auth,
        sentinels: t.sentinels.map(hostPort),
        name: t.name,
        role: 'master',
        db: t.db,
        ...(conn.sentinelUsername ? { sentinelUsername: conn.sentinelUsername } : {}),
        ...(conn.sentinelPassword ? { sentinelPassword: conn.sentinelPassword } : {}),
        ...(tls ? { tls, enableTLSForSentinelMode: true, sentinelTLS: tls } : {}),
        sentinelRetryStrategy: retry,
        sentinelCommandTimeout: spec.timeouts.commandTimeoutMs,
        // A planned failover leaves the old master up as a replica: the command connection would get
        // READONLY on every write. The detector drops it on +switch-master, reconnectOnError on
        // READONLY (without resending: the caller decides what to retry).
        ...(spec.role === 'command' ? { failoverDetector: true, reconnectOnError: (err: Error) => (err.message.startsWith('READONLY') ? 1 : false) } : {}),
      }),
      spec,
    );
  }
  return new Cluster(t.nodes.map(hostPort), clusterOptions(common, auth, tls, spec));
}

/**
 * ioredis ends a client for good (status `end`, every command "Connection is closed.") when a
 * connect attempt fails inside its connector instead of on the socket. A Sentinel client does so
 * when the failover detector's `+switch-master` arrives while the client is looking up the master
 * (the detector cancels the connector mid-lookup): a failover then left a node's admin API at 503
 * until restart (test/integration/redis-failover-notice.test.ts). A client only its owner may end,
 * so until the owner closes it, an ended client connects again after the usual backoff.
 */
function keepConnecting(client: Redis, spec: ClientSpec): Redis {
  let attempt = 0;
  client.on('ready', () => (attempt = 0));
  client.on('end', () => {
    if (spec.closed()) return;
    const timer = setTimeout(
      () => {
        if (!spec.closed() && client.status === 'end') client.connect().catch(() => undefined);
      },
      backoff(++attempt, spec.timeouts.retryBaseMs, spec.timeouts.retryMaxMs),
    );
    timer.unref();
  });
  return client;
}

function clusterOptions(common: RedisOptions, auth: RedisOptions, tls: ConnectionOptions | null, spec: ClientSpec): ClusterOptions {
  // Per-node connections: ioredis forces lazy connect, an offline queue and no reconnect of its
  // own (a lost node is found again through MOVED and a slots refresh); our timeouts still apply.
  const { retryStrategy: _r, enableOfflineQueue: _q, ...node } = common;
  return {
    enableOfflineQueue: false,
    clusterRetryStrategy: (attempt) => (spec.closed() ? null : backoff(attempt, spec.timeouts.retryBaseMs, spec.timeouts.retryMaxMs)),
    slotsRefreshTimeout: spec.timeouts.connectTimeoutMs,
    scaleReads: 'master',
    redisOptions: { ...node, ...auth, ...(tls ? { tls } : {}) },
    // With TLS the certificate names the node: keep the address as given instead of resolving it.
    ...(tls ? { dnsLookup: (address: string, cb: (err: Error | null, address: string) => void) => cb(null, address) } : {}),
  };
}

function tlsOptions(conn: RedisConnection): ConnectionOptions | null {
  if (!conn.tls) return null;
  return { ...(conn.tls.ca ? { ca: conn.tls.ca } : {}), ...(conn.tls.servername ? { servername: conn.tls.servername } : {}) };
}

const hostPort = (a: HostPort): { host: string; port: number } => ({ host: a.host, port: a.port });

/** Polite close: QUIT when connected, else just drop the socket and the reconnect timer. */
export async function quit(r: RedisClient): Promise<void> {
  try {
    await r.quit();
  } catch {
    r.disconnect();
  }
}
