/**
 * `health.targets` at connect time (src/probe/README.md, Targets): the last check before a probe
 * opens a socket. Config load and API writes refuse denied endpoints, but a probe can still be
 * handed one: a store version written by a node with a wider list, or a SIGHUP that narrowed the
 * list under endpoints registered through the API. A name is resolved here, every address it
 * resolves to is judged, and the check connects to the judged address itself, so no second
 * resolution (DNS rebinding) can swap in another.
 * @module
 */
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import type { TargetPolicy } from '../config/targets.js';
import type { CheckRunner } from './types.js';

/** The error a denied check reports, in views and logs. */
export const DENIED = 'denied';

export function guardedRunner(run: CheckRunner, policy: () => TargetPolicy | undefined, onDenied: (key: string, rule: string) => void): CheckRunner {
  return async (target, signal) => {
    const p = policy();
    if (!p) return run(target, signal);
    let addresses: string[];
    if (isIP(target.address) !== 0) addresses = [target.address];
    else {
      try {
        addresses = (await lookup(target.address, { all: true, verbatim: true })).map((a) => a.address);
      } catch (err) {
        return { ok: false, rttMs: 0, error: `resolve ${(err as NodeJS.ErrnoException).code ?? 'failed'}` };
      }
    }
    // Every address, not only the first: a name must not smuggle a denied address in second place.
    for (const address of addresses) {
      const denial = p.verdict(address, target.port);
      if (denial) {
        onDenied(target.key, denial.rule);
        return { ok: false, rttMs: 0, error: DENIED };
      }
    }
    return run({ ...target, address: addresses[0]! }, signal);
  };
}
