/** The vantage on a memory bus: publishes its view with a heartbeat, and resumes after a restart. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MemoryBus } from '../health/memory-bus.js';
import type { ProbeTarget } from './types.js';
import { Vantage } from './vantage.js';

const target: ProbeTarget = { key: 'r1/e1', address: '127.0.0.1', port: 9, check: { type: 'tcp' }, timing: { intervalMs: 20, timeoutMs: 10, rise: 2, fall: 3 } };

async function until(pred: () => Promise<boolean>, ms = 2000): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await pred()) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error('condition not met');
}

test('a vantage publishes its verdicts on the bus', async () => {
  const bus = new MemoryBus();
  const v = new Vantage({ vantage: 'v1', region: 'r1', bus, targets: [target], heartbeatTtlMs: 1000, runCheck: async () => ({ ok: true, rttMs: 1, error: null }) });
  await v.start();
  await until(async () => (await bus.readViews())[0]?.endpoints.get('r1/e1')?.status === 'up');
  await v.stop();
});

test('a restarted vantage resumes from its published status: fewer than `fall` failures do not flip it', async () => {
  const bus = new MemoryBus();
  const ok = new Vantage({ vantage: 'v1', region: 'r1', bus, targets: [target], heartbeatTtlMs: 5000, runCheck: async () => ({ ok: true, rttMs: 1, error: null }) });
  await ok.start();
  await until(async () => (await bus.readViews())[0]?.endpoints.get('r1/e1')?.status === 'up');
  await ok.stop();
  let calls = 0;
  // After the restart the first two checks fail (fall is 3), then the endpoint answers again.
  const restarted = new Vantage({
    vantage: 'v1',
    region: 'r1',
    bus,
    targets: [target],
    heartbeatTtlMs: 5000,
    runCheck: async () => ({ ok: ++calls > 2, rttMs: 1, error: calls > 2 ? null : 'ECONNREFUSED' }),
  });
  const seen: string[] = [];
  bus.subscribe((e) => {
    if (e.kind === 'change') seen.push(e.observation.status);
  });
  await restarted.start();
  await until(async () => calls >= 5);
  await restarted.stop();
  assert.deepEqual(
    seen.filter((s) => s === 'down'),
    [],
    'no down published for two failures',
  );
});

test('apply (a reload or a store version) swaps the targets: the view drops a removed endpoint at once', async () => {
  const bus = new MemoryBus();
  const second: ProbeTarget = { ...target, key: 'r1/e2' };
  const v = new Vantage({ vantage: 'v1', region: 'r1', bus, targets: [target], heartbeatTtlMs: 60_000, runCheck: async () => ({ ok: true, rttMs: 1, error: null }) });
  v.apply({ targets: [target, second], heartbeatTtlMs: 60_000 }); // before start: only recorded
  await v.start();
  const keys = async (): Promise<string[]> => [...((await bus.readViews())[0]?.endpoints.keys() ?? [])].sort();
  await until(async () => (await keys()).join() === 'r1/e1,r1/e2');
  // The heartbeat is a minute away: only apply's own write can drop e2 from the view now.
  v.apply({ targets: [second], heartbeatTtlMs: 60_000, concurrency: 2, jitter: 0 });
  await until(async () => (await keys()).join() === 'r1/e2');
  assert.equal(v.scheduler.stats().targets, 1);
  await v.stop();
});
