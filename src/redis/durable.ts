/**
 * Acknowledged means replicated. Redis replicates asynchronously: a write the primary answered can
 * still be lost if the primary dies before a replica got it, and Sentinel then promotes a replica
 * without it. So, when `waitReplicas` > 0, each config-store write is sent in one pipeline with
 * `ROLE` behind it, then `WAIT k timeout` on the same connection (on Cluster: the same node, by
 * routing on one of the write's keys), where k = the replicas the primary has connected, up to
 * `waitReplicas`. The write counts as done only once those k replicas hold it; otherwise the caller
 * gets an error (the admin API answers 503) and must re-read before retrying: the write may or may
 * not survive.
 *
 * Why "connected, up to n" rather than n: right after a failover the new primary has no replica
 * until one is repaired; insisting on n would stop every config write exactly when operators need
 * them (and WAIT with no replica would hold each write for the whole timeout). Redis' own
 * `min-replicas-to-write` is the switch for refusing writes instead (README).
 * @module
 */
import type { ChainableCommander } from 'ioredis';
import type { Logger } from '../obs/log.js';
import type { RedisClient } from './client.js';

export class ReplicaWait {
  /** Replicas the primary had connected at the last write (null before the first). */
  private lastConnected: number | null = null;

  constructor(
    private readonly client: RedisClient,
    readonly replicas: number,
    readonly timeoutMs: number,
    private readonly what: string,
    private readonly log?: Logger,
  ) {}

  /**
   * Runs the queued commands and returns their replies (throws the first error among them).
   * `routeKey` is one key the commands write (Cluster sends the WAIT to its node); `wrote(replies)`
   * says whether they changed anything (a failed compare-and-set did not, and waits for nothing).
   */
  async exec(pipe: ChainableCommander, routeKey: string, wrote: (replies: unknown[]) => boolean = () => true): Promise<unknown[]> {
    const queued = pipe.length;
    if (this.replicas > 0) pipe.role();
    const replies = checked(await pipe.exec());
    const mine = replies.slice(0, queued);
    if (this.replicas === 0 || !wrote(mine)) return mine;
    const role = replies[queued] as [string, unknown, unknown[]];
    if (role[0] !== 'master') throw new Error(`the server that took the write is a ${role[0]}, not the primary`);
    const connected = Array.isArray(role[2]) ? role[2].length : 0;
    this.noteConnected(connected);
    const need = Math.min(this.replicas, connected);
    if (need === 0) return mine;
    // EXISTS only routes the pipeline to the write's node on Cluster; WAIT covers this connection's writes.
    const [, acked] = checked(await this.client.pipeline().exists(routeKey).wait(need, this.timeoutMs).exec());
    if (Number(acked) < need) {
      throw new Error(
        `the primary took the write but only ${Number(acked)} of ${need} replica(s) confirmed it within ${this.timeoutMs} ms; it may be lost if the primary fails now, so re-read before retrying`,
      );
    }
    return mine;
  }

  /** One log line per change of "enough replicas connected", not one per write. */
  private noteConnected(connected: number): void {
    const short = connected < this.replicas;
    const wasShort = this.lastConnected !== null && this.lastConnected < this.replicas;
    if (this.lastConnected === null && connected === 0) {
      // A server without replicas (a single Redis) is a setup, not a degradation: say it once, quietly.
      this.log?.info(`${this.what}: the primary has no replica; writes are acknowledged by the primary alone`);
    } else if (short && (!wasShort || connected !== this.lastConnected)) {
      this.log?.warn({ connected, waitReplicas: this.replicas }, `${this.what}: the primary has fewer replicas connected than redis.waitReplicas; writes are acknowledged once those it has hold them`);
    } else if (!short && wasShort) {
      this.log?.info({ connected, waitReplicas: this.replicas }, `${this.what}: enough replicas connected again; writes wait for redis.waitReplicas`);
    }
    this.lastConnected = connected;
  }
}

/** The replies of a pipeline; throws its first error. */
function checked(res: [Error | null, unknown][] | null): unknown[] {
  if (!res) throw new Error('pipeline aborted');
  for (const [err] of res) if (err) throw err;
  return res.map(([, v]) => v);
}
