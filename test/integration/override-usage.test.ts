/**
 * `meridian override` with bad arguments: a bad `--for` (negative, as `--for -5m` or `--for=-5m`,
 * unknown unit, zero) or an unknown option is a coded line and the usage on stderr and exit 2, never
 * a stack trace, and nothing is written (`override list` still shows none). Real CLI processes.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { stringify } from 'yaml';
import { cli, type CliRun } from '../helpers/cli.js';

const Z = 'gslb.example.com';
const ZONE = `$ORIGIN ${Z}.\n$TTL 300\n@ SOA ns1 host 1 7200 3600 1209600 300\n@ NS ns1\nns1 A 127.0.0.1\n`;

const override = (args: string[]): Promise<CliRun> => cli(['override', ...args]);

/** A usage problem: the coded line first, then the command's usage; never a stack trace. */
function assertUsage(r: CliRun, command: string, want: RegExp): void {
  assert.equal(r.status, 2, r.stderr);
  const lines = r.stderr.trimEnd().split('\n');
  assert.match(lines[0]!, want);
  assert.ok(lines.includes(`Usage: meridian ${command} [options] ${command === 'override set' ? '<scope> <state>' : '<scope>'}`), r.stderr);
  assert.doesNotMatch(r.stderr, /\n\s+at |TypeError|ERR_PARSE_ARGS/);
}

describe('meridian override: bad arguments are a coded line, the usage and exit 2', () => {
  let dir: string;
  let config: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'meridian-override-usage-'));
    writeFileSync(join(dir, 'zone'), ZONE);
    config = join(dir, 'meridian.yaml');
    const region = { id: 'us-east', location: { lat: 39, lon: -77, continent: 'NA', country: 'US' }, addresses: { ipv4: ['192.0.2.10'] } };
    writeFileSync(config, stringify({ zones: [{ origin: Z, file: 'zone' }], regions: [region], services: [{ name: `www.${Z}`, regions: ['us-east'] }] }));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  const cases: [string, string[], RegExp][] = [
    ['--for -5m', ['--for', '-5m'], /^override set: MERIDIAN_ERR_INVALID_DURATION: --for -5m: .*positive/],
    ['--for=-5m', ['--for=-5m'], /^override set: MERIDIAN_ERR_INVALID_DURATION: --for -5m: .*positive/],
    ['--for 5x', ['--for', '5x'], /^override set: MERIDIAN_ERR_INVALID_DURATION: --for 5x: expected e\.g\. 30m, 2h/],
    ['--for 0m', ['--for', '0m'], /^override set: MERIDIAN_ERR_INVALID_DURATION: --for 0m: .*positive/],
    ['an unknown option', ['--forever', '1h'], /^override set: MERIDIAN_ERR_USAGE: .*--forever/],
  ];
  for (const [name, extra, want] of cases) {
    test(name, async () => {
      assertUsage(await override(['set', 'region/us-east', 'down', '--reason', 'test', ...extra, '--config', config]), 'override set', want);
    });
  }

  const scopes: [string, string[], RegExp][] = [
    ['a scope of no known kind', ['set', 'planet/mars', 'down'], /^override set: MERIDIAN_ERR_USAGE: /],
    ['a state that is not one', ['set', 'region/us-east', 'sideways'], /^override set: MERIDIAN_ERR_USAGE: /],
  ];
  for (const [name, args, want] of scopes) {
    test(name, async () => {
      assertUsage(await override([...args, '--reason', 'test', '--config', config]), 'override set', want);
    });
  }

  test('a region not in the config: NOT_FOUND, exit 1, no usage (not a bad command line)', async () => {
    const r = await override(['set', 'region/nope', 'down', '--reason', 'test', '--config', config]);
    assert.deepEqual([r.status, r.stderr], [1, 'override set: MERIDIAN_ERR_NOT_FOUND: region/nope is not in the config\n']);
  });

  test('nothing was written', async () => {
    const r = await override(['list', '--config', config]);
    assert.equal(r.status, 0, r.stderr);
    assert.doesNotMatch(r.stdout, /us-east/);
  });
});
