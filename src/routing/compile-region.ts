/**
 * One region's own checks (its endpoints, answer addresses, down addresses) and its compiled form,
 * for compile.ts. A region's result is a pure function of its JSON text and the probe defaults, so
 * a region without problems is remembered from one compile to the next (issue 17): an endpoint
 * registration in one region of a 10,000-endpoint config parsed every endpoint's probe check and
 * address again (about 0.1 s on the DNS event loop). Only what the last compile used is kept, so
 * the memory is bounded by one config. The checks across regions (a region id defined twice) run
 * every time, in their place among the region's problems.
 * @module
 */
import { isIPv4, isIPv6 } from 'node:net';
import type { RegionSource } from '../config/schema.js';
import type { Region } from '../policy/types.js';
import { parseProbeCheck, type ProbeDefaults, type ProbeTarget } from '../probe/types.js';
import { INVALID_ADDRESS, unusableAddress } from '../wire/usable.js';

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

interface Compiled {
  region: Region;
  endpoints: EndpointDefinition[];
}

/** Regions compiled (their checks run) and regions answered by an earlier compile, since start. */
export const regionWork = { compiled: 0, reused: 0 };

/** Region text (under the probe defaults) → its compiled form, for the regions of the last compile. */
let kept = new Map<string, Compiled>();
let keptProbe = '';

/** The memo for one compile: `compile` each region in order, then `done`. `usable` false: compile everything, remember nothing. */
export function regionMemo(probeJson: unknown, usable: boolean) {
  const probeText = JSON.stringify(probeJson ?? {});
  const from = usable && probeText === keptProbe ? kept : new Map<string, Compiled>();
  const next = new Map<string, Compiled>();
  return {
    compile(r: RegionSource, i: number, probe: ProbeDefaults, byId: Map<string, Region>, problems: RoutingProblem[]): Compiled {
      const text = usable ? JSON.stringify(r) : '';
      const hit = usable ? (next.get(text) ?? from.get(text)) : undefined;
      if (hit) {
        regionWork.reused++;
        next.set(text, hit);
        if (byId.has(r.id)) problems.push({ path: ['regions', i, 'id'], reason: `region "${r.id}" is defined twice` });
        return hit;
      }
      regionWork.compiled++;
      const before = problems.length;
      const { compiled, duplicate } = compileRegion(r, i, probe, byId, problems);
      if (usable && problems.length - before === (duplicate ? 1 : 0)) next.set(text, compiled);
      return compiled;
    },
    done(): void {
      if (!usable) return;
      kept = next;
      keptProbe = probeText;
    },
  };
}

function compileRegion(r: RegionSource, i: number, probe: ProbeDefaults, byId: Map<string, Region>, problems: RoutingProblem[]): { compiled: Compiled; duplicate: boolean } {
  const unusable = (path: (string | number)[], what: string, address: string): void => {
    const why = unusableAddress(address);
    if (why) problems.push({ path, reason: `${INVALID_ADDRESS}: ${what} "${address}" is ${why}`, code: INVALID_ADDRESS });
  };
  const endpoints = compileEndpoints(r, i, probe, problems, unusable);
  const at = (...rest: (string | number)[]): (string | number)[] => ['regions', i, ...rest];
  const duplicate = byId.has(r.id);
  if (duplicate) problems.push({ path: at('id'), reason: `region "${r.id}" is defined twice` });
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
  const region: Region = {
    id: r.id,
    lat: r.location.lat,
    lon: r.location.lon,
    continent: r.location.continent,
    country: r.location.country,
    ipv4: r.addresses.ipv4,
    ipv6: r.addresses.ipv6,
    weight: r.weight,
  };
  return { compiled: { region, endpoints }, duplicate };
}

function compileEndpoints(
  r: RegionSource,
  i: number,
  probe: ProbeDefaults,
  problems: RoutingProblem[],
  unusable: (path: (string | number)[], what: string, address: string) => void,
): EndpointDefinition[] {
  const endpoints: EndpointDefinition[] = [];
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
  return endpoints;
}
