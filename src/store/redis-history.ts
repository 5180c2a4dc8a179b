/**
 * Reading and trimming the Redis store's history: version keys as chain.ts reads them, the audit
 * stream paged newest first, and retention's deletes. Plain functions over a client and the key
 * names, so redis.ts keeps only the store's connection state and its atomic writes.
 * @module
 */
import type { RedisClient } from '../redis/client.js';
import { auditMatcher, firstKeptAuditIndex, metaOf } from './records.js';
import type { VersionSource } from './chain.js';
import { parseStreamEntry } from './redis-scripts.js';
import { PAGE, type StoreKeys } from './redis-keys.js';
import type { AuditEntry, AuditQuery } from './types.js';

/**
 * Version keys as chain.ts reads them. A version built earlier is used only while the meta hash
 * still holds its meta: a Redis re-seeded after losing its data may hold another version under
 * that number, and a pruned one has none.
 */
export function versionSource(cmd: RedisClient, k: StoreKeys): VersionSource {
  return {
    top: async (n, cached) => {
      const pipe = cmd.pipeline();
      if (cached?.version !== n) pipe.get(k.version(n));
      if (cached) pipe.hget(k.meta, String(cached.version));
      const res = (await pipe.exec()) ?? [];
      for (const [err] of res) if (err) throw err;
      const values = res.map(([, v]) => v as string | null);
      const text = cached?.version !== n ? values[0]! : null;
      return { text, cachedValid: cached !== null && values.at(-1) === JSON.stringify(metaOf(cached)) };
    },
    range: async (from, to) => {
      const out: (string | null)[] = [];
      for (let v = from; v <= to; v += PAGE) {
        const keys = Array.from({ length: Math.min(PAGE, to - v + 1) }, (_, i) => k.version(v + i));
        out.push(...(await cmd.mget(...keys)));
      }
      return out;
    },
    where: (v) => `config store: ${k.version(v)}`,
  };
}

/** Newest first, paging back through the stream until `limit` entries match or the stream ends. */
export async function readAudit(cmd: RedisClient, key: string, query: AuditQuery): Promise<AuditEntry[]> {
  const { match, limit } = auditMatcher(query);
  const out: AuditEntry[] = [];
  let end = '+';
  while (out.length < limit) {
    const page = (await cmd.xrevrange(key, end, '-', 'COUNT', PAGE)) as [string, string[]][];
    for (const [, fields] of page) {
      const e = parseStreamEntry(fields);
      if (e && match(e)) out.push(e);
      if (out.length >= limit) break;
    }
    if (page.length < PAGE) break;
    end = `(${page[page.length - 1]![0]}`;
  }
  return out;
}

/**
 * The stream is in time order, so the prefix before the first entry to keep is trimmed with XTRIM
 * MINID (Redis >= 6.2). The newest entry always stays. Returns the entries removed.
 */
export async function trimAuditBefore(cmd: RedisClient, key: string, before: Date): Promise<number> {
  let start = '-';
  let keepFrom: string | null = null;
  for (;;) {
    const page = (await cmd.xrange(key, start, '+', 'COUNT', PAGE)) as [string, string[]][];
    if (page.length === 0) {
      // The previous (full) page ended with the newest entry: keep that one.
      if (start !== '-') keepFrom = start.slice(1);
      break;
    }
    const times = page.map(([, fields]) => ({ time: parseStreamEntry(fields)?.time ?? '' }));
    const i = firstKeptAuditIndex(times, before);
    // Found one recent enough, or this is the newest entry (which always stays).
    if (Date.parse(times[i]!.time) >= before.getTime() || page.length < PAGE) {
      keepFrom = page[i]![0];
      break;
    }
    start = `(${page[page.length - 1]![0]}`;
  }
  return keepFrom === null ? 0 : Number(await cmd.xtrim(key, 'MINID', keepFrom));
}

/**
 * Deletes versions 1..last (their keys and meta fields, found through the meta hash), newest
 * first, so a reader in the middle finds every version still there readable (chain.ts reads a hole
 * once more). Returns the version keys deleted.
 */
export async function deleteVersionsUpTo(cmd: RedisClient, k: StoreKeys, last: number): Promise<number> {
  const old = (await cmd.hkeys(k.meta))
    .map(Number)
    .filter((v) => Number.isSafeInteger(v) && v >= 1 && v <= last)
    .sort((a, b) => b - a);
  let versions = 0;
  for (let i = 0; i < old.length; i += PAGE) {
    const batch = old.slice(i, i + PAGE);
    const res = await cmd
      .multi()
      .del(...batch.map((v) => k.version(v)))
      .hdel(k.meta, ...batch.map(String))
      .exec();
    versions += Number(res?.[0]?.[1] ?? 0);
  }
  return versions;
}
