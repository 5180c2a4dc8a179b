/**
 * The Sentinel failover drill: a real `meridian serve` with its admin API on the Redis store, found
 * through three sentinels (`redis: { sentinels, name, waitReplicas: 1 }`), takes a stream of API
 * writes. Mid-stream the replica starts to lag (its replication link is frozen) and then the
 * primary is SIGKILLed. Checked: writes resume once Sentinel has promoted the replica; every write
 * that got a 2xx is in the store afterwards (the writes made while the replica lagged were never
 * acknowledged, because WAIT did not see them replicated); DNS answers never stopped. The figures
 * are printed (README "Running on Redis"). With `waitReplicas: 0` the same drill loses the writes
 * acknowledged during the lag: that is the mutation this test was checked against.
 */
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, it } from 'node:test';
import { startAdminNode, type AdminNode } from '../helpers/admin-node.js';
import { redisHaSkipReason, respCommand, startSentinelGroup, type SentinelGroup } from '../helpers/redis.js';
import { buildVersion, BuiltCache, recordOf } from '../../src/store/chain.js';

const skip = redisHaSkipReason();
const BEFORE = 10; // acknowledged writes before the replica lags
const AFTER = 10; // acknowledged writes after the kill that end the drill
const LAG_MS = 800; // the replica lags this long before the primary dies

interface WriteResult {
  id: string;
  status: number;
  startedAt: number;
  endedAt: number;
}

const isAcked = (r: WriteResult): boolean => r.status >= 200 && r.status < 300;

describe('Redis Sentinel: the primary dies during a stream of API writes', { skip }, () => {
  it('writes resume after the failover, no acknowledged write is lost, DNS never stops', { timeout: 90_000 }, async (t) => {
    const group = await startSentinelGroup({ downAfterMs: 1_000, failoverTimeoutMs: 3_000 });
    let started: AdminNode | null = null;
    t.after(async () => {
      await started?.stop();
      await group.stop();
    });
    const node = (started = await startAdminNode({ sentinels: group.sentinels, name: group.name, waitReplicas: 1, waitTimeoutMs: 500 }));
    assert.equal(await node.answer(), '192.0.2.10');

    const dns = queryContinuously(node);
    const promotion = watchPromotion(group);
    const { results, lagAt, killedAt } = await writeThroughFailover(node, group);
    const [queries, promotedAt] = await Promise.all([dns.stop(), promotion.stop()]);

    const acked = results.filter(isAcked);
    const ackedAfter = acked.filter((r) => r.startedAt > killedAt);
    const stored = await storedEndpointIds(node, group);
    const lost = acked.filter((r) => !stored.viaApi.has(r.id) || !stored.inRedis.has(r.id)).map((r) => r.id);

    // The figures first, so a failing run reports them too.
    const refused = results.filter((r) => !isAcked(r) && r.startedAt >= lagAt).length;
    console.log(
      `sentinel failover drill: ${acked.length} writes acknowledged (${acked.length - ackedAfter.length} before the kill, ${ackedAfter.length} after), ` +
        `${refused} refused while the replica lagged or no primary was reachable, ${lost.length} acknowledged writes lost; ` +
        `replica promoted ${promotedAt === null ? '?' : Math.round(promotedAt - killedAt)} ms after the kill, ` +
        `first acknowledged write ${ackedAfter[0] ? Math.round(ackedAfter[0].endedAt - killedAt) : '?'} ms after the kill; ` +
        `DNS ${queries.sent} UDP queries, ${queries.failed} failed`,
    );
    assert.ok(ackedAfter.length >= AFTER, `writes resumed after the failover (${ackedAfter.length} acknowledged)`);
    assert.equal(await group.currentPrimaryPort(), group.replicaPort, 'Sentinel promoted the replica');
    assert.deepEqual(lost, [], 'no acknowledged write is lost');
    assert.equal(queries.failed, 0, `DNS answers never stopped (${queries.sent} queries)`);
  });
});

/** One UDP query after another until stopped; a timeout or any other answer is a failure. */
function queryContinuously(node: AdminNode): { stop(): Promise<{ sent: number; failed: number }> } {
  const counts = { sent: 0, failed: 0 };
  let running = true;
  const loop = (async () => {
    while (running) {
      counts.sent++;
      if ((await node.answer(1_000)) !== '192.0.2.10') counts.failed++;
      await sleep(5);
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      return counts;
    },
  };
}

/** Samples Sentinel's primary to time the promotion of the replica (performance.now() or null). */
function watchPromotion(group: SentinelGroup): { stop(): Promise<number | null> } {
  let promotedAt: number | null = null;
  let running = true;
  const loop = (async () => {
    while (running && promotedAt === null) {
      const port = await group.currentPrimaryPort().catch(() => null);
      if (port === group.replicaPort) promotedAt = performance.now();
      await sleep(20);
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      return promotedAt;
    },
  };
}

/**
 * Registers endpoints w1, w2 … one after another. After BEFORE acknowledgements the replica starts
 * to lag; LAG_MS later a timer SIGKILLs the primary (so it lands while a write may be in flight).
 * Stops after AFTER acknowledgements that started after the kill, or at a deadline.
 */
async function writeThroughFailover(node: AdminNode, group: SentinelGroup): Promise<{ results: WriteResult[]; lagAt: number; killedAt: number }> {
  const results: WriteResult[] = [];
  let lagAt: number | null = null;
  let killedAt: number | null = null;
  let killing: Promise<void> | null = null;
  const deadline = performance.now() + 45_000;
  for (let i = 1; performance.now() < deadline; i++) {
    const id = `w${i}`;
    const startedAt = performance.now();
    const res = await node.api('POST', '/v1/regions/us-east/endpoints?reason=drill', { id, address: '192.0.2.200', port: 1000 + i }, 5_000);
    const r = { id, status: res.status, startedAt, endedAt: performance.now() };
    results.push(r);
    // 201 (registered) or a refusal (503, or no answer); anything else is a broken drill.
    assert.ok(res.status === 0 || res.status === 201 || res.status >= 500, `write ${id}: unexpected ${res.status} ${JSON.stringify(res.body)}`);
    const acked = results.filter(isAcked);
    if (lagAt === null && acked.length >= BEFORE) {
      group.freezeReplication();
      lagAt = performance.now();
      killing = sleep(LAG_MS).then(async () => {
        await group.killPrimary();
        killedAt = performance.now();
      });
    }
    if (killedAt !== null && acked.filter((a) => a.startedAt > killedAt!).length >= AFTER) break;
    if (!isAcked(r)) await sleep(50);
  }
  await killing;
  assert.ok(lagAt !== null && killedAt !== null, 'the replica lagged and the primary was killed');
  return { results, lagAt, killedAt };
}

/** us-east's endpoint ids as the API lists them, and in the head version on the new primary. */
async function storedEndpointIds(node: AdminNode, group: SentinelGroup): Promise<{ viaApi: Set<string>; inRedis: Set<string> }> {
  const listed = await node.api('GET', '/v1/regions/us-east/endpoints');
  assert.equal(listed.status, 200, JSON.stringify(listed.body));
  const head = Number(await respCommand(group.replicaPort, ['GET', '{meridian}:config:head']));
  // Versions are checkpoints and deltas (src/store/chain.ts): rebuilt from the raw keys, not through the store under test's connection.
  const key = (v: number): string => `{meridian}:config:v:${v}`;
  const built = await buildVersion(head, new BuiltCache(), {
    top: async (n) => ({ text: (await respCommand(group.replicaPort, ['GET', key(n)])) as string | null, cachedValid: false }),
    range: async (from, to) => (await respCommand(group.replicaPort, ['MGET', ...Array.from({ length: to - from + 1 }, (_, i) => key(from + i))])) as (string | null)[],
    where: key,
  });
  const record = recordOf(built!);
  return {
    viaApi: new Set((listed.body as { id: string }[]).map((e) => e.id)),
    inRedis: new Set(record.document.regions.find((r) => r.id === 'us-east')!.endpoints.map((e) => String(e.id))),
  };
}
