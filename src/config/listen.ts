/**
 * `host:port` listen addresses, shared by every section that binds a socket (dns, metrics, admin,
 * forward). A leaf: components import it without importing the config loader.
 * @module
 */
import { isIP } from 'node:net';

export interface ListenAddress {
  host: string;
  port: number;
}

/** Parses `host:port`, `[v6]:port`; returns a reason string when invalid. */
export function parseListen(text: string): ListenAddress | string {
  const m = /^\[([^\]]+)\]:(\d+)$/.exec(text) ?? /^([^:]+):(\d+)$/.exec(text);
  if (!m) return `listen address "${text}" must be host:port or [ipv6]:port`;
  const host = m[1]!;
  const port = Number(m[2]);
  if (!isIP(host)) return `listen host "${host}" is not an IP address`;
  if (port < 0 || port > 65535) return `listen port ${port} out of range`;
  return { host, port };
}

/** An address a socket of the process binds: the node's own services, a region's forwarder. */
export interface TakenAddress {
  /** What binds it, as a problem names it ("the DNS listener", "region r1's relay listener"). */
  what: string;
  at: ListenAddress;
  /** The index of the region whose `forwarder:` block sets this address (a relay, a listen override); absent for other sockets. */
  region?: number;
}

/**
 * The sockets `meridian serve` binds itself: DNS (UDP and TCP), the admin API, /metrics. An
 * embedded region's forwarder binding one of these would stop the node at its next start.
 */
export function nodeSockets(dns: readonly ListenAddress[], metrics: ListenAddress | null, admin: string | null | undefined): TakenAddress[] {
  const out: TakenAddress[] = dns.map((at) => ({ what: 'the DNS listener', at }));
  if (metrics) out.push({ what: 'the metrics listener', at: metrics });
  const a = admin ? parseListen(admin) : null;
  if (a && typeof a !== 'string') out.push({ what: 'the admin API', at: a });
  return out;
}
