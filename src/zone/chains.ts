/**
 * In-zone CNAME chains the answer path cannot finish: a loop (`a CNAME b`, `b CNAME a`) or a chain
 * longer than it follows (resolve.ts visits at most MAX_CNAME_CHAIN names per query, so 15
 * CNAMEs). Both are legal zone data and are served (the CNAMEs up to the cut, no address), so they
 * are warnings with a code, not errors: `meridian check` prints them at the zone file's line and
 * `serve` logs them. Wildcard owners are not followed.
 * @module
 */
import { RRType } from './types.js';
import type { Zone } from './zone.js';

/** Most names one query visits along an in-zone CNAME chain (resolve.ts). */
export const MAX_CNAME_CHAIN = 16;

export interface ChainWarning {
  /** The CNAME owners involved, in chain order (a loop: its members; a long chain: its head first). */
  owners: string[];
  reason: string;
}

/** `cnames`: in-zone owner -> target, canonical absolute names, in the zone's order. */
export function cnameChainWarnings(cnames: ReadonlyMap<string, string>): ChainWarning[] {
  const out: ChainWarning[] = [];
  const loops = new Set<string>();
  const targets = new Set(cnames.values());
  for (const start of cnames.keys()) {
    const path: string[] = [];
    let name: string | undefined = start;
    while (name !== undefined && !path.includes(name)) {
      path.push(name);
      name = cnames.get(name);
    }
    if (name !== undefined) {
      const loop = path.slice(path.indexOf(name));
      const key = [...loop].sort().join(' ');
      if (!loops.has(key)) {
        loops.add(key);
        out.push({ owners: loop, reason: `MERIDIAN_WARN_CNAME_LOOP: CNAME loop ${[...loop, name].join(' -> ')}: clients get the CNAMEs and no address` });
      }
    } else if (!targets.has(start) && path.length - 1 >= MAX_CNAME_CHAIN) {
      // `path` ends with the first name that is not a CNAME owner: one more than the CNAMEs.
      out.push({
        owners: path.slice(0, -1),
        reason: `MERIDIAN_WARN_CNAME_CHAIN: the CNAME chain from ${start} is ${path.length - 1} CNAMEs long; answers follow at most ${MAX_CNAME_CHAIN - 1}, so clients get no address`,
      });
    }
  }
  return out;
}

/** The in-zone CNAMEs of a compiled zone (config versions from the admin API have no file lines). */
export function zoneCnames(zone: Zone): Map<string, string> {
  const out = new Map<string, string>();
  for (const [name, node] of zone.nodes) {
    const set = node.rrsets.get(RRType.CNAME);
    if (set && !name.startsWith('*.')) out.set(name, (set.rdatas[0] as { target: string }).target);
  }
  return out;
}
