/**
 * The file store's audit log: `audit.jsonl`, one JSON AuditEntry per line, append-only. Appending
 * is not a rename (the log would be rewritten on every entry), so a crash can leave a torn last
 * line: a line counts only once its `\n` is on disk. Readers ignore an unterminated tail, and the
 * next append first truncates it away, so new entries never glue onto half of an old one.
 * The caller (FileStore) serialises appends; reads may run alongside them.
 * @module
 */
import { open, readFile, truncate } from 'node:fs/promises';
import { dirname } from 'node:path';
import { fsyncDir } from './atomic.js';
import { parseAuditEntry } from './records.js';
import type { AuditEntry } from './types.js';

interface Scan {
  entries: AuditEntry[];
  /** Bytes up to and including the last `\n`. */
  validEnd: number;
  size: number;
  /** Complete lines that are not audit entries (damage from outside; skipped, counted). */
  skipped: number;
}

async function scan(path: string): Promise<Scan | null> {
  let buf: Buffer;
  try {
    buf = await readFile(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
  const entries: AuditEntry[] = [];
  let skipped = 0;
  let pos = 0;
  for (let nl = buf.indexOf(0x0a, pos); nl !== -1; nl = buf.indexOf(0x0a, pos)) {
    const line = buf.subarray(pos, nl).toString('utf8');
    pos = nl + 1;
    if (line.trim() === '') continue;
    let entry: AuditEntry | null;
    try {
      entry = parseAuditEntry(JSON.parse(line));
    } catch {
      entry = null;
    }
    if (entry) entries.push(entry);
    else skipped++;
  }
  return { entries, validEnd: pos, size: buf.length, skipped };
}

export class AuditLog {
  private constructor(
    readonly path: string,
    private validEnd: number,
    private torn: boolean,
    private exists: boolean,
    /** Highest seq on file; the next entry gets lastSeq + 1. */
    public lastSeq: number,
    /** Highest config version that has its audit entry (FileStore repairs the ones missing). */
    public lastVersion: number,
    readonly skipped: number,
  ) {}

  static async open(path: string): Promise<AuditLog> {
    const s = await scan(path);
    if (!s) return new AuditLog(path, 0, false, false, 0, 0, 0);
    let lastSeq = 0;
    let lastVersion = 0;
    for (const e of s.entries) {
      lastSeq = Math.max(lastSeq, e.seq);
      if (e.version !== null) lastVersion = Math.max(lastVersion, e.version);
    }
    return new AuditLog(path, s.validEnd, s.size > s.validEnd, true, lastSeq, lastVersion, s.skipped);
  }

  /** Whether the file ends in a torn line (that the next append will cut off). */
  get hasTornTail(): boolean {
    return this.torn;
  }

  /** Appends whole lines and fsyncs; on return they are durable. Entries must carry increasing seqs. */
  async append(entries: AuditEntry[]): Promise<void> {
    if (entries.length === 0) return;
    if (this.torn) {
      await truncate(this.path, this.validEnd);
      this.torn = false;
    }
    const data = Buffer.from(entries.map((e) => `${JSON.stringify(e)}\n`).join(''), 'utf8');
    const fh = await open(this.path, 'a', 0o644);
    try {
      // Until the sync returns we cannot tell how much reached the disk: treat the tail as torn.
      this.torn = true;
      await fh.writeFile(data);
      await fh.sync();
      this.torn = false;
    } finally {
      await fh.close();
    }
    if (!this.exists) {
      await fsyncDir(dirname(this.path)); // the new name must survive a crash too
      this.exists = true;
    }
    this.validEnd += data.length;
    for (const e of entries) {
      this.lastSeq = Math.max(this.lastSeq, e.seq);
      if (e.version !== null) this.lastVersion = Math.max(this.lastVersion, e.version);
    }
  }

  /** Every complete entry, oldest first. */
  async readAll(): Promise<AuditEntry[]> {
    return (await scan(this.path))?.entries ?? [];
  }
}
