/**
 * A bad `dns.rrl` is refused with a coded error (MERIDIAN_ERR_RRL_CONFIG) at its file:line, by
 * `meridian check` and by `serve` (which exits 1 and starts nothing), every problem at once; and a
 * SIGHUP bringing one is rejected while the running node keeps answering. Real CLI processes.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { query, udpExchange } from '../helpers/client.js';
import { startMeridian } from '../helpers/dnsproc.js';
import { MERIDIAN_ENTRY } from '../helpers/meridian-bin.js';

const Z = 'rrl.test';
const ZONE = `$ORIGIN ${Z}.\n$TTL 300\n@ SOA ns1 host 1 7200 3600 1209600 300\n@ NS ns1\nns1 A 127.0.0.1\nwww A 192.0.2.1\n`;
const BAD_RRL = `  rrl:
    responsesPerSecond: 10
    window: 0
    slip: 11
    slips: 2
    exemptClients: [192.0.2.0/24, 10.0.0.0/33, not-an-address]
`;
const YAML = `dns:
  listen: ["127.0.0.1:0"]
${BAD_RRL}zones:
  - { origin: ${Z}, file: zone }
`;
const lineOf = (text: string): number => YAML.split('\n').findIndex((l) => l.includes(text)) + 1;

describe('a bad dns.rrl', () => {
  let dir: string;
  let file: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'meridian-rrl-config-'));
    file = join(dir, 'meridian.yaml');
    writeFileSync(join(dir, 'zone'), ZONE);
    writeFileSync(file, YAML);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  const want = (): [number, RegExp][] => [
    [lineOf('window: 0'), /MERIDIAN_ERR_RRL_CONFIG: \/dns\/rrl\/window: must be at least 1/],
    [lineOf('slip: 11'), /MERIDIAN_ERR_RRL_CONFIG: \/dns\/rrl\/slip: must be at most 10/],
    [lineOf('slips: 2'), /MERIDIAN_ERR_RRL_CONFIG: .*unknown key "slips"/],
  ];

  for (const cmd of ['check', 'serve']) {
    test(`meridian ${cmd}: every problem, coded, at its file:line; exit 1`, () => {
      const r = spawnSync(process.execPath, [...MERIDIAN_ENTRY, cmd, '--config', file], { encoding: 'utf8', timeout: 60_000, env: { ...process.env, MERIDIAN_LOG_LEVEL: 'info' } });
      assert.equal(r.status, 1, r.stderr);
      const lines = r.stderr.split('\n');
      for (const [line, reason] of want())
        assert.ok(
          lines.some((l) => l.startsWith(`${file}:${line}: `) && reason.test(l)),
          `${file}:${line}: ${reason}\n${r.stderr}`,
        );
      if (cmd === 'serve') {
        assert.match(r.stdout, /"code":"MERIDIAN_ERR_INVALID_CONFIG"/);
        assert.doesNotMatch(r.stdout, /"msg":"ready"/);
      }
    });
  }

  test('meridian check: the CIDRs of exemptClients are checked one by one (schema errors first, then these)', () => {
    const cidrOnly = YAML.replace('    window: 0\n    slip: 11\n    slips: 2\n', '');
    writeFileSync(file, cidrOnly);
    const r = spawnSync(process.execPath, [...MERIDIAN_ENTRY, 'check', '--config', file], { encoding: 'utf8', timeout: 60_000 });
    assert.equal(r.status, 1, r.stderr);
    const line = cidrOnly.split('\n').findIndex((l) => l.includes('exemptClients')) + 1;
    assert.match(r.stderr, new RegExp(`${file}:${line}: MERIDIAN_ERR_RRL_CONFIG: /dns/rrl/exemptClients/1: "10.0.0.0/33" is not an address or CIDR`));
    assert.match(r.stderr, /exemptClients\/2: "not-an-address" is not an address or CIDR/);
    assert.doesNotMatch(r.stderr, /exemptClients\/0/);
  });
});

describe('dns.rrl netblocks as BIND bounds them', () => {
  const BAD = `dns:
  listen: ["127.0.0.1:0"]
  rrl:
    ipv4PrefixLength: 4
    ipv6PrefixLength: 0
    exemptClients:
      - fe80::1%eth0
      - 10.0.0.1/8
      - 2001:db8::1/32
      - 192.0.2.0/24
      - 2001:db8::/32
zones:
  - { origin: ${Z}, file: zone }
`;
  const at = (text: string): number => BAD.split('\n').findIndex((l) => l.includes(text)) + 1;
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'meridian-rrl-netblocks-'));
    writeFileSync(join(dir, 'zone'), ZONE);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  for (const cmd of ['check', 'serve']) {
    test(`meridian ${cmd}: prefix lengths outside BIND's bounds, and exempt clients with host bits or a zone id, each coded at its line`, () => {
      const file = join(dir, `${cmd}.yaml`);
      writeFileSync(file, BAD);
      let r = spawnSync(process.execPath, [...MERIDIAN_ENTRY, cmd, '--config', file], { encoding: 'utf8', timeout: 60_000 });
      assert.equal(r.status, 1, r.stderr);
      // Schema errors first (prefix lengths), as the loader reports them; then the CIDRs.
      assert.match(r.stderr, new RegExp(`^${file}:${at('ipv4PrefixLength')}: MERIDIAN_ERR_RRL_CONFIG: /dns/rrl/ipv4PrefixLength: must be at least 8`, 'm'));
      assert.match(r.stderr, new RegExp(`^${file}:${at('ipv6PrefixLength')}: MERIDIAN_ERR_RRL_CONFIG: /dns/rrl/ipv6PrefixLength: must be at least 16`, 'm'));
      writeFileSync(file, BAD.replace('ipv4PrefixLength: 4', 'ipv4PrefixLength: 24').replace('ipv6PrefixLength: 0', 'ipv6PrefixLength: 56'));
      r = spawnSync(process.execPath, [...MERIDIAN_ENTRY, cmd, '--config', file], { encoding: 'utf8', timeout: 60_000 });
      assert.equal(r.status, 1, r.stderr);
      assert.match(r.stderr, new RegExp(`^${file}:${at('fe80::1%eth0')}: MERIDIAN_ERR_RRL_CONFIG: /dns/rrl/exemptClients/0: "fe80::1%eth0" is a scoped IPv6 address`, 'm'));
      assert.match(
        r.stderr,
        new RegExp(
          `^${file}:${at('10.0.0.1/8')}: MERIDIAN_ERR_RRL_CONFIG: /dns/rrl/exemptClients/1: "10\\.0\\.0\\.1/8" has host bits set past /8: write the network, 10\\.0\\.0\\.0/8, or the host, 10\\.0\\.0\\.1/32 \\(BIND refuses it too`,
          'm',
        ),
      );
      assert.match(r.stderr, /exemptClients\/2: "2001:db8::1\/32" has host bits set past \/32: write the network, 2001:db8::\/32, or the host, 2001:db8::1\/128/);
      assert.doesNotMatch(r.stderr, /exemptClients\/[34]/);
    });
  }
});

describe('SIGHUP with a bad dns.rrl', () => {
  test('is rejected with the coded problem; the node keeps answering', async () => {
    const srv = await startMeridian({ zones: [{ origin: Z, text: ZONE }], dns: { rrl: { responsesPerSecond: 50 } } });
    try {
      const yaml = readFileSync(srv.configPath, 'utf8');
      writeFileSync(srv.configPath, yaml.replace(/responsesPerSecond: 50/, 'responsesPerSecond: 50\n    window: 99999'));
      assert.notEqual(readFileSync(srv.configPath, 'utf8'), yaml);
      process.kill(srv.pid, 'SIGHUP');
      const deadline = Date.now() + 20_000;
      while (!/reload rejected/.test(srv.output()) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      assert.match(srv.output(), /reload rejected/);
      assert.match(srv.output(), /MERIDIAN_ERR_RRL_CONFIG: \/dns\/rrl\/window: must be at most 3600/);
      const reply = await udpExchange(srv.port, query(`www.${Z}`, 'A'));
      assert.ok(reply, 'still answering');
      assert.equal(reply.readUInt16BE(2) & 0xf, 0);
    } finally {
      await srv.stop();
    }
  });
});
