/**
 * Regions and services: cross-reference checks the schema cannot express (unique ids, addresses,
 * known regions, names inside a served zone, policy configs) and compilation into the routing
 * model. Every problem points at the path of the offending entry (the YAML line in a file, the
 * RFC 6901 pointer in a config document).
 * @module
 */
import { compileChain, ConfigPathError, ConfigProblems } from '../policy/chain.js';
import type { Region } from '../policy/types.js';
import { canonicalOrigin, checkName } from '../zone/parse.js';
import { isAtOrBelow } from '../zone/zone.js';
import { parseProbeDefaults, type ProbeDefaults } from '../probe/types.js';
import { regionMemo, type EndpointDefinition, type RoutingProblem } from './compile-region.js';
import type { RegionSource, ServiceSource } from '../config/schema.js';
import type { ServiceDefinition } from './service.js';

// The compiled routing is part of every compiled document and loaded config, and a component's
// section compiles against it; src/config/ names no component type, so routing adds it here.
declare module '../config/document.js' {
  interface CompiledDocument {
    routing: CompiledRouting;
  }
}
declare module '../config/sections.js' {
  interface SectionContext {
    routing: CompiledRouting;
  }
}

export type { EndpointDefinition, RoutingProblem } from './compile-region.js';

export interface CompiledRouting {
  regions: Region[];
  services: ServiceDefinition[];
  /** Region states and forced-down addresses, for the static health source. */
  regionSources: RegionSource[];
  endpoints: EndpointDefinition[];
  probe: ProbeDefaults;
}

export function compileRouting(
  regions: RegionSource[],
  services: ServiceSource[],
  zoneOrigins: string[],
  probeJson: unknown = {},
): { routing: CompiledRouting; problems: RoutingProblem[]; warnings: RoutingProblem[] } {
  const problems: RoutingProblem[] = [];
  /** Accepted but suspect (`meridian check` prints them, `serve` logs them). */
  const warnings: RoutingProblem[] = [];
  let probe: ProbeDefaults;
  try {
    probe = parseProbeDefaults(probeJson);
  } catch (err) {
    problems.push({ path: ['health', 'probe'], reason: `health.${(err as Error).message}` });
    probe = parseProbeDefaults({});
  }
  const byId = new Map<string, Region>();
  const endpoints: EndpointDefinition[] = [];
  const memo = regionMemo(probeJson, problems.length === 0);
  regions.forEach((r, i) => {
    const { region, endpoints: own } = memo.compile(r, i, probe, byId, problems);
    endpoints.push(...own);
    byId.set(r.id, region);
  });
  memo.done();

  const compiled: ServiceDefinition[] = [];
  const names = new Set<string>();
  services.forEach((s, i) => {
    const at = (...rest: (string | number)[]): (string | number)[] => ['services', i, ...rest];
    let name: string;
    try {
      name = checkName(canonicalOrigin(s.name));
      if (!/^([a-z0-9_-]+\.)+$/.test(name)) throw new Error('only letters, digits, "-" and "_" are allowed in labels');
    } catch (err) {
      problems.push({ path: at('name'), reason: `service name "${s.name}": ${(err as Error).message}` });
      return;
    }
    if (names.has(name)) problems.push({ path: at('name'), reason: `service ${name} is defined twice` });
    names.add(name);
    if (!zoneOrigins.some((o) => isAtOrBelow(name, o))) {
      problems.push({ path: at('name'), reason: `service ${name} is not inside any configured zone (${zoneOrigins.join(', ')})` });
    }
    const ids = new Set<string>();
    const members: Region[] = [];
    s.regions.forEach((id, j) => {
      const r = byId.get(id);
      if (!r) problems.push({ path: at('regions', j), reason: `service ${name}: unknown region "${id}"` });
      else if (ids.has(id)) problems.push({ path: at('regions', j), reason: `service ${name}: region "${id}" listed twice` });
      else members.push(r);
      ids.add(id);
    });
    try {
      const chain = compileChain(
        s.policy,
        s.allDown,
        members.map((r) => r.id),
      );
      for (const w of chain.warnings) warnings.push({ path: at('policy', ...w.path), reason: `service ${name}: ${w.reason}` });
      // A draining region's addresses carry the drain TTL, so caches forget them before it stops.
      const drainTtls = new Map<string, number>();
      for (const r of members) {
        const drain = regions.find((src) => src.id === r.id)?.drain;
        if (drain?.phase === 'lowering' && drain.ttl < s.ttl) for (const a of [...r.ipv4, ...r.ipv6]) drainTtls.set(a, drain.ttl);
      }
      compiled.push({ name, ttl: s.ttl, regions: members, answers: s.answers, chain, ...(drainTtls.size ? { drainTtls } : {}) });
    } catch (err) {
      // Every problem of the policy, each at its own place.
      for (const e of err instanceof ConfigProblems ? err.problems : [err as Error]) {
        const below = e instanceof ConfigPathError ? e.path : [];
        problems.push({ path: at(e.message.startsWith('allDown') ? 'allDown' : 'policy', ...below), reason: `service ${name}: ${e.message}` });
      }
    }
  });
  return { routing: { regions: [...byId.values()], services: compiled, regionSources: regions, endpoints, probe }, problems, warnings };
}
