import assert from 'node:assert/strict';
import net from 'node:net';
import { test } from 'node:test';
import { TargetPolicy } from '../config/targets.js';
import { DENIED, guardedRunner } from './guard.js';
import { runTargetCheck } from './scheduler.js';
import { listen, tcpTarget } from './testkit.js';

const policy = (allow: string[]): TargetPolicy => TargetPolicy.build({ allow, deny: [] }, []) as TargetPolicy;

test('a name that resolves to a denied address (localhost) fails as denied, is counted, and never connects', async (t) => {
  const server = await listen(net.createServer((s) => s.destroy()));
  t.after(() => server.close());
  const denied: string[] = [];
  const run = guardedRunner(
    runTargetCheck,
    () => policy([]),
    (key, rule) => denied.push(`${key} ${rule}`),
  );
  const result = await run({ ...tcpTarget(server.port), address: 'localhost' });
  assert.deepEqual(result, { ok: false, rttMs: 0, error: DENIED });
  assert.equal(denied.length, 1);
  assert.match(denied[0]!, /^r1\/tcp loopback /);
  assert.equal(server.accepted(), 0, 'the server saw no connection');
});

test('the same listener is reached once the policy allows loopback (the check above can fail)', async (t) => {
  const server = await listen(net.createServer((s) => s.destroy()));
  t.after(() => server.close());
  const run = guardedRunner(
    runTargetCheck,
    () => policy(['127.0.0.0/8']),
    () => assert.fail('not denied'),
  );
  assert.equal((await run(tcpTarget(server.port))).ok, true);
  assert.equal(server.accepted(), 1);
});

test('verdicts: defaults, allow, deny, own ports, mapped IPv4', () => {
  const own = TargetPolicy.build({ allow: ['127.0.0.0/8', '127.0.0.1:9153'], deny: ['10.9.0.0/16'] }, [
    { name: 'admin', host: '127.0.0.1', port: 8053 },
    { name: 'metrics', host: '127.0.0.1', port: 9153 },
    { name: 'dns', host: '0.0.0.0', port: 53 },
  ]) as TargetPolicy;
  const rule = (a: string, p: number): string | null => own.verdict(a, p)?.rule ?? null;
  assert.equal(rule('127.0.0.1', 8080), null);
  assert.equal(rule('127.0.0.1', 8053), 'own service admin 127.0.0.1:8053');
  assert.equal(rule('127.0.0.1', 9153), null, 'an exact host:port allow opens an own port');
  assert.equal(rule('127.0.0.5', 53), 'own service dns 0.0.0.0:53', 'a wildcard listen covers loopback');
  assert.equal(rule('192.0.2.1', 53), null, 'another host on the same port is not this node');
  assert.equal(rule('169.254.169.254', 80), 'metadata 169.254.169.254/32');
  assert.equal(rule('fd00:ec2::254', 80), 'metadata fd00:ec2::254/128');
  assert.equal(rule('169.254.1.1', 80), 'link-local 169.254.0.0/16');
  assert.equal(rule('fe80::1', 80), 'link-local fe80::/10');
  assert.equal(rule('::1', 80), 'loopback ::1/128');
  assert.equal(rule('0.0.0.0', 80), 'loopback 0.0.0.0/8');
  assert.equal(rule('::ffff:169.254.169.254', 80), 'metadata 169.254.169.254/32');
  // Every spelling of a mapped or IPv6 address is judged as the address it reaches.
  for (const a of ['::ffff:7f00:1', '::ffff:7f00:0001', '0::ffff:127.0.0.1', '0:0:0:0:0:ffff:127.0.0.1', '::FFFF:7F00:1']) assert.equal(rule(a, 8053), 'own service admin 127.0.0.1:8053', a);
  assert.equal(rule('::ffff:a9fe:a9fe', 80), 'metadata 169.254.169.254/32');
  // IPv6 forms that carry an IPv4 address (fresh-eyes review 2: these passed): SIIT, IPv4-compatible, NAT64.
  for (const a of ['::ffff:0:7f00:1', '::127.0.0.1', '::7f00:1', '64:ff9b::127.0.0.1']) assert.equal(rule(a, 8053), 'own service admin 127.0.0.1:8053', a);
  assert.equal(rule('64:ff9b::a9fe:a9fe', 80), 'metadata 169.254.169.254/32');
  assert.equal(rule('::1', 80), 'loopback ::1/128', '::1 stays IPv6 loopback, not 0.0.0.1');
  assert.equal(rule('::ffff:7f00:1', 9153), null, 'the exact allow holds for the mapped spelling too');
  assert.equal(rule('10.9.1.1', 80), 'health.targets.deny 10.9.0.0/16');
  assert.equal(rule('10.8.1.1', 80), null);
});
