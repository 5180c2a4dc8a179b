/**
 * `meridian check` as an operator runs it (issue 18): a YAML syntax error at its real line and
 * column, reported with the zone files' problems of the same run; and the warnings `gdnsd
 * checkconf` would give (one NS, an NS or PTR target without its trailing dot, a TTL below 5 s, a
 * service with one region, an admin API off loopback without TLS), each on stderr as
 * `file:line: warning: …` with exit 0.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { cli, type CliRun } from '../helpers/cli.js';

const ZONE = `$ORIGIN gslb.example.com.
$TTL 300
@ SOA ns1 host 1 7200 3600 1209600 300
@ NS ns1
@ NS ns2.example.net.
ns1 A 192.0.2.53
1 PTR host.example.org.
`;

const REGIONS = `regions:
  - id: eu-west
    location: { lat: 53.3, lon: -6.2, continent: EU, country: IE }
    addresses: { ipv4: [198.51.100.10] }
  - id: us-east
    location: { lat: 39, lon: -77, continent: NA, country: US }
    addresses: { ipv4: [192.0.2.10] }
`;

const yaml = (service = '    ttl: 30\n    regions: [eu-west, us-east]\n', extra = ''): string =>
  `dns:\n  listen: ["127.0.0.1:0"]\nzones:\n  - origin: gslb.example.com\n    file: zone\n${REGIONS}services:\n  - name: www.gslb.example.com\n${service}${extra}`;

describe('meridian check: YAML syntax errors and warnings', () => {
  const dirs: string[] = [];
  after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));
  const check = async (config: string, zone = ZONE): Promise<CliRun & { config: string; zone: string }> => {
    const dir = mkdtempSync(join(tmpdir(), 'meridian-check-'));
    dirs.push(dir);
    writeFileSync(join(dir, 'zone'), zone);
    writeFileSync(join(dir, 'meridian.yaml'), config);
    const r = await cli(['check', '--config', join(dir, 'meridian.yaml')]);
    return { ...r, config: join(dir, 'meridian.yaml'), zone: join(dir, 'zone') };
  };
  const warnings = (r: CliRun): string[] => r.stderr.split('\n').filter((l) => l.includes(': warning: '));
  /** Exit 0, "ok", and exactly the one warning expected. */
  const onlyWarning = (r: CliRun & { config: string; zone: string }, where: 'config' | 'zone', line: number, what: RegExp): void => {
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /\nok\n$/);
    const found = warnings(r);
    assert.equal(found.length, 1, r.stderr);
    assert.ok(found[0]!.startsWith(`${r[where]}:${line}: warning: `), found[0]);
    assert.match(found[0]!, what);
  };

  test('a clean config has no warnings', async () => {
    const r = await check(yaml());
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(warnings(r), []);
  });

  test('a YAML syntax error carries its line and column, and the zone file’s problems are reported too', async () => {
    const broken = yaml()
      .replace('continent: EU, country: IE }', 'continent: EU, country: IE } }')
      .replace('    file: zone\n', '    file: zone\n  - origin: missing.example.com\n    file: missing.zone\n');
    const r = await check(broken, ZONE + 'bad1 A 300.1.2.3\n');
    assert.equal(r.status, 1);
    const lines = r.stderr.trimEnd().split('\n');
    assert.equal(lines[0], `${r.config}:10:68: YAML syntax error: Unexpected flow-map-end token in YAML stream: "}"`);
    assert.ok(lines.includes(`${r.zone}:8: bad IPv4 address "300.1.2.3"`), r.stderr);
    assert.ok(lines.includes(`${r.config}: cannot read zone file ${join(r.zone, '..', 'missing.zone')}: ENOENT`), r.stderr);
    assert.equal(r.stdout, `${lines.length} problem(s)\n`);
  });

  test('warning: a zone with one NS record', async () => {
    onlyWarning(await check(yaml(), ZONE.replace('@ NS ns2.example.net.\n', '')), 'zone', 4, /zone gslb\.example\.com\. has one NS record: /);
  });

  test('warning: an NS target without its trailing dot, read inside the zone', async () => {
    const r = await check(yaml(), ZONE.replace('@ NS ns2.example.net.', '@ NS ns2.example.net'));
    onlyWarning(r, 'zone', 5, /NS target "ns2\.example\.net" has no trailing dot, so it is read as ns2\.example\.net\.gslb\.example\.com\., inside gslb\.example\.com\./);
  });

  test('warning: a PTR target without its trailing dot', async () => {
    const r = await check(yaml(), ZONE.replace('1 PTR host.example.org.', '1 PTR host.example.org'));
    onlyWarning(r, 'zone', 7, /PTR target "host\.example\.org" has no trailing dot/);
  });

  test('warning: a target without its dot also at an owner named ns or ptr', async () => {
    const ns = await check(yaml(), ZONE.replace('@ NS ns2.example.net.', '@ NS ns2.example.net.\nns 300 IN NS ns1.other.net'));
    onlyWarning(ns, 'zone', 6, /NS target "ns1\.other\.net" has no trailing dot/);
    const ptr = await check(yaml(), ZONE.replace('1 PTR host.example.org.', 'ptr 300 IN PTR host.ex.test'));
    onlyWarning(ptr, 'zone', 7, /PTR target "host\.ex\.test" has no trailing dot/);
  });

  test('warning: a record TTL below 5 s, and a service TTL below 5 s', async () => {
    onlyWarning(await check(yaml(), ZONE.replace('ns1 A 192.0.2.53', 'ns1 2 A 192.0.2.53')), 'zone', 6, /ns1\.gslb\.example\.com\.: TTL 2 s is below 5 s/);
    onlyWarning(await check(yaml('    ttl: 1\n    regions: [eu-west, us-east]\n')), 'config', 15, /service www\.gslb\.example\.com: ttl 1 s is below 5 s/);
  });

  test('warning: a service with one region', async () => {
    onlyWarning(await check(yaml('    ttl: 30\n    regions: [eu-west]\n')), 'config', 16, /service www\.gslb\.example\.com has one region \(eu-west\): /);
  });

  test('warning: the admin API off loopback without admin.tls, as serve warns at start', async () => {
    const admin = `admin:\n  listen: 0.0.0.0:8053\n  dataDir: data\n  tokens: [{ name: root, role: admin, sha256: "${'a'.repeat(64)}" }]\n`;
    onlyWarning(await check(yaml(undefined, admin)), 'config', 18, /admin API: plain HTTP off loopback, so tokens cross the network in clear text; set admin\.tls/);
  });
});
