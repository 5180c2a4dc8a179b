/**
 * Regions and services: cross-reference checks the schema cannot express (unique ids, addresses,
 * known regions, names inside a served zone, policy configs) and compilation into the routing
 * model. Every problem points at the path of the offending entry (the YAML line in a file, the
 * RFC 6901 pointer in a config document).
 * @module
 */
import { isIPv4, isIPv6 } from 'node:net';
import { INVALID_ADDRESS, unusableAddress } from '../wire/usable.js';
import { compileChain, ConfigPathError, ConfigProblems } from '../policy/chain.js';
import type { Region } from '../policy/types.js';
import { canonicalOrigin, checkName } from '../zone/parse.js';
import { isAtOrBelow } from '../zone/zone.js';
import { parseProbeCheck, parseProbeDefaults, type ProbeDefaults, type ProbeTarget } from '../probe/types.js';
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

/** A probed backend of a region, named `<region>/<id>` across the health plane. */
export interface EndpointDefinition extends ProbeTarget {
  region: string;
  id: string;
}

export interface RoutingProblem {
  path: (string | number)[];
  reason: string;
  /** A more specific code than MERIDIAN_ERR_INVALID_CONFIG (the API answers with it). */
  code?: typeof INVALID_ADDRESS;
}

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
  const unusable = (path: (string | number)[], what: string, address: string): void => {
    const why = unusableAddress(address);
    if (why) problems.push({ path, reason: `${INVALID_ADDRESS}: ${what} "${address}" is ${why}`, code: INVALID_ADDRESS });
  };
  const byId = new Map<string, Region>();
  const endpoints: EndpointDefinition[] = [];
  regions.forEach((r, i) => {
    const seenEndpoints = new Set<string>();
    r.endpoints.forEach((e, j) => {
      const id = e.id ?? `${e.address}:${e.port}`;
      if (!isIPv4(e.address) && !isIPv6(e.address)) {
        // Probes connect to addresses, not names: a DNS lookup inside a health check would make
        // the GSLB's view of health depend on some other resolver's health.
        problems.push({ path: ['regions', i, 'endpoints', j, 'address'], reason: `region ${r.id}: endpoint address "${e.address}" is not an IP address` });
      } else unusable(['regions', i, 'endpoints', j, 'address'], `region ${r.id}: endpoint address`, e.address);
      if (seenEndpoints.has(id)) problems.push({ path: ['regions', i, 'endpoints', j], reason: `region ${r.id}: endpoint "${id}" is defined twice` });
      seenEndpoints.add(id);
      try {
        const { check, timing } = parseProbeCheck(e.check, probe.timing);
        endpoints.push({ key: `${r.id}/${id}`, region: r.id, id, address: e.address, port: e.port, check, timing });
      } catch (err) {
        problems.push({ path: ['regions', i, 'endpoints', j, 'check'], reason: `region ${r.id}, endpoint ${id}: ${(err as Error).message}` });
      }
    });
    const at = (...rest: (string | number)[]): (string | number)[] => ['regions', i, ...rest];
    if (byId.has(r.id)) problems.push({ path: at('id'), reason: `region "${r.id}" is defined twice` });
    r.addresses.ipv4.forEach((a, j) => {
      if (!isIPv4(a)) problems.push({ path: at('addresses', 'ipv4', j), reason: `region ${r.id}: "${a}" is not an IPv4 address` });
      else unusable(at('addresses', 'ipv4', j), `region ${r.id}: answer address`, a);
    });
    r.addresses.ipv6.forEach((a, j) => {
      if (!isIPv6(a)) problems.push({ path: at('addresses', 'ipv6', j), reason: `region ${r.id}: "${a}" is not an IPv6 address` });
      else unusable(at('addresses', 'ipv6', j), `region ${r.id}: answer address`, a);
    });
    if (r.addresses.ipv4.length + r.addresses.ipv6.length === 0) problems.push({ path: at('addresses'), reason: `region ${r.id} has no addresses` });
    const all = [...r.addresses.ipv4, ...r.addresses.ipv6];
    r.downAddresses.forEach((a, j) => {
      if (!all.includes(a)) problems.push({ path: at('downAddresses', j), reason: `region ${r.id}: "${a}" is not one of its addresses` });
    });
    byId.set(r.id, {
      id: r.id,
      lat: r.location.lat,
      lon: r.location.lon,
      continent: r.location.continent,
      country: r.location.country,
      ipv4: r.addresses.ipv4,
      ipv6: r.addresses.ipv6,
      weight: r.weight,
    });
  });

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
