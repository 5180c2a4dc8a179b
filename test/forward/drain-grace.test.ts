/**
 * Regression (found by the e2e drain drill, test/e2e): a drain through the admin API ends with the
 * region no longer handed out, but a resolver that got the region's last answer (with the drain
 * TTL) just before may send its client for that TTL more. The region's forwarder used to stop
 * accepting the moment the region was drained, so such a client was refused or reset. It now keeps
 * accepting for the drain TTL plus the drain's one-second propagation margin, then drains.
 *
 * A real `meridian serve` with an admin API and its region's forwarder embedded (`forward.embedded`)
 * and a backend that names itself; the drain's TTL is long enough (4 s) that "right after the
 * drain completes" cannot be missed on a loaded machine.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { connect, createServer, type Server } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, it } from 'node:test';
import { freePort, startMeridian } from '../helpers/dnsproc.js';

const ZONE = '$ORIGIN gslb.example.com.\n$TTL 300\n@ SOA ns1 host 1 7200 3600 1209600 300\n@ NS ns1\nns1 A 127.0.0.1\n';
const DRAIN_TTL = 4;

/** One connection: what the server said before closing, or the error code. */
function greet(port: number): Promise<string> {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1');
    let text = '';
    s.on('data', (d: Buffer) => (text += d.toString()));
    s.on('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? e.message));
    s.on('close', () => resolve(text || 'closed without data'));
  });
}

describe('forwarder: a drain through the API', () => {
  it('keeps accepting for the drain TTL after the region stops being handed out, then drains', { timeout: 90_000 }, async (t) => {
    const backend: Server = createServer((s) => {
      s.on('error', () => undefined); // the probe's TCP check resets its connection
      s.end('eu');
    });
    await new Promise<void>((r) => backend.listen(0, '127.0.0.1', r));
    // Before anything that can fail: a backend left listening kept this file's process alive forever.
    // Not awaited: its connections end when the node stops.
    t.after(() => void backend.close());
    const backendPort = (backend.address() as { port: number }).port;
    const [webPort, adminPort] = [await freePort(), await freePort()];
    const secret = randomBytes(16).toString('hex');
    const srv = await startMeridian({
      zones: [{ origin: 'gslb.example.com', text: ZONE }],
      extra: {
        regions: [
          {
            id: 'eu',
            location: { lat: 53, lon: -6, continent: 'EU', country: 'IE' },
            addresses: { ipv4: ['192.0.2.10'] },
            endpoints: [{ id: 'b0', address: '127.0.0.1', port: backendPort, check: { type: 'tcp' } }],
          },
          { id: 'us', location: { lat: 39, lon: -77, continent: 'NA', country: 'US' }, addresses: { ipv4: ['192.0.2.20'] } },
        ],
        services: [{ name: 'www.gslb.example.com', ttl: DRAIN_TTL + 2, regions: ['eu', 'us'], policy: { failover: ['eu', 'us'] } }],
        forward: { embedded: ['eu'], drainDeadlineMs: 1000, listeners: [{ name: 'web', service: 'www.gslb.example.com', listen: `127.0.0.1:${webPort}` }] },
        admin: { listen: `127.0.0.1:${adminPort}`, tokens: [{ name: 'ops', role: 'admin', sha256: createHash('sha256').update(secret).digest('hex') }] },
      },
    });
    t.after(() => srv.stop());
    const api = async (method: string, path: string, body?: unknown): Promise<{ status: number; body: { phase?: string } }> => {
      const res = await fetch(`http://127.0.0.1:${adminPort}${path}`, {
        method,
        headers: { authorization: `Bearer ${secret}`, ...(body ? { 'content-type': 'application/json' } : {}) },
        ...(body ? { body: JSON.stringify(body) } : {}),
      });
      return { status: res.status, body: (await res.json()) as { phase?: string } };
    };

    assert.equal(await greet(webPort), 'eu');
    assert.equal((await api('POST', '/v1/regions/eu/drain', { ttl: DRAIN_TTL })).status, 202);
    const deadline = Date.now() + 30_000;
    while ((await api('GET', '/v1/regions/eu/drain')).body.phase !== 'drained') {
      assert.ok(Date.now() < deadline, 'the drain completes');
      await sleep(50);
    }
    // The region is no longer handed out; a client with the last answer still gets through.
    assert.equal(await greet(webPort), 'eu', 'served right after the drain completed');
    // Then the forwarder drains: new connections are refused.
    for (;;) {
      const got = await greet(webPort);
      if (got !== 'eu') {
        assert.match(got, /ECONNREFUSED|closed without data/);
        break;
      }
      assert.ok(Date.now() < deadline + 15_000, 'the forwarder stops accepting after the grace');
      await sleep(200);
    }
  });
});
