import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { redisSkipReason, startRedis, type TestRedis } from '../../test/helpers/redis.js';
import type { ChainOptions } from './chain.js';
import { openRedisStore, RedisStore, type RedisStoreOptions } from './redis.js';
import { doc, grownDoc, req, storeContract, token, type StoreHarness } from './store.contract.js';

const skip = redisSkipReason();
let redis: TestRedis;
before(async () => {
  if (!skip) redis = await startRedis();
});
after(() => redis?.stop());

const tag = (): string => `{t-${randomBytes(4).toString('hex')}}`;
const open = (prefix: string, opts: RedisStoreOptions = {}): Promise<RedisStore> => openRedisStore(redis.url, { prefix, pollMs: 100, retryMaxMs: 200, ...opts });

/** Each harness gets its own hash-tagged prefix, so tests share one server without seeing each other. */
async function setup(opts: ChainOptions = {}): Promise<StoreHarness> {
  const prefix = tag();
  const opened: RedisStore[] = [];
  const track = async (s: Promise<RedisStore>): Promise<RedisStore> => {
    opened.push(await s);
    return opened.at(-1)!;
  };
  const store = await track(open(prefix, opts));
  return {
    store,
    reopen: () => track(open(prefix, opts)),
    writers: async (n) => [store, ...(await Promise.all(Array.from({ length: n - 1 }, () => track(open(prefix, opts)))))],
    settleMs: 350,
    close: async () => {
      await Promise.all(opened.map((s) => s.close()));
    },
  };
}

storeContract('RedisStore', setup, skip);

/** Versions a store announces, recorded in order. */
function record(store: RedisStore): number[] {
  const seen: number[] = [];
  store.onVersion((v) => seen.push(v));
  return seen;
}

async function until(cond: () => boolean, timeoutMs: number, what: string): Promise<number> {
  const t0 = performance.now();
  while (!cond()) {
    if (performance.now() - t0 > timeoutMs) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await sleep(10);
  }
  return performance.now() - t0;
}

describe('RedisStore specifics', { skip }, () => {
  it('restore: an empty store takes a node copy at its own numbers, once; a store that is not empty refuses it', async () => {
    const donor = await open(tag());
    const store = await open(tag());
    try {
      for (let n = 1; n <= 3; n++) assert.ok((await donor.commit(req(n - 1, n))).ok);
      await donor.tokens.put(token('ci', 'operator'));
      await donor.appendAudit({ author: 'alice', action: 'token.create', target: 'token/ci', version: null, reason: '' });
      const record = (await donor.get(3))!;
      const audit = (await donor.audit()).reverse();
      const snapshot = { record, tokens: await donor.tokens.list(), audit, reason: 'test' };
      const [first, second] = await Promise.all([store.restore(snapshot), store.restore(snapshot)]);
      assert.deepEqual([first, second].sort(), [false, true], 'exactly one of two restores wins');
      assert.equal(await store.head(), 3, 'numbering continues');
      assert.deepEqual(await store.get(3), record);
      assert.deepEqual(await store.tokens.list(), snapshot.tokens);
      const after = await store.audit();
      assert.deepEqual(after.slice(1).reverse(), audit, 'the tail, with its seqs');
      assert.deepEqual([after[0]!.seq, after[0]!.action, after[0]!.version], [audit.at(-1)!.seq + 1, 'store.restore', 3]);
      assert.ok((await store.commit(req(3, 4))).ok, 'and commits go on from it');
      assert.equal(await store.restore(snapshot), false, 'not empty: refused');
      assert.equal(await store.head(), 4);
    } finally {
      await donor.close();
      await store.close();
    }
  });

  it('restore: audit entries written since Redis came back keep their seqs; the tail is left out', async () => {
    const store = await open(tag());
    try {
      const early = await store.appendAudit({ author: 'bob', action: 'override.set', target: 'region/eu', version: null, reason: '' });
      const record = { version: 7, author: 'alice', time: '2026-01-02T03:04:05.000Z', reason: 'r', action: 'zone.update', target: 'zone/x', document: doc(7), diff: [] };
      const tail = [{ seq: 40, time: record.time, author: 'alice', action: 'zone.update', target: 'zone/x', version: 7, reason: 'r' }];
      assert.ok(await store.restore({ record, tokens: [], audit: tail, reason: 'test' }));
      const audit = await store.audit();
      assert.deepEqual(
        audit.map((e) => [e.seq, e.action]),
        [
          [early.seq + 1, 'store.restore'],
          [early.seq, 'override.set'],
        ],
      );
    } finally {
      await store.close();
    }
  });

  it('tells when Redis persists nothing (no AOF, no RDB snapshots), and not once either is on', async (t) => {
    const store = await open(tag());
    const admin = new Redis(redis.url);
    t.after(async () => {
      await admin.config('SET', 'appendonly', 'no');
      admin.disconnect();
      await store.close();
    });
    assert.equal(await store.checkPersistence(), 'appendonly no, save ""');
    await admin.config('SET', 'appendonly', 'yes');
    assert.equal(await store.checkPersistence(), null);
  });

  it('uses the documented keys: {meridian} head, v:<n>, meta, audit stream with seq, tokens hash, channel', async () => {
    const raw = new Redis(redis.url);
    const sub = new Redis(redis.url);
    const store = await openRedisStore(redis.url);
    try {
      const messages: string[] = [];
      sub.on('message', (ch: string, m: string) => ch === '{meridian}:config' && messages.push(m));
      await sub.subscribe('{meridian}:config');
      const res = await store.commit(req(0, 1));
      assert.ok(res.ok);
      await store.tokens.put(token('ops'));
      assert.equal(await raw.get('{meridian}:config:head'), '1');
      assert.deepEqual(JSON.parse((await raw.get('{meridian}:config:v:1'))!), res.record);
      assert.equal(JSON.parse((await raw.hget('{meridian}:config:meta', '1'))!).reason, 'change 1');
      const stream = (await raw.xrange('{meridian}:audit', '-', '+')) as [string, string[]][];
      assert.equal(stream.length, 1);
      assert.deepEqual(
        stream[0]![1].filter((_, i) => i % 2 === 0),
        ['seq', 'e'],
      );
      assert.equal(stream[0]![1][1], '1');
      assert.equal(JSON.parse(stream[0]![1][3]!).version, 1);
      assert.equal(await raw.get('{meridian}:audit:seq'), '1');
      assert.deepEqual(JSON.parse((await raw.hget('{meridian}:tokens', 'ops'))!), token('ops'));
      await until(() => messages.length > 0, 1_000, 'notice');
      assert.deepEqual(messages, ['1']);
    } finally {
      await raw.del(...['config:head', 'config:v:1', 'config:meta', 'audit', 'audit:seq', 'tokens'].map((k) => `{meridian}:${k}`));
      raw.disconnect();
      sub.disconnect();
      await store.close();
    }
  });

  it('the audit stream is capped (XADD MAXLEN ~) and still answers newest first across pages', async () => {
    const prefix = tag();
    const store = await open(prefix, { auditMaxLen: 100 });
    const raw = new Redis(redis.url);
    try {
      for (let i = 0; i < 1_200; i++) await store.appendAudit({ author: 'a', action: 'x', target: `t/${i}`, version: null, reason: '' });
      const len = await raw.xlen(`${prefix}:audit`);
      assert.ok(len >= 100 && len < 1_200, `stream length ${len}`);
      const all = await store.audit({ limit: 10_000 });
      assert.equal(all.length, len);
      assert.equal(all[0]!.seq, 1_200);
      assert.deepEqual(
        all.map((e) => e.seq),
        Array.from({ length: len }, (_, i) => 1_200 - i),
      );
      const big = await open(tag());
      for (let i = 0; i < 1_100; i++) await big.appendAudit({ author: i === 3 ? 'needle' : 'a', action: 'x', target: '', version: null, reason: '' });
      assert.deepEqual(
        (await big.audit({ author: 'needle' })).map((e) => e.seq),
        [4],
        'found past the first pages',
      );
      await big.close();
    } finally {
      raw.disconnect();
      await store.close();
    }
  });

  it('a notice lost on the channel still arrives through the head poll within ~1 s (default pollMs)', async () => {
    const prefix = tag();
    const store = await open(prefix, { pollMs: undefined });
    const raw = new Redis(redis.url);
    try {
      const seen = record(store);
      // A commit by a writer whose PUBLISH we never hear: the keys change, no message is sent.
      await raw.set(`${prefix}:config:v:1`, JSON.stringify({ version: 1, author: 'x', time: '', reason: '', action: '', target: '', document: doc(1), diff: [] }));
      await raw.set(`${prefix}:config:head`, '1');
      const took = await until(() => seen.length > 0, 1_500, 'poll notice');
      assert.ok(took > 20, 'came from the poll, not from a message');
      assert.deepEqual(seen, [1]);
    } finally {
      raw.disconnect();
      await store.close();
    }
  });

  it('dedupes: old, repeated and unreadable notices fire nothing; a new head fires once', async () => {
    const prefix = tag();
    const store = await open(prefix);
    const raw = new Redis(redis.url);
    try {
      await store.commit(req(0, 1));
      await store.commit(req(1, 2));
      await sleep(250);
      const seen = record(store);
      for (const m of ['1', '2', '0', 'garbage', '-5']) await raw.publish(`${prefix}:config`, m);
      await sleep(250);
      assert.deepEqual(seen, []);
      await raw.set(`${prefix}:config:head`, '3'); // poll and message both see 3
      await raw.publish(`${prefix}:config`, '3');
      await raw.publish(`${prefix}:config`, '3');
      await sleep(300);
      assert.deepEqual(seen, [3]);
    } finally {
      raw.disconnect();
      await store.close();
    }
  });

  it('since: a node booting from its local copy hears of every head above it', async () => {
    const prefix = tag();
    const writer = await open(prefix);
    await writer.commit(req(0, 1));
    await writer.commit(req(1, 2));
    const late = await open(prefix, { since: 1 });
    const atHead = await open(prefix);
    try {
      const seenLate = record(late);
      const seenAtHead = record(atHead);
      await sleep(300);
      assert.deepEqual(seenLate, [2]);
      assert.deepEqual(seenAtHead, [], 'without since, the head at open is the baseline');
      await writer.commit(req(2, 3));
      await until(() => seenAtHead.length === 1 && seenLate.length === 2, 1_000, 'notice of 3');
    } finally {
      await Promise.all([writer.close(), late.close(), atHead.close()]);
    }
  });

  it('a script that would fail part-way writes nothing', async () => {
    const prefix = tag();
    const store = await open(prefix);
    const raw = new Redis(redis.url);
    try {
      await raw.set(`${prefix}:audit`, 'not a stream');
      await assert.rejects(store.commit(req(0, 1)), /not a stream/);
      assert.equal(await store.head(), 0);
      assert.equal(await raw.exists(`${prefix}:config:v:1`, `${prefix}:config:meta`, `${prefix}:audit:seq`), 0);
      await raw.del(`${prefix}:audit`);
      await raw.set(`${prefix}:audit:seq`, 'x');
      await assert.rejects(store.appendAudit({ author: 'a', action: 'x', target: '', version: null, reason: '' }), /not an integer/);
    } finally {
      raw.disconnect();
      await store.close();
    }
  });

  it('refuses a prefix without a hash tag; open fails after openTimeoutMs when nothing listens', async () => {
    assert.throws(() => new RedisStore('redis://127.0.0.1:1', { prefix: 'meridian' }), /hash tag/);
    const t0 = performance.now();
    await assert.rejects(openRedisStore('redis://127.0.0.1:1', { openTimeoutMs: 300, connectTimeoutMs: 100 }), /not connected after 300 ms/);
    assert.ok(performance.now() - t0 < 1_000);
  });

  it('while Redis is down calls reject fast; after it returns, a head set meanwhile is announced and commits work', async () => {
    const prefix = tag();
    const store = await open(prefix, { retryBaseMs: 20 });
    try {
      await store.commit(req(0, 1));
      const seen = record(store);
      await redis.kill();
      await sleep(50);
      assert.equal(store.connected, false);
      const t0 = performance.now();
      await assert.rejects(store.head());
      await assert.rejects(store.commit(req(1, 2)));
      assert.ok(performance.now() - t0 < 100, `calls took ${performance.now() - t0} ms`);
      await redis.restart(); // an empty server: stand in for the data another writer put there
      const raw = new Redis(redis.url);
      await raw.set(`${prefix}:config:v:2`, JSON.stringify({ version: 2, author: 'x', time: '', reason: '', action: '', target: '', document: doc(2), diff: [] }));
      await raw.set(`${prefix}:config:head`, '2');
      raw.disconnect();
      await store.whenConnected(3_000);
      await until(() => seen.length > 0, 1_000, 'catch-up notice');
      assert.deepEqual(seen, [2]);
      const res = await store.commit(req(2, 3));
      assert.ok(res.ok);
      await until(() => seen.length > 1, 1_000, 'notice of 3');
      assert.deepEqual(seen, [2, 3]);
    } finally {
      await store.close();
    }
  });

  it('versions of the full format (before deltas) read as they are, and new versions are deltas on top of them', async () => {
    const prefix = tag();
    const raw = new Redis(redis.url);
    const old = (v: number) => ({ version: v, author: 'x', time: `2025-01-0${v}T00:00:00.000Z`, reason: '', action: 'seed', target: 'config', document: grownDoc(v), diff: [] });
    for (const v of [1, 2]) {
      await raw.set(`${prefix}:config:v:${v}`, JSON.stringify(old(v)));
      await raw.hset(`${prefix}:config:meta`, String(v), JSON.stringify({ ...old(v), document: undefined, diff: undefined }));
    }
    await raw.set(`${prefix}:config:head`, '2');
    const store = await open(prefix);
    try {
      for (const v of [1, 2]) assert.deepEqual(await store.get(v), old(v));
      const res = await store.commit(req(2, 3, { document: grownDoc(3) }));
      assert.ok(res.ok);
      const stored = JSON.parse((await raw.get(`${prefix}:config:v:3`))!) as Record<string, unknown>;
      assert.equal(stored.document, undefined, 'version 3 is a delta');
      assert.deepEqual(stored.delta && (stored.delta as { from: number }).from, 2);
      const cold = await open(prefix);
      assert.deepEqual(await cold.get(3), res.record);
      await cold.close();
    } finally {
      raw.disconnect();
      await store.close();
    }
  });

  it('a delta is never written on a version the store no longer holds: re-seeded under the same number, the next version is a checkpoint', async () => {
    const prefix = tag();
    const raw = new Redis(redis.url);
    const store = await open(prefix);
    try {
      for (let n = 1; n <= 2; n++) assert.ok((await store.commit(req(n - 1, n, { document: grownDoc(n) }))).ok);
      // Another version 2 (a re-seed from another node's copy): its meta is not the one this store built on.
      await raw.hset(`${prefix}:config:meta`, '2', JSON.stringify({ version: 2, author: 'other', time: '2025-01-01T00:00:00.000Z', reason: '', action: 'store.restore', target: 'config' }));
      assert.equal((await store.get(2))?.document.regions.length, 2, 'version 2 is read from the store again');
      const res = await store.commit(req(2, 3, { document: grownDoc(3) }));
      assert.ok(res.ok);
      const stored = JSON.parse((await raw.get(`${prefix}:config:v:3`))!) as Record<string, unknown>;
      assert.deepEqual(stored.document, grownDoc(3), 'written whole');
      assert.deepEqual(await store.get(3), res.record);
      // And with the meta back in agreement, the next one is a delta again.
      assert.ok((await store.commit(req(3, 4, { document: grownDoc(4) }))).ok);
      assert.equal(JSON.parse((await raw.get(`${prefix}:config:v:4`))!).document, undefined);
    } finally {
      raw.disconnect();
      await store.close();
    }
  });
});
