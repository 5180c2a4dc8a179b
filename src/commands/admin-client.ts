/**
 * How a CLI command reaches the admin API of the node its config describes (`meridian explain`,
 * `meridian override`). The address is `admin.listen` (a wildcard listen is reached on loopback);
 * the token is `--token`, else `MERIDIAN_TOKEN`, else the bootstrap token file of the data
 * directory (readable by whoever runs the node on this host).
 * @module
 */
import { readFileSync } from 'node:fs';
import { dirname, join, resolve as resolvePath } from 'node:path';
import { BOOTSTRAP_TOKEN_FILE } from '../admin/server.js';
import { parseListen, type LoadedConfig } from '../config/load.js';

export interface AdminTarget {
  /** `http://host:port`. */
  base: string;
  token: string;
}

/** The API of this config's node and a token for it; null without an API address or without a token. */
export function adminTarget(config: LoadedConfig, token?: string): AdminTarget | null {
  const listen = config.admin?.listen ? parseListen(config.admin.listen) : null;
  if (!listen || typeof listen === 'string') return null;
  let secret = token ?? process.env.MERIDIAN_TOKEN;
  if (!secret) {
    try {
      secret = readFileSync(join(resolvePath(dirname(config.file), config.admin!.dataDir), BOOTSTRAP_TOKEN_FILE), 'utf8').trim();
    } catch {
      return null;
    }
  }
  const host = listen.host === '0.0.0.0' ? '127.0.0.1' : listen.host === '::' ? '::1' : listen.host;
  return { base: `http://${host.includes(':') ? `[${host}]` : host}:${listen.port}`, token: secret };
}

export type AdminReply =
  /** The API answered (any status); `body` is its JSON, or null. */
  | { kind: 'reply'; status: number; body: any } // eslint-disable-line @typescript-eslint/no-explicit-any
  /** Nothing listens there: the request never reached a node, so nothing was done. */
  | { kind: 'refused'; error: string };

/**
 * One request. Only a refused connection is `refused`: after a timeout or a reset the request may
 * have been carried out, so those throw, and a caller must not retry the write some other way.
 */
export async function callAdmin(target: AdminTarget, method: string, path: string, body?: unknown, timeoutMs = 10_000): Promise<AdminReply> {
  let res: Response;
  try {
    res = await fetch(`${target.base}${path}`, {
      method,
      headers: { authorization: `Bearer ${target.token}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      signal: AbortSignal.timeout(timeoutMs),
    });
  } catch (err) {
    const code = ((err as { cause?: { code?: string } }).cause ?? {}).code;
    if (code === 'ECONNREFUSED') return { kind: 'refused', error: `${target.base}: connection refused` };
    throw new Error(`admin API ${target.base}: ${(err as Error).message}${code ? ` (${code})` : ''}`, { cause: err });
  }
  const text = await res.text();
  let parsed: unknown;
  try {
    parsed = text ? JSON.parse(text) : null;
  } catch {
    parsed = null;
  }
  return { kind: 'reply', status: res.status, body: parsed };
}
