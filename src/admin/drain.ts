/**
 * Drain with TTL choreography. A region cannot simply vanish from answers: resolvers hold it for the
 * TTL they were given. So a drain is two config versions:
 *   1. `lowering`: answers carrying the region get the drain TTL (admin.drainTtl, 5 s);
 *   2. after the old TTL (the largest TTL of the services using the region) plus one second for
 *      every node to apply version 1, `drained`: the region's state is `drained`, and the health
 *      step stops handing it out.
 * Step 2 is a timer on every admin node that sees a drain in `lowering`; the first commit wins and
 * the others find nothing left to do, so a restart or a second admin node cannot lose a drain.
 * @module
 */
import type { ConfigDocument } from '../config/document.js';
import type { ChangeRequest, ChangeRunner } from './change.js';
import type { AdminDeps } from './context.js';
import { AdminError } from './errors.js';

/** Time allowed for every DNS node to apply the `lowering` version before the wait starts to count. */
export const PROPAGATION_MS = 1000;

export interface DrainStatus {
  region: string;
  phase: 'none' | 'lowering' | 'drained';
  /** Config version this status was read from. */
  version: number;
  ttl: number | null;
  startedAt: string | null;
  completeAt: string | null;
  remainingSeconds: number;
  /** Connections still open through the region's forwarders (their load reports); null = no report. */
  forwarderConnections: number | null;
}

export class DrainController {
  private readonly timers = new Map<string, NodeJS.Timeout>();
  /** Regions whose completion is failing (the store is away): their warning is logged once. */
  private readonly failing = new Set<string>();

  constructor(
    private readonly deps: AdminDeps,
    private readonly changes: ChangeRunner,
  ) {}

  private now(): number {
    return this.deps.now?.() ?? Date.now();
  }

  private statusOf(doc: ConfigDocument, version: number, id: string, connections: number | null): DrainStatus {
    const region = doc.regions.find((r) => r.id === id);
    if (!region) throw new AdminError('MERIDIAN_ERR_NOT_FOUND', `region ${id} does not exist`);
    const d = region.drain;
    const phase = d ? d.phase : region.state === 'drained' ? 'drained' : 'none';
    const remaining = d && d.phase === 'lowering' ? Math.max(0, (Date.parse(d.completeAt) - this.now()) / 1000) : 0;
    return {
      region: id,
      phase,
      version,
      ttl: d?.ttl ?? null,
      startedAt: d?.startedAt ?? null,
      completeAt: d?.completeAt ?? null,
      remainingSeconds: Math.round(remaining * 10) / 10,
      forwarderConnections: connections,
    };
  }

  async status(id: string): Promise<DrainStatus> {
    const head = await this.changes.current();
    // Load reports are the forwarders' own count; a bus that cannot be read leaves the field null.
    const connections = this.deps.forwarderConnections ? await this.deps.forwarderConnections(id).catch(() => null) : null;
    return this.statusOf(head.document, head.version, id, connections);
  }

  async start(id: string, base: ChangeRequest, ttl = this.deps.settings.drainTtl): Promise<DrainStatus> {
    const now = this.now();
    const outcome = await this.changes.apply({
      ...base,
      edit: (doc) => {
        const region = doc.regions.find((r) => r.id === id);
        if (!region) throw new AdminError('MERIDIAN_ERR_NOT_FOUND', `region ${id} does not exist`);
        if (region.drain || region.state === 'drained') return; // already draining or drained: idempotent
        const oldTtl = Math.max(0, ...doc.services.filter((s) => s.regions.includes(id)).map((s) => s.ttl));
        region.drain = {
          phase: 'lowering',
          ttl,
          startedAt: new Date(now).toISOString(),
          completeAt: new Date(now + PROPAGATION_MS + oldTtl * 1000).toISOString(),
          previousState: region.state === 'down' ? 'down' : 'up',
        };
      },
    });
    if (outcome.kind === 'dry-run') {
      return {
        region: id,
        phase: 'none',
        version: outcome.version,
        ttl,
        startedAt: null,
        completeAt: null,
        remainingSeconds: 0,
        forwarderConnections: null,
        ...{ dryRun: true, diff: outcome.diff, answers: outcome.answers },
      };
    }
    await this.resume();
    return this.status(id);
  }

  async cancel(id: string, base: ChangeRequest): Promise<DrainStatus> {
    const outcome = await this.changes.apply({
      ...base,
      edit: (doc) => {
        const region = doc.regions.find((r) => r.id === id);
        if (!region) throw new AdminError('MERIDIAN_ERR_NOT_FOUND', `region ${id} does not exist`);
        if (!region.drain && region.state !== 'drained') return;
        // Back to what it was: a region an operator had set down stays down after the drain ends.
        region.state = region.drain?.previousState ?? 'up';
        delete region.drain;
      },
    });
    if (outcome.kind === 'dry-run') return { ...(await this.status(id)), ...{ dryRun: true, diff: outcome.diff } };
    this.clear(id);
    return this.status(id);
  }

  /** Schedules step 2 of every drain in `lowering` in the current version (after start, boot, or a version notice). */
  async resume(): Promise<void> {
    const head = await this.changes.current();
    for (const region of head.document.regions) {
      const d = region.drain;
      if (!d || d.phase !== 'lowering' || this.timers.has(region.id)) continue;
      const delay = Math.max(0, Date.parse(d.completeAt) - this.now());
      const timer = setTimeout(() => void this.complete(region.id, d.startedAt), delay);
      timer.unref();
      this.timers.set(region.id, timer);
    }
  }

  private async complete(id: string, startedAt: string): Promise<void> {
    this.timers.delete(id);
    try {
      await this.changes.apply({
        ifMatch: undefined,
        dryRun: false,
        author: 'drain',
        reason: `drain of ${id} started ${startedAt}: old TTL waited out`,
        action: 'region.drained',
        target: `region/${id}`,
        edit: (doc) => {
          const region = doc.regions.find((r) => r.id === id);
          // Cancelled, restarted or finished elsewhere: nothing to do.
          if (!region?.drain || region.drain.phase !== 'lowering' || region.drain.startedAt !== startedAt) return;
          region.drain.phase = 'drained';
          region.state = 'drained';
        },
      });
      if (this.failing.delete(id)) this.deps.log.info({ region: id }, 'drain: completed after the store came back');
    } catch (err) {
      // The store is unreachable: try again shortly; the drain stays in `lowering` meanwhile.
      // Logged once per outage, not once a second.
      if (!this.failing.has(id)) this.deps.log.warn({ region: id, err: (err as Error).message }, 'drain: completing failed; retrying every second');
      this.failing.add(id);
      const timer = setTimeout(() => void this.complete(id, startedAt), 1000);
      timer.unref();
      this.timers.set(id, timer);
    }
  }

  private clear(id: string): void {
    const t = this.timers.get(id);
    if (t) clearTimeout(t);
    this.timers.delete(id);
  }

  close(): void {
    for (const id of [...this.timers.keys()]) this.clear(id);
  }
}
