import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, it, type TestContext } from 'node:test';
import { MemoryBus } from './memory-bus.js';
import { FULL_READ_EVERY, HealthSource, type HealthSourceOptions } from './source.js';
import { captureLog, makeView, obs, until } from './testkit.js';
import type { BusEvent, HealthBus } from './types.js';

const TTL = 10_000;
const REGIONS = [
  { id: 'eu', endpoints: ['eu/a'] },
  { id: 'us', endpoints: ['us/a', 'us/b'] },
];

function fixture(t: TestContext, opts: Partial<HealthSourceOptions> = {}) {
  let clock = 1_700_000_000_000;
  const now = (): number => clock;
  const bus = new MemoryBus({ now });
  const source = new HealthSource({ bus, regions: REGIONS, now, heartbeatTtlMs: TTL, resyncIntervalMs: 20, ...opts });
  t.after(() => source.close());
  return { bus, source, now, advance: (ms: number) => void (clock += ms) };
}

describe('HealthSource over MemoryBus', () => {
  it('starts with the cold-start snapshot (up by default, down if configured)', async (t) => {
    const { source } = fixture(t);
    assert.equal(source.current.version, 1);
    assert.equal(source.current.region('eu'), 'up');
    assert.equal(source.current.endpoint('eu/a')!.source, 'cold');
    assert.equal(source.hasSynced, false);
    const down = fixture(t, { coldStart: 'down' }).source;
    assert.equal(down.current.region('us'), 'down');
  });

  it('reflects a written view, then applies changes without re-reading', async (t) => {
    const { bus, source, now } = fixture(t, { resyncIntervalMs: 60_000 });
    const swaps: number[] = [];
    source.onSwap((h) => swaps.push(h.version));
    await bus.writeView(makeView('v1', now(), { 'eu/a': obs('up', now()), 'us/a': obs('down', now()), 'us/b': obs('down', now()) }), TTL);
    await until(source, (h) => h.region('us') === 'down');
    assert.equal(source.hasSynced, true);
    const reads = source.metrics.reads;
    await bus.publishChange('v1', 'us/a', obs('up', now() + 1));
    await until(source, (h) => h.region('us') === 'up');
    assert.equal(source.metrics.reads, reads, 'a change is applied from the message alone');
    assert.ok(swaps.length >= 2 && swaps.every((v, i) => i === 0 || v > swaps[i - 1]!), `versions ${swaps}`);
  });

  it('does not swap when only heartbeats or RTTs change (decision caches survive)', async (t) => {
    const { bus, source, now, advance } = fixture(t);
    await bus.writeView(makeView('v1', now(), { 'eu/a': obs('up', now()) }), TTL);
    await until(source, (h) => h.endpoint('eu/a')!.source === 'probes');
    const v = source.current.version;
    for (let i = 0; i < 5; i++) {
      advance(1_000);
      await bus.writeView(makeView('v1', now(), { 'eu/a': obs('up', now(), { rttMs: i }) }), TTL);
    }
    await source.refresh();
    assert.equal(source.current.version, v);
    assert.equal(source.metrics.swaps, 1);
  });

  it('a vantage that stops heartbeating loses its vote at the next periodic resync (expiry sends no message)', async (t) => {
    const { bus, source, now, advance } = fixture(t);
    await bus.writeView(makeView('dying', now(), { 'eu/a': obs('down', now()) }), TTL);
    await bus.writeView(makeView('alive', now(), { 'eu/a': obs('down', now()) }), TTL);
    await until(source, (h) => h.region('eu') === 'down');
    advance(TTL + 5_000);
    await bus.writeView(makeView('alive', now(), { 'eu/a': obs('down', now()) }), TTL); // its heartbeat
    await until(source, (h) => h.liveVantages === 1);
    assert.deepEqual(source.current.endpoint('eu/a'), { status: 'down', up: 0, down: 1, live: 1, source: 'probes' });
  });

  it("a heartbeat (beat) moves a cached view's deadline with no read; the votes keep counting past the old one", async (t) => {
    const { bus, source, now, advance } = fixture(t, { resyncIntervalMs: 60_000 });
    await bus.writeView(makeView('v1', now(), { 'eu/a': obs('down', now()) }), TTL);
    await until(source, (h) => h.region('eu') === 'down');
    await source.refresh();
    const reads = source.metrics.reads;
    for (let i = 0; i < 6; i++) {
      advance(TTL / 2);
      assert.equal(await bus.beat('v1', 'eu', now(), TTL), true);
    }
    await sleep(10); // events arrive asynchronously
    assert.equal(source.metrics.beats, 6);
    assert.equal(source.metrics.reads, reads, 'a beat reads nothing');
    // A recompute from the cache (a config change) judges the heartbeat the beats moved: 3 TTLs later, still live.
    source.updateConfig(REGIONS);
    assert.equal(source.current.liveVantages, 1);
    assert.equal(source.current.region('eu'), 'down');
  });

  it('the last vantage expiring (no message at all) returns the endpoint to cold start via the periodic resync', async (t) => {
    const { bus, source, now, advance } = fixture(t, { coldStart: 'up' });
    await bus.writeView(makeView('only', now(), { 'eu/a': obs('down', now()) }), TTL);
    await until(source, (h) => h.region('eu') === 'down');
    const recomputes = source.metrics.fullRecomputes;
    advance(TTL + 1_001);
    await until(source, (h) => h.region('eu') === 'up');
    assert.deepEqual(source.current.endpoint('eu/a'), { status: 'up', up: 0, down: 0, live: 0, source: 'cold' });
    assert.ok(source.metrics.fullRecomputes > recomputes);
  });

  it('between the full reads of the safety net, the timer reads nothing and recomputes only when something expired', async (t) => {
    const { bus, source, now } = fixture(t, { resyncIntervalMs: 10 });
    await bus.writeView(makeView('v1', now(), { 'eu/a': obs('up', now()) }), TTL);
    await until(source, (h) => h.liveVantages === 1);
    await source.refresh();
    const before = source.metrics;
    while (source.metrics.ticks - before.ticks < 30) await sleep(10);
    const after = source.metrics;
    const ticks = after.ticks - before.ticks;
    const reads = after.reads - before.reads;
    assert.ok(reads >= 1 && reads <= Math.ceil(ticks / FULL_READ_EVERY) + 1, `${reads} reads in ${ticks} ticks`);
    // The fake clock stands still: no deadline passes, so only the reads recompute.
    assert.equal(after.fullRecomputes - before.fullRecomputes, reads);
  });

  it('overrides outrank probes and stop at expiry', async (t) => {
    const { bus, source, now, advance } = fixture(t);
    await bus.writeView(makeView('v1', now(), { 'eu/a': obs('down', now()) }), TTL);
    await until(source, (h) => h.region('eu') === 'down');
    await bus.writeOverride({ scope: 'endpoint/eu/a', state: 'up', expiresAt: now() + 60_000, reason: 'false alarm', author: 'ops', createdAt: now() });
    await until(source, (h) => h.region('eu') === 'up' && h.endpoint('eu/a')!.source === 'override');
    await bus.writeOverride({ scope: 'region/us', state: 'drained', expiresAt: null, reason: 'move', author: 'ops', createdAt: now() });
    await until(source, (h) => h.region('us') === 'drained');
    advance(60_000);
    await bus.writeView(makeView('v1', now(), { 'eu/a': obs('down', now()) }), TTL); // the probe's heartbeat
    await until(source, (h) => h.region('eu') === 'down');
    assert.equal(source.current.region('us'), 'drained');
  });

  it('coalesces reads: never two in flight, however many events arrive', async (t) => {
    const bus = new MemoryBus();
    let inFlight = 0;
    let maxInFlight = 0;
    const read = bus.readViews.bind(bus);
    bus.readViews = async () => {
      maxInFlight = Math.max(maxInFlight, ++inFlight);
      await sleep(5);
      inFlight--;
      return read();
    };
    const source = new HealthSource({ bus, regions: REGIONS, resyncIntervalMs: 60_000 });
    t.after(() => source.close());
    for (let i = 0; i < 50; i++) await bus.writeView(makeView(`v${i}`, Date.now(), { 'eu/a': obs('up', 1) }), TTL);
    await sleep(30);
    await source.refresh();
    assert.equal(maxInFlight, 1);
    assert.ok(source.metrics.reads < 20, `reads ${source.metrics.reads}`);
    assert.equal(source.current.liveVantages, 50);
  });

  it('updateConfig re-aggregates from the cached views', async (t) => {
    const { bus, source, now } = fixture(t);
    await bus.writeView(makeView('v1', now(), { 'us/a': obs('up', now()), 'us/b': obs('down', now()) }), TTL);
    await until(source, (h) => h.endpoint('us/b')!.status === 'down');
    assert.equal(source.current.region('us'), 'up');
    source.updateConfig(REGIONS, { regionUpFraction: 1 });
    assert.equal(source.current.region('us'), 'down');
    source.updateConfig([{ id: 'us', endpoints: ['us/a'] }]);
    assert.equal(source.current.region('us'), 'up');
  });

  it('a throwing swap listener does not stop the others', async (t) => {
    const { bus, source, now } = fixture(t);
    let called = 0;
    source.onSwap(() => {
      throw new Error('boom');
    });
    source.onSwap(() => void called++);
    await bus.writeView(makeView('v1', now(), { 'eu/a': obs('down', now()) }), TTL);
    await until(source, (h) => h.region('eu') === 'down');
    assert.ok(called >= 1);
  });
});

/** A bus that can be switched off: reads reject and `connected` is false, like Redis going away. */
class FlakyBus implements HealthBus {
  up = true;
  private readonly listeners = new Set<(e: BusEvent) => void>();
  constructor(readonly inner: MemoryBus) {
    inner.subscribe((e) => this.up && this.listeners.forEach((l) => l(e)));
  }
  get connected(): boolean {
    return this.up;
  }
  setUp(up: boolean): void {
    this.up = up;
    if (up) queueMicrotask(() => this.listeners.forEach((l) => l({ kind: 'resync' })));
  }
  /** Reads fail while the connection looks fine (timeouts, a wrong-type key). */
  readsFail = false;
  private gate<T>(f: () => Promise<T>): Promise<T> {
    return this.up && !this.readsFail ? f() : Promise.reject(new Error("Stream isn't writeable and enableOfflineQueue options is false"));
  }
  writeView: HealthBus['writeView'] = (v, ttl) => this.gate(() => this.inner.writeView(v, ttl));
  publishChange: HealthBus['publishChange'] = (v, e, o) => this.gate(() => this.inner.publishChange(v, e, o));
  beat: HealthBus['beat'] = (v, r, at, ttl) => this.gate(() => this.inner.beat(v, r, at, ttl));
  readViews: HealthBus['readViews'] = () => this.gate(() => this.inner.readViews());
  readOverrides: HealthBus['readOverrides'] = () => this.gate(() => this.inner.readOverrides());
  writeOverride: HealthBus['writeOverride'] = (o) => this.gate(() => this.inner.writeOverride(o));
  deleteOverride: HealthBus['deleteOverride'] = (s) => this.gate(() => this.inner.deleteOverride(s));
  sweepExpiredOverrides: HealthBus['sweepExpiredOverrides'] = () => this.gate(() => this.inner.sweepExpiredOverrides());
  writeLoad: HealthBus['writeLoad'] = (r, ttl) => this.gate(() => this.inner.writeLoad(r, ttl));
  readLoads: HealthBus['readLoads'] = (regions) => this.gate(() => this.inner.readLoads(regions));
  subscribe(l: (e: BusEvent) => void): () => void {
    this.listeners.add(l);
    if (this.up) queueMicrotask(() => l({ kind: 'resync' }));
    return () => this.listeners.delete(l);
  }
  close = (): Promise<void> => this.inner.close();
}

describe('HealthSource static stability (bus away)', () => {
  it('keeps the last snapshot indefinitely, ages it, logs each state change once, and resyncs on return', async (t) => {
    let clock = 1_700_000_000_000;
    const now = (): number => clock;
    const inner = new MemoryBus({ now });
    const bus = new FlakyBus(inner);
    const { log, lines } = captureLog();
    const source = new HealthSource({ bus, regions: REGIONS, now, heartbeatTtlMs: TTL, resyncIntervalMs: 10, log });
    t.after(() => source.close());
    await inner.writeView(makeView('v1', now(), { 'eu/a': obs('down', now()) }), TTL);
    await until(source, (h) => h.region('eu') === 'down');
    const before = source.current.version;

    bus.setUp(false);
    for (let i = 0; i < 10; i++) {
      clock += 60_000; // far beyond every heartbeat: still no change while nothing is known
      await sleep(15);
    }
    assert.equal(source.current.version, before, 'no change to the state in force');
    assert.equal(source.connected, false);
    assert.ok(source.snapshotAgeSeconds() >= 600, `age ${source.snapshotAgeSeconds()}`);
    assert.deepEqual(lines.filter((l) => /disconnected/.test(l.msg)).length, 1);

    await inner.writeView(makeView('v1', now(), { 'eu/a': obs('up', now()) }), TTL); // the probe re-writes
    bus.setUp(true);
    await until(source, (h) => h.region('eu') === 'up');
    assert.ok(source.snapshotAgeSeconds() < 1);
    await sleep(30);
    assert.deepEqual(
      lines.filter((l) => /connected/.test(l.msg)).map((l) => l.level),
      ['info', 'warn', 'info'],
      JSON.stringify(lines),
    );
  });

  it('never connected: serves the cold-start snapshot, never throws, warns once', async (t) => {
    const bus = new FlakyBus(new MemoryBus());
    bus.up = false;
    const { log, lines } = captureLog();
    const source = new HealthSource({ bus, regions: REGIONS, resyncIntervalMs: 10, coldStart: 'up', log });
    t.after(() => source.close());
    await sleep(60);
    assert.equal(source.current.region('eu'), 'up');
    assert.equal(source.hasSynced, false);
    assert.ok(source.metrics.readFailures >= 2);
    assert.equal(lines.length, 1, JSON.stringify(lines));
    assert.match(lines[0]!.msg, /not connected since start/);
  });

  it('reads failing on a live connection: keeps the snapshot, warns once per streak, says when it recovers', async (t) => {
    const inner = new MemoryBus();
    const bus = new FlakyBus(inner);
    const { log, lines } = captureLog();
    const source = new HealthSource({ bus, regions: REGIONS, resyncIntervalMs: 10, log });
    t.after(() => source.close());
    await inner.writeView(makeView('v1', Date.now(), { 'eu/a': obs('down', Date.now()) }), TTL);
    await until(source, (h) => h.region('eu') === 'down');
    const before = source.current.version;
    bus.readsFail = true;
    // The timer's next full read (every FULL_READ_EVERY ticks) fails, and the ones after it.
    for (let i = 0; i < 200 && source.metrics.readFailures < 2; i++) await sleep(10);
    assert.ok(source.metrics.readFailures >= 2, `failed reads: ${source.metrics.readFailures}`);
    assert.equal(source.current.version, before);
    bus.readsFail = false;
    await source.refresh();
    assert.deepEqual(
      lines.map((l) => l.msg.replace(/;.*/, '')),
      ['health: bus connected', 'health: read from the bus failed', 'health: reads from the bus succeed again'],
    );
  });
});
