/**
 * How a CLI command reaches the admin API of the node its config describes (`meridian explain`,
 * `meridian override`). The address is `admin.listen` (a wildcard listen is reached on loopback);
 * the token is `--token`, else `MERIDIAN_TOKEN`, else the bootstrap token file of the data
 * directory (readable by whoever runs the node on this host).
 * @module
 */
import { readFileSync } from 'node:fs';
import { dirname, join, resolve as resolvePath } from 'node:path';
import { rootCertificates } from 'node:tls';
import { Agent, request as httpsRequest } from 'node:https';
import { request as httpRequest } from 'node:http';
import { BOOTSTRAP_TOKEN_FILE } from '../admin/server.js';
import { certificateName } from '../admin/tls.js';
import { parseListen, type LoadedConfig } from '../config/load.js';

export interface AdminTarget {
  /** `http://host:port`, or `https://` when the config has `admin.tls`. */
  base: string;
  token: string;
  /** With `admin.tls`: trusts the system's roots and the configured certificate, verified against the name it was issued for. */
  tls?: { ca: string[]; servername: string };
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
  const tls = config.admin!.tls ? tlsTrust(config.admin!.tls.cert) : undefined;
  return { base: `${tls ? 'https' : 'http'}://${host.includes(':') ? `[${host}]` : host}:${listen.port}`, token: secret, ...(tls ? { tls } : {}) };
}

function tlsTrust(certFile: string): AdminTarget['tls'] {
  const pem = readFileSync(certFile);
  return { ca: [...rootCertificates, pem.toString()], servername: certificateName(pem) ?? 'localhost' };
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
  let res: { status: number; text: string };
  try {
    res = await send(target, method, path, body === undefined ? undefined : JSON.stringify(body), timeoutMs);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ECONNREFUSED') return { kind: 'refused', error: `${target.base}: connection refused` };
    throw new Error(`admin API ${target.base}: ${(err as Error).message}${code ? ` (${code})` : ''}`, { cause: err });
  }
  let parsed: unknown;
  try {
    parsed = res.text ? JSON.parse(res.text) : null;
  } catch {
    parsed = null;
  }
  return { kind: 'reply', status: res.status, body: parsed };
}

/** node:http(s) rather than fetch: fetch cannot be told which certificate to trust. */
function send(target: AdminTarget, method: string, path: string, body: string | undefined, timeoutMs: number): Promise<{ status: number; text: string }> {
  const headers: Record<string, string> = { authorization: `Bearer ${target.token}` };
  if (body !== undefined) headers['content-type'] = 'application/json';
  const options = { method, headers, signal: AbortSignal.timeout(timeoutMs), ...(target.tls ? { agent: new Agent({ ...target.tls, keepAlive: false }) } : {}) };
  return new Promise((resolve, reject) => {
    const req = (target.tls ? httpsRequest : httpRequest)(`${target.base}${path}`, options, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}
