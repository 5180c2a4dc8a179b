/**
 * /metrics against an idle-connection flood (fresh-eyes review of issue 16): 20 idle sockets from
 * one address used to hold all 16 slots, so a scrape from another address got nothing. A real
 * `meridian serve`: one address now keeps at most 8, the rest are closed at once, and a scrape
 * from another loopback address is answered while the flood holds its sockets.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import { after, before, describe, test } from 'node:test';
import { freePort, startMeridian, type RunningServer } from '../helpers/dnsproc.js';
import { until } from '../helpers/role.js';

const Z = 'gslb.example.com';
const ZONE = `$ORIGIN ${Z}.\n$TTL 300\n@ SOA ns1 host 1 7200 3600 1209600 300\n@ NS ns1\nns1 A 127.0.0.1\n`;
const REGION = { id: 'us-east', location: { lat: 39, lon: -77, continent: 'NA', country: 'US' }, addresses: { ipv4: ['192.0.2.10'] } };

/** `n` idle connections from 127.0.0.1; `closed()` counts those the server has closed. */
async function flood(port: number, n: number): Promise<{ closed(): number; end(): void }> {
  const sockets: net.Socket[] = [];
  let closed = 0;
  for (let i = 0; i < n; i++) {
    const s = net.connect({ host: '127.0.0.1', port, localAddress: '127.0.0.1' });
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

  test('20 idle sockets from one address keep 8 of /metrics; a scrape from elsewhere is answered', async () => {
    const f = await flood(metricsPort, 20);
    try {
      await until(() => f.closed() >= 12, 20_000, 'the sockets past 8 closed');
      assert.equal(f.closed(), 12);
      assert.equal(await get(metricsPort, '/metrics', '127.0.0.3'), 200);
    } finally {
      f.end();
    }
  });
});
