/**
 * The config store as its users (the admin API) see it: always there, whether or not the real store
 * can be reached. While it cannot (never opened yet, or Redis away), every call rejects at once with
 * StoreUnavailableError, which says so in words an operator can act on; the client library's own
 * message ("Stream isn't writeable…") goes to the debug log only. The follower (follow.ts) owns the
 * real store: it opens, reconnects and closes it; the gate never does.
 * @module
 */
import type { AuditEntry, AuditQuery, CommitRequest, CommitResult, ConfigStore, NewAuditEntry, PruneOptions, PruneResult, TokenRecord, TokenStore, VersionMeta, VersionRecord } from './types.js';

export class StoreUnavailableError extends Error {
  readonly code = 'MERIDIAN_ERR_STORE_UNAVAILABLE';
  constructor(kind: string, cause?: unknown) {
    super(`the config store (${kind}) is unreachable; nothing was changed`, cause === undefined ? undefined : { cause });
  }
}

/** ioredis's words for "the connection is not there"; anything else is the store's own error. */
const TRANSPORT = /enableOfflineQueue|Stream isn't writeable|Connection is closed|timed out|ECONNREFUSED|ECONNRESET|EPIPE|ETIMEDOUT|EHOSTUNREACH|not connected/i;

export class GatedStore implements ConfigStore {
  readonly tokens: TokenStore;

  constructor(
    readonly kind: string,
    private readonly current: () => ConfigStore | null,
  ) {
    this.tokens = {
      list: () => this.call((s) => s.tokens.list()),
      put: (t: TokenRecord) => this.call((s) => s.tokens.put(t)),
      create: (t: TokenRecord) => this.call((s) => s.tokens.create(t)),
      delete: (name: string) => this.call((s) => s.tokens.delete(name)),
    };
  }

  get connected(): boolean {
    const s = this.current();
    return s !== null && s.connected !== false;
  }

  head(): Promise<number> {
    return this.call((s) => s.head());
  }
  get(version: number): Promise<VersionRecord | null> {
    return this.call((s) => s.get(version));
  }
  list(opts?: { before?: number; limit?: number }): Promise<VersionMeta[]> {
    return this.call((s) => s.list(opts));
  }
  commit(req: CommitRequest): Promise<CommitResult> {
    return this.call((s) => s.commit(req));
  }
  appendAudit(entry: NewAuditEntry): Promise<AuditEntry> {
    return this.call((s) => s.appendAudit(entry));
  }
  audit(query?: AuditQuery): Promise<AuditEntry[]> {
    return this.call((s) => s.audit(query));
  }
  prune(opts: PruneOptions): Promise<PruneResult> {
    return this.call((s) => s.prune(opts));
  }
  /** Notices come through the follower, which outlives any one connection: the gate has none. */
  onVersion(): () => void {
    return () => undefined;
  }
  /** The follower closes the real store. */
  async close(): Promise<void> {}

  private async call<T>(fn: (store: ConfigStore) => Promise<T>): Promise<T> {
    const store = this.current();
    if (!store || isDown(store)) throw new StoreUnavailableError(this.kind);
    try {
      return await fn(store);
    } catch (err) {
      // The connection may have dropped during the call: look again after it failed.
      if (isDown(store) || TRANSPORT.test((err as Error).message)) throw new StoreUnavailableError(this.kind, err);
      throw err;
    }
  }
}

const isDown = (store: ConfigStore): boolean => store.connected === false;
