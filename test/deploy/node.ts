/**
 * A DNS node doing everything one process can, for the deploy/ tests: regions whose endpoint is a
 * local backend (probed in-process), a failover service, each region's forwarder embedded, /metrics
 * and the admin API on its file store (bootstrap token in `<dir>/data/admin-token`).
 * @module
 */
import { freePort } from '../helpers/dnsproc.js';

export const ZONE = '$ORIGIN gslb.example.com.\n$TTL 300\n@ SOA ns1 hostmaster 1 7200 3600 1209600 300\n@ NS ns1\nns1 A 127.0.0.1\n';
export const SERVICE = 'www.gslb.example.com';

export interface AllRoles {
  /** The config's top-level keys besides `dns` and `zones` (startMeridian's `extra`). */
  extra: Record<string, unknown>;
  metricsPort: number;
  adminPort: number;
  /** Each region's forwarder listener `web`, in region order. */
  webPorts: number[];
}

/** Regions `ids` (addresses 192.0.2.10, .11, …), all backed by `backendPort`; ports picked one after another. */
export async function allRoles(ids: string[], backendPort: number): Promise<AllRoles> {
  const metricsPort = await freePort();
  const adminPort = await freePort();
  const webPorts: number[] = [];
  const regions: Record<string, unknown>[] = [];
  for (const [i, id] of ids.entries()) {
    const [web, relay] = [await freePort(), await freePort()];
    webPorts.push(web);
    regions.push({
      id,
      location: { lat: 10 * i, lon: 10 * i, continent: 'EU', country: 'IE' },
      addresses: { ipv4: [`192.0.2.${10 + i}`] },
      endpoints: [{ id: 'b0', address: '127.0.0.1', port: backendPort, check: { type: 'tcp' } }],
      forwarder: { relay: `127.0.0.1:${relay}`, listen: { web: `127.0.0.1:${web}` } },
    });
  }
  const extra = {
    regions,
    services: [{ name: SERVICE, ttl: 30, regions: ids, policy: { failover: ids }, allDown: { mode: 'failopen' } }],
    forward: { embedded: ids, listeners: [{ name: 'web', service: SERVICE, listen: `127.0.0.1:${webPorts[0]}`, backends: { port: backendPort } }] },
    metrics: { listen: `127.0.0.1:${metricsPort}` },
    admin: { listen: `127.0.0.1:${adminPort}`, dataDir: 'data' },
  };
  return { extra, metricsPort, adminPort, webPorts };
}
