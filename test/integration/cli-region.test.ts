/**
 * `meridian region` and `meridian endpoint` against a real `meridian serve` with its admin API
 * (issue 18): the real CLI, its tables and `--json`, and the state they leave, read back through the
 * API and DNS (`dig`): a weight change is a version with its reason; a drain takes the region out of
 * the answers and an undrain brings it back; an endpoint added is probed and removed again; API
 * errors are their MERIDIAN_ERR_* code and exit 1; an unreachable node is exit 1 with a clear line;
 * colour only on a terminal, and never with NO_COLOR.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Server } from 'node:net';
import { startMeridianWithApi, type ApiNode } from '../helpers/apiproc.js';
import { cli, expectOk, type CliRun } from '../helpers/cli.js';
import { EU, FAST_PROBES, region, US, Z, ZONE } from '../helpers/gslb.js';
import { dig, freePort } from '../helpers/dnsproc.js';
import { acceptor, portOf, until } from '../helpers/role.js';

/** The escape that starts every colour (SGR) sequence. */
const ESC = '\u001b[';

describe('meridian region and endpoint, through a node’s admin API', () => {
  let node: ApiNode;
  let backend: Server;
  let closedPort: number;
  /** `meridian ARGS --config <the node's config>`: the node's API and bootstrap token come from it. */
  const meridian = (args: string[], env: NodeJS.ProcessEnv = {}): Promise<CliRun> => cli([...args, '--config', node.configPath], { env });
  const pool = async (): Promise<string[]> => (await dig(['@127.0.0.1', '-p', String(node.port), '+short', `pool.${Z}`, 'A'])).trim().split('\n').filter(Boolean).sort();

  before(async () => {
    backend = await acceptor();
    closedPort = await freePort();
    node = await startMeridianWithApi({
      zones: [{ origin: Z, text: ZONE }],
      extra: {
        health: FAST_PROBES,
        regions: [region('us-east', 'NA', 'US', US, portOf(backend)), region('eu-west', 'EU', 'IE', EU, portOf(backend))],
        // Both regions in every answer (multivalue), with a 1 s TTL: a drain completes in about 2 s.
        services: [{ name: `pool.${Z}`, ttl: 1, regions: ['us-east', 'eu-west'], policy: { weighted: {}, multivalue: { max: 2 } } }],
      },
      admin: { drainTtl: 1 },
    });
  });
  after(async () => {
    await node?.stop();
    backend?.close();
  });

  test('region list: a table for people, the API’s JSON with --json', async () => {
    const [text, json] = await Promise.all([meridian(['region', 'list']), meridian(['region', 'list', '--json'])]);
    const lines = expectOk(text).stdout.trimEnd().split('\n');
    assert.match(lines[0]!, /^REGION\s+WEIGHT\s+CONFIGURED\s+HEALTH\s+DECIDED BY\s+ENDPOINTS UP\s+LOCATION\s+ADDRESSES$/);
    assert.match(
      lines.find((l) => l.startsWith('eu-west'))!,
      /^eu-west\s+100\s+up\s+(up|down)\s+\S+\s+\d\/1\s+EU\/IE\s+198\.51\.100\.10$/,
    );
    assert.ok(!text.stdout.includes(ESC), 'no colour into a pipe');
    assert.deepEqual(
      JSON.parse(expectOk(json).stdout).map((r: { id: string }) => r.id),
      (await node.api('GET', '/v1/regions')).json.map((r: { id: string }) => r.id),
    );
  });

  test('region show: one region, its endpoints and its drain', async () => {
    const r = expectOk(await meridian(['region', 'show', 'us-east']));
    assert.match(r.stdout, /^region:\s+us-east$/m);
    assert.match(r.stdout, /^addresses:\s+192\.0\.2\.10$/m);
    assert.match(r.stdout, /^drain:\s+none \(handed out\)$/m);
    assert.match(r.stdout, /^web-1\s+127\.0\.0\.1:\d+$/m);
  });

  test('region weight: a new version with its reason; the same weight again makes none; --if-match guards', async () => {
    const before = await node.applied();
    const r = expectOk(await meridian(['region', 'weight', 'us-east', '40', '--reason', 'half the racks']));
    assert.match(r.stdout, new RegExp(`^region us-east weight 40: config version ${before + 1}\n~ /regions/0/weight: 100 -> 40\n$`));
    const region = (await node.api('GET', '/v1/regions/us-east')).json;
    assert.equal(region.weight, 40);
    const v = (await node.api('GET', `/v1/versions/${before + 1}`)).json;
    assert.deepEqual([v.action, v.target, v.reason, v.author], ['region.weight', 'region/us-east', 'half the racks', 'bootstrap']);

    // Independent of each other: the same weight again, a stale guard, a dry run.
    const [again, stale, dry] = await Promise.all([
      meridian(['region', 'weight', 'us-east', '40', '--json']),
      meridian(['region', 'weight', 'us-east', '7', '--if-match', String(before)]),
      meridian(['region', 'weight', 'us-east', '0', '--dry-run']),
    ]);
    assert.deepEqual(JSON.parse(expectOk(again).stdout), { version: before + 1, unchanged: true, diff: [] });
    assert.equal(stale.status, 1);
    assert.match(stale.stderr, /^region weight: MERIDIAN_ERR_PRECONDITION_FAILED: /);
    assert.match(expectOk(dry).stdout, /^dry run: region us-east weight 0 would change the config at version \d+ as follows \(nothing was changed\)\n~ \/regions\/0\/weight: 40 -> 0\nanswers: /);
    assert.equal((await node.api('GET', '/v1/regions/us-east')).json.weight, 40);
  });

  test('API errors: their code and message, exit 1; a bad value is a usage error, exit 2', async () => {
    const [missing, bad, wrongToken] = await Promise.all([
      meridian(['region', 'weight', 'mars-1', '5']),
      meridian(['region', 'weight', 'us-east', '-5']),
      meridian(['region', 'list'], { MERIDIAN_TOKEN: 'not-a-valid-token-at-all' }),
    ]);
    assert.equal(missing.status, 1);
    assert.match(missing.stderr, /^region weight: MERIDIAN_ERR_NOT_FOUND: region mars-1/);
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /^region weight: MERIDIAN_ERR_USAGE: /);
    assert.equal(wrongToken.status, 1);
    assert.match(wrongToken.stderr, /^region list: MERIDIAN_ERR_UNAUTHORIZED: /);
  });

  test('an unreachable node: exit 1 and what to check; --api and --token-file name another node', async () => {
    const port = await freePort();
    const tokenFile = `${node.dir}/data/admin-token`;
    const [refused, named, elsewhere] = await Promise.all([
      cli(['region', 'list', '--api', `http://127.0.0.1:${port}`], { env: { MERIDIAN_TOKEN: 'x'.repeat(20) } }),
      cli(['region', 'list', '--api', `http://127.0.0.1:${node.apiPort}`, '--token-file', tokenFile, '--config', '/nonexistent.yaml']),
      // From another directory (no default config there): MERIDIAN_API and --token-file say it all.
      cli(['region', 'list', '--token-file', tokenFile], { env: { MERIDIAN_API: `http://127.0.0.1:${node.apiPort}` }, cwd: '/' }),
    ]);
    assert.equal(refused.status, 1);
    assert.match(
      refused.stderr,
      new RegExp(`^region list: MERIDIAN_ERR_API_UNREACHABLE: cannot reach the admin API at http://127\\.0\\.0\\.1:${port}: connection refused \\(is \`meridian serve\` running there`),
    );
    assert.equal(named.status, 1, 'a named config must exist');
    assert.match(named.stderr, /MERIDIAN_ERR_INVALID_CONFIG: \/nonexistent\.yaml: cannot read it \(ENOENT\)/);
    expectOk(elsewhere);
    assert.match(elsewhere.stdout, /^us-east\s/m);
  });

  test('region drain --wait: the region leaves the answers; region undrain brings it back', async () => {
    await until(async () => (await pool()).join() === [US, EU].sort().join(), 10_000, 'both regions answered');
    const drain = expectOk(await meridian(['region', 'drain', 'eu-west', '--reason', 'maintenance', '--wait']));
    assert.match(drain.stdout, /^region eu-west: lowering: answers carry TTL 1 s; stops being handed out at \S+ \(in \d+ s\)/);
    assert.match(drain.stdout, /\nregion eu-west: drained since \S+ \(not handed out\) \(config version \d+\)\n$/);
    assert.deepEqual(await pool(), [US]);
    const show = expectOk(await meridian(['region', 'show', 'eu-west', '--json']));
    assert.equal(JSON.parse(show.stdout).drainStatus.phase, 'drained');
    const again = await meridian(['region', 'drain', 'eu-west', '--reason', 'switch maintenance', '--ttl', '2']);
    assert.equal(again.status, 1, again.stderr);
    assert.match(again.stderr, /^region drain: MERIDIAN_ERR_CONFLICT: region eu-west is already drained \(TTL 1 s, since \S+\): --ttl 2 was not applied and nothing changed; undrain it first/);
    // The same drain again: nothing changes, exit 0, and it says so, reason included.
    const same = expectOk(await meridian(['region', 'drain', 'eu-west', '--reason', 'switch maintenance']));
    assert.match(same.stderr, /^region eu-west was already drained \(since \S+\): nothing changed, no version was made, and --reason was not recorded\n$/);

    const undrain = expectOk(await meridian(['region', 'undrain', 'eu-west', '--reason', 'done']));
    assert.match(undrain.stdout, /^region eu-west: drain ended, none \(handed out\)/);
    await until(async () => (await pool()).length === 2, 10_000, 'eu-west answered again');
  });

  test('endpoint add, list, remove: registered, probed, deregistered; removing it again is NOT_FOUND', async () => {
    const add = expectOk(await meridian(['endpoint', 'add', 'eu-west', `127.0.0.1:${closedPort}`, '--id', 'web-2', '--check', 'tcp', '--reason', 'scale out']));
    assert.match(add.stdout, /^endpoint eu-west\/web-2 registered: config version \d+\n\+ \/regions\/1\/endpoints\/1: /);
    const listed = (await node.api('GET', '/v1/regions/eu-west/endpoints')).json;
    assert.deepEqual(
      listed.map((e: { id: string; port: number }) => [e.id, e.port]),
      [
        ['web-1', portOf(backend)],
        ['web-2', closedPort],
      ],
    );
    // The same id again replaces it, and says so; a status code that is not one is a usage error.
    const replaced = expectOk(await meridian(['endpoint', 'add', 'eu-west', `127.0.0.1:${closedPort}`, '--id', 'web-2', '--check', 'http', '--reason', 'http']));
    assert.match(
      replaced.stdout,
      /^endpoint eu-west\/web-2 updated \(replaced: check options not given are dropped\): config version \d+\n~ \/regions\/1\/endpoints\/1\/check\/type: "tcp" -> "http"\n$/,
    );
    const notCode = await meridian(['endpoint', 'add', 'eu-west', '10.9.9.9:80', '--check', 'http', '--expect', '200,abc']);
    assert.equal(notCode.status, 2, notCode.stderr);
    assert.match(notCode.stderr, /^endpoint add: MERIDIAN_ERR_USAGE: option '--expect <codes>' argument '200,abc' is invalid\. "abc" is not an HTTP status code \(100 to 599\)\n/);
    expectOk(await meridian(['endpoint', 'add', 'eu-west', `127.0.0.1:${closedPort}`, '--id', 'web-2', '--check', 'tcp', '--reason', 'back']));
    const table = expectOk(await meridian(['endpoint', 'list', 'eu-west']));
    assert.match(table.stdout, new RegExp(`^web-2\\s+127\\.0\\.0\\.1\\s+${closedPort}\\s+tcp$`, 'm'));
    // The node probes what was registered: nothing listens there, so it is down (1 of 2 up).
    await until(async () => (await node.api('GET', '/v1/regions/eu-west')).json.health?.endpointsUp === 1, 10_000, 'web-2 probed down');

    const remove = expectOk(await meridian(['endpoint', 'remove', 'eu-west', 'web-2', '--reason', 'scale in', '--json']));
    assert.equal(JSON.parse(remove.stdout).action, 'endpoint.deregister');
    assert.equal((await node.api('GET', '/v1/regions/eu-west/endpoints')).json.length, 1);
    const again = await meridian(['endpoint', 'remove', 'eu-west', `127.0.0.1:${closedPort}`]);
    assert.equal(again.status, 1);
    assert.match(again.stderr, /^endpoint remove: MERIDIAN_ERR_NOT_FOUND: /);
  });

  test('colour on a terminal only, and never with NO_COLOR', async () => {
    // `script` gives the CLI a pseudo-terminal for stdout, as an operator's shell does.
    const onTty = (env: NodeJS.ProcessEnv) => cli(['region', 'list', '--config', node.configPath], { env, wrap: (argv) => ['script', '-qec', argv.map((a) => `'${a}'`).join(' '), '/dev/null'] });
    const [tty, noColor] = await Promise.all([onTty({ TERM: 'xterm' }), onTty({ TERM: 'xterm', NO_COLOR: '1' })]);
    assert.equal(tty.status, 0, tty.stdout);
    assert.ok(tty.stdout.includes(`${ESC}1mREGION`), tty.stdout);
    assert.ok(tty.stdout.includes(`${ESC}32mup${ESC}39m`), tty.stdout);
    assert.equal(noColor.status, 0, noColor.stdout);
    assert.match(noColor.stdout, /REGION/);
    assert.ok(!noColor.stdout.includes(ESC), noColor.stdout);
  });
});
