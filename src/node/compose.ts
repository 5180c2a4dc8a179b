/**
 * The config a role runs: the YAML's process settings composed with the config store's document
 * (zones, regions, services), or the YAML alone when there is no store. A pure function of its
 * inputs, so a new store version and a SIGHUP give the same result for the same inputs: the store's
 * document is compiled with the YAML's probe defaults in force, and the regions' `forwarder:` blocks
 * come from the document, each judged by the forwarder's rules (checkRegionForwarders) on its own.
 * @module
 */
import type { ConfigDocument } from '../config/document.js';
import type { LoadedConfig } from '../config/load.js';
import { checkRegionForwarders, defaultRegionForwarder, type ForwardConfig, type RegionForwarder } from '../forward/config.js';
import { forwarderScope } from './forwarder-blocks.js';
import { compileShared } from './compile-shared.js';

/** A region's `forwarder:` block that this node refused: the region kept its previous block. */
export interface RejectedBlock {
  region: string;
  /** The refused block as stored (JSON), to tell a new bad block from one already reported. */
  block: string;
  problems: string[];
}

export type ComposeResult = { ok: true; config: LoadedConfig; rejected: RejectedBlock[] } | { ok: false; problems: string[] };

/**
 * `document` null: the YAML is the whole config. A region whose `forwarder:` block breaks the
 * forwarder's rules (written by an older node, or under other rules) keeps its block from
 * `fallbackForward` (defaults when it had none) and is listed in `rejected`; the version is not
 * refused, and every other region's block applies: DNS answers and the other forwarders must still
 * follow the store.
 */
export function composeConfig(yaml: LoadedConfig, document: ConfigDocument | null, fallbackForward: ForwardConfig = yaml.forward): ComposeResult {
  if (!document) return { ok: true, config: yaml, rejected: [] };
  const compiled = compileShared(document, yaml.health.probe);
  if (!compiled.ok) return { ok: false, problems: compiled.problems.map((p) => `${p.path}: ${p.reason}`) };
  const regions = new Map<string, RegionForwarder>();
  const rejected: RejectedBlock[] = [];
  for (const { region: r, block, problems } of checkRegionForwarders(compiled.document.regions, forwarderScope(yaml))) {
    if (problems.length === 0) {
      regions.set(r.id, block);
      continue;
    }
    regions.set(r.id, fallbackForward.regions.get(r.id) ?? defaultRegionForwarder());
    rejected.push({ region: r.id, block: JSON.stringify(r.forwarder), problems: problems.map((p) => p.reason) });
  }
  return {
    ok: true,
    config: { ...yaml, zones: compiled.compiled.zones, routing: compiled.compiled.routing, document: compiled.document, forward: { ...yaml.forward, regions } },
    rejected,
  };
}
