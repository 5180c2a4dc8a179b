/**
 * ProbeScheduler with real timers on short intervals: isolation from a hung endpoint, the
 * concurrency bound, jitter, thresholds wired to observations, target updates, and a clean stop.
 * Fake runners where the network is beside the point; real HTTP servers on 127.0.0.1 where it is.
 */
import assert from 'node:assert/strict';
import type http from 'node:http';
import { test } from 'node:test';
import type { EndpointObservation } from '../health/types.js';
import { ProbeScheduler, runTargetCheck, type Timers } from './scheduler.js';
import { httpTarget, sleep, tcpTarget, webServer } from './testkit.js';
import { DEFAULT_TIMING, type CheckResult, type CheckRunner, type ProbeTarget } from './types.js';

type Obs = { key: string; obs: EndpointObservation; changed: boolean };

function recorder() {
  const seen: Obs[] = [];
  const checks = new Map<string, number>();
  return {
    seen,
    checks,
    onObservation: (key: string, obs: EndpointObservation, changed: boolean) => seen.push({ key, obs, changed }),
    onCheck: (key: string) => checks.set(key, (checks.get(key) ?? 0) + 1),
  };
}

/** A runner answering from a script per key (cycled), after `delayMs`. */
function scripted(script: Record<string, string>, delayMs = 0): CheckRunner & { calls: { key: string; at: number }[] } {
  const n = new Map<string, number>();
  const calls: { key: string; at: number }[] = [];
  const runner = async (t: ProbeTarget): Promise<CheckResult> => {
    calls.push({ key: t.key, at: performance.now() });
    const i = n.get(t.key) ?? 0;
    n.set(t.key, i + 1);
    const s = script[t.key] ?? '+';
    if (delayMs) await sleep(delayMs);
    const ok = s[i % s.length] === '+';
    return { ok, rttMs: 1 + i, error: ok ? null : `fail ${i}` };
  };
  return Object.assign(runner, { calls });
}

/**
 * Polls until `done()` holds; these tests wait on counts, never on a wall-clock budget, so a
 * loaded CI box only makes them slower. The deadline is a hang guard, far above any normal run.
 */
async function waitUntil(done: () => boolean, what: string, deadlineMs = 20_000): Promise<void> {
  const end = performance.now() + deadlineMs;
  while (!done()) {
    if (performance.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

// Real sockets and timers: 20 healthy endpoints every 200 ms beside one that never answers. Client
// and server share this process (~1-2 ms CPU per check), so the rate stays low for a 2-core CI box.
test('scheduler: one hung endpoint (timeout 200 ms) does not delay 20 others', async () => {
  const web = await webServer((req, res) => {
    if (req.url !== '/hang') res.end('ok');
  });
  const rec = recorder();
  const targets = [httpTarget(web.port, { path: '/hang' }, { intervalMs: 1000, timeoutMs: 200 }, 'r1/hung')];
  // The healthy checks get a long timeout: a starved box delays them, which is not what this tests.
  for (let i = 0; i < 20; i++) targets.push(httpTarget(web.port, { path: '/ok' }, { intervalMs: 200, timeoutMs: 2000 }, `r1/ok${i}`));
  // Counted, not timed: how many healthy checks finish while a hung check holds its slot.
  let hungInFlight = false;
  let finishedBesideHung = 0;
  const counting: CheckRunner = async (t, signal) => {
    if (t.key === 'r1/hung') hungInFlight = true;
    try {
      return await runTargetCheck(t, signal);
    } finally {
      if (t.key === 'r1/hung') hungInFlight = false;
      else if (hungInFlight) finishedBesideHung++;
    }
  };
  const s = new ProbeScheduler(targets, { ...rec, runCheck: counting });
  const hung = () => rec.seen.filter((o) => o.key === 'r1/hung');
  try {
    s.start();
    await waitUntil(() => hung().length >= 3, 'three timeouts of the hung endpoint');
  } finally {
    await s.stop();
    web.server.closeAllConnections();
    await web.close();
  }
  // Each 200 ms timeout spans a whole healthy interval, so about 20 healthy checks finish inside it;
  // serialised behind the hung check, none would.
  const timeouts = hung().length;
  assert.ok(finishedBesideHung >= 2 * timeouts, `${finishedBesideHung} healthy checks finished during ${timeouts} hung checks`);
  // Every healthy target ran: none starved. How often depends on the box's load, so it is not counted.
  for (let i = 0; i < 20; i++) assert.ok((rec.checks.get(`r1/ok${i}`) ?? 0) >= 1, `ok${i} never ran`);
  assert.ok(
    hung().every((o) => o.obs.error === 'timeout'),
    'the hung endpoint times out every time',
  );
  // A starved CI box times out some checks (client and server share one event loop); the point is
  // that the others keep running.
  const others = rec.seen.filter((o) => o.key !== 'r1/hung');
  const failed = others.filter((o) => o.obs.error !== null).length;
  assert.ok(failed <= others.length / 4, `${failed} of ${others.length} checks of healthy endpoints failed: ${[...new Set(others.map((o) => o.obs.error))].join(', ')}`);
});

test('scheduler: a check that ignores its abort signal still frees its slot at the timeout', async () => {
  const rec = recorder();
  const runner: CheckRunner = (t) => (t.key === 'r1/stuck' ? new Promise<CheckResult>(() => {}) : Promise.resolve({ ok: true, rttMs: 1, error: null }));
  const s = new ProbeScheduler([tcpTarget(1, { intervalMs: 120, timeoutMs: 100 }, 'r1/stuck'), tcpTarget(2, { intervalMs: 20, timeoutMs: 10 }, 'r1/fine')], {
    ...rec,
    runCheck: runner,
    concurrency: 1,
  });
  try {
    s.start();
    // Never freeing its slot, the stuck check would stop at one run: its count is the proof.
    await waitUntil(() => (rec.checks.get('r1/stuck') ?? 0) >= 3, 'three timeouts of the stuck check');
  } finally {
    await s.stop();
  }
  assert.ok(rec.seen.filter((o) => o.key === 'r1/stuck').every((o) => o.obs.error === 'timeout'));
  // Between two stuck runs (a 120 ms interval) the fine target (every 20 ms) has the slot to itself.
  assert.ok((rec.checks.get('r1/fine') ?? 0) >= 3, `fine ran ${rec.checks.get('r1/fine')} times with one slot shared with a stuck check`);
});

test('scheduler: concurrency bound respected, counted at the server and at the runner', async () => {
  let open = 0;
  let serverMax = 0;
  const web = await webServer((_req, res: http.ServerResponse) => {
    open++;
    serverMax = Math.max(serverMax, open);
    setTimeout(() => {
      // Counted down before the response leaves, so the probe can't free its slot (and send the
      // next request) before this request stops counting: the server sees the scheduler's bound.
      open--;
      res.end('ok');
    }, 20);
  });
  // 30 targets every 100 ms need 300 checks/s; 5 slots of 20 ms serve 250/s: saturated.
  const targets = Array.from({ length: 30 }, (_, i) => httpTarget(web.port, { path: '/' }, { intervalMs: 100, timeoutMs: 100 }, `r1/e${i}`));
  let running = 0;
  let runnerMax = 0;
  const counting: CheckRunner = async (t, signal) => {
    runnerMax = Math.max(runnerMax, ++running);
    try {
      return await runTargetCheck(t, signal);
    } finally {
      running--;
    }
  };
  const rec = recorder();
  const s = new ProbeScheduler(targets, { ...rec, concurrency: 5, runCheck: counting });
  let queuedAtPeak = 0;
  try {
    s.start();
    await waitUntil(() => {
      queuedAtPeak = Math.max(queuedAtPeak, s.stats().queued);
      return s.stats().checks >= 50 && queuedAtPeak > 0;
    }, '50 checks with some queued');
  } finally {
    await s.stop();
    web.server.closeAllConnections();
    await web.close();
  }
  assert.equal(runnerMax, 5, 'the bound is reached (saturated) and never exceeded');
  const timeouts = s.stats().timeouts;
  if (timeouts === 0) assert.equal(serverMax, 5, 'server-side concurrency');
  else assert.ok(serverMax <= 5 + timeouts, `server saw ${serverMax} with ${timeouts} timeouts`);
  assert.ok(queuedAtPeak > 0, 'checks queued for a slot instead of exceeding the bound');
  assert.ok(s.stats().checks >= 50, `${s.stats().checks} checks`);
});

/** A fake clock behind the scheduler's `timers` and `now`: `advance` fires due timers in order. */
function fakeClock() {
  let now = 0;
  let seq = 0;
  const pending = new Map<number, { at: number; fn: () => void }>();
  const timers: Timers = {
    setTimeout: (fn, ms) => {
      pending.set(++seq, { at: now + Math.max(0, ms), fn });
      return seq;
    },
    clearTimeout: (h) => void pending.delete(h as number),
  };
  const settle = (): Promise<void> => new Promise((r) => setImmediate(r));
  async function advance(ms: number): Promise<void> {
    const end = now + ms;
    for (;;) {
      await settle(); // let checks resolve and re-arm before looking for the next timer
      let next: [number, { at: number; fn: () => void }] | undefined;
      for (const e of pending) if (e[1].at <= end && (!next || e[1].at < next[1].at)) next = e;
      if (!next) break;
      pending.delete(next[0]);
      now = next[1].at;
      next[1].fn();
    }
    now = end;
    await settle();
  }
  return { timers, now: () => now, advance, pending: () => pending.size };
}

for (const c of [
  { name: 'random 0.5 (no jitter): first at interval/2, then every interval', random: 0.5, want: [20, 60, 100, 140, 180] },
  { name: 'random 0 (jitter -10%): first at once, then every 0.9 interval', random: 0, want: [0, 36, 72, 108, 144, 180] },
]) {
  test(`scheduler (fake clock): ${c.name}`, async () => {
    const clock = fakeClock();
    const at: number[] = [];
    const runner: CheckRunner = async () => (at.push(clock.now()), { ok: true, rttMs: 1, error: null });
    const s = new ProbeScheduler([tcpTarget(1, { intervalMs: 40, timeoutMs: 20 })], { onObservation: () => {}, runCheck: runner, random: () => c.random, now: clock.now, timers: clock.timers });
    s.start();
    await clock.advance(190);
    await s.stop();
    assert.deepEqual(at, c.want);
    assert.equal(clock.pending(), 0, 'stop cancels every timer');
  });
}

test('scheduler (fake clock): first runs spread across one interval; later runs at interval ± 10 %', async () => {
  const clock = fakeClock();
  const calls = new Map<string, number[]>();
  const runner: CheckRunner = async (t) => {
    calls.set(t.key, [...(calls.get(t.key) ?? []), clock.now()]);
    return { ok: true, rttMs: 1, error: null };
  };
  const targets = Array.from({ length: 200 }, (_, i) => tcpTarget(1, { intervalMs: 1000, timeoutMs: 100 }, `r1/e${i}`));
  const s = new ProbeScheduler(targets, { onObservation: () => {}, runCheck: runner, now: clock.now, timers: clock.timers });
  s.start();
  await clock.advance(5000);
  await s.stop();
  const firsts = [...calls.values()].map((c) => c[0]!);
  const slices = new Set(firsts.map((ms) => Math.floor(ms / 100)));
  assert.equal(slices.size, 10, 'first runs fall in every tenth of the first interval');
  assert.ok(Math.max(...firsts) < 1000, 'every first run within the first interval');
  const gaps = [...calls.values()].flatMap((c) => c.slice(1).map((t, i) => t - c[i]!));
  assert.ok(gaps.length >= 700, `${gaps.length} gaps`);
  assert.ok(
    gaps.every((g) => g >= 900 && g <= 1100),
    `gaps ${Math.min(...gaps)}..${Math.max(...gaps)}`,
  );
  assert.ok(Math.min(...gaps) < 920 && Math.max(...gaps) > 1080, 'jitter uses its whole range');
});

test('scheduler (fake clock): defaults detect a dead endpoint in fall x interval, revive in rise x interval', async () => {
  const clock = fakeClock();
  let alive = true;
  const runner: CheckRunner = async () => (alive ? { ok: true, rttMs: 3, error: null } : { ok: false, rttMs: 1, error: 'ECONNREFUSED' });
  const flips: [number, string][] = [];
  // DEFAULT_TIMING: 5 s interval, fall 3, rise 2; no jitter, first check at 2.5 s.
  const s = new ProbeScheduler([{ ...tcpTarget(1), timing: { ...DEFAULT_TIMING } }], {
    onObservation: () => {},
    onFlip: (_k, _f, to) => flips.push([clock.now(), to]),
    runCheck: runner,
    random: () => 0.5,
    now: clock.now,
    timers: clock.timers,
  });
  s.start();
  await clock.advance(10_000); // checks at 2.5 s, 7.5 s: up
  alive = false; // dies at 10 s
  await clock.advance(20_000); // failures at 12.5, 17.5, 22.5 -> down at 22.5 s
  alive = true; // back at 30 s
  await clock.advance(20_000); // successes at 32.5, 37.5 -> up at 37.5 s
  await s.stop();
  assert.deepEqual(flips, [
    [22_500, 'down'],
    [37_500, 'up'],
  ]);
  assert.deepEqual(s.observations().get('r1/tcp'), { status: 'up', since: 37_500, checkedAt: 47_500, rttMs: 3, error: null });
});

test('scheduler (fake clock): a check that never settles is timed out by the scheduler at timeoutMs', async () => {
  const clock = fakeClock();
  const seen: [number, string | null][] = [];
  const s = new ProbeScheduler([tcpTarget(1, { intervalMs: 40, timeoutMs: 10 })], {
    onObservation: (_k, o) => seen.push([o.checkedAt, o.error]),
    runCheck: () => new Promise<CheckResult>(() => {}),
    random: () => 0.5,
    now: clock.now,
    timers: clock.timers,
  });
  s.start();
  await clock.advance(100);
  await s.stop();
  assert.deepEqual(seen, [
    [30, 'timeout'],
    [70, 'timeout'],
  ]);
});

test('scheduler: thresholds drive observations (classic fall 3 / rise 2), flips reported once', async () => {
  const rec = recorder();
  const flips: string[] = [];
  // +  -  -  -  +  +  then up
  const runner = scripted({ 'r1/a': '+---++++++' });
  let clock = 0;
  const s = new ProbeScheduler([tcpTarget(1, { intervalMs: 15, timeoutMs: 10, rise: 2, fall: 3 }, 'r1/a')], {
    ...rec,
    runCheck: runner,
    now: () => ++clock,
    onFlip: (key, from, to) => flips.push(`${key} ${from}->${to}`),
  });
  s.start();
  for (let i = 0; i < 100 && rec.seen.length < 7; i++) await sleep(5);
  await s.stop();
  const seq = rec.seen.slice(0, 7).map((o) => `${o.obs.status}${o.changed ? '!' : ''}`);
  assert.deepEqual(seq, ['up!', 'up', 'up', 'down!', 'down', 'up!', 'up']);
  assert.deepEqual(flips, ['r1/a up->down', 'r1/a down->up']);
  const [first, , , down, stillDown] = rec.seen.map((o) => o.obs);
  assert.equal(first!.rttMs, 1);
  assert.deepEqual({ error: down!.error, rttMs: down!.rttMs, since: down!.since }, { error: 'fail 3', rttMs: 1, since: down!.checkedAt });
  assert.equal(stillDown!.since, down!.since, 'since stays at the change');
  assert.equal(stillDown!.error, null);
  assert.deepEqual(s.observations().get('r1/a')?.status, 'up');
});

test('scheduler: a flapping endpoint (alternating) never flips with rise 2 / fall 3', async () => {
  const rec = recorder();
  const flips: string[] = [];
  const s = new ProbeScheduler([tcpTarget(1, { intervalMs: 10, timeoutMs: 5 }, 'r1/flap')], { ...rec, runCheck: scripted({ 'r1/flap': '+-' }), onFlip: (k) => flips.push(k) });
  s.start();
  try {
    await waitUntil(() => rec.seen.length >= 40, '40 observations');
  } finally {
    await s.stop();
  }
  assert.deepEqual(flips, []);
  assert.equal(rec.seen.filter((o) => o.changed).length, 1, 'only the first verdict');
});

test('scheduler: updateTargets keeps unchanged state, carries status over a redefinition, drops removed', async () => {
  const rec = recorder();
  const runner = scripted({ 'r1/a': '-', 'r1/b': '+', 'r1/c': '+' });
  const a = tcpTarget(1, { intervalMs: 20, timeoutMs: 10 }, 'r1/a');
  const b = tcpTarget(2, { intervalMs: 20, timeoutMs: 10 }, 'r1/b');
  const c = tcpTarget(3, { intervalMs: 20, timeoutMs: 10 }, 'r1/c');
  const s = new ProbeScheduler([a, b, c], { ...rec, runCheck: runner });
  s.start();
  await sleep(120);
  const before = s.observations();
  assert.equal(before.get('r1/a')?.status, 'down');
  // a: same definition, rebuilt in another key order; b: new port; c: removed; d: new.
  const aCopy: ProbeTarget = { timing: { ...a.timing }, check: { type: 'tcp' }, port: 1, address: '127.0.0.1', key: 'r1/a' };
  const diff = s.updateTargets([aCopy, { ...b, port: 22 }, tcpTarget(4, { intervalMs: 20, timeoutMs: 10 }, 'r1/d')]);
  assert.deepEqual(diff, { added: ['r1/d'], changed: ['r1/b'], removed: ['r1/c'] });
  assert.equal(s.observations().get('r1/b')?.since, before.get('r1/b')?.since, 'b keeps its status and since');
  const cCount = rec.seen.filter((o) => o.key === 'r1/c').length;
  await sleep(120);
  await s.stop();
  assert.equal(rec.seen.filter((o) => o.key === 'r1/c').length, cCount, 'no observation after removal');
  assert.ok(rec.seen.filter((o) => o.key === 'r1/b' && o.changed).length === 1, 'b did not re-enter from unknown');
  assert.equal(rec.seen.filter((o) => o.key === 'r1/a' && o.changed).length, 1, 'a kept its state');
  assert.ok(
    rec.seen.some((o) => o.key === 'r1/d'),
    'the new target runs',
  );
  assert.throws(() => s.updateTargets([a, a]), /duplicate target key "r1\/a"/);
});

test('scheduler: initial status resumes hysteresis; a throwing callback does not stop the schedule', async () => {
  const rec = recorder();
  let calls = 0;
  const s = new ProbeScheduler([tcpTarget(1, { intervalMs: 10, timeoutMs: 5 }, 'r1/a')], {
    onObservation: (k, o, ch) => {
      rec.onObservation(k, o, ch);
      if (++calls === 1) throw new Error('boom');
    },
    runCheck: scripted({ 'r1/a': '--+' }),
    initial: () => ({ status: 'up', since: 42 }),
  });
  const warnings: string[] = [];
  const onWarn = (w: Error) => warnings.push(w.message);
  process.on('warning', onWarn);
  s.start();
  for (let i = 0; i < 100 && rec.seen.length < 3; i++) await sleep(5);
  await s.stop();
  process.off('warning', onWarn);
  assert.deepEqual(
    rec.seen.slice(0, 3).map((o) => [o.obs.status, o.obs.since, o.changed]),
    [
      ['up', 42, false],
      ['up', 42, false],
      ['up', 42, false],
    ],
  );
  assert.match(warnings[0] ?? '', /probe: callback threw: boom/);
});

test('scheduler: stop() aborts in-flight checks promptly and leaves no open handles', async () => {
  const web = await webServer((req, res) => {
    if (req.url !== '/hang') res.end('ok');
  });
  const resources = (): Record<string, number> => {
    const out: Record<string, number> = {};
    for (const r of process.getActiveResourcesInfo()) out[r] = (out[r] ?? 0) + 1;
    return out;
  };
  await sleep(10);
  const baseline = resources();
  const rec = recorder();
  const targets = [
    ...Array.from({ length: 5 }, (_, i) => httpTarget(web.port, { path: '/hang' }, { intervalMs: 600_000, timeoutMs: 600_000 }, `r1/hang${i}`)),
    ...Array.from({ length: 5 }, (_, i) => httpTarget(web.port, { path: '/' }, { intervalMs: 30, timeoutMs: 20 }, `r1/ok${i}`)),
  ];
  const s = new ProbeScheduler(targets, { ...rec, random: () => 0 });
  try {
    s.start();
    await waitUntil(() => s.stats().inFlight >= 5, 'the hung checks in flight');
    // The hung checks time out after 10 minutes: a stop that waited for them would hit the test
    // runner's timeout, so resolving at all is the proof that stop aborts them.
    await s.stop();
  } finally {
    await s.stop();
    web.server.closeAllConnections();
    await web.close();
  }
  assert.equal(s.stats().inFlight, 0);
  const count = rec.seen.length;
  await sleep(100);
  assert.equal(rec.seen.length, count, 'nothing is recorded after stop');
  assert.ok(!rec.seen.some((o) => o.key.startsWith('r1/hang')), 'aborted checks are not recorded');
  const now = resources();
  assert.ok((now.Timeout ?? 0) <= (baseline.Timeout ?? 0), `timers: ${now.Timeout} vs ${baseline.Timeout}`);
  assert.ok((now.TCPSocketWrap ?? 0) <= (baseline.TCPSocketWrap ?? 0), `sockets: ${now.TCPSocketWrap} vs ${baseline.TCPSocketWrap}`);
});

test('scheduler: setLimits (a reload) raises the concurrency bound at once and refuses a bad value', async () => {
  const runner: CheckRunner = () => new Promise<CheckResult>(() => {}); // every check hangs until stop() aborts it
  const timing = { intervalMs: 60_000, timeoutMs: 60_000 };
  const targets = [1, 2, 3, 4].map((p) => tcpTarget(p, timing, `r1/t${p}`));
  const s = new ProbeScheduler(targets, { onObservation: () => {}, runCheck: runner, concurrency: 1, random: () => 0 });
  s.start();
  const settled = async (inFlight: number, queued: number): Promise<void> => {
    while (s.stats().inFlight !== inFlight || s.stats().queued !== queued) await sleep(5);
  };
  await settled(1, 3);
  s.setLimits(3, 0);
  assert.deepEqual([s.stats().inFlight, s.stats().queued], [3, 1], 'two queued runs start at once');
  assert.throws(() => s.setLimits(0, 0), /concurrency must be an integer >= 1/);
  assert.throws(() => s.setLimits(2, 1), /jitter must be in \[0, 1\)/);
  s.setLimits(1, 0);
  assert.deepEqual([s.stats().inFlight, s.stats().queued], [3, 1], 'a lower bound lets the checks in flight finish');
  await s.stop();
  assert.equal(s.stats().inFlight, 0);
});
