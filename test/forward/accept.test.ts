/**
 * The accept fast path (src/forward/accept.ts), the reused read buffer of the relay
 * (src/forward/relay.ts) and the fast lane's relay on libuv handles (src/forward/fast-lane.ts),
 * over real loopback sockets. The forwarder tests exercise both through
 * the listener; these pin down what only they can show: that the fast path is installed on this
 * Node, and that the shared buffer never hands a queued write's bytes to the next read (the data
 * is a distinct pseudo-random stream in each direction, read slowly at the far end, compared by hash).
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { connect, createServer, type NetConnectOpts, type Server, type Socket } from 'node:net';
import { describe, it, type TestContext } from 'node:test';
import { installAccept, socketFromHandle } from '../../src/forward/accept.js';
import { acceptedEnd, dialLane, fastLane, startLaneRelay, type TcpHandle } from '../../src/forward/fast-lane.js';
import { relayReads, startRelay, usesRelayReads, type RelayEnd } from '../../src/forward/relay.js';

function listen(server: Server): Promise<number> {
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as { port: number }).port)));
}

type Lane = 'socket' | 'fast';

/**
 * A relay in front of `backendPort`, accepting through installAccept. Lane 'socket': accepted
 * sockets and backends with onread, relay.ts. Lane 'fast': handles and fast-lane.ts.
 */
async function relayServer(t: TestContext, backendPort: number, lane: Lane): Promise<{ port: number; ends: RelayEnd[]; dataEvents: () => number }> {
  const ends: RelayEnd[] = [];
  let dataEvents = 0;
  const server = createServer({ allowHalfOpen: true, pauseOnConnect: true });
  const port = await listen(server);
  const installed = installAccept(server, (handle) => {
    if (lane === 'fast') {
      const client = acceptedEnd(handle as TcpHandle);
      void dialLane('127.0.0.1', backendPort, 5_000, () => undefined).then((up) => {
        if (up instanceof Error) return client.destroy();
        startLaneRelay(client, up, { idleTimeoutMs: 30_000, onEnd: (how) => ends.push(how) });
      });
      return;
    }
    const client = socketFromHandle(server, handle);
    client.on('data', () => dataEvents++);
    // A high write high-water mark keeps write() returning true while bytes are still queued, so the
    // relay keeps reading: exactly when a reused buffer must not be read into again (the
    // "writableLength, not write()'s result" rule of relay.ts; with a 16 KiB mark it rarely shows).
    // (net.connect passes it on to the socket's stream options; @types/node does not list it.)
    const opts = { host: '127.0.0.1', port: backendPort, allowHalfOpen: true, noDelay: true, onread: relayReads, writableHighWaterMark: 8 * 1024 * 1024 };
    const backend = connect(opts as NetConnectOpts);
    usesRelayReads(backend);
    backend.pause();
    backend.once('connect', () => startRelay(client, backend, { idleTimeoutMs: 30_000, onEnd: (how) => ends.push(how) }));
    backend.once('error', () => client.destroy());
  });
  assert.equal(installed, true, 'the accept fast path is not available on this Node: check src/forward/accept.ts');
  t.after(() => new Promise<void>((r) => server.close(() => r())));
  return { port, ends, dataEvents: () => dataEvents };
}

/** Reads everything with pauses (a slow reader), hashing as it goes; resolves at EOF. */
function slowRead(s: Socket): Promise<{ bytes: number; sha: string }> {
  const h = createHash('sha256');
  let bytes = 0;
  let reads = 0;
  return new Promise((resolve, reject) => {
    s.on('data', (d: Buffer) => {
      h.update(d);
      bytes += d.length;
      if (++reads % 4 === 0) {
        s.pause();
        setTimeout(() => s.resume(), 2);
      }
    });
    s.once('end', () => resolve({ bytes, sha: h.digest('hex') }));
    s.once('error', reject);
  });
}

/** Writes `total` bytes of a pseudo-random stream, respecting backpressure; returns its hash. */
function writeStream(s: Socket, total: number): Promise<string> {
  const h = createHash('sha256');
  let sent = 0;
  return new Promise((resolve, reject) => {
    const pump = (): void => {
      while (sent < total) {
        const chunk = randomBytes(Math.min(total - sent, 1 + Math.floor(Math.random() * 100_000)));
        h.update(chunk);
        sent += chunk.length;
        if (!s.write(chunk)) return void s.once('drain', pump);
      }
      s.end();
      resolve(h.digest('hex'));
    };
    s.once('error', reject);
    pump();
  });
}

describe('the fast lane', () => {
  it('has the handle bindings it needs on this Node (else every listener silently takes the slower socket path)', () => {
    assert.equal(fastLane, true, 'src/forward/fast-lane.ts found no usable process.binding(tcp_wrap/stream_wrap) on this Node');
  });

  it('dials IPv6 backends (connect6) and reports a refused connect as an error, not a hang', async (t) => {
    const backend = createServer((s) => s.on('error', () => undefined));
    await new Promise<void>((resolve) => backend.listen(0, '::1', () => resolve()));
    const port = (backend.address() as { port: number }).port;
    const up = await dialLane('::1', port, 2_000, () => undefined);
    assert.ok(!(up instanceof Error), String(up));
    assert.equal(up.remoteAddress, '::1');
    assert.equal(up.remotePort, port);
    up.destroy();
    await new Promise<void>((r) => backend.close(() => r()));
    // Nothing listens there any more: ECONNREFUSED, well before the connect timeout.
    const t0 = Date.now();
    const refused = await dialLane('::1', port, 5_000, () => undefined);
    assert.ok(refused instanceof Error);
    assert.equal((refused as Error & { code?: string }).code, 'ECONNREFUSED');
    assert.ok(Date.now() - t0 < 4_000);
    t.diagnostic(`refused after ${Date.now() - t0} ms`);
  });
});

for (const lane of ['socket', 'fast'] as const)
  describe(`accept fast path and the reused read buffer (${lane} lane)`, () => {
    it('is installed on this Node and carries distinct streams both ways intact past slow readers', async (t) => {
      const TOTAL = 24 * 1024 * 1024;
      const backendResult = { sent: Promise.resolve(''), got: Promise.resolve({ bytes: 0, sha: '' }) };
      const backend = createServer({ allowHalfOpen: true }, (s) => {
        backendResult.got = slowRead(s);
        backendResult.sent = writeStream(s, TOTAL);
      });
      const backendPort = await listen(backend);
      t.after(() => new Promise<void>((r) => backend.close(() => r())));
      const relay = await relayServer(t, backendPort, lane);

      const c = connect({ host: '127.0.0.1', port: relay.port, allowHalfOpen: true });
      await new Promise<void>((r) => c.once('connect', () => r()));
      const [clientGot, clientSent] = await Promise.all([slowRead(c), writeStream(c, TOTAL)]);
      const [backendGot, backendSent] = await Promise.all([backendResult.got, backendResult.sent]);

      assert.equal(backendGot.bytes, TOTAL);
      assert.equal(backendGot.sha, clientSent, 'client -> backend stream corrupted');
      assert.equal(clientGot.bytes, TOTAL);
      assert.equal(clientGot.sha, backendSent, 'backend -> client stream corrupted');
      await new Promise((r) => setTimeout(r, 50));
      assert.deepEqual(relay.ends, ['done']);
      assert.equal(relay.dataEvents(), 0, "accepted sockets read through onread, not 'data' events");
    });

    it('two waves of 16 concurrent connections: pooled buffers of the first wave carry the second intact', async (t) => {
      const TOTAL = 2 * 1024 * 1024;
      const sides: { sent: Promise<string>; got: Promise<{ bytes: number; sha: string }> }[] = [];
      const backend = createServer({ allowHalfOpen: true }, (s) => {
        sides.push({ got: slowRead(s), sent: writeStream(s, TOTAL) });
      });
      const backendPort = await listen(backend);
      t.after(() => new Promise<void>((r) => backend.close(() => r())));
      const relay = await relayServer(t, backendPort, lane);
      for (let wave = 0; wave < 2; wave++) {
        sides.length = 0;
        const clients = await Promise.all(
          Array.from({ length: 16 }, async () => {
            const c = connect({ host: '127.0.0.1', port: relay.port, allowHalfOpen: true });
            await new Promise<void>((r) => c.once('connect', () => r()));
            const [got, sent] = await Promise.all([slowRead(c), writeStream(c, TOTAL)]);
            return { got, sent };
          }),
        );
        const backendSides = await Promise.all(sides.map(async (b) => ({ got: await b.got, sent: await b.sent })));
        // Pair each client with its backend connection by the hash of what the client sent.
        const byClientSent = new Map(backendSides.map((b) => [b.got.sha, b]));
        for (const c of clients) {
          const b = byClientSent.get(c.sent);
          assert.ok(b, `wave ${wave}: a client -> backend stream arrived corrupted`);
          assert.equal(c.got.sha, b.sent, `wave ${wave}: a backend -> client stream arrived corrupted`);
          assert.equal(c.got.bytes, TOTAL);
        }
        await new Promise((r) => setTimeout(r, 50));
      }
      assert.equal(relay.ends.length, 32);
      assert.ok(
        relay.ends.every((e) => e === 'done'),
        relay.ends.join(),
      );
    });

    it('returns false and leaves a server that is not listening alone', () => {
      const server = createServer();
      assert.equal(
        installAccept(server, () => undefined),
        false,
      );
    });
  });
