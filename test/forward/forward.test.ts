/**
 * The forwarder over real loopback sockets: proxying, a backend process killed mid-stream, dead
 * backends retried transparently, half-close both ways, bounded memory with a slow reader, the
 * connection cap, the idle timeout, weights, and PROXY v1/v2 toward backends. Every test runs on
 * both lanes: the fast lane (libuv handles, src/forward/fast-lane.ts, the default) and net.Socket
 * (`forward.fastLane: false`, also what SNI listeners and a Node without the bindings use).
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { connect } from 'node:net';
import { after, before, describe, it, type TestContext } from 'node:test';
import { Registry } from 'prom-client';
import { LanePair } from '../../src/forward/fast-lane.js';
import { decodeV2 } from '../../src/forward/proxy-protocol.js';
import type { Forwarder } from '../../src/forward/forwarder.js';
import { client, freePort, makeConfig, roundTrip, start, startBackend, until, webListener, type Backend, type RegionSpec } from './helpers.js';

const cleanups: (() => Promise<void> | void)[] = [];
after(async () => {
  for (const c of cleanups.reverse()) await c();
});

/** The lane the running suite tests (set by each suite's `before`). */
let fastLane = true;

async function forwarder(t: TestContext, regions: RegionSpec[], listener: Record<string, unknown> = {}, forward: Record<string, unknown> = {}): Promise<{ fwd: Forwarder; port: number }> {
  const { config, cleanup } = makeConfig(regions, { listeners: [webListener(listener)], fastLane, ...forward });
  const fwd = await start(config, regions[0]!.id);
  t.after(async () => {
    await fwd.close();
    cleanup();
  });
  return { fwd, port: fwd.address('web')!.port };
}

async function backends(t: TestContext, n: number, onConnection?: Parameters<typeof startBackend>[0]): Promise<Backend[]> {
  const out = await Promise.all(Array.from({ length: n }, () => startBackend(onConnection)));
  t.after(() => Promise.all(out.map((b) => b.close())).then(() => undefined));
  return out;
}

/** An echo server in its own process, so it can really be killed (SIGKILL). */
async function echoProcess(): Promise<{ port: number; proc: ChildProcess }> {
  const script = "const s=require('net').createServer(c=>{c.on('error',()=>{});c.pipe(c)});s.listen(0,'127.0.0.1',()=>console.log(s.address().port))";
  const proc = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  cleanups.push(() => void proc.kill('SIGKILL'));
  const port = await new Promise<number>((resolve, reject) => {
    proc.stdout!.once('data', (d: Buffer) => resolve(Number(d.toString().trim())));
    proc.once('exit', () => reject(new Error('echo process exited')));
  });
  return { port, proc };
}

/**
 * A backend that never answers a SYN: a stopped process whose accept queue (backlog 1) is full, so
 * the kernel drops further SYNs and a connect hangs until its timeout. Loopback only.
 */
async function blackhole(): Promise<number> {
  const script = "const s=require('net').createServer(()=>{});s.listen({port:0,host:'127.0.0.1',backlog:1},()=>console.log(s.address().port))";
  const proc = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  cleanups.push(() => void proc.kill('SIGKILL'));
  const port = await new Promise<number>((resolve) => proc.stdout!.once('data', (d: Buffer) => resolve(Number(d.toString().trim()))));
  proc.kill('SIGSTOP');
  // Fill the queue until a connect stays pending (bounded: a few connections at most).
  for (let i = 0; i < 16; i++) {
    const s = connect(port, '127.0.0.1');
    s.on('error', () => undefined);
    cleanups.push(() => void s.destroy());
    const connected = await new Promise<boolean>((r) => {
      s.once('connect', () => r(true));
      setTimeout(() => r(false), 200);
    });
    if (!connected) return port;
  }
  throw new Error('could not fill the accept queue');
}

for (const lane of ['fast', 'socket'] as const)
  describe(`forwarding (${lane} lane)`, () => {
    before(() => {
      fastLane = lane === 'fast';
    });

    it('relays bytes both ways and counts the connection', async (t) => {
      const [b] = await backends(t, 1);
      const { fwd, port } = await forwarder(t, [{ id: 'eu', backends: [b!.port] }]);
      assert.equal(fwd.lane('web'), lane);
      const c = await client(port);
      await roundTrip(c, 'hello through the forwarder');
      c.socket.end();
      assert.deepEqual(await c.closed, { gotEnd: true, error: null });
      await until(() => fwd.stats.active === 0);
      assert.equal(fwd.stats.listeners.web!.accepted, 1);
      assert.equal(fwd.stats.backends['eu/b0']!.connections, 1);
    });

    it('a backend process killed mid-stream: that connection closes cleanly, new ones go to the other backend', async (t) => {
      const dying = await echoProcess();
      const [alive] = await backends(t, 1);
      // round-robin on a fresh listener picks the first endpoint first: the one about to die.
      const { fwd, port } = await forwarder(t, [{ id: 'eu', backends: [dying.port, alive!.port] }], { balance: 'round-robin' });
      const c = await client(port);
      await roundTrip(c, 'before the kill');
      assert.equal(fwd.stats.backends['eu/b0']!.active, 1);
      const exited = new Promise((r) => dying.proc.once('exit', r));
      dying.proc.kill('SIGKILL');
      const ended = await c.closed;
      await exited; // its listening socket is gone too (the kernel closes a dead process's sockets one by one)
      assert.deepEqual(ended, { gotEnd: true, error: null }, 'a FIN, not a reset, and no hang');
      for (let i = 0; i < 10; i++) {
        const n = await client(port);
        await roundTrip(n, `after the kill ${i}`);
        n.socket.end();
        assert.equal((await n.closed).error, null);
      }
      assert.equal(alive!.sockets.length, 10);
      // One failed connect ejected the dead backend; later connections did not try it again.
      assert.equal(fwd.stats.backends['eu/b0']!.connectFailures, 1);
      assert.equal(fwd.stats.backends['eu/b0']!.ejected, true);
    });

    it('dead backends are retried on the next one transparently; ejection spares later clients the attempt', async (t) => {
      const [b] = await backends(t, 1);
      const dead = [await freePort(), await freePort(), await freePort()];
      const { fwd, port } = await forwarder(t, [{ id: 'eu', backends: [...dead, b!.port] }], { balance: 'round-robin' });
      for (let i = 0; i < 8; i++) {
        const c = await client(port);
        await roundTrip(c, `try ${i}`);
        c.socket.end();
        await c.closed;
      }
      assert.equal(b!.sockets.length, 8);
      for (let i = 0; i < 3; i++) assert.equal(fwd.stats.backends[`eu/b${i}`]!.connectFailures, 1, `b${i} tried once, then ejected`);
    });

    it('a backend that does not answer the connect is given up at the connect timeout and the next one serves', async (t) => {
      const silent = await blackhole();
      const [b] = await backends(t, 1);
      const { fwd, port } = await forwarder(t, [{ id: 'eu', backends: [silent, b!.port] }], { balance: 'round-robin', connectTimeoutMs: 200 });
      const c = await client(port);
      await roundTrip(c, 'waited for one timeout, not forever');
      assert.equal(fwd.stats.backends['eu/b0']!.connectFailures, 1);
      assert.equal(fwd.stats.backends['eu/b0']!.ejected, true);
      c.socket.end();
      await c.closed;
    });

    it('a drain deadline that falls while the backend connect hangs closes the client and counts it out', async (t) => {
      const silent = await blackhole();
      const { fwd, port } = await forwarder(t, [{ id: 'eu', backends: [silent] }], { connectTimeoutMs: 10_000 });
      const c = await client(port);
      await until(() => fwd.stats.backends['eu/b0']?.active === 1, 5_000, 'the connect attempt');
      const result = await fwd.drain(100);
      assert.equal(result.remaining, 1);
      assert.deepEqual(await c.closed, { gotEnd: true, error: null });
      await until(() => fwd.stats.active === 0, 5_000, 'the connection counted out');
      assert.equal(fwd.stats.backends['eu/b0']!.active, 0);
      assert.equal(fwd.state.conns.size, 0);
    });

    it('half-close: the client FIN reaches the backend, which still answers', async (t) => {
      const [b] = await backends(t, 1, (s) => {
        let n = 0;
        s.on('data', (d: Buffer) => (n += d.length));
        s.on('end', () => s.end(`got ${n} bytes after your FIN`));
      });
      const { port } = await forwarder(t, [{ id: 'eu', backends: [b!.port] }]);
      const c = await client(port);
      c.socket.end('twelve bytes');
      assert.deepEqual(await c.closed, { gotEnd: true, error: null });
      assert.equal(c.data().toString(), 'got 12 bytes after your FIN');
    });

    it('half-close: the backend FIN reaches the client, which can still send', async (t) => {
      let resolveText: (text: string) => void;
      const backendGot = new Promise<string>((r) => (resolveText = r));
      const [b] = await backends(t, 1, (s) => {
        s.end('server is done talking');
        let text = '';
        s.on('data', (d: Buffer) => (text += d.toString()));
        s.on('end', () => resolveText(text));
      });
      const { port } = await forwarder(t, [{ id: 'eu', backends: [b!.port] }]);
      const c = await client(port, { allowHalfOpen: true });
      await new Promise((r) => c.socket.once('end', r));
      assert.equal(c.data().toString(), 'server is done talking');
      c.socket.write('but the client ');
      c.socket.end('still was');
      assert.equal(await backendGot, 'but the client still was');
      assert.deepEqual(await c.closed, { gotEnd: true, error: null });
    });

    it('an error on either side closes both: a backend reset closes the client, a client reset closes the backend', async (t) => {
      const [b] = await backends(t, 1);
      const { fwd, port } = await forwarder(t, [{ id: 'eu', backends: [b!.port] }]);
      const c1 = await client(port);
      await roundTrip(c1, 'then the backend resets');
      b!.sockets[0]!.resetAndDestroy();
      const how = await c1.closed;
      assert.ok(how.error === null || how.error === 'ECONNRESET', `client ended with ${how.error}`);
      const c2 = await client(port);
      await roundTrip(c2, 'then the client resets');
      const backendClosed = new Promise((r) => b!.sockets[1]!.once('close', r));
      c2.socket.resetAndDestroy();
      await backendClosed;
      await until(() => fwd.stats.active === 0 && fwd.stats.backends['eu/b0']!.active === 0);
    });

    it('backpressure: a client that does not read cannot grow the forwarder beyond its socket buffers', async (t) => {
      const TOTAL = 64 * 1024 * 1024;
      let sent = 0;
      let stalled = false;
      const chunk = Buffer.alloc(64 * 1024, 0x61);
      const [b] = await backends(t, 1, (s) => {
        const pump = (): void => {
          while (sent < TOTAL) {
            sent += chunk.length;
            if (!s.write(chunk)) {
              stalled = true;
              s.once('drain', () => {
                stalled = false;
                pump();
              });
              return;
            }
          }
          s.end();
        };
        pump();
      });
      const { fwd, port } = await forwarder(t, [{ id: 'eu', backends: [b!.port] }]);
      const c = await client(port);
      c.socket.pause();
      // Wait until backpressure has reached the backend and stayed there (bounded wait).
      let steady = 0;
      let maxBuffered = 0;
      await until(
        () => {
          maxBuffered = Math.max(maxBuffered, fwd.stats.bufferedBytes);
          steady = stalled ? steady + 1 : 0;
          return steady >= 30;
        },
        20_000,
        'backend stalled by backpressure',
      );
      assert.ok(sent < TOTAL, `the backend could send everything (${sent}): no backpressure`);
      t.diagnostic(`backend stalled after ${(sent / 1048576).toFixed(1)} MiB; forwarder buffered at most ${maxBuffered} bytes`);
      assert.ok(maxBuffered <= 512 * 1024, `forwarder held ${maxBuffered} bytes for one slow reader`);
      // The slow reader catches up: every byte arrives, in order, and nothing was lost or duplicated.
      c.socket.resume();
      await c.waitFor(TOTAL, 60_000);
      const all = c.data();
      assert.equal(all.length, TOTAL);
      assert.equal(all.indexOf(0x62), -1);
      assert.equal(all.lastIndexOf(0x61), TOTAL - 1);
    });

    it('the connection cap refuses the extra connection cleanly (FIN, no data) and recovers', async (t) => {
      const [b] = await backends(t, 1);
      // No per-source limit: every client here is 127.0.0.1, and the default (a quarter of the cap) would refuse the second.
      const { fwd, port } = await forwarder(t, [{ id: 'eu', backends: [b!.port] }], { maxConnections: 2, maxConnectionsPerSource: 0 });
      const a = await client(port);
      const c2 = await client(port);
      await roundTrip(a, 'one');
      await roundTrip(c2, 'two');
      const over = await client(port);
      over.socket.write('let me in');
      assert.deepEqual(await over.closed, { gotEnd: true, error: null });
      assert.equal(over.data().length, 0);
      assert.equal(fwd.stats.listeners.web!.refusedCap, 1);
      await roundTrip(a, 'still fine');
      a.socket.end();
      await a.closed;
      await until(() => fwd.stats.listeners.web!.active === 1);
      const again = await client(port);
      await roundTrip(again, 'room again');
      again.socket.end();
      c2.socket.end();
      await Promise.all([again.closed, c2.closed]);
    });

    it('the idle timeout closes a connection with no traffic either way', async (t) => {
      const [b] = await backends(t, 1);
      const { fwd, port } = await forwarder(t, [{ id: 'eu', backends: [b!.port] }], { idleTimeoutMs: 200 });
      const c = await client(port);
      await roundTrip(c, 'then silence');
      const how = await c.closed;
      assert.equal(how.error, null);
      await until(() => fwd.stats.listeners.web!.idleTimeouts === 1, 2_000, 'idle timeout counted');
    });

    it('weighted-round-robin follows the region weights', async (t) => {
      const bs = await backends(t, 2);
      const { port } = await forwarder(t, [{ id: 'eu', backends: bs.map((b) => b.port), weights: { b0: 3, b1: 1 } }], { balance: 'weighted-round-robin' });
      for (let i = 0; i < 20; i++) {
        const c = await client(port);
        await roundTrip(c, 'x');
        c.socket.end();
        await c.closed;
      }
      assert.deepEqual(
        bs.map((b) => b.sockets.length),
        [15, 5],
      );
    });

    it('exports its counters as meridian_forward_* metrics', async (t) => {
      const [b] = await backends(t, 1);
      const dead = await freePort();
      const { config, cleanup } = makeConfig([{ id: 'eu', backends: [dead, b!.port] }], { listeners: [webListener({ balance: 'round-robin' })], fastLane });
      const registry = new Registry();
      const fwd = await start(config, 'eu', { metrics: registry });
      t.after(async () => {
        await fwd.close();
        cleanup();
      });
      const c = await client(fwd.address('web')!.port);
      await roundTrip(c, 'counted');
      const text = await registry.metrics();
      for (const re of [
        /^meridian_forward_connections_active\{region="eu",listener="web"\} 1$/m,
        /^meridian_forward_connections_total\{region="eu",listener="web",outcome="accepted"\} 1$/m,
        /^meridian_forward_backend_connections_active\{region="eu",endpoint="b1"\} 1$/m,
        /^meridian_forward_backend_connect_failures_total\{region="eu",endpoint="b0"\} 1$/m,
        /^meridian_forward_backend_ejected\{region="eu",endpoint="b0"\} 1$/m,
        // Measured on either lane for the backend that accepted; the refused one has no sample.
        /^meridian_forward_backend_connect_time_seconds\{region="eu",endpoint="b1"\} \d/m,
        /^meridian_forward_bytes_total\{region="eu",direction="from_client"\} 7$/m,
        /^meridian_forward_draining\{region="eu"\} 0$/m,
        // A forwarder started without a budget (src/node/fds.ts makes one per process): unbounded, but counted.
        /^meridian_forward_fd_budget\{kind="in_use"\} 1$/m,
        /^meridian_forward_connections_total\{region="eu",listener="web",outcome="refused_budget"\} 0$/m,
        new RegExp(`^meridian_forward_fast_lane\\{region="eu",listener="web"\\} ${lane === 'fast' ? 1 : 0}$`, 'm'),
        // One open connection: client and backend socket each hold one 64 KiB read buffer.
        /^meridian_forward_read_buffer_bytes\{region="eu"\} 131072$/m,
        // Unbounded: the default cap (budget.ts MAX_DEFAULT_CAP), and a quarter of it capped at 256 per source.
        /^meridian_forward_listener_limit\{region="eu",listener="web",kind="cap"\} 10000$/m,
        /^meridian_forward_listener_limit\{region="eu",listener="web",kind="per_source"\} 256$/m,
      ])
        assert.match(text, re);
      const names = [...text.matchAll(/^# TYPE (\S+)/gm)].map((m) => m[1]!);
      assert.doesNotMatch(text, /^meridian_forward_backend_connect_time_seconds\{region="eu",endpoint="b0"\}/m);
      assert.ok(names.length === 19 && names.every((n) => n.startsWith('meridian_forward_')), names.join(' '));
      c.socket.end();
      await c.closed;
      await until(() => fwd.stats.active === 0);
      // Ended: its buffers went back to the pool for the next connections.
      const after = await registry.metrics();
      assert.match(after, /^meridian_forward_read_buffer_bytes\{region="eu"\} 0$/m);
      const pooled = Number(/^meridian_forward_read_buffer_pool_bytes (\d+)$/m.exec(after)?.[1]);
      assert.ok(pooled >= 131072 && pooled <= 256 * 65536, `pool holds ${pooled} bytes`);
    });

    for (const version of ['v1', 'v2'] as const) {
      it(`PROXY ${version} toward the backend carries the client address, then the stream`, async (t) => {
        const [b] = await backends(t, 1, () => undefined);
        const { port } = await forwarder(t, [{ id: 'eu', backends: [b!.port] }], { proxyProtocol: version });
        const c = await client(port);
        c.socket.write('payload');
        // The header and the payload may arrive in separate reads: wait for the payload's last byte.
        await until(() => b!.received[0]?.toString('latin1').endsWith('payload') ?? false);
        const got = b!.received[0]!;
        if (version === 'v1') {
          assert.equal(got.toString(), `PROXY TCP4 127.0.0.1 127.0.0.1 ${c.socket.localPort} ${port}\r\npayload`);
        } else {
          const d = decodeV2(got);
          assert.ok(d.ok);
          assert.deepEqual(d.header.addresses, { sourceAddress: '127.0.0.1', sourcePort: c.socket.localPort, destAddress: '127.0.0.1', destPort: port });
          assert.equal(got.subarray(d.header.length).toString(), 'payload');
        }
        c.socket.destroy();
      });
    }

    it('an IPv6 client on an IPv6 listener: PROXY v1 names both IPv6 addresses', async (t) => {
      const [b] = await backends(t, 1, () => undefined);
      const { port } = await forwarder(t, [{ id: 'eu', backends: [b!.port] }], { proxyProtocol: 'v1', listen: '[::1]:0' });
      const c = connect({ host: '::1', port });
      await new Promise<void>((r) => c.once('connect', () => r()));
      t.after(() => void c.destroy());
      c.write('six');
      await until(() => b!.received[0]?.toString('latin1').endsWith('six') ?? false);
      assert.equal(b!.received[0]!.toString(), `PROXY TCP6 ::1 ::1 ${c.localPort} ${port}\r\nsix`);
    });
  });

describe('switching lanes', () => {
  it('forward.fastLane applies to connections accepted after a reload; open ones carry on in their lane', async (t) => {
    const [b] = await backends(t, 1);
    const regions = [{ id: 'eu', backends: [b!.port] }];
    const { config, cleanup } = makeConfig(regions, { listeners: [webListener()] });
    const fwd = await start(config, 'eu');
    t.after(async () => {
      await fwd.close();
      cleanup();
    });
    const port = fwd.address('web')!.port;
    assert.equal(fwd.lane('web'), 'fast');
    const onFast = await client(port);
    await roundTrip(onFast, 'first, on the fast lane');

    const off = makeConfig(regions, { listeners: [webListener()], fastLane: false });
    t.after(off.cleanup);
    fwd.update(off.config);
    assert.equal(fwd.lane('web'), 'socket');
    const onSocket = await client(port);
    await roundTrip(onSocket, 'second, on net.Socket');
    await roundTrip(onFast, 'the first still works');
    assert.equal(fwd.stats.active, 2);
    // The open connections, in accept order: the first relayed on handles, the second on sockets.
    assert.deepEqual(
      [...fwd.state.conns].map((c) => c.relay instanceof LanePair),
      [true, false],
    );

    fwd.update(config);
    assert.equal(fwd.lane('web'), 'fast');
    for (const c of [onFast, onSocket]) {
      c.socket.end();
      assert.deepEqual(await c.closed, { gotEnd: true, error: null });
    }
    await until(() => fwd.stats.active === 0);
    assert.equal(fwd.stats.listeners.web!.accepted, 2);
  });
});
