/**
 * The zone and the region shapes the CLI tests (test/integration/cli-*.test.ts) build their nodes
 * from: one zone, and regions with an address each.
 * @module
 */
export const Z = 'gslb.example.com';
export const ZONE = `$ORIGIN ${Z}.\n$TTL 300\n@ SOA ns1 host 1 7200 3600 1209600 300\n@ NS ns1\nns1 A 127.0.0.1\n`;
export const US = '192.0.2.10';
export const EU = '198.51.100.10';

/** A region's location block; only continent and country matter to these tests. */
export const location = (continent: string, country: string) => ({ lat: 1, lon: 1, continent, country });

/** Embedded probes that judge an endpoint within a few hundred milliseconds. */
export const FAST_PROBES = { probe: { intervalMs: 200, timeoutMs: 150, rise: 1, fall: 1 } };

/** A region answering `ip`, with one endpoint `web-1` on 127.0.0.1:`port` when a port is given. */
export function region(id: string, continent: string, country: string, ip: string, port?: number) {
  return { id, location: location(continent, country), addresses: { ipv4: [ip] }, ...(port !== undefined ? { endpoints: [{ id: 'web-1', address: '127.0.0.1', port }] } : {}) };
}
