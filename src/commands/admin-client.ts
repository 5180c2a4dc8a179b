/**
 * How a CLI command reaches a node's admin API: where it is, with which token, over which TLS, and
 * one request. Every command that talks to a node goes through here (the daily commands, `explain`,
 * `override`).
 *
 * - Address: `--api URL` (or `MERIDIAN_API`), else the config's `admin.listen` (a wildcard listen
 *   is reached on loopback), else, for the commands that only talk to a node, the default
 *   `http://127.0.0.1:8053`. The config is the one named by `--config`, or `zones/meridian.yaml`
 *   when it exists.
 * - Token: `--token` (override only), `--token-file FILE`, `MERIDIAN_TOKEN`, else the bootstrap token
 *   file of the config's data directory (readable by whoever runs the node on this host).
 * - TLS (`https://`, or `admin.tls` in the config): the system's roots plus the configured
 *   certificate (so a self-signed one works); the name verified is the certificate's own when the
 *   address is an IP (as `admin.listen` is), else the URL's host name.
 * @module
 */
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { join, resolve as resolvePath, dirname } from 'node:path';
import { rootCertificates } from 'node:tls';
import { Agent, request as httpsRequest } from 'node:https';
import { request as httpRequest } from 'node:http';
import { BOOTSTRAP_TOKEN_FILE } from '../admin/config.js';
import { certificateName } from '../admin/tls.js';
import { parseListen } from '../config/listen.js';
import { Failure, UsageError } from './define.js';

export const DEFAULT_API = 'http://127.0.0.1:8053';

export interface AdminTarget {
  /** `http://host:port` or `https://host:port`, without a trailing slash. */
  base: string;
  token: string;
  /** For https: the roots to trust (absent = Node's defaults, NODE_EXTRA_CA_CERTS included) and the name to verify. */
  tls?: { ca?: string[]; servername?: string };
}

/** What a config says about its node's API: `admin.listen`, the data directory and `admin.tls.cert`, resolved against the config file. */
export interface AdminSource {
  file: string;
  listen: string | null;
  dataDir: string;
  tlsCert: string | null;
}

export interface TargetOptions {
  api?: string | undefined;
  token?: string | undefined;
  tokenFile?: string | undefined;
}

/** The API address asked for (`--api`, MERIDIAN_API, `admin.listen`), or null when neither names one. */
export function apiUrl(opts: TargetOptions, source: AdminSource | null): URL | null {
  if (opts.api !== undefined) return parseApiUrl(opts.api);
  if (!source?.listen) return null;
  const listen = parseListen(source.listen);
  if (typeof listen === 'string') throw new Failure('MERIDIAN_ERR_INVALID_CONFIG', `${source.file}: admin.listen: ${listen}`);
  if (listen.port === 0) throw new Failure('MERIDIAN_ERR_USAGE', `${source.file}: admin.listen has port 0 (picked at start): name the node's API with --api URL`);
  const host = listen.host === '0.0.0.0' ? '127.0.0.1' : listen.host === '::' ? '::1' : listen.host;
  return new URL(`${source.tlsCert ? 'https' : 'http'}://${host.includes(':') ? `[${host}]` : host}:${listen.port}`);
}

function parseApiUrl(text: string): URL {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new UsageError('MERIDIAN_ERR_USAGE', `--api ${text}: not a URL (e.g. http://127.0.0.1:8053 or https://dns1.example.net:8053)`);
  }
  if ((url.protocol !== 'http:' && url.protocol !== 'https:') || url.username || url.password || url.search || (url.pathname !== '/' && url.pathname !== '')) {
    throw new UsageError('MERIDIAN_ERR_USAGE', `--api ${text}: give http(s)://host:port only (no path, query or credentials; the token goes in MERIDIAN_TOKEN or --token-file)`);
  }
  return url;
}

/** The token: `--token`, `--token-file`, MERIDIAN_TOKEN, the bootstrap file of the config's data directory; null when there is none. */
export function apiToken(opts: TargetOptions, source: AdminSource | null): string | null {
  if (opts.token) return opts.token;
  if (opts.tokenFile !== undefined) {
    let text: string;
    try {
      text = readFileSync(opts.tokenFile, 'utf8').trim();
    } catch (err) {
      throw new UsageError('MERIDIAN_ERR_USAGE', `--token-file ${opts.tokenFile}: cannot read it (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
    }
    if (!text) throw new UsageError('MERIDIAN_ERR_USAGE', `--token-file ${opts.tokenFile} is empty`);
    return text;
  }
  if (process.env.MERIDIAN_TOKEN) return process.env.MERIDIAN_TOKEN;
  if (!source) return null;
  try {
    return readFileSync(join(source.dataDir, BOOTSTRAP_TOKEN_FILE), 'utf8').trim() || null;
  } catch {
    return null;
  }
}

/** A target for `url`: the token (MERIDIAN_ERR_NO_TOKEN without one) and the TLS trust. */
export function targetAt(url: URL, opts: TargetOptions, source: AdminSource | null): AdminTarget {
  const base = url.origin;
  const token = apiToken(opts, source);
  if (!token) {
    throw new Failure(
      'MERIDIAN_ERR_NO_TOKEN',
      `no token for the admin API at ${base}: set MERIDIAN_TOKEN or --token-file FILE (on the node's host the bootstrap token is <admin.dataDir>/${BOOTSTRAP_TOKEN_FILE})`,
    );
  }
  if (url.protocol !== 'https:') return { base, token };
  const pem = source?.tlsCert ? readCert(source) : null;
  const host = url.hostname.replace(/^\[|\]$/g, '');
  const servername = isIP(host) ? ((pem && certificateName(pem)) ?? undefined) : host;
  return { base, token, tls: { ...(pem ? { ca: [...rootCertificates, pem.toString()] } : {}), ...(servername ? { servername } : {}) } };
}

function readCert(source: AdminSource): Buffer {
  try {
    return readFileSync(source.tlsCert!);
  } catch (err) {
    throw new Failure('MERIDIAN_ERR_INVALID_CONFIG', `${source.file}: admin.tls.cert: cannot read ${source.tlsCert} (${(err as NodeJS.ErrnoException).code})`);
  }
}

/** The data directory and certificate of a loaded config's `admin:` section (its paths are resolved already). */
export function adminSourceOf(config: { file: string; admin: { listen: string | null; dataDir: string; tls?: { cert: string } | undefined } | null }): AdminSource | null {
  if (!config.admin) return null;
  return { file: config.file, listen: config.admin.listen, dataDir: resolvePath(dirname(config.file), config.admin.dataDir), tlsCert: config.admin.tls?.cert ?? null };
}

export type AdminReply =
  /** The API answered (any status); `body` is its JSON, or null. */
  | { kind: 'reply'; status: number; body: any; etag: number | null } // eslint-disable-line @typescript-eslint/no-explicit-any
  /**
   * No answer. `refused`: nothing listens there, so the request never reached a node and nothing was
   * done. Otherwise (a timeout, a reset, a TLS verification failure…) a write may have been done.
   */
  | { kind: 'unreachable'; refused: boolean; error: string };

/**
 * How long a request may take: a write waits until the node applies the version it made, which on
 * a loaded node (or behind a slow store) takes seconds; giving up early leaves the operator not
 * knowing whether it was done.
 */
export const REQUEST_TIMEOUT_MS = 60_000;

/**
 * The Failure for an error reply: the API's own code and message (with the field and problems it
 * names), or MERIDIAN_ERR_API_UNEXPECTED when what answered is not a Meridian API (no coded error).
 */
export function replyFailure(base: string, status: number, body: unknown): Failure {
  const e = (body as { error?: unknown } | null)?.error as { code?: unknown; message?: string; field?: string; problems?: { path: string; reason: string }[] } | undefined;
  if (typeof e?.code !== 'string' || !e.code.startsWith('MERIDIAN_ERR_')) {
    return new Failure('MERIDIAN_ERR_API_UNEXPECTED', `${base} answered HTTP ${status} without a Meridian error: is a Meridian admin API there? (--api URL or MERIDIAN_API names the node)`);
  }
  const problems = e.problems?.length ? e.problems.map((p) => `\n  ${p.path}: ${p.reason}`).join('') : '';
  return new Failure(e.code, `${e.message ?? `the admin API at ${base} answered ${status}`}${e.field ? ` (${e.field})` : ''}${problems}`);
}

/** One request; never throws for a network problem (the reply says what happened). */
export async function callAdmin(target: AdminTarget, method: string, path: string, body?: unknown, opts: { timeoutMs?: number; headers?: Record<string, string> } = {}): Promise<AdminReply> {
  let res: { status: number; text: string; etag: string | undefined };
  const timeoutMs = opts.timeoutMs ?? REQUEST_TIMEOUT_MS;
  try {
    res = await send(target, method, path, body === undefined ? undefined : JSON.stringify(body), timeoutMs, opts.headers ?? {});
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ECONNREFUSED') return { kind: 'unreachable', refused: true, error: 'connection refused' };
    if (code === 'ABORT_ERR' || (err as Error).name === 'AbortError' || (err as Error).name === 'TimeoutError')
      return { kind: 'unreachable', refused: false, error: `no answer within ${timeoutMs / 1000} s` };
    const tls = code && /CERT|TLS|SSL|SELF_SIGNED|VERIFY|ALTNAME/.test(code) ? 'TLS verification failed: ' : '';
    return { kind: 'unreachable', refused: false, error: `${tls}${(err as Error).message}${code && !(err as Error).message.includes(code) ? ` (${code})` : ''}` };
  }
  let parsed: unknown;
  try {
    parsed = res.text ? JSON.parse(res.text) : null;
  } catch {
    parsed = null;
  }
  const etag = res.etag ? Number(/\d+/.exec(res.etag)?.[0]) : NaN;
  return { kind: 'reply', status: res.status, body: parsed, etag: Number.isSafeInteger(etag) ? etag : null };
}

/** node:http(s) rather than fetch: fetch cannot be told which certificate to trust. */
function send(
  target: AdminTarget,
  method: string,
  path: string,
  body: string | undefined,
  timeoutMs: number,
  extra: Record<string, string>,
): Promise<{ status: number; text: string; etag: string | undefined }> {
  const headers: Record<string, string> = { ...extra, authorization: `Bearer ${target.token}` };
  if (body !== undefined) headers['content-type'] = 'application/json';
  const options = { method, headers, signal: AbortSignal.timeout(timeoutMs), ...(target.tls ? { agent: new Agent({ ...target.tls, keepAlive: false }) } : {}) };
  return new Promise((resolve, reject) => {
    const req = (target.tls ? httpsRequest : httpRequest)(`${target.base}${path}`, options, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8'), etag: res.headers.etag }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}
