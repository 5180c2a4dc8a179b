/**
 * `health.targets`: which addresses health checks may connect to. Checks are an operator-controlled
 * outbound connection with a readable result (up/down metrics, the HTTP `body` match), so without
 * a bound they are a server-side request forgery primitive against the node's own services, cloud
 * metadata endpoints and anything on loopback (issue 16). One pure module, used at config load,
 * at admin API writes and by the probes just before they connect (src/probe/guard.ts).
 * @module
 */
import { isIP, isIPv4 } from 'node:net';
import { networkInterfaces } from 'node:os';
import { Type, type Static } from '@sinclair/typebox';
import { parseCidr, type Cidr } from './cidr.js';
import { parseListen, type ListenAddress } from './listen.js';

export const TargetsSchema = Type.Object(
  {
    allow: Type.Array(Type.String({ minLength: 1 }), { default: [] }),
    deny: Type.Array(Type.String({ minLength: 1 }), { default: [] }),
  },
  { additionalProperties: false, default: {} },
);
export type TargetsConfig = Static<typeof TargetsSchema>;

/** Denied unless `allow` covers the address; `deny` always wins. Order: most specific reason first. */
const DEFAULT_DENY: readonly { rule: string; cidrs: readonly string[] }[] = [
  { rule: 'metadata', cidrs: ['169.254.169.254/32', 'fd00:ec2::254/128'] },
  { rule: 'link-local', cidrs: ['169.254.0.0/16', 'fe80::/10'] },
  // 0.0.0.0 and :: reach the local host on Linux, so they count as loopback.
  { rule: 'loopback', cidrs: ['127.0.0.0/8', '::1/128', '0.0.0.0/8', '::/128'] },
];

/** Why a connection to address:port is refused: the rule, for errors, logs and metrics. */
export interface Denial {
  rule: string;
}

export class TargetPolicy {
  private constructor(
    private readonly allow: Cidr[],
    private readonly deny: Cidr[],
    private readonly defaults: { rule: string; cidrs: Cidr[] }[],
    private readonly services: readonly ServicePort[],
    private readonly exact: readonly ListenAddress[],
  ) {}

  /** Problems as `health.targets.<key>[i]: reason`; the policy when there are none. */
  static build(config: TargetsConfig, services: readonly ServicePort[]): TargetPolicy | string[] {
    const problems: string[] = [];
    const exact: ListenAddress[] = [];
    const parse = (key: 'allow' | 'deny'): Cidr[] =>
      config[key].flatMap((text, i) => {
        // `host:port` (allow only): one of this node's own ports, which no CIDR can open.
        const hostPort = key === 'allow' && !text.includes('/') && isIP(text) === 0 ? parseListen(text) : null;
        if (hostPort !== null && typeof hostPort !== 'string') exact.push(hostPort);
        if (hostPort !== null) return [];
        const c = parseCidr(text);
        if (typeof c === 'string') problems.push(`health.targets.${key}[${i}]: ${c}${key === 'allow' ? ' or host:port' : ''}`);
        return typeof c === 'string' ? [] : [c];
      });
    const allow = parse('allow');
    const deny = parse('deny');
    if (problems.length) return problems;
    const defaults = DEFAULT_DENY.map((d) => ({ rule: d.rule, cidrs: d.cidrs.map((c) => parseCidr(c) as Cidr) }));
    return new TargetPolicy(allow, deny, defaults, services, exact);
  }

  /** null when a check may connect to address:port; else the rule that refuses it. */
  verdict(address: string, port: number): Denial | null {
    const ip = canonicalIp(address);
    const family = isIPv4(ip) ? 'ipv4' : 'ipv6';
    if (isIP(ip) === 0) return { rule: 'not an IP address' };
    const hit = (c: Cidr): boolean => c.list.check(ip, family);
    const denied = this.deny.find(hit);
    if (denied) return { rule: `health.targets.deny ${denied.text}` };
    // The node's own ports first: allowing loopback for backends must not open the admin API or Redis.
    const own = this.services.find((s) => s.port === port && (canonicalIp(s.host) === ip || isWildcard(s.host, ip)));
    if (own && !this.exact.some((e) => e.port === port && canonicalIp(e.host) === ip)) return { rule: `own service ${own.name} ${own.host}:${own.port}` };
    if (own || this.allow.some(hit)) return null;
    for (const d of this.defaults) {
      const c = d.cidrs.find(hit);
      if (c) return { rule: `${d.rule} ${c.text}` };
    }
    return null;
  }
}

/** A port this node serves on (DNS, metrics, admin API, Redis): never a health check target. */
export interface ServicePort extends ListenAddress {
  name: string;
}

/**
 * One spelling per address, so no rule can be passed by writing an address another way: IPv6 in
 * its canonical form (RFC 5952, by the WHATWG URL parser: `0:0::1` is `::1`), and IPv6 that carries
 * an IPv4 address, in any spelling, as the IPv4 address it reaches: IPv4-mapped (`::ffff:127.0.0.1`,
 * `::ffff:7f00:1`, `0:0:0:0:0:ffff:7f00:0001`), IPv4-translated (SIIT, RFC 2765: `::ffff:0:7f00:1`),
 * IPv4-compatible (RFC 4291, deprecated but routed by some stacks: `::7f00:1`; `::1` stays IPv6
 * loopback) and the NAT64 well-known prefix (RFC 6052: `64:ff9b::a9fe:a9fe`, which a NAT64 gateway
 * forwards to 169.254.169.254). Anything else (a zone id, not an address) is returned as given.
 */
/** Canonical IPv6 (URL-parsed) whose last 32 bits are an IPv4 address: mapped, translated, compatible, NAT64. */
const EMBEDDED_IPV4 = /^(?:::ffff:|::ffff:0:|::|64:ff9b::)([0-9a-f]{1,4}):([0-9a-f]{1,4})$/;

export function canonicalIp(address: string): string {
  if (isIP(address) !== 6) return address;
  let host: string;
  try {
    host = new URL(`http://[${address}]/`).hostname.slice(1, -1);
  } catch {
    return address;
  }
  const embedded = EMBEDDED_IPV4.exec(host);
  if (!embedded) return host;
  const hi = parseInt(embedded[1]!, 16);
  const lo = parseInt(embedded[2]!, 16);
  return `${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`;
}

/** A wildcard listen serves every local address: loopback and the interfaces' own addresses. */
function isWildcard(host: string, ip: string): boolean {
  if (host !== '0.0.0.0' && host !== '::') return false;
  if (ip.startsWith('127.') || ip === '::1') return true;
  return Object.values(networkInterfaces()).some((list) => list?.some((a) => a.address === ip));
}

/** Redis addresses from URLs (`redis://h:p`) and `host:port` lists; `localhost` is both loopbacks. */
export function redisPorts(urls: readonly string[], hostPorts: readonly string[], defaultPort: number): ServicePort[] {
  const out: ServicePort[] = [];
  const add = (host: string, port: number): void => {
    const hosts = host === 'localhost' ? ['127.0.0.1', '::1'] : [host.replace(/^\[|\]$/g, '')];
    for (const h of hosts) if (isIP(h)) out.push({ name: 'redis', host: h, port });
  };
  for (const u of urls) {
    try {
      const url = new URL(u);
      add(url.hostname, url.port ? Number(url.port) : 6379);
    } catch {
      // A bad URL is reported by the section that owns it.
    }
  }
  for (const hp of hostPorts) {
    const i = hp.lastIndexOf(':');
    if (i > 0) add(hp.slice(0, i), Number(hp.slice(i + 1)));
    else add(hp, defaultPort);
  }
  return out;
}

export const TARGET_DENIED = 'MERIDIAN_ERR_TARGET_DENIED' as const;

/** One problem per endpoint the policy refuses, at the endpoint's address, naming it and the rule. */
export function deniedEndpoints(
  policy: TargetPolicy,
  regions: readonly { id: string; endpoints?: readonly { id?: string; address: string; port: number }[] }[],
): { path: (string | number)[]; reason: string }[] {
  return regions.flatMap((r, i) =>
    (r.endpoints ?? []).flatMap((e, j) => {
      const denial = isIP(e.address) ? policy.verdict(e.address, e.port) : null;
      if (!denial) return [];
      const name = `${r.id}/${e.id ?? `${e.address}:${e.port}`}`;
      const reason = `${TARGET_DENIED}: endpoint ${name} (${e.address}:${e.port}) is refused by rule "${denial.rule}" (allow it in health.targets.allow)`;
      return [{ path: ['regions', i, 'endpoints', j, 'address'], reason }];
    }),
  );
}

/** The ports this node serves on, from the raw config (the sections that own them validate them). */
export function servicePorts(
  source: { dns: { listen: string[] }; metrics: { listen: string | null }; health: { redisUrl: string | null } } & Record<string, unknown>,
  parse: (text: string) => ListenAddress | string,
): ServicePort[] {
  const out: ServicePort[] = [];
  const add = (name: string, text: unknown): void => {
    const l = typeof text === 'string' ? parse(text) : null;
    if (l && typeof l !== 'string') out.push({ name, ...l });
  };
  source.dns.listen.forEach((l) => add('dns', l));
  add('metrics', source.metrics.listen);
  add('admin', (source['admin'] as { listen?: unknown } | undefined)?.listen);
  const redis = (source['redis'] ?? {}) as { url?: string; sentinels?: string[]; cluster?: string[] };
  const urls = [source.health.redisUrl, redis.url, process.env['REDIS_URL']].filter((u): u is string => typeof u === 'string');
  out.push(...redisPorts(urls, redis.cluster ?? [], 6379), ...redisPorts([], redis.sentinels ?? [], 26379));
  return out;
}
