/**
 * Zone A/AAAA records with addresses no client can use (fresh-eyes review of issue 16): broadcast,
 * multicast, unspecified and scoped IPv6 were refused as region answer addresses (defect 8) but
 * served from zone files and API zone writes. Now the same rule (src/wire/usable.ts) refuses them
 * everywhere: `meridian check` and `serve` at start (coded, at the record's file:line), SIGHUP
 * (rejected, the node keeps answering) and `PUT /v1/zones/{origin}` (400 MERIDIAN_ERR_INVALID_ADDRESS
 * naming the record). Real processes.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { decode, query, udpExchange } from '../helpers/client.js';
import { freePort, startMeridian } from '../helpers/dnsproc.js';
import { MERIDIAN_ENTRY } from '../helpers/meridian-bin.js';

const Z = 'addr.test';
const GOOD = `$ORIGIN ${Z}.\n$TTL 300\n@ SOA ns1 host 1 7200 3600 1209600 300\n@ NS ns1\nns1 A 127.0.0.1\nwww A 192.0.2.1\n`;
const BAD_RECORDS = ['bc A 255.255.255.255', 'mc A 224.0.0.251', 'any A 0.0.0.0', 'mc6 AAAA ff02::fb', 'scoped AAAA fe80::1%eth0', 'reserved A 240.0.0.1', 'll AAAA fe80::1'];
const BAD = GOOD + BAD_RECORDS.join('\n') + '\n';
const lineOf = (record: string): number => BAD.split('\n').indexOf(record) + 1;

describe('unusable addresses in a zone file', () => {
  let dir: string;
  let file: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'meridian-zone-addr-'));
    file = join(dir, 'meridian.yaml');
    writeFileSync(join(dir, 'zone'), BAD);
    writeFileSync(file, `dns:\n  listen: ["127.0.0.1:0"]\nzones:\n  - { origin: ${Z}, file: zone }\n`);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  for (const cmd of ['check', 'serve']) {
    test(`meridian ${cmd}: each record refused, coded, at its line; exit 1`, () => {
      const r = spawnSync(process.execPath, [...MERIDIAN_ENTRY, cmd, '--config', file], { encoding: 'utf8', timeout: 60_000 });
      assert.equal(r.status, 1, r.stdout + r.stderr);
      const zone = join(dir, 'zone');
      for (const record of BAD_RECORDS) {
        const [owner, type, address] = record.split(' ');
        assert.match(
          r.stderr,
          new RegExp(`^${zone}:${lineOf(record)}: MERIDIAN_ERR_INVALID_ADDRESS: ${type} "${address!.replace(/\./g, '\\.')}" is .*: no client can use it$`, 'm'),
          `${owner}\n${r.stderr}`,
        );
      }
    });
  }
});

describe('unusable addresses through SIGHUP and the API', () => {
  test('SIGHUP with a broadcast A is rejected and the node keeps answering; a zone PUT with one is a 400 naming the record', async () => {
    const adminPort = await freePort();
    const srv = await startMeridian({ zones: [{ origin: Z, text: GOOD }], extra: { admin: { listen: `127.0.0.1:${adminPort}` } } });
    try {
      const zoneFile = join(srv.dir, `${Z}.zone`);
      assert.equal(readFileSync(zoneFile, 'utf8'), GOOD);
      writeFileSync(zoneFile, GOOD + 'bc A 255.255.255.255\n');
      process.kill(srv.pid, 'SIGHUP');
      const deadline = Date.now() + 20_000;
      while (!/reload rejected/.test(srv.output()) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      assert.match(srv.output(), /MERIDIAN_ERR_INVALID_ADDRESS: A \\"255\.255\.255\.255\\" is the broadcast address.*reload rejected/);
      const reply = await udpExchange(srv.port, query(`www.${Z}`, 'A'));
      assert.ok(reply, 'still answering');
      assert.deepEqual(
        decode(reply).answers.map((a) => a.data),
        ['192.0.2.1'],
      );

      const token = readFileSync(join(srv.dir, 'data', 'admin-token'), 'utf8').trim();
      const records = [
        { name: '@', type: 'SOA', data: 'ns1 host 2 7200 3600 1209600 300' },
        { name: '@', type: 'NS', data: 'ns1' },
        { name: 'ns1', type: 'A', data: '127.0.0.1' },
        { name: 'mc', type: 'A', data: '239.255.255.250' },
      ];
      const res = await fetch(`http://127.0.0.1:${adminPort}/v1/zones/${Z}`, {
        method: 'PUT',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ records }),
      });
      const body = (await res.json()) as { error: { code: string; message: string; field: string } };
      assert.equal(res.status, 400, JSON.stringify(body));
      assert.equal(body.error.code, 'MERIDIAN_ERR_INVALID_ADDRESS');
      assert.equal(body.error.field, '/zones/0/records/3');
      assert.match(body.error.message, /A "239\.255\.255\.250" is multicast \(224\.0\.0\.0\/4\)/);
      const again = await udpExchange(srv.port, query(`mc.${Z}`, 'A'));
      assert.equal(again!.readUInt16BE(2) & 0xf, 3, 'nothing changed: mc is still NXDOMAIN');
    } finally {
      await srv.stop();
    }
  });
});
