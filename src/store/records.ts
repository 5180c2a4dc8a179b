/**
 * What both back ends share apart from storage: checking records read back from disk or Redis
 * (a damaged record must fail loudly with its location, not reach the compiler half-parsed), the
 * audit query rules, list/audit limits, and the in-process mutex.
 * @module
 */
import type { ConfigDocument } from '../config/document.js';
import type { AuditEntry, AuditQuery, CommitRequest, NewAuditEntry, Role, TokenRecord, VersionMeta, VersionRecord } from './types.js';

/** `list()`: how many versions when no limit is given, and the most one call returns. */
export const LIST_DEFAULT_LIMIT = 100;
export const LIST_MAX_LIMIT = 1_000;
/** `audit()`: the contract's numbers (types.ts). */
export const AUDIT_DEFAULT_LIMIT = 100;
export const AUDIT_MAX_LIMIT = 10_000;

const ROLES: readonly Role[] = ['viewer', 'operator', 'admin'];

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function str(o: Record<string, unknown>, key: string, where: string): string {
  const v = o[key];
  if (typeof v !== 'string') throw new Error(`${where}: '${key}' must be a string`);
  return v;
}

function isVersionNumber(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 1;
}

/** Checks the metadata fields of a stored version (a record or the Redis meta hash entry). */
export function parseVersionMeta(value: unknown, where: string): VersionMeta {
  if (!isObject(value)) throw new Error(`${where}: not a JSON object`);
  if (!isVersionNumber(value.version)) throw new Error(`${where}: 'version' must be an integer >= 1`);
  return {
    version: value.version,
    author: str(value, 'author', where),
    time: str(value, 'time', where),
    reason: str(value, 'reason', where),
    action: str(value, 'action', where),
    target: str(value, 'target', where),
  };
}

/**
 * Checks the envelope of a stored version. The document itself is only checked for its three
 * arrays: validating its content is the config compiler's job, and it must see the same document
 * whichever back end stored it.
 */
export function parseVersionRecord(value: unknown, where: string): VersionRecord {
  const meta = parseVersionMeta(value, where);
  const v = value as Record<string, unknown>;
  const doc = v.document;
  if (!isObject(doc) || !Array.isArray(doc.zones) || !Array.isArray(doc.regions) || !Array.isArray(doc.services)) {
    throw new Error(`${where}: 'document' must be an object with zones, regions and services arrays`);
  }
  if (!Array.isArray(v.diff)) throw new Error(`${where}: 'diff' must be an array`);
  return { ...meta, document: doc as unknown as ConfigDocument, diff: v.diff as VersionRecord['diff'] };
}

export function metaOf(r: VersionMeta): VersionMeta {
  return { version: r.version, author: r.author, time: r.time, reason: r.reason, action: r.action, target: r.target };
}

/**
 * The record a commit stores. The document and diff go through JSON once, so the caller's later
 * mutations cannot reach the store and `commit()` returns exactly what `get()` will return.
 */
export function buildVersionRecord(req: CommitRequest, version: number, time: string): VersionRecord {
  const { document, diff } = JSON.parse(JSON.stringify({ document: req.document, diff: req.diff })) as Pick<VersionRecord, 'document' | 'diff'>;
  return { version, author: req.author, time, reason: req.reason, action: req.action, target: req.target, document, diff };
}

/** The audit entry of a commit carries the version's own fields and time. */
export function commitAuditEntry(r: VersionMeta): NewAuditEntry {
  return { time: r.time, author: r.author, action: r.action, target: r.target, version: r.version, reason: r.reason };
}

/** A full entry from a new one; `detail` goes through JSON (stored as JSON in both back ends). */
export function completeAuditEntry(entry: NewAuditEntry, seq: number, now: string): AuditEntry {
  const out: AuditEntry = {
    seq,
    time: entry.time ?? now,
    author: entry.author,
    action: entry.action,
    target: entry.target,
    version: entry.version ?? null,
    reason: entry.reason,
  };
  if (entry.detail !== undefined) out.detail = JSON.parse(JSON.stringify(entry.detail)) as Record<string, unknown>;
  return out;
}

/** An audit entry read back, or null when it is not one (callers skip it rather than fail a whole query). */
export function parseAuditEntry(value: unknown): AuditEntry | null {
  if (!isObject(value)) return null;
  const { seq, time, author, action, target, version, reason, detail } = value;
  if (typeof seq !== 'number' || !Number.isSafeInteger(seq)) return null;
  if (typeof time !== 'string' || typeof author !== 'string' || typeof action !== 'string') return null;
  if (typeof target !== 'string' || typeof reason !== 'string') return null;
  if (version !== null && !isVersionNumber(version)) return null;
  const out: AuditEntry = { seq, time, author, action, target, version, reason };
  if (detail !== undefined) {
    if (!isObject(detail)) return null;
    out.detail = detail;
  }
  return out;
}

export function parseTokenRecord(value: unknown, where: string): TokenRecord {
  if (!isObject(value)) throw new Error(`${where}: not a JSON object`);
  const role = value.role;
  if (typeof role !== 'string' || !ROLES.includes(role as Role)) throw new Error(`${where}: 'role' must be one of ${ROLES.join(', ')}`);
  const sha256 = str(value, 'sha256', where);
  if (!/^[0-9a-f]{64}$/.test(sha256)) throw new Error(`${where}: 'sha256' must be 64 lowercase hex digits`);
  const name = str(value, 'name', where);
  if (name === '') throw new Error(`${where}: 'name' must not be empty`);
  return { name, role: role as Role, sha256, createdAt: str(value, 'createdAt', where), createdBy: str(value, 'createdBy', where) };
}

export function clampLimit(limit: number | undefined, dflt: number, max: number): number {
  if (limit === undefined) return dflt;
  if (!Number.isFinite(limit)) return max;
  return Math.max(0, Math.min(max, Math.floor(limit)));
}

/** Versions a `list()` call covers, newest first: below `before` (exclusive) and at most `head`. */
export function listRange(head: number, opts: { before?: number; limit?: number } = {}): number[] {
  const top = opts.before === undefined ? head : Math.min(head, Math.ceil(opts.before) - 1);
  const limit = clampLimit(opts.limit, LIST_DEFAULT_LIMIT, LIST_MAX_LIMIT);
  const out: number[] = [];
  for (let v = top; v >= 1 && out.length < limit; v--) out.push(v);
  return out;
}

function parseTime(iso: string | undefined, name: string): number | null {
  if (iso === undefined) return null;
  const t = Date.parse(iso);
  if (Number.isNaN(t)) throw new RangeError(`audit query: '${name}' is not a date: ${iso}`);
  return t;
}

/**
 * The filter of an audit query. Times compare as instants (Date.parse), not as strings, so
 * `2024-05-01T12:00:00+02:00` and `…10:00:00Z` mean the same; both bounds are inclusive.
 */
export function auditMatcher(q: AuditQuery = {}): { match: (e: AuditEntry) => boolean; limit: number } {
  const since = parseTime(q.since, 'since');
  const until = parseTime(q.until, 'until');
  const limit = clampLimit(q.limit, AUDIT_DEFAULT_LIMIT, AUDIT_MAX_LIMIT);
  const match = (e: AuditEntry): boolean => {
    if (q.author !== undefined && e.author !== q.author) return false;
    if (q.action !== undefined && e.action !== q.action) return false;
    if (since !== null || until !== null) {
      const t = Date.parse(e.time);
      if (Number.isNaN(t)) return false;
      if (since !== null && t < since) return false;
      if (until !== null && t > until) return false;
    }
    return true;
  };
  return { match, limit };
}

/** Runs async sections one at a time, in call order (a failed section does not block the next). */
export class Mutex {
  private tail: Promise<unknown> = Promise.resolve();

  run<T>(fn: () => Promise<T>): Promise<T> {
    const result = this.tail.then(() => fn());
    this.tail = result.catch(() => undefined);
    return result;
  }
}

/** Calls every listener; one listener's exception must not stop the others or the store. */
export function notify<T>(listeners: Iterable<(value: T) => void>, value: T, onError?: (err: unknown) => void): void {
  for (const l of [...listeners]) {
    try {
      l(value);
    } catch (err) {
      onError?.(err);
    }
  }
}

/**
 * Retention of an audit log kept oldest first: the index of the first entry to keep, i.e. the first
 * one not older than `before`, and never past the newest entry (which always stays).
 */
export function firstKeptAuditIndex(entries: readonly { time: string }[], before: Date): number {
  const cutoff = before.getTime();
  let i = 0;
  while (i < entries.length - 1 && Date.parse(entries[i]!.time) < cutoff) i++;
  return i;
}

/** Retention of versions: the newest version to delete (0 = none), keeping the newest `keep`. */
export function lastPrunedVersion(head: number, keep: number): number {
  return keep > 0 ? Math.max(0, head - keep) : 0;
}
