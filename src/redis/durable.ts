/**
 * Acknowledged means replicated. Redis replicates asynchronously: a write the primary answered can
 * still be lost if the primary dies before a replica got it, and Sentinel then promotes a replica
 * without it. So, when `waitReplicas` > 0, each config-store write is sent in one pipeline with
 * `ROLE` and `WAIT n timeout` behind it (same connection, so on Cluster the same node as the
 * write's slot), and the write counts as done only once every replica the primary has connected,
 * up to n, holds it. Otherwise the caller gets an error (the admin API answers 503) and must
 * re-read before retrying: the write may or may not survive.
 *
 * Why "connected, up to n" rather than n: right after a failover the new primary has no replica
 * until one is repaired; insisting on n would stop every config write exactly when operators need
 * them. Redis' own `min-replicas-to-write` is the switch for refusing writes instead (README).
 * @module
 */
import type { ChainableCommander } from 'ioredis';
import type { Logger } from '../obs/log.js';

export class ReplicaWait {
  /** Replicas the primary had connected at the last write (null before the first). */
  private lastConnected: number | null = null;

  constructor(
    readonly replicas: number,
    readonly timeoutMs: number,
    private readonly what: string,
    private readonly log?: Logger,
  ) {}

  /**
   * Runs the queued commands and returns their replies (throws the first error among them).
   * `wrote(replies)` says whether they changed anything (a failed compare-and-set did not).
   */
  async exec(pipe: ChainableCommander, wrote: (replies: unknown[]) => boolean = () => true): Promise<unknown[]> {
    const queued = pipe.length;
    if (this.replicas > 0) pipe.role().wait(this.replicas, this.timeoutMs);
    const res = await pipe.exec();
    if (!res) throw new Error('pipeline aborted');
    for (const [err] of res) if (err) throw err;
    const replies = res.map(([, v]) => v);
    const mine = replies.slice(0, queued);
    if (this.replicas === 0 || !wrote(mine)) return mine;
    const role = replies[queued] as [string, unknown, unknown[]];
    const acked = Number(replies[queued + 1]);
    if (role[0] !== 'master') throw new Error(`the server that took the write is a ${role[0]}, not the primary`);
    const connected = Array.isArray(role[2]) ? role[2].length : 0;
    this.noteConnected(connected);
    const need = Math.min(this.replicas, connected);
    if (acked < need) {
      throw new Error(`the primary took the write but only ${acked} of ${need} replica(s) confirmed it within ${this.timeoutMs} ms; it may be lost if the primary fails now, so re-read before retrying`);
    }
    return mine;
  }

  /** One log line per change of "enough replicas connected", not one per write. */
  private noteConnected(connected: number): void {
    const short = connected < this.replicas;
    const wasShort = this.lastConnected !== null && this.lastConnected < this.replicas;
    if (short && (this.lastConnected === null || !wasShort || connected !== this.lastConnected)) {
      this.log?.warn({ connected, waitReplicas: this.replicas }, `${this.what}: the primary has fewer replicas connected than redis.waitReplicas; writes are acknowledged once those it has hold them`);
    } else if (!short && wasShort) {
      this.log?.info({ connected, waitReplicas: this.replicas }, `${this.what}: enough replicas connected again; writes wait for redis.waitReplicas`);
    }
    this.lastConnected = connected;
  }
}
