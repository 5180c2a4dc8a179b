/**
 * The install comment of deploy/systemd/meridian.service works as written (issue 19). Its steps run
 * verbatim, as root, in a private mount and network namespace where /etc, /opt, /var and /usr/local
 * are overlays on throwaway directories (the host's files are never written): the user is made,
 * the files copied, `npm ci --omit=dev` installs the runtime dependencies (from npm's cache when it
 * has them), the certificate is made, `meridian check` passes on the installed config. Then, in
 * place of `systemctl enable --now` (no systemd runs here): `systemd-analyze verify` on the installed
 * unit, and the unit's own ExecStart= run as systemd would run it (User=meridian with
 * CAP_NET_BIND_SERVICE as its only, ambient capability, the EnvironmentFile read, the
 * StateDirectory made) on the example config's addresses, which answer DNS on port 53.
 *
 * The first step (`npm ci && npm run build`) is the checkout's own: this test runs inside `npm test`
 * and must not reinstall the tree it runs from, so it builds dist/ only when stale instead.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { it } from 'node:test';
import { REPO_ROOT } from '../helpers/dnsproc.js';
import { installSteps } from './units.js';

const BUILD = 'npm ci && npm run build';
const SYSTEMCTL = 'systemctl daemon-reload && systemctl enable --now meridian';

/** What `systemctl enable --now meridian` does that matters here, from the installed unit itself. */
const START_AS_SYSTEMD = String.raw`
systemd-analyze verify /etc/systemd/system/meridian.service
unit() { sed -n "s/^$1=//p" /etc/systemd/system/meridian.service | tail -1; }
[ "$(unit User)" = meridian ] && [ "$(unit AmbientCapabilities)" = CAP_NET_BIND_SERVICE ]
test -f "$(unit Documentation | sed 's/^file://')"
install -d -m 0700 -o meridian -g meridian "/var/lib/$(unit StateDirectory)"
# The example config's addresses, on this namespace's loopback only.
ip link set lo up
ip addr add 192.0.2.53/32 dev lo
ip addr add 2001:db8::53/128 dev lo nodad
ip addr add 10.0.0.53/32 dev lo
set -a; . /etc/meridian/env; set +a
# shellcheck disable=SC2046 # ExecStart= is plain words
set -- $(unit ExecStart)
setpriv --reuid=meridian --regid=meridian --init-groups --no-new-privs \
  --inh-caps=-all,+net_bind_service --ambient-caps=-all,+net_bind_service --bounding-set=-all,+net_bind_service \
  -- "$@" >/tmp/meridian.log 2>&1 &
node_pid=$!
trap 'kill $node_pid 2>/dev/null; wait $node_pid 2>/dev/null || true' EXIT
for _ in $(seq 1 300); do
  out="$(dig @192.0.2.53 -p 53 gslb.example.com SOA +short +time=1 +tries=1 2>/dev/null | grep '^ns1\.' || true)"
  [ -n "$out" ] && break
  kill -0 $node_pid 2>/dev/null || { cat /tmp/meridian.log; exit 1; }
  sleep 0.2
done
echo "ANSWER: $out"
echo "USER: $(ps -o user= -p $node_pid)"
grep -m1 '"msg":"ready"' /tmp/meridian.log || cat /tmp/meridian.log
`;

/** The host's own state of what the steps make. */
const hostState = (): Record<string, boolean> => ({
  user: spawnSync('id', ['meridian']).status === 0,
  opt: existsSync('/opt/meridian'),
  etc: existsSync('/etc/meridian'),
  unit: existsSync('/etc/systemd/system/meridian.service'),
});

function script(root: string, steps: string[]): string {
  const overlays = ['etc', 'opt', 'var', 'usr/local']
    .map((d) => {
      const u = join(root, d.replace('/', '-'));
      return `mkdir -p ${u}/up ${u}/work && mount -t overlay overlay -o lowerdir=/${d},upperdir=${u}/up,workdir=${u}/work /${d}`;
    })
    .join('\n');
  const body = steps
    .map((s) => {
      if (s === BUILD) return '# (built by the test: node scripts/build-if-stale.mjs)';
      if (s === SYSTEMCTL) return START_AS_SYSTEMD;
      return `echo "+ ${s.replace(/["$`\\]/g, '\\$&')}"\n${s}`;
    })
    .join('\n');
  return `set -euo pipefail\n${overlays}\ncd ${REPO_ROOT}\n${body}\n`;
}

it('the install steps in meridian.service work as written', { timeout: 300_000 }, async (t) => {
  const steps = installSteps();
  assert.equal(steps[0], BUILD, 'the first step builds');
  assert.equal(steps.at(-1), SYSTEMCTL, 'the last step starts the unit');
  assert.ok(steps.length >= 10, steps.join('\n'));
  const tools = ['unshare', 'setpriv', 'openssl', 'systemd-analyze', 'dig', 'useradd'];
  const missing = tools.filter((c) => spawnSync('sh', ['-c', `command -v ${c}`]).status !== 0);
  if (spawnSync('test', ['-x', '/usr/bin/node']).status !== 0) missing.push('/usr/bin/node (the units run it)');
  const canOverlay = process.getuid?.() === 0 && spawnSync('unshare', ['--mount', '--net', 'true']).status === 0;
  if (missing.length || !canOverlay) {
    const why = missing.length ? `missing ${missing.join(', ')}` : 'needs root and mount/network namespaces';
    if (process.env.CI) assert.fail(`the install test cannot run in CI: ${why}`);
    t.skip(why);
    return;
  }
  const hostBefore = hostState();
  const build = spawnSync(process.execPath, ['scripts/build-if-stale.mjs'], { cwd: REPO_ROOT, encoding: 'utf8' });
  assert.equal(build.status, 0, build.stdout + build.stderr);

  const root = mkdtempSync(join(tmpdir(), 'meridian-install-'));
  const file = join(root, 'install.sh');
  writeFileSync(file, script(root, steps));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  const env = { ...process.env, npm_config_prefer_offline: 'true', npm_config_audit: 'false', npm_config_fund: 'false', npm_config_update_notifier: 'false' };
  const { code, out } = await new Promise<{ code: number | null; out: string }>((resolve) => {
    // --kill-child: whatever happens to this test, nothing the script started outlives it.
    const child = spawn('unshare', ['--mount', '--propagation', 'private', '--net', '--fork', '--kill-child', 'bash', file], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let text = '';
    child.stdout.on('data', (d: Buffer) => (text += d.toString()));
    child.stderr.on('data', (d: Buffer) => (text += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 240_000);
    child.on('close', (c) => {
      clearTimeout(timer);
      resolve({ code: c, out: text });
    });
  });
  assert.equal(code, 0, out);
  for (const s of steps.slice(1, -1)) assert.ok(out.includes(`+ ${s}`), `step ran: ${s}`);
  assert.match(out, /ANSWER: ns1\.gslb\.example\.com\. /, out);
  assert.match(out, /USER: meridian/, out);
  // The host was not touched: what the steps made exists only in the overlays.
  assert.deepEqual(hostState(), hostBefore);
});
