/**
 * Issue 16, defect 2 (SSRF through health checks): `health.targets` decides where checks may
 * connect. Through the public paths: `meridian check` refuses a YAML whose endpoint is on loopback
 * without an allowance, naming the endpoint and the rule; a real `meridian serve` refuses, with 400
 * and no new version, an endpoint at the cloud metadata address or at its own admin API port; and
 * at connect time, a probe handed an endpoint its list refuses (a SIGHUP narrowed the list under an
 * endpoint registered through the API) fails it as denied, counts it, and never connects.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import { parse, stringify } from 'yaml';
import { listen } from '../../src/probe/testkit.js';
import { until } from '../helpers/role.js';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startMeridianWithApi, type ApiNode } from '../helpers/apiproc.js';
import { freePort, REPO_ROOT } from '../helpers/dnsproc.js';
import { MERIDIAN_ENTRY } from '../helpers/meridian-bin.js';

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
    const r = spawnSync(process.execPath, [...MERIDIAN_ENTRY, 'check', '--config', join(dir, 'meridian.yaml')], { encoding: 'utf8', cwd: REPO_ROOT, timeout: 60_000 });
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
    // IPv4 link-local: an address a probe could reach, so health.targets judges it (fe80::1 without
    // a zone id reaches no one and is refused earlier, as an unusable address).
    await refused('PUT', '/v1/regions/a', { ...region, endpoints: [{ id: 'll', address: '169.254.1.1', port: 80 }] }, /rule "link-local 169\.254\.0\.0\/16"/);
    await refused('POST', '/v1/regions/a/endpoints', { id: 'self', address: '127.0.0.1', port: node.apiPort }, new RegExp(`rule "own service admin 127\\.0\\.0\\.1:${node.apiPort}"`));
  });

  test("the node's own admin port written as IPv6 carrying IPv4 in any spelling is refused (fresh-eyes reviews: hex, SIIT, compatible and NAT64 forms passed)", async () => {
    for (const address of ['::ffff:127.0.0.1', '::ffff:7f00:1', '::ffff:7f00:0001', '0::ffff:127.0.0.1', '0:0:0:0:0:ffff:7f00:1', '::ffff:0:7f00:1', '::127.0.0.1', '64:ff9b::7f00:1']) {
      await refused('POST', '/v1/regions/a/endpoints', { id: 'self', address, port: node.apiPort }, new RegExp(`rule "own service admin 127\\.0\\.0\\.1:${node.apiPort}"`));
    }
  });

  test('a loopback backend the config allows is accepted', async () => {
    const r = await node.api('POST', '/v1/regions/a/endpoints', { id: 'ok', address: '127.0.0.1', port: 9, check: { type: 'tcp' } });
    assert.equal(r.status, 201, r.text);
  });
});

describe('connect time: a probe handed a refused endpoint never connects', () => {
  test('after a SIGHUP drops the loopback allowance, the API-registered backend sees no connection and the denials are counted', async (t) => {
    const backend = await listen(net.createServer((s) => s.destroy()));
    t.after(() => backend.close());
    const metricsPort = await freePort();
    const node = await startMeridianWithApi({
      zones: [{ origin: Z, text: ZONE }],
      extra: {
        health: { probe: { intervalMs: 200, timeoutMs: 150, rise: 1, fall: 1 } },
        metrics: { listen: `127.0.0.1:${metricsPort}` },
        regions: [{ id: 'a', location: { lat: 1, lon: 1, continent: 'EU', country: 'DE' }, addresses: { ipv4: ['192.0.2.1'] } }],
        services: [{ name: `www.${Z}`, regions: ['a'] }],
      },
    });
    t.after(() => node.stop());
    const r = await node.api('POST', '/v1/regions/a/endpoints', { id: 'b', address: '127.0.0.1', port: backend.port, check: { type: 'tcp' } });
    assert.equal(r.status, 201, r.text);
    await until(async () => backend.accepted() > 0, 20_000, 'the allowed backend is checked');

    const denied = async (): Promise<number> => {
      const text = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
      const m = /^meridian_probe_denied_total\{region="a",endpoint="b"\} (\d+)/m.exec(text);
      return m ? Number(m[1]) : 0;
    };
    assert.equal(await denied(), 0);
    const config = parse(readFileSync(node.configPath, 'utf8')) as { health: Record<string, unknown> };
    config.health.targets = {}; // the defaults: loopback refused
    writeFileSync(node.configPath, stringify(config));
    process.kill(node.pid, 'SIGHUP');
    await until(async () => (await denied()) >= 1, 20_000, 'the reloaded policy refuses the endpoint');
    const seen = backend.accepted();
    const from = await denied();
    await until(async () => (await denied()) >= from + 3, 20_000, 'three more checks are refused');
    assert.equal(backend.accepted(), seen, 'no refused check connected');
    assert.match(node.output(), /MERIDIAN_ERR_TARGET_DENIED/, 'the refusal is logged with its code');
  });
});
