/**
 * The config a role runs: the YAML's process settings composed with the config store's document
 * (zones, regions, services), or the YAML alone when there is no store. A pure function of its two
 * inputs, so a new store version and a SIGHUP give the same result for the same inputs: the store's
 * document is compiled with the YAML's probe defaults in force, and the regions' `forwarder:` blocks
 * come from the document.
 * @module
 */
import type { ConfigDocument } from '../config/document.js';
import type { LoadedConfig } from '../config/load.js';
import { compileRegionForwarders, type ForwardConfig, type ForwardProblem } from '../forward/config.js';
import { compileDocument } from './config.js';

export type ComposeResult = { ok: true; config: LoadedConfig; warnings: string[] } | { ok: false; problems: string[] };

/**
 * `document` null: the YAML is the whole config. Forwarder blocks that do not fit this node's
 * listeners (a listener the YAML does not define) keep `fallbackForward`'s regions, with a warning,
 * rather than refusing the version: DNS answers must still follow the store.
 */
export function composeConfig(yaml: LoadedConfig, document: ConfigDocument | null, fallbackForward: ForwardConfig = yaml.forward): ComposeResult {
  if (!document) return { ok: true, config: yaml, warnings: [] };
  const compiled = compileDocument(document, yaml.health.probe);
  if (!compiled.ok) return { ok: false, problems: compiled.problems.map((p) => `${p.path}: ${p.reason}`) };
  const problems: ForwardProblem[] = [];
  const names = new Set(yaml.forward.listeners.map((l) => l.name));
  const regions = compileRegionForwarders(compiled.document.regions, names, problems);
  const forward = problems.length ? { ...yaml.forward, regions: fallbackForward.regions } : { ...yaml.forward, regions };
  return {
    ok: true,
    config: { ...yaml, zones: compiled.compiled.zones, routing: compiled.compiled.routing, document: compiled.document, forward },
    warnings: problems.map((p) => p.reason),
  };
}
