/**
 * A node's local copy of what it needs to run and to rebuild the store (cluster mode): the config
 * version it runs, and the store's tokens, the newest audit entries and the overrides in force as
 * last read. Read at boot, so a node can start and answer while Redis is away (static stability);
 * read again when Redis comes back empty, so the store is re-seeded with it (follow.ts). Written
 * with the store's one atomic routine, so a crash leaves the old copy or the new one.
 *
 * File: `{ "format": 2, record, tokens, audit, overrides }`. A file holding a bare VersionRecord
 * (the first format) reads as that record with empty lists.
 * @module
 */
import { readFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import { writeFileAtomic } from './atomic.js';
import { parseAuditEntry, parseTokenRecord, parseVersionRecord } from './records.js';
import type { AuditEntry, TokenRecord, VersionRecord } from './types.js';

export interface LocalCopy {
  /** The version the node runs. */
  record: VersionRecord;
  /** The store's API tokens (hashes, never secrets) as last read. */
  tokens: TokenRecord[];
  /** The newest audit entries as last read, oldest first. */
  audit: AuditEntry[];
  /** The overrides in force as last read: health-bus records, checked by the health plane. */
  overrides: unknown[];
}

/** Audit entries a copy keeps: enough for an operator to see what happened before a loss. */
export const AUDIT_TAIL = 200;

export async function writeLocalCopy(path: string, copy: LocalCopy): Promise<void> {
  // Check before writing: a copy that cannot be read back would only fail at the next boot.
  parseCopy({ format: 2, ...copy }, `local config copy ${path}`);
  await mkdir(dirname(path), { recursive: true });
  await writeFileAtomic(path, `${JSON.stringify({ format: 2, ...copy })}\n`, 0o600);
}

/** The copy, or null when there is none yet; a damaged copy throws (the node must not boot on half a config). */
export function readLocalCopy(path: string): LocalCopy | null {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new Error(`local config copy ${path}: ${(err as Error).message}`, { cause: err });
  }
  const where = `local config copy ${path} is corrupt`;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new Error(`${where}: not valid JSON`);
  }
  return parseCopy(value, where);
}

function parseCopy(value: unknown, where: string): LocalCopy {
  const v = value as Partial<Record<keyof LocalCopy | 'format', unknown>> | null;
  if (v?.format !== 2) return { record: parseVersionRecord(value, where), tokens: [], audit: [], overrides: [] };
  const list = (key: 'tokens' | 'audit' | 'overrides'): unknown[] => {
    if (!Array.isArray(v[key])) throw new Error(`${where}: '${key}' must be a list`);
    return v[key];
  };
  return {
    record: parseVersionRecord(v.record, where),
    tokens: list('tokens').map((t, i) => parseTokenRecord(t, `${where}: tokens[${i}]`)),
    audit: list('audit').map((e, i) => parseAuditEntry(e) ?? fail(`${where}: audit[${i}] is not an audit entry`)),
    overrides: list('overrides'),
  };
}

function fail(message: string): never {
  throw new Error(message);
}

/**
 * The copy of one node, kept current: parts are updated as they change (a new version, a fresh read
 * of tokens, audit and overrides), merged, and written in order; a write that would change nothing
 * is skipped. Nothing is written before the node has a version (a copy is a version first).
 */
export class LocalCopyFile {
  private copy: LocalCopy | null = null;
  private pending: Omit<Partial<LocalCopy>, 'record'> = {};
  private written = '';
  private writes: Promise<void> = Promise.resolve();

  constructor(
    readonly path: string,
    private readonly onError: (err: Error) => void,
  ) {}

  /** Reads the file (at boot); throws on a damaged copy. */
  read(): LocalCopy | null {
    this.copy = readLocalCopy(this.path);
    this.written = this.copy ? JSON.stringify(this.copy) : '';
    return this.copy;
  }

  /** The newest copy, written or about to be. */
  get latest(): LocalCopy | null {
    return this.copy;
  }

  /** Merges `part` in and writes the result after any earlier write. Never rejects (errors go to onError). */
  update(part: Partial<LocalCopy>): Promise<void> {
    const { record, ...rest } = part;
    if (!this.copy && !record) {
      this.pending = { ...this.pending, ...rest };
      return this.writes;
    }
    this.copy = { tokens: [], audit: [], overrides: [], ...this.copy, ...this.pending, ...rest, ...(record ? { record } : {}) } as LocalCopy;
    this.pending = {};
    const copy = this.copy;
    this.writes = this.writes.then(async () => {
      const text = JSON.stringify(copy);
      if (text === this.written) return;
      try {
        await writeLocalCopy(this.path, copy);
        this.written = text;
      } catch (err) {
        this.onError(err as Error);
      }
    });
    return this.writes;
  }

  /** Resolves once every update so far is on disk (or failed). */
  flush(): Promise<void> {
    return this.writes;
  }
}
