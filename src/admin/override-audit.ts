/**
 * The audit entries of override actions, one shape wherever the action happens: the admin API,
 * `meridian override` writing to the store itself, and the expiry sweep. Overrides create no config
 * version, so these entries are their only history.
 * @module
 */
import type { Override, OverrideScope } from '../health/types.js';
import type { NewAuditEntry } from '../store/types.js';

const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());

export function overrideSetEntry(o: Override): NewAuditEntry {
  return { author: o.author, action: 'override.set', target: o.scope, version: null, reason: o.reason, detail: { state: o.state, expiresAt: iso(o.expiresAt) } };
}

export function overrideClearEntry(scope: OverrideScope, author: string, reason: string): NewAuditEntry {
  return { author, action: 'override.clear', target: scope, version: null, reason };
}
