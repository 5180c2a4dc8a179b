/**
 * Forwarders embedded in `meridian serve` (`forward.embedded`, the one-process demo): started with
 * the DNS node on its health plane and metrics registry, relaying between each other, reporting
 * load to the DNS side through the in-memory bus, following a reload, and drained by close().
 * Plus the config checks of the key. Real sockets on loopback, the real loader and startDnsNode.
 */
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import pino from 'pino';
import { startDnsNode, type DnsNode } from '../../src/serve.js';
import { client, freePort, makeConfig, roundTrip, startBackend, until, webListener } from './helpers.js';
import { loadConfigFile } from '../../src/node/config.js';

async function node(t: TestContext, forward: Record<string, unknown>): Promise<{ node: DnsNode; usBackend: number; dir: string }> {
  const backend = await startBackend();
  const [euRelay, usRelay] = [await freePort(), await freePort()];
  // eu has no backend: its forwarder relays to us, the next region of the service's failover order.
  const { dir, cleanup } = makeConfig(
    [
      { id: 'eu', backends: [], relayPort: euRelay },
      { id: 'us', backends: [backend.port], relayPort: usRelay },
    ],
    { listeners: [webListener()], embedded: ['eu', 'us'], load: { reportIntervalMs: 100, reportTtlMs: 2_000 }, ...forward },
    { failover: ['eu', 'us'] },
    { metrics: { listen: null } },
  );
  const n = await startDnsNode(join(dir, 'meridian.yaml'), pino({ level: 'silent' }));
  t.after(async () => {
    await n.close();
    await backend.close();
    cleanup();
  });
  return { node: n, usBackend: backend.port, dir };
}

describe('forwarders embedded in serve', { timeout: 20_000 }, () => {
  it('runs one forwarder per listed region, relaying between them, on the shared registry and bus', async (t) => {
    const { node: n } = await node(t, {});
    assert.deepEqual(
      n.forwarders.map((f) => f.region),
      ['eu', 'us'],
    );
    const [eu, us] = n.forwarders as [(typeof n.forwarders)[0], (typeof n.forwarders)[0]];
    // Through eu's listener: no local backend, so one hop to us, whose backend echoes.
    const c = await client(eu.address('web')!.port);
    await roundTrip(c, 'via eu, served by us');
    assert.equal(eu.stats.relayOut.us?.ok, 1);
    assert.equal(us.stats.listeners.web?.relayedIn, 1);
    // Load reports reach the DNS node's health plane through the in-memory bus.
    let reported = false;
    const deadline = Date.now() + 5_000;
    while (!reported && Date.now() < deadline) {
      reported = (await n.health.bus.readLoads(['us'])).some((r) => r.active >= 1);
      if (!reported) await new Promise((r) => setTimeout(r, 50));
    }
    assert.ok(reported, 'a load report from us with the open connection reached the bus');
    const text = await n.metrics.metrics();
    assert.match(text, /^meridian_forward_relay_total\{region="eu",to="us",result="ok"\} 1$/m);
    assert.match(text, /^meridian_forward_connections_active\{region="us",listener="web"\} 1$/m);
    assert.match(text, /^meridian_dns_/m, 'one registry: DNS and forwarder series together');
    c.socket.end();
    assert.deepEqual(await c.closed, { gotEnd: true, error: null });
  });

  it('a reload reaches the forwarders: a backend weight of 0 takes effect for new connections', async (t) => {
    const { node: n, dir } = await node(t, {});
    const us = n.forwarders[1]!;
    const file = join(dir, 'meridian.yaml');
    const doc = JSON.parse(readFileSync(file, 'utf8')) as { regions: { id: string; forwarder: Record<string, unknown> }[] };
    doc.regions[1]!.forwarder.weights = { b0: 0 };
    writeFileSync(file, JSON.stringify(doc));
    assert.deepEqual(n.reload(), []);
    // us's only backend has weight 0 now, and it relays nowhere (relayed-in connections do not hop
    // again), so a connection to us's listener is refused cleanly instead of served.
    const c = await client(us.address('web')!.port);
    assert.deepEqual(await c.closed, { gotEnd: true, error: null });
    assert.equal(c.received(), 0);
    assert.equal(us.stats.listeners.web?.failed, 1);
  });

  it('close() drains the forwarders: open connections finish, then everything stops', async (t) => {
    const { node: n } = await node(t, { drainDeadlineMs: 5_000 });
    const us = n.forwarders[1]!;
    const c = await client(us.address('web')!.port);
    await roundTrip(c, 'before close');
    const closing = n.close();
    await until(() => us.draining, 2_000, 'the forwarder draining');
    // Still open and working while the drain waits for it.
    await roundTrip(c, 'during the drain');
    c.socket.end();
    assert.deepEqual(await c.closed, { gotEnd: true, error: null });
    await closing;
    assert.equal(us.lastDrain?.remaining, 0);
  });
});

describe('forward.embedded config checks', () => {
  const load = (embedded: unknown, regions: { id: string; listen?: string; relay?: string }[] = [{ id: 'eu' }, { id: 'us' }]) => {
    const { dir, cleanup } = makeConfig(
      regions.map((r) => ({ id: r.id, backends: [] })),
      { listeners: [webListener({ listen: '127.0.0.1:18080' })] },
    );
    try {
      const file = join(dir, 'meridian.yaml');
      const doc = JSON.parse(readFileSync(file, 'utf8')) as { regions: { forwarder: Record<string, unknown> }[]; forward: Record<string, unknown> };
      regions.forEach((r, i) => {
        if (r.listen) doc.regions[i]!.forwarder.listen = { web: r.listen };
        if (r.relay) doc.regions[i]!.forwarder.relay = r.relay;
      });
      doc.forward.embedded = embedded;
      writeFileSync(file, JSON.stringify(doc));
      const loaded = loadConfigFile(file);
      return loaded.ok ? [] : loaded.errors.map((e) => e.reason);
    } finally {
      cleanup();
    }
  };

  it('accepts regions with distinct addresses', () => {
    assert.deepEqual(
      load(
        ['eu', 'us'],
        [
          { id: 'eu', listen: '127.0.0.1:18081', relay: '127.0.0.1:18181' },
          { id: 'us', listen: '127.0.0.1:18082', relay: '127.0.0.1:18182' },
        ],
      ),
      [],
    );
  });

  it('rejects an unknown region, a region listed twice, and two regions on one address', () => {
    assert.match(load(['eu', 'mars']).join('\n'), /embedded: unknown region "mars"/);
    assert.match(load(['eu', 'eu'], [{ id: 'eu' }]).join('\n'), /embedded: region "eu" is listed twice/);
    // Both regions would bind the listener's own 127.0.0.1:18080.
    assert.match(load(['eu', 'us']).join('\n'), /embedded: us listener web and eu listener web both listen on 127\.0\.0\.1:18080/);
    // Two relays on one address: the blocks' rule, reported once, at the later region.
    const relays = load(
      ['eu', 'us'],
      [
        { id: 'eu', listen: '127.0.0.1:18081', relay: '127.0.0.1:18181' },
        { id: 'us', listen: '127.0.0.1:18082', relay: '127.0.0.1:18181' },
      ],
    );
    assert.equal(relays.length, 1, relays.join('\n'));
    assert.match(relays[0]!, /region us: forwarder\.relay: 127\.0\.0\.1:18181 is also where region eu's relay listener binds/);
  });
});
