/**
 * Clients of the scale benchmarks: ECS subnets in the networks of geodb/test-city.mmdb (so a geo
 * service's answer is known from the client's continent), and what a valid answer to a (service,
 * client) query is. The answer's addresses say which region gave them: region `i` answers
 * `127.<16 + i/256>.<i%256>.1|2` (deployment.ts), so a checker needs no table of addresses.
 * @module
 */
import { policyKind, serviceRegions, type DeploymentShape, type PolicyKind } from './deployment.js';

export type Continent = 'EU' | 'NA' | 'AS' | 'OC' | 'SA' | 'AF';

/** /24s of the fixture's networks, by continent: [first octets, how many third octets]. */
const NETWORKS: { continent: Continent; prefix: (n: number) => string }[] = [
  { continent: 'EU', prefix: (n) => `2.${n % 256}.${(n >> 8) % 256}` }, // 2.0.0.0/8 (FR, DE, NL, GB inside)
  { continent: 'EU', prefix: () => '81.2.69' },
  { continent: 'NA', prefix: (n) => `3.${n % 256}.${(n >> 8) % 256}` }, // 3.0.0.0/8 (US)
  { continent: 'NA', prefix: (n) => `24.48.${n % 16}` },
  { continent: 'AS', prefix: (n) => `43.224.${n % 16}` },
  { continent: 'AS', prefix: () => '103.5.140' },
  { continent: 'OC', prefix: (n) => `13.54.${n % 256}` },
  { continent: 'SA', prefix: (n) => `177.71.${128 + (n % 16)}` },
  { continent: 'AF', prefix: (n) => `41.0.${n % 256}` },
];

export interface Client {
  /** ECS option text, `a.b.c.0/24`. */
  ecs: string;
  continent: Continent;
}

/** `count` distinct client /24s spread over the fixture's continents (deterministic). */
export function clients(count: number): Client[] {
  const seen = new Set<string>();
  const out: Client[] = [];
  for (let n = 0; out.length < count && n < count * 64; n++) {
    const net = NETWORKS[n % NETWORKS.length]!;
    const ecs = `${net.prefix(Math.floor(n / NETWORKS.length) * 7919)}.0/24`;
    if (seen.has(ecs)) continue;
    seen.add(ecs);
    out.push({ ecs, continent: net.continent });
  }
  return out;
}

/** The EU client used to poll a region's geo service (it selects the service's first region). */
export const EU_CLIENT: Client = { ecs: '2.16.1.0/24', continent: 'EU' };

/**
 * What a valid answer to service `k` for this client is:
 * - `regions`: the regions its addresses may come from (one for failover and geo: the first region
 *   and the continent's region; neither can go down in these deployments, where the `.2` address of
 *   every region has no check and at most a few of its many endpoints are down);
 * - `single`: every address from one region (all but multivalue);
 * - `stable`: that region is the same for every answer to this (service, client) (weighted and
 *   sticky hash the client subnet; weights never change during a run);
 * - `max`: at most that many addresses.
 */
export interface Expectation {
  kind: PolicyKind;
  regions: number[];
  single: boolean;
  stable: boolean;
  max: number;
}

export function expectation(shape: DeploymentShape, k: number, client: Client): Expectation {
  const kind = policyKind(shape, k);
  const regions = serviceRegions(shape, k);
  const geoIndex = { EU: 0, NA: 1, AS: 2, OC: 2, SA: 0, AF: 0 }[client.continent];
  switch (kind) {
    case 'failover':
      return { kind, regions: [regions[0]!], single: true, stable: true, max: 2 };
    case 'geo':
      return { kind, regions: [regions[Math.min(geoIndex, regions.length - 1)]!], single: true, stable: true, max: 2 };
    case 'multivalue':
      return { kind, regions, single: false, stable: false, max: 2 };
    default:
      return { kind, regions, single: true, stable: true, max: 2 };
  }
}

/** The region an answer address belongs to (deployment.ts layout), or -1. */
export function regionOf(a: number, b: number, c: number, d: number): number {
  if (a !== 127 || b < 16 || (d !== 1 && d !== 2)) return -1;
  return ((b - 16) << 8) | c;
}
