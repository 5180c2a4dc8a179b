/**
 * Endpoint and region flips, logged at info with why: the verdict's source, the vote counts and
 * each live vantage's own view of the endpoint (its status and last error), so "why is it down"
 * is answered by the node's log. Runs on each health swap for the endpoints whose verdict changed
 * (`HealthChange.endpoints`: also one that goes down while its region still answers from others,
 * or in a drained or overridden region, when no answer changes) and the regions whose answers
 * changed, so a heartbeat costs nothing here and a flip costs its own endpoints, never a scan.
 * @module
 */
import type { Logger } from '../obs/log.js';
import type { EndpointVerdict, RegionInput, RegionVerdict } from './aggregate.js';
import type { HealthSource } from './source.js';

function endpointReason(v: EndpointVerdict): string {
  if (v.source === 'override') return 'operator override';
  if (v.source === 'cold') return 'cold start: no vantage has reported it yet';
  return `${v.status === 'down' ? v.down : v.up} of ${v.live} live vantages see it ${v.status}`;
}

function regionReason(v: RegionVerdict): string {
  if (v.source === 'override') return 'operator override';
  if (v.source === 'config') return `state ${v.state} in config`;
  if (v.source === 'empty') return 'no endpoints counted';
  return `${v.up} of ${v.counted} endpoints up`;
}

/** Each live vantage's view of `key`: `up`, or `down (<last error>)`. */
function votes(source: HealthSource, key: string): Record<string, string> {
  const live = new Set(source.current.vantages.map((v) => v.vantage));
  const out: Record<string, string> = {};
  for (const view of source.vantageViews) {
    const o = live.has(view.vantage) ? view.endpoints.get(key) : undefined;
    if (o) out[view.vantage] = o.error && o.status === 'down' ? `down (${o.error})` : o.status;
  }
  return out;
}

/** Starts logging flips; returns the remover. `regions` gives the states to start from. */
export function logFlips(source: HealthSource, regions: () => RegionInput[], log: Logger): () => void {
  const endpoints = new Map<string, string>();
  const states = new Map<string, string>();
  const h0 = source.current;
  for (const r of regions()) {
    states.set(r.id, h0.regionVerdict(r.id)?.state ?? '');
    for (const key of r.endpoints) endpoints.set(key, h0.endpoint(key)?.status ?? '');
  }
  // Only what the swap changed is looked at: O(flipped endpoints + changed regions), never every endpoint.
  return source.onSwap((h, change) => {
    for (const key of change.endpoints) {
      const v = h.endpoint(key);
      const was = endpoints.get(key);
      if (!v || was === v.status) continue;
      endpoints.set(key, v.status);
      // An endpoint added after the start (API write, SIGHUP) is logged at its first verdict from the
      // vantages, so one that is down from its first checks is not silent; those known at the start
      // ('' until their first verdict) are not, so a start does not log every endpoint.
      const from = was || (was === undefined && v.source !== 'cold' ? 'new' : '');
      if (from) log.info({ endpoint: key, from, to: v.status, reason: endpointReason(v), votes: votes(source, key) }, `endpoint ${key} is ${v.status}`);
    }
    // A region's state is part of its answers, so a region that flipped is among `change.regions`.
    for (const id of change.regions) {
      const rv = h.regionVerdict(id);
      const wasState = states.get(id);
      if (!rv || wasState === rv.state) continue;
      states.set(id, rv.state);
      if (wasState) log.info({ region: id, from: wasState, to: rv.state, reason: regionReason(rv) }, `region ${id} is ${rv.state}`);
    }
  });
}
