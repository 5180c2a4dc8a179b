/**
 * `meridian check` reports every problem of a service's policy, each at its own file:line, and
 * exits 1: a geo map with an unknown continent and an unknown region, a bad balance prefix and a
 * bad all-down mode are four problems, not the first of them. Real CLI processes.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { MERIDIAN_ENTRY } from '../helpers/meridian-bin.js';

const Z = 'gslb.example.com';
const ZONE = `$ORIGIN ${Z}.\n$TTL 300\n@ SOA ns1 host 1 7200 3600 1209600 300\n@ NS ns1\nns1 A 127.0.0.1\n`;
const YAML = `zones:
  - { origin: ${Z}, file: zone }
regions:
  - { id: a, location: { lat: 1, lon: 1, continent: EU, country: DE }, addresses: { ipv4: [192.0.2.1] } }
  - { id: b, location: { lat: 2, lon: 2, continent: NA, country: US }, addresses: { ipv4: [192.0.2.2] } }
services:
  - name: www.${Z}
    regions: [a, b]
    policy:
      geo:
        continents:
          XX: [a]
          EU: [nowhere]
      weighted: { prefix4: 99 }
    allDown: { mode: sometimes }
`;

/** 1-based line of the first line of YAML containing `text`. */
const lineOf = (text: string): number => YAML.split('\n').findIndex((l) => l.includes(text)) + 1;

describe('meridian check: every problem of a policy', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'meridian-check-problems-'));
    writeFileSync(join(dir, 'zone'), ZONE);
    writeFileSync(join(dir, 'meridian.yaml'), YAML);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('four problems, each with its file:line and what is wrong, exit 1', () => {
    const file = join(dir, 'meridian.yaml');
    assert.equal(readFileSync(file, 'utf8'), YAML);
    const r = spawnSync(process.execPath, [...MERIDIAN_ENTRY, 'check', '--config', file], { encoding: 'utf8', timeout: 60_000 });
    assert.equal(r.status, 1, r.stderr);
    const lines = r.stderr.trimEnd().split('\n');
    const want: [number, RegExp][] = [
      [lineOf('XX: [a]'), /geo\.continents: "XX" is not a continent code/],
      [lineOf('EU: [nowhere]'), /geo\.continents\.EU\[0\]: unknown region "nowhere"/],
      [lineOf('weighted:'), /weighted\.prefix4 must be an integer from 0 to 32/],
      [lineOf('allDown:'), /allDown\.mode must be failopen, fallback or servfail/],
    ];
    for (const [line, reason] of want) {
      assert.ok(
        lines.some((l) => l.startsWith(`${file}:${line}: service www.${Z}.: `) && reason.test(l)),
        `${file}:${line}: ${reason}\n${r.stderr}`,
      );
    }
    assert.equal(lines.length, 4, r.stderr);
    assert.match(r.stdout, /^4 problem\(s\)$/m);
  });
});
