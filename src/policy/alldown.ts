/**
 * all down: what to answer when the health step leaves no candidate. Default `failopen`: answer
 * as if every (non-drained) region were healthy, because a health plane that sees everything down
 * is more likely broken than the whole fleet (Route 53, gdnsd, CoreDNS forward all fail open).
 * `fallback` answers one named region regardless of its health (Cloudflare's fallback pool);
 * `servfail` answers SERVFAIL (PowerDNS failOnIncompleteCheck). Every occurrence is counted.
 * @module
 */
import { asRecord, rejectUnknownKeys } from './lists.js';
import type { Candidate } from './types.js';

export type AllDownConfig = { mode: 'failopen' } | { mode: 'fallback'; region: string } | { mode: 'servfail' };

export function parseAllDown(json: unknown, regionIds: string[]): AllDownConfig {
  const o = asRecord(json, 'allDown');
  rejectUnknownKeys(o, ['mode', 'region'], 'allDown');
  const mode = o.mode ?? 'failopen';
  if (mode === 'failopen' || mode === 'servfail') {
    if (o.region !== undefined) throw new Error(`allDown.region is only for mode fallback`);
    return { mode };
  }
  if (mode !== 'fallback') throw new Error(`allDown.mode must be failopen, fallback or servfail`);
  if (typeof o.region !== 'string' || !regionIds.includes(o.region)) throw new Error(`allDown.region must be one of the service regions (${regionIds.join(', ')})`);
  return { mode, region: o.region };
}

/**
 * Candidates to use when all are down; null means SERVFAIL. `all` is the located list before the
 * health filter, restricted to regions that have addresses of the query family.
 */
export function onAllDown(cfg: AllDownConfig, all: Candidate[], isDrained: (id: string) => boolean): Candidate[] | null {
  if (cfg.mode === 'servfail') return null;
  if (cfg.mode === 'fallback') {
    const fb = all.find((c) => c.region.id === cfg.region);
    if (fb) return [{ region: fb.region, tier: 0 }];
  }
  // Drained is an operator's decision, not a health verdict: honour it unless nothing else is left.
  const notDrained = all.filter((c) => !isDrained(c.region.id));
  return notDrained.length > 0 ? notDrained : all;
}
