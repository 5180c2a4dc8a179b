/**
 * The admin API's write check of the regions' `forwarder:` blocks: the forwarder's own rules
 * (checkRegionForwarder, src/forward/config.ts), so the API never accepts a block the forwarders
 * would refuse. Not part of compileDocument, because a role applying a store version judges each
 * region's block on its own (compose.ts) instead of refusing the whole version.
 * @module
 */
import { pointer, type CompileResult, type ConfigDocument } from '../config/document.js';
import { checkRegionForwarder, INVALID_FORWARDER, type KnownListeners } from '../forward/config.js';

/** A problem by region id, field and reason: the same problem whatever the region's index. */
const keyOf = (region: string, path: (string | number)[], reason: string): string => JSON.stringify([region, path.slice(2), reason]);

function problemsOf(document: ConfigDocument, listeners: KnownListeners): { key: string; path: (string | number)[]; reason: string }[] {
  return document.regions.flatMap((r, i) => checkRegionForwarder(r, i, listeners).problems.map((p) => ({ key: keyOf(r.id, p.path, p.reason), path: p.path, reason: p.reason })));
}

/**
 * A compiled document refused (INVALID_FORWARDER, naming the field) when a region's block breaks
 * the forwarder's rules. A problem `base` (the version the change is made on) already has is left
 * alone: an older node may have written it, the forwarders already keep that region's last good
 * block, and refusing every other change until it is fixed would stop all writes for one region.
 */
export function refuseBadForwarders(result: CompileResult, listeners: KnownListeners, base?: ConfigDocument): CompileResult {
  if (!result.ok) return result;
  const known = new Set(base ? problemsOf(base, listeners).map((p) => p.key) : []);
  const problems = problemsOf(result.document, listeners)
    .filter((p) => !known.has(p.key))
    .map((p) => ({ path: pointer(p.path), reason: p.reason, code: INVALID_FORWARDER }));
  return problems.length ? { ok: false, problems } : result;
}
