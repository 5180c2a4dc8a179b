/**
 * `meridian versions`, `diff`, `rollback` and `audit` against a real `meridian serve` with its admin
 * API (issue 18): the real CLI's tables and `--json` checked against the API, the diff between two
 * versions, a rollback that DNS (`dig`) follows, guarded by the version it read or `--if-match`,
 * refused for a viewer token, and the audit log filtered.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startMeridianWithApi, type ApiNode } from '../helpers/apiproc.js';
import { cli, expectOk, type CliRun } from '../helpers/cli.js';
import { US, Z, ZONE } from '../helpers/gslb.js';
import { dig } from '../helpers/dnsproc.js';
import { until } from '../helpers/role.js';

const MOVED = '192.0.2.99';
const US_EAST = { location: { lat: 39, lon: -77, continent: 'NA', country: 'US' }, addresses: { ipv4: [US] } };

describe('meridian versions, diff, rollback and audit, through a node’s admin API', () => {
  let node: ApiNode;
  const meridian = (args: string[], env: NodeJS.ProcessEnv = {}): Promise<CliRun> => cli([...args, '--config', node.configPath], { env });
  const answer = async (): Promise<string> => (await dig(['@127.0.0.1', '-p', String(node.port), '+short', `www.${Z}`, 'A'])).trim();
  const write = async (method: string, path: string, body: unknown): Promise<void> => {
    const r = await node.api(method, path, body);
    assert.ok(r.status < 300, `${method} ${path}: ${r.status} ${r.text}`);
  };

  before(async () => {
    node = await startMeridianWithApi({ zones: [{ origin: Z, text: ZONE }], extra: { regions: [{ id: 'us-east', ...US_EAST }], services: [{ name: `www.${Z}`, ttl: 5, regions: ['us-east'] }] } });
    // Version 2 moves the region's address; version 3 halves its weight.
    await write('PUT', '/v1/regions/us-east?reason=new%20rack', { ...US_EAST, addresses: { ipv4: [MOVED] } });
    await write('PUT', '/v1/regions/us-east/weight?reason=half%20capacity', { weight: 50 });
    await until(async () => (await answer()) === MOVED, 10_000, 'the moved address is answered');
  });
  after(() => node?.stop());

  test('versions: newest first with author, action, target and reason; --json is the API’s list', async () => {
    const [text, json] = await Promise.all([meridian(['versions', '--limit', '5']), meridian(['versions', '--json'])]);
    const lines = expectOk(text).stdout.trimEnd().split('\n');
    assert.match(lines[0]!, /^VERSION\s+TIME\s+AUTHOR\s+ACTION\s+TARGET\s+REASON$/);
    assert.match(lines[1]!, /^\s*3\s+\S+Z\s+bootstrap\s+region\.weight\s+region\/us-east\s+half capacity$/);
    assert.match(lines[2]!, /^\s*2\s+\S+Z\s+bootstrap\s+region\.put\s+region\/us-east\s+new rack$/);
    assert.equal(lines.length, 4);
    assert.deepEqual(JSON.parse(expectOk(json).stdout), (await node.api('GET', '/v1/versions?limit=20')).json);
  });

  test('diff N M and diff N (to the current version); a version that does not exist is NOT_FOUND', async () => {
    const [oneToThree, fromTwo, json, missing] = await Promise.all([meridian(['diff', '1', '3']), meridian(['diff', '2']), meridian(['diff', '1', '2', '--json']), meridian(['diff', '1', '999'])]);
    assert.equal(expectOk(oneToThree).stdout, `config version 1 -> 3:\n~ /regions/0/addresses/ipv4/0: "${US}" -> "${MOVED}"\n~ /regions/0/weight: 100 -> 50\n`);
    assert.equal(expectOk(fromTwo).stdout, 'config version 2 -> 3:\n~ /regions/0/weight: 100 -> 50\n');
    assert.deepEqual(JSON.parse(expectOk(json).stdout), { from: 1, to: 2, diff: [{ op: 'replace', path: '/regions/0/addresses/ipv4/0', before: US, after: MOVED }] });
    assert.equal(missing.status, 1);
    assert.match(missing.stderr, /^diff: MERIDIAN_ERR_NOT_FOUND: version 999/);
  });

  test('rollback: a dry run changes nothing; a stale --if-match or a viewer token is refused; a rollback is a new version DNS follows', async () => {
    const viewer = (await node.api('POST', '/v1/tokens', { name: 'grafana', role: 'viewer' })).json.secret as string;
    const [dry, stale, forbidden] = await Promise.all([
      meridian(['rollback', '1', '--dry-run']),
      meridian(['rollback', '1', '--if-match', '2']),
      meridian(['rollback', '1'], { MERIDIAN_TOKEN: viewer }),
    ]);
    assert.match(
      expectOk(dry).stdout,
      new RegExp(`^dry run: rollback to version 1 would change the config at version 3 as follows \\(nothing was changed\\)\\n~ /regions/0/addresses/ipv4/0: "${MOVED}" -> "${US}"\\n`),
    );
    assert.equal(stale.status, 1);
    assert.match(stale.stderr, /^rollback: MERIDIAN_ERR_PRECONDITION_FAILED: /);
    assert.equal(forbidden.status, 1);
    assert.match(forbidden.stderr, /^rollback: MERIDIAN_ERR_FORBIDDEN: /);
    assert.equal(await node.applied(), 3);
    assert.equal(await answer(), MOVED);

    const done = expectOk(await meridian(['rollback', '1', '--reason', 'the rack move broke it']));
    assert.match(done.stdout, /^rollback to version 1: config version 4\n/);
    const v4 = (await node.api('GET', '/v1/versions/4')).json;
    assert.deepEqual([v4.action, v4.target, v4.reason], ['rollback', 'version/1', 'the rack move broke it']);
    await until(async () => (await answer()) === US, 10_000, 'DNS answers version 1’s address again');
  });

  test('audit: filtered by action and author, as a table and as the API’s JSON', async () => {
    const [text, json, none] = await Promise.all([
      meridian(['audit', '--action', 'region.weight']),
      meridian(['audit', '--author', 'bootstrap', '--limit', '3', '--json']),
      meridian(['audit', '--since', '2999-01-01']),
    ]);
    const lines = expectOk(text).stdout.trimEnd().split('\n');
    assert.match(lines[0]!, /^TIME\s+AUTHOR\s+ACTION\s+TARGET\s+VERSION\s+REASON\s+DETAIL$/);
    assert.match(lines[1]!, /^\S+Z\s+bootstrap\s+region\.weight\s+region\/us-east\s+3\s+half capacity\s+-$/);
    assert.equal(lines.length, 2);
    assert.deepEqual(JSON.parse(expectOk(json).stdout), (await node.api('GET', '/v1/audit?author=bootstrap&limit=3')).json);
    assert.equal(expectOk(none).stdout.trimEnd().split('\n').length, 1, 'only the header');
    const badTime = await meridian(['audit', '--since', 'yesterday-ish']);
    assert.equal(badTime.status, 2);
    assert.match(badTime.stderr, /^audit: MERIDIAN_ERR_USAGE: option '--since <time>' argument 'yesterday-ish' is invalid/);
  });
});
