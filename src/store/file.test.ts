import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { appendFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import type { ChainOptions } from './chain.js';
import { openFileStore, readVersionUnlocked, versionFileName, type FileStore } from './file.js';
import type { VersionRecord } from './types.js';
import { LOCK_FILE } from './lock.js';
import { doc, grownDoc, req, storeContract, token, type StoreHarness } from './store.contract.js';

const root = mkdtempSync(join(tmpdir(), 'meridian-file-store-'));
after(() => rmSync(root, { recursive: true, force: true }));
let n = 0;
const freshDir = (): string => join(root, `store-${++n}`);

async function setup(opts: ChainOptions = {}): Promise<StoreHarness> {
  const dir = freshDir();
  let store = await openFileStore(dir, opts);
  return {
    store,
    reopen: async () => (store = await openFileStore(dir, opts)),
    writers: async (count) => Array.from({ length: count }, () => store),
    settleMs: 20,
    close: () => store.close(),
  };
}

storeContract('FileStore', setup);

async function withStore(dir: string, fn: (s: FileStore) => Promise<void>, opts: ChainOptions = {}): Promise<void> {
  const s = await openFileStore(dir, opts);
  try {
    await fn(s);
  } finally {
    await s.close();
  }
}

const auditLines = (dir: string): string[] => readFileSync(join(dir, 'audit.jsonl'), 'utf8').split('\n');

describe('FileStore specifics', () => {
  it('lays out versions/<n>.json, audit.jsonl and tokens.json (0600), with no temp files left', async () => {
    const dir = freshDir();
    await withStore(dir, async (s) => {
      const res = await s.commit(req(0, 1));
      assert.ok(res.ok);
      await s.commit(req(1, 2));
      await s.tokens.put(token('ops'));
      assert.equal(versionFileName(1), '0000000001.json');
      assert.deepEqual(readdirSync(join(dir, 'versions')), ['0000000001.json', '0000000002.json']);
      assert.deepEqual(JSON.parse(readFileSync(join(dir, 'versions', '0000000001.json'), 'utf8')), res.record);
      const lines = auditLines(dir);
      assert.equal(lines.at(-1), '', 'every line ends in a newline');
      assert.deepEqual(
        lines.slice(0, -1).map((l) => JSON.parse(l).version),
        [1, 2],
      );
      assert.deepEqual(JSON.parse(readFileSync(join(dir, 'tokens.json'), 'utf8')), [token('ops')]);
      assert.equal(statSync(join(dir, 'tokens.json')).mode & 0o777, 0o600);
      assert.deepEqual(readdirSync(dir).sort(), ['audit.jsonl', LOCK_FILE, 'tokens.json', 'versions']);
    });
    assert.equal(readdirSync(dir).includes(LOCK_FILE), false, 'close releases the lock');
  });

  it('a torn last audit line is ignored on read and cut off by the next append', async () => {
    const dir = freshDir();
    await withStore(dir, (s) => s.commit(req(0, 1)).then(() => undefined));
    appendFileSync(join(dir, 'audit.jsonl'), '{"seq":2,"time":"2026-01-01T00:00:00.000Z","auth');
    await withStore(dir, async (s) => {
      assert.deepEqual(
        (await s.audit()).map((e) => e.seq),
        [1],
      );
      assert.equal(s.auditLog.hasTornTail, true);
      const e = await s.appendAudit({ author: 'a', action: 'token.create', target: 'token/x', version: null, reason: '' });
      assert.equal(e.seq, 2);
      const lines = auditLines(dir);
      assert.deepEqual(
        lines.slice(0, -1).map((l) => JSON.parse(l).seq),
        [1, 2],
      );
      assert.deepEqual(
        (await s.audit()).map((e) => e.seq),
        [2, 1],
      );
    });
  });

  it('an unterminated last line counts as torn even when it is complete JSON', async () => {
    const dir = freshDir();
    await withStore(dir, (s) => s.commit(req(0, 1)).then(() => undefined));
    const file = join(dir, 'audit.jsonl');
    writeFileSync(file, readFileSync(file, 'utf8').replace(/\n$/, ''));
    // The commit's audit line is torn: open re-creates it from the version file.
    await withStore(dir, async (s) => {
      assert.deepEqual(
        (await s.audit()).map((e) => [e.seq, e.version]),
        [[1, 1]],
      );
      assert.equal(auditLines(dir).length, 2);
    });
  });

  it('a version without its audit line (crash in between) gets it back at open, with the version time', async () => {
    const dir = freshDir();
    await withStore(dir, async (s) => {
      await s.commit(req(0, 1));
      await s.appendAudit({ author: 'x', action: 'override.set', target: 'region/eu', version: null, reason: '' });
      await s.commit(req(1, 2, { author: 'bob' }));
    });
    const file = join(dir, 'audit.jsonl');
    const lines = auditLines(dir);
    writeFileSync(file, `${lines.slice(0, 2).join('\n')}\n`); // drop version 2's line
    await withStore(dir, async (s) => {
      const [repaired] = await s.audit({ limit: 1 });
      const v2 = (await s.get(2))!;
      assert.deepEqual(repaired, { seq: 3, time: v2.time, author: 'bob', action: 'zone.update', target: v2.target, version: 2, reason: v2.reason });
    });
    await withStore(dir, async (s) => assert.equal((await s.audit()).length, 3, 'repaired once, not on every open'));
  });

  it('removes stale temp files at open and never takes one for a version', async () => {
    const dir = freshDir();
    await withStore(dir, (s) => s.commit(req(0, 1)).then(() => undefined));
    writeFileSync(join(dir, 'versions', '.0000000002.json.123.abcd.tmp'), '{"version": 2, "docu');
    writeFileSync(join(dir, '.tokens.json.123.abcd.tmp'), '[');
    await withStore(dir, async (s) => {
      assert.equal(await s.head(), 1);
      assert.deepEqual(readdirSync(join(dir, 'versions')), ['0000000001.json']);
      assert.equal(
        readdirSync(dir).some((f) => f.endsWith('.tmp')),
        false,
      );
    });
  });

  it('refuses to open on a damaged head version or tokens file, naming the file', async () => {
    const dir = freshDir();
    await withStore(dir, async (s) => {
      await s.commit(req(0, 1));
      await s.tokens.put(token('ops'));
    });
    const v1 = join(dir, 'versions', '0000000001.json');
    const good = readFileSync(v1, 'utf8');
    truncateSync(v1, 20);
    await assert.rejects(openFileStore(dir), /0000000001\.json: not valid JSON/);
    writeFileSync(v1, JSON.stringify({ ...JSON.parse(good), document: { zones: [] } }));
    await assert.rejects(openFileStore(dir), /0000000001\.json: 'document'/);
    writeFileSync(v1, good);
    writeFileSync(join(dir, 'tokens.json'), '{"ops": 1}');
    await assert.rejects(openFileStore(dir), /tokens\.json: expected a JSON array/);
    writeFileSync(join(dir, 'tokens.json'), '[]');
    await withStore(dir, async (s) => assert.equal(await s.head(), 1)); // a failed open left no lock behind
  });

  it("one store per data dir: a second open fails while the first is open, a dead owner's lock is taken over", async () => {
    const dir = freshDir();
    const s = await openFileStore(dir);
    await assert.rejects(openFileStore(dir), /already open in this process/);
    await s.close();
    // A lock held by a live process that is not us.
    const sleeper = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60_000)'], { stdio: 'ignore' });
    try {
      writeFileSync(join(dir, LOCK_FILE), `${sleeper.pid} deadbeef\n`);
      await assert.rejects(openFileStore(dir), new RegExp(`in use by process ${sleeper.pid}`));
    } finally {
      sleeper.kill('SIGKILL');
    }
    // A lock left by a process that is gone (kill -9).
    const gone = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
    writeFileSync(join(dir, LOCK_FILE), `${gone.stdout} deadbeef\n`);
    await withStore(dir, async (again) => assert.equal(await again.head(), 0));
  });

  it('rejects writes after close', async () => {
    const s = await openFileStore(freshDir());
    await s.close();
    await assert.rejects(s.commit(req(0, 1)), /closed/);
    await assert.rejects(s.tokens.put(token('x')), /closed/);
  });

  it('a failed version write leaves head and files as they were', async () => {
    const dir = freshDir();
    await withStore(dir, async (s) => {
      await s.commit(req(0, 1));
      rmSync(join(dir, 'versions'), { recursive: true });
      await assert.rejects(s.commit(req(1, 2)), /ENOENT/);
      assert.equal(await s.head(), 1);
      assert.deepEqual(
        (await s.audit()).map((e) => e.version),
        [1],
      );
    });
  });

  it('a data directory of the full format (before deltas) reads as it is; new versions are deltas on top; explain reads the head without the lock', async () => {
    const dir = freshDir();
    mkdirSync(join(dir, 'versions'), { recursive: true });
    const old = (v: number) => ({ version: v, author: 'x', time: `2025-01-0${v}T00:00:00.000Z`, reason: '', action: 'seed', target: 'config', document: grownDoc(v), diff: [] });
    for (const v of [1, 2]) writeFileSync(join(dir, 'versions', versionFileName(v)), `${JSON.stringify(old(v))}\n`);
    let committed: VersionRecord | null = null;
    await withStore(dir, async (s) => {
      for (const v of [1, 2]) assert.deepEqual(await s.get(v), old(v));
      assert.deepEqual(
        (await s.audit()).map((e) => e.version),
        [2, 1],
        'audit repaired from the old files',
      );
      const res = await s.commit(req(2, 3, { document: grownDoc(3) }));
      assert.ok(res.ok);
      committed = res.record;
    });
    const stored = JSON.parse(readFileSync(join(dir, 'versions', versionFileName(3)), 'utf8')) as Record<string, unknown>;
    assert.equal(stored.document, undefined, 'version 3 is a delta');
    assert.deepEqual(await readVersionUnlocked(dir, 3), committed);
    await withStore(dir, async (s) => assert.deepEqual(await s.get(3), committed));
  });

  it('a checkpoint after maxDeltas deltas, and whenever the chain would outgrow the document', async () => {
    const kinds = async (opts: { maxDeltas: number }, docOf: (n: number) => ReturnType<typeof grownDoc>): Promise<string> => {
      const dir = freshDir();
      const commitAll = async (s: FileStore): Promise<void> => {
        for (let n = 1; n <= 9; n++) assert.ok((await s.commit(req(n - 1, n, { document: docOf(n) }))).ok);
      };
      await withStore(dir, commitAll, opts);
      return readdirSync(join(dir, 'versions'))
        .sort()
        .map((f) => ('document' in JSON.parse(readFileSync(join(dir, 'versions', f), 'utf8')) ? 'C' : 'd'))
        .join('');
    };
    assert.equal(await kinds({ maxDeltas: 3 }, grownDoc), 'CdddCdddC');
    assert.equal(await kinds({ maxDeltas: 0 }, grownDoc), 'CCCCCCCCC');
    // A tiny document: a delta would cost about as much as a copy, so every version is one.
    assert.equal(await kinds({ maxDeltas: 3 }, doc), 'CCCCCCCCC');
  });
});
