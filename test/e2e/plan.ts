/**
 * Who lives where in the e2e internet: three regions (two backends, a forwarder and a probe host
 * each), two DNS nodes, the Redis hosts, an operator host (where the drills run) and one client
 * host per continent. Infrastructure lives in 10.0.0.0/8, unknown to the test geo database; client
 * addresses are ones geodb/README.md places on a continent.
 * @module
 */
import type { HostSpec } from './topology.js';

export interface RegionPlan {
  id: string;
  /** Host-name prefix (host names must stay short: they become interface names). */
  short: string;
  continent: string;
  country: string;
  lat: number;
  lon: number;
  weight: number;
  /** The region's forwarder: the address DNS hands out for the region. */
  forwarder: string;
  backends: [string, string];
  probe: string;
  /** The region's hosts as one prefix (partitions cut a vantage off from whole regions). */
  network: string;
}

export const REGIONS: RegionPlan[] = [
  region('us-east', 'use', 1, { continent: 'NA', country: 'US', lat: 39.04, lon: -77.49, weight: 100 }),
  region('eu-west', 'euw', 2, { continent: 'EU', country: 'IE', lat: 53.35, lon: -6.26, weight: 100 }),
  region('ap-southeast', 'aps', 3, { continent: 'AS', country: 'SG', lat: 1.35, lon: 103.82, weight: 50 }),
];

function region(id: string, short: string, n: number, where: Omit<RegionPlan, 'id' | 'short' | 'forwarder' | 'backends' | 'probe' | 'network'>): RegionPlan {
  return { id, short, ...where, forwarder: `10.${n}.0.10`, backends: [`10.${n}.0.11`, `10.${n}.0.12`], probe: `10.${n}.0.20`, network: `10.${n}.0.0/24` };
}

export interface ClientPlan {
  host: string;
  address: string;
  continent: string;
  /** The region a client on this continent should get while everything is up. */
  nearest: string;
}

/** geodb/README.md: 3.0.0.0/8 Ashburn (NA), 81.2.69.0/24 London (EU), 103.5.140.0/24 Singapore (AS). */
export const CLIENTS: ClientPlan[] = [
  { host: 'cl-na', address: '3.0.0.10', continent: 'NA', nearest: 'us-east' },
  { host: 'cl-eu', address: '81.2.69.10', continent: 'EU', nearest: 'eu-west' },
  { host: 'cl-as', address: '103.5.140.10', continent: 'AS', nearest: 'ap-southeast' },
];

export const DNS_NODES = [
  { host: 'dns-a', address: '10.0.0.53' },
  { host: 'dns-b', address: '10.0.0.54' },
] as const;

export const REDIS_HOSTS = [
  { host: 'redis-1', address: '10.0.1.1' },
  { host: 'redis-2', address: '10.0.1.2' },
  { host: 'redis-3', address: '10.0.1.3' },
] as const;
export const REDIS_NETWORK = '10.0.1.0/24';
/** The master group the sentinels monitor (redis-ha.ts), as config.ts names it. */
export const MASTER_NAME = 'meridian';

export const OPS = { host: 'ops', address: '10.0.9.1' } as const;

export const PORTS = { dns: 53, admin: 8053, metrics: 9153, web: 80, relay: 7000, backend: 8080, fwdMetrics: 9155, probeMetrics: 9154, redis: 6379, sentinel: 26379 } as const;

export const SENTINELS = REDIS_HOSTS.map((h) => `${h.address}:${PORTS.sentinel}`);

export const backendHost = (r: RegionPlan, i: number): string => `${r.short}-b${i + 1}`;
export const forwarderHost = (r: RegionPlan): string => `${r.short}-fwd`;
export const probeHost = (r: RegionPlan): string => `${r.short}-prb`;

export function regionOf(id: string): RegionPlan {
  const r = REGIONS.find((x) => x.id === id);
  if (!r) throw new Error(`no region ${id}`);
  return r;
}

/** Every host of the plan with its address. */
export function allHosts(): HostSpec[] {
  const hosts: HostSpec[] = [{ name: OPS.host, address: OPS.address }];
  for (const r of REGIONS) {
    r.backends.forEach((address, i) => hosts.push({ name: backendHost(r, i), address }));
    hosts.push({ name: forwarderHost(r), address: r.forwarder }, { name: probeHost(r), address: r.probe });
  }
  for (const d of DNS_NODES) hosts.push({ name: d.host, address: d.address });
  for (const h of REDIS_HOSTS) hosts.push({ name: h.host, address: h.address });
  for (const c of CLIENTS) hosts.push({ name: c.host, address: c.address });
  return hosts;
}
