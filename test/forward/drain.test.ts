/**
 * Drain over real sockets: open connections finish with no reset while new ones are refused; the
 * deadline closes what remains and reports it (also as a metric); a `drained` override drains the
 * region's forwarder and clearing it accepts again. On both lanes (fast-lane.ts and net.Socket).
 */
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { before, describe, it, type TestContext } from 'node:test';
import { Registry } from 'prom-client';
import { openHealthPlane } from '../../src/health/plane.js';
import { until as untilSwap } from '../../src/health/testkit.js';
import { client, makeConfig, roundTrip, start, startBackend, until, webListener, type Backend } from './helpers.js';

/** The lane the running suite tests (set by each suite's `before`). */
let fastLane = true;

async function setup(t: TestContext, forward: Record<string, unknown> = {}) {
  const backend: Backend = await startBackend();
  const { config, cleanup } = makeConfig([{ id: 'eu', backends: [backend.port] }], { listeners: [webListener()], fastLane, ...forward });
  const metrics = new Registry();
  const fwd = await start(config, 'eu', { metrics });
  t.after(async () => {
    await fwd.close();
    await backend.close();
    cleanup();
  });
  return { fwd, backend, metrics, port: fwd.address('web')!.port, config };
}

/** Resolves with the connect error code, or 'connected'. */
function tryConnect(port: number): Promise<string> {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1');
    s.once('connect', () => {
      s.destroy();
      resolve('connected');
    });
    s.once('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? e.message));
  });
}

async function metric(registry: Registry, name: string): Promise<number> {
  const text = await registry.metrics();
  const line = text.split('\n').find((l) => l.startsWith(`${name}{region="eu"} `));
  if (!line) throw new Error(`metric ${name} missing`);
  return Number(line.split(' ')[1]);
}

for (const lane of ['fast', 'socket'] as const)
  describe(`drain (${lane} lane)`, () => {
    before(() => {
      fastLane = lane === 'fast';
    });

    it('completes with 0 reset connections: open sessions finish, new connections are refused', async (t) => {
      const { fwd, port, metrics } = await setup(t);
      const clients = await Promise.all(Array.from({ length: 5 }, () => client(port)));
      for (const [i, c] of clients.entries()) await roundTrip(c, `hello ${i}`);
      const drained = fwd.drain(30_000);
      await until(() => fwd.draining);
      assert.equal(await tryConnect(port), 'ECONNREFUSED');
      assert.equal(await metric(metrics, 'meridian_forward_draining'), 1);
      assert.equal(await metric(metrics, 'meridian_forward_drain_remaining_connections'), 5);
      // The sessions go on during the drain, then end on their own.
      for (const [i, c] of clients.entries()) {
        await roundTrip(c, `still served ${i}`);
        c.socket.end();
      }
      const result = await drained;
      assert.equal(result.remaining, 0);
      for (const c of clients) assert.deepEqual(await c.closed, { gotEnd: true, error: null });
      assert.equal(await metric(metrics, 'meridian_forward_drain_remaining_connections'), 0);
      assert.equal(fwd.stats.active, 0);
    });

    it('the deadline closes what remains and reports how many', async (t) => {
      const { fwd, port, metrics } = await setup(t);
      const stays = await client(port);
      const leaves = await client(port);
      await roundTrip(stays, 'I will not leave');
      await roundTrip(leaves, 'I will');
      const drained = fwd.drain(300);
      leaves.socket.end();
      const result = await drained;
      assert.equal(result.remaining, 1);
      assert.equal((await stays.closed).error, null);
      assert.deepEqual(await leaves.closed, { gotEnd: true, error: null });
      assert.equal(await metric(metrics, 'meridian_forward_drain_remaining_connections'), 1);
    });

    it('a drained override drains the region; clearing it accepts connections again', async (t) => {
      const backend = await startBackend();
      const { config, cleanup } = makeConfig([{ id: 'eu', backends: [backend.port] }], { listeners: [webListener()], fastLane, drainDeadlineMs: 5_000 });
      const plane = openHealthPlane(config, { probes: false });
      const fwd = await start(config, 'eu', { health: plane.source, bus: plane.bus });
      t.after(async () => {
        await fwd.close();
        await plane.close();
        await backend.close();
        cleanup();
      });
      const port = fwd.address('web')!.port;
      const open = await client(port);
      await roundTrip(open, 'before the override');
      await plane.bus.writeOverride({ scope: 'region/eu', state: 'drained', expiresAt: null, reason: 'maintenance', author: 'test', createdAt: Date.now() });
      await untilSwap(plane.source, (h) => h.region('eu') === 'drained');
      await until(() => fwd.draining);
      assert.equal(await tryConnect(port), 'ECONNREFUSED');
      await roundTrip(open, 'the open one is still served');
      await plane.bus.deleteOverride('region/eu');
      await until(() => !fwd.draining, 5_000, 'drain lifted');
      await until(() => fwd.address('web') !== null);
      const again = await client(port);
      await roundTrip(again, 'accepted again, on the same port');
      await roundTrip(open, 'lifting the drain did not close the open one');
      assert.equal(fwd.lastDrain, null, 'the lifted drain never reached its deadline');
      open.socket.end();
      again.socket.end();
      await Promise.all([open.closed, again.closed]);
    });
  });
