/**
 * `meridian override set|clear` is audited with its author, whichever way it goes (issue 13, defect
 * 5): through the running node's admin API (the token's name), or straight to the config store when
 * no API answers (`--author`, else user@host), in embedded mode (data directory) and in cluster
 * mode (Redis); an override that expires is audited too. Real processes throughout: `meridian serve`, the CLI, DNS over UDP, and the audit
 * read back from GET /v1/audit.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { cli, type CliRun } from '../helpers/cli.js';
import { freePort, startMeridian, type RunningServer } from '../helpers/dnsproc.js';
import { redisSkipReason, startRedis } from '../helpers/redis.js';
import { dnsQuery, waitFor } from '../admin/helpers.js';

const Z = 'gslb.example.com';
const US = '192.0.2.10';
const EU = '198.51.100.10';
const ZONE = `$ORIGIN ${Z}.\n$TTL 300\n@ SOA ns1 host 1 7200 3600 1209600 300\n@ NS ns1\nns1 A 127.0.0.1\n`;
const ME = `${userInfo().username}@${hostname()}`;

function routing(adminListen: string | null, redisUrl?: string) {
  return {
    regions: [
      { id: 'us-east', location: { lat: 39, lon: -77, continent: 'NA', country: 'US' }, addresses: { ipv4: [US] } },
      { id: 'eu-west', location: { lat: 53, lon: -6, continent: 'EU', country: 'IE' }, addresses: { ipv4: [EU] } },
    ],
    services: [{ name: `svc.${Z}`, ttl: 30, regions: ['us-east', 'eu-west'], policy: { failover: ['us-east', 'eu-west'] } }],
    admin: { listen: adminListen, rateLimit: 1_000_000 },
    ...(redisUrl ? { health: { redisUrl } } : {}),
  };
}

/** `meridian override ARGS --config CONFIG`, the real CLI. */
const override = (config: string, args: string[], env: Record<string, string> = {}): Promise<CliRun> => cli(['override', ...args, '--config', config], { env });

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- the tests read whichever fields each route returns
async function api(port: number, token: string, method: string, path: string, body?: unknown): Promise<any> {
  const res = await fetch(`http://127.0.0.1:${port}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    ...(body ? { body: JSON.stringify(body) } : {}),
  });
  const json = await res.json();
  assert.ok(res.ok, `${method} ${path}: ${res.status} ${JSON.stringify(json)}`);
  return json;
}

/** The newest audit entries of override actions, as [action, author, target, reason, state]. */
async function overrideAudit(port: number, token: string): Promise<string[][]> {
  const entries = (await api(port, token, 'GET', '/v1/audit?limit=100')) as { action: string; author: string; target: string; reason: string; detail?: { state?: string } }[];
  return entries.filter((e) => e.action.startsWith('override.')).map((e) => [e.action, e.author, e.target, e.reason, e.detail?.state ?? '-']);
}

const answer = async (srv: RunningServer): Promise<string> => (await dnsQuery(srv.port, `svc.${Z}`)).addresses.join(',');
const until = async (srv: RunningServer, want: string): Promise<void> => assert.ok(await waitFor(async () => (await answer(srv)) === want, 5000), `svc answers ${want}`);

describe('meridian override is audited with its author', () => {
  test("embedded: through the running node's API (token name), then straight to the data directory (--author, user@host)", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'meridian-override-audit-'));
    const adminPort = await freePort();
    const start = (): Promise<RunningServer> => startMeridian({ dir, zones: [{ origin: Z, text: ZONE }], extra: routing(`127.0.0.1:${adminPort}`) });
    let srv: RunningServer | null = await start();
    try {
      const config = srv.configPath;
      const tokenFile = join(dir, 'data', 'admin-token');
      const root = readFileSync(tokenFile, 'utf8').trim();
      assert.equal(await answer(srv), US);

      // The bootstrap token file is how the CLI on the node's host finds a token.
      const set = await override(config, ['set', 'region/us-east', 'down', '--for', '30m', '--reason', 'maintenance window']);
      assert.equal(set.status, 0, set.stderr);
      assert.match(set.stdout, /region\/us-east => down until .* \(admin API, audited as bootstrap\)/);
      await until(srv, EU);
      assert.deepEqual((await overrideAudit(adminPort, root))[0], ['override.set', 'bootstrap', 'region/us-east', 'maintenance window', 'down']);

      // MERIDIAN_TOKEN: the author is that token's name.
      const oncall = (await api(adminPort, root, 'POST', '/v1/tokens', { name: 'oncall', role: 'operator' })).secret as string;
      const clear = await override(config, ['clear', 'region/us-east', '--reason', 'window over'], { MERIDIAN_TOKEN: oncall });
      assert.equal(clear.status, 0, clear.stderr);
      await until(srv, US);
      assert.deepEqual((await overrideAudit(adminPort, root))[0], ['override.clear', 'oncall', 'region/us-east', 'window over', '-']);

      // No token at all while the node runs: the node holds the store, so the CLI cannot audit
      // there itself, and it refuses rather than write an override nobody could trace.
      renameSync(tokenFile, `${tokenFile}.away`);
      const refused = await override(config, ['set', 'region/us-east', 'down', '--reason', 'x']);
      renameSync(`${tokenFile}.away`, tokenFile);
      assert.equal(refused.status, 1);
      assert.match(refused.stderr, /holds the config store.*MERIDIAN_TOKEN.*Nothing was changed/);
      assert.deepEqual(await api(adminPort, root, 'GET', '/v1/overrides'), []);
      assert.equal((await overrideAudit(adminPort, root)).length, 2);
      assert.equal(await answer(srv), US);

      // The node is down: nothing listens at the API, so the CLI writes the overrides file and the
      // audit log itself; the restarted node obeys the one and serves the other.
      await srv.stop();
      srv = null;
      const offline = await override(config, ['set', 'region/us-east', 'drained', '--reason', 'dc move', '--author', 'alice']);
      assert.equal(offline.status, 0, offline.stderr);
      assert.match(offline.stderr, /nothing listens at the admin API/);
      assert.match(offline.stdout, /audited as alice/);
      srv = await start();
      await until(srv, EU);
      assert.deepEqual((await overrideAudit(adminPort, root))[0], ['override.set', 'alice', 'region/us-east', 'dc move', 'drained']);
    } finally {
      await srv?.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('cluster: from another host without an API, straight to Redis (user@host, --author); expiry audited', { skip: redisSkipReason() }, async () => {
    const redis = await startRedis();
    const adminPort = await freePort();
    let srv: RunningServer | null = null;
    const laptop = mkdtempSync(join(tmpdir(), 'meridian-override-laptop-'));
    try {
      srv = await startMeridian({ zones: [{ origin: Z, text: ZONE }], extra: routing(`127.0.0.1:${adminPort}`, redis.url) });
      const root = readFileSync(join(srv.dir, 'data', 'admin-token'), 'utf8').trim();
      // An operator's copy of the config, without an API of its own (another host): the override
      // goes to Redis and its audit entry to the Redis store, where every API node reads it.
      writeFileSync(join(laptop, 'zone'), ZONE);
      writeFileSync(join(laptop, 'meridian.yaml'), JSON.stringify({ dns: { listen: ['127.0.0.1:0'] }, zones: [{ origin: Z, file: 'zone' }], ...routing(null, redis.url) }));
      const set = await override(join(laptop, 'meridian.yaml'), ['set', 'region/us-east', 'drained', '--for', '1h', '--reason', 'rack swap']);
      assert.equal(set.status, 0, set.stderr);
      assert.match(set.stdout, /region\/us-east => drained until .* \(Redis\)\naudited as /);
      await until(srv, EU);
      const listed = await api(adminPort, root, 'GET', '/v1/overrides');
      assert.deepEqual(
        listed.map((o: { scope: string; author: string }) => [o.scope, o.author]),
        [['region/us-east', ME]],
      );
      const clear = await override(join(laptop, 'meridian.yaml'), ['clear', 'region/us-east', '--reason', 'swap done', '--author', 'alice']);
      assert.equal(clear.status, 0, clear.stderr);
      await until(srv, US);
      assert.deepEqual((await overrideAudit(adminPort, root)).slice(0, 2), [
        ['override.clear', 'alice', 'region/us-east', 'swap done', '-'],
        ['override.set', ME, 'region/us-east', 'rack swap', 'drained'],
      ]);
      // An override that runs out is an action too: the API node's sweep removes it and audits it.
      await api(adminPort, root, 'PUT', '/v1/overrides/region/us-east', { state: 'down', reason: 'blip', for: '1s' });
      assert.ok(await waitFor(async () => (await overrideAudit(adminPort, root))[0]?.[0] === 'override.expire', 5000), 'the expiry is audited');
      assert.deepEqual((await overrideAudit(adminPort, root))[0], ['override.expire', 'expiry', 'region/us-east', 'blip', 'down']);
      await until(srv, US);
    } finally {
      await srv?.stop();
      await redis.stop();
      rmSync(laptop, { recursive: true, force: true });
    }
  });
});
