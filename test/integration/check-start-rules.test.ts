/**
 * `meridian check` runs the rules `serve` refuses to start on (fresh-eyes review of issue 16: it
 * said `ok` to both of these), by the same functions, as coded problems at their file:line; and it
 * reports one forwarder clash once (it printed one clash three times). Real CLI processes: `check`
 * and `serve` on the same YAML, under the same `ulimit -n`.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { cli, type CliRun } from '../helpers/cli.js';

const Z = 'gslb.example.com';
const ZONE = `$ORIGIN ${Z}.\n$TTL 300\n@ SOA ns1 host 1 7200 3600 1209600 300\n@ NS ns1\nns1 A 127.0.0.1\n`;
const region = (id: string, ip: string, forwarder: string): string =>
  `  - id: ${id}\n    location: { lat: 1, lon: 1, continent: EU, country: DE }\n    addresses: { ipv4: [${ip}] }\n    forwarder: ${forwarder}\n`;

/** A YAML with two regions and one forwarder listener; `extra` is appended at the top level. */
function yaml(opts: { relayB?: string; listener?: string; extra?: string }): string {
  return (
    `dns: { listen: ["127.0.0.1:0"] }\n` +
    `zones:\n  - { origin: ${Z}, file: zone }\n` +
    `regions:\n${region('a', '192.0.2.1', '{ relay: "127.0.0.1:18181" }')}${region('b', '192.0.2.2', `{ relay: "${opts.relayB ?? '127.0.0.1:18182'}" }`)}` +
    `services:\n  - { name: www.${Z}, regions: [a, b] }\n` +
    `metrics: { listen: null }\n` +
    `forward:\n  embedded: [a, b]\n  listeners:\n    - ${opts.listener ?? `{ name: web, service: www.${Z}, listen: "127.0.0.1:0" }`}\n` +
    (opts.extra ?? '')
  );
}

const lineOf = (text: string, needle: string): number => text.split('\n').findIndex((l) => l.includes(needle)) + 1;

/** `meridian <args>` under `ulimit -n 1024` (the shell or unit both roles would run in). */
const meridian = (args: string[]): Promise<CliRun> =>
  cli(args, { wrap: (argv) => ['bash', '-c', 'ulimit -n 1024; exec "$@"', 'bash', ...argv], env: { MERIDIAN_LOG_LEVEL: 'error' }, timeoutMs: 60_000 });

describe('meridian check: the start rules of serve, and each problem once', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'meridian-check-start-'));
    writeFileSync(join(dir, 'zone'), ZONE);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));
  const write = (name: string, text: string): string => {
    const file = join(dir, name);
    writeFileSync(file, text);
    return file;
  };

  test('a listener cap over the fd budget: check and serve both refuse it, at the line of maxConnections', async () => {
    const text = yaml({ listener: `{ name: web, service: www.${Z}, listen: "127.0.0.1:0",\n        maxConnections: 5000 }` });
    const file = write('cap.yaml', text);
    const want = new RegExp(
      `^${file}:${lineOf(text, 'maxConnections: 5000')}: MERIDIAN_ERR_INVALID_CONFIG: forward\\.listeners\\[0\\]\\.maxConnections: 5000 is over the fd budget of \\d+ relayed connections \\(fd limit 1024 `,
      'm',
    );
    const check = await meridian(['check', '--config', file]);
    assert.equal(check.status, 1, check.stdout + check.stderr);
    assert.match(check.stderr, want);
    assert.match(check.stdout, /^1 problem\(s\)$/m);
    const serve = await meridian(['serve', '--config', file]);
    assert.equal(serve.status, 1);
    assert.match(serve.stdout + serve.stderr, new RegExp(want.source.slice(1)));
  });

  test('admin.listen off loopback without a token: refused by check at its line, as serve refuses it; a YAML or stored token makes it ok', async () => {
    const extra = `admin:\n  listen: "0.0.0.0:18053"\n  dataDir: data-open\n`;
    const text = yaml({ extra });
    const file = write('open.yaml', text);
    const check = await meridian(['check', '--config', file]);
    assert.equal(check.status, 1, check.stdout + check.stderr);
    assert.match(check.stderr, new RegExp(`^${file}:${lineOf(text, '0.0.0.0:18053')}: MERIDIAN_ERR_ADMIN_NO_TOKENS: the admin API would listen on 0\\.0\\.0\\.0 without any token`, 'm'));
    const serve = await meridian(['serve', '--config', file]);
    assert.equal(serve.status, 1);
    assert.match(serve.stdout + serve.stderr, /MERIDIAN_ERR_ADMIN_NO_TOKENS: the admin API would listen on 0\.0\.0\.0 without any token/);

    const sha = 'a'.repeat(64);
    const withToken = await meridian(['check', '--config', write('token.yaml', yaml({ extra: extra + `  tokens: [{ name: ops, role: admin, sha256: ${sha} }]\n` }))]);
    assert.equal(withToken.status, 0, withToken.stderr);
    // A token made through the API lives in the file store (embedded mode): serve would start.
    mkdirSync(join(dir, 'data-open'), { recursive: true });
    writeFileSync(join(dir, 'data-open', 'tokens.json'), JSON.stringify([{ name: 'api', role: 'admin', sha256: sha, createdAt: new Date().toISOString(), createdBy: 'test' }]));
    const stored = await meridian(['check', '--config', file]);
    assert.equal(stored.status, 0, stored.stderr);
  });

  test('two embedded regions on one relay address: one problem, at the later region', async () => {
    const text = yaml({ relayB: '127.0.0.1:18181' });
    const file = write('clash.yaml', text);
    const check = await meridian(['check', '--config', file]);
    assert.equal(check.status, 1, check.stderr);
    assert.match(check.stdout, /^1 problem\(s\)$/m, check.stderr);
    const b = text.split('\n').findIndex((l, i) => i > lineOf(text, 'id: b') && l.includes('forwarder:')) + 1;
    assert.match(check.stderr, new RegExp(`^${file}:${b}: MERIDIAN_ERR_INVALID_FORWARDER: region b: forwarder\\.relay: 127\\.0\\.0\\.1:18181 is also where region a's relay listener binds`, 'm'));
  });
});
