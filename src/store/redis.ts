/**
 * The cluster-mode ConfigStore over Redis (ioredis). Keys (all share the `{meridian}` hash tag, so
 * the commit script's keys are in one slot on Redis Cluster):
 *
 *   {meridian}:config:head     STRING  current version (absent = 0)
 *   {meridian}:config:v:<n>    STRING  version n: a checkpoint (JSON VersionRecord) or a delta (chain.ts)
 *   {meridian}:config:meta     HASH    <n> → JSON VersionMeta (list() without moving documents)
 *   {meridian}:audit           STREAM  fields `seq` and `e` (JSON entry without seq); MAXLEN ~ auditMaxLen
 *   {meridian}:audit:seq       STRING  last audit seq (INCR in the same script as the XADD)
 *   {meridian}:tokens          HASH    <name> → JSON TokenRecord
 *   {meridian}:config          pub/sub channel: the new version number, as decimal text
 *   {meridian}:changed         pub/sub channel: `tokens` or `audit` after such a write (onSideChange)
 *
 * A commit is one Lua script (compare head, write the version, its meta, the head, the audit entry,
 * publish), so it is atomic and exactly one of N racing commits on the same head wins. Audit seq is
 * a counter incremented in the script that appends to the stream, so seq order is stream order,
 * seqs are 1, 2, 3 … like the file store's, and they stay safe integers (stream ids `ms-n` do not fit).
 *
 * onVersion is fed three ways: this process's own commits, the pub/sub channel (a second
 * connection), and a head poll every `pollMs` that catches notices lost while the subscriber was
 * reconnecting. All go through announce(), which fires only for a head above the last one fired.
 * Like the health bus: no offline queue, no retries per request, a command timeout and capped,
 * jittered reconnect backoff, so while Redis is away calls reject at once.
 * @module
 */
import type { ChainableCommander } from 'ioredis';
import { REDIS_DEFAULTS, type RedisConnection } from '../redis/config.js';
import { createRedisClient, quit, timeoutsOf, type ClientRole, type RedisClient } from '../redis/client.js';
import { ReplicaWait } from '../redis/durable.js';
import type { Logger } from '../obs/log.js';
import { buildVersionRecord, commitAuditEntry, completeAuditEntry, lastPrunedVersion, listRange, metaOf, notify, parseVersionMeta } from './records.js';
import {
  buildVersion,
  builtCheckpointText,
  BuiltCache,
  checkpointText,
  encodeVersion,
  metaOfStored,
  parseStoredVersion,
  recordOf,
  type Built,
  type ChainOptions,
  type VersionSource,
} from './chain.js';
import { APPEND_AUDIT, auditJson, COMMIT, RESTORE } from './redis-scripts.js';
import { deleteVersionsUpTo, readAudit, trimAuditBefore, versionSource } from './redis-history.js';
import { storeKeys, type StoreKeys } from './redis-keys.js';
import { RedisTokens } from './redis-tokens.js';
import type { AuditEntry, AuditQuery, CommitRequest, CommitResult, ConfigStore, StoreSnapshot, NewAuditEntry, PruneOptions, PruneResult, TokenStore, VersionMeta, VersionRecord } from './types.js';

export interface RedisStoreOptions extends ChainOptions {
  /** Key prefix; must contain a `{hash tag}`. Tests use their own to share one server. */
  prefix?: string;
  /** Head poll period (ms); 0 disables it (then only pub/sub and own commits feed onVersion). */
  pollMs?: number;
  /** Approximate cap of the audit stream (XADD MAXLEN ~). */
  auditMaxLen?: number;
  /**
   * The version the caller already has (e.g. from its local copy): onVersion announces heads above
   * it, and the first announcement waits for the first listener, so the catch-up cannot fire between
   * open and onVersion. Default: the head at open (only later heads are announced).
   */
  since?: number;
  /** openRedisStore rejects if not connected and subscribed within this time. */
  openTimeoutMs?: number;
  retryBaseMs?: number;
  retryMaxMs?: number;
  commandTimeoutMs?: number;
  connectTimeoutMs?: number;
  /** Writes are acknowledged once min(this, replicas connected) replicas hold them (WAIT); default: the connection's, else 1. */
  waitReplicas?: number;
  waitTimeoutMs?: number;
  now?: () => number;
  log?: Logger;
}

export const REDIS_STORE_DEFAULTS = {
  prefix: '{meridian}',
  pollMs: 1_000,
  auditMaxLen: 100_000,
  openTimeoutMs: 5_000,
} as const;

/** Our scripts queue into a pipeline, so WAIT can follow them on the same connection (durable.ts). */
type ScriptedPipeline = ChainableCommander & {
  meridianCommit(...args: string[]): ChainableCommander;
  meridianAppendAudit(...args: string[]): ChainableCommander;
  meridianRestore(...args: string[]): ChainableCommander;
};

/** `target`: a `redis://` URL (tests, tools) or a resolved `redis:` section (single, Sentinel, Cluster). */
export async function openRedisStore(target: string | RedisConnection, opts: RedisStoreOptions = {}): Promise<RedisStore> {
  const store = new RedisStore(target, opts);
  try {
    await store.start(opts.openTimeoutMs ?? REDIS_STORE_DEFAULTS.openTimeoutMs, opts.since);
  } catch (err) {
    await store.close();
    throw err;
  }
  void store.checkPersistence().then((problem) => {
    if (problem)
      opts.log?.warn(
        { redis: problem },
        'config store: Redis does not persist its data; after a Redis restart the nodes restore the store from their local copies (the version they run, tokens, overrides and the newest audit entries), but older versions and audit entries are lost. Enable AOF (appendonly yes) or RDB snapshots',
      );
  });
  if (typeof target !== 'string' && target.target.kind === 'sentinel' && store.waitReplicas === 0) {
    opts.log?.warn('config store: Sentinel without redis.waitReplicas: a failover can lose config writes the API acknowledged (replication is asynchronous); set waitReplicas: 1');
  }
  return store;
}

export class RedisStore implements ConfigStore {
  readonly kind = 'redis';
  readonly tokens: TokenStore;
  /** Last transport error, for diagnostics (/v1/status). */
  lastError: string | null = null;
  private readonly cmd: RedisClient;
  private readonly sub: RedisClient;
  private readonly keys: StoreKeys;
  private readonly durable: ReplicaWait;
  private readonly listeners = new Set<(version: number) => void>();
  private readonly lostListeners = new Set<() => void>();
  private readonly sideListeners = new Set<() => void>();
  private readonly connectWaiters = new Set<() => void>();
  private readonly opts: RedisStoreOptions;
  private readonly now: () => number;
  /** Highest version announced; nothing at or below it is announced again. Infinity until start() sets the baseline. */
  private lastFired = Number.POSITIVE_INFINITY;
  private subscribed = false;
  /** Set while a `since` catch-up waits for its first listener. */
  private holdForListener = false;
  private polling = false;
  private timer: NodeJS.Timeout | null = null;
  private closed = false;
  /** The newest version built, to build the next from (chain.ts); checked against the meta hash before use. */
  private readonly built = new BuiltCache();
  private readonly source: VersionSource;

  /** Use openRedisStore. */
  constructor(target: string | RedisConnection, opts: RedisStoreOptions = {}) {
    this.keys = storeKeys(opts.prefix ?? REDIS_STORE_DEFAULTS.prefix);
    this.opts = opts;
    this.now = opts.now ?? Date.now;
    // We subscribe ourselves on every `ready` and poll once subscribed: that closes the gap.
    const timeouts = timeoutsOf(target, opts);
    const open = (name: string, role: ClientRole): RedisClient => createRedisClient(target, { name, role, timeouts, closed: () => this.closed });
    this.cmd = open('meridian-config', 'command');
    this.sub = open('meridian-config-sub', 'subscriber');
    const conn = typeof target === 'string' ? null : target;
    this.durable = new ReplicaWait(
      this.cmd,
      opts.waitReplicas ?? conn?.waitReplicas ?? REDIS_DEFAULTS.waitReplicas,
      opts.waitTimeoutMs ?? conn?.waitTimeoutMs ?? REDIS_DEFAULTS.waitTimeoutMs,
      'config store',
      opts.log,
    );
    this.cmd.defineCommand('meridianCommit', { numberOfKeys: 5, lua: COMMIT });
    this.cmd.defineCommand('meridianAppendAudit', { numberOfKeys: 2, lua: APPEND_AUDIT });
    this.cmd.defineCommand('meridianRestore', { numberOfKeys: 6, lua: RESTORE });
    const onError = (err: Error): void => {
      this.lastError = err.message;
    };
    this.cmd.on('error', onError);
    this.sub.on('error', onError);
    this.cmd.on('ready', () => this.wakeWaiters());
    this.sub.on('ready', () => void this.resubscribe());
    this.sub.on('close', () => {
      this.subscribed = false;
    });
    this.sub.on('message', (channel: string, message: string) => {
      if (channel === this.keys.changed) return this.sideChanged();
      if (channel !== this.keys.channel) return;
      const v = Number(message);
      if (Number.isSafeInteger(v)) this.announce(v);
      else void this.poll(); // unreadable notice: still "something changed", so look
    });
    this.tokens = new RedisTokens(this.cmd, this.durable, this.keys.tokens, opts.log, () => this.publishChange('tokens'));
    this.source = versionSource(this.cmd, this.keys);
  }

  get connected(): boolean {
    return !this.closed && this.cmd.status === 'ready' && this.subscribed;
  }

  /** Replicas a write waits for (redis.waitReplicas), 0 = acknowledged by the primary alone. */
  get waitReplicas(): number {
    return this.durable.replicas;
  }

  /** Waits for both connections, sets the notice baseline and starts the poll. */
  async start(timeoutMs: number, since?: number): Promise<void> {
    await this.whenConnected(timeoutMs);
    this.lastFired = since ?? (await this.head());
    this.holdForListener = since !== undefined;
    const pollMs = this.opts.pollMs ?? REDIS_STORE_DEFAULTS.pollMs;
    if (pollMs > 0) {
      this.timer = setInterval(() => void this.poll(), pollMs);
      this.timer.unref(); // a store must not keep a finished CLI process alive
    }
    void this.poll(); // a head committed between the GET above and now
  }

  whenConnected(timeoutMs: number): Promise<void> {
    if (this.connected) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const check = (): void => {
        if (!this.connected) return;
        clearTimeout(timer);
        this.connectWaiters.delete(check);
        resolve();
      };
      const timer = setTimeout(() => {
        this.connectWaiters.delete(check);
        reject(new Error(`config store: Redis not connected after ${timeoutMs} ms${this.lastError ? ` (${this.lastError})` : ''}`));
      }, timeoutMs);
      this.connectWaiters.add(check);
    });
  }

  /**
   * The store's history lives only in Redis, so Redis should persist it (AOF or RDB). Returns what is
   * off (`appendonly no, save ""`), or null when either is on or when CONFIG is not allowed (managed
   * Redis often renames it; then we cannot tell and say nothing).
   */
  async checkPersistence(): Promise<string | null> {
    try {
      const aof = (await this.cmd.config('GET', 'appendonly')) as string[];
      const save = (await this.cmd.config('GET', 'save')) as string[];
      if (aof[1] === 'no' && save[1] === '') return 'appendonly no, save ""';
      return null;
    } catch {
      return null;
    }
  }

  async head(): Promise<number> {
    const text = await this.cmd.get(this.keys.head);
    if (text === null) return 0;
    const v = Number(text);
    if (!Number.isSafeInteger(v) || v < 0) throw new Error(`config store: ${this.keys.head} is not a version: ${text}`);
    return v;
  }

  async get(version: number): Promise<VersionRecord | null> {
    if (!Number.isSafeInteger(version) || version < 1) return null;
    const built = await buildVersion(version, this.built, this.source);
    return built ? recordOf(built) : null;
  }

  /** A version's metadata from its key alone (no rebuild), for a version the meta hash lacks. */
  private async readMeta(version: number): Promise<VersionMeta | null> {
    const text = await this.cmd.get(this.keys.version(version));
    return text === null ? null : metaOfStored(parseStoredVersion(text, `config store: ${this.keys.version(version)}`));
  }

  async list(opts: { before?: number; limit?: number } = {}): Promise<VersionMeta[]> {
    const versions = listRange(await this.head(), opts);
    if (versions.length === 0) return [];
    const metas = await this.cmd.hmget(this.keys.meta, ...versions.map(String));
    const out: VersionMeta[] = [];
    for (let i = 0; i < versions.length; i++) {
      const text = metas[i];
      // No meta entry (written by hand, or damaged): fall back to the record itself.
      const meta = text ? parseVersionMeta(JSON.parse(text), `config store: ${this.keys.meta}[${versions[i]}]`) : await this.readMeta(versions[i]!);
      if (meta) out.push(metaOf(meta));
    }
    return out;
  }

  /**
   * A delta is written on top of the version this process built for `expected`; the script checks
   * that the store still holds that version (its meta) as it checks the head, so a delta can never
   * land on another base. When it does not (the store was re-seeded meanwhile), the version is
   * written once more as a checkpoint.
   */
  async commit(req: CommitRequest): Promise<CommitResult> {
    this.assertOpen();
    if (!Number.isSafeInteger(req.expected) || req.expected < 0) return { ok: false, head: await this.head() };
    const record = buildVersionRecord(req, req.expected + 1, new Date(this.now()).toISOString());
    const entry = auditJson(completeAuditEntry(commitAuditEntry(record), 0, record.time));
    const k = this.keys;
    const maxLen = String(this.opts.auditMaxLen ?? REDIS_STORE_DEFAULTS.auditMaxLen);
    for (let attempt = 0; ; attempt++) {
      const base = attempt === 0 ? await this.baseFor(req.expected) : null;
      const baseMeta = base ? JSON.stringify(metaOf(base.meta)) : '';
      const { text, next, checkpoint } = encodeVersion(record, base, this.opts);
      const pipe = this.pipeline().meridianCommit(
        k.head,
        k.version(record.version),
        k.meta,
        k.audit,
        k.auditSeq,
        String(req.expected),
        text,
        JSON.stringify(metaOf(record)),
        maxLen,
        entry,
        k.channel,
        checkpoint ? '' : baseMeta,
      );
      const [reply] = await this.durable.exec(pipe, k.head, ([r]) => (r as number[])[0] === 1);
      const [ok, v] = reply as number[];
      if (ok === 2 && attempt === 0) continue;
      if (ok !== 1) return { ok: false, head: Number(v) };
      this.built.put(next);
      // Our own commit need not wait for the pub/sub round trip (announce dedupes the echo).
      queueMicrotask(() => this.announce(record.version));
      return { ok: true, record };
    }
  }

  /** The version `expected` as built here, owned by the caller; null for 0 or when it is not there. */
  private async baseFor(expected: number): Promise<Built | null> {
    if (expected === 0 || !(await buildVersion(expected, this.built, this.source))) return null;
    const base = this.built.take();
    return base?.meta.version === expected ? base : null;
  }

  async appendAudit(entry: NewAuditEntry): Promise<AuditEntry> {
    this.assertOpen();
    const full = completeAuditEntry(entry, 0, new Date(this.now()).toISOString());
    const maxLen = String(this.opts.auditMaxLen ?? REDIS_STORE_DEFAULTS.auditMaxLen);
    const [seq] = await this.durable.exec(this.pipeline().meridianAppendAudit(this.keys.audit, this.keys.auditSeq, maxLen, auditJson(full)), this.keys.audit);
    full.seq = Number(seq);
    await this.publishChange('audit');
    return full;
  }

  async restore(snapshot: StoreSnapshot): Promise<boolean> {
    this.assertOpen();
    const { record } = snapshot;
    const k = this.keys;
    const time = new Date(this.now()).toISOString();
    const entry = auditJson(completeAuditEntry({ author: 'meridian', action: 'store.restore', target: 'config', version: record.version, reason: snapshot.reason }, 0, time));
    const pipe = this.pipeline().meridianRestore(
      k.head,
      k.version(record.version),
      k.meta,
      k.audit,
      k.auditSeq,
      k.tokens,
      String(record.version),
      checkpointText(record),
      JSON.stringify(metaOf(record)),
      JSON.stringify(snapshot.tokens.map((t) => [t.name, JSON.stringify(t)])),
      JSON.stringify(snapshot.audit.map((e) => [String(e.seq), auditJson(e)])),
      entry,
      k.channel,
    );
    const [reply] = await this.durable.exec(pipe, k.head, ([r]) => (r as number[])[0] === 1);
    if ((reply as number[])[0] !== 1) return false;
    queueMicrotask(() => this.announce(record.version));
    return true;
  }

  /** Newest first, paging back through the stream until `limit` entries match or the stream ends. */
  async audit(query: AuditQuery = {}): Promise<AuditEntry[]> {
    return readAudit(this.cmd, this.keys.audit, query);
  }

  /** Old versions (redis-history.ts) and audit entries older than `auditBefore`. */
  async prune(opts: PruneOptions): Promise<PruneResult> {
    this.assertOpen();
    const versions = await this.pruneVersions(lastPrunedVersion(await this.head(), opts.keepVersions));
    const auditEntries = opts.auditBefore ? await trimAuditBefore(this.cmd, this.keys.audit, opts.auditBefore) : 0;
    return { versions, auditEntries };
  }

  /**
   * The oldest kept version becomes a checkpoint first (SET XX: never resurrects a key another
   * node's prune deleted), then the older ones go.
   */
  private async pruneVersions(last: number): Promise<number> {
    if (last <= 0) return 0;
    const oldest = this.keys.version(last + 1);
    const text = await this.cmd.get(oldest);
    if (text !== null && parseStoredVersion(text, `config store: ${oldest}`).kind === 'delta') {
      const built = await buildVersion(last + 1, this.built, this.source);
      if (built) await this.cmd.set(oldest, builtCheckpointText(built), 'XX');
    }
    return deleteVersionsUpTo(this.cmd, this.keys, last);
  }

  onLost(listener: () => void): () => void {
    this.lostListeners.add(listener);
    return () => this.lostListeners.delete(listener);
  }

  onSideChange(listener: () => void): () => void {
    this.sideListeners.add(listener);
    return () => this.sideListeners.delete(listener);
  }

  onVersion(listener: (version: number) => void): () => void {
    const l = (v: number): void => listener(v);
    this.listeners.add(l);
    if (this.holdForListener) {
      this.holdForListener = false;
      void this.poll();
    }
    return () => this.listeners.delete(l);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    this.listeners.clear();
    this.lostListeners.clear();
    this.sideListeners.clear();
    await Promise.all([quit(this.cmd), quit(this.sub)]);
  }

  /** Fires listeners for a head above the last one fired; stale, repeated and late notices are dropped. */
  private announce(version: number): void {
    if (this.closed || this.holdForListener || !(version > this.lastFired)) return;
    this.lastFired = version;
    notify(this.listeners, version, (err) => this.opts.log?.error({ err }, 'config store: onVersion listener threw'));
  }

  private async poll(): Promise<void> {
    if (this.polling || this.closed || this.cmd.status !== 'ready' || this.lastFired === Number.POSITIVE_INFINITY) return;
    this.polling = true;
    try {
      const head = await this.head();
      if (head < this.lastFired) {
        // Redis lost data (restart without persistence, flush), or this read raced a newer notice.
        // The follower notices a head below its version and restores or follows it (and says so,
        // once). lastFired stays: lowering it on a stale read re-announced versions under
        // concurrent commits (the 100-parallel-commits contract caught it), and a restore keeps the
        // copy's version number, so later heads are above it again.
        this.opts.log?.debug({ head, announced: this.lastFired }, 'config store: Redis head went backwards');
        // An empty store is no stale read: the followers must look now, it needs restoring.
        if (head === 0) for (const l of [...this.lostListeners]) l();
      }
      this.announce(head);
    } catch (err) {
      this.lastError = (err as Error).message;
    } finally {
      this.polling = false;
    }
  }

  private async resubscribe(): Promise<void> {
    try {
      await this.sub.subscribe(this.keys.channel, this.keys.changed);
      this.subscribed = true;
      this.sideChanged(); // notices of token and audit writes sent while we were away are gone too
      this.wakeWaiters();
      void this.poll(); // notices published while we were away are gone: look at the head now
    } catch (err) {
      this.lastError = (err as Error).message; // dropped again before the reply; the next `ready` retries
    }
  }

  /**
   * Tells every node that tokens or the audit log changed. The write is done whatever happens here:
   * a lost notice only leaves the other copies to their periodic refresh (admin.copyRefreshMs).
   */
  private async publishChange(what: 'tokens' | 'audit'): Promise<void> {
    await this.cmd.publish(this.keys.changed, what).catch((err: Error) => this.opts.log?.debug({ err: err.message }, 'config store: change notice not sent'));
  }

  private sideChanged(): void {
    if (this.closed) return;
    notify(this.sideListeners, undefined, (err) => this.opts.log?.error({ err }, 'config store: onSideChange listener threw'));
  }

  private wakeWaiters(): void {
    for (const w of [...this.connectWaiters]) w();
  }

  private pipeline(): ScriptedPipeline {
    return this.cmd.pipeline() as ScriptedPipeline;
  }

  private assertOpen(): void {
    if (this.closed) throw new Error('config store: closed');
  }
}
