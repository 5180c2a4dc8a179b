/**
 * `meridian serve` with `dns.listen` on port 53 but without CAP_NET_BIND_SERVICE fails with a coded
 * line that says how to grant the capability (systemd's AmbientCapabilities, as the unit in
 * deploy/systemd does; setcap) or to listen above 1023, and exit 1: no stack trace (issue 18).
 *
 * The bind is genuinely refused by the kernel (EACCES): the process runs in a network namespace of
 * its own (`unshare --net`, so port 53 is free whatever the machine runs), where
 * `net.ipv4.ip_unprivileged_port_start` is set to 1024 explicitly, and without the capability
 * (`setpriv --bounding-set -net_bind_service`). Dropping the capability rather than switching to an
 * unprivileged user keeps the test runnable where that user cannot read the Node binary (CI's
 * Node 24 lives under /root).
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { stringify } from 'yaml';
import { cli } from '../helpers/cli.js';
import { FIXTURE_ZONE } from '../helpers/server.js';

function skipReason(): string | false {
  if (process.getuid?.() !== 0) return 'needs root to make a network namespace (unshare --net)';
  try {
    execFileSync('unshare', ['--net', '--', 'sh', '-c', 'command -v setpriv && command -v ip && command -v sysctl'], { stdio: 'ignore' });
  } catch {
    return 'needs unshare, setpriv, ip and sysctl (util-linux, iproute2, procps)';
  }
  return false;
}

/** Runs argv in a new network namespace, with unprivileged ports from 1024 and without CAP_NET_BIND_SERVICE. */
const unprivileged = (argv: string[]): string[] => [
  'unshare',
  '--net',
  '--',
  'sh',
  '-c',
  'ip link set lo up && sysctl -qw net.ipv4.ip_unprivileged_port_start=1024 && exec setpriv --bounding-set=-net_bind_service --inh-caps=-net_bind_service -- "$@"',
  'sh',
  ...argv,
];

// One process binds itself; with workers the primary claims the ports first (src/node/workers/claim.ts).
for (const workers of ['1', '2']) {
  test(`serve --workers ${workers} on port 53 without CAP_NET_BIND_SERVICE: a coded hint and exit 1, no stack`, { skip: skipReason() }, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'meridian-port53-'));
    try {
      writeFileSync(join(dir, 'zone'), readFileSync(FIXTURE_ZONE, 'utf8'));
      writeFileSync(join(dir, 'meridian.yaml'), stringify({ dns: { listen: ['127.0.0.1:53'] }, zones: [{ origin: 'gslb.example.com', file: 'zone' }] }));
      const r = await cli(['serve', '--config', join(dir, 'meridian.yaml'), '--workers', workers], { wrap: unprivileged });
      assert.equal(r.status, 1, r.stdout + r.stderr);
      const line = r.stderr.split('\n').find((l) => l.startsWith('serve: '));
      assert.ok(line, r.stderr);
      assert.match(line, /^serve: MERIDIAN_ERR_BIND_DENIED: cannot bind 127\.0\.0\.1:53: permission denied \(EACCES\)\. Ports below 1024 need CAP_NET_BIND_SERVICE: /);
      assert.match(line, /AmbientCapabilities=CAP_NET_BIND_SERVICE \(deploy\/systemd\/meridian\.service\)/);
      assert.match(line, /setcap cap_net_bind_service=\+ep "\$\(readlink -f "\$\(command -v node\)"\)"\)/, 'the real binary, as README says: setcap does not follow a symlink');
      assert.match(line, /a port above 1023 \(dns\.listen/);
      // The log says the same with its code, and neither stream carries a stack trace.
      assert.match(r.stdout, /"code":"MERIDIAN_ERR_BIND_DENIED"/);
      assert.doesNotMatch(r.stdout + r.stderr, /\n\s+at |"stack"/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
}
