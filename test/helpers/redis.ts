/**
 * Real, throwaway Redis servers for tests, from the Debian packages (`redis-server`,
 * `redis-sentinel`, `redis-cli`): free loopback ports, temp dirs, and every process killed and
 * every temp dir removed when the test process exits, whatever happened.
 *
 *   const redis = await startRedis();              // one server, no persistence
 *   after(() => redis.stop());
 *   const group = await startSentinelGroup();       // primary + replica + three sentinels
 *   const cluster = await startRedisCluster();      // three masters, slots assigned
 *
 * `kill()` simulates a crash (SIGKILL) and `restart()` brings a fresh, empty server back on the
 * same port, so clients reconnect to the address they already have. `respCommand` talks RESP over
 * a raw socket: these helpers must not depend on the client library under test.
 */
import { execFile, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const REDIS_SERVER = process.env.REDIS_SERVER ?? '/usr/bin/redis-server';
export const REDIS_SENTINEL = process.env.REDIS_SENTINEL ?? '/usr/bin/redis-sentinel';
export const REDIS_CLI = process.env.REDIS_CLI ?? '/usr/bin/redis-cli';

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

/** Whether the Sentinel and Cluster tests can run here (they also need redis-sentinel and redis-cli). */
export function redisHaSkipReason(): string | false {
  const base = redisSkipReason();
  if (base) return base;
  const missing = [REDIS_SENTINEL, REDIS_CLI].find((f) => !existsSync(f));
  const reason = missing ? `${missing} not found (install redis-sentinel and redis-tools)` : false;
  if (reason && process.env.CI) throw new Error(`Redis tests cannot run in CI: ${reason}`);
  return reason;
}

const live = new Set<ChildProcess>();
const tempDirs = new Set<string>();
// A failed test must not leave servers or files behind: kill whatever is still running and remove
// the temp dirs when the process exits.
process.once('exit', () => {
  for (const p of live) p.kill('SIGKILL');
  for (const d of tempDirs) rmSync(d, { recursive: true, force: true });
});

function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  tempDirs.add(dir);
  return dir;
}

/** Spawns a Redis process (server or sentinel), tracked for the exit cleanup; waits for PING. */
async function spawnRedis(bin: string, args: string[], port: number): Promise<ChildProcess> {
  const p = spawn(bin, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  live.add(p);
  p.once('exit', () => live.delete(p));
  await waitForPing(port, p);
  return p;
}

async function halt(p: ChildProcess | null, signal: NodeJS.Signals): Promise<void> {
  if (!p || p.exitCode !== null || p.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => p.once('exit', () => resolve()));
  p.kill(signal);
  await exited;
}

/**
 * redis-server's arguments as every test server uses them: its own port, address and working
 * directory, no RDB snapshots, and either no persistence or AOF written every second with
 * replication in sync at once (diskless, no delay: milliseconds instead of Redis 7's 5 s).
 */
export function redisServerArgs(o: { port: number; bind: string; dir: string; aof: boolean }): string[] {
  const base = ['--port', String(o.port), '--bind', o.bind, '--protected-mode', 'no', '--dir', o.dir, '--save', ''];
  if (!o.aof) return [...base, '--appendonly', 'no'];
  return [...base, '--appendonly', 'yes', '--appendfsync', 'everysec', '--repl-diskless-sync', 'yes', '--repl-diskless-sync-delay', '0'];
}

/** `extraArgs` go to redis-server as they are (e.g. `['--requirepass', 'x']`). */
export async function startRedis(extraArgs: string[] = []): Promise<TestRedis> {
  const port = await freePort();
  let proc: ChildProcess | null = null;
  // Its own working directory: a test that turns AOF on (CONFIG SET appendonly yes) must not leave an
  // appendonlydir/ in the repository the tests run from.
  const dir = join(tmpdir(), `meridian-redis-${port}-${process.pid}`);
  const args = [...redisServerArgs({ port, bind: '127.0.0.1', dir, aof: false }), ...extraArgs];
  const start = async (): Promise<void> => {
    mkdirSync(dir, { recursive: true });
    proc = await spawnRedis(REDIS_SERVER, args, port);
  };
  const stopWith = async (signal: NodeJS.Signals): Promise<void> => {
    const p = proc;
    proc = null;
    await halt(p, signal);
    rmSync(dir, { recursive: true, force: true });
  };

  await start();
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    stop: () => stopWith('SIGTERM'),
    kill: () => stopWith('SIGKILL'),
    async restart() {
      await stopWith('SIGTERM');
      await start();
    },
  };
}

export interface SentinelGroup {
  /** The master group name the sentinels monitor. */
  name: string;
  /**
   * Where everyone (sentinels, replica, clients) reaches the primary: a proxy in this process, so
   * the test can hold back the replication stream (freezeReplication). Sentinel would "fix" a
   * replica pointing at another address than the one it monitors, so all of them use the proxy.
   */
  primaryPort: number;
  replicaPort: number;
  sentinelPorts: number[];
  /** `host:port` of each sentinel, as a `redis.sentinels` list. */
  sentinels: string[];
  /**
   * SIGKILLs the primary (a crash: no shutdown save, no goodbye to the replica). Whatever the
   * replication link holds back (see freezeReplication) dies with it.
   */
  killPrimary(): Promise<void>;
  /**
   * The replica lags: the link stops delivering the primary's stream (the test's proxy drops it,
   * as bytes still in flight when the primary dies) while the replica's acks still flow back, so the primary sees a connected replica that does not
   * confirm new writes. This is the moment async replication loses acknowledged writes.
   */
  freezeReplication(): void;
  /** The port of the current primary, as the sentinels see it. */
  currentPrimaryPort(): Promise<number>;
  stop(): Promise<void>;
}

export interface SentinelOptions {
  /** Sentinel's down-after-milliseconds: how long a silent primary takes to be judged down. */
  downAfterMs?: number;
  failoverTimeoutMs?: number;
}

/**
 * A primary, one replica and three sentinels (quorum 2) on loopback, each data node with AOF
 * (appendfsync everysec, as README recommends). Resolves once the replica is in sync and the
 * three sentinels know each other and the replica, so a failover can start at once.
 */
export async function startSentinelGroup(opts: SentinelOptions = {}): Promise<SentinelGroup> {
  const dir = tempDir('meridian-sentinel-');
  const name = 'meridian-test';
  const [primaryPort, replicaPort, ...sentinelPorts] = await Promise.all([0, 1, 2, 3, 4].map(() => freePort()));
  const procs: ChildProcess[] = [];
  let link: LinkProxy | null = null;
  const dataNode = (port: number, extra: string[]): string[] => {
    mkdirSync(join(dir, String(port)));
    return [...redisServerArgs({ port, bind: '127.0.0.1', dir: join(dir, String(port)), aof: true }), ...extra];
  };
  try {
    procs.push(await spawnRedis(REDIS_SERVER, dataNode(primaryPort!, []), primaryPort!));
    link = await startLinkProxy(primaryPort!);
    procs.push(await spawnRedis(REDIS_SERVER, dataNode(replicaPort!, ['--replicaof', '127.0.0.1', String(link.port)]), replicaPort!));
    await until(async () => /master_link_status:up/.test(String(await respCommand(replicaPort!, ['INFO', 'replication']))), 10_000, 'replica in sync');
    for (const port of sentinelPorts) {
      const conf = join(dir, `sentinel-${port}.conf`);
      writeFileSync(
        conf,
        [
          `port ${port}`,
          'bind 127.0.0.1',
          'protected-mode no',
          `dir ${dir}`,
          `sentinel monitor ${name} 127.0.0.1 ${link.port} 2`,
          `sentinel down-after-milliseconds ${name} ${opts.downAfterMs ?? 1000}`,
          `sentinel failover-timeout ${name} ${opts.failoverTimeoutMs ?? 3000}`,
          `sentinel parallel-syncs ${name} 1`,
        ].join('\n') + '\n',
      );
      procs.push(await spawnRedis(REDIS_SENTINEL, [conf], port));
    }
    // Sentinels find each other and the replica through hello messages (every 2 s) and INFO.
    await until(
      async () => {
        const all = await Promise.all(
          sentinelPorts.map(async (p) => {
            const quorum = String(await respCommand(p, ['SENTINEL', 'CKQUORUM', name]).catch((e: Error) => e.message));
            const replicas = (await respCommand(p, ['SENTINEL', 'REPLICAS', name])) as unknown[];
            return quorum.includes('3 usable') && replicas.length === 1;
          }),
        );
        return all.every(Boolean);
      },
      20_000,
      'sentinels know each other and the replica',
    );
  } catch (err) {
    link?.close();
    await Promise.all(procs.map((p) => halt(p, 'SIGKILL')));
    throw err;
  }
  const [primary] = procs;
  const proxy = link!;
  return {
    name,
    primaryPort: proxy.port,
    replicaPort: replicaPort!,
    sentinelPorts,
    sentinels: sentinelPorts.map((p) => `127.0.0.1:${p}`),
    async killPrimary() {
      await halt(primary!, 'SIGKILL');
      proxy.close(); // the held-back stream is lost with the primary
    },
    freezeReplication: () => proxy.freeze(),
    async currentPrimaryPort() {
      const reply = (await respCommand(sentinelPorts[0]!, ['SENTINEL', 'GET-MASTER-ADDR-BY-NAME', name])) as string[];
      return Number(reply[1]);
    },
    async stop() {
      proxy.close();
      await Promise.all(procs.map((p) => halt(p, 'SIGTERM')));
      rmSync(dir, { recursive: true, force: true });
      tempDirs.delete(dir);
    },
  };
}

interface LinkProxy {
  port: number;
  freeze(): void;
  /** Drops every connection (and what it held back) and refuses new ones. */
  close(): void;
}

/**
 * A TCP proxy to `upstreamPort`. A connection that sent PSYNC is a replica's replication link;
 * once frozen, what the primary sends on such links is dropped (as if still in flight when the
 * primary died) while everything else, the replica's acks included, flows.
 */
async function startLinkProxy(upstreamPort: number): Promise<LinkProxy> {
  const sockets = new Set<Socket>();
  let frozen = false;
  let closed = false;
  const server: Server = createServer((client) => {
    if (closed) return client.destroy();
    const upstream = connect(upstreamPort, '127.0.0.1');
    let replication = false;
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('error', () => undefined);
      s.on('close', () => {
        sockets.delete(s);
        client.destroy();
        upstream.destroy();
      });
    }
    client.on('data', (d: Buffer) => {
      if (!replication && /PSYNC|^SYNC\r\n/i.test(d.toString('latin1'))) replication = true;
      upstream.write(d);
    });
    upstream.on('data', (d: Buffer) => {
      if (!(frozen && replication)) client.write(d);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as { port: number }).port,
    freeze() {
      frozen = true;
    },
    close() {
      closed = true;
      server.close();
      for (const s of sockets) s.destroy();
    },
  };
}

export interface TestCluster {
  /** `host:port` of each master, as a `redis.cluster` list. */
  nodes: string[];
  ports: number[];
  stop(): Promise<void>;
}

/** Three masters (no replicas), slots spread by `redis-cli --cluster create`; resolves once cluster_state is ok on every node. */
export async function startRedisCluster(masters = 3): Promise<TestCluster> {
  const dir = tempDir('meridian-cluster-');
  const ports = await Promise.all(Array.from({ length: masters }, () => freePort()));
  // The cluster bus port is chosen too: the default (port + 10000) may be taken or out of range.
  const busPorts = await Promise.all(ports.map(() => freePort()));
  const procs: ChildProcess[] = [];
  try {
    for (const [i, port] of ports.entries()) {
      mkdirSync(join(dir, String(port)));
      procs.push(
        await spawnRedis(
          REDIS_SERVER,
          [
            ...redisServerArgs({ port, bind: '127.0.0.1', dir: join(dir, String(port)), aof: false }),
            '--cluster-port',
            String(busPorts[i]),
            '--cluster-enabled',
            'yes',
            '--cluster-config-file',
            join(dir, `nodes-${port}.conf`),
            '--cluster-node-timeout',
            '2000',
          ],
          port,
        ),
      );
    }
    await run(REDIS_CLI, ['--cluster', 'create', ...ports.map((p) => `127.0.0.1:${p}`), '--cluster-replicas', '0', '--cluster-yes']);
    await until(
      async () => (await Promise.all(ports.map(async (p) => /cluster_state:ok/.test(String(await respCommand(p, ['CLUSTER', 'INFO'])))))).every(Boolean),
      20_000,
      'cluster_state:ok on every node',
    );
  } catch (err) {
    await Promise.all(procs.map((p) => halt(p, 'SIGKILL')));
    throw err;
  }
  return {
    nodes: ports.map((p) => `127.0.0.1:${p}`),
    ports,
    async stop() {
      await Promise.all(procs.map((p) => halt(p, 'SIGTERM')));
      rmSync(dir, { recursive: true, force: true });
      tempDirs.delete(dir);
    },
  };
}

function run(bin: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(bin, args, { timeout: 20_000 }, (err, stdout, stderr) => (err ? reject(new Error(`${bin} ${args.join(' ')}: ${err.message}\n${stdout}${stderr}`)) : resolve(stdout)));
  });
}

async function until(cond: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await cond().catch(() => false)) return;
    if (Date.now() > deadline) throw new Error(`redis helper: ${what}: not within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
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
    if (p.exitCode !== null) throw new Error(`${p.spawnfile} exited with ${p.exitCode}: ${stderr.trim()}`);
    if (await ping(port)) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  p.kill('SIGKILL');
  throw new Error(`${p.spawnfile} on port ${port} did not answer PING within ${timeoutMs} ms: ${stderr.trim()}`);
}

async function ping(port: number): Promise<boolean> {
  // A server with requirepass answers NOAUTH: it is up all the same.
  return respCommand(port, ['PING']).then(
    (r) => r === 'PONG',
    (err: Error) => err.message.startsWith('NOAUTH'),
  );
}

/**
 * Sends one command over a fresh socket and resolves with the reply: strings for simple and bulk
 * strings, numbers for integers, arrays, null; an error reply rejects. Enough for test set-up.
 */
export function respCommand(port: number, args: string[], timeoutMs = 1_000, host = '127.0.0.1'): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const s = connect(port, host);
    let buf = Buffer.alloc(0);
    const finish = (err: Error | null, value?: unknown): void => {
      s.destroy();
      if (err) reject(err);
      else resolve(value);
    };
    s.setTimeout(timeoutMs, () => finish(new Error(`port ${port}: no reply to ${args[0]} in ${timeoutMs} ms`)));
    s.once('error', (e) => finish(e));
    s.once('connect', () => s.write(`*${args.length}\r\n${args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join('')}`));
    s.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      const parsed = parseResp(buf, 0);
      if (!parsed) return; // incomplete: wait for more
      if (parsed.value instanceof Error) finish(parsed.value);
      else finish(null, parsed.value);
    });
  });
}

/** One RESP2 value at `at`, or null when the buffer does not hold all of it yet. */
function parseResp(buf: Buffer, at: number): { value: unknown; end: number } | null {
  const eol = buf.indexOf('\r\n', at);
  if (eol < 0) return null;
  const line = buf.toString('utf8', at + 1, eol);
  const next = eol + 2;
  switch (String.fromCharCode(buf[at]!)) {
    case '+':
      return { value: line, end: next };
    case '-':
      return { value: new Error(line), end: next };
    case ':':
      return { value: Number(line), end: next };
    case '$': {
      const n = Number(line);
      if (n < 0) return { value: null, end: next };
      if (buf.length < next + n + 2) return null;
      return { value: buf.toString('utf8', next, next + n), end: next + n + 2 };
    }
    case '*': {
      const n = Number(line);
      if (n < 0) return { value: null, end: next };
      const items: unknown[] = [];
      let end = next;
      for (let i = 0; i < n; i++) {
        const item = parseResp(buf, end);
        if (!item) return null;
        items.push(item.value);
        end = item.end;
      }
      return { value: items, end };
    }
    default:
      return { value: new Error(`unexpected RESP type ${buf[at]}`), end: buf.length };
  }
}
