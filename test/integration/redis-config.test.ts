/**
 * The `redis:` section as an operator meets it: `meridian check` lists each problem with its code
 * and line; `serve` refuses credentials the environment gets half right, at once and with the
 * code; and the password from MERIDIAN_REDIS_PASSWORD reaches a Redis that requires one.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { Redis } from 'ioredis';
import { startAdminNode, US_EAST, type AdminNode } from '../helpers/admin-node.js';
import { redisSkipReason, respCommand, startRedis } from '../helpers/redis.js';
import { FIXTURE_ZONE } from '../helpers/server.js';
import { startMeridian } from '../helpers/dnsproc.js';
import { until } from '../helpers/role.js';
import { MERIDIAN_ENTRY } from '../helpers/meridian-bin.js';

function meridian(args: string[], env: NodeJS.ProcessEnv = {}): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [...MERIDIAN_ENTRY, ...args], { encoding: 'utf8', timeout: 30_000, env: { ...process.env, REDIS_URL: '', ...env } });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

function withConfig(redisYaml: string, fn: (config: string) => void): void {
  const dir = mkdtempSync(join(tmpdir(), 'meridian-redis-cli-'));
  try {
    writeFileSync(join(dir, 'zone'), readFileSync(FIXTURE_ZONE, 'utf8'));
    writeFileSync(join(dir, 'meridian.yaml'), `dns:\n  listen: ["127.0.0.1:0"]\nzones:\n  - origin: gslb.example.com\n    file: zone\n${redisYaml}`);
    fn(join(dir, 'meridian.yaml'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('redis: section through the CLI', () => {
  test('meridian check: every problem with its code and line, exit 1', () => {
    // The section starts on line 6, after the five lines of dns/zones.
    withConfig(`redis:\n  sentinels:\n    - 10.0.0.1:26379\n    - 10.0.0.2\n  cluster: ["10.0.0.3:6379"]\n  tls:\n    ca: missing.pem\n`, (config) => {
      const r = meridian(['check', '--config', config]);
      assert.equal(r.code, 1, r.stderr);
      assert.match(
        r.stderr,
        /meridian\.yaml:10: MERIDIAN_ERR_REDIS_TARGET: redis\.cluster: give exactly one of redis\.url, redis\.sentinels with redis\.name, or redis\.cluster \(found sentinels and cluster\)/,
      );
      assert.match(r.stderr, /meridian\.yaml:8: MERIDIAN_ERR_REDIS_TARGET: redis\.sentinels: redis\.sentinels needs redis\.name/);
      assert.match(r.stderr, /meridian\.yaml:9: MERIDIAN_ERR_REDIS_ADDRESS: redis\.sentinels\[1\]: "10\.0\.0\.2" must be host:port/);
      assert.match(r.stderr, /meridian\.yaml:12: MERIDIAN_ERR_REDIS_TLS: redis\.tls\.ca: cannot read missing\.pem: ENOENT/);
    });
  });

  test('meridian check: a password in the YAML is refused (credentials come from the environment)', () => {
    withConfig(`redis:\n  url: redis://127.0.0.1:6379\n  password: hunter2\n`, (config) => {
      const r = meridian(['check', '--config', config]);
      assert.equal(r.code, 1);
      assert.match(r.stderr, /meridian\.yaml:8: \/redis\/password: unknown key "password"/);
    });
  });

  for (const cmd of ['check', 'serve']) {
    test(`meridian ${cmd}: credentials in redis.url or health.redisUrl are refused at their line, never echoed`, () => {
      // Line 7: the url below the five lines of dns/zones and "redis:".
      withConfig(`redis:\n  url: redis://meridian:s3cr3t-pw@127.0.0.1:6379/0\n`, (config) => {
        const r = meridian([cmd, '--config', config]);
        assert.equal(r.code, 1, r.stdout + r.stderr);
        assert.match(
          r.stderr,
          /meridian\.yaml:7: MERIDIAN_ERR_REDIS_CREDENTIALS: redis\.url: "redis:\/\/meridian:\*\*\*@127\.0\.0\.1:6379\/0" carries credentials, which never belong in the YAML: remove them and set MERIDIAN_REDIS_PASSWORD \(and MERIDIAN_REDIS_USERNAME for an ACL user\) in the environment/,
        );
        assert.doesNotMatch(r.stdout + r.stderr, /s3cr3t-pw/);
      });
      withConfig(`health:\n  redisUrl: "redis://:pw@ss-w0rd@127.0.0.1:6379"\n`, (config) => {
        const r = meridian([cmd, '--config', config]);
        assert.equal(r.code, 1, r.stdout + r.stderr);
        assert.match(r.stderr, /meridian\.yaml:7: MERIDIAN_ERR_REDIS_CREDENTIALS: health\.redisUrl: "redis:\/\/:\*\*\*@127\.0\.0\.1:6379" carries credentials/);
        assert.doesNotMatch(r.stdout + r.stderr, /w0rd/);
      });
    });
  }

  test('meridian serve: a Redis user without a password exits 1 at once with the coded problem', () => {
    withConfig(`redis:\n  sentinels: ["127.0.0.1:1"]\n  name: meridian\n`, (config) => {
      const r = meridian(['serve', '--config', config], { MERIDIAN_REDIS_USERNAME: 'meridian' });
      assert.equal(r.code, 1, r.stdout + r.stderr);
      assert.match(r.stderr, /MERIDIAN_ERR_REDIS_CREDENTIALS: MERIDIAN_REDIS_USERNAME: MERIDIAN_REDIS_USERNAME is set but MERIDIAN_REDIS_PASSWORD is not/);
    });
  });
});

describe('credentials from the environment', { skip: redisSkipReason() }, () => {
  test('a password in REDIS_URL (the environment: allowed) never reaches the log, even with an @ in it', async (t) => {
    const redis = await startRedis(['--requirepass', 'pw@s3cr3t']);
    t.after(() => redis.stop());
    const srv = await startMeridian({
      zones: [{ origin: 'gslb.example.com', text: readFileSync(FIXTURE_ZONE, 'utf8') }],
      env: { REDIS_URL: `redis://:pw@s3cr3t@127.0.0.1:${redis.port}`, MERIDIAN_LOG_LEVEL: 'debug' },
    });
    t.after(() => srv.stop());
    await until(() => /health: bus connected/.test(srv.output()), 20_000, 'the health bus on that Redis');
    assert.match(srv.output(), new RegExp(`redis://:\\*\\*\\*@127\\.0\\.0\\.1:${redis.port}`));
    assert.doesNotMatch(srv.output(), /s3cr3t/);
  });

  test('MERIDIAN_REDIS_PASSWORD reaches a Redis with requirepass: the store takes an API write', async (t) => {
    const redis = await startRedis(['--requirepass', 'p4ss-word']);
    let node: AdminNode | null = null;
    t.after(async () => {
      await node?.stop();
      await redis.stop();
    });
    node = await startAdminNode({ url: redis.url }, { MERIDIAN_REDIS_PASSWORD: 'p4ss-word' });
    const res = await node.api('PUT', '/v1/regions/us-east?reason=auth', { location: US_EAST.location, addresses: { ipv4: ['192.0.2.66'], ipv6: [] } });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    // Read back with a raw, authenticated connection: the write is in that Redis.
    const raw = new Redis(redis.port, '127.0.0.1', { password: 'p4ss-word', retryStrategy: () => null });
    try {
      assert.equal(await raw.get('{meridian}:config:head'), '2');
    } finally {
      raw.disconnect();
    }
    await assert.rejects(respCommand(redis.port, ['GET', '{meridian}:config:head']), /NOAUTH/, 'and that Redis does require the password');
  });
});
