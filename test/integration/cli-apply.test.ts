/**
 * Config as code (issue 18) against a real `meridian serve` with its admin API: `meridian export`
 * writes a version as YAML that `meridian apply` accepts (export → apply changes nothing; export →
 * edit → apply is one version with its reason, which dig and the next export see); `--dry-run`
 * shows the diff and the answers that would move and changes nothing; a bad file (for the YAML
 * reader, or for the node's validation) and a stale `--if-match` change nothing.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startMeridianWithApi, type ApiNode } from '../helpers/apiproc.js';
import { cli, expectOk, type CliRun } from '../helpers/cli.js';
import { dig } from '../helpers/dnsproc.js';
import { US, Z, ZONE } from '../helpers/gslb.js';
import { until } from '../helpers/role.js';

const MOVED = '192.0.2.99';
const US_EAST = { id: 'us-east', location: { lat: 39, lon: -77, continent: 'NA', country: 'US' }, addresses: { ipv4: [US] } };

describe('meridian apply and export, through a node’s admin API', () => {
  let node: ApiNode;
  const meridian = (args: string[]): Promise<CliRun> => cli([...args, '--config', node.configPath]);
  const answer = async (): Promise<string> => (await dig(['@127.0.0.1', '-p', String(node.port), '+short', `www.${Z}`, 'A'])).trim();
  const head = async (): Promise<number> => (await node.api('GET', '/v1/status')).json.head as number;
  const file = (name: string, text: string): string => {
    const path = join(node.dir, name);
    writeFileSync(path, text);
    return path;
  };

  before(async () => {
    node = await startMeridianWithApi({ zones: [{ origin: Z, text: ZONE }], extra: { regions: [US_EAST], services: [{ name: `www.${Z}`, ttl: 5, regions: ['us-east'] }] } });
  });
  after(() => node?.stop());

  test('export → apply: the same config, so no new version', async () => {
    const exported = join(node.dir, 'live.yaml');
    const out = expectOk(await meridian(['export', '-o', exported]));
    assert.equal(out.stderr, `export: config version 1 written to ${exported}\n`);
    const yaml = readFileSync(exported, 'utf8');
    assert.match(yaml, /^# meridian export: config version 1 of http:\/\/127\.0\.0\.1:\d+\n/);
    assert.match(yaml, /records:\n {6}- \{ name: "@", ttl: 300, type: SOA, data: /);
    const again = expectOk(await meridian(['apply', exported, '--reason', 'no-op']));
    assert.equal(again.stdout, `apply ${exported}: already so; no new version (config version 1)\n`);
    assert.equal(await head(), 1);
  });

  test('export -o to a path it cannot write: one coded line naming it, exit 1, no stack', async () => {
    for (const path of ['/nonexistent/dir/x.yaml', node.dir]) {
      const r = await meridian(['export', '-o', path]);
      assert.equal(r.status, 1, r.stderr);
      assert.match(r.stderr, new RegExp(`^export: MERIDIAN_ERR_CANNOT_WRITE: cannot write ${path}: E[A-Z]+\\n$`));
    }
  });

  test('explain --api from a directory without a config asks the node; without --api or a config it says what to pass', async () => {
    const token = readFileSync(join(node.dir, 'data', 'admin-token'), 'utf8').trim();
    const elsewhere = mkdtempSync(join(tmpdir(), 'meridian-explain-'));
    try {
      const [asked, none] = await Promise.all([
        cli(['explain', `www.${Z}`, '192.0.2.1', '--api', `http://127.0.0.1:${node.apiPort}`], { cwd: elsewhere, env: { MERIDIAN_TOKEN: token } }),
        cli(['explain', `www.${Z}`, '192.0.2.1'], { cwd: elsewhere }),
      ]);
      assert.match(expectOk(asked).stdout, /\nview: node API at http:\/\/127\.0\.0\.1:\d+, config version \d+ \(live\)\n$/);
      assert.equal(none.status, 1, none.stderr);
      assert.equal(none.stderr, 'explain: MERIDIAN_ERR_INVALID_CONFIG: zones/meridian.yaml: no such config: name the node with --api URL (or MERIDIAN_API), or a config with --config FILE\n');
    } finally {
      rmSync(elsewhere, { recursive: true, force: true });
    }
  });

  test('export → edit → apply: --dry-run changes nothing; then one version with the reason, which dig and export see', async () => {
    const edited = file('edited.yaml', expectOk(await meridian(['export'])).stdout.replace(`- ${US}`, `- ${MOVED}`));
    // A static record changed too: the dry run lists it beside the service answers.
    const exported = expectOk(await meridian(['export'])).stdout;
    assert.match(exported, /\{ name: ns1, ttl: 300, type: A, data: 127\.0\.0\.1 \}/);
    const withRecord = file('with-record.yaml', exported.replace('{ name: ns1, ttl: 300, type: A, data: 127.0.0.1 }', '{ name: ns1, ttl: 300, type: A, data: 127.0.0.2 }'));
    const dryRecord = expectOk(await meridian(['apply', withRecord, '--dry-run']));
    assert.match(dryRecord.stdout, new RegExp(`\nstatic records that would change \\(1\\):\n  ns1\\.${Z.replace(/\./g, '\\.')}\\. A: 300 127\\.0\\.0\\.1 -> 300 127\\.0\\.0\\.2\n$`));
    const dry = expectOk(await meridian(['apply', edited, '--dry-run']));
    assert.doesNotMatch(dry.stdout, /static records/, 'no record changed in this one');
    assert.match(
      dry.stdout,
      new RegExp(`^dry run: apply ${edited} would change the config at version 1 as follows \\(nothing was changed\\)\\n~ /regions/0/addresses/ipv4/0: "${US}" -> "${MOVED}"\\n`),
    );
    assert.match(dry.stdout, new RegExp(`\\n  www\\.${Z.replace(/\./g, '\\.')}\\.? A for \\S+: ${US} -> ${MOVED}\\n`));
    assert.equal(await head(), 1);
    assert.equal(await answer(), US);

    const empty = await meridian(['apply', file('empty.yaml', ''), '--reason', 'x']);
    assert.equal(empty.status, 1);
    assert.match(empty.stderr, /^\S+empty\.yaml:1: \/zones: is required\napply: MERIDIAN_ERR_INVALID_CONFIG: 1 problem\(s\) in /, 'a missing field once, not also as the wrong type');

    const done = expectOk(await meridian(['apply', edited, '--reason', 'the rack moved']));
    assert.equal(done.stdout, `apply ${edited}: config version 2\n~ /regions/0/addresses/ipv4/0: "${US}" -> "${MOVED}"\n`);
    const v2 = (await node.api('GET', '/v1/versions/2')).json;
    assert.deepEqual([v2.action, v2.target, v2.reason], ['config.put', 'config', 'the rack moved']);
    await until(async () => (await answer()) === MOVED, 10_000, 'DNS answers the applied address');
    assert.match(expectOk(await meridian(['export'])).stdout, new RegExp(`- ${MOVED.replace(/\./g, '\\.')}\\n`));
    assert.match(expectOk(await meridian(['export', '--version', '1'])).stdout, /# meridian export: config version 1 /);
  });

  test('a file without services: is refused (it would delete them all), dry run too; nothing changes', async () => {
    const before = await head();
    const nosvc = file('nosvc.yaml', `zones:\n  - origin: ${Z}\n    records: []\nregions:\n  - ${JSON.stringify(US_EAST)}\n`);
    for (const extra of [['--dry-run'], ['--reason', 'oops']]) {
      const r = await meridian(['apply', nosvc, ...extra]);
      assert.equal(r.status, 1, r.stderr);
      assert.equal(
        r.stderr,
        `apply: MERIDIAN_ERR_SECTION_OMITTED: ${nosvc} has no services:, which would delete every one of the 1 services the node has; write services: [] to mean that. Nothing was sent\n`,
      );
    }
    assert.equal(await head(), before);
  });

  test('a stale --if-match is refused and changes nothing', async () => {
    const current = file('current.yaml', expectOk(await meridian(['export'])).stdout.replace('ttl: 5', 'ttl: 7'));
    const stale = await meridian(['apply', current, '--if-match', '1']);
    assert.equal(stale.status, 1);
    assert.match(stale.stderr, /^apply: MERIDIAN_ERR_PRECONDITION_FAILED: If-Match names version 1; the current version is 2/);
    assert.equal(await head(), 2);
  });

  test('a file the node finds invalid is refused with coded errors; a YAML error is reported at its line and nothing is sent', async () => {
    const before = await head();
    const unknown = file('unknown-region.yaml', expectOk(await meridian(['export'])).stdout.replace('regions:\n      - us-east', 'regions:\n      - mars-1'));
    const refused = await meridian(['apply', unknown]);
    assert.equal(refused.status, 1, refused.stdout);
    assert.match(refused.stderr, /^apply: MERIDIAN_ERR_INVALID_CONFIG: .*mars-1/);
    assert.match(refused.stderr, /\n {2}\/services\/0\/regions\/0: /);
    const broken = file('broken.yaml', 'zones:\n  - origin: x\n    records: [\n');
    const syntax = await meridian(['apply', broken]);
    assert.equal(syntax.status, 1);
    assert.match(syntax.stderr, new RegExp(`^${broken.replace(/[.]/g, '\\.')}:\\d+:\\d+: YAML syntax error: `));
    assert.match(syntax.stderr, /\napply: MERIDIAN_ERR_INVALID_CONFIG: \d+ problem\(s\) in .*broken\.yaml; nothing was sent\n$/);
    assert.equal(await head(), before);
  });

  test('a YAML with zone files, as serve reads it, applies too', async () => {
    file('zone.txt', ZONE);
    const yaml = file('layout.yaml', `zones:\n  - origin: ${Z}\n    file: zone.txt\nregions:\n  - ${JSON.stringify(US_EAST)}\nservices:\n  - { name: www.${Z}, ttl: 5, regions: [us-east] }\n`);
    const r = expectOk(await meridian(['apply', yaml, '--reason', 'back to the file']));
    assert.match(r.stdout, new RegExp(`^apply ${yaml}: config version 3\\n~ /regions/0/addresses/ipv4/0: "${MOVED}" -> "${US}"\\n$`));
    await until(async () => (await answer()) === US, 10_000, 'DNS answers the file’s address');
  });
});
