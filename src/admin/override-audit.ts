/**
 * The audit entries of override actions, one shape wherever the action happens: the admin API,
 * `meridian override` writing to the store itself, and the expiry sweep (set, clear, expire).
 * Overrides create no config version, so these entries are their only history.
 * @module
 */
import type { HealthBus, Override, OverrideScope } from '../health/types.js';
import type { Logger } from '../obs/log.js';
import type { ConfigStore, NewAuditEntry } from '../store/types.js';

const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());

export function overrideSetEntry(o: Override): NewAuditEntry {
  return { author: o.author, action: 'override.set', target: o.scope, version: null, reason: o.reason, detail: { state: o.state, expiresAt: iso(o.expiresAt) } };
}

export function overrideClearEntry(scope: OverrideScope, author: string, reason: string): NewAuditEntry {
  return { author, action: 'override.clear', target: scope, version: null, reason };
}

/** An override that ran out: audited by whoever swept it off the bus, with the setter in the detail. */
export function overrideExpireEntry(o: Override): NewAuditEntry {
  return {
    author: 'expiry',
    action: 'override.expire',
    target: o.scope,
    version: null,
    reason: o.reason,
    detail: { state: o.state, expiresAt: iso(o.expiresAt), setBy: o.author, setAt: iso(o.createdAt) },
  };
}

/**
 * Removes the expired overrides from the bus and audits each one. The bus hands every expired
 * record to exactly one sweep, across processes, so each expiry is audited once. Runs every second
 * on each API node, and before any override write (a write of the embedded overrides file drops
 * expired records, which would otherwise go unaudited).
 */
export async function auditExpiredOverrides(bus: HealthBus, store: ConfigStore): Promise<number> {
  const swept = await bus.sweepExpiredOverrides();
  for (const o of swept) await store.appendAudit(overrideExpireEntry(o));
  return swept.length;
}

export const EXPIRY_SWEEP_MS = 1000;

/** The API node's sweep timer; a failing sweep (Redis away) is logged once per streak and retried. */
export class OverrideExpiry {
  private timer: NodeJS.Timeout | null = null;
  private running = false;
  private failing = false;

  constructor(
    private readonly bus: HealthBus,
    private readonly store: ConfigStore,
    private readonly log: Logger,
  ) {}

  start(): void {
    this.timer ??= setInterval(() => void this.tick(), EXPIRY_SWEEP_MS);
    this.timer.unref();
  }

  private async tick(): Promise<void> {
    if (this.running) return;
    this.running = true;
    try {
      const n = await auditExpiredOverrides(this.bus, this.store);
      if (n > 0) this.log.info({ expired: n }, 'overrides expired (audited)');
      if (this.failing) this.log.info('override expiry: sweeping works again');
      this.failing = false;
    } catch (err) {
      if (!this.failing) this.log.warn({ err: (err as Error).message }, 'override expiry: sweep failed; retrying every second');
      this.failing = true;
    } finally {
      this.running = false;
    }
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }
}
