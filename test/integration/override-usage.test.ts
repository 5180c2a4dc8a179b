/**
 * `meridian override` with bad arguments: a bad `--for` (negative, as `--for -5m` or `--for=-5m`,
 * unknown unit, zero) or an unknown option is one coded line on stderr and exit 2, never a stack
 * trace, and nothing is written (`override list` still shows none). Real CLI processes.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { stringify } from 'yaml';
import { REPO_ROOT } from '../helpers/dnsproc.js';

const Z = 'gslb.example.com';
const ZONE = `$ORIGIN ${Z}.\n$TTL 300\n@ SOA ns1 host 1 7200 3600 1209600 300\n@ NS ns1\nns1 A 127.0.0.1\n`;

function cli(args: string[]): Promise<{ status: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, ['--import', 'tsx', join(REPO_ROOT, 'src/cli.ts'), 'override', ...args], { encoding: 'utf8', timeout: 60_000 }, (err, stdout, stderr) =>
      resolve({ status: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

describe('meridian override: bad arguments are one coded line and exit 2', () => {
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
    ['--for -5m', ['--for', '-5m'], /^override: MERIDIAN_ERR_INVALID_DURATION: --for -5m: .*positive/],
    ['--for=-5m', ['--for=-5m'], /^override: MERIDIAN_ERR_INVALID_DURATION: --for -5m: .*positive/],
    ['--for 5x', ['--for', '5x'], /^override: MERIDIAN_ERR_INVALID_DURATION: --for 5x: expected e\.g\. 30m, 2h/],
    ['--for 0m', ['--for', '0m'], /^override: MERIDIAN_ERR_INVALID_DURATION: --for 0m: .*positive/],
    ['an unknown option', ['--forever', '1h'], /^override: MERIDIAN_ERR_USAGE: .*--forever/],
  ];
  for (const [name, extra, want] of cases) {
    test(name, async () => {
      const r = await cli(['set', 'region/us-east', 'down', '--reason', 'test', ...extra, '--config', config]);
      assert.equal(r.status, 2, r.stderr);
      const lines = r.stderr.trimEnd().split('\n');
      assert.equal(lines.length, 1, `one line: ${r.stderr}`);
      assert.match(lines[0]!, want);
      assert.doesNotMatch(r.stderr, /\n\s+at |TypeError|ERR_PARSE_ARGS/);
    });
  }

  const scopes: [string, string[], RegExp][] = [
    ['a region not in the config', ['set', 'region/nope', 'down'], /^override: MERIDIAN_ERR_NOT_FOUND: region\/nope is not in the config$/],
    ['a scope of no known kind', ['set', 'planet/mars', 'down'], /^override: MERIDIAN_ERR_USAGE: /],
    ['a state that is not one', ['set', 'region/us-east', 'sideways'], /^override: MERIDIAN_ERR_USAGE: /],
  ];
  for (const [name, args, want] of scopes) {
    test(name, async () => {
      const r = await cli([...args, '--reason', 'test', '--config', config]);
      assert.equal(r.status, 2, r.stderr);
      const lines = r.stderr.trimEnd().split('\n');
      assert.equal(lines.length, 1, `one line: ${r.stderr}`);
      assert.match(lines[0]!, want);
    });
  }

  test('nothing was written', async () => {
    const r = await cli(['list', '--config', config]);
    assert.equal(r.status, 0, r.stderr);
    assert.doesNotMatch(r.stdout, /us-east/);
  });
});
