/**
 * A real, throwaway redis-server for tests: free loopback port, no persistence, killed with the
 * test process. `kill()` simulates a crash (SIGKILL) and `restart()` brings a fresh, empty server
 * back on the same port, so clients reconnect to the address they already have.
 *
 *   const redis = await startRedis();
 *   after(() => redis.stop());
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { connect, createServer } from 'node:net';

export const REDIS_SERVER = process.env.REDIS_SERVER ?? '/usr/bin/redis-server';

export interface TestRedis {
  url: string;
  port: number;
  /** Graceful stop (SIGTERM, waits for exit). Safe to call twice or after kill(). */
  stop(): Promise<void>;
  /** Crash: SIGKILL, waits for exit. */
  kill(): Promise<void>;
  /** Stops if running, then starts a new empty server on the same port and waits for PING. */
  restart(): Promise<void>;
}

/** Whether the tests that need a server can run here (used as `{ skip }` with a reason). */
export function redisSkipReason(): string | false {
  const reason = !existsSync(REDIS_SERVER)
    ? `${REDIS_SERVER} not found (install redis-server or set REDIS_SERVER)`
    : spawnSync(REDIS_SERVER, ['--version']).status === 0
      ? false
      : `${REDIS_SERVER} does not run`;
  // .ci/run installs redis-server: in CI a missing server is a broken setup, not a reason to skip.
  if (reason && process.env.CI) throw new Error(`Redis tests cannot run in CI: ${reason}`);
  return reason;
}

const live = new Set<ChildProcess>();
// A failed test must not leave servers behind: kill whatever is still running when the process exits.
process.once('exit', () => {
  for (const p of live) p.kill('SIGKILL');
});

export async function startRedis(): Promise<TestRedis> {
  const port = await freePort();
  let proc: ChildProcess | null = null;

  const start = async (): Promise<void> => {
    const p = spawn(
      REDIS_SERVER,
      ['--port', String(port), '--save', '', '--appendonly', 'no', '--bind', '127.0.0.1', '--protected-mode', 'no'],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    live.add(p);
    p.once('exit', () => live.delete(p));
    proc = p;
    await waitForPing(port, p);
  };

  const halt = async (signal: NodeJS.Signals): Promise<void> => {
    const p = proc;
    proc = null;
    if (!p || p.exitCode !== null || p.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => p.once('exit', () => resolve()));
    p.kill(signal);
    await exited;
  };

  await start();
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    stop: () => halt('SIGTERM'),
    kill: () => halt('SIGKILL'),
    async restart() {
      await halt('SIGTERM');
      await start();
    },
  };
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

/** Polls with a raw PING until `+PONG` (no client library: this helper must not depend on the code under test). */
async function waitForPing(port: number, p: ChildProcess, timeoutMs = 5_000): Promise<void> {
  let stderr = '';
  p.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (p.exitCode !== null) throw new Error(`redis-server exited with ${p.exitCode}: ${stderr.trim()}`);
    if (await ping(port)) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  p.kill('SIGKILL');
  throw new Error(`redis-server on port ${port} did not answer PING within ${timeoutMs} ms: ${stderr.trim()}`);
}

function ping(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1');
    let buf = '';
    const done = (ok: boolean): void => {
      s.destroy();
      resolve(ok);
    };
    s.setTimeout(500, () => done(false));
    s.once('error', () => done(false));
    s.once('connect', () => s.write('PING\r\n'));
    s.on('data', (d) => {
      buf += d.toString();
      if (buf.includes('\r\n')) done(buf.startsWith('+PONG'));
    });
  });
}
