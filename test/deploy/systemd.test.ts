/**
 * deploy/systemd/ (issue 19): every unit rated OK or better by `systemd-analyze security --offline`
 * (exposure under 5.0), hardened the same way, and its seccomp filter checked against what a real
 * node does: a `meridian serve` with DNS over UDP and TCP, the admin API, /metrics, embedded probes
 * and forwarders runs under strace, and every system call it makes must be one the units'
 * `SystemCallFilter=` lines allow (the others would fail with EPERM under systemd). The same trace
 * shows why `MemoryDenyWriteExecute=` stays off: V8 maps pages writable and executable.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { connect, createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parse } from 'yaml';
import { dig, REPO_ROOT, startMeridian, type RunningServer } from '../helpers/dnsproc.js';
import { allRoles, ZONE } from './node.js';
import { allowedSyscalls, directives, exposure, UNITS, value } from './units.js';

const HAVE_ANALYZE = spawnSync('systemd-analyze', ['--version']).status === 0;
const HAVE_STRACE = spawnSync('strace', ['-V']).status === 0;

/** Outside CI a missing tool skips; in CI (.ci/run installs systemd and strace) it fails. */
function need(have: boolean, tool: string, t: { skip(m: string): void }): boolean {
  if (have) return true;
  if (process.env.CI) assert.fail(`${tool} is missing in CI`);
  t.skip(`${tool} not installed`);
  return false;
}

describe('systemd units', () => {
  it('systemd-analyze security --offline rates every unit OK or better', (t) => {
    if (!need(HAVE_ANALYZE, 'systemd-analyze', t)) return;
    for (const unit of UNITS) {
      const e = exposure(unit);
      if (!e) {
        // systemd before 250 has no --offline; CI's Debian 12 has 252.
        if (process.env.CI) assert.fail('systemd-analyze security --offline=true gave no rating');
        t.skip('this systemd-analyze has no --offline mode');
        return;
      }
      // systemd's scale: PERFECT 0, SAFE < 1, OK < 5, MEDIUM < 7.5, EXPOSED, UNSAFE, DANGEROUS.
      assert.ok(e.exposure < 5, `${unit}: ${e.exposure} ${e.level}\n${e.failing.join('\n')}`);
      assert.ok(['OK', 'SAFE', 'PERFECT'].includes(e.level), `${unit}: ${e.level}`);
    }
  });

  it('every unit runs the built CLI as meridian, Type=exec, with the same sandbox and only the capability its role needs', () => {
    const roles = { 'meridian.service': 'serve', 'meridian-probe.service': 'probe', 'meridian-forward.service': 'forward' } as const;
    for (const unit of UNITS) {
      const d = directives(unit);
      const want: Record<string, string> = {
        Type: 'exec',
        User: 'meridian',
        Group: 'meridian',
        NoNewPrivileges: 'yes',
        ProtectSystem: 'strict',
        ProtectHome: 'yes',
        PrivateTmp: 'yes',
        PrivateDevices: 'yes',
        RestrictAddressFamilies: 'AF_INET AF_INET6 AF_UNIX AF_NETLINK',
        SystemCallArchitectures: 'native',
        SystemCallErrorNumber: 'EPERM',
        StateDirectory: 'meridian',
        ReadOnlyPaths: '/etc/meridian',
      };
      for (const [k, v] of Object.entries(want)) assert.equal(value(d, k), v, `${unit}: ${k}`);
      assert.deepEqual(d.get('SystemCallFilter'), ['@system-service @pkey', '~@privileged @resources'], unit);
      assert.equal(d.get('MemoryDenyWriteExecute'), undefined, `${unit}: V8's JIT cannot run under MemoryDenyWriteExecute`);
      const exec = value(d, 'ExecStart')!.split(' ');
      assert.deepEqual(exec.slice(0, 3), ['/usr/bin/node', '/opt/meridian/dist/cli.js', roles[unit]], unit);
      assert.deepEqual(exec.slice(exec.indexOf('--config'), exec.indexOf('--config') + 2), ['--config', '/etc/meridian/meridian.yaml'], unit);
      const binds = unit !== 'meridian-probe.service';
      assert.equal(value(d, 'CapabilityBoundingSet'), binds ? 'CAP_NET_BIND_SERVICE' : '', unit);
      assert.equal(value(d, 'AmbientCapabilities'), binds ? 'CAP_NET_BIND_SERVICE' : undefined, unit);
    }
  });

  it("the example config keeps every file the node writes in the unit's StateDirectory (/etc/meridian is read-only)", () => {
    const doc = parse(readFileSync(join(REPO_ROOT, 'deploy/meridian.yaml'), 'utf8')) as { admin: { dataDir: string }; health: { overridesFile: string } };
    assert.equal(doc.admin.dataDir, '/var/lib/meridian');
    assert.match(doc.health.overridesFile, /^\/var\/lib\/meridian\//);
  });

  it('the example config turns metrics (and /readyz, which the unit notes name) on, off the public DNS address', () => {
    const doc = parse(readFileSync(join(REPO_ROOT, 'deploy/meridian.yaml'), 'utf8')) as { dns: { listen: string[] }; metrics?: { listen: string }; admin: { listen: string } };
    assert.ok(doc.metrics?.listen, 'metrics.listen is set');
    const host = (hp: string): string => hp.slice(0, hp.lastIndexOf(':'));
    assert.ok(!doc.dns.listen.map(host).includes(host(doc.metrics.listen)), `${doc.metrics.listen} is not a DNS address`);
    assert.equal(host(doc.metrics.listen), host(doc.admin.listen), 'on the management address, beside the admin API');
  });
});

describe('the seccomp filter against a running node', { timeout: 120_000 }, () => {
  let srv: RunningServer | null = null;
  let backend: Server;
  let nodePid = 0;
  let trace = '';
  let traceDir = '';

  const childOf = (pid: number): number => {
    for (const entry of readdirSync('/proc')) {
      if (!/^\d+$/.test(entry)) continue;
      try {
        const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
        if (Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === pid) return Number(entry);
      } catch {
        // gone meanwhile
      }
    }
    return 0;
  };
  const alive = (pid: number): boolean => {
    try {
      process.kill(pid, 0);
      return true;
    } catch {
      return false;
    }
  };

  before(async () => {
    if (!HAVE_STRACE || !HAVE_ANALYZE) return;
    backend = createServer((s) => s.pipe(s));
    await new Promise<void>((r) => backend.listen(0, '127.0.0.1', r));
    const roles = await allRoles(['eu'], (backend.address() as { port: number }).port);
    const [metrics, admin, web] = [roles.metricsPort, roles.adminPort, roles.webPorts[0]!];
    traceDir = mkdtempSync(join(tmpdir(), 'meridian-strace-'));
    const traceFile = join(traceDir, 'trace.txt');
    srv = await startMeridian({
      zones: [{ origin: 'gslb.example.com', text: ZONE }],
      dns: { rrl: { responsesPerSecond: 1000 } },
      extra: roles.extra,
      wrap: ['strace', '-f', '-qq', '-o', traceFile],
      // Two DNS workers, as the unit runs by default (dns.workers: auto): the trace follows the forks,
      // so the filter is checked against the workers' calls too (cluster IPC, SO_REUSEPORT binds).
      env: { MERIDIAN_WORKERS: '2' },
      readyTimeoutMs: 90_000,
    });
    nodePid = childOf(srv.pid);
    assert.ok(nodePid > 0, 'the node under strace');
    // What a node does in a day: DNS over both transports, the API, a scrape, a relayed connection, a reload.
    assert.equal((await dig(['@127.0.0.1', '-p', String(srv.port), 'www.gslb.example.com', '+short'])).trim(), '192.0.2.10');
    assert.match(await dig(['@127.0.0.1', '-p', String(srv.port), '+tcp', 'gslb.example.com', 'SOA', '+short']), /^ns1\.gslb\.example\.com\. /);
    assert.equal((await fetch(`http://127.0.0.1:${metrics}/metrics`)).status, 200);
    const token = readFileSync(join(srv.dir, 'data', 'admin-token'), 'utf8').trim();
    assert.equal((await fetch(`http://127.0.0.1:${admin}/v1/regions`, { headers: { authorization: `Bearer ${token}` } })).status, 200);
    const echoed = await new Promise<string>((resolve, reject) => {
      const c = connect(web, '127.0.0.1', () => c.end('through the forwarder'));
      let got = '';
      c.on('data', (d: Buffer) => (got += d.toString()));
      c.on('close', () => resolve(got));
      c.on('error', reject);
    });
    assert.equal(echoed, 'through the forwarder');
    process.kill(nodePid, 'SIGHUP');
    const deadline = Date.now() + 30_000;
    while (!/"msg":"reloaded"/.test(srv.output()) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    assert.match(srv.output(), /"msg":"reloaded"/);
    process.kill(nodePid, 'SIGTERM');
    await srv.exited;
    trace = readFileSync(traceFile, 'utf8');
  });

  after(async () => {
    if (nodePid && alive(nodePid)) process.kill(nodePid, 'SIGKILL');
    await srv?.stop();
    if (traceDir) rmSync(traceDir, { recursive: true, force: true });
    if (backend) await new Promise((r) => backend.close(r));
  });

  it('every system call of a serving node is one the units allow', (t) => {
    if (!need(HAVE_STRACE, 'strace', t) || !need(HAVE_ANALYZE, 'systemd-analyze', t)) return;
    const used = new Set([...trace.matchAll(/^\d+\s+([a-z_0-9]+)\(/gm)].map((m) => m[1]!));
    for (const s of ['bind', 'recvmsg', 'sendmsg', 'accept4', 'connect', 'epoll_pwait']) assert.ok(used.has(s), `the trace holds ${s}: it saw real work`);
    for (const unit of UNITS) {
      const allowed = allowedSyscalls(unit);
      assert.ok(allowed.size > 100, `${unit}: the filter expands`);
      assert.deepEqual(
        [...used].filter((s) => !allowed.has(s)),
        [],
        `${unit}: system calls its SystemCallFilter refuses`,
      );
    }
  });

  it('V8 maps pages writable and executable, which MemoryDenyWriteExecute= would refuse', (t) => {
    if (!need(HAVE_STRACE, 'strace', t) || !need(HAVE_ANALYZE, 'systemd-analyze', t)) return;
    assert.match(trace, /^\d+\s+(mmap|mprotect)\(.*PROT_WRITE\|PROT_EXEC/m);
  });
});
