/**
 * Retention of the config store: on a cron schedule, the nodes that serve the admin API prune
 * versions beyond the newest `admin.retention.versions` and audit entries older than
 * `admin.retention.auditDays` (ConfigStore.prune; the head and the newest audit entry always stay).
 * Pruning is idempotent, so in cluster mode every API node may run it; the second one finds
 * nothing left to do. A failed run is logged and retried at the next tick.
 * @module
 */
import { schedule, validate, type ScheduledTask } from 'node-cron';
import type { Logger } from '../obs/log.js';
import type { ConfigStore, PruneResult } from '../store/types.js';
import type { AdminConfig } from './config.js';

export type RetentionConfig = AdminConfig['retention'];

const DAY_MS = 86_400_000;

/** A reason when the cron expression is not one node-cron accepts, else null. */
export function retentionProblem(r: RetentionConfig): string | null {
  return validate(r.cron) ? null : `admin.retention.cron: not a cron expression: ${JSON.stringify(r.cron)}`;
}

export class Retention {
  private task: ScheduledTask | null = null;

  constructor(
    private readonly store: ConfigStore,
    private readonly config: RetentionConfig,
    private readonly log: Logger,
    private readonly now: () => number = Date.now,
  ) {}

  /** Starts the schedule (nothing to do when both limits are off). */
  start(): void {
    const problem = retentionProblem(this.config);
    if (problem) throw new Error(problem);
    if (this.config.versions === 0 && this.config.auditDays === 0) return;
    this.task = schedule(this.config.cron, () => void this.run(), { name: 'config-retention', noOverlap: true, unref: true });
  }

  /** One pruning pass; never throws (logged instead). */
  async run(): Promise<PruneResult | null> {
    const auditBefore = this.config.auditDays > 0 ? new Date(this.now() - this.config.auditDays * DAY_MS) : null;
    try {
      const res = await this.store.prune({ keepVersions: this.config.versions, auditBefore });
      if (res.versions > 0 || res.auditEntries > 0) this.log.info({ ...res, keepVersions: this.config.versions, auditBefore }, 'config store: pruned old versions and audit entries');
      return res;
    } catch (err) {
      this.log.warn({ err: (err as Error).message }, 'config store: retention run failed; retrying at the next scheduled time');
      return null;
    }
  }

  stop(): void {
    void this.task?.stop();
    this.task = null;
  }
}
