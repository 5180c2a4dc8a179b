/**
 * Every route of the admin API with the least role it needs and a request that succeeds for that
 * role: the auth matrix (auth.test.ts) runs each one as every kind of caller, and the README test
 * checks that the README's route table says the same. A route added to the API but not here fails
 * the matrix's completeness check.
 */
import { Z } from './helpers.js';

export type Role = 'viewer' | 'operator' | 'admin';

/** What a row may do before each attempt: set things up through the admin token. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Admin = (method: string, url: string, body?: unknown) => Promise<{ status: number; json?: any }>;

export interface RouteRow {
  method: 'GET' | 'PUT' | 'POST' | 'DELETE';
  /** The OpenAPI path template. */
  route: string;
  /** null = public (no token needed). */
  role: Role | null;
  url: string;
  body?: () => unknown;
  /** Runs before every attempt (e.g. create what a DELETE removes). */
  prepare?: (admin: Admin) => Promise<unknown>;
  /** Success statuses. */
  ok: number[];
}

let liveDocument: unknown;

export const OTHER_ZONE = {
  records: [
    { name: '@', type: 'SOA', data: 'ns1.other.example. host.other.example. 1 7200 3600 1209600 300' },
    { name: '@', type: 'NS', data: 'ns1.other.example.' },
    { name: 'ns1', type: 'A', data: '127.0.0.1' },
  ],
};
const REGION = { location: { lat: -23.5, lon: -46.6, continent: 'SA', country: 'BR' }, addresses: { ipv4: ['192.0.2.30'] } };
const put = (url: string, body: unknown) => async (admin: Admin) => admin('PUT', url, body);
let seq = 0;

export const ROUTES: RouteRow[] = [
  { method: 'GET', route: '/openapi.json', role: null, url: '/openapi.json', ok: [200] },
  { method: 'GET', route: '/docs', role: null, url: '/docs', ok: [200] },
  { method: 'GET', route: '/v1/config', role: 'viewer', url: '/v1/config', ok: [200] },
  { method: 'GET', route: '/v1/status', role: 'viewer', url: '/v1/status', ok: [200] },
  { method: 'GET', route: '/v1/zones', role: 'viewer', url: '/v1/zones', ok: [200] },
  { method: 'GET', route: '/v1/zones/{origin}', role: 'viewer', url: `/v1/zones/${Z}`, ok: [200] },
  { method: 'PUT', route: '/v1/zones/{origin}', role: 'admin', url: '/v1/zones/other.example', body: () => OTHER_ZONE, ok: [200, 201] },
  { method: 'DELETE', route: '/v1/zones/{origin}', role: 'admin', url: '/v1/zones/other.example', prepare: put('/v1/zones/other.example', OTHER_ZONE), ok: [200] },
  { method: 'GET', route: '/v1/services', role: 'viewer', url: '/v1/services', ok: [200] },
  { method: 'GET', route: '/v1/services/{name}', role: 'viewer', url: `/v1/services/www.${Z}`, ok: [200] },
  { method: 'PUT', route: '/v1/services/{name}', role: 'admin', url: `/v1/services/m.${Z}`, body: () => ({ regions: ['us-east'] }), ok: [200, 201] },
  { method: 'DELETE', route: '/v1/services/{name}', role: 'admin', url: `/v1/services/m.${Z}`, prepare: put(`/v1/services/m.${Z}`, { regions: ['us-east'] }), ok: [200] },
  { method: 'GET', route: '/v1/regions', role: 'viewer', url: '/v1/regions', ok: [200] },
  { method: 'GET', route: '/v1/regions/{id}', role: 'viewer', url: '/v1/regions/eu-west', ok: [200] },
  { method: 'PUT', route: '/v1/regions/{id}', role: 'admin', url: '/v1/regions/m-region', body: () => REGION, ok: [200, 201] },
  { method: 'DELETE', route: '/v1/regions/{id}', role: 'admin', url: '/v1/regions/m-region', prepare: put('/v1/regions/m-region', REGION), ok: [200] },
  { method: 'PUT', route: '/v1/regions/{id}/weight', role: 'operator', url: '/v1/regions/ap-southeast/weight', body: () => ({ weight: 50 }), ok: [200] },
  { method: 'POST', route: '/v1/regions/{id}/drain', role: 'operator', url: '/v1/regions/ap-southeast/drain', body: () => ({ ttl: 1 }), ok: [202] },
  { method: 'GET', route: '/v1/regions/{id}/drain', role: 'viewer', url: '/v1/regions/eu-west/drain', ok: [200] },
  { method: 'DELETE', route: '/v1/regions/{id}/drain', role: 'operator', url: '/v1/regions/ap-southeast/drain', ok: [200] },
  { method: 'GET', route: '/v1/health', role: 'viewer', url: '/v1/health', ok: [200] },
  { method: 'GET', route: '/v1/regions/{id}/endpoints', role: 'viewer', url: '/v1/regions/eu-west/endpoints', ok: [200] },
  { method: 'POST', route: '/v1/regions/{id}/endpoints', role: 'operator', url: '/v1/regions/ap-southeast/endpoints', body: () => ({ id: 'm-1', address: '10.8.0.1', port: 80 }), ok: [200, 201] },
  {
    method: 'DELETE',
    route: '/v1/regions/{id}/endpoints',
    role: 'operator',
    url: '/v1/regions/ap-southeast/endpoints?id=m-1',
    // A missing endpoint is a 404: register it before each attempt.
    prepare: async (admin) => admin('POST', '/v1/regions/ap-southeast/endpoints', { id: 'm-1', address: '10.8.0.1', port: 80 }),
    ok: [200],
  },
  { method: 'GET', route: '/v1/overrides', role: 'viewer', url: '/v1/overrides', ok: [200] },
  { method: 'PUT', route: '/v1/overrides/region/{region}', role: 'operator', url: '/v1/overrides/region/ap-southeast', body: () => ({ state: 'down', reason: 'matrix' }), ok: [200] },
  {
    method: 'DELETE',
    route: '/v1/overrides/region/{region}',
    role: 'operator',
    url: '/v1/overrides/region/ap-southeast',
    prepare: put('/v1/overrides/region/ap-southeast', { state: 'down', reason: 'matrix' }),
    ok: [200],
  },
  {
    method: 'PUT',
    route: '/v1/overrides/endpoint/{region}/{endpoint}',
    role: 'operator',
    url: '/v1/overrides/endpoint/ap-southeast/probe-1',
    body: () => ({ state: 'up', reason: 'matrix' }),
    ok: [200],
  },
  {
    method: 'DELETE',
    route: '/v1/overrides/endpoint/{region}/{endpoint}',
    role: 'operator',
    url: '/v1/overrides/endpoint/ap-southeast/probe-1',
    prepare: put('/v1/overrides/endpoint/ap-southeast/probe-1', { state: 'up', reason: 'matrix' }),
    ok: [200],
  },
  { method: 'GET', route: '/v1/tokens', role: 'admin', url: '/v1/tokens', ok: [200] },
  { method: 'POST', route: '/v1/tokens', role: 'admin', url: '/v1/tokens', body: () => ({ name: `matrix-${++seq}`, role: 'viewer' }), ok: [201] },
  { method: 'DELETE', route: '/v1/tokens/{name}', role: 'admin', url: '/v1/tokens/doomed', prepare: async (admin) => admin('POST', '/v1/tokens', { name: 'doomed', role: 'viewer' }), ok: [200] },
  // The current document put back whole: `meridian apply` of what `meridian export` wrote.
  {
    method: 'PUT',
    route: '/v1/config',
    role: 'admin',
    url: '/v1/config',
    prepare: async (admin) => (liveDocument = (await admin('GET', '/v1/config')).json.document),
    body: () => liveDocument,
    ok: [200],
  },
  { method: 'GET', route: '/v1/versions', role: 'viewer', url: '/v1/versions', ok: [200] },
  { method: 'GET', route: '/v1/versions/{n}', role: 'viewer', url: '/v1/versions/1', ok: [200] },
  { method: 'POST', route: '/v1/rollback/{n}', role: 'admin', url: '/v1/rollback/1', ok: [200] },
  { method: 'GET', route: '/v1/audit', role: 'viewer', url: '/v1/audit?format=jsonl', ok: [200] },
  { method: 'GET', route: '/v1/explain', role: 'viewer', url: `/v1/explain?name=www.${Z}&ip=192.0.2.1`, ok: [200] },
];
