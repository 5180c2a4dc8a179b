/**
 * The embedded-mode ConfigStore: files in a data directory, one process owning it (meridian.lock).
 *
 *   <dataDir>/versions/0000000001.json   one version per file: a checkpoint or a delta (chain.ts)
 *   <dataDir>/audit.jsonl                append-only audit log (audit-log.ts)
 *   <dataDir>/tokens.json                JSON array of TokenRecord, sorted by name (mode 0600)
 *   <dataDir>/meridian.lock              `<pid> <token>` of the owning process (lock.ts)
 *
 * A commit is the atomic creation of its version file (atomic.ts): that rename is the commit
 * point. The audit line follows; if the process dies in between, opening the store appends the
 * missing audit entries from the version files, so history and audit always agree after open.
 * Commits run one at a time (an async mutex) and compare-and-set on the head cached in memory,
 * which is authoritative because no other writer can hold the directory.
 * @module
 */
import { mkdir, readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from '../obs/log.js';
import { removeStaleTemps, writeFileAtomic } from './atomic.js';
import { AuditLog } from './audit-log.js';
import { buildVersion, builtCheckpointText, BuiltCache, encodeVersion, metaOfStored, parseStoredVersion, recordOf, type ChainOptions, type VersionSource } from './chain.js';
import { lockDir, type DirLock } from './lock.js';
import { auditMatcher, buildVersionRecord, commitAuditEntry, completeAuditEntry, firstKeptAuditIndex, lastPrunedVersion, listRange, metaOf, Mutex, notify, parseTokenRecord } from './records.js';
import type { AuditEntry, AuditQuery, CommitRequest, CommitResult, ConfigStore, NewAuditEntry, PruneOptions, PruneResult, TokenRecord, TokenStore, VersionMeta, VersionRecord } from './types.js';

export interface FileStoreOptions extends ChainOptions {
  /** Clock for version and audit times (ms since epoch). */
  now?: () => number;
  log?: Logger;
}

/** Ten digits: names sort in version order in `ls`, up to 9,999,999,999 versions. */
export function versionFileName(version: number): string {
  return `${String(version).padStart(10, '0')}.json`;
}

const VERSION_FILE = /^(\d+)\.json$/;

function versionOfFileName(name: string): number | null {
  const m = VERSION_FILE.exec(name);
  return m ? Number(m[1]) : null;
}

async function readIfThere(path: string): Promise<string | null> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
}

/** Files read at once while rebuilding a version (a chain is up to maxDeltas files). */
const READ_BATCH = 64;

/** The version files of a data directory as chain.ts reads them; one owner, so a cached version is always valid. */
function fileSource(versionsDir: string): VersionSource {
  const path = (v: number): string => join(versionsDir, versionFileName(v));
  return {
    top: async (n, cached) => ({ text: cached?.version === n ? null : await readIfThere(path(n)), cachedValid: true }),
    range: async (from, to) => {
      const out: (string | null)[] = [];
      for (let v = from; v <= to; v += READ_BATCH) {
        const batch = Array.from({ length: Math.min(READ_BATCH, to - v + 1) }, (_, i) => readIfThere(path(v + i)));
        out.push(...(await Promise.all(batch)));
      }
      return out;
    },
    where: (v) => `config store: ${path(v)}`,
  };
}

/**
 * Version `n` of a data directory, read without its lock, for CLI tools beside a running node
 * (`meridian explain`): null when there is none.
 */
export async function readVersionUnlocked(dataDir: string, n: number): Promise<VersionRecord | null> {
  const built = await buildVersion(n, new BuiltCache(), fileSource(join(dataDir, 'versions')));
  return built ? recordOf(built) : null;
}

export async function openFileStore(dataDir: string, opts: FileStoreOptions = {}): Promise<FileStore> {
  const versionsDir = join(dataDir, 'versions');
  await mkdir(versionsDir, { recursive: true });
  const lock = await lockDir(dataDir);
  try {
    // Leftovers of writes a crash interrupted; never committed state (the rename is the commit).
    await removeStaleTemps(dataDir);
    await removeStaleTemps(versionsDir);
    let head = 0;
    for (const name of await readdir(versionsDir)) head = Math.max(head, versionOfFileName(name) ?? 0);
    const store = new FileStore(dataDir, head, await AuditLog.open(join(dataDir, 'audit.jsonl')), await loadTokens(join(dataDir, 'tokens.json')), lock, opts);
    if (head > 0) {
      // The head must be readable: it is what a node compiles on boot. A damaged file is an error here, not at first use.
      const rec = await store.get(head);
      if (!rec || rec.version !== head) throw new Error(`config store: ${store.versionPath(head)} holds version ${rec?.version}`);
    }
    if (store.auditLog.skipped > 0) opts.log?.warn({ skipped: store.auditLog.skipped }, 'config store: unreadable lines in audit.jsonl skipped');
    await store.repairAudit();
    return store;
  } catch (err) {
    await lock.release();
    throw err;
  }
}

/** The tokens of a data directory's `tokens.json` (none when it does not exist); a damaged file throws. */
export async function loadTokens(path: string): Promise<Map<string, TokenRecord>> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return new Map();
    throw err;
  }
  // A damaged tokens file refuses to open: starting with no tokens would lock every operator out silently.
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    throw new Error(`config store: ${path}: not valid JSON (${(err as Error).message})`, { cause: err });
  }
  if (!Array.isArray(data)) throw new Error(`config store: ${path}: expected a JSON array of tokens`);
  return new Map(data.map((t, i) => parseTokenRecord(t, `config store: ${path}[${i}]`)).map((t) => [t.name, t]));
}

export class FileStore implements ConfigStore {
  readonly kind = 'file';
  readonly tokens: TokenStore;
  private readonly mutex = new Mutex();
  private readonly listeners = new Set<(version: number) => void>();
  /** Version metadata read so far; versions are immutable, so the cache never goes stale. */
  private readonly metas = new Map<number, VersionMeta>();
  /** The newest version built, to build the next from (chain.ts). */
  private readonly built = new BuiltCache();
  private readonly source: VersionSource;
  private readonly chain: ChainOptions;
  private readonly now: () => number;
  private readonly log: Logger | undefined;
  /** Set when a commit's audit append failed: the next audit write repairs first. */
  private auditBehind = false;
  private closed = false;

  /** Use openFileStore. */
  constructor(
    readonly dataDir: string,
    private headVersion: number,
    public auditLog: AuditLog,
    tokens: Map<string, TokenRecord>,
    private readonly lock: DirLock,
    opts: FileStoreOptions,
  ) {
    this.now = opts.now ?? Date.now;
    this.log = opts.log;
    this.chain = { ...(opts.maxDeltas !== undefined ? { maxDeltas: opts.maxDeltas } : {}) };
    this.source = fileSource(join(dataDir, 'versions'));
    this.tokens = new FileTokens(join(dataDir, 'tokens.json'), tokens, this.mutex, () => this.assertOpen());
  }

  versionPath(version: number): string {
    return join(this.dataDir, 'versions', versionFileName(version));
  }

  async head(): Promise<number> {
    return this.headVersion;
  }

  async get(version: number): Promise<VersionRecord | null> {
    if (!Number.isSafeInteger(version) || version < 1 || version > this.headVersion) return null;
    const built = await buildVersion(version, this.built, this.source);
    if (!built) return null;
    this.metas.set(version, metaOf(built.meta));
    return recordOf(built);
  }

  /** A version's metadata from its file alone (a delta's meta needs no rebuild); null when absent. */
  private async readMeta(version: number): Promise<VersionMeta | null> {
    const known = this.metas.get(version);
    if (known) return known;
    const text = await readIfThere(this.versionPath(version));
    if (text === null) return null;
    const meta = metaOfStored(parseStoredVersion(text, `config store: ${this.versionPath(version)}`));
    this.metas.set(version, meta);
    return meta;
  }

  async list(opts: { before?: number; limit?: number } = {}): Promise<VersionMeta[]> {
    const out: VersionMeta[] = [];
    for (const v of listRange(this.headVersion, opts)) {
      const meta = await this.readMeta(v);
      if (meta) out.push(metaOf(meta));
    }
    return out;
  }

  commit(req: CommitRequest): Promise<CommitResult> {
    return this.mutex.run(async () => {
      this.assertOpen();
      if (req.expected !== this.headVersion) return { ok: false, head: this.headVersion };
      const record = buildVersionRecord(req, this.headVersion + 1, new Date(this.now()).toISOString());
      const base = this.headVersion > 0 && (await buildVersion(this.headVersion, this.built, this.source)) ? this.built.take() : null;
      const { text, next } = encodeVersion(record, base, this.chain);
      await writeFileAtomic(this.versionPath(record.version), `${text}\n`);
      // Committed: from here on the version exists whatever happens to the audit line.
      this.built.put(next);
      this.headVersion = record.version;
      this.metas.set(record.version, metaOf(record));
      try {
        await this.appendLocked([commitAuditEntry(record)]);
      } catch (err) {
        // Failing the commit now would make the client retry and create a second version.
        this.auditBehind = true;
        this.log?.error({ err, version: record.version }, 'config store: audit append failed; will repair on the next audit write');
      }
      const v = record.version;
      queueMicrotask(() => notify(this.listeners, v, (err) => this.log?.error({ err }, 'config store: onVersion listener threw')));
      return { ok: true, record };
    });
  }

  appendAudit(entry: NewAuditEntry): Promise<AuditEntry> {
    return this.mutex.run(async () => {
      this.assertOpen();
      if (this.auditBehind) await this.repairAudit();
      const [full] = await this.appendLocked([entry]);
      return full!;
    });
  }

  async audit(query: AuditQuery = {}): Promise<AuditEntry[]> {
    const { match, limit } = auditMatcher(query);
    const all = await this.auditLog.readAll();
    const out: AuditEntry[] = [];
    for (let i = all.length - 1; i >= 0 && out.length < limit; i--) if (match(all[i]!)) out.push(all[i]!);
    return out;
  }

  /**
   * Deletes old version files and rewrites audit.jsonl without the old entries (atomically). Besides
   * the newest entry it keeps the newest entry of a version, because the audit repair at open
   * starts after the highest version the log has.
   */
  prune(opts: PruneOptions): Promise<PruneResult> {
    return this.mutex.run(async () => {
      this.assertOpen();
      const versions = await this.pruneVersions(lastPrunedVersion(this.headVersion, opts.keepVersions));
      let auditEntries = 0;
      if (opts.auditBefore) {
        const all = await this.auditLog.readAll();
        const from = firstKeptAuditIndex(all, opts.auditBefore);
        let newestWithVersion = -1;
        for (let i = all.length - 1; i >= 0 && newestWithVersion < 0; i--) if (all[i]!.version !== null) newestWithVersion = i;
        const kept = all.filter((_, i) => i >= from || i === newestWithVersion);
        auditEntries = all.length - kept.length;
        if (auditEntries > 0) {
          await writeFileAtomic(this.auditLog.path, kept.map((e) => `${JSON.stringify(e)}\n`).join(''));
          this.auditLog = await AuditLog.open(this.auditLog.path);
        }
      }
      return { versions, auditEntries };
    });
  }

  /**
   * Deletes the version files up to `last`. The oldest kept version is made a checkpoint first (its
   * chain starts below), and files go newest first: a crash half-way leaves every version still on
   * disk readable, and the next run deletes the rest.
   */
  private async pruneVersions(last: number): Promise<number> {
    if (last <= 0) return 0;
    const oldest = last + 1;
    const text = await readIfThere(this.versionPath(oldest));
    if (text !== null && parseStoredVersion(text, `config store: ${this.versionPath(oldest)}`).kind === 'delta') {
      const built = await buildVersion(oldest, this.built, this.source);
      if (built) await writeFileAtomic(this.versionPath(oldest), `${builtCheckpointText(built)}\n`);
    }
    if ((this.built.peek()?.meta.version ?? oldest) < oldest) this.built.clear();
    const old = (await readdir(join(this.dataDir, 'versions')))
      .map(versionOfFileName)
      .filter((v): v is number => v !== null && v <= last)
      .sort((a, b) => b - a);
    for (const v of old) {
      await rm(this.versionPath(v), { force: true });
      this.metas.delete(v);
    }
    return old.length;
  }

  onVersion(listener: (version: number) => void): () => void {
    const l = (v: number): void => listener(v); // a distinct function per call, so one listener can subscribe twice
    this.listeners.add(l);
    return () => this.listeners.delete(l);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    // Wait for the commit in flight: its version and audit line must be complete before the lock goes.
    await this.mutex.run(async () => {
      this.closed = true;
    });
    this.listeners.clear();
    await this.lock.release();
  }

  /**
   * Appends the audit entries of versions that have none (a crash or a failed append between the
   * version file and its audit line). Runs at open and under the mutex.
   */
  async repairAudit(): Promise<void> {
    const missing: NewAuditEntry[] = [];
    for (let v = this.auditLog.lastVersion + 1; v <= this.headVersion; v++) {
      const meta = await this.readMeta(v);
      if (meta) missing.push(commitAuditEntry(meta));
    }
    if (missing.length > 0) {
      await this.appendLocked(missing);
      this.log?.warn({ versions: missing.map((e) => e.version) }, 'config store: repaired missing audit entries');
    }
    this.auditBehind = false;
  }

  private async appendLocked(entries: NewAuditEntry[]): Promise<AuditEntry[]> {
    const now = new Date(this.now()).toISOString();
    const full = entries.map((e, i) => completeAuditEntry(e, this.auditLog.lastSeq + 1 + i, now));
    await this.auditLog.append(full);
    return full;
  }

  private assertOpen(): void {
    if (this.closed) throw new Error('config store: closed');
  }
}

class FileTokens implements TokenStore {
  constructor(
    private readonly path: string,
    private tokens: Map<string, TokenRecord>,
    private readonly mutex: Mutex,
    private readonly assertOpen: () => void,
  ) {}

  async list(): Promise<TokenRecord[]> {
    return [...this.tokens.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)).map((t) => ({ ...t }));
  }

  async put(token: TokenRecord): Promise<void> {
    const t = parseTokenRecord(token, `config store: token '${token?.name}'`);
    await this.replace((m) => {
      m.set(t.name, t);
      return true;
    });
  }

  async create(token: TokenRecord): Promise<boolean> {
    const t = parseTokenRecord(token, `config store: token '${token?.name}'`);
    return this.replace((m) => {
      if (m.has(t.name)) return false;
      m.set(t.name, t);
      return true;
    });
  }

  delete(name: string): Promise<boolean> {
    return this.replace((m) => m.delete(name));
  }

  /** Writes the changed set, then swaps it in: a failed write leaves memory and file as they were. */
  private replace(change: (m: Map<string, TokenRecord>) => boolean): Promise<boolean> {
    return this.mutex.run(async () => {
      this.assertOpen();
      const next = new Map(this.tokens);
      if (!change(next)) return false;
      const sorted = [...next.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
      await writeFileAtomic(this.path, `${JSON.stringify(sorted, null, 2)}\n`, 0o600);
      this.tokens = next;
      return true;
    });
  }
}
