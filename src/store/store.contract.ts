/**
 * The ConfigStore contract, one table run against both back ends (file.test.ts, redis.test.ts),
 * so embedded and cluster mode cannot drift apart. Not a test file itself.
 */
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, it, type TestContext } from 'node:test';
import type { ConfigDocument } from '../config/document.js';
import type { ChainOptions } from './chain.js';
import type { CommitRequest, ConfigStore, TokenRecord } from './types.js';

export interface StoreHarness {
  store: ConfigStore;
  /** Closes nothing; opens a new instance on the same data (call after closing `store`: a restart). */
  reopen(): Promise<ConfigStore>;
  /**
   * `n` writers on the same data, usable alongside `store`: other connections for Redis; for the
   * file store the same instance, because one process owns a data directory.
   */
  writers(n: number): Promise<ConfigStore[]>;
  /** Long enough for every notice to have arrived, including the Redis head poll's. */
  settleMs: number;
  close(): Promise<void>;
}

export function doc(n: number): ConfigDocument {
  return { zones: [{ origin: 'gslb.example.com', records: [{ name: 'www', ttl: 300, type: 'A', data: `192.0.2.${n % 256}` }] }], regions: [], services: [] };
}

export function req(expected: number, n: number, extra: Partial<CommitRequest> = {}): CommitRequest {
  return { expected, document: doc(n), diff: [], author: 'alice', reason: `change ${n}`, action: 'zone.update', target: 'zone/gslb.example.com', ...extra };
}

export function token(name: string, role: TokenRecord['role'] = 'viewer'): TokenRecord {
  return { name, role, sha256: 'ab'.repeat(32), createdAt: '2026-01-02T03:04:05.000Z', createdBy: 'bootstrap' };
}

async function commitN(store: ConfigStore, n: number): Promise<void> {
  for (let i = 0; i < n; i++) {
    const head = await store.head();
    const res = await store.commit(req(head, head + 1));
    assert.equal(res.ok, true);
  }
}

/**
 * A document that changes the way configs do: regions with endpoints (keyed lists) gaining,
 * losing and changing members, properties added and removed, key order changed by a client, the
 * zone record replaced.
 */
export function grownDoc(n: number): ConfigDocument {
  const endpoints = Array.from({ length: 3 + (n % 5) }, (_, i) => ({ id: `e${(i * 7 + n) % 11}`, address: `10.0.${n % 3}.${i}`, port: 443 + (n % 2) }));
  const uniq = [...new Map(endpoints.map((e) => [e.id, e])).values()];
  const region = { id: 'r1', weight: 100 + n, endpoints: uniq, ...(n % 4 === 0 ? { state: 'drained' } : {}) };
  // Every third version a client wrote the region with its keys in another order.
  const ordered = n % 3 === 0 ? { endpoints: region.endpoints, id: region.id, weight: region.weight } : region;
  // A region that never changes: a document much larger than a change, so deltas are written.
  const still = { id: 'r2', weight: 5, endpoints: Array.from({ length: 40 }, (_, i) => ({ id: `s${i}`, address: `10.1.0.${i}`, port: 443 })) };
  return { ...doc(n), regions: [ordered, still] } as unknown as ConfigDocument;
}

export function storeContract(name: string, setup: (opts?: ChainOptions) => Promise<StoreHarness>, skip: string | false = false): void {
  describe(`${name}: ConfigStore contract`, { skip }, () => {
    async function harness(t: TestContext, opts?: ChainOptions): Promise<StoreHarness> {
      const h = await setup(opts);
      t.after(() => h.close());
      return h;
    }

    it('an empty store has head 0 and nothing in it', async (t) => {
      const { store } = await harness(t);
      assert.equal(await store.head(), 0);
      assert.equal(await store.get(1), null);
      assert.deepEqual(await store.list(), []);
      assert.deepEqual(await store.audit(), []);
      assert.deepEqual(await store.tokens.list(), []);
    });

    it('commit is compare-and-set on head: a stale or future expected gets {ok:false, head}', async (t) => {
      const { store } = await harness(t);
      const first = await store.commit(req(0, 1, { diff: [{ op: 'add', path: '/zones/0', after: 'x' }] }));
      assert.ok(first.ok);
      assert.equal(first.record.version, 1);
      assert.deepEqual(first.record.document, doc(1));
      assert.deepEqual(first.record.diff, [{ op: 'add', path: '/zones/0', after: 'x' }]);
      assert.match(first.record.time, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
      assert.deepEqual(await store.commit(req(0, 2)), { ok: false, head: 1 });
      assert.deepEqual(await store.commit(req(5, 2)), { ok: false, head: 1 });
      assert.equal(await store.head(), 1);
      const second = await store.commit(req(1, 2));
      assert.ok(second.ok);
      assert.equal(second.record.version, 2);
      assert.equal(await store.head(), 2);
    });

    it('get returns exactly what commit returned; absent and invalid versions are null', async (t) => {
      const { store } = await harness(t);
      const res = await store.commit(req(0, 7, { author: 'bob', reason: 'why', action: 'region.update', target: 'region/eu-west' }));
      assert.ok(res.ok);
      assert.deepEqual(await store.get(1), res.record);
      for (const v of [0, -1, 1.5, 2, Number.NaN]) assert.equal(await store.get(v), null, `get(${v})`);
    });

    it('the stored record is a copy: mutating the request afterwards changes nothing', async (t) => {
      const { store } = await harness(t);
      const r = req(0, 1);
      await store.commit(r);
      r.document.zones[0]!.records[0]!.data = '203.0.113.99';
      assert.deepEqual((await store.get(1))!.document, doc(1));
    });

    it('list is newest first, with before (exclusive) and limit', async (t) => {
      const { store } = await harness(t);
      await commitN(store, 5);
      const all = await store.list();
      assert.deepEqual(
        all.map((m) => m.version),
        [5, 4, 3, 2, 1],
      );
      assert.deepEqual(Object.keys(all[0]!).sort(), ['action', 'author', 'reason', 'target', 'time', 'version']);
      assert.equal(all[0]!.reason, 'change 5');
      assert.deepEqual(
        (await store.list({ before: 4 })).map((m) => m.version),
        [3, 2, 1],
      );
      assert.deepEqual(
        (await store.list({ before: 4, limit: 2 })).map((m) => m.version),
        [3, 2],
      );
      assert.deepEqual(
        (await store.list({ limit: 1 })).map((m) => m.version),
        [5],
      );
      assert.deepEqual(await store.list({ before: 1 }), []);
    });

    it('every commit writes its audit entry; appendAudit adds others; seqs go up by one', async (t) => {
      const { store } = await harness(t);
      await commitN(store, 2);
      const o = await store.appendAudit({ author: 'carol', action: 'override.set', target: 'region/eu-west', version: null, reason: 'maintenance', detail: { state: 'drained' } });
      assert.equal(o.version, null);
      assert.deepEqual(o.detail, { state: 'drained' });
      await commitN(store, 1);
      const entries = await store.audit();
      assert.deepEqual(
        entries.map((e) => [e.action, e.version]),
        [
          ['zone.update', 3],
          ['override.set', null],
          ['zone.update', 2],
          ['zone.update', 1],
        ],
      );
      const seqs = entries.map((e) => e.seq).reverse();
      assert.deepEqual(
        seqs.map((s) => s - seqs[0]!),
        [0, 1, 2, 3],
      );
      assert.deepEqual(entries[1], o);
      const v3 = (await store.get(3))!;
      assert.deepEqual({ ...entries[0], seq: 0 }, { seq: 0, time: v3.time, author: v3.author, action: v3.action, target: v3.target, version: 3, reason: v3.reason });
    });

    it('audit queries: author, action, inclusive since/until, limit, newest first', async (t) => {
      const { store } = await harness(t);
      const times = ['2026-03-01T10:00:00.000Z', '2026-03-02T10:00:00.000Z', '2026-03-03T10:00:00.000Z', '2026-03-04T10:00:00.000Z'];
      for (const [i, time] of times.entries()) {
        await store.appendAudit({ time, author: i % 2 ? 'bob' : 'alice', action: i < 2 ? 'token.create' : 'override.set', target: `t/${i}`, version: null, reason: '' });
      }
      const targets = async (q: Parameters<ConfigStore['audit']>[0]) => (await store.audit(q)).map((e) => e.target);
      assert.deepEqual(await targets({}), ['t/3', 't/2', 't/1', 't/0']);
      assert.deepEqual(await targets({ author: 'bob' }), ['t/3', 't/1']);
      assert.deepEqual(await targets({ action: 'token.create' }), ['t/1', 't/0']);
      assert.deepEqual(await targets({ since: times[1], until: times[2] }), ['t/2', 't/1']);
      // Instants, not strings: the same moment in another offset.
      assert.deepEqual(await targets({ since: '2026-03-03T12:00:00+02:00' }), ['t/3', 't/2']);
      assert.deepEqual(await targets({ limit: 3, author: 'alice' }), ['t/2', 't/0']);
      assert.deepEqual(await targets({ limit: 1 }), ['t/3']);
      await assert.rejects(store.audit({ since: 'yesterday' }), RangeError);
    });

    it('onVersion: once per new head, in increasing order, after the commit; unsubscribe stops it', async (t) => {
      const { store, settleMs } = await harness(t);
      const seen: number[] = [];
      const seenToo: number[] = [];
      const off = store.onVersion((v) => seen.push(v));
      store.onVersion((v) => seenToo.push(v));
      store.onVersion(() => {
        throw new Error('a broken listener must not stop the others');
      });
      await commitN(store, 3);
      await sleep(settleMs);
      // The file store announces every commit; Redis may coalesce a burst, but never repeats or reorders.
      assert.ok(seen.length >= 1 && seen.at(-1) === 3, `seen ${seen}`);
      assert.deepEqual(
        seen,
        [...new Set(seen)].sort((a, b) => a - b),
      );
      assert.deepEqual(seenToo, seen);
      off();
      await commitN(store, 1);
      await sleep(settleMs);
      assert.equal(seen.at(-1), 3);
      assert.equal(seenToo.at(-1), 4);
    });

    it('a single commit is always announced, exactly once', async (t) => {
      const { store, settleMs } = await harness(t);
      await commitN(store, 2);
      await sleep(settleMs);
      const seen: number[] = [];
      store.onVersion((v) => seen.push(v));
      await commitN(store, 1);
      await sleep(settleMs);
      assert.deepEqual(seen, [3]);
    });

    it('tokens: put, replace, list sorted by name, delete; an invalid record is refused', async (t) => {
      const { store } = await harness(t);
      await store.tokens.put(token('zed'));
      await store.tokens.put(token('amy', 'admin'));
      await store.tokens.put({ ...token('zed'), role: 'operator' });
      assert.deepEqual(await store.tokens.list(), [token('amy', 'admin'), { ...token('zed'), role: 'operator' }]);
      assert.equal(await store.tokens.delete('amy'), true);
      assert.equal(await store.tokens.delete('amy'), false);
      assert.deepEqual(
        (await store.tokens.list()).map((x) => x.name),
        ['zed'],
      );
      await assert.rejects(store.tokens.put({ ...token('bad'), role: 'root' as TokenRecord['role'] }), /role/);
      await assert.rejects(store.tokens.put({ ...token('bad'), sha256: 'secret' }), /sha256/);
      assert.deepEqual(
        (await store.tokens.list()).map((x) => x.name),
        ['zed'],
      );
    });

    it('tokens: create is atomic: of concurrent creates of one name exactly one wins, and it never replaces', async (t) => {
      const { store } = await harness(t);
      const results = await Promise.all(['viewer', 'operator', 'admin', 'viewer'].map((role) => store.tokens.create(token('ci', role as TokenRecord['role']))));
      assert.equal(results.filter(Boolean).length, 1);
      const winner = (await store.tokens.list()).find((x) => x.name === 'ci')!;
      assert.equal(await store.tokens.create({ ...token('ci', 'admin'), sha256: 'f'.repeat(64) }), false);
      assert.deepEqual(
        (await store.tokens.list()).find((x) => x.name === 'ci'),
        winner,
        'the existing token is untouched',
      );
      await assert.rejects(store.tokens.create({ ...token('bad'), sha256: 'secret' }), /sha256/);
    });

    it('versions, audit and tokens survive a restart; seqs and versions continue', async (t) => {
      const h = await harness(t);
      await commitN(h.store, 2);
      await h.store.appendAudit({ author: 'a', action: 'token.create', target: 'token/x', version: null, reason: '' });
      await h.store.tokens.put(token('ops', 'operator'));
      const before = { list: await h.store.list(), audit: await h.store.audit(), v2: await h.store.get(2) };
      await h.store.close();
      const again = await h.reopen();
      t.after(() => again.close());
      assert.equal(await again.head(), 2);
      assert.deepEqual(await again.list(), before.list);
      assert.deepEqual(await again.audit(), before.audit);
      assert.deepEqual(await again.get(2), before.v2);
      assert.deepEqual(await again.tokens.list(), [token('ops', 'operator')]);
      assert.deepEqual(await again.commit(req(1, 9)), { ok: false, head: 2 });
      const res = await again.commit(req(2, 3));
      assert.ok(res.ok && res.record.version === 3);
      const [newest] = await again.audit({ limit: 1 });
      assert.equal(newest!.seq, before.audit[0]!.seq + 1);
    });

    it('prune: old versions and old audit entries go, the newest stay; idempotent; history carries on after a restart', async (t) => {
      const h = await harness(t);
      for (let i = 1; i <= 3; i++) {
        await h.store.appendAudit({ time: `2020-01-0${i}T00:00:00.000Z`, author: 'old', action: 'override.set', target: `t/${i}`, version: null, reason: '' });
      }
      await commitN(h.store, 5);
      assert.deepEqual(await h.store.prune({ keepVersions: 0, auditBefore: null }), { versions: 0, auditEntries: 0 });
      assert.deepEqual(await h.store.prune({ keepVersions: 2, auditBefore: new Date('2021-01-01T00:00:00Z') }), { versions: 3, auditEntries: 3 });
      for (const v of [1, 2, 3]) assert.equal(await h.store.get(v), null, `version ${v} pruned`);
      assert.equal((await h.store.get(4))?.version, 4);
      assert.deepEqual(
        (await h.store.list()).map((m) => m.version),
        [5, 4],
      );
      const audit = await h.store.audit();
      assert.deepEqual(
        audit.map((e) => e.version),
        [5, 4, 3, 2, 1],
      );
      assert.deepEqual(await h.store.prune({ keepVersions: 2, auditBefore: new Date('2021-01-01T00:00:00Z') }), { versions: 0, auditEntries: 0 });
      // Everything older than the cutoff: the newest entry still stays, so seqs carry on.
      const pruned = await h.store.prune({ keepVersions: 1, auditBefore: new Date(Date.now() + 86_400_000) });
      assert.deepEqual(pruned, { versions: 1, auditEntries: 4 });
      assert.deepEqual(
        (await h.store.audit()).map((e) => e.seq),
        [audit[0]!.seq],
      );
      await h.store.close();
      const again = await h.reopen();
      t.after(() => again.close());
      assert.equal(await again.head(), 5);
      assert.deepEqual(
        (await again.list()).map((m) => m.version),
        [5],
      );
      assert.deepEqual(
        (await again.audit()).map((e) => e.seq),
        [audit[0]!.seq],
        'no audit entry repaired back after the restart',
      );
      const res = await again.commit(req(5, 6));
      assert.ok(res.ok && res.record.version === 6);
      assert.deepEqual(
        (await again.audit()).map((e) => e.seq),
        [audit[0]!.seq + 1, audit[0]!.seq],
      );
    });

    it('versions stored as checkpoints and deltas read back exactly, byte for byte, before and after a restart', async (t) => {
      const h = await harness(t, { maxDeltas: 3 });
      const committed: string[] = [];
      for (let n = 1; n <= 14; n++) {
        const res = await h.store.commit(req(n - 1, n, { document: grownDoc(n) }));
        assert.ok(res.ok);
        committed.push(JSON.stringify(res.record));
        assert.equal(JSON.stringify((await h.store.get(n))!.document), JSON.stringify(grownDoc(n)), `version ${n} as committed`);
      }
      const read = async (s: ConfigStore) => Promise.all(committed.map(async (_, i) => JSON.stringify(await s.get(i + 1))));
      // Out of order and backwards: each read rebuilds from its own checkpoint.
      assert.deepEqual(await read(h.store), committed);
      await h.store.close();
      const again = await h.reopen();
      t.after(() => again.close());
      assert.deepEqual((await read(again)).reverse(), [...committed].reverse(), 'a cold store rebuilds the same records');
      const res = await again.commit(req(14, 15, { document: grownDoc(15) }));
      assert.ok(res.ok);
      assert.equal(JSON.stringify(await again.get(15)), JSON.stringify(res.record));
    });

    it('prune keeps every kept version readable when its chain started below the cut; commits carry on', async (t) => {
      const h = await harness(t, { maxDeltas: 100 });
      const records = [];
      for (let n = 1; n <= 8; n++) {
        const res = await h.store.commit(req(n - 1, n, { document: grownDoc(n) }));
        assert.ok(res.ok);
        records.push(res.record);
      }
      assert.deepEqual(await h.store.prune({ keepVersions: 3, auditBefore: null }), { versions: 5, auditEntries: 0 });
      const [other] = await h.writers(2).then((w) => w.slice(1));
      for (const s of [h.store, other!]) {
        for (const v of [1, 5]) assert.equal(await s.get(v), null, `version ${v} pruned`);
        for (const v of [6, 7, 8]) assert.deepEqual(await s.get(v), records[v - 1], `version ${v} kept, exactly`);
      }
      assert.deepEqual(await h.store.prune({ keepVersions: 3, auditBefore: null }), { versions: 0, auditEntries: 0 }, 'idempotent');
      await h.store.close();
      const again = await h.reopen();
      t.after(() => again.close());
      assert.deepEqual(await again.get(6), records[5], 'the oldest kept version, read cold');
      const res = await again.commit(req(8, 9, { document: grownDoc(9) }));
      assert.ok(res.ok);
      assert.deepEqual(await again.get(9), res.record);
      assert.deepEqual((await again.prune({ keepVersions: 1, auditBefore: null })).versions, 3);
      assert.deepEqual(await again.get(9), res.record);
    });

    it('100 parallel commits, each retrying on {ok:false} with a fresh head: exactly 100 versions, none lost', async (t) => {
      const h = await harness(t);
      await commitN(h.store, 1);
      const writers = await h.writers(4);
      const notices: number[] = [];
      h.store.onVersion((v) => notices.push(v));
      const clients = Array.from({ length: 100 }, async (_, i) => {
        const store = writers[i % writers.length]!;
        for (let attempt = 1; attempt <= 500; attempt++) {
          const head = await store.head(); // GET, then PUT with If-Match: head
          const res = await store.commit(req(head, 1000 + i, { author: `client-${i}` }));
          if (res.ok) return res.record.version;
          assert.ok(res.head > head, `a conflict must report a newer head (${res.head} after ${head})`);
        }
        throw new Error(`client ${i} never got through`);
      });
      const versions = await Promise.all(clients);
      assert.deepEqual(
        [...versions].sort((a, b) => a - b),
        Array.from({ length: 100 }, (_, i) => i + 2),
      );
      assert.equal(await h.store.head(), 101);
      const authors = new Set<string>();
      for (let v = 2; v <= 101; v++) {
        const rec = (await h.store.get(v))!;
        assert.equal(rec.version, v);
        assert.equal(rec.document.zones[0]!.records[0]!.data, `192.0.2.${(1000 + Number(rec.author.slice(7))) % 256}`);
        authors.add(rec.author);
      }
      assert.equal(authors.size, 100);
      const audit = await h.store.audit({ action: 'zone.update', limit: 1000 });
      assert.deepEqual(
        audit.map((e) => e.version),
        Array.from({ length: 101 }, (_, i) => 101 - i),
      );
      await sleep(h.settleMs);
      assert.equal(notices.at(-1), 101);
      assert.deepEqual(
        notices,
        [...new Set(notices)].sort((a, b) => a - b),
      );
    });
  });
}
