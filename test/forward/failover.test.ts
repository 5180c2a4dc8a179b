/**
 * Cross-region failover over real sockets, two or three forwarders in this process: when no local
 * backend is usable the connection is relayed to the next region in the service's DNS order for
 * the client, with its address preserved; at most one hop; a relay port accepts nothing but a
 * Meridian PROXY v2 header.
 */
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { describe, it, type TestContext } from 'node:test';
import { Registry } from 'prom-client';
import type { Forwarder } from '../../src/forward/forwarder.js';
import { encodeV2, meridianTlv } from '../../src/forward/proxy-protocol.js';
import { StaticHealth } from '../../src/health/snapshot.js';
import { client, freePort, makeConfig, roundTrip, start, startBackend, staticHealth, until, webListener, type Backend, type RegionSpec } from './helpers.js';

interface Fleet {
  fwd: Record<string, Forwarder>;
  /** One registry shared by every forwarder of the fleet, as when they are embedded in one process. */
  metrics: Registry;
  backends: Record<string, Backend>;
  health: { current: StaticHealth };
}

/**
 * Regions with one live backend each, except those listed in `dead` (their backend port has
 * nothing behind it). Every region has a relay port. One forwarder per region, sharing `health`.
 */
async function fleet(t: TestContext, ids: string[], dead: string[], policy?: Record<string, unknown>, listener: Record<string, unknown> = {}): Promise<Fleet> {
  const backends: Record<string, Backend> = {};
  const specs: RegionSpec[] = [];
  for (const id of ids) {
    if (dead.includes(id)) specs.push({ id, backends: [await freePort()], relayPort: await freePort() });
    else {
      backends[id] = await startBackend();
      specs.push({ id, backends: [backends[id]!.port], relayPort: await freePort() });
    }
  }
  const { config, cleanup } = makeConfig(specs, { listeners: [webListener(listener)] }, policy);
  const health = staticHealth();
  const fwd: Record<string, Forwarder> = {};
  const metrics = new Registry();
  for (const id of ids) fwd[id] = await start(config, id, { health, metrics });
  t.after(async () => {
    for (const f of Object.values(fwd)) await f.close();
    for (const b of Object.values(backends)) await b.close();
    cleanup();
  });
  return { fwd, backends, health, metrics };
}

describe('cross-region failover', () => {
  it('all local backends dead: the connection is relayed to the next region and works both ways', async (t) => {
    const { fwd, backends, metrics } = await fleet(t, ['eu', 'us'], ['eu'], undefined, { proxyProtocol: 'none' });
    const c = await client(fwd.eu!.address('web')!.port);
    await roundTrip(c, 'served from us, entered in eu');
    c.socket.end();
    assert.deepEqual(await c.closed, { gotEnd: true, error: null });
    assert.equal(backends.us!.sockets.length, 1);
    assert.deepEqual(fwd.eu!.stats.relayOut, { us: { ok: 1, failed: 0 } });
    assert.equal(fwd.eu!.stats.listeners.web!.relayedOut, 1);
    assert.equal(fwd.us!.stats.listeners.web!.relayedIn, 1);
    const text = await metrics.metrics();
    assert.match(text, /^meridian_forward_relay_total\{region="eu",to="us",result="ok"\} 1$/m);
    assert.match(text, /^meridian_forward_connections_total\{region="us",listener="web",outcome="relayed_in"\} 1$/m);
    assert.match(text, /^meridian_forward_backend_connect_failures_total\{region="eu",endpoint="b0"\} 1$/m);
  });

  it('the receiving region sees the original client address (PROXY v1 toward its backend)', async (t) => {
    const { fwd, backends } = await fleet(t, ['eu', 'us'], ['eu'], undefined, { proxyProtocol: 'v1' });
    const port = fwd.eu!.address('web')!.port;
    const c = await client(port);
    c.socket.write('hi');
    await until(() => (backends.us!.received[0]?.length ?? 0) >= 2 && backends.us!.received[0]!.toString().endsWith('hi'));
    // The source is the client's own port, and the destination is the eu listener it dialled.
    assert.equal(backends.us!.received[0]!.toString(), `PROXY TCP4 127.0.0.1 127.0.0.1 ${c.socket.localPort} ${port}\r\nhi`);
    c.socket.destroy();
  });

  it('the hop follows the DNS order for the client now: second choice, then the third when it goes down', async (t) => {
    const { fwd, backends, health } = await fleet(t, ['eu', 'us', 'ap'], ['eu'], { failover: ['eu', 'ap', 'us'] });
    const port = fwd.eu!.address('web')!.port;
    const c1 = await client(port);
    await roundTrip(c1, 'to ap');
    assert.equal(backends.ap!.sockets.length, 1);
    assert.equal(backends.us!.sockets.length, 0);
    // DNS now sees ap down: its answer for this client is us, and so is the hop.
    health.current = new StaticHealth([{ id: 'ap', state: 'down' }]);
    const c2 = await client(port);
    await roundTrip(c2, 'to us');
    assert.equal(backends.us!.sockets.length, 1);
    assert.equal(backends.ap!.sockets.length, 1);
    c1.socket.end();
    c2.socket.end();
    await Promise.all([c1.closed, c2.closed]);
  });

  it('a region that cannot serve a relayed connection makes the sender try the next one', async (t) => {
    // ap is first in line but has no live backend either: no ACK from it, so eu moves on to us.
    const { fwd, backends } = await fleet(t, ['eu', 'ap', 'us'], ['eu', 'ap'], { failover: ['eu', 'ap', 'us'] });
    const c = await client(fwd.eu!.address('web')!.port);
    await roundTrip(c, 'third time lucky');
    assert.equal(backends.us!.sockets.length, 1);
    assert.deepEqual(fwd.eu!.stats.relayOut, { ap: { ok: 0, failed: 1 }, us: { ok: 1, failed: 0 } });
    // ap received the relayed connection but never relayed it on (at most one hop).
    assert.equal(fwd.ap!.stats.listeners.web!.relayedIn, 1);
    assert.deepEqual(fwd.ap!.stats.relayOut, {});
    c.socket.end();
    await c.closed;
  });

  it('every region dead: the client is closed (no hang, no loop), and nothing is relayed twice', async (t) => {
    const { fwd } = await fleet(t, ['eu', 'us'], ['eu', 'us']);
    const c = await client(fwd.eu!.address('web')!.port);
    c.socket.write('anyone?');
    const how = await c.closed;
    assert.equal(c.data().length, 0);
    assert.deepEqual(how, { gotEnd: true, error: null }, 'closed with a FIN, not a reset');
    await until(() => fwd.eu!.stats.listeners.web!.failed === 1 && fwd.us!.stats.listeners.web!.failed === 1);
    assert.deepEqual(fwd.eu!.stats.relayOut, { us: { ok: 0, failed: 1 } });
    assert.deepEqual(fwd.us!.stats.relayOut, {}, 'us did not relay the relayed connection back');
    assert.equal(fwd.eu!.stats.listeners.web!.relayedIn, 0);
  });

  it('the relay port closes anything that is not a Meridian relay header', async (t) => {
    const { fwd } = await fleet(t, ['eu', 'us'], []);
    const relay = fwd.us!.relayPort!;
    const attempts: Buffer[] = [
      Buffer.from('GET / HTTP/1.1\r\n\r\n'),
      encodeV2({ sourceAddress: '192.0.2.1', sourcePort: 1, destAddress: '192.0.2.2', destPort: 2 }), // no TLV
      encodeV2({ sourceAddress: '192.0.2.1', sourcePort: 1, destAddress: '192.0.2.2', destPort: 2 }, [meridianTlv('web', 2)]), // a second hop
      encodeV2({ sourceAddress: '192.0.2.1', sourcePort: 1, destAddress: '192.0.2.2', destPort: 2 }, [meridianTlv('nope')]), // unknown listener
    ];
    for (const bytes of attempts) {
      const s = connect(relay, '127.0.0.1');
      s.on('error', () => undefined);
      s.write(bytes);
      let got = 0;
      s.on('data', (d: Buffer) => (got += d.length));
      await new Promise((r) => s.once('close', r));
      assert.equal(got, 0, 'no ACK, no data');
    }
    assert.equal(fwd.us!.stats.relayInRejected, attempts.length);
    assert.equal(fwd.us!.stats.listeners.web!.accepted, 0);
  });
});
