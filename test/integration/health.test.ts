/**
 * The health plane end to end, with a real redis-server and three DNS nodes answering over UDP:
 * propagation of a probe's flip into every node's answers (latency printed), static stability when
 * Redis is killed and resync when it returns, quorum with a partitioned vantage, and metrics.
 */
import assert from 'node:assert/strict';
import net from 'node:net';
import { pino } from 'pino';
import { startDnsNode, type DnsNode } from '../../src/serve.js';
import { after, before, describe, test } from 'node:test';
import { RedisBus } from '../../src/health/redis-bus.js';
import type { EndpointObservation, VantageView } from '../../src/health/types.js';
import { Vantage } from '../../src/probe/vantage.js';
import { cli, type CliRun } from '../helpers/cli.js';
import { decode, query, udpExchange } from '../helpers/client.js';
import { redisSkipReason, startRedis, type TestRedis } from '../helpers/redis.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import type { ProbeTarget } from '../../src/probe/types.js';

const Z = 'gslb.example.com';
const EU = '198.51.100.10';
const US = '192.0.2.10';

async function backend(): Promise<{ port: number; server: net.Server; close(): Promise<void> }> {
  const server = net.createServer((s) => s.end());
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as net.AddressInfo).port,
    server,
    close: () => new Promise((r) => server.close(() => r())),
  };
}

function routing(redisUrl: string | null, euPort: number, usPort: number, extraHealth: Record<string, unknown> = {}) {
  const check = { type: 'tcp', intervalMs: 100, timeoutMs: 80, rise: 1, fall: 1 };
  return {
    health: { redisUrl, resyncIntervalMs: 500, heartbeatTtlMs: 3000, ...extraHealth },
    regions: [
      { id: 'eu-west', location: { lat: 53.3, lon: -6.2, continent: 'EU', country: 'IE' }, addresses: { ipv4: [EU] }, endpoints: [{ id: 'web-1', address: '127.0.0.1', port: euPort, check }] },
      { id: 'us-east', location: { lat: 39, lon: -77, continent: 'NA', country: 'US' }, addresses: { ipv4: [US] }, endpoints: [{ id: 'web-1', address: '127.0.0.1', port: usPort, check }] },
    ],
    services: [{ name: `www.${Z}`, regions: ['eu-west', 'us-east'], policy: { failover: ['eu-west', 'us-east'] } }],
  };
}

const ZONE = `$ORIGIN ${Z}.\n$TTL 300\n@ SOA ns1 host 1 7200 3600 1209600 300\n@ NS ns1\nns1 A 127.0.0.1\n`;

async function answer(srv: TestServer): Promise<string | undefined> {
  const raw = await udpExchange(srv.port, query(`www.${Z}`, 'A'), { timeoutMs: 500 });
  return raw ? (decode(raw).answers[0]?.data as string | undefined) : undefined;
}

async function waitFor(pred: () => Promise<boolean> | boolean, timeoutMs: number, stepMs = 20): Promise<boolean> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (await pred()) return true;
    await new Promise((r) => setTimeout(r, stepMs));
  }
  return false;
}

const obs = (status: 'up' | 'down'): EndpointObservation => ({ status, since: Date.now(), checkedAt: Date.now(), rttMs: 1, error: status === 'down' ? 'ECONNREFUSED' : null });
const view = (vantage: string, eu: 'up' | 'down', us: 'up' | 'down' = 'up'): VantageView => ({
  vantage,
  region: 'eu-west',
  heartbeatAt: Date.now(),
  endpoints: new Map([
    ['eu-west/web-1', obs(eu)],
    ['us-east/web-1', obs(us)],
  ]),
});

const skip = redisSkipReason();

describe('cluster mode: three DNS nodes subscribed to Redis', { skip }, () => {
  let redis: TestRedis;
  const nodes: TestServer[] = [];
  let writer: RedisBus;
  let eu: Awaited<ReturnType<typeof backend>>;
  let us: Awaited<ReturnType<typeof backend>>;

  before(async () => {
    redis = await startRedis();
    eu = await backend();
    us = await backend();
    for (let i = 0; i < 3; i++) nodes.push(await startTestServer({ zoneText: ZONE, extra: { ...routing(redis.url, eu.port, us.port), metrics: { listen: '127.0.0.1:0' } } }));
    writer = new RedisBus({ url: redis.url });
    await writer.whenConnected();
    // A heartbeat TTL that outlasts the 40 flips below even on a starved CI box (3 s did not).
    await writer.writeView(view('manual', 'up'), 60_000);
    for (const n of nodes) assert.ok(await waitFor(async () => (await answer(n)) === EU, 3000), 'initial state');
  });
  after(async () => {
    await writer?.close();
    for (const n of nodes) await n.stop();
    await eu?.close();
    await us?.close();
    await redis?.stop();
  });

  test('a flip published by a vantage reaches the answers of every node (latency printed, not asserted)', async () => {
    const samples: number[] = [];
    for (let i = 0; i < 40; i++) {
      const down = i % 2 === 0;
      const want = down ? US : EU;
      const t0 = performance.now();
      await writer.publishChange('manual', 'eu-west/web-1', obs(down ? 'down' : 'up'));
      await Promise.all(
        nodes.map(async (n) => {
          assert.ok(await waitFor(async () => (await answer(n)) === want, 2000, 1), `flip ${i} never reached a node`);
          samples.push(performance.now() - t0);
        }),
      );
    }
    samples.sort((a, b) => a - b);
    const p50 = samples[Math.floor(samples.length * 0.5)]!;
    const p99 = samples[Math.min(samples.length - 1, Math.ceil(samples.length * 0.99) - 1)]!;
    // The figure is reported, not asserted: a timed assertion fails on a loaded CI box and proves
    // nothing a benchmark does not; every flip reaching every node is what this test holds to.
    console.log(`# propagation over ${samples.length} node-answers: p50 ${p50.toFixed(1)} ms, p99 ${p99.toFixed(1)} ms`);
    assert.equal(samples.length, 40 * nodes.length);
  });

  test('Redis killed: answers unchanged, snapshot age grows; restarted: state resyncs', async () => {
    await writer.writeView(view('manual', 'down'), 30_000);
    for (const n of nodes) assert.ok(await waitFor(async () => (await answer(n)) === US, 2000));
    await redis.kill();
    const ageBefore = nodes[0]!.node.health.source.snapshotAgeSeconds();
    await new Promise((r) => setTimeout(r, 2500));
    for (const n of nodes) {
      assert.equal(await answer(n), US, 'the last snapshot keeps answering');
      assert.equal(n.node.health.bus.connected, false);
    }
    const age = nodes[0]!.node.health.source.snapshotAgeSeconds();
    assert.ok(age >= ageBefore + 2, `snapshot age ${age} s`);
    const metrics = await (await fetch(`http://127.0.0.1:${nodes[0]!.node.metricsPort}/metrics`)).text();
    assert.match(metrics, /^meridian_health_redis_connected 0$/m);
    const exported = Number(/^meridian_health_snapshot_age_seconds (\S+)$/m.exec(metrics)?.[1]);
    assert.ok(exported >= 2, `exported age ${exported}`);

    await redis.restart();
    await writer.whenConnected(10_000);
    // The probe's next heartbeat rewrites its whole view into the empty Redis, now with eu-west up.
    await writer.writeView(view('manual', 'up'), 3000);
    for (const n of nodes) {
      assert.ok(await waitFor(async () => n.node.health.bus.connected && (await answer(n)) === EU, 5000), 'resynced after restart');
    }
  });
});

describe('quorum: three real vantages, one partitioned', { skip }, () => {
  test('the partitioned vantage cannot mark anything down; a real outage still fails over', async () => {
    const redis = await startRedis();
    const eu = await backend();
    const us = await backend();
    const srv = await startTestServer({ zoneText: ZONE, extra: routing(redis.url, eu.port, us.port) });
    const loaded = srv.node.config;
    const targets: ProbeTarget[] = loaded.routing.endpoints;
    const buses = [0, 1, 2].map(() => new RedisBus({ url: redis.url }));
    const vantages = buses.map(
      (bus, i) =>
        new Vantage({
          vantage: `v${i}`,
          region: 'eu-west',
          bus,
          targets,
          heartbeatTtlMs: 3000,
          // v2 is cut off: every check it makes fails.
          ...(i === 2 ? { runCheck: async () => ({ ok: false, rttMs: 80, error: 'timeout' }) } : {}),
        }),
    );
    try {
      for (const b of buses) await b.whenConnected();
      for (const v of vantages) await v.start();
      assert.ok(await waitFor(() => srv.node.health.source.current.liveVantages === 3, 3000), 'three live vantages');
      assert.ok(await waitFor(() => (srv.node.health.source.current.endpoint('eu-west/web-1')?.down ?? 0) === 1, 3000), 'v2 votes down');
      await new Promise((r) => setTimeout(r, 600));
      const v = srv.node.health.source.current.endpoint('eu-west/web-1')!;
      assert.deepEqual([v.status, v.up, v.down, v.live], ['up', 2, 1, 3]);
      assert.equal(srv.node.health.source.current.region('eu-west'), 'up');
      assert.equal(await answer(srv), EU);
      await eu.close();
      assert.ok(await waitFor(async () => (await answer(srv)) === US, 3000), 'real outage: failover');
      assert.equal(srv.node.health.source.current.endpoint('eu-west/web-1')?.status, 'down');
    } finally {
      for (const v of vantages) await v.stop();
      for (const b of buses) await b.close();
      await srv.stop();
      await us.close();
      await redis.stop();
    }
  });
});

describe('embedded mode: in-process probes, no Redis', () => {
  test('a backend going away flips the answer, and coming back flips it back', async () => {
    const eu = await backend();
    const us = await backend();
    const srv = await startTestServer({ zoneText: ZONE, extra: { ...routing(null, eu.port, us.port), metrics: { listen: '127.0.0.1:0' } } });
    try {
      assert.equal(srv.node.health.mode, 'embedded');
      // Cold start answers EU before any check; wait until the probe itself has seen it up.
      assert.ok(await waitFor(() => srv.node.health.source.current.endpoint('eu-west/web-1')?.source === 'probes', 3000));
      assert.equal(await answer(srv), EU);
      await eu.close();
      assert.ok(await waitFor(async () => (await answer(srv)) === US, 3000), 'failover after the probe saw it');
      const again = net.createServer((s) => s.end());
      await new Promise<void>((r) => again.listen(eu.port, '127.0.0.1', r));
      assert.ok(await waitFor(async () => (await answer(srv)) === EU, 3000), 'back after recovery');
      const metrics = await (await fetch(`http://127.0.0.1:${srv.node.metricsPort}/metrics`)).text();
      assert.match(metrics, /^meridian_health_endpoint_up\{region="eu-west",endpoint="web-1"\} 1$/m);
      assert.match(metrics, /^meridian_health_live_vantages 1$/m);
      assert.match(metrics, /^meridian_probe_flips_total\{region="eu-west",endpoint="web-1"\} [2-9]$/m);
      assert.match(metrics, /^meridian_probe_check_duration_seconds_count\{region="us-east",endpoint="web-1",result="ok"\} [1-9]\d*$/m);
      again.close();
    } finally {
      await srv.stop();
      await us.close();
    }
  });
});

describe('overrides', () => {
  test('embedded: `meridian override` writes the file, the running node obeys it, it outranks the probes and survives a restart', async () => {
    const eu = await backend();
    const us = await backend();
    const extra = routing(null, eu.port, us.port);
    const srv = await startTestServer({ zoneText: ZONE, extra });
    let restarted: DnsNode | null = null;
    const override = (...args: string[]): Promise<CliRun> => cli(['override', ...args, '--config', `${srv.dir}/meridian.yaml`]);
    try {
      assert.ok(await waitFor(() => srv.node.health.source.current.endpoint('eu-west/web-1')?.source === 'probes', 3000));
      assert.equal(await answer(srv), EU);
      const set = await override('set', 'region/eu-west', 'drained', '--for', '1h', '--reason', 'maintenance');
      assert.equal(set.status, 0, set.stderr);
      assert.match(set.stdout, /region\/eu-west => drained until /);
      assert.ok(await waitFor(async () => (await answer(srv)) === US, 3000), 'the running node obeys the file');
      assert.equal(srv.node.health.source.current.region('eu-west'), 'drained', 'the override beats probes that see it up');
      const list = await override('list');
      assert.match(list.stdout, /region\/eu-west/);
      assert.match(list.stdout, /maintenance/);
      // Restart: a new node on the same config directory reads the stored override.
      await srv.node.close();
      restarted = await startDnsNode(`${srv.dir}/meridian.yaml`, pino({ level: 'silent' }));
      const viaRestarted = { ...srv, port: restarted.udp[0]!.boundPort };
      assert.ok(await waitFor(async () => (await answer(viaRestarted)) === US, 3000), 'override survives a restart');
      const clear = await override('clear', 'region/eu-west');
      assert.equal(clear.status, 0, clear.stderr);
      assert.ok(await waitFor(async () => (await answer({ ...srv, port: restarted!.udp[0]!.boundPort })) === EU, 3000), 'cleared: probes decide again');
      const bad = await override('set', 'region/mars', 'down', '--reason', 'test');
      // A scope the config lacks is not found (exit 1, no usage), as `region weight` of an unknown region.
      assert.equal(bad.status, 1, bad.stderr);
      assert.match(bad.stderr, /^override set: MERIDIAN_ERR_NOT_FOUND: region\/mars is not in the config/);
      assert.doesNotMatch(bad.stderr, /Usage:/);
    } finally {
      await restarted?.close();
      await srv.stop();
      await eu.close();
      await us.close();
    }
  });

  test('cluster: an override written through Redis reaches the nodes and outranks the probes', { skip }, async () => {
    const redis = await startRedis();
    const eu = await backend();
    const us = await backend();
    const srv = await startTestServer({ zoneText: ZONE, extra: routing(redis.url, eu.port, us.port) });
    const writer = new RedisBus({ url: redis.url });
    try {
      await writer.whenConnected();
      await writer.writeView(view('manual', 'up'), 3000);
      assert.ok(await waitFor(async () => (await answer(srv)) === EU, 3000));
      await writer.writeOverride({ scope: 'endpoint/eu-west/web-1', state: 'down', expiresAt: null, reason: 'test', author: 'test', createdAt: Date.now() });
      assert.ok(await waitFor(async () => (await answer(srv)) === US, 3000));
      assert.equal(srv.node.health.source.current.endpoint('eu-west/web-1')?.source, 'override');
      await writer.deleteOverride('endpoint/eu-west/web-1');
      assert.ok(await waitFor(async () => (await answer(srv)) === EU, 3000));
    } finally {
      await writer.close();
      await srv.stop();
      await eu.close();
      await us.close();
      await redis.stop();
    }
  });
});
