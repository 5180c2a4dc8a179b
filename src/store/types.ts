/**
 * The config store's contract: versioned config documents, an audit log and API tokens, with two
 * back ends (files in a data directory for embedded mode, Redis for cluster mode). Everything above
 * this interface (admin API, DNS nodes applying versions) is the same code in both modes.
 * See src/store/README.md.
 * @module
 */
import type { ConfigDocument } from '../config/document.js';

/** One change between two documents, RFC 6901 JSON-pointer path (`/regions/1/weight`). */
export interface DiffEntry {
  op: 'add' | 'remove' | 'replace';
  path: string;
  before?: unknown;
  after?: unknown;
}

export interface VersionMeta {
  /** 1, 2, 3 … with no gaps; 0 means "no version yet". */
  version: number;
  /** Token name of whoever made the change (`bootstrap` for the version seeded from the YAML). */
  author: string;
  /** ISO 8601 UTC. */
  time: string;
  reason: string;
  /** What was done, e.g. `region.update`, `rollback`, `seed`. */
  action: string;
  /** What it was done to, e.g. `region/eu-west`. */
  target: string;
}

export interface VersionRecord extends VersionMeta {
  document: ConfigDocument;
  /** Changes from version - 1 (empty for the first version). */
  diff: DiffEntry[];
}

export interface AuditEntry {
  /** Assigned by the store, increasing. */
  seq: number;
  time: string;
  author: string;
  action: string;
  target: string;
  /** The config version created, or null for actions that do not create one (overrides, tokens). */
  version: number | null;
  reason: string;
  /** Extra detail (never secrets): override state, token role … */
  detail?: Record<string, unknown>;
}

export type NewAuditEntry = Omit<AuditEntry, 'seq' | 'time'> & { time?: string };

export interface CommitRequest {
  /** The head version the change was computed against (If-Match); the commit fails if head moved. */
  expected: number;
  document: ConfigDocument;
  diff: DiffEntry[];
  author: string;
  reason: string;
  action: string;
  target: string;
}

export type CommitResult = { ok: true; record: VersionRecord } | { ok: false; head: number };

export interface AuditQuery {
  /** ISO times, inclusive. */
  since?: string;
  until?: string;
  author?: string;
  action?: string;
  /** Newest first; default 100, at most 10,000. */
  limit?: number;
}

export interface PruneOptions {
  /** Keep this many newest versions; 0 = keep every version. */
  keepVersions: number;
  /** Drop audit entries older than this; null = keep every entry. */
  auditBefore: Date | null;
}

export interface PruneResult {
  versions: number;
  auditEntries: number;
}

export type Role = 'viewer' | 'operator' | 'admin';

export interface TokenRecord {
  name: string;
  role: Role;
  /** Hex SHA-256 of the secret: tokens are 256-bit random, so a fast hash is enough (as GitHub). */
  sha256: string;
  createdAt: string;
  createdBy: string;
}

export interface TokenStore {
  list(): Promise<TokenRecord[]>;
  /** Creates or replaces the token of that name. */
  put(token: TokenRecord): Promise<void>;
  /** Creates the token only if no token has that name (atomic); false when one exists. */
  create(token: TokenRecord): Promise<boolean>;
  delete(name: string): Promise<boolean>;
}

/** What a node's local copy holds to re-seed a store that lost its data (ConfigStore.restore). */
export interface StoreSnapshot {
  /** Becomes the head, at its own version number: numbering continues. */
  record: VersionRecord;
  tokens: TokenRecord[];
  /** The newest audit entries, oldest first, with their seqs. */
  audit: AuditEntry[];
  /** Why (for the `store.restore` audit entry). */
  reason: string;
}

export interface ConfigStore {
  /** `file` or `redis`, for logs and /v1/status. */
  readonly kind: string;
  /** Whether the back end can be reached now; absent for a local store, which always can. */
  readonly connected?: boolean;
  /** The current head version, 0 when the store is empty. */
  head(): Promise<number>;
  get(version: number): Promise<VersionRecord | null>;
  /** Newest first. */
  list(opts?: { before?: number; limit?: number }): Promise<VersionMeta[]>;
  /**
   * Atomic compare-and-set: writes version `expected + 1` (with its audit entry) only if head is still
   * `expected`. Exactly one of N concurrent commits against the same head succeeds.
   */
  commit(req: CommitRequest): Promise<CommitResult>;
  /** For actions that create no version (overrides, tokens, drain steps): audited all the same. */
  appendAudit(entry: NewAuditEntry): Promise<AuditEntry>;
  audit(query?: AuditQuery): Promise<AuditEntry[]>;
  readonly tokens: TokenStore;
  /**
   * Retention: removes the versions older than the newest `keepVersions` (the head always stays) and
   * the audit entries older than `auditBefore`, oldest first (the newest entry always stays, so seqs
   * carry on). Idempotent; several nodes may run it
   * at once. A pruned version reads as absent (`get` null, skipped by `list`).
   */
  prune(opts: PruneOptions): Promise<PruneResult>;
  /**
   * Re-seeds an empty store (head 0) from a node's copy: the record at its own number, tokens whose
   * name is free, the audit tail with its seqs (when the log is still empty), then one
   * `store.restore` audit entry. False, with nothing changed, when the store is not empty: of
   * several nodes restoring at once exactly one wins. Only a store that can lose its data apart from
   * the nodes has it (Redis); the file store is the node's own disk.
   */
  restore?(snapshot: StoreSnapshot): Promise<boolean>;
  /**
   * Notice that the store was found empty after it held versions (a Redis restarted without
   * persistence), so followers restore it at once instead of at their next check. Returns an
   * unsubscribe function. Only stores that can lose their data apart from the nodes have it.
   */
  onLost?(listener: () => void): () => void;
  /**
   * Notice that tokens or the audit log changed (from this process or any other), so local copies
   * re-read them at once; also fired after a reconnect, since notices sent meanwhile are gone.
   * Only stores shared by several nodes have it. Returns an unsubscribe function.
   */
  onSideChange?(listener: () => void): () => void;
  /** Notice of every new head, from this process or any other. Returns an unsubscribe function. */
  onVersion(listener: (version: number) => void): () => void;
  close(): Promise<void>;
}
