/**
 * The `redis:` section of the YAML config (registered as `redisSection`, src/config/sections.ts)
 * and its resolution into a connection spec. Secrets never sit in the YAML: credentials come from
 * the environment (see README.md in this folder).
 *
 *   redis:
 *     url: redis://10.0.0.5:6379/0                     # one server, or
 *     sentinels: [10.0.0.11:26379, 10.0.0.12:26379]    # Sentinel, with
 *     name: meridian                                   #   the master group name, or
 *     cluster: [10.0.0.21:6379, 10.0.0.22:6379]        # Redis Cluster seed nodes
 *     tls: { ca: redis-ca.pem }
 *     waitReplicas: 1
 * @module
 */
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { dirname, resolve as resolvePath } from 'node:path';
import { type Static, Type } from '@sinclair/typebox';
import type { ConfigSection } from '../config/sections.js';

declare module '../config/sections.js' {
  interface Sections {
    /** The `redis:` section as written (checked; credentials come from the env when a process connects). */
    redis: RedisSection | null;
  }
}

const Address = Type.String({ minLength: 1, maxLength: 300 });

export const RedisSchema = Type.Object(
  {
    /** `redis://[user:pass@]host:port/db` or `rediss://…` (TLS): one server. */
    url: Type.Optional(Type.String({ minLength: 1 })),
    /** `host:port` of the sentinels watching the master group `name`. */
    sentinels: Type.Optional(Type.Array(Address, { minItems: 1, maxItems: 64 })),
    name: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
    /** Database number with Sentinel (a URL carries its own; Cluster has only 0). */
    db: Type.Optional(Type.Integer({ minimum: 0, maximum: 1_000 })),
    /** `host:port` seed nodes of a Redis Cluster; the rest is discovered. */
    cluster: Type.Optional(Type.Array(Address, { minItems: 1, maxItems: 1_000 })),
    /** Present = TLS to every Redis connection (data nodes and sentinels). */
    tls: Type.Optional(
      Type.Object(
        {
          /** PEM file of the CA that signed the servers' certificates (relative to the config file). */
          ca: Type.Optional(Type.String({ minLength: 1 })),
          /** Name checked against the certificate when it differs from the address dialled. */
          servername: Type.Optional(Type.String({ minLength: 1, maxLength: 253 })),
        },
        { additionalProperties: false },
      ),
    ),
    /** Config-store writes are acknowledged once this many replicas hold them (WAIT), see README. */
    waitReplicas: Type.Optional(Type.Integer({ minimum: 0, maximum: 64 })),
    waitTimeoutMs: Type.Optional(Type.Integer({ minimum: 1, maximum: 60_000 })),
    commandTimeoutMs: Type.Optional(Type.Integer({ minimum: 10, maximum: 60_000 })),
    connectTimeoutMs: Type.Optional(Type.Integer({ minimum: 10, maximum: 60_000 })),
    /** Cap of the jittered exponential reconnect backoff. */
    reconnectMaxMs: Type.Optional(Type.Integer({ minimum: 10, maximum: 600_000 })),
  },
  { additionalProperties: false },
);

export type RedisSection = Static<typeof RedisSchema>;

/** Defaults and the reason for each are in README.md of this folder. */
export const REDIS_DEFAULTS = {
  waitReplicas: 1,
  waitTimeoutMs: 500,
  commandTimeoutMs: 2_000,
  connectTimeoutMs: 2_000,
  reconnectBaseMs: 100,
  reconnectMaxMs: 2_000,
} as const;

/** Environment variables read for credentials (never from the YAML). */
export const REDIS_ENV = {
  url: 'REDIS_URL',
  username: 'MERIDIAN_REDIS_USERNAME',
  password: 'MERIDIAN_REDIS_PASSWORD',
  sentinelUsername: 'MERIDIAN_REDIS_SENTINEL_USERNAME',
  sentinelPassword: 'MERIDIAN_REDIS_SENTINEL_PASSWORD',
} as const;

export const REDIS_ERRORS = {
  /** None, or more than one, of url / sentinels+name / cluster; or a half-given Sentinel pair. */
  MERIDIAN_ERR_REDIS_TARGET: 'give exactly one of redis.url, redis.sentinels with redis.name, or redis.cluster',
  MERIDIAN_ERR_REDIS_ADDRESS: 'not a Redis address',
  MERIDIAN_ERR_REDIS_TLS: 'the TLS settings cannot be used',
  MERIDIAN_ERR_REDIS_OPTION: 'an option does not fit the rest of the section',
  MERIDIAN_ERR_REDIS_CREDENTIALS: 'credentials in the YAML, or incomplete in the environment',
} as const;

export type RedisErrorCode = keyof typeof REDIS_ERRORS;

export interface RedisProblem {
  code: RedisErrorCode;
  /** Path inside the YAML document, e.g. ['redis', 'sentinels', 1]. */
  path: (string | number)[];
  reason: string;
}

export class RedisConfigError extends Error {
  constructor(readonly problems: RedisProblem[]) {
    super(problems.map(formatRedisProblem).join('; '));
  }

  get code(): RedisErrorCode {
    return this.problems[0]!.code;
  }
}

export function formatRedisProblem(p: RedisProblem): string {
  return `${p.code}: ${p.path.map((s, i) => (typeof s === 'number' ? `[${s}]` : i ? `.${s}` : s)).join('')}: ${p.reason}`;
}

export interface HostPort {
  host: string;
  port: number;
}

export type RedisTarget = { kind: 'url'; url: string } | { kind: 'sentinel'; sentinels: HostPort[]; name: string; db: number } | { kind: 'cluster'; nodes: HostPort[] };

/** Everything needed to open Meridian's Redis connections; holds secrets, never log it whole (use describeRedis). */
export interface RedisConnection {
  target: RedisTarget;
  username?: string;
  password?: string;
  sentinelUsername?: string;
  sentinelPassword?: string;
  /** null = plain TCP (a `rediss://` URL still turns TLS on by itself). */
  tls: { ca?: string; servername?: string } | null;
  waitReplicas: number;
  waitTimeoutMs: number;
  commandTimeoutMs: number;
  connectTimeoutMs: number;
  reconnectBaseMs: number;
  reconnectMaxMs: number;
}

const HOSTNAME = /^(?=.{1,253}$)[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?(?:\.[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?)*\.?$/;

/** `host:port` or `[v6]:port`, host an IP or a DNS name; a reason string when invalid. */
export function parseHostPort(text: string): HostPort | string {
  const m = /^\[([^\]]+)\]:(\d{1,5})$/.exec(text) ?? /^([^:[\]]+):(\d{1,5})$/.exec(text);
  if (!m) return `"${text}" must be host:port or [ipv6]:port`;
  const host = m[1]!;
  const port = Number(m[2]);
  if (text.startsWith('[') ? isIP(host) !== 6 : !isIP(host) && !HOSTNAME.test(host)) return `"${host}" is not an IP address or host name`;
  if (port < 1 || port > 65535) return `port ${port} is out of range`;
  return { host, port };
}

function urlProblem(url: string): string | null {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return `"${redactUrl(url)}" is not a URL`;
  }
  if (u.protocol !== 'redis:' && u.protocol !== 'rediss:') return `"${redactUrl(url)}" must start with redis:// or rediss://`;
  if (!u.hostname) return `"${redactUrl(url)}" names no host`;
  if (u.pathname.length > 1 && !/^\/\d+$/.test(u.pathname)) return `"${redactUrl(url)}": the path must be a database number`;
  return null;
}

/** The URL without its password, for messages and logs; one that does not parse loses all it has between `//` and the last `@`. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.href.replace(/\/$/, url.endsWith('/') ? '/' : '');
  } catch {
    return url.replace(/^([a-z][a-z0-9+.-]*:\/\/)[^/]*@/i, '$1***@');
  }
}

/**
 * A URL written in the YAML that carries credentials: refused, since a config file is read by many
 * (backups, config management, `meridian check` output in CI logs) and secrets come from the
 * environment only (a fresh-eyes review of issue 16 found `redis://:pass@host` in the YAML used).
 */
function yamlCredentials(url: string): string | null {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return null; // urlProblem says why
  }
  if (!u.username && !u.password) return null;
  return `"${redactUrl(url)}" carries credentials, which never belong in the YAML: remove them and set ${REDIS_ENV.password} (and ${REDIS_ENV.username} for an ACL user) in the environment`;
}

/**
 * Checks the section on its own (no environment): which target, addresses, option combinations,
 * the CA file, and that the older `health.redisUrl` is not set as well. Returns every problem, each with the YAML path it belongs to. `baseDir` resolves
 * `tls.ca` (the config file's directory).
 */
export function redisSectionProblems(section: RedisSection, baseDir: string, legacyUrl: string | null = null): RedisProblem[] {
  const out: RedisProblem[] = [];
  const add = (code: RedisErrorCode, path: (string | number)[], reason: string): void => {
    out.push({ code, path: ['redis', ...path], reason });
  };
  if (legacyUrl) out.push({ code: 'MERIDIAN_ERR_REDIS_TARGET', path: ['health', 'redisUrl'], reason: 'health.redisUrl and a redis: section both name Redis; keep the redis: section' });
  const given = (['url', 'sentinels', 'cluster'] as const).filter((k) => section[k] !== undefined);
  if (given.length !== 1) add('MERIDIAN_ERR_REDIS_TARGET', given.length ? [given[1]!] : [], `${REDIS_ERRORS.MERIDIAN_ERR_REDIS_TARGET}${given.length ? ` (found ${given.join(' and ')})` : ''}`);
  if (section.sentinels && section.name === undefined) add('MERIDIAN_ERR_REDIS_TARGET', ['sentinels'], 'redis.sentinels needs redis.name, the master group name the sentinels monitor');
  if (section.name !== undefined && !section.sentinels) add('MERIDIAN_ERR_REDIS_TARGET', ['name'], 'redis.name is the Sentinel master group name; it needs redis.sentinels');
  if (section.db !== undefined && !section.sentinels)
    add('MERIDIAN_ERR_REDIS_OPTION', ['db'], section.cluster ? 'Redis Cluster has only database 0' : 'a URL carries its database number in its path (redis://host:port/2)');
  if (section.url !== undefined) {
    const p = urlProblem(section.url);
    if (p) add('MERIDIAN_ERR_REDIS_ADDRESS', ['url'], p);
    const c = yamlCredentials(section.url);
    if (c) add('MERIDIAN_ERR_REDIS_CREDENTIALS', ['url'], c);
  }
  for (const key of ['sentinels', 'cluster'] as const) {
    section[key]?.forEach((a, i) => {
      const p = parseHostPort(a);
      if (typeof p === 'string') add('MERIDIAN_ERR_REDIS_ADDRESS', [key, i], p);
    });
  }
  const t = timeouts(section);
  if (t.waitReplicas > 0 && t.waitTimeoutMs >= t.commandTimeoutMs) {
    add('MERIDIAN_ERR_REDIS_OPTION', ['waitTimeoutMs'], `waitTimeoutMs (${t.waitTimeoutMs}) must be below commandTimeoutMs (${t.commandTimeoutMs}), or WAIT itself times out`);
  }
  if (section.tls?.ca !== undefined) {
    const r = readCa(resolvePath(baseDir, section.tls.ca));
    if (typeof r !== 'string' || !r.includes('-----BEGIN CERTIFICATE-----')) {
      add('MERIDIAN_ERR_REDIS_TLS', ['tls', 'ca'], typeof r === 'string' ? `${section.tls.ca} holds no PEM certificate` : `cannot read ${section.tls.ca}: ${r.code}`);
    }
  }
  return out;
}

function readCa(file: string): string | { code: string } {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    return { code: (err as NodeJS.ErrnoException).code ?? String(err) };
  }
}

function timeouts(section: RedisSection | undefined) {
  const d = REDIS_DEFAULTS;
  return {
    waitReplicas: section?.waitReplicas ?? d.waitReplicas,
    waitTimeoutMs: section?.waitTimeoutMs ?? d.waitTimeoutMs,
    commandTimeoutMs: section?.commandTimeoutMs ?? d.commandTimeoutMs,
    connectTimeoutMs: section?.connectTimeoutMs ?? d.connectTimeoutMs,
    reconnectBaseMs: d.reconnectBaseMs,
    reconnectMaxMs: Math.max(d.reconnectBaseMs, section?.reconnectMaxMs ?? d.reconnectMaxMs),
  };
}

export interface RedisSources {
  /** The `redis:` section, when the YAML has one. */
  section: RedisSection | null;
  /** `health.redisUrl`, the older single-URL key. */
  legacyUrl: string | null;
  env: NodeJS.ProcessEnv;
  /** Directory of the config file (resolves `tls.ca`). */
  baseDir: string;
}

/**
 * Where Meridian's Redis is, or null for embedded mode (no Redis). `REDIS_URL`, when set and not
 * empty, names the server as it always did and replaces the section's url/sentinels/cluster (the
 * section must still be valid, and its other settings apply); else the `redis:` section; else
 * `health.redisUrl`.
 * Throws RedisConfigError with every problem found.
 */
export function resolveRedis(src: RedisSources): RedisConnection | null {
  const envUrl = src.env[REDIS_ENV.url] || null;
  const section = src.section;
  const problems: RedisProblem[] = section ? redisSectionProblems(section, src.baseDir, src.legacyUrl) : [];
  const url = envUrl ?? (section ? null : src.legacyUrl);
  if (url) {
    const p = urlProblem(url);
    if (p) problems.push({ code: 'MERIDIAN_ERR_REDIS_ADDRESS', path: [envUrl ? REDIS_ENV.url : 'health.redisUrl'], reason: p });
  }
  // health.redisUrl is the YAML too, whether or not REDIS_URL overrides it; REDIS_URL is the environment, where a password may be.
  if (src.legacyUrl && !problems.some((p) => p.path.join('.') === 'health.redisUrl')) problems.push(...legacyUrlProblems(src.legacyUrl).filter((p) => p.code === 'MERIDIAN_ERR_REDIS_CREDENTIALS'));
  const creds = credentials(src.env, problems);
  if (problems.length) throw new RedisConfigError(problems);
  if (!url && !section) return null;
  const target: RedisTarget = url
    ? { kind: 'url', url }
    : section!.sentinels
      ? { kind: 'sentinel', sentinels: section!.sentinels.map((a) => parseHostPort(a) as HostPort), name: section!.name!, db: section!.db ?? 0 }
      : section!.cluster
        ? { kind: 'cluster', nodes: section!.cluster.map((a) => parseHostPort(a) as HostPort) }
        : { kind: 'url', url: section!.url! };
  const tls = section?.tls
    ? { ...(section.tls.ca ? { ca: readFileSync(resolvePath(src.baseDir, section.tls.ca), 'utf8') } : {}), ...(section.tls.servername ? { servername: section.tls.servername } : {}) }
    : null;
  return { target, ...creds, tls, ...timeouts(section ?? undefined) };
}

function credentials(env: NodeJS.ProcessEnv, problems: RedisProblem[]): Pick<RedisConnection, 'username' | 'password' | 'sentinelUsername' | 'sentinelPassword'> {
  const out: Pick<RedisConnection, 'username' | 'password' | 'sentinelUsername' | 'sentinelPassword'> = {};
  for (const [user, pass] of [
    ['username', 'password'],
    ['sentinelUsername', 'sentinelPassword'],
  ] as const) {
    const u = env[REDIS_ENV[user]] || undefined;
    const p = env[REDIS_ENV[pass]] || undefined;
    // An ACL user without a password cannot log in; saying so beats Redis' generic WRONGPASS.
    if (u && !p) problems.push({ code: 'MERIDIAN_ERR_REDIS_CREDENTIALS', path: [REDIS_ENV[user]], reason: `${REDIS_ENV[user]} is set but ${REDIS_ENV[pass]} is not` });
    if (u) out[user] = u;
    if (p) out[pass] = p;
  }
  return out;
}

/** `health.redisUrl` (the older single-URL key) on its own, as the loader checks it: not a Redis URL, or credentials in it. */
export function legacyUrlProblems(url: string): RedisProblem[] {
  const out: RedisProblem[] = [];
  const p = urlProblem(url);
  if (p) out.push({ code: 'MERIDIAN_ERR_REDIS_ADDRESS', path: ['health', 'redisUrl'], reason: p });
  const c = yamlCredentials(url);
  if (c) out.push({ code: 'MERIDIAN_ERR_REDIS_CREDENTIALS', path: ['health', 'redisUrl'], reason: c });
  return out;
}

/** Where the connection goes, without secrets: for logs and /v1/status. */
export function describeRedis(c: RedisConnection): string {
  const t = c.target;
  const hp = (a: HostPort): string => (a.host.includes(':') ? `[${a.host}]:${a.port}` : `${a.host}:${a.port}`);
  if (t.kind === 'url') return redactUrl(t.url);
  if (t.kind === 'sentinel') return `sentinel master '${t.name}' via ${t.sentinels.map(hp).join(',')}`;
  return `cluster via ${t.nodes.map(hp).join(',')}`;
}

/** The `redis:` section (absent = REDIS_URL / health.redisUrl), checked with coded problems. */
export const redisSection: ConfigSection<'redis'> = {
  key: 'redis',
  schema: RedisSchema,
  optional: true,
  compile(block, ctx) {
    const section = block as RedisSection;
    const problems = redisSectionProblems(section, dirname(ctx.file), ctx.health.redisUrl).map((p) => ({ path: p.path, reason: formatRedisProblem(p) }));
    return { value: section, problems };
  },
};
