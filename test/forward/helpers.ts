/**
 * Test kit for the forwarder over real loopback sockets: configs written to a temp dir and loaded
 * by the real loader, in-process backends (echo, scripted), client helpers that record how a
 * connection ended, and a forwarder started as a library.
 */
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { LoadedConfig } from '../../src/config/load.js';
import { startForwarder, type Forwarder, type ForwarderDeps } from '../../src/forward/forwarder.js';
import { StaticHealth } from '../../src/health/snapshot.js';
import { loadConfigFile } from '../../src/node/config.js';
import { spawnRole, type RoleProcess } from '../helpers/role.js';
import { allowLoopback } from '../helpers/targets.js';
import { MERIDIAN_ENTRY } from '../helpers/meridian-bin.js';

export const SERVICE = 'www.gslb.example.com';
const ZONE = '$ORIGIN gslb.example.com.\n$TTL 300\n@ SOA ns1 host 1 7200 3600 1209600 300\n@ NS ns1\nns1 A 127.0.0.1\n';

export async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const { port } = srv.address() as { port: number };
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

export interface RegionSpec {
  id: string;
  /** Backend ports, as endpoints `b0`, `b1`, … of the region. */
  backends: number[];
  relayPort?: number;
  capacity?: number;
  weights?: Record<string, number>;
  location?: { lat: number; lon: number; continent: string; country: string };
}

/** Writes a config (JSON is YAML) with the given regions, one service and `forward:` block; loads it. */
export function makeConfig(
  regions: RegionSpec[],
  forward: Record<string, unknown>,
  policy: Record<string, unknown> = { failover: regions.map((r) => r.id) },
  extra: Record<string, unknown> = {},
): { config: LoadedConfig; dir: string; cleanup(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'meridian-fwd-'));
  writeFileSync(join(dir, 'zone'), ZONE);
  const doc = {
    dns: { listen: ['127.0.0.1:0'] },
    zones: [{ origin: 'gslb.example.com', file: 'zone' }],
    regions: regions.map((r, i) => ({
      id: r.id,
      location: r.location ?? { lat: 10 * i, lon: 10 * i, continent: 'EU', country: 'IE' },
      addresses: { ipv4: [`192.0.2.${10 + i}`] },
      endpoints: r.backends.map((port, j) => ({ id: `b${j}`, address: '127.0.0.1', port, check: { type: 'tcp' } })),
      forwarder: {
        ...(r.relayPort !== undefined ? { relay: `127.0.0.1:${r.relayPort}` } : {}),
        ...(r.capacity !== undefined ? { capacity: r.capacity } : {}),
        ...(r.weights ? { weights: r.weights } : {}),
      },
    })),
    services: [{ name: SERVICE, regions: regions.map((r) => r.id), policy }],
    forward: { connectTimeoutMs: 1_000, ...forward },
    ...extra,
  };
  writeFileSync(join(dir, 'meridian.yaml'), JSON.stringify(allowLoopback(doc), null, 2));
  const loaded = loadConfigFile(join(dir, 'meridian.yaml'));
  if (!loaded.ok) throw new Error(loaded.errors.map((e) => `${e.line}: ${e.reason}`).join('\n'));
  return { config: loaded.config, dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** One listener `web` on an ephemeral port for service SERVICE, plus `extra` keys. */
export function webListener(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { name: 'web', service: SERVICE, listen: '127.0.0.1:0', ...extra };
}

/** Health where everything is up, unless a test swaps `current`. */
export function staticHealth(states: Record<string, 'up' | 'down' | 'drained'> = {}): { current: StaticHealth } {
  return { current: new StaticHealth(Object.entries(states).map(([id, state]) => ({ id, state }))) };
}

export async function start(config: LoadedConfig, region: string, deps: Partial<ForwarderDeps> = {}): Promise<Forwarder> {
  return startForwarder(config, region, { health: staticHealth(), bus: null, ...deps });
}

export interface Backend {
  port: number;
  server: Server;
  /** Every accepted socket, in order. */
  sockets: Socket[];
  /** Bytes received per connection, in accept order. */
  received: Buffer[];
  close(): Promise<void>;
}

/**
 * A backend on 127.0.0.1. Default behaviour: echo (with half-close passed on). `onConnection`
 * replaces it; received bytes are recorded either way.
 */
export async function startBackend(onConnection?: (s: Socket, index: number) => void, port = 0): Promise<Backend> {
  const sockets: Socket[] = [];
  const received: Buffer[] = [];
  const server = createServer({ allowHalfOpen: true }, (s) => {
    const i = sockets.length;
    sockets.push(s);
    received.push(Buffer.alloc(0));
    s.on('error', () => undefined);
    s.on('data', (d: Buffer) => (received[i] = Buffer.concat([received[i]!, d])));
    if (onConnection) onConnection(s, i);
    else s.pipe(s);
  });
  await new Promise<void>((r) => server.listen(port, '127.0.0.1', r));
  return {
    port: (server.address() as { port: number }).port,
    server,
    sockets,
    received,
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

export interface Client {
  socket: Socket;
  /** Everything received so far. */
  data(): Buffer;
  /** How many bytes were received so far. */
  received(): number;
  /** Resolves when the socket closed: how it ended. */
  closed: Promise<{ gotEnd: boolean; error: string | null }>;
  /** Resolves once `n` bytes have arrived (rejects if the socket closes first). */
  waitFor(n: number, timeoutMs?: number): Promise<Buffer>;
}

/** A client; by default it answers a FIN with its own (as most clients do); `allowHalfOpen` keeps sending. */
export function client(port: number, opts: { allowHalfOpen?: boolean } = {}): Promise<Client> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port, allowHalfOpen: opts.allowHalfOpen ?? false });
    // Chunks kept as a list: concatenating on every read is quadratic over a 64 MiB stream.
    const chunks: Buffer[] = [];
    let length = 0;
    let joined: Buffer | null = Buffer.alloc(0);
    const buf = (): Buffer => (joined ??= Buffer.concat(chunks, length));
    let gotEnd = false;
    let error: string | null = null;
    const waiters = new Set<() => void>();
    socket.on('data', (d: Buffer) => {
      chunks.push(d);
      length += d.length;
      joined = null;
      for (const w of [...waiters]) w();
    });
    socket.on('end', () => (gotEnd = true));
    socket.on('error', (e: NodeJS.ErrnoException) => (error = e.code ?? e.message));
    const closed = new Promise<{ gotEnd: boolean; error: string | null }>((r) =>
      socket.once('close', () => {
        for (const w of [...waiters]) w();
        r({ gotEnd, error });
      }),
    );
    socket.once('connect', () => {
      socket.removeListener('error', reject);
      resolve({
        socket,
        data: buf,
        received: () => length,
        closed,
        waitFor: (n, timeoutMs = 5_000) =>
          new Promise((res, rej) => {
            const timer = setTimeout(() => {
              waiters.delete(check);
              rej(new Error(`only ${length} of ${n} bytes within ${timeoutMs} ms`));
            }, timeoutMs);
            const check = (): void => {
              if (length >= n) {
                clearTimeout(timer);
                waiters.delete(check);
                res(buf());
              } else if (socket.destroyed) {
                clearTimeout(timer);
                waiters.delete(check);
                rej(new Error(`closed after ${length} of ${n} bytes`));
              }
            };
            waiters.add(check);
            check();
          }),
      });
    });
    socket.once('error', reject);
  });
}

/** Sends `text` and waits for it to come back (an echo round trip). */
export async function roundTrip(c: Client, text: string): Promise<void> {
  const before = c.data().length;
  c.socket.write(text);
  const got = await c.waitFor(before + text.length);
  if (got.subarray(before).toString() !== text) throw new Error(`echo mismatch: ${got.subarray(before).toString()}`);
}

/** Polls `cond` every 10 ms, at most `timeoutMs` (a bounded wait, never a timing assertion). */
export async function until(cond: () => boolean, timeoutMs = 5_000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`${what} not reached within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** `meridian forward --region <region>` on the config `makeConfig` wrote in `dir` (no Redis), once ready; its first listener's port. */
export async function spawnForward(dir: string, region = 'eu'): Promise<{ proc: RoleProcess; port: number }> {
  const proc = spawnRole(['forward', '--region', region, '--config', join(dir, 'meridian.yaml')], { REDIS_URL: '' });
  try {
    await proc.line((l) => l.msg === 'ready', 60_000, '"ready"');
  } catch (err) {
    await proc.stop();
    throw err;
  }
  const ready = proc.lines.find((l) => l.msg === 'forwarder ready')!;
  const port = Number(
    String((ready.listeners as string[])[0])
      .split(':')
      .pop(),
  );
  return { proc, port };
}

/**
 * A YAML config as written (with the gslb.example.com zone beside it, `file: zone`) for a command
 * run on it (`meridian check`, `meridian forward`); `lineOf` finds the line holding a text.
 */
export function yamlFixture(yaml: string): { file: string; lineOf(text: string): number; run(...args: string[]): SpawnSyncReturns<string>; cleanup(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'meridian-fwd-yaml-'));
  const file = join(dir, 'meridian.yaml');
  writeFileSync(join(dir, 'zone'), ZONE);
  writeFileSync(file, yaml);
  return {
    file,
    lineOf: (text) => yaml.split('\n').findIndex((l) => l.includes(text)) + 1,
    run: (...args) => spawnSync(process.execPath, [...MERIDIAN_ENTRY, ...args], { encoding: 'utf8', timeout: 60_000 }),
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}
