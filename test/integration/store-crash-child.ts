/**
 * Child of store-crash.test.ts: commits to a FileStore in a tight loop (with audit-only entries and
 * token rewrites in between) until it is killed. After each commit returns it prints
 * `committed <n>`: stdout is a pipe, which Node writes synchronously on Linux, so the parent knows
 * every version that was acknowledged before the kill.
 */
import { openFileStore } from '../../src/store/file.js';
import type { ConfigDocument } from '../../src/config/document.js';

const dir = process.argv[2];
if (!dir) throw new Error('usage: store-crash-child.ts DATA_DIR');

// Big enough (~150 KB) that a kill often lands inside a write, not between two.
function document(n: number): ConfigDocument {
  const records = Array.from({ length: 2_000 }, (_, i) => ({ name: `host-${i}`, ttl: 300, type: 'TXT', data: `"version ${n} record ${i} ${'x'.repeat(20)}"` }));
  return { zones: [{ origin: 'gslb.example.com', records }], regions: [], services: [] };
}

const store = await openFileStore(dir);
process.stdout.write(`ready ${await store.head()}\n`);
for (let i = 0; ; i++) {
  const head = await store.head();
  const res = await store.commit({ expected: head, document: document(head + 1), diff: [], author: `pid-${process.pid}`, reason: `loop ${i}`, action: 'zone.update', target: 'zone/gslb.example.com' });
  if (!res.ok) throw new Error(`lone writer lost a compare-and-set at ${head}`);
  process.stdout.write(`committed ${res.record.version}\n`);
  if (i % 4 === 0) await store.appendAudit({ author: 'crash', action: 'override.set', target: 'region/eu', version: null, reason: `${i}` });
  if (i % 7 === 0) await store.tokens.put({ name: `t${i % 5}`, role: 'viewer', sha256: 'cd'.repeat(32), createdAt: new Date().toISOString(), createdBy: 'crash' });
}
