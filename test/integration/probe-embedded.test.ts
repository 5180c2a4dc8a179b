/**
 * Embedded mode (no Redis): `meridian serve` is its own probe vantage, and it probes endpoints that
 * reach it through the admin API even when the YAML had none to probe at start (issue 14, defect 3).
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { dig, freePort, startMeridian } from '../helpers/dnsproc.js';
import { until } from '../helpers/role.js';
import { FIXTURE_ZONE } from '../helpers/server.js';

const Z = 'gslb.example.com';
const US = '192.0.2.10';
const EU = '198.51.100.10';

test('embedded: the first endpoint registered through the API is probed; its failure reaches the answers', async (t) => {
  const adminPort = await freePort();
  const serve = await startMeridian({
    readyTimeoutMs: 60_000,
    zones: [{ origin: Z, file: FIXTURE_ZONE.pathname }],
    env: { REDIS_URL: '' },
    extra: {
      health: { regionUpFraction: 1, probe: { intervalMs: 200, timeoutMs: 150, rise: 1, fall: 1 } },
      admin: { listen: `127.0.0.1:${adminPort}` },
      regions: [
        { id: 'us-east', location: { lat: 39, lon: -77, continent: 'NA', country: 'US' }, addresses: { ipv4: [US] } },
        { id: 'eu-west', location: { lat: 53, lon: -6, continent: 'EU', country: 'IE' }, addresses: { ipv4: [EU] } },
      ],
      services: [{ name: `svc.${Z}`, ttl: 30, regions: ['us-east', 'eu-west'], policy: { failover: ['us-east', 'eu-west'] } }],
    },
  });
  t.after(() => serve.stop());
  const answer = async (): Promise<string> => (await dig(['@127.0.0.1', '-p', String(serve.port), `svc.${Z}`, 'A', '+short', '+tries=1', '+time=1'])).trim();
  assert.equal(await answer(), US);
  const token = readFileSync(join(serve.dir, 'data', 'admin-token'), 'utf8').trim();
  const closed = await freePort(); // nothing listens there
  const res = await fetch(`http://127.0.0.1:${adminPort}/v1/regions/us-east/endpoints`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ id: 'web-1', address: '127.0.0.1', port: closed }),
  });
  assert.equal(res.status, 201, await res.text());
  await until(async () => (await answer()) === EU, 10_000, 'us-east is down once its new endpoint is probed: eu-west answers');
});
