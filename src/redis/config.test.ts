import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { describeRedis, parseHostPort, REDIS_DEFAULTS, redisSectionProblems, RedisConfigError, resolveRedis, type RedisSection } from './config.js';

const dir = mkdtempSync(join(tmpdir(), 'meridian-redis-config-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const PEM = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';
writeFileSync(join(dir, 'ca.pem'), PEM);
writeFileSync(join(dir, 'not-a-cert.pem'), 'hello');

const resolve = (section: RedisSection | null, env: NodeJS.ProcessEnv = {}, legacyUrl: string | null = null) => resolveRedis({ section, legacyUrl, env, baseDir: dir });

describe('redis: section, problems', () => {
  const cases: [string, RedisSection, string[]][] = [
    ['a URL', { url: 'redis://10.0.0.5:6379/2' }, []],
    ['Sentinel', { sentinels: ['10.0.0.1:26379', '[::1]:26380', 'sentinel-2.redis.svc:26379'], name: 'meridian', db: 1 }, []],
    ['Cluster', { cluster: ['10.0.0.21:6379', 'redis-0:6379'] }, []],
    ['nothing named', { waitReplicas: 1 }, ['MERIDIAN_ERR_REDIS_TARGET']],
    ['two targets', { url: 'redis://a:1', cluster: ['b:2'] }, ['MERIDIAN_ERR_REDIS_TARGET']],
    ['sentinels without name', { sentinels: ['a:1'] }, ['MERIDIAN_ERR_REDIS_TARGET']],
    ['name without sentinels', { url: 'redis://a:1', name: 'm' }, ['MERIDIAN_ERR_REDIS_TARGET']],
    ['db with cluster', { cluster: ['a:1'], db: 2 }, ['MERIDIAN_ERR_REDIS_OPTION']],
    ['db with url', { url: 'redis://a:1', db: 2 }, ['MERIDIAN_ERR_REDIS_OPTION']],
    ['not a URL', { url: 'localhost' }, ['MERIDIAN_ERR_REDIS_ADDRESS']],
    ['http URL', { url: 'http://a:1' }, ['MERIDIAN_ERR_REDIS_ADDRESS']],
    ['URL path not a db', { url: 'redis://a:1/x' }, ['MERIDIAN_ERR_REDIS_ADDRESS']],
    ['no port', { sentinels: ['10.0.0.1'], name: 'm' }, ['MERIDIAN_ERR_REDIS_ADDRESS']],
    ['port 0', { cluster: ['a:0'] }, ['MERIDIAN_ERR_REDIS_ADDRESS']],
    ['bad host', { cluster: ['a b:1'] }, ['MERIDIAN_ERR_REDIS_ADDRESS']],
    ['unbracketed v6', { cluster: ['::1:6379'] }, ['MERIDIAN_ERR_REDIS_ADDRESS']],
    ['WAIT not under the command timeout', { url: 'redis://a:1', waitReplicas: 1, waitTimeoutMs: 2_000, commandTimeoutMs: 2_000 }, ['MERIDIAN_ERR_REDIS_OPTION']],
    ['CA file missing', { url: 'rediss://a:1', tls: { ca: 'missing.pem' } }, ['MERIDIAN_ERR_REDIS_TLS']],
    ['CA file not PEM', { url: 'rediss://a:1', tls: { ca: 'not-a-cert.pem' } }, ['MERIDIAN_ERR_REDIS_TLS']],
    ['CA file fine', { url: 'rediss://a:1', tls: { ca: 'ca.pem', servername: 'redis.internal' } }, []],
  ];
  for (const [name, section, codes] of cases) {
    it(name, () =>
      assert.deepEqual(
        redisSectionProblems(section, dir).map((p) => p.code),
        codes,
      ),
    );
  }

  it('names the YAML path of the offending entry', () => {
    const [p] = redisSectionProblems({ sentinels: ['a:1', 'b'], name: 'm' }, dir);
    assert.deepEqual(p!.path, ['redis', 'sentinels', 1]);
  });

  it('refuses a redis: section next to health.redisUrl', () => {
    assert.deepEqual(
      redisSectionProblems({ url: 'redis://a:1' }, dir, 'redis://b:2').map((p) => p.code),
      ['MERIDIAN_ERR_REDIS_TARGET'],
    );
  });
});

describe('resolveRedis', () => {
  it('no section, no REDIS_URL, no health.redisUrl: embedded mode', () => {
    assert.equal(resolve(null), null);
  });

  it('REDIS_URL and health.redisUrl work as before; REDIS_URL wins', () => {
    assert.deepEqual(resolve(null, {}, 'redis://b:2')!.target, { kind: 'url', url: 'redis://b:2' });
    assert.deepEqual(resolve(null, { REDIS_URL: 'redis://a:1' }, 'redis://b:2')!.target, { kind: 'url', url: 'redis://a:1' });
    assert.deepEqual(resolve(null, { REDIS_URL: '' }, 'redis://b:2')!.target, { kind: 'url', url: 'redis://b:2' }, 'an empty REDIS_URL is unset');
  });

  it("REDIS_URL replaces the section's target; its other settings stay", () => {
    const c = resolve({ sentinels: ['a:1'], name: 'm', waitReplicas: 1 }, { REDIS_URL: 'redis://x:9' })!;
    assert.deepEqual(c.target, { kind: 'url', url: 'redis://x:9' });
    assert.equal(c.waitReplicas, 1);
  });

  it('Sentinel and Cluster targets, with defaults', () => {
    const s = resolve({ sentinels: ['10.0.0.1:26379', '[::1]:26380'], name: 'meridian' })!;
    assert.deepEqual(s.target, {
      kind: 'sentinel',
      sentinels: [
        { host: '10.0.0.1', port: 26379 },
        { host: '::1', port: 26380 },
      ],
      name: 'meridian',
      db: 0,
    });
    assert.equal(s.waitReplicas, REDIS_DEFAULTS.waitReplicas);
    assert.equal(s.commandTimeoutMs, REDIS_DEFAULTS.commandTimeoutMs);
    assert.equal(describeRedis(s), "sentinel master 'meridian' via 10.0.0.1:26379,[::1]:26380");
    const c = resolve({ cluster: ['r0:6379'], reconnectMaxMs: 500 })!;
    assert.deepEqual(c.target, { kind: 'cluster', nodes: [{ host: 'r0', port: 6379 }] });
    assert.equal(c.reconnectMaxMs, 500);
  });

  it('credentials come from the environment only, and never show in descriptions', () => {
    const env = { MERIDIAN_REDIS_USERNAME: 'meridian', MERIDIAN_REDIS_PASSWORD: 's3cret', MERIDIAN_REDIS_SENTINEL_PASSWORD: 'sent' };
    const c = resolve({ sentinels: ['a:1'], name: 'm' }, env)!;
    assert.equal(c.username, 'meridian');
    assert.equal(c.password, 's3cret');
    assert.equal(c.sentinelPassword, 'sent');
    assert.equal(c.sentinelUsername, undefined);
    assert.ok(!describeRedis(c).includes('s3cret'));
    assert.equal(describeRedis(resolve(null, { REDIS_URL: 'redis://u:s3cret@h:1/0' })!), 'redis://u:***@h:1/0');
  });

  it('a user without a password, a bad REDIS_URL: coded errors, all at once', () => {
    assert.throws(
      () => resolve(null, { REDIS_URL: 'nope', MERIDIAN_REDIS_USERNAME: 'u' }),
      (err: unknown) => {
        assert.ok(err instanceof RedisConfigError);
        assert.deepEqual(
          err.problems.map((p) => p.code),
          ['MERIDIAN_ERR_REDIS_ADDRESS', 'MERIDIAN_ERR_REDIS_CREDENTIALS'],
        );
        assert.match(err.message, /MERIDIAN_ERR_REDIS_CREDENTIALS: MERIDIAN_REDIS_USERNAME: MERIDIAN_REDIS_USERNAME is set but MERIDIAN_REDIS_PASSWORD is not/);
        return true;
      },
    );
  });

  it('reads the CA file at resolution', () => {
    assert.deepEqual(resolve({ url: 'rediss://a:1', tls: { ca: 'ca.pem' } })!.tls, { ca: PEM });
  });
});

describe('parseHostPort', () => {
  it('IPs, bracketed IPv6 and names', () => {
    assert.deepEqual(parseHostPort('127.0.0.1:6379'), { host: '127.0.0.1', port: 6379 });
    assert.deepEqual(parseHostPort('[2001:db8::1]:26379'), { host: '2001:db8::1', port: 26379 });
    assert.deepEqual(parseHostPort('redis-0.redis.svc.cluster.local:6379'), { host: 'redis-0.redis.svc.cluster.local', port: 6379 });
    assert.equal(typeof parseHostPort('[not-v6]:1'), 'string');
    assert.equal(typeof parseHostPort('a:70000'), 'string');
  });
});
