/**
 * How both back ends store versions: checkpoints and deltas (README "Version format"). A
 * checkpoint is a whole VersionRecord, the format every version had before, so stores written
 * then read as they are. A delta holds the version's metadata, its diff and a `delta` block; the
 * document is the nearest checkpoint at or below it with the deltas after it applied in order. A
 * version costs what changed, not the size of the config.
 *
 *   { version, author, time, reason, action, target, diff, delta: { from, n, bytes, patch? } }
 *
 * `from`: the checkpoint the chain started at; `n`: deltas since it (this one included); `bytes`:
 * their stored bytes; `patch`: the exact delta (diff.ts exactDelta), left out when the diff itself
 * is that delta (the usual case: one endpoint added is one `add` either way).
 *
 * A version is written as a checkpoint when it is the first, when the chain would pass `maxDeltas`
 * (bounds what a cold read applies) or when the chain's bytes would pass the size of the document
 * (then a copy is cheaper, and the stored bytes stay within twice the deltas'). A delta is only
 * written after it was applied to the previous document and gave this one byte for byte; anything
 * else is written as a checkpoint. Retention turns the oldest kept version into a checkpoint
 * before deleting what is older (file.ts, redis.ts), so every kept version stays readable.
 * @module
 */
import type { ConfigDocument } from '../config/document.js';
import { applyDiff, exactDelta } from './diff.js';
import { metaOf, parseVersionMeta, parseVersionRecord } from './records.js';
import type { DiffEntry, VersionMeta, VersionRecord } from './types.js';

export interface ChainOptions {
  /** Deltas after a checkpoint before the next checkpoint; 0 stores every version whole. */
  maxDeltas?: number;
}

export const CHAIN_DEFAULTS = { maxDeltas: 1_000 } as const;

interface DeltaBlock {
  from: number;
  n: number;
  bytes: number;
  patch?: DiffEntry[];
}

export type StoredVersion = { kind: 'full'; record: VersionRecord } | { kind: 'delta'; meta: VersionMeta; diff: DiffEntry[]; delta: DeltaBlock; patch: DiffEntry[] };

/**
 * A version rebuilt by the store, owned by it: its document is applied to in place when the next
 * version is built from it, so it is never handed out (`recordOf` copies).
 */
export interface Built {
  meta: VersionMeta;
  diff: DiffEntry[];
  doc: ConfigDocument;
  /** The chain this version ends: a checkpoint has `from` = its version and n = bytes = 0. */
  from: number;
  n: number;
  bytes: number;
}

function count(v: unknown, where: string, key: string, min: number): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min) throw new Error(`${where}: 'delta.${key}' must be an integer >= ${min}`);
  return v;
}

export function parseStoredVersion(text: string, where: string): StoredVersion {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new Error(`${where}: not valid JSON (${(err as Error).message})`, { cause: err });
  }
  const v = value as Record<string, unknown> | null;
  if (typeof v !== 'object' || v === null || v.delta === undefined) return { kind: 'full', record: parseVersionRecord(value, where) };
  const meta = parseVersionMeta(value, where);
  const d = v.delta as Record<string, unknown> | null;
  if (typeof d !== 'object' || d === null || !Array.isArray(v.diff)) throw new Error(`${where}: 'delta' must be an object and 'diff' an array`);
  if (d.patch !== undefined && !Array.isArray(d.patch)) throw new Error(`${where}: 'delta.patch' must be an array`);
  const delta: DeltaBlock = { from: count(d.from, where, 'from', 1), n: count(d.n, where, 'n', 1), bytes: count(d.bytes, where, 'bytes', 0) };
  if (delta.from >= meta.version) throw new Error(`${where}: 'delta.from' must be below the version`);
  const diff = v.diff as DiffEntry[];
  // The diff as the patch is copied: applied values become part of the document, which must not
  // share objects with the diff a record carries.
  const patch = (d.patch as DiffEntry[] | undefined) ?? (JSON.parse(JSON.stringify(diff)) as DiffEntry[]);
  return { kind: 'delta', meta, diff, delta, patch };
}

/** The meta of a stored version without rebuilding it (list, audit repair). */
export function metaOfStored(s: StoredVersion): VersionMeta {
  return s.kind === 'full' ? metaOf(s.record) : s.meta;
}

function builtOfFull(record: VersionRecord): Built {
  return { meta: metaOf(record), diff: record.diff, doc: record.document, from: record.version, n: 0, bytes: 0 };
}

/** A record to hand out: a copy, so a caller's changes never reach the store's own document. */
export function recordOf(b: Built): VersionRecord {
  const { document, diff } = JSON.parse(JSON.stringify({ document: b.doc, diff: b.diff })) as Pick<VersionRecord, 'document' | 'diff'>;
  return { ...metaOf(b.meta), document, diff };
}

/** The checkpoint text of a version: the whole record. */
export function checkpointText(record: VersionRecord): string {
  return JSON.stringify({ ...metaOf(record), document: record.document, diff: record.diff });
}

/** The checkpoint text of a built version (retention turns the oldest kept version into one). */
export function builtCheckpointText(b: Built): string {
  return checkpointText({ ...b.meta, document: b.doc, diff: b.diff });
}

function withoutBefore(entries: readonly DiffEntry[]): DiffEntry[] {
  return entries.map((e) => ({ op: e.op, path: e.path, ...(e.after !== undefined ? { after: e.after } : {}) }));
}

/**
 * What to store for a new version (`record`, fresh from buildVersionRecord) on top of `base` (the
 * previous version, or null). `base` is consumed: its document becomes the new one's (`next`,
 * what the store keeps for the version after); a caller that does not store `text` must drop both.
 */
export function encodeVersion(record: VersionRecord, base: Built | null, opts: ChainOptions = {}): { text: string; next: Built; checkpoint: boolean } {
  const maxDeltas = opts.maxDeltas ?? CHAIN_DEFAULTS.maxDeltas;
  const docText = JSON.stringify(record.document);
  const checkpoint = () => ({ text: checkpointText(record), next: builtOfFull(JSON.parse(JSON.stringify(record)) as VersionRecord), checkpoint: true });
  if (!base || base.meta.version !== record.version - 1 || base.n + 1 > maxDeltas) return checkpoint();
  const delta = exactDelta(base.doc, record.document);
  const deltaText = JSON.stringify(delta);
  const sameAsDiff = deltaText === JSON.stringify(withoutBefore(record.diff));
  const block = (bytes: number): DeltaBlock => ({ from: base.from, n: base.n + 1, bytes, ...(sameAsDiff ? {} : { patch: delta }) });
  const stored = (bytes: number) => JSON.stringify({ ...metaOf(record), diff: record.diff, delta: block(bytes) });
  // What the chain has stored, give or take the digits of this count itself.
  const bytes = base.bytes + stored(base.bytes).length;
  if (bytes > docText.length) return checkpoint();
  const doc = applyDiff(base.doc, JSON.parse(deltaText) as DiffEntry[]) as ConfigDocument;
  if (JSON.stringify(doc) !== docText) return checkpoint(); // never expected; exactness over bytes
  const diff = JSON.parse(JSON.stringify(record.diff)) as DiffEntry[];
  return { text: stored(bytes), next: { meta: metaOf(record), diff, doc, from: base.from, n: base.n + 1, bytes }, checkpoint: false };
}

/** Reads stored texts of versions `from`..`to` (inclusive), null where a version is absent. */
export type ReadRange = (from: number, to: number) => Promise<(string | null)[]>;

/** A version whose chain has a hole (a concurrent prune, or damage): the caller reads again once. */
export class BrokenChainError extends Error {}

/**
 * Rebuilds version `n` from its stored text `top`: the newest checkpoint in its chain (or `cached`,
 * a Built of an earlier version of the same chain, which is consumed) plus the deltas after it.
 */
export async function rebuild(n: number, top: StoredVersion, read: ReadRange, where: (v: number) => string, cached: Built | null): Promise<Built> {
  if (top.kind === 'full') return builtOfFull(top.record);
  const useCache = cached !== null && cached.meta.version >= top.delta.from && cached.meta.version < n;
  const start = useCache ? cached.meta.version + 1 : top.delta.from;
  const texts = start < n ? await read(start, n - 1) : [];
  const chain = texts.map((t, i) => (t === null ? null : parseStoredVersion(t, where(start + i))));
  chain.push(top);
  let i = chain.length - 1;
  while (i >= 0 && chain[i]?.kind !== 'full') i--;
  const first = chain[i];
  let built: Built;
  if (first?.kind === 'full') built = builtOfFull(first.record);
  else if (useCache) built = cached;
  else throw new BrokenChainError(`config store: version ${n} cannot be rebuilt: ${where(start)} is not a checkpoint`);
  for (let j = i + 1; j < chain.length; j++) {
    const s = chain[j];
    const v = start + j;
    if (!s || s.kind !== 'delta') throw new BrokenChainError(`config store: version ${n} cannot be rebuilt: ${where(v)} is missing`);
    if (s.meta.version !== v) throw new Error(`${where(v)} holds version ${s.meta.version}`);
    try {
      built.doc = applyDiff(built.doc, s.patch) as ConfigDocument;
    } catch (err) {
      throw new Error(`${where(v)}: its delta does not apply to version ${v - 1} (${(err as Error).message})`, { cause: err });
    }
    built = { meta: s.meta, diff: s.diff, doc: built.doc, from: s.delta.from, n: s.delta.n, bytes: s.delta.bytes };
  }
  return built;
}

/** Where a store keeps its versions, as buildVersion reads them. */
export interface VersionSource {
  /**
   * The stored text of version `n` (it may skip the read when `cached` is `n`, returning null) and
   * whether `cached`, a version this process built earlier, is still what the store holds under
   * its number (a Redis that lost its data and was re-seeded can hold another version there).
   */
  top(n: number, cached: VersionMeta | null): Promise<{ text: string | null; cachedValid: boolean }>;
  range: ReadRange;
  where(v: number): string;
}

/**
 * Version `n` as the store holds it, or null when absent; the result stays in `cache` (the caller
 * that takes it out owns it). A hole in the chain is read once more: a concurrent prune turns the
 * oldest kept version into a checkpoint before it deletes what is below.
 */
export async function buildVersion(n: number, cache: BuiltCache, src: VersionSource): Promise<Built | null> {
  for (let attempt = 0; ; attempt++) {
    const c = cache.take();
    let built: Built | null = null;
    try {
      const first = await src.top(n, c?.meta ?? null);
      const usable = first.cachedValid ? c : null;
      // The read of `n` was skipped for a cached copy that turned out stale: read it now.
      const text = c?.meta.version === n && !usable ? (await src.top(n, null)).text : first.text;
      if (usable?.meta.version === n) return (built = usable);
      if (text === null) {
        if (usable) cache.put(usable);
        return null;
      }
      built = await rebuild(n, parseStoredVersion(text, src.where(n)), src.range, src.where, usable);
      if (usable && built.doc !== usable.doc) cache.put(usable); // not built upon: still good
      return built;
    } catch (err) {
      if (err instanceof BrokenChainError && attempt === 0) continue;
      throw err;
    } finally {
      if (built) cache.put(built);
    }
  }
}

/**
 * The newest version a store has built, kept to build the next from. take/put rather than a
 * shared reference: whoever builds on it owns it meanwhile, so two calls never apply to one
 * document, and a call that fails or loses a race simply does not put it back.
 */
export class BuiltCache {
  private entry: Built | null = null;

  peek(): Built | null {
    return this.entry;
  }

  take(): Built | null {
    const e = this.entry;
    this.entry = null;
    return e;
  }

  put(b: Built): void {
    if (this.entry === null || this.entry.meta.version <= b.meta.version) this.entry = b;
  }

  clear(): void {
    this.entry = null;
  }
}
