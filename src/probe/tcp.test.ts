/** TCP connect check against real sockets on 127.0.0.1: up, refused, timeout, abort. */
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, test } from 'node:test';
import { runCheck } from './tcp.js';
import { blackHole, freePort, listen, sleep, tcpTarget, type Local } from './testkit.js';

let up: Local;
let hole: Awaited<ReturnType<typeof blackHole>>;
let refusedPort: number;
before(async () => {
  up = await listen(net.createServer());
  hole = await blackHole();
  refusedPort = await freePort();
});
after(async () => {
  await up.close();
  hole.close();
});

const sockets = (): number => process.getActiveResourcesInfo().filter((r) => r === 'TCPSocketWrap').length;

const cases: { name: string; port: () => number; timeoutMs?: number; want: { ok: boolean; error: string | null }; minMs?: number }[] = [
  { name: 'listening port is up', port: () => up.port, want: { ok: true, error: null } },
  { name: 'closed port is refused', port: () => refusedPort, want: { ok: false, error: 'ECONNREFUSED' } },
  { name: 'handshake that never completes times out', port: () => hole.port, timeoutMs: 200, want: { ok: false, error: 'timeout' }, minMs: 190 },
];

for (const c of cases) {
  test(`tcp: ${c.name}`, async () => {
    const before = sockets();
    const r = await runCheck(tcpTarget(c.port(), { timeoutMs: c.timeoutMs ?? 1000 }));
    assert.deepEqual({ ok: r.ok, error: r.error }, c.want);
    assert.ok(r.rttMs >= (c.minMs ?? 0) && r.rttMs < 1000, `rtt ${r.rttMs}`);
    await sleep(20);
    assert.equal(sockets(), before, 'the probe socket is destroyed whatever the verdict');
  });
}

test('tcp: the server sees the probe connection closed right after the handshake', async () => {
  const closedBefore = up.closed();
  assert.equal((await runCheck(tcpTarget(up.port))).ok, true);
  for (let i = 0; i < 50 && up.closed() === closedBefore; i++) await sleep(10);
  assert.equal(up.closed(), closedBefore + 1);
});

test('tcp: an abort stops a hanging connect at once, with the abort reason', async () => {
  const ac = new AbortController();
  setTimeout(() => ac.abort(new Error('stopped')), 50);
  const r = await runCheck(tcpTarget(hole.port, { timeoutMs: 5000, intervalMs: 5000 }), ac.signal);
  assert.deepEqual({ ok: r.ok, error: r.error }, { ok: false, error: 'stopped' });
  assert.ok(r.rttMs < 1000);
  const pre = new AbortController();
  pre.abort();
  assert.deepEqual(await runCheck(tcpTarget(up.port), pre.signal), { ok: false, rttMs: 0, error: 'aborted' });
});

test('tcp: a host name is refused (probes never resolve names)', async () => {
  const r = await runCheck({ ...tcpTarget(up.port), address: 'localhost' });
  assert.equal(r.error, 'address is not an IP literal');
});
