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
