/**
 * kill -9 against the file store: a child process commits in a tight loop and is SIGKILLed at a
 * random moment, several times over the same data directory. After every kill the store must
 * open (stale lock taken over, temp files dropped, torn audit tail ignored), its head must be at
 * least the last version the child saw acknowledged, every version file 1..head must exist and
 * parse, and the audit log must hold exactly one entry per version with contiguous seqs.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { openFileStore, versionFileName } from '../../src/store/file.js';

const CHILD = fileURLToPath(new URL('./store-crash-child.ts', import.meta.url));
const ITERATIONS = 12;
const BUDGET_MS = 45_000;

const dir = mkdtempSync(join(tmpdir(), 'meridian-store-crash-'));
after(() => rmSync(dir, { recursive: true, force: true }));

interface Run {
  acknowledged: number;
  startHead: number;
  tempsLeft: number;
  tornAudit: boolean;
}

/**
 * Starts the child, lets it acknowledge `ackCount` commits, waits `killAfterMs` more (a few ms: the
 * next commit's writes are under way then) and kills it with SIGKILL.
 */
async function runAndKill(ackCount: number, killAfterMs: number): Promise<Run> {
  const child = spawn(process.execPath, ['--import', 'tsx', CHILD, dir], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<NodeJS.Signals | number | null>((resolve) => child.once('exit', (code, signal) => resolve(signal ?? code)));
  const deadline = Date.now() + 15_000;
  while ((out.match(/^committed /gm) ?? []).length < ackCount) {
    if (child.exitCode !== null) throw new Error(`child exited early (${child.exitCode}): ${err}`);
    if (Date.now() > deadline) throw new Error(`child not ready: ${err}`);
    await sleep(5);
  }
  await sleep(killAfterMs);
  child.kill('SIGKILL');
  assert.equal(await exited, 'SIGKILL', `child died on its own: ${err}`);
  const startHead = Number(/ready (\d+)/.exec(out)![1]);
  const acks = [...out.matchAll(/^committed (\d+)$/gm)].map((m) => Number(m[1]));
  const audit = readFileSync(join(dir, 'audit.jsonl'), { encoding: 'utf8', flag: 'a+' });
  return {
    acknowledged: acks.at(-1) ?? startHead,
    startHead,
    tempsLeft: [...readdirSync(dir), ...readdirSync(join(dir, 'versions'))].filter((f) => f.endsWith('.tmp')).length,
    tornAudit: audit.length > 0 && !audit.endsWith('\n'),
  };
}

test('SIGKILL at random moments never leaves a broken store', { timeout: BUDGET_MS + 30_000 }, async (t) => {
  const t0 = Date.now();
  let lastHead = 0;
  let mid = 0;
  for (let i = 0; i < ITERATIONS && Date.now() - t0 < BUDGET_MS; i++) {
    const run = await runAndKill(1 + Math.floor(Math.random() * 4), Math.random() * 25);
    if (run.tempsLeft > 0 || run.tornAudit) mid++;
    assert.equal(run.startHead, lastHead, 'the child reopened at the head we verified');

    const store = await openFileStore(dir);
    try {
      const head = await store.head();
      assert.ok(head >= run.acknowledged, `head ${head} lost acknowledged version ${run.acknowledged}`);
      // Every file parses and the versions are exactly 1..head.
      const names = readdirSync(join(dir, 'versions'));
      assert.deepEqual(
        names,
        Array.from({ length: head }, (_, k) => versionFileName(k + 1)),
      );
      for (const name of names) JSON.parse(readFileSync(join(dir, 'versions', name), 'utf8'));
      for (let v = 1; v <= head; v++) assert.equal((await store.get(v))?.version, v);
      // One audit entry per version (repaired if the kill fell between version and audit line), contiguous seqs.
      const audit = (await store.audit({ limit: 10_000 })).reverse();
      assert.deepEqual(
        audit.map((e) => e.seq),
        Array.from({ length: audit.length }, (_, k) => k + 1),
      );
      assert.deepEqual(
        audit.filter((e) => e.version !== null).map((e) => e.version),
        Array.from({ length: head }, (_, k) => k + 1),
      );
      await store.tokens.list();
      assert.equal(
        [...readdirSync(dir), ...names].some((f) => f.endsWith('.tmp')),
        false,
        'temp files removed at open',
      );
      // The store still takes commits after recovery.
      const res = await store.commit({ expected: head, document: { zones: [], regions: [], services: [] }, diff: [], author: 'test', reason: 'after kill', action: 'zone.update', target: 'zone/x' });
      assert.ok(res.ok);
      lastHead = res.record.version;
    } finally {
      await store.close();
    }
    t.diagnostic(`kill ${i + 1}: acknowledged ${run.acknowledged}, head ${lastHead - 1}, temps ${run.tempsLeft}, torn audit ${run.tornAudit}`);
  }
  assert.ok(lastHead > ITERATIONS, `the child committed too little to test anything (head ${lastHead})`);
  t.diagnostic(`${mid} kill(s) landed inside a write`);
});
