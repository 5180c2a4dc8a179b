/**
 * CNAME chains that loop or run past the answer path's limit (16 in-zone hops) are accepted but
 * warned about with a code: `meridian check` prints `FILE:LINE: warning: MERIDIAN_WARN_CNAME_LOOP`
 * (or `_CNAME_CHAIN`) at the zone file's record and exits 0, and `meridian serve` logs the same
 * warning at start. Real processes.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { stringify } from 'yaml';
import { startMeridian } from '../helpers/dnsproc.js';
import { MERIDIAN_ENTRY } from '../helpers/meridian-bin.js';

const Z = 'gslb.example.com';
const LONG = Array.from({ length: 18 }, (_, i) => `c${i} CNAME c${i + 1}`).join('\n');
const ZONE = `$ORIGIN ${Z}.\n$TTL 300\n@ SOA ns1 host 1 7200 3600 1209600 300\n@ NS ns1\n@ NS ns2\nns1 A 127.0.0.1\nns2 A 127.0.0.2\nloop1 CNAME loop2\nloop2 CNAME loop1\nok CNAME ns1\n${LONG}\nc18 A 192.0.2.1\n`;
const lineOf = (text: string): number => ZONE.split('\n').findIndex((l) => l.startsWith(text)) + 1;

describe('CNAME loops and overlong chains are warned about, with a code', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'meridian-cname-chains-'));
    writeFileSync(join(dir, 'zone'), ZONE);
    writeFileSync(join(dir, 'meridian.yaml'), stringify({ zones: [{ origin: Z, file: 'zone' }] }));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('meridian check: each at its zone file line, exit 0', () => {
    const r = spawnSync(process.execPath, [...MERIDIAN_ENTRY, 'check', '--config', join(dir, 'meridian.yaml')], { encoding: 'utf8', timeout: 60_000 });
    assert.equal(r.status, 0, r.stderr);
    const zone = join(dir, 'zone');
    const warnings = r.stderr.trimEnd().split('\n');
    assert.ok(
      warnings.some((l) => l.startsWith(`${zone}:${lineOf('loop2 ')}: warning: MERIDIAN_WARN_CNAME_LOOP: `) && /loop1\.gslb\.example\.com\. -> loop2\.gslb\.example\.com\. -> loop1/.test(l)),
      r.stderr,
    );
    assert.ok(
      warnings.some((l) => l.startsWith(`${zone}:${lineOf('c0 ')}: warning: MERIDIAN_WARN_CNAME_CHAIN: `) && /answers follow at most 15/.test(l)),
      r.stderr,
    );
    assert.equal(warnings.length, 2, r.stderr);
  });

  test('meridian serve logs them at start', async () => {
    const srv = await startMeridian({ zones: [{ origin: Z, text: ZONE }] });
    try {
      const deadline = Date.now() + 10_000;
      while (!/MERIDIAN_WARN_CNAME_LOOP/.test(srv.output()) || !/MERIDIAN_WARN_CNAME_CHAIN/.test(srv.output())) {
        assert.ok(Date.now() < deadline, srv.output());
        await new Promise((r) => setTimeout(r, 50));
      }
    } finally {
      await srv.stop();
    }
  });
});
