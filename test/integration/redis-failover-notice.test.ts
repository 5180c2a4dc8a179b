/**
 * Regression (found by the e2e drill 4, test/e2e): a Sentinel `+switch-master` notice that arrives
 * while a command connection is looking up the master made ioredis end that client for good, so a
 * `meridian serve` answered every admin write (and read) with 503 MERIDIAN_ERR_STORE_UNAVAILABLE
 * "Connection is closed." until restarted, although Redis was healthy again.
 *
 * The notice has to land inside the lookup, which a real Sentinel does on its own clock; here a
 * stand-in sentinel (test/helpers/fake-sentinel.ts) in front of a real redis-server holds the
 * lookups, publishes the notice, then answers them. Checked: the node's admin writes work again.
 */
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, it } from 'node:test';
import { startAdminNode, type AdminNode } from '../helpers/admin-node.js';
import { startFakeSentinel, type FakeSentinel } from '../helpers/fake-sentinel.js';
import { redisSkipReason, respCommand, startRedis, type TestRedis } from '../helpers/redis.js';

const skip = redisSkipReason();

async function until(pred: () => Promise<boolean> | boolean, timeoutMs: number): Promise<boolean> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (await pred()) return true;
    await sleep(50);
  }
  return pred();
}

describe('Redis Sentinel: a failover notice during a master lookup', { skip }, () => {
  it('leaves the admin API writing once the master answers again', { timeout: 90_000 }, async (t) => {
    let redis: TestRedis | null = null;
    let fake: FakeSentinel | null = null;
    let node: AdminNode | null = null;
    t.after(async () => {
      await node?.stop();
      await fake?.close();
      await redis?.stop();
    });
    redis = await startRedis();
    fake = await startFakeSentinel('meridian', redis.port);
    node = await startAdminNode({ sentinels: [`127.0.0.1:${fake.port}`], name: 'meridian' });
    const write = async (weight: number): Promise<number> => (await node!.api('PUT', '/v1/regions/us-east/weight', { weight })).status;
    assert.equal(await write(90), 200);

    // Every connection of the node drops; their reconnects look the master up and are held there.
    fake.hold();
    for (const type of ['normal', 'pubsub']) await respCommand(redis.port, ['CLIENT', 'KILL', 'TYPE', type]);
    assert.ok(await until(() => fake!.held() >= 2, 20_000), `the reconnects look the master up (held: ${fake.held()})`);
    // The failover notice reaches the clients' failover detectors in the middle of the lookups.
    fake.switchMaster();
    await sleep(200);
    fake.release();

    const back = await until(async () => (await write(80)) === 200, 20_000);
    assert.ok(back, `admin writes never worked again: ${JSON.stringify(await node.api('PUT', '/v1/regions/us-east/weight', { weight: 70 }))}`);
    assert.equal(await node.answer(), '192.0.2.10', 'DNS answered throughout');
  });
});
