/**
 * The HealthBus contract, one table run against every implementation (memory-bus.test.ts,
 * redis-bus.test.ts), so embedded and cluster mode cannot drift apart. Not a test file itself.
 */
import assert from 'node:assert/strict';
import { describe, it, type TestContext } from 'node:test';
import { NoViewError } from './memory-bus.js';
import { makeView, nextEvent, obs } from './testkit.js';
import type { BusEvent, HealthBus, LoadReport, Override, VantageView } from './types.js';

export interface BusHarness {
  bus: HealthBus;
  /** Another instance on the same store (same file / same Redis server and prefix). */
  reopen(): Promise<HealthBus>;
  /** Lets `ms` pass for heartbeat and override expiry (a fake clock or a real sleep). */
  elapse(ms: number): Promise<void>;
  now(): number;
  /** A heartbeat TTL short enough to wait out. */
  ttlMs: number;
  close(): Promise<void>;
}

function override(scope: Override['scope'], state: Override['state'], now: number, expiresAt: number | null = null): Override {
  return { scope, state, expiresAt, reason: 'contract', author: 'test', createdAt: now };
}

function load(region: string, forwarder: string, at: number, ttlMs: number, active: number): LoadReport {
  return { region, forwarder, at, ttlMs, capacity: 100, active, newPerSec: 2.5, connectFailuresPerSec: 0, backends: { [`${region}/a`]: { active, newPerSec: 2.5, connectFailuresPerSec: 0 } } };
}

const sorted = (views: VantageView[]): VantageView[] => [...views].sort((a, b) => a.vantage.localeCompare(b.vantage));

export function busContract(name: string, setup: () => Promise<BusHarness>, skip: string | false = false): void {
  describe(`${name}: HealthBus contract`, { skip }, () => {
    async function harness(t: TestContext): Promise<BusHarness> {
      const h = await setup();
      t.after(() => h.close());
      return h;
    }

    it('is connected and sends resync to a new subscriber', async (t) => {
      const h = await harness(t);
      assert.equal(h.bus.connected, true);
      await nextEvent(h.bus, (e) => e.kind === 'resync');
    });

    it('writeView/readViews round-trip whole views; a rewrite replaces the view', async (t) => {
      const { bus, now, ttlMs } = await harness(t);
      assert.deepEqual(await bus.readViews(), []);
      const t0 = now();
      const a = makeView('va', t0, { 'eu/a': obs('up', t0), 'eu/b': obs('down', t0 - 5) });
      const b = makeView('vb', t0, { 'eu/a': obs('up', t0) }, null);
      const seen = nextEvent(bus, (e) => e.kind === 'view' && e.vantage === 'va');
      await bus.writeView(a, ttlMs * 10);
      await bus.writeView(b, ttlMs * 10);
      await seen;
      assert.deepEqual(sorted(await bus.readViews()), [a, b]);
      const a2 = makeView('va', t0 + 1, { 'eu/c': obs('up', t0 + 1) });
      await bus.writeView(a2, ttlMs * 10);
      assert.deepEqual(sorted(await bus.readViews()), [a2, b]);
    });

    it("beat refreshes a view's heartbeat and TTL without rewriting it and announces it; with no view it writes nothing", async (t) => {
      const { bus, now, ttlMs, elapse } = await harness(t);
      assert.equal(await bus.beat('nobody', 'eu', now(), ttlMs), false);
      assert.deepEqual(await bus.readViews(), []);
      const t0 = now();
      await bus.writeView(makeView('va', t0, { 'eu/a': obs('up', t0) }), ttlMs);
      await bus.publishChange('va', 'eu/b', obs('down', t0 + 1));
      await elapse(ttlMs * 0.4);
      const t1 = now();
      const seen = nextEvent(bus, (e) => e.kind === 'beat');
      assert.equal(await bus.beat('va', 'us', t1, ttlMs), true);
      assert.deepEqual(await seen, { kind: 'beat', vantage: 'va', region: 'us', heartbeatAt: t1 });
      // Past the TTL of the write, within the beat's.
      await elapse(ttlMs * 0.7);
      assert.deepEqual(await bus.readViews(), [{ ...makeView('va', t1, { 'eu/a': obs('up', t0), 'eu/b': obs('down', t0 + 1) }), region: 'us' }]);
    });

    it('a view whose heartbeat expired is gone; a refreshed one stays', async (t) => {
      const { bus, now, ttlMs, elapse } = await harness(t);
      const t0 = now();
      await bus.writeView(makeView('short', t0, { 'eu/a': obs('down', t0) }), ttlMs);
      await bus.writeView(makeView('long', t0, { 'eu/a': obs('up', t0) }), ttlMs * 20);
      await elapse(ttlMs / 2);
      assert.equal((await bus.readViews()).length, 2);
      await elapse(ttlMs);
      assert.deepEqual(
        (await bus.readViews()).map((v) => v.vantage),
        ['long'],
      );
      // A vantage that comes back is a new view, not a resurrection of stale endpoints.
      await bus.writeView(makeView('short', now(), {}), ttlMs * 20);
      assert.deepEqual(
        sorted(await bus.readViews()).map((v) => [v.vantage, v.endpoints.size]),
        [
          ['long', 1],
          ['short', 0],
        ],
      );
    });

    it('publishChange updates the view and delivers a change event asynchronously', async (t) => {
      const { bus, now, ttlMs } = await harness(t);
      const t0 = now();
      await bus.writeView(makeView('va', t0, { 'eu/a': obs('up', t0) }), ttlMs * 10);
      let inCall = false;
      let calledDuring = false;
      const got = new Promise<BusEvent>((resolve) => {
        const off = bus.subscribe((e) => {
          if (e.kind !== 'change') return;
          calledDuring ||= inCall;
          off();
          resolve(e);
        });
      });
      const o = obs('down', t0 + 10, { since: t0 + 10, error: 'timeout' });
      inCall = true;
      const p = bus.publishChange('va', 'eu/a', o);
      inCall = false;
      await p;
      assert.deepEqual(await got, { kind: 'change', vantage: 'va', endpoint: 'eu/a', observation: o });
      assert.equal(calledDuring, false, 'listener ran inside publishChange');
      const [v] = await bus.readViews();
      assert.deepEqual(v!.endpoints.get('eu/a'), o);
      assert.equal(v!.heartbeatAt, t0, 'a change is not a heartbeat');
    });

    it('publishChange without a live view rejects and creates nothing', async (t) => {
      const { bus, now, ttlMs, elapse } = await harness(t);
      await assert.rejects(bus.publishChange('ghost', 'eu/a', obs('up', now())), NoViewError);
      await bus.writeView(makeView('brief', now(), {}), ttlMs);
      await elapse(ttlMs * 2);
      await assert.rejects(bus.publishChange('brief', 'eu/a', obs('up', now())), NoViewError);
      assert.deepEqual(await bus.readViews(), []);
    });

    it('unsubscribe stops delivery', async (t) => {
      const { bus, now, ttlMs } = await harness(t);
      const events: BusEvent[] = [];
      const off = bus.subscribe((e) => events.push(e));
      off();
      const heard = nextEvent(bus, (e) => e.kind === 'view'); // another subscriber still hears it
      await bus.writeView(makeView('va', now(), {}), ttlMs * 10);
      await heard;
      assert.deepEqual(
        events.filter((e) => e.kind !== 'resync'),
        [],
      );
    });

    it('load reports: one per forwarder per region, replaced by the next, announced whole', async (t) => {
      const { bus, now, ttlMs } = await harness(t);
      assert.deepEqual(await bus.readLoads(['eu', 'us']), []);
      const a = load('eu', 'fwd-1', now(), ttlMs * 10, 10);
      const heard = nextEvent(bus, (e) => e.kind === 'load' && e.report.forwarder === 'fwd-1');
      await bus.writeLoad(a, ttlMs * 10);
      assert.deepEqual(await heard, { kind: 'load', report: a });
      const b = load('eu', 'fwd-2', now(), ttlMs * 10, 20);
      const c = load('us', 'fwd-3', now(), ttlMs * 10, 30);
      await bus.writeLoad(b, ttlMs * 10);
      await bus.writeLoad(c, ttlMs * 10);
      const a2 = { ...a, active: 11 };
      await bus.writeLoad(a2, ttlMs * 10);
      const byId = (l: LoadReport[]) => [...l].sort((x, y) => x.forwarder.localeCompare(y.forwarder));
      assert.deepEqual(byId(await bus.readLoads(['eu', 'us'])), [a2, b, c]);
      assert.deepEqual(await bus.readLoads(['us']), [c]);
      assert.deepEqual(await bus.readLoads([]), []);
    });

    it('load reports expire with their TTL; an invalid one is refused', async (t) => {
      const { bus, now, ttlMs, elapse } = await harness(t);
      await bus.writeLoad(load('eu', 'short', now(), ttlMs, 1), ttlMs);
      await elapse(ttlMs * 1.5);
      assert.deepEqual(await bus.readLoads(['eu']), []);
      await assert.rejects(bus.writeLoad({ ...load('eu', 'bad', now(), ttlMs, 1), capacity: 0 }, ttlMs), /invalid load report/);
    });

    it('overrides: write, overwrite, read, delete, each announced', async (t) => {
      const { bus, now } = await harness(t);
      assert.deepEqual(await bus.readOverrides(), []);
      const a = override('region/eu', 'down', now());
      const b = override('endpoint/us/web-1', 'drained', now(), now() + 3_600_000);
      let announced = nextEvent(bus, (e) => e.kind === 'override');
      await bus.writeOverride(a);
      await announced;
      await bus.writeOverride(b);
      const byScope = (l: Override[]) => [...l].sort((x, y) => x.scope.localeCompare(y.scope));
      assert.deepEqual(byScope(await bus.readOverrides()), [b, a]);
      const a2 = { ...a, state: 'drained' as const, reason: 'changed my mind' };
      await bus.writeOverride(a2);
      assert.deepEqual(byScope(await bus.readOverrides()), [b, a2]);
      announced = nextEvent(bus, (e) => e.kind === 'override');
      assert.equal(await bus.deleteOverride('region/eu'), true);
      await announced;
      assert.equal(await bus.deleteOverride('region/eu'), false);
      assert.deepEqual(await bus.readOverrides(), [b]);
    });

    it('overrides: rejects an invalid record', async (t) => {
      const { bus, now } = await harness(t);
      await assert.rejects(bus.writeOverride({ ...override('region/eu', 'down', now()), scope: 'bogus' as Override['scope'] }), /scope/);
    });

    it('overrides: expired ones are not returned', async (t) => {
      const { bus, now, ttlMs, elapse } = await harness(t);
      await bus.writeOverride(override('region/eu', 'down', now(), now() + ttlMs));
      await bus.writeOverride(override('region/us', 'down', now(), null));
      assert.equal((await bus.readOverrides()).length, 2);
      await elapse(ttlMs * 1.5);
      assert.deepEqual(
        (await bus.readOverrides()).map((o) => o.scope),
        ['region/us'],
      );
    });

    it('overrides: a sweep removes each expired record once and returns it; reads only skip them', async (t) => {
      const { bus, now, ttlMs, elapse } = await harness(t);
      const gone = override('region/eu', 'down', now(), now() + ttlMs);
      const renewed = override('region/ap', 'drained', now(), now() + ttlMs);
      const stays = override('region/us', 'down', now(), null);
      for (const o of [gone, renewed, stays]) await bus.writeOverride(o);
      assert.deepEqual(await bus.sweepExpiredOverrides(), [], 'nothing has expired yet');
      await elapse(ttlMs * 1.5);
      assert.deepEqual(
        (await bus.readOverrides()).map((o) => o.scope),
        ['region/us'],
      );
      const fresh = { ...renewed, createdAt: now(), expiresAt: now() + 3_600_000 };
      await bus.writeOverride(fresh);
      // Two sweeps at once (two API nodes): between them, each expired record exactly once.
      const [a, b] = await Promise.all([bus.sweepExpiredOverrides(), bus.sweepExpiredOverrides()]);
      assert.deepEqual([...a, ...b], [gone], 'the expired record, once; not the renewed scope');
      assert.deepEqual(await bus.sweepExpiredOverrides(), []);
      const byScope = (l: Override[]) => [...l].sort((x, y) => x.scope.localeCompare(y.scope));
      assert.deepEqual(byScope(await bus.readOverrides()), [fresh, stays]);
    });

    it('overrides survive a new instance (restart)', async (t) => {
      const h = await harness(t);
      const o = override('endpoint/eu/a', 'up', h.now(), h.now() + 3_600_000);
      await h.bus.writeOverride(o);
      await h.bus.close();
      const again = await h.reopen();
      assert.deepEqual(await again.readOverrides(), [o]);
      assert.equal(await again.deleteOverride('endpoint/eu/a'), true);
      await again.close();
      const third = await h.reopen();
      assert.deepEqual(await third.readOverrides(), []);
      await third.close();
    });
  });
}
