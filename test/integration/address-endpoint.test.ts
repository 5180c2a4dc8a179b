/**
 * Regression (found by the e2e drill 3, forwarder host down): a region's address is its forwarder,
 * which the probes check as an endpoint beside the backends. When the forwarder died, the probes
 * saw it down, but the region stayed up (2 of 3 endpoints up is above regionUpFraction) and DNS
 * kept handing out the dead address for good. An endpoint at one of the region's own addresses
 * that is down takes that address out of the answers.
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:net';
import { test } from 'node:test';
import { dig, freePort, startMeridian } from '../helpers/dnsproc.js';
import { until } from '../helpers/role.js';
import { FIXTURE_ZONE } from '../helpers/server.js';

const Z = 'gslb.example.com';
/** us-east's address: its forwarder, listening on loopback (127/8 is all on lo). */
const FRONT = '127.0.0.2';
const EU = '198.51.100.10';

function listen(host: string, port: number): Promise<Server> {
  return new Promise((resolve, reject) => {
    const s = createServer((c) => c.destroy());
    s.once('error', reject);
    s.listen(port, host, () => resolve(s));
  });
}

test('a region whose address is a down endpoint is no longer handed out, though its backends are up', async (t) => {
  const [frontPort, backendPort] = [await freePort(), await freePort()];
  const front = await listen(FRONT, frontPort);
  const backend = await listen('127.0.0.1', backendPort);
  t.after(() => backend.close());
  const serve = await startMeridian({
    readyTimeoutMs: 60_000,
    zones: [{ origin: Z, file: FIXTURE_ZONE.pathname }],
    env: { REDIS_URL: '' },
    extra: {
      health: { probe: { intervalMs: 200, timeoutMs: 150, rise: 1, fall: 1 } },
      regions: [
        {
          id: 'us-east',
          location: { lat: 39, lon: -77, continent: 'NA', country: 'US' },
          addresses: { ipv4: [FRONT] },
          // Two backends up and the forwarder: 2 of 3 up keeps the region up by regionUpFraction.
          endpoints: [
            { id: 'b1', address: '127.0.0.1', port: backendPort },
            { id: 'b2', address: '127.0.0.1', port: backendPort },
            { id: 'forwarder', address: FRONT, port: frontPort },
          ],
        },
        { id: 'eu-west', location: { lat: 53, lon: -6, continent: 'EU', country: 'IE' }, addresses: { ipv4: [EU] } },
      ],
      services: [{ name: `svc.${Z}`, ttl: 30, regions: ['us-east', 'eu-west'], policy: { failover: ['us-east', 'eu-west'] } }],
    },
  });
  t.after(() => serve.stop());
  const answer = async (): Promise<string> => (await dig(['@127.0.0.1', '-p', String(serve.port), `svc.${Z}`, 'A', '+short', '+tries=1', '+time=1'])).trim();
  await until(async () => (await answer()) === FRONT, 10_000, 'us-east answers while its forwarder is up');
  await new Promise<void>((r) => front.close(() => r()));
  await until(async () => (await answer()) === EU, 10_000, 'the forwarder is down: eu-west answers');
  // For good, not for one probe round: the dead address stays out over several probe intervals.
  const later: string[] = [];
  for (let i = 0; i < 10; i++) {
    later.push(await answer());
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.deepEqual(later, Array<string>(10).fill(EU), 'the dead forwarder address is never handed out again');
});
