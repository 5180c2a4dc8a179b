/**
 * How a role follows the config store: seed an empty store from the YAML, apply the head, then
 * every new version (store notices; the Redis store also polls, so a missed notice costs at most a
 * second). Each version goes to the role's apply (src/node/sources.ts), which compiles it with the
 * settings in force; one the role refuses is logged and skipped, and the role keeps the last good one.
 *
 * In cluster mode each applied version is also written to a local copy, so the node boots and
 * answers with Redis down; it then keeps trying to reach the store and catches up once it can. A
 * store found empty while the node runs a version (Redis restarted without persistence) is restored
 * from that copy (ConfigStore.restore): the version keeps its number, tokens and the audit tail come
 * back (overrides live on the health bus, which restores its own: src/health/source.ts).
 * Whether the store can be reached is logged once per change, not once per attempt, and the API
 * reaches the store through `gate`, which refuses at once (coded) while it cannot.
 * @module
 */
import { hostname } from 'node:os';
import type { ConfigDocument } from '../config/document.js';
import type { Logger } from '../obs/log.js';
import { GatedStore } from './gate.js';
import type { LocalCopyFile } from './local-copy.js';
import { notify } from './records.js';
import type { ConfigStore, VersionRecord } from './types.js';

export interface FollowerOptions {
  /** Opens the store, giving up after `timeoutMs` when given (else the store's own default). */
  openStore(timeoutMs?: number): Promise<ConfigStore>;
  /** `file` or `redis`, for the words of the gate's errors. */
  kind: string;
  /** The YAML's zones/regions/services: version 1 of an empty store. */
  seed: ConfigDocument;
  /** Swaps a version in; returns the problems that kept it out (empty = applied). */
  apply(record: VersionRecord): string[];
  /**
   * Whether this role restores a store found empty from its local copy (DNS nodes, whose copy holds
   * tokens and the audit tail beside the version). Others keep their version and wait.
   */
  restores?: boolean;
  /** Cluster mode: the node's local copy, already read; null in embedded mode (the store is local already). */
  localCopy: LocalCopyFile | null;
  /**
   * Never write the store (probes, forwarders): not even an empty store of a new cluster is seeded
   * by this follower; the DNS nodes seed it (and restore one that lost its data, see `restores`).
   * Until one does, this follower keeps what it runs (its local copy, or the YAML).
   */
  readOnly?: boolean;
  log: Logger;
  /** Retry period for a store that could not be opened. */
  retryMs?: number;
  /** Period of the head check that catches a store whose history restarted. */
  checkMs?: number;
  /**
   * How long the first connect may hold up the start of a role with no local copy yet (cluster
   * mode) before it answers from the YAML instead; the retries in the background take longer.
   * Default 3 s: the YAML may be far behind the cluster, so it is worth a short wait; a Redis that
   * is down costs no more than this. A role with a local copy answers from it at once.
   */
  bootWaitMs?: number;
}

export class ConfigFollower {
  /** The open store, or null while it has never been reached. */
  store: ConfigStore | null = null;
  /** The store for the API: always there, refusing at once while the store cannot be reached. */
  readonly gate: GatedStore;
  private current: VersionRecord | null = null;
  /** Last logged reachability (null: not known yet): one log line per change. */
  private reachable: boolean | null = null;
  private running: Promise<void> = Promise.resolve();
  /** The store was seen empty and not yet back at our version: its loss is logged once. */
  private lost = false;
  private retryTimer: NodeJS.Timeout | null = null;
  private checkTimer: NodeJS.Timeout | null = null;
  private unsubscribe: (() => void) | null = null;
  private closed = false;
  private readonly listeners: ((record: VersionRecord) => void)[] = [];
  private readonly sideListeners = new Set<() => void>();

  constructor(private readonly opts: FollowerOptions) {
    this.gate = new GatedStore(opts.kind, () => this.store);
  }

  /** The version being answered from (0 before the first). */
  get version(): number {
    return this.current?.version ?? 0;
  }

  /** The version in force, or null before the first. */
  get record(): VersionRecord | null {
    return this.current;
  }

  /** Tokens or the audit log changed in the store (ConfigStore.onSideChange), whichever connection is current. */
  onSideChange(listener: () => void): void {
    this.sideListeners.add(listener);
  }

  /** Called after every applied version. */
  onApplied(listener: (record: VersionRecord) => void): void {
    this.listeners.push(listener);
  }

  /** Resolves once a version is applied: from the store, or (store unreachable) the local copy or the YAML. */
  async start(): Promise<void> {
    const copied = this.opts.localCopy?.latest;
    // A version this cluster ran is at hand: answer from it at once and catch up once the store
    // answers (a moment later when Redis is up). Waiting for the store first would only delay a
    // node restarted during a Redis outage, which is when it is needed most. A copy this node
    // cannot compile is worth nothing: wait for the store as if there were none.
    if (copied && this.applyRecord(copied.record)) {
      this.connectInBackground();
      return;
    }
    try {
      await this.connect(this.opts.localCopy === null ? undefined : (this.opts.bootWaitMs ?? 3000));
      if (this.current) return;
      // Only a read-only follower gets here: the store is empty until a DNS node fills it.
      this.opts.log.warn('config store is empty: running the local copy or the YAML until a DNS node seeds it');
      this.bootLocally();
      return;
    } catch (err) {
      if (this.opts.localCopy === null) throw err;
      this.opts.log.error({ err: (err as Error).message }, 'config store unreachable; booting from the local copy and retrying');
      this.reachable = false;
    }
    this.bootLocally();
    this.scheduleRetry();
  }

  private connectInBackground(): void {
    this.connect().catch((err: unknown) => {
      if (this.closed) return;
      this.setReachable(false, err as Error);
      this.scheduleRetry();
    });
  }

  private bootLocally(): void {
    // start() answers from a copy that compiles before it gets here, so there is no copy, or one
    // this code cannot compile (another release wrote it): the YAML, rather than nothing to answer from.
    const local = this.opts.localCopy?.latest;
    if (!local) this.opts.log.warn('no local copy of the config yet: running the YAML config until the store has a version');
    else this.opts.log.warn({ version: local.record.version }, 'the local copy does not compile on this node: running the YAML config until the store has a version');
    this.applyRecord({ version: 0, author: 'yaml', time: new Date().toISOString(), reason: 'store unreachable at boot', action: 'seed', target: 'config', diff: [], document: this.opts.seed });
  }

  private scheduleRetry(): void {
    if (this.closed) return;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      this.connect().catch((err: unknown) => {
        this.opts.log.debug({ err: (err as Error).message }, 'config store still unreachable');
        this.scheduleRetry();
      });
    }, this.opts.retryMs ?? 2000);
    this.retryTimer.unref();
  }

  private async connect(timeoutMs?: number): Promise<void> {
    const store = await this.opts.openStore(timeoutMs);
    if (this.closed) {
      await store.close();
      return;
    }
    try {
      this.store = store;
      await this.sync(store);
      const offVersion = store.onVersion(() => void this.catchUp());
      const offLost = store.onLost?.(() => void this.catchUp());
      const offSide = store.onSideChange?.(() => notify(this.sideListeners, undefined, (err) => this.opts.log.error({ err }, 'onSideChange listener threw')));
      this.unsubscribe = () => {
        offVersion();
        offLost?.();
        offSide?.();
      };
      // Notices only announce heads above the last one; a store that lost its history announces
      // nothing, so look at the head now and then as well (one GET).
      this.checkTimer = setInterval(() => void this.catchUp(), this.opts.checkMs ?? 2000);
      this.checkTimer.unref();
      this.setReachable(true);
    } catch (err) {
      this.store = null;
      this.unsubscribe?.();
      await store.close().catch(() => undefined);
      throw err;
    }
  }

  /** Applies the head if it is newer than what is applied; serialised, never overlapping. */
  catchUp(): Promise<void> {
    this.running = this.running.then(async () => {
      const store = this.store;
      if (!store || this.closed) return;
      try {
        await this.sync(store);
        this.setReachable(true);
      } catch (err) {
        // The store notices and polls again; the node keeps answering from what it has.
        this.setReachable(false, err as Error);
      }
    });
    return this.running;
  }

  private setReachable(ok: boolean, err?: Error): void {
    if (ok === this.reachable) return;
    const was = this.reachable;
    this.reachable = ok;
    if (!ok) this.opts.log.warn({ err: err?.message, version: this.version }, 'config store unreachable; answering from the version in force and retrying');
    else if (was === false) this.opts.log.info({ version: this.version }, 'config store reachable again; following it');
  }

  private async sync(store: ConfigStore): Promise<void> {
    let head = await store.head();
    if (head === 0 && this.version > 0 && !this.opts.restores) {
      // Only a role whose copy holds what lives beside the version (a DNS node's: tokens, audit)
      // restores; restoring from a bare version would drop the tokens for good.
      if (!this.lost) this.opts.log.warn({ version: this.version }, 'the config store lost its data (Redis restarted empty?); keeping this version until a DNS node restores it');
      this.lost = true;
      return;
    }
    if (head === 0 && this.opts.readOnly) return; // a new cluster: a DNS node seeds it
    if (head === 0) head = this.version > 0 ? await this.restore(store) : await this.seed(store);
    if (head === this.version) {
      this.lost = false;
      return;
    }
    // A head below ours: another node restored the store from an older copy, or a store that cannot
    // restore started its history again. It is still the source of truth, so follow it.
    if (head < this.version) this.opts.log.warn({ head, applied: this.version }, 'the config store is behind this node; following it');
    const record = await store.get(head);
    if (!record) throw new Error(`config version ${head} is missing from the store`);
    await this.applyStored(record);
  }

  /**
   * A version from the store goes to the local copy before the role answers with it: a node
   * SIGKILLed a moment after it answered with version N restarted from N-1 while the write was
   * still queued (the e2e drill 9 caught it). A version the role refuses is taken back out.
   */
  private async applyStored(record: VersionRecord): Promise<void> {
    await this.opts.localCopy?.update({ record });
    if (!this.applyRecord(record) && this.current) await this.opts.localCopy?.update({ record: this.current });
  }

  /** An empty store while this node runs a version: Redis lost its data. Puts back what the copy holds. */
  private async restore(store: ConfigStore): Promise<number> {
    const record = this.current!;
    if (!this.lost) this.opts.log.warn({ version: record.version }, "the config store lost its data (Redis restarted empty?); restoring it from this node's copy");
    this.lost = true;
    if (!store.restore) return this.seed(store);
    const copy = this.opts.localCopy?.latest;
    const snapshot = { record, tokens: copy?.tokens ?? [], audit: copy?.audit ?? [], reason: `the store was empty: restored from ${hostname()}'s copy of version ${record.version}` };
    if (await store.restore(snapshot)) {
      this.opts.log.info({ version: record.version, tokens: snapshot.tokens.length, audit: snapshot.audit.length }, "restored the config store from this node's copy");
    }
    return store.head();
  }

  /**
   * Fills an empty store with the YAML's config (a new cluster), or, for a store that cannot
   * restore, with the config this node runs as a new version 1. Exactly one of several nodes wins.
   */
  private async seed(store: ConfigStore): Promise<number> {
    const fromNode = this.current !== null && this.current.version > 0;
    const document = fromNode ? this.current!.document : this.opts.seed;
    const reason = fromNode ? `store was empty: re-seeded from this node's config version ${this.current!.version}` : 'seeded from the YAML config';
    const seeded = await store.commit({ expected: 0, document, diff: [], author: 'bootstrap', reason, action: 'seed', target: 'config' });
    if (seeded.ok) this.opts.log.info({ reason }, 'config store was empty: seeded version 1');
    return store.head();
  }

  /** Applies `record` to the role; false when the role refuses it (logged). */
  private applyRecord(record: VersionRecord): boolean {
    const problems = this.opts.apply(record);
    if (problems.length) {
      this.opts.log.error({ version: record.version, problems: problems.slice(0, 5) }, 'config version does not compile on this node; keeping the previous one');
      return false;
    }
    this.current = record;
    this.opts.log.info({ version: record.version, author: record.author, action: record.action }, 'config version applied');
    for (const l of this.listeners) l(record);
    return true;
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    if (this.checkTimer) clearInterval(this.checkTimer);
    this.unsubscribe?.();
    await this.running;
    await this.opts.localCopy?.flush();
    await this.store?.close();
    this.store = null;
  }
}
