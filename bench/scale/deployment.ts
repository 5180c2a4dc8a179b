/**
 * A generated deployment of any size: regions, endpoints and services as a config fragment (plain
 * data, written as YAML or JSON), for scale tests and benchmarks (issue 17: 200 regions, 1,000
 * services, 10,000 endpoints).
 *
 * Shape, chosen so that every flip has a known blast radius:
 * - Region `r<i>` has two answer addresses on loopback, `127.<16 + i/256>.<i%256>.1` (its "front",
 *   a forwarder clients connect to) and `.2`, and `endpoints / regions` endpoints `e<j>`.
 *   Endpoint `e0` of each region is at the front address (an address endpoint: when it is down, `.1`
 *   leaves the answers and `.2` stays); the others are backends on 127.0.0.1.
 * - Service `s<k>.<zone>` uses `regionsPerService` consecutive regions starting at
 *   `k * regionsPerService mod regions`, so each region is used by about
 *   `services * regionsPerService / regions` services; policies cycle through failover, weighted,
 *   and weighted + multivalue (every address of the first region is in the answer either way).
 * - Every endpoint's check is `IDLE_CHECK` (TCP, the longest interval: an embedded vantage checks
 *   it at most once in a run, at a random moment of its first hour; until then it is cold, i.e. up)
 *   on `shape.port`, unless `checks` gives one for its key: a test points the endpoints it flips at
 *   listeners it controls, and the others at a port that accepts, so a check that happens to run
 *   changes nothing.
 * @module
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface DeploymentShape {
  regions: number;
  services: number;
  endpoints: number;
  /** Regions per service (default 3, capped at `regions`). */
  regionsPerService?: number;
  /** Zone the services live in (default `scale.example`). */
  zone?: string;
  /** Port of every endpoint not in `checks` (default IDLE_PORT, where nothing listens). */
  port?: number;
  /**
   * Policies by block: service `k` gets `policies[floor(k / regions) % length]`, so every region is
   * the first region of one service of each kind (with 1,000 services in 200 regions). Without it
   * policies cycle by `k % 3` through failover, weighted, and weighted + multivalue.
   */
  policies?: PolicyKind[];
}

/**
 * `geo` lists the service's first region for EU clients (and for unknown ones: `default`), its
 * second for NA and its third for AS and OC (continents of geodb/test-city.mmdb); `sticky` is
 * rendezvous hashing over the three regions.
 */
export type PolicyKind = 'failover' | 'weighted' | 'multivalue' | 'geo' | 'sticky';

/** Every kind, as the scale benchmarks use them. */
export const POLICIES: PolicyKind[] = ['failover', 'weighted', 'multivalue', 'geo', 'sticky'];

/** Where a checked endpoint is and how it is checked (`address` defaults to the layout's). */
export interface CheckSpec {
  port: number;
  check: Record<string, unknown>;
  address?: string;
}

export interface EndpointSpec {
  id: string;
  address: string;
  port: number;
  check?: Record<string, unknown>;
}

export interface Deployment {
  zone: string;
  zoneText: string;
  regions: { id: string; location: Record<string, unknown>; addresses: { ipv4: string[] }; endpoints: EndpointSpec[] }[];
  services: { name: string; ttl: number; regions: string[]; policy: Record<string, unknown> }[];
}

/** A port nothing listens on in tests (discard); with the longest interval it is never checked in a run. */
export const IDLE_CHECK = { type: 'tcp', intervalMs: 3_600_000, timeoutMs: 1_000 } as const;
export const IDLE_PORT = 9;

const PLACES = [
  ['EU', 'IE'],
  ['NA', 'US'],
  ['AS', 'SG'],
  ['SA', 'BR'],
  ['OC', 'AU'],
  ['AF', 'ZA'],
] as const;

export const regionId = (i: number): string => `r${i}`;
export const endpointKey = (region: number, endpoint: number): string => `${regionId(region)}/e${endpoint}`;
/** The region's two answer addresses: `.1` is its front (endpoint e0), `.2` has no check. */
export const regionAddresses = (i: number): [string, string] => {
  const base = `127.${16 + (i >> 8)}.${i & 255}`;
  return [`${base}.1`, `${base}.2`];
};

/** Indices of the regions service `k` uses, in its failover order. */
export function serviceRegions(shape: DeploymentShape, k: number): number[] {
  const per = Math.min(shape.regionsPerService ?? 3, shape.regions);
  return Array.from({ length: per }, (_, j) => (k * per + j) % shape.regions);
}

export const serviceName = (k: number, zone = 'scale.example'): string => `s${k}.${zone}`;

/** The policy kind of service `k` (see `DeploymentShape.policies`). */
export function policyKind(shape: DeploymentShape, k: number): PolicyKind {
  if (shape.policies) return shape.policies[Math.floor(k / shape.regions) % shape.policies.length]!;
  return (['failover', 'weighted', 'multivalue'] as const)[k % 3]!;
}

function policyOf(kind: PolicyKind, ids: string[]): Record<string, unknown> {
  const [a, b = a, c = b] = ids as [string, string?, string?];
  switch (kind) {
    case 'failover':
      return { failover: ids };
    case 'weighted':
      return { weighted: {} };
    case 'multivalue':
      return { weighted: {}, multivalue: { max: 2 } };
    case 'sticky':
      return { sticky: {} };
    case 'geo':
      return { geo: { continents: { EU: [a], NA: [b], AS: [c], OC: [c] }, default: [a] } };
  }
}

/** The deployment as config data; `checks` replaces the check (and target) of the endpoints it names by key. */
export function deployment(shape: DeploymentShape, checks: Map<string, CheckSpec> = new Map()): Deployment {
  const zone = shape.zone ?? 'scale.example';
  const perRegion = Math.floor(shape.endpoints / shape.regions);
  const extra = shape.endpoints - perRegion * shape.regions;
  const regions = Array.from({ length: shape.regions }, (_, i) => {
    const [front, second] = regionAddresses(i);
    const count = perRegion + (i < extra ? 1 : 0);
    const endpoints = Array.from({ length: count }, (_, j): EndpointSpec => {
      const own = checks.get(endpointKey(i, j));
      const address = own?.address ?? (j === 0 ? front : '127.0.0.1');
      // A copy each: a YAML writer would turn one shared object into thousands of aliases.
      return { id: `e${j}`, address, port: own?.port ?? shape.port ?? IDLE_PORT, check: { ...(own?.check ?? IDLE_CHECK) } };
    });
    const [continent, country] = PLACES[i % PLACES.length]!;
    return { id: regionId(i), location: { lat: ((i * 37) % 170) - 85, lon: ((i * 71) % 350) - 175, continent, country }, addresses: { ipv4: [front, second] }, endpoints };
  });
  const services = Array.from({ length: shape.services }, (_, k) => {
    const ids = serviceRegions(shape, k).map(regionId);
    return { name: serviceName(k, zone), ttl: 30, regions: ids, policy: policyOf(policyKind(shape, k), ids) };
  });
  const zoneText = `$ORIGIN ${zone}.\n$TTL 300\n@ SOA ns1 host 1 7200 3600 1209600 300\n@ NS ns1\nns1 A 127.0.0.1\n`;
  return { zone, zoneText, regions, services };
}

/**
 * Writes `meridian.yaml` (JSON, which is YAML) and the zone file into `dir` (a new temp dir by
 * default); `extra` is merged at the top level (dns, health, redis, admin, metrics...), and
 * `health.targets` allows loopback unless `extra.health` says otherwise.
 */
export function writeDeployment(d: Deployment, extra: Record<string, unknown> = {}, dir = mkdtempSync(join(tmpdir(), 'meridian-scale-'))): { dir: string; file: string } {
  writeFileSync(join(dir, 'zone'), d.zoneText);
  // Every endpoint is on loopback, which health.targets refuses unless allowed (src/probe/README.md).
  const health = { targets: { allow: ['127.0.0.0/8'] }, ...(extra['health'] as Record<string, unknown> | undefined) };
  const config = { zones: [{ origin: d.zone, file: 'zone' }], regions: d.regions, services: d.services, ...extra, health };
  const file = join(dir, 'meridian.yaml');
  writeFileSync(file, JSON.stringify(config));
  return { dir, file };
}
