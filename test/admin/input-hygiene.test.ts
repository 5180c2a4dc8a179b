/**
 * Issue 16, defects 4 and 8, through one real `meridian serve` (admin API over HTTP) and real
 * `meridian check` processes: a body nested deeper than the limit (a policy, a check) is a coded
 * 400 that changes nothing (it was a 500 from a stack overflow), and an answer or endpoint address
 * that no client can use (unspecified, broadcast, multicast, a scoped IPv6 whose zone id was
 * silently dropped) is refused at API write and at config load, naming the field.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startMeridianWithApi, type ApiNode } from '../helpers/apiproc.js';
import { MERIDIAN_ENTRY } from '../helpers/meridian-bin.js';

const Z = 'gslb.example.com';
const ZONE = `$ORIGIN ${Z}.\n$TTL 300\n@ SOA ns1 host 1 7200 3600 1209600 300\n@ NS ns1\nns1 A 127.0.0.1\n`;
const LOC = { lat: 53, lon: -6, continent: 'EU', country: 'IE' };

/** `[[[…[1]…]]]` or `{"a":{"a":…1…}}`, `depth` levels deep, as JSON text (JSON.stringify would recurse). */
function nested(depth: number, kind: 'array' | 'object'): string {
  return kind === 'array' ? `${'['.repeat(depth)}1${']'.repeat(depth)}` : `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`;
}

const BAD: [string, string][] = [
  ['ipv4', '0.0.0.0'],
  ['ipv4', '255.255.255.255'],
  ['ipv4', '224.0.0.1'],
  ['ipv4', '239.255.255.250'],
  ['ipv6', '::'],
  ['ipv6', 'ff02::1'],
  ['ipv6', 'fe80::1%eth0'],
  // Second fresh-eyes review: reserved IPv4 and link-local IPv6 without a zone id reach no client either.
  ['ipv4', '240.0.0.1'],
  ['ipv6', 'fe80::1'],
];

describe('input hygiene through a real meridian serve', () => {
  let node: ApiNode;
  before(async () => {
    node = await startMeridianWithApi({
      zones: [{ origin: Z, text: ZONE }],
      extra: {
        regions: [{ id: 'eu-west', location: LOC, addresses: { ipv4: ['198.51.100.10'] } }],
        services: [{ name: `www.${Z}`, regions: ['eu-west'], policy: { failover: ['eu-west'] } }],
      },
    });
  });
  after(() => node?.stop());

  const head = async (): Promise<number> => {
    const r = await node.api('GET', '/v1/status');
    assert.equal(r.status, 200, r.text);
    return r.json.head as number;
  };

  test('10,000 nested arrays or objects in a policy or a check: 400 MERIDIAN_ERR_TOO_DEEP naming the limit, head unchanged', async () => {
    const before = await head();
    const region = (check: string): string => `{"location":${JSON.stringify(LOC)},"addresses":{"ipv4":["198.51.100.10"]},"endpoints":[{"address":"192.0.2.1","port":80,"check":${check}}]}`;
    const bodies: [string, string][] = [
      [`/v1/services/www.${Z}`, `{"regions":["eu-west"],"policy":{"failover":${nested(10_000, 'array')}}}`],
      [`/v1/services/www.${Z}`, `{"regions":["eu-west"],"policy":{"weighted":${nested(10_000, 'object')}}}`],
      ['/v1/regions/eu-west', region(nested(10_000, 'object'))],
      ['/v1/regions/eu-west', region(nested(40, 'array'))],
    ];
    for (const [path, body] of bodies) {
      const r = await node.api('PUT', path, body);
      assert.equal(r.status, 400, `${path}: ${r.text.slice(0, 300)}`);
      assert.equal(r.json.error.code, 'MERIDIAN_ERR_TOO_DEEP', r.text.slice(0, 300));
      assert.match(r.json.error.message, /32/, 'the message names the limit');
    }
    assert.equal(await head(), before, 'nothing changed');
  });

  test('a body just inside the limit is judged by the usual rules, not by depth', async () => {
    const r = await node.api('PUT', `/v1/services/www.${Z}`, `{"regions":["eu-west"],"policy":{"failover":${nested(20, 'array')}}}`);
    assert.equal(r.status, 400, r.text);
    assert.equal(r.json.error.code, 'MERIDIAN_ERR_INVALID_CONFIG', r.text);
  });

  test('unspecified, broadcast, multicast and scoped answer addresses: 400 naming the field, head unchanged', async () => {
    const before = await head();
    for (const [family, address] of BAD) {
      const r = await node.api('PUT', '/v1/regions/eu-west', { location: LOC, addresses: family === 'ipv4' ? { ipv4: [address] } : { ipv4: ['198.51.100.10'], ipv6: [address] } });
      assert.equal(r.status, 400, `${address}: ${r.text}`);
      assert.equal(r.json.error.field, `/regions/0/addresses/${family}/0`, `${address}: ${r.text}`);
      assert.match(r.text, /MERIDIAN_ERR_INVALID_ADDRESS/, `${address}: ${r.text}`);
    }
    assert.equal(await head(), before, 'nothing changed');
  });

  test('the same addresses as endpoint addresses: 400 naming the field, head unchanged', async () => {
    const before = await head();
    for (const [, address] of BAD) {
      const body = { location: LOC, addresses: { ipv4: ['198.51.100.10'] }, endpoints: [{ address, port: 80 }] };
      const r = await node.api('PUT', '/v1/regions/eu-west', body);
      assert.equal(r.status, 400, `${address}: ${r.text}`);
      assert.equal(r.json.error.field, '/regions/0/endpoints/0/address', `${address}: ${r.text}`);
      assert.match(r.text, /MERIDIAN_ERR_INVALID_ADDRESS/, `${address}: ${r.text}`);
    }
    assert.equal(await head(), before, 'nothing changed');
  });

  test('a usable address is still accepted', async () => {
    const r = await node.api('PUT', '/v1/regions/eu-west', { location: LOC, addresses: { ipv4: ['198.51.100.11'], ipv6: ['2001:db8::1'] } });
    assert.equal(r.status, 200, r.text);
  });
});

describe('meridian check: bad addresses and deep nesting in YAML', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'meridian-hygiene-'));
    writeFileSync(join(dir, 'zone'), ZONE);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  const check = (name: string, yaml: string): { status: number | null; stderr: string; file: string } => {
    const file = join(dir, name);
    writeFileSync(file, yaml);
    const r = spawnSync(process.execPath, [...MERIDIAN_ENTRY, 'check', '--config', file], { encoding: 'utf8', timeout: 60_000 });
    return { status: r.status, stderr: r.stderr, file };
  };

  test('each bad answer and endpoint address is a coded problem at its file:line, exit 1', () => {
    const yaml = [
      'zones:',
      `  - { origin: ${Z}, file: zone }`,
      'regions:',
      '  - id: a',
      '    location: { lat: 1, lon: 1, continent: EU, country: DE }',
      '    addresses:',
      '      ipv4:',
      '        - 192.0.2.1',
      '        - 0.0.0.0',
      '        - 255.255.255.255',
      '        - 224.0.0.5',
      '      ipv6:',
      '        - "::"',
      '        - ff05::2',
      '        - "fe80::1%eth0"',
      '    endpoints:',
      '      - { address: 239.1.1.1, port: 80 }',
      'services:',
      `  - { name: www.${Z}, regions: [a] }`,
      '',
    ].join('\n');
    const r = check('addresses.yaml', yaml);
    assert.equal(r.status, 1, r.stderr);
    const lines = r.stderr.split('\n');
    for (const [line, addr] of [
      [9, '0.0.0.0'],
      [10, '255.255.255.255'],
      [11, '224.0.0.5'],
      [13, '::'],
      [14, 'ff05::2'],
      [15, 'fe80::1%eth0'],
      [17, '239.1.1.1'],
    ] as const) {
      assert.ok(
        lines.some((l) => l.startsWith(`${r.file}:${line}: `) && l.includes('MERIDIAN_ERR_INVALID_ADDRESS') && l.includes(`"${addr}"`)),
        `${r.file}:${line} ${addr}\n${r.stderr}`,
      );
    }
    assert.ok(!lines.some((l) => l.includes('"192.0.2.1"')), r.stderr);
  });

  test('a policy nested deeper than the limit is a coded problem at its file:line, exit 1', () => {
    const yaml = [
      'zones:',
      `  - { origin: ${Z}, file: zone }`,
      'regions:',
      '  - { id: a, location: { lat: 1, lon: 1, continent: EU, country: DE }, addresses: { ipv4: [192.0.2.1] } }',
      'services:',
      `  - name: www.${Z}`,
      '    regions: [a]',
      '    policy:',
      `      failover: ${'['.repeat(40)}a${']'.repeat(40)}`,
      '',
    ].join('\n');
    const r = check('deep.yaml', yaml);
    assert.equal(r.status, 1, r.stderr);
    assert.ok(
      r.stderr.split('\n').some((l) => l.startsWith(`${r.file}:9: `) && l.includes('MERIDIAN_ERR_TOO_DEEP') && l.includes('32')),
      r.stderr,
    );
  });
});
