/**
 * The operators' HTTP listeners against idle-connection floods (fresh-eyes reviews of issue 16), on
 * a real `meridian serve` (rules: src/obs/http-guard.ts):
 * - /metrics: 20 idle sockets from one address used to hold all 16 slots, so a scrape from another
 *   address got nothing. Once their first second is over the flood's sockets give way, and a scrape
 *   from another loopback address is answered while the flood holds the rest;
 * - the admin API: 300 idle sockets from one address (or from ten) used to hold all 256 slots for
 *   the 30 s idle timeout. Now requests from another address and from the flooding one are answered;
 * - a burst of keep-alive connections from one host past its bound: none it has just used is
 *   closed, nor a new one whose request the server has not read yet (the 100 parallel writers of
 *   test/admin/concurrency.test.ts lost requests both ways under load);
 * - a request in flight is never displaced.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { freePort, startMeridian, type RunningServer } from '../helpers/dnsproc.js';
import { until } from '../helpers/role.js';
import { NEW_CONNECTION_GRACE_MS } from '../../src/obs/http-guard.js';

const pastGrace = (): Promise<void> => new Promise((r) => setTimeout(r, NEW_CONNECTION_GRACE_MS + 200));

const Z = 'gslb.example.com';
const ZONE = `$ORIGIN ${Z}.\n$TTL 300\n@ SOA ns1 host 1 7200 3600 1209600 300\n@ NS ns1\nns1 A 127.0.0.1\n`;
const REGION = { id: 'us-east', location: { lat: 39, lon: -77, continent: 'NA', country: 'US' }, addresses: { ipv4: ['192.0.2.10'] } };

/** `n` idle connections from `from`; `closed()` counts those the server has closed. */
async function flood(port: number, n: number, from = '127.0.0.1'): Promise<{ closed(): number; end(): void }> {
  const sockets: net.Socket[] = [];
  let closed = 0;
  for (let i = 0; i < n; i++) {
    const s = net.connect({ host: '127.0.0.1', port, localAddress: from });
    s.on('error', () => undefined);
    s.on('close', () => closed++);
    sockets.push(s);
    await new Promise<void>((r) => (s.once('connect', () => r()), s.once('close', () => r())));
  }
  return { closed: () => closed, end: () => sockets.forEach((s) => s.destroy()) };
}

function get(port: number, path: string, from: string, token?: string): Promise<number> {
  return new Promise((resolve) => {
    const req = http.get({ host: '127.0.0.1', port, path, localAddress: from, agent: false, timeout: 5000, headers: token ? { authorization: `Bearer ${token}` } : {} }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(0));
  });
}

/** An unauthenticated GET /v1/regions (a small 401) over a keep-alive agent; its status, 0 on error. */
function viaAgent(port: number, agent: http.Agent): Promise<number> {
  return new Promise((resolve) => {
    const req = http.get({ host: '127.0.0.1', port, path: '/v1/regions', agent, timeout: 5000 }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', () => resolve(0));
  });
}

describe('an idle-connection flood on /metrics', () => {
  let node: RunningServer;
  let apiPort: number;
  let metricsPort: number;
  before(async () => {
    apiPort = await freePort();
    metricsPort = await freePort();
    node = await startMeridian({
      zones: [{ origin: Z, text: ZONE }],
      extra: { regions: [REGION], services: [{ name: `www.${Z}`, regions: ['us-east'] }], admin: { listen: `127.0.0.1:${apiPort}` }, metrics: { listen: `127.0.0.1:${metricsPort}` } },
    });
  });
  after(() => node?.stop());

  test('20 idle sockets from one address cannot keep /metrics: a scrape from elsewhere is answered', async () => {
    // Within the grace of a new connection the flood may take the listener's 16 (a real burst
    // would too); the 4 past the cap are closed, and once the grace is over its sockets give way.
    const f = await flood(metricsPort, 20);
    try {
      await until(() => f.closed() >= 4, 20_000, 'the sockets past the cap of 16 closed');
      await pastGrace();
      assert.equal(await get(metricsPort, '/metrics', '127.0.0.3'), 200);
      assert.ok(f.closed() >= 5, `a flood socket gave way to the scrape (${f.closed()} closed)`);
    } finally {
      f.end();
    }
  });
});

describe('an idle-connection flood on the admin API', () => {
  let node: RunningServer;
  let apiPort: number;
  before(async () => {
    apiPort = await freePort();
    node = await startMeridian({
      zones: [{ origin: Z, text: ZONE }],
      extra: { regions: [REGION], services: [{ name: `www.${Z}`, regions: ['us-east'] }], admin: { listen: `127.0.0.1:${apiPort}` } },
    });
  });
  after(() => node?.stop());

  test('300 idle sockets from one address: other addresses and the flooder itself are answered', async () => {
    const f = await flood(apiPort, 300, '127.0.0.2');
    try {
      await until(() => f.closed() >= 44, 20_000, 'the sockets past the cap of 256 closed');
      await pastGrace();
      assert.equal(await get(apiPort, '/openapi.json', '127.0.0.3'), 200);
      assert.equal(await get(apiPort, '/openapi.json', '127.0.0.2'), 200, "a new connection displaces its own address's longest-idle one");
    } finally {
      f.end();
    }
  });

  test('idle sockets from ten addresses past the cap of 256: a new address is answered', async () => {
    const floods: Awaited<ReturnType<typeof flood>>[] = [];
    for (let i = 0; i < 10; i++) floods.push(await flood(apiPort, 30, `127.0.1.${i + 1}`));
    try {
      await until(() => floods.reduce((n, f) => n + f.closed(), 0) >= 44, 20_000, 'the sockets past 256 closed');
      await pastGrace();
      assert.equal(await get(apiPort, '/openapi.json', '127.0.0.4'), 200);
    } finally {
      floods.forEach((f) => f.end());
    }
  });

  test('a burst of keep-alive connections past the per-address bound: none just used is displaced (fetch would reuse it)', async () => {
    // 100 parallel writers from one host (test/admin/concurrency.test.ts) open more than 128
    // connections; displacing one the client had just used failed its next request ("fetch failed").
    const agent = new http.Agent({ keepAlive: true, maxSockets: Infinity, localAddress: '127.0.0.6' });
    let serverClosed = 0;
    const watched = new WeakSet<net.Socket>();
    agent.on('free', (s: net.Socket) => {
      if (watched.has(s)) return;
      watched.add(s);
      s.on('close', () => serverClosed++);
    });
    const request = (): Promise<number> => viaAgent(apiPort, agent);
    try {
      const first = await Promise.all(Array.from({ length: 128 }, request));
      // Unauthenticated (401): small answers, so the 128 finish close together even on a busy machine.
      assert.deepEqual(new Set(first), new Set([401]));
      assert.equal(Object.values(agent.freeSockets).flat().length, 128, '128 keep-alive connections, each just used');
      assert.equal(await get(apiPort, '/openapi.json', '127.0.0.6'), 200, 'a 129th from the same address is served');
      await new Promise((r) => setTimeout(r, 200));
      assert.equal(serverClosed, 0, 'no just-used keep-alive connection was closed by the server');
    } finally {
      agent.destroy();
    }
  });

  test('a connection whose request is on its way is not displaced by the next one (a busy server has not read it yet)', async () => {
    // 128 keep-alive connections from one host, then a new one that has not sent its request yet,
    // then one more: the newest-but-one used to be taken as idle (ECONNRESET for a request that
    // was already on its way, in the 100-writers test under load).
    const agent = new http.Agent({ keepAlive: true, maxSockets: Infinity, localAddress: '127.0.0.7' });
    const request = (): Promise<number> => viaAgent(apiPort, agent);
    let early: net.Socket | undefined;
    let reply = '';
    let reset = false;
    try {
      assert.deepEqual(new Set(await Promise.all(Array.from({ length: 127 }, request))), new Set([401]));
      early = net.connect({ host: '127.0.0.1', port: apiPort, localAddress: '127.0.0.7' });
      early.on('data', (d: Buffer) => (reply += d.toString()));
      early.on('error', () => (reset = true));
      early.on('close', () => (reset = true));
      await new Promise<void>((r) => early!.once('connect', () => r()));
      assert.equal(await get(apiPort, '/openapi.json', '127.0.0.7'), 200, 'a 129th from the same address is served');
      await new Promise((r) => setTimeout(r, 100));
      assert.equal(reset, false, 'the connection that had not sent its request yet is still open');
      early.write('GET /openapi.json HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
      await until(() => reply.includes('\r\n\r\n') || reset, 10_000, 'the late request answered');
      assert.match(reply, /^HTTP\/1\.1 200 /);
    } finally {
      early?.destroy();
      agent.destroy();
    }
  });

  test('a request in flight is never displaced: its connection outlives an idle flood from its own address', async () => {
    // A PUT whose body is still on its way: the request has started, so its connection is not idle.
    const secret = readFileSync(join(node.dir, 'data', 'admin-token'), 'utf8').trim();
    const body = JSON.stringify({ weight: 7 });
    const slow = net.connect({ host: '127.0.0.1', port: apiPort, localAddress: '127.0.0.5' });
    let reply = '';
    slow.on('data', (d: Buffer) => (reply += d.toString()));
    await new Promise<void>((r) => slow.once('connect', () => r()));
    slow.write(
      `PUT /v1/regions/us-east/weight?dryRun=true HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${secret}\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body.slice(0, 3)}`,
    );
    await new Promise((r) => setTimeout(r, 200));
    const f = await flood(apiPort, 200, '127.0.0.5');
    await pastGrace();
    // 100 more from its address, past the grace of the first 200: each displaces an older idle one
    // of that address (never the PUT).
    const g = await flood(apiPort, 100, '127.0.0.5');
    try {
      await until(() => f.closed() >= 100, 20_000, 'older idle sockets of the address gave way');
      slow.write(body.slice(3));
      await until(() => reply.includes('\r\n\r\n'), 10_000, 'the PUT answered');
      assert.match(reply, /^HTTP\/1\.1 200 /);
      assert.match(reply, /"dryRun":true/);
    } finally {
      slow.destroy();
      f.end();
      g.end();
    }
  });
});
