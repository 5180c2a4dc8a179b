/**
 * Test helper: a real `meridian serve` process (test/helpers/dnsproc.ts) with its admin API on an
 * ephemeral port, and a client for that API over real HTTP with the bootstrap admin token, so a test
 * can mark regions down, change weights and ask for explanations the way an operator does.
 *
 * ```ts
 * const node = await startMeridianWithApi({ zones: [...], extra: { regions, services } });
 * await node.api('PUT', '/v1/overrides/region/eu-west', { state: 'down', reason: 'test' });
 * await node.stop();
 * ```
 * @module
 */
import { existsSync, readFileSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { freePort, startMeridian, type RunningServer, type StartOptions } from './dnsproc.js';

export interface ApiReply {
  status: number;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  json: any;
  text: string;
}

export interface ApiNode extends RunningServer {
  /** The admin API's port. */
  apiPort: number;
  /** One request with the bootstrap admin token; a body is sent as JSON (a string: as is, as JSON). */
  api(method: string, urlPath: string, body?: unknown): Promise<ApiReply>;
  /** The config version the node answers from (`GET /v1/status`, `applied`). */
  applied(): Promise<number>;
}

/**
 * Starts `meridian serve` with an `admin:` section (file store in the temp dir). The node logs at
 * `warn` (MERIDIAN_LOG_LEVEL), so an API driven thousands of times does not log every request; it
 * is ready when its API answers `GET /v1/status` with the bootstrap token.
 */
export async function startMeridianWithApi(opts: StartOptions & { admin?: Record<string, unknown> }): Promise<ApiNode> {
  const port = await freePort();
  const tokenFile = (dir: string): string => path.join(dir, 'data', 'admin-token');
  let token = '';
  // node:http with keep-alive: a test may make thousands of requests, and fetch costs several
  // times the CPU per request on the client side.
  const agent = new http.Agent({ keepAlive: true, maxSockets: 16 });
  const api = (method: string, urlPath: string, body?: unknown): Promise<ApiReply> =>
    new Promise((resolve, reject) => {
      // A string is sent as is: JSON a test builds by hand (JSON.stringify recurses, so it cannot
      // write the deeply nested bodies a server must refuse).
      const payload = body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body);
      const headers = { authorization: `Bearer ${token}`, ...(payload !== undefined ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) } : {}) };
      const req = http.request({ host: '127.0.0.1', port, method, path: urlPath, agent, headers }, (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (text += chunk));
        res.on('end', () => {
          let json: unknown;
          try {
            json = JSON.parse(text);
          } catch {
            json = undefined;
          }
          resolve({ status: res.statusCode ?? 0, json, text });
        });
      });
      req.on('error', reject);
      req.end(payload);
    });
  let srv: RunningServer;
  try {
    srv = await startMeridian({
      // A node with its admin API loads the most code of any role: on a loaded 2-core machine its
      // start has taken over 30 s (the helper's default), and a test waiting for it loses nothing.
      readyTimeoutMs: 60_000,
      ...opts,
      env: { MERIDIAN_LOG_LEVEL: 'warn', ...opts.env },
      extra: { ...(opts.extra ?? {}), admin: { listen: `127.0.0.1:${port}`, dataDir: 'data', rateLimit: 1_000_000, ...opts.admin } },
      ready: async (dir) => {
        if (!existsSync(tokenFile(dir))) return false;
        token = readFileSync(tokenFile(dir), 'utf8').trim();
        return (await api('GET', '/v1/status')).status === 200;
      },
    });
  } catch (err) {
    agent.destroy();
    throw err;
  }
  const applied = async (): Promise<number> => {
    const r = await api('GET', '/v1/status');
    if (r.status !== 200) throw new Error(`/v1/status: ${r.status} ${r.text}`);
    return r.json.applied as number;
  };
  const stop = async (): Promise<void> => {
    agent.destroy();
    await srv.stop();
  };
  return { ...srv, stop, apiPort: port, api, applied };
}
