/**
 * Issue 16, defect 2 (SSRF through health checks): `health.targets` decides where checks may
 * connect. Through the public paths: `meridian check` refuses a YAML whose endpoint is on loopback
 * without an allowance, naming the endpoint and the rule; a real `meridian serve` refuses, with 400
 * and no new version, an endpoint at the cloud metadata address or at its own admin API port.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startMeridianWithApi, type ApiNode } from '../helpers/apiproc.js';
import { REPO_ROOT } from '../helpers/dnsproc.js';

const Z = 'gslb.example.com';
const ZONE = `$ORIGIN ${Z}.\n$TTL 300\n@ SOA ns1 host 1 7200 3600 1209600 300\n@ NS ns1\nns1 A 127.0.0.1\n`;
const yaml = (targets: string): string => `zones:
  - { origin: ${Z}, file: zone }
${targets}regions:
  - id: a
    location: { lat: 1, lon: 1, continent: EU, country: DE }
    addresses: { ipv4: [192.0.2.1] }
    endpoints:
      - { id: web-1, address: 127.0.0.1, port: 8080 }
services:
  - { name: www.${Z}, regions: [a] }
`;

describe('meridian check: health.targets', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'meridian-targets-'));
    writeFileSync(join(dir, 'zone'), ZONE);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));
  const check = (text: string): { status: number | null; out: string } => {
    writeFileSync(join(dir, 'meridian.yaml'), text);
    const r = spawnSync(process.execPath, ['--import', 'tsx', join(REPO_ROOT, 'src/cli.ts'), 'check', '--config', join(dir, 'meridian.yaml')], { encoding: 'utf8', cwd: REPO_ROOT, timeout: 60_000 });
    return { status: r.status, out: r.stdout + r.stderr };
  };

  test('a loopback endpoint without an allowance is refused with MERIDIAN_ERR_TARGET_DENIED, the endpoint and the rule', () => {
    const r = check(yaml(''));
    assert.equal(r.status, 1, r.out);
    assert.match(r.out, /meridian\.yaml:8: MERIDIAN_ERR_TARGET_DENIED: endpoint a\/web-1 \(127\.0\.0\.1:8080\) is refused by rule "loopback 127\.0\.0\.0\/8"/, r.out);
  });

  test('the same endpoint passes once health.targets.allow names loopback; an explicit deny still wins', () => {
    const allowed = check(yaml('health:\n  targets: { allow: [127.0.0.0/8] }\n'));
    assert.equal(allowed.status, 0, allowed.out);
    const denied = check(yaml('health:\n  targets: { allow: [127.0.0.0/8], deny: [127.0.0.1] }\n'));
    assert.equal(denied.status, 1, denied.out);
    assert.match(denied.out, /rule "health\.targets\.deny 127\.0\.0\.1\/32"/, denied.out);
  });

  test('a bad CIDR is a config error', () => {
    const r = check(yaml('health:\n  targets: { allow: [10.0.0.0/33] }\n'));
    assert.equal(r.status, 1, r.out);
    assert.match(r.out, /health\.targets\.allow\[0\]: "10\.0\.0\.0\/33" is not an address or CIDR/, r.out);
  });
});

describe('admin API: health.targets at write time, on a real meridian serve', () => {
  let node: ApiNode;
  before(async () => {
    // The test helpers allow loopback (test/helpers/targets.ts), as a demo would.
    node = await startMeridianWithApi({
      zones: [{ origin: Z, text: ZONE }],
      extra: {
        regions: [{ id: 'a', location: { lat: 1, lon: 1, continent: 'EU', country: 'DE' }, addresses: { ipv4: ['192.0.2.1'] } }],
        services: [{ name: `www.${Z}`, regions: ['a'] }],
      },
    });
  });
  after(() => node?.stop());

  const refused = async (method: string, path: string, body: unknown, rule: RegExp): Promise<void> => {
    const before = (await node.api('GET', '/v1/config')).json.version;
    const r = await node.api(method, path, body);
    assert.equal(r.status, 400, r.text);
    assert.equal(r.json.error.code, 'MERIDIAN_ERR_TARGET_DENIED', r.text);
    assert.match(r.json.error.message, rule, r.text);
    assert.equal((await node.api('GET', '/v1/config')).json.version, before, 'nothing was committed');
    assert.deepEqual((await node.api('GET', '/v1/regions/a/endpoints')).json, [], 'no endpoint was registered');
  };

  test('an endpoint at 169.254.169.254 is refused with 400 and changes nothing', async () => {
    await refused(
      'POST',
      '/v1/regions/a/endpoints',
      { id: 'meta', address: '169.254.169.254', port: 80, check: { type: 'http' } },
      /endpoint a\/meta \(169\.254\.169\.254:80\) is refused by rule "metadata 169\.254\.169\.254\/32"/,
    );
  });

  test("link-local through a region PUT, and the node's own admin port on an allowed loopback, are refused", async () => {
    const region = (await node.api('GET', '/v1/regions/a')).json;
    await refused('PUT', '/v1/regions/a', { ...region, endpoints: [{ id: 'll', address: 'fe80::1', port: 80 }] }, /rule "link-local fe80::\/10"/);
    await refused('POST', '/v1/regions/a/endpoints', { id: 'self', address: '127.0.0.1', port: node.apiPort }, new RegExp(`rule "own service admin 127\\.0\\.0\\.1:${node.apiPort}"`));
  });

  test('a loopback backend the config allows is accepted', async () => {
    const r = await node.api('POST', '/v1/regions/a/endpoints', { id: 'ok', address: '127.0.0.1', port: 9, check: { type: 'tcp' } });
    assert.equal(r.status, 201, r.text);
  });
});
