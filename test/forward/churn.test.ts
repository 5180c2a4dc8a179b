/**
 * Churn on both lanes: hundreds of connections with mixed endings (echo and close, client FIN first,
 * backend FIN first, client reset, backend reset, a client gone before its backend answered, a dead
 * backend in the pool), then every count must be back at zero: open connections, per-backend
 * active counts, buffered bytes, read buffers held, and the buffer pool within its bound. A leak in
 * any ending path of the relay or the setup shows here. Real sockets on loopback; bounded in count.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { before, describe, it, type TestContext } from 'node:test';
import { pooledReadBufferBytes } from '../../src/forward/relay.js';
import { client, freePort, makeConfig, start, startBackend, until, webListener } from './helpers.js';

/** What a connection does; the backend reads the same letter as the first byte. */
const KINDS = ['echo', 'client-fin-first', 'backend-fin-first', 'client-reset', 'backend-reset', 'gone-at-once'] as const;
type Kind = (typeof KINDS)[number];

let fastLane = true;

/**
 * Backend: 'e' echo (half-close passed on), 'f' answers "bye" and closes first, 'r' echoes once then
 * resets; nothing received, then a FIN: closes.
 */
async function scriptedBackend(t: TestContext) {
  const b = await startBackend((s) => {
    // A client that left before sending anything: the backend closes too (a FIN answers a FIN).
    s.once('end', () => {
      if (!s.writableEnded) s.end();
    });
    s.once('data', (first: Buffer) => {
      const kind = String.fromCharCode(first[0]!);
      if (kind === 'f') return void s.end('bye');
      s.write(first);
      if (kind === 'r') return void setImmediate(() => s.resetAndDestroy());
      s.pipe(s);
    });
  });
  t.after(() => b.close());
  return b;
}

/** One connection of `kind`; resolves when the client side is closed, with what it checked. */
async function connection(port: number, kind: Kind): Promise<void> {
  const c = await client(port, { allowHalfOpen: true });
  switch (kind) {
    case 'echo': {
      const payload = Buffer.concat([Buffer.from('e'), randomBytes(1 + Math.floor(Math.random() * 100_000))]);
      c.socket.write(payload);
      const got = await c.waitFor(payload.length);
      assert.ok(got.equals(payload), 'echo intact');
      c.socket.end();
      assert.deepEqual(await c.closed, { gotEnd: true, error: null });
      return;
    }
    case 'client-fin-first': {
      const payload = Buffer.concat([Buffer.from('e'), randomBytes(20_000)]);
      c.socket.end(payload);
      await c.closed;
      assert.ok(c.data().equals(payload), 'the echo of a half-closed client arrives whole');
      return;
    }
    case 'backend-fin-first': {
      c.socket.write('f');
      await c.waitFor(3);
      await until(() => c.socket.readableEnded, 5_000, "the backend's FIN");
      c.socket.end();
      assert.deepEqual(await c.closed, { gotEnd: true, error: null });
      assert.equal(c.data().toString(), 'bye');
      return;
    }
    case 'client-reset':
      c.socket.write(Buffer.concat([Buffer.from('e'), randomBytes(50_000)]));
      c.socket.resetAndDestroy();
      await c.closed;
      return;
    case 'backend-reset':
      c.socket.write('r');
      // The forwarder sees the reset as an error (and closes us), or, when the RST overtakes unread
      // data, as a FIN after the data (the kernel reports EOF then), which it passes on: a half-open
      // client then ends its side, as any client does after the server's FIN.
      await until(() => c.socket.readableEnded || c.socket.destroyed, 5_000, 'the backend reset reaching the client');
      if (!c.socket.destroyed) c.socket.end();
      await c.closed;
      return;
    case 'gone-at-once':
      c.socket.destroy();
      await c.closed;
      return;
  }
}

/** Fails with the connection's kind instead of hanging the suite. */
function bounded(p: Promise<void>, kind: Kind): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`a ${kind} connection did not finish within 10 s`)), 10_000);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

for (const lane of ['fast', 'socket'] as const) {
  describe(`churn (${lane} lane)`, { timeout: 60_000 }, () => {
    before(() => {
      fastLane = lane === 'fast';
    });

    it('600 connections with mixed endings leave no connection, count or buffer behind', async (t) => {
      const backend = await scriptedBackend(t);
      const dead = await freePort();
      const { config, cleanup } = makeConfig([{ id: 'eu', backends: [dead, backend.port] }], {
        listeners: [webListener({ balance: 'round-robin' })],
        fastLane,
        // A short ejection, so the dead backend is tried (and fails over) again during the run.
        outlier: { baseEjectionMs: 50, maxEjectionMs: 100 },
      });
      const fwd = await start(config, 'eu');
      t.after(async () => {
        await fwd.close();
        cleanup();
      });
      assert.equal(fwd.lane('web'), lane);
      const port = fwd.address('web')!.port;
      const WAVES = 12;
      const PER_WAVE = 50;
      for (let w = 0; w < WAVES; w++) {
        await Promise.all(Array.from({ length: PER_WAVE }, (_, i) => bounded(connection(port, KINDS[(w * PER_WAVE + i) % KINDS.length]!), KINDS[(w * PER_WAVE + i) % KINDS.length]!)));
        if (w === WAVES / 2) await new Promise((r) => setTimeout(r, 120)); // let the ejection lapse once
      }
      await until(() => fwd.stats.active === 0, 10_000, 'every connection closed');
      const stats = fwd.stats;
      assert.equal(stats.listeners.web!.accepted, WAVES * PER_WAVE);
      assert.ok(stats.backends['eu/b0']!.connectFailures >= 1, 'the dead backend was tried');
      for (const [key, b] of Object.entries(stats.backends)) assert.equal(b.active, 0, `${key} still counts open connections`);
      assert.equal(fwd.state.conns.size, 0);
      assert.equal(fwd.state.bufferedBytes(), 0);
      assert.equal(fwd.state.readBufferBytes(), 0);
      assert.ok(pooledReadBufferBytes() <= 256 * 65_536, `pool holds ${pooledReadBufferBytes()} bytes`);
      t.diagnostic(`connect failures ${stats.backends['eu/b0']!.connectFailures}, served by b1 ${stats.backends['eu/b1']!.connections}`);
    });
  });
}
