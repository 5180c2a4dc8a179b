/**
 * Starts the admin API on its own address. On a non-loopback address it refuses to start without
 * tokens; on loopback with none, it creates a `bootstrap` admin token and writes the secret to
 * `<dataDir>/admin-token` (mode 0600), so the demo is usable and still never unauthenticated.
 * @module
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import type { Server as TlsServer } from 'node:tls';
import type { ListenAddress } from '../config/load.js';
import { buildAdminApp } from './app.js';
import type { AdminApp, AdminRuntime } from './routes/types.js';
import { newSecret, sha256Hex } from './auth.js';
import type { AdminDeps } from './context.js';
import { BOOTSTRAP_TOKEN_FILE } from './config.js';
import { OverrideExpiry } from './override-audit.js';
import { Retention } from './retention.js';
import { readTlsMaterial, type AdminTlsFiles } from './tls.js';
import { guardHttpServer } from '../obs/http-guard.js';
import { adminTokensProblem, plainHttpWarning } from './section.js';
import { ADMIN_MAX_CONNECTIONS, ADMIN_MAX_PER_SOURCE } from './limit.js';

export interface AdminServer {
  app: AdminApp;
  runtime: AdminRuntime;
  /** The pruning schedule of the config store (admin.retention). */
  retention: Retention;
  readonly port: number;
  /** SIGHUP: re-reads `admin.tls` (a renewed certificate); throws, keeping the old pair, when the files are bad. No-op without TLS. */
  reloadTls(): void;
  close(): Promise<void>;
}

export class AdminStartError extends Error {
  readonly code = 'MERIDIAN_ERR_ADMIN_NO_TOKENS';
}

export { BOOTSTRAP_TOKEN_FILE };

/** Long enough for a slow client between requests of a keep-alive connection; a silent socket (no TLS handshake, no request) goes after it. */
const ADMIN_IDLE_MS = 30_000;

export async function ensureTokens(deps: AdminDeps, host: string, dataDir: string): Promise<string | null> {
  const stored = await deps.store.tokens.list();
  const count = stored.length + deps.staticTokens.length;
  const problem = adminTokensProblem(host, count);
  if (problem) throw new AdminStartError(problem);
  if (count > 0) return null;
  const secret = newSecret();
  await mkdir(dataDir, { recursive: true });
  const file = join(dataDir, BOOTSTRAP_TOKEN_FILE);
  await writeFile(file, secret + '\n', { mode: 0o600 });
  await deps.store.tokens.put({ name: 'bootstrap', role: 'admin', sha256: sha256Hex(secret), createdAt: new Date().toISOString(), createdBy: 'meridian' });
  await deps.store.appendAudit({
    author: 'meridian',
    action: 'token.create',
    target: 'token/bootstrap',
    version: null,
    reason: 'no tokens on a loopback admin API: bootstrap admin token',
    detail: { role: 'admin', file },
  });
  return file;
}

/**
 * ensureTokens, and while the store cannot be reached, again every 2 s until it can: the API starts
 * anyway (static tokens and the node's copy authenticate meanwhile). Resolves a stop function.
 */
async function ensureTokensWhenReachable(deps: AdminDeps, host: string, dataDir: string): Promise<() => void> {
  let timer: NodeJS.Timeout | null = null;
  let stopped = false;
  const attempt = async (first: boolean): Promise<void> => {
    try {
      const file = await ensureTokens(deps, host, dataDir);
      if (file) deps.log.warn({ file }, 'admin API: created a bootstrap admin token (no tokens were configured); read it from this file');
    } catch (err) {
      if ((err as { code?: unknown }).code !== 'MERIDIAN_ERR_STORE_UNAVAILABLE') {
        if (first) throw err;
        return void deps.log.error({ err: (err as Error).message }, 'admin API: tokens');
      }
      if (first) deps.log.warn('admin API: the config store is unreachable, so its tokens cannot be checked yet; static tokens and the local copy authenticate meanwhile');
      if (!stopped) timer = setTimeout(() => void attempt(false), 2000);
      timer?.unref();
    }
  };
  await attempt(true);
  return () => {
    stopped = true;
    if (timer) clearTimeout(timer);
  };
}

export async function startAdminServer(deps: AdminDeps, listen: ListenAddress, dataDir: string, tls: AdminTlsFiles | null = null): Promise<AdminServer> {
  const stopTokenCheck = await ensureTokensWhenReachable(deps, listen.host, dataDir);
  const plain = plainHttpWarning(listen.host, tls !== null);
  if (plain) deps.log.warn({ address: listen.host }, plain);
  let handle;
  try {
    handle = await buildAdminApp(deps, tls ? readTlsMaterial(tls) : null);
    // Before listen, so the first connection is already guarded (src/obs/http-guard.ts): idle
    // connections give way to new ones, so neither one address nor many can hold the API.
    guardHttpServer(handle.app.server, { maxConnections: ADMIN_MAX_CONNECTIONS, perSource: ADMIN_MAX_PER_SOURCE, idleMs: ADMIN_IDLE_MS });
    await handle.app.listen({ host: listen.host, port: listen.port });
  } catch (err) {
    stopTokenCheck();
    await handle?.app.close();
    throw err;
  }
  const { app, runtime } = handle;
  await runtime.drains.resume().catch((err: unknown) => deps.log.warn({ err: (err as Error).message }, 'admin API: could not resume drains'));
  deps.log.info({ address: `${listen.host}:${(app.server.address() as AddressInfo).port}`, tls: tls !== null }, 'admin API listening');
  const retention = new Retention(deps.store, deps.settings.retention, deps.log);
  retention.start();
  const expiry = new OverrideExpiry(deps.bus, deps.store, deps.log);
  expiry.start();
  return {
    app,
    runtime,
    retention,
    get port() {
      return (app.server.address() as AddressInfo).port;
    },
    reloadTls() {
      if (!tls) return;
      (app.server as TlsServer).setSecureContext(readTlsMaterial(tls));
      deps.log.info({ cert: tls.cert }, 'admin API: certificate reloaded');
    },
    async close() {
      stopTokenCheck();
      retention.stop();
      expiry.stop();
      runtime.drains.close();
      await app.close();
    },
  };
}
