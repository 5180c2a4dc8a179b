/**
 * The Meridian configuration every host of the e2e internet runs, shaped like deploy/meridian.yaml:
 * one YAML per host (its own listen addresses), the zone file beside it, Redis through its sentinels, an admin API on the DNS nodes with a hashed token, the test geo database.
 * The figures the drills are judged by follow from the timing keys here, so each is explained.
 * @module
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { DNS_NODES, MASTER_NAME, PORTS, REGIONS, SENTINELS, type RegionPlan } from './plan.js';
import { REPO_ROOT } from './paths.js';

export const ZONE = 'gslb.example.com';
/** Geo-routed: each continent's clients get their nearest region. */
export const WWW = `www.${ZONE}`;
/** Weighted across all three regions (drill 1's shares). */
export const SHARES = `shares.${ZONE}`;
/** A failover service whose TTL drill 8 changes through the API. */
export const CFG = `cfg.${ZONE}`;

/** TTL of www: short, so a drain's first phase (the old TTL) is short too. */
export const WWW_TTL = 5;
/** cfg's TTL in the YAML (drill 9 tells a local copy from the YAML seed by it). */
export const CFG_TTL = 60;
/** `admin.drainTtl`: the TTL answers carry while a region drains. */
export const DRAIN_TTL = 1;

/**
 * Health timing. Probes check every second (the interval drill 2 names). Its goal, out of DNS
 * within 3 s, needs `fall: 2`: the first failing check comes up to one interval (+10 % jitter) after
 * the failure and the endpoint is down `fall - 1` intervals later, so fall 2 detects within 2.2 s
 * (2.7 s when a cut link makes checks time out at 500 ms), leaving the rest for quorum and
 * propagation, while one lost check still moves nothing. The default fall 3 would need 3.2 s at
 * worst before any propagation: the goal cannot hold with it. `heartbeatTtlMs` is three intervals,
 * as src/health/README.md recommends, and DNS nodes re-read every second, so an expired vantage
 * stops voting within heartbeatTtlMs + 1 s skew allowance + resyncIntervalMs = 5 s.
 */
export const HEALTH = { quorum: 0.5, regionUpFraction: 0.5, heartbeatTtlMs: 3000, resyncIntervalMs: 1000, probe: { intervalMs: 1000, timeoutMs: 500, fall: 2, rise: 2 } };
export const HEARTBEAT_EXPIRY_BOUND_MS = HEALTH.heartbeatTtlMs + 1000 + HEALTH.resyncIntervalMs;

/** The admin token every drill uses; the YAML holds only its hash. */
export const ADMIN_SECRET = `mrd_${randomBytes(32).toString('base64url')}`;

const ZONE_TEXT = [`$ORIGIN ${ZONE}.`, '$TTL 300', '@ SOA ns1 hostmaster 1 7200 3600 1209600 300', '@ NS ns1', '@ NS ns2', ...DNS_NODES.map((d, i) => `ns${i + 1} A ${d.address}`), ''].join('\n');

function regionDoc(r: RegionPlan): Record<string, unknown> {
  const http = { type: 'http', path: '/healthz', expect: [200] };
  return {
    id: r.id,
    location: { lat: r.lat, lon: r.lon, continent: r.continent, country: r.country },
    addresses: { ipv4: [r.forwarder] },
    weight: r.weight,
    endpoints: [
      ...r.backends.map((address, i) => ({ id: `b${i + 1}`, address, port: PORTS.backend, check: http })),
      // The forwarder itself, so the probes see its host go down (drill 3). A check through it
      // reaches a backend, or another region's over the relay.
      { id: 'forwarder', address: r.forwarder, port: PORTS.web, check: http },
    ],
    forwarder: { relay: `${r.forwarder}:${PORTS.relay}`, listen: { web: `${r.forwarder}:${PORTS.web}` } },
  };
}

function services(): Record<string, unknown>[] {
  const continents = { NA: ['us-east', 'eu-west'], EU: ['eu-west', 'us-east'], AS: ['ap-southeast', 'eu-west'] };
  const all = REGIONS.map((r) => r.id);
  return [
    { name: WWW, ttl: WWW_TTL, regions: all, policy: { geo: { continents, default: [all] }, sticky: {} }, allDown: { mode: 'failopen' } },
    // Short TTLs on every service eu-west serves: a drain waits for the largest of them (drill 7).
    { name: SHARES, ttl: WWW_TTL, regions: all, policy: { weighted: {} } },
    // Not in eu-west, so the TTLs drills 8 and 9 set do not lengthen eu-west's drain.
    { name: CFG, ttl: CFG_TTL, regions: ['us-east', 'ap-southeast'], policy: { failover: ['us-east', 'ap-southeast'] } },
  ];
}

/** The config of one host; `address` is where its own listeners bind. */
export function configFor(address: string, dataDir: string): Record<string, unknown> {
  return {
    dns: { listen: [`${address}:${PORTS.dns}`] },
    zones: [{ origin: ZONE, file: `${ZONE}.zone` }],
    geo: { database: join(REPO_ROOT, 'geodb', 'test-city.mmdb') },
    metrics: { listen: `${address}:${PORTS.metrics}` },
    regions: REGIONS.map(regionDoc),
    services: services(),
    forward: {
      // Short enough that a drill's drain ends within it; deploy/ keeps the 30 s default.
      drainDeadlineMs: 5000,
      listeners: [{ name: 'web', service: WWW, listen: `0.0.0.0:${PORTS.web}`, backends: { port: PORTS.backend } }],
    },
    redis: { sentinels: SENTINELS, name: MASTER_NAME },
    health: HEALTH,
    admin: {
      listen: `${address}:${PORTS.admin}`,
      dataDir,
      tokens: [{ name: 'ops', role: 'admin', sha256: createHash('sha256').update(ADMIN_SECRET).digest('hex') }],
      drainTtl: DRAIN_TTL,
    },
  };
}

/** Writes `<dir>/meridian.yaml` and the zone file; returns the config's path. */
export function writeHostConfig(dir: string, address: string): string {
  mkdirSync(join(dir, 'data'), { recursive: true });
  writeFileSync(join(dir, `${ZONE}.zone`), ZONE_TEXT);
  const file = join(dir, 'meridian.yaml');
  writeFileSync(file, stringify(configFor(address, join(dir, 'data'))));
  return file;
}
