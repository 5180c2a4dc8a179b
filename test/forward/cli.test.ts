/**
 * `meridian forward` as a process: it starts from a config file (embedded mode, no Redis), logs
 * its listeners, proxies, and on SIGTERM drains (the open connection finishes) and exits 0.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { LogLine } from '../helpers/role.js';
import { client, makeConfig, roundTrip, spawnForward, startBackend, webListener } from './helpers.js';

describe('meridian forward (process)', () => {
  it('serves, then drains on SIGTERM and exits 0', async (t) => {
    const backend = await startBackend();
    const { dir, cleanup } = makeConfig([{ id: 'eu', backends: [backend.port] }], { listeners: [webListener()], drainDeadlineMs: 10_000 });
    t.after(async () => {
      await backend.close();
      cleanup();
    });
    // spawnRole's waits are bounded and stop polling when they give up (a poll that went on after
    // its timeout kept this file's process alive after a failure).
    // "ready" is logged once SIGTERM drains (the forwarder's own line comes before).
    const { proc, port } = await spawnForward(dir);
    t.after(() => proc.stop());
    const seen = (msg: string): Promise<LogLine> => proc.line((l) => l.msg === msg, 60_000, `"${msg}"`);
    const c = await client(port);
    await roundTrip(c, 'through the forward process');
    proc.proc.kill('SIGTERM');
    await seen('draining: not accepting new connections');
    await roundTrip(c, 'still served while draining');
    c.socket.end();
    assert.deepEqual(await proc.exited, { code: 0, signal: null });
    const drained = proc.lines.find((l) => l.msg === 'drained: every connection finished');
    assert.ok(drained, JSON.stringify(proc.lines.map((l) => l.msg)));
    assert.equal(drained.remaining, 0);
    assert.deepEqual(await c.closed, { gotEnd: true, error: null });
  });
});
