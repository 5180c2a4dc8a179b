/**
 * Regression (issue 17, defect 3): every endpoint registration stored a full copy of the config, so
 * with 10,000 endpoints one version was 1.5 MB and the default retention of 1,000 versions about
 * 1.5 GB. Through the real API of a real `meridian serve` (file store; and a cluster node on a real
 * redis-server), endpoints are registered one by one on a deployment of 1,000 endpoints and again
 * after it grew to LARGE (4,000; `VERSION_BYTES_LARGE=10000` gives src/store/README.md's figures,
 * too slow for every run under coverage): the bytes the store holds per registration (the version files on disk;
 * STRLEN of the Redis version keys) must be a few hundred bytes at both sizes, not a copy of the
 * config. Bytes are counted, never time. The versions written that way must still read back exactly
 * (GET /v1/versions/n, rollback).
 */
import assert from 'node:assert/strict';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startMeridianWithApi, type ApiNode } from '../helpers/apiproc.js';
import { startClusterNode, type ClusterNode } from '../helpers/cluster.js';
import { redisSkipReason, respCommand, startRedis, type TestRedis } from '../helpers/redis.js';
import { Z, ZONE } from '../helpers/dryrun-fixture.js';
import { versionFileName } from '../../src/store/file.js';

/** Registrations measured at each size. */
const N = 4;
/** Endpoints after the deployment grew. */
const LARGE = Number(process.env.VERSION_BYTES_LARGE ?? 4_000);
/** What one registration may cost: its metadata, its diff and its delta, never the document. */
const MAX_BYTES_PER_REGISTRATION = 2_048;

const region = (id: string, i: number, endpoints: number, from = 0): Record<string, unknown> => ({
  id,
  location: { lat: (i % 170) - 85, lon: (i % 350) - 175, continent: 'EU', country: 'DE' },
  addresses: { ipv4: [`192.0.2.${(i % 250) + 1}`] },
  endpoints: Array.from({ length: endpoints }, (_, k) => ({ id: `${id}-e${from + k}`, address: `10.${i % 256}.${(k >> 8) & 255}.${k & 255}`, port: 443 })),
});

/** 1,000 endpoints in 10 regions, one service over them. */
const REGIONS = Array.from({ length: 10 }, (_, i) => region(`r${i}`, i, 100));
const EXTRA = { regions: REGIONS, services: [{ name: `www.${Z}`, ttl: 30, regions: REGIONS.map((r) => r.id), policy: { weighted: {} } }] };

type Api = (method: string, path: string, body?: unknown) => Promise<{ status: number; body: unknown }>;

/** Registers N endpoints in r3 one by one; returns the versions they created. */
async function registerEach(api: Api, tag: string): Promise<number[]> {
  const versions: number[] = [];
  for (let i = 0; i < N; i++) {
    const res = await api('POST', '/v1/regions/r3/endpoints', { id: `${tag}-${i}`, address: `10.99.${i}.1`, port: 8443 });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    versions.push((res.body as { version: number }).version);
  }
  return versions;
}

/** Grows the deployment to LARGE endpoints with one more region (one big change, not measured). */
async function grow(api: Api): Promise<void> {
  const res = await api('PUT', '/v1/regions/bulk', region('bulk', 99, LARGE - 1_000));
  assert.equal(res.status, 201, JSON.stringify(res.body));
}

/** Checks the measured versions read back exactly: each has one more endpoint than the one before; rollback restores it. */
type Doc = { regions: { id: string; endpoints: { id: string }[] }[] };

async function checkExact(api: Api, versions: number[]): Promise<void> {
  const docs: Doc[] = [];
  for (const v of [versions[0]! - 1, ...versions]) {
    const res = await api('GET', `/v1/versions/${v}`);
    assert.equal(res.status, 200);
    docs.push((res.body as { document: Doc }).document);
  }
  for (let i = 1; i < docs.length; i++) {
    const ids = (d: Doc) => d.regions.find((r) => r.id === 'r3')!.endpoints.map((e) => e.id);
    assert.deepEqual(ids(docs[i]!), [...ids(docs[i - 1]!), ids(docs[i]!).at(-1)], `version ${versions[i - 1]} adds one endpoint to the one before`);
  }
  const target = versions[1]!;
  const rollback = await api('POST', `/v1/rollback/${target}`);
  assert.equal(rollback.status, 200, JSON.stringify(rollback.body));
  const made = (rollback.body as { version: number }).version;
  const [a, b] = await Promise.all([api('GET', `/v1/versions/${target}`), api('GET', `/v1/versions/${made}`)]);
  assert.deepEqual((b.body as { document: unknown }).document, (a.body as { document: unknown }).document, 'the rollback version holds the document of the version rolled back to');
}

function perRegistration(bytes: number[]): number {
  return bytes.reduce((s, b) => s + b, 0) / bytes.length;
}

function checkGrowth(label: string, small: number, large: number): void {
  const figures = `${label}: ${small.toFixed(0)} B per registration at 1,000 endpoints, ${large.toFixed(0)} B at ${LARGE}`;
  process.stderr.write(`${figures}\n`);
  assert.ok(small < MAX_BYTES_PER_REGISTRATION, figures);
  assert.ok(large < MAX_BYTES_PER_REGISTRATION, figures);
  // The size of the config must not show: the same change costs the same bytes.
  assert.ok(Math.abs(large - small) < 64, figures);
}

describe('version bytes grow with the change, not with the config: file store', { timeout: 600_000 }, () => {
  let node: ApiNode;
  before(async () => {
    node = await startMeridianWithApi({ zones: [{ origin: Z, text: ZONE }], extra: EXTRA, admin: { bodyLimitBytes: 8 * 1024 * 1024 } });
  });
  after(() => node?.stop());

  it('an endpoint registration adds a few hundred bytes on disk at 1,000 and at 4,000 endpoints; versions read back exactly', async () => {
    const api: Api = async (m, p, b) => {
      const r = await node.api(m, p, b);
      return { status: r.status, body: r.json };
    };
    const bytesOf = (versions: number[]) => versions.map((v) => statSync(join(node.dir, 'data', 'versions', versionFileName(v))).size);
    const small = await registerEach(api, 'a');
    await grow(api);
    const large = await registerEach(api, 'b');
    checkGrowth('file store', perRegistration(bytesOf(small)), perRegistration(bytesOf(large)));
    await checkExact(api, large);
  });
});

describe('version bytes grow with the change, not with the config: Redis store', { skip: redisSkipReason(), timeout: 600_000 }, () => {
  let redis: TestRedis;
  let node: ClusterNode;
  before(async () => {
    redis = await startRedis();
    node = await startClusterNode({ redisUrl: redis.url, extra: EXTRA, admin: { bodyLimitBytes: 8 * 1024 * 1024 } });
  });
  after(async () => {
    await node?.stop();
    await redis?.stop();
  });

  it('an endpoint registration adds a few hundred bytes to Redis at 1,000 and at 4,000 endpoints; versions read back exactly', async () => {
    const api: Api = (m, p, b) => node.api(m, p, b);
    const bytesOf = async (versions: number[]) => Promise.all(versions.map(async (v) => Number(await respCommand(redis.port, ['STRLEN', `{meridian}:config:v:${v}`]))));
    const small = await registerEach(api, 'a');
    await grow(api);
    const large = await registerEach(api, 'b');
    checkGrowth('redis store', perRegistration(await bytesOf(small)), perRegistration(await bytesOf(large)));
    await checkExact(api, large);
  });
});
