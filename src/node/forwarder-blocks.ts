/**
 * The admin API's write check of the regions' `forwarder:` blocks: the forwarder's own rules
 * (checkRegionForwarders, src/forward/config.ts), against the whole config being written, so the API
 * never accepts a block the forwarders would refuse or could not bind. Not part of compileDocument,
 * because a role applying a store version judges each region's block on its own (compose.ts)
 * instead of refusing the whole version.
 * @module
 */
import { pointer, type CompileResult, type ConfigDocument } from '../config/document.js';
import { nodeSockets } from '../config/listen.js';
import type { LoadedConfig } from '../config/load.js';
import { checkRegionForwarders, INVALID_FORWARDER, knownListeners, type ForwarderScope } from '../forward/config.js';

/** What this node judges blocks against: its YAML's listeners, embedded regions and own sockets. */
export const forwarderScope = (yaml: LoadedConfig): ForwarderScope => ({
  listeners: knownListeners(yaml.forward.listeners),
  embedded: yaml.forward.embedded,
  node: nodeSockets(yaml.listen, yaml.metricsListen, yaml.admin?.listen),
});

/** A problem by region id, field and reason: the same problem whatever the region's index. */
const keyOf = (region: string, path: (string | number)[], reason: string): string => JSON.stringify([region, path.slice(2), reason]);

function problemsOf(document: ConfigDocument, scope: ForwarderScope): { region: string; key: string; path: (string | number)[]; reason: string }[] {
  return checkRegionForwarders(document.regions, scope).flatMap((c) => c.problems.map((p) => ({ region: c.region.id, key: keyOf(c.region.id, p.path, p.reason), path: p.path, reason: p.reason })));
}

/**
 * A compiled document refused (INVALID_FORWARDER, naming the field) when a region's block breaks
 * the forwarder's rules. A problem `base` (the version the change is made on) already has is left
 * alone: an older node may have written it, the forwarders already keep that region's last good
 * block, and refusing every other change until it is fixed would stop all writes for one region.
 * A clash between two regions is reported at both: the changed region's problem comes first, so
 * the answer names the field the change set.
 */
export function refuseBadForwarders(result: CompileResult, scope: ForwarderScope, base?: ConfigDocument): CompileResult {
  if (!result.ok) return result;
  const known = new Set(base ? problemsOf(base, scope).map((p) => p.key) : []);
  const before = new Map((base?.regions ?? []).map((r) => [r.id, JSON.stringify(r.forwarder ?? null)]));
  const changed = (region: string): boolean => before.get(region) !== JSON.stringify(result.document.regions.find((r) => r.id === region)?.forwarder ?? null);
  const problems = problemsOf(result.document, scope)
    .filter((p) => !known.has(p.key))
    .sort((a, b) => Number(changed(b.region)) - Number(changed(a.region)))
    .map((p) => ({ path: pointer(p.path), reason: p.reason, code: INVALID_FORWARDER }));
  return problems.length ? { ok: false, problems } : result;
}
