/**
 * Regression (issue 16, defect 3): a backend that reset its connection mid-stream was passed on to
 * the client as a FIN, so a truncated stream looked complete. The forwarder now resets the client
 * (`resetAndDestroy()` on the socket lane, a libuv reset on the fast lane), and a client's reset
 * reaches the backend as one too.
 *
 * A real `meridian forward` process per lane; a backend sends a first part of its stream, then
 * resets; the client must see those bytes and then ECONNRESET, not a clean end.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { client, makeConfig, spawnForward, startBackend, webListener } from './helpers.js';

const PART = 'first part of a longer stream';

for (const fastLane of [true, false]) {
  describe(`meridian forward (${fastLane ? 'fast' : 'socket'} lane): resets`, () => {
    it('a backend reset mid-stream reaches the client as a reset, and a client reset reaches the backend', { timeout: 90_000 }, async (t) => {
      const backendErrors: string[] = [];
      // Sends PART when the client's first byte arrives; resets when the client says 'r'.
      const backend = await startBackend((s) => {
        s.on('error', (e: NodeJS.ErrnoException) => backendErrors.push(e.code ?? e.message));
        s.on('data', (d: Buffer) => {
          if (d.includes('r')) s.resetAndDestroy();
          else s.write(PART);
        });
      });
      const { dir, cleanup } = makeConfig([{ id: 'eu', backends: [backend.port] }], { listeners: [webListener()], fastLane });
      t.after(async () => {
        await backend.close();
        cleanup();
      });
      const { proc, port } = await spawnForward(dir);
      t.after(() => proc.stop());

      const c = await client(port);
      c.socket.write('go');
      await c.waitFor(PART.length);
      c.socket.write('r');
      const ended = await c.closed;
      assert.equal(c.data().toString(), PART, 'the bytes before the reset arrive');
      assert.deepEqual(ended, { gotEnd: false, error: 'ECONNRESET' }, 'a reset, not a clean end');

      // The other way: the client resets, the backend sees a reset.
      const before = backendErrors.length;
      const d = await client(port);
      d.socket.write('go');
      await d.waitFor(PART.length);
      const sockets = backend.sockets.length;
      d.socket.resetAndDestroy();
      await d.closed;
      const deadline = Date.now() + 10_000;
      while (!backend.sockets[sockets - 1]!.destroyed) {
        assert.ok(Date.now() < deadline, 'the backend connection closes');
        await new Promise((r) => setTimeout(r, 20));
      }
      assert.deepEqual(backendErrors.slice(before), ['ECONNRESET'], 'the backend sees a reset');
    });
  });
}
